"""Plain rows beside the jobs: uploaded files, batches, and (on a fleet) file contents.

Their SQL is the same in both dialects but for placeholders, so it is written once with `?`
and run through a `Sql` of the job store's own connection: `SQLiteSql` on the store's thread,
`PostgresSql` from its pool (where `?` becomes `$1`, `$2`, ...). Tables are named with the
store's prefix (`tessera_` on PostgreSQL, where other applications may share the database).
"""

from __future__ import annotations

import itertools
import re
import sqlite3
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from .postgres import PostgresJobStore
    from .sqlite import SQLiteJobStore

_PLACEHOLDER = re.compile(r"\?")

# Kinds as in the jobs table (`base.SQLITE_TYPES`): key, text, time, int, size; "!" NOT NULL.
_FILES = """
id key, owner text!, purpose text!, filename text!, bytes size, mimetype text,
num_lines int, sample_type text!, created_at time!, expires_at time, secret text!
"""
_BATCHES = """
id key, owner text!, status text!, endpoint text!, model text, metadata text,
input_files text!, created_at time!, started_at time, completed_at time, deadline time!,
total int!, submitted int!, cursor text!, output_file text, error_file text, errors text,
cancel_requested int!, succeeded int, failed int, lease_owner text, lease_expires time
"""


def _table(name: str, spec: str, types: dict[str, str]) -> str:
    columns = [c.split() for c in spec.split(",")]
    body = ",\n".join(f"    {column} {types[kind]}" for column, kind in columns)
    return f"CREATE TABLE IF NOT EXISTS {name} (\n{body}\n);\n"


def schema(prefix: str, types: dict[str, str], *, blobs: bool) -> str:
    """The files and batches tables (and, for a fleet, the file contents), in a dialect."""
    text = _table(f"{prefix}files", _FILES, types) + _table(f"{prefix}batches", _BATCHES, types)
    text += (
        f"CREATE INDEX IF NOT EXISTS {prefix}files_by_owner ON {prefix}files (owner, created_at);\n"
        f"CREATE INDEX IF NOT EXISTS {prefix}batches_by_owner"
        f" ON {prefix}batches (owner, created_at);\n"
    )
    if blobs:
        text += (
            f"CREATE TABLE IF NOT EXISTS {prefix}file_chunks (\n"
            "    file_id TEXT NOT NULL,\n    seq INTEGER NOT NULL,\n    data BYTEA NOT NULL,\n"
            "    PRIMARY KEY (file_id, seq)\n);\n"
            f"ALTER TABLE {prefix}file_chunks ALTER COLUMN data SET STORAGE EXTERNAL;\n"
        )
    return text


class Sql(Protocol):
    """Statements on the job store's database, written with `?` placeholders."""

    prefix: str  # of every table name

    async def fetch(self, sql: str, *args: Any) -> list[dict[str, Any]]: ...

    async def execute(self, sql: str, *args: Any) -> int:
        """Run a statement; how many rows it changed."""
        ...


class SQLiteSql:
    prefix = ""

    def __init__(self, store: SQLiteJobStore) -> None:
        self._store = store

    async def fetch(self, sql: str, *args: Any) -> list[dict[str, Any]]:
        def run(db: sqlite3.Connection) -> list[dict[str, Any]]:
            return [dict(row) for row in db.execute(sql, args).fetchall()]

        return await self._store._run(run)

    async def execute(self, sql: str, *args: Any) -> int:
        def run(db: sqlite3.Connection) -> int:
            return db.execute(sql, args).rowcount

        return await self._store._run(run)


class PostgresSql:
    prefix = "tessera_"

    def __init__(self, store: PostgresJobStore) -> None:
        self._store = store

    @staticmethod
    def _numbered(sql: str) -> str:
        # Counted without end: past PostgreSQL's own limit the server refuses the statement,
        # a store error; a counter run out raised StopIteration, a RuntimeError in a coroutine.
        counter = itertools.count(1)
        return _PLACEHOLDER.sub(lambda _: f"${next(counter)}", sql)

    async def fetch(self, sql: str, *args: Any) -> list[dict[str, Any]]:
        async with self._store._db() as db:
            return [dict(row) for row in await db.fetch(self._numbered(sql), *args)]

    async def execute(self, sql: str, *args: Any) -> int:
        async with self._store._db() as db:
            status = await db.execute(self._numbered(sql), *args)
        # asyncpg answers with the command tag: "UPDATE 3", "INSERT 0 1", "DELETE 0".
        tail = status.rsplit(" ", 1)[-1]
        return int(tail) if tail.isdigit() else 0
