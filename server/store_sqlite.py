"""The embedded job store: one SQLite file under the data directory, in WAL mode.

sqlite3 blocks, so every statement runs on one dedicated thread that owns the connection;
the event loop only awaits it. SQLite's own errors are turned into the service's here.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from ocr_engine.errors import InternalError

from .errors import InsufficientStorage, StoreUnavailable
from .jobs import Job, JobStatus, Part, QueueLimitReached, now, one_per_job

log = logging.getLogger(__name__)

T = TypeVar("T")

_IN_BATCH = 500  # ids per IN (...) list, under SQLite's limit on bound parameters

# A job that took its process down this many times is failed rather than run again.
MAX_ATTEMPTS = 3

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id            TEXT PRIMARY KEY,
    owner         TEXT NOT NULL,
    status        TEXT NOT NULL,
    request       TEXT NOT NULL,
    created_at    REAL NOT NULL,
    ttl           INTEGER NOT NULL,
    document_size INTEGER NOT NULL DEFAULT 0,
    started_at    REAL,
    completed_at  REAL,
    expires_at    REAL,
    attempts      INTEGER NOT NULL DEFAULT 0,
    pages_done    INTEGER NOT NULL DEFAULT 0,
    pages_total   INTEGER NOT NULL DEFAULT 0,
    status_code   INTEGER,
    result        TEXT,
    error         TEXT,
    webhook       TEXT
);
CREATE INDEX IF NOT EXISTS jobs_by_status ON jobs (status, created_at);
CREATE INDEX IF NOT EXISTS jobs_by_expiry ON jobs (expires_at) WHERE expires_at IS NOT NULL;
CREATE TABLE IF NOT EXISTS deliveries (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id      TEXT NOT NULL,
    endpoint    TEXT NOT NULL,
    event       TEXT NOT NULL,
    attempt     INTEGER NOT NULL,
    at          REAL NOT NULL,
    status_code INTEGER,
    error       TEXT,
    delivered   INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS deliveries_by_job ON deliveries (job_id);
CREATE TABLE IF NOT EXISTS parts (
    job_id        TEXT NOT NULL,
    part          INTEGER NOT NULL,
    pages         TEXT NOT NULL,
    status        TEXT NOT NULL DEFAULT 'pending',
    lease_owner   TEXT,
    lease_expires REAL,
    attempts      INTEGER NOT NULL DEFAULT 0,
    result        TEXT,
    PRIMARY KEY (job_id, part)
);
"""

# Columns added since the first schema; an existing file gains them on open.
_ADDED_COLUMNS = {
    "idempotency_key": "TEXT",
    "webhook_state": "TEXT",
    "webhook_attempts": "INTEGER NOT NULL DEFAULT 0",
    "webhook_next_at": "REAL",
    "webhook_lease": "REAL",
    "webhook_error": "TEXT",
    "webhook_delivered_at": "REAL",
    "parts_total": "INTEGER NOT NULL DEFAULT 0",
    "parts_done": "INTEGER NOT NULL DEFAULT 0",
}

_COLUMNS = ("id, owner, status, request, created_at, ttl, document_size, started_at, "
            "completed_at, expires_at, attempts, pages_done, pages_total, status_code, result, "
            "error, webhook, idempotency_key, webhook_state, webhook_attempts, webhook_next_at, "
            "webhook_error, webhook_delivered_at, parts_total, parts_done")


def _job(row: sqlite3.Row) -> Job:
    values = dict(row)
    values["status"] = JobStatus(values["status"])
    values["request"] = json.loads(values["request"])
    return Job(**values)


def _connect(path: Path) -> sqlite3.Connection:
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    try:
        _prepare(db)
    except BaseException:
        db.close()
        raise
    return db


def _prepare(db: sqlite3.Connection) -> None:
    db.row_factory = sqlite3.Row
    db.execute("PRAGMA journal_mode=WAL")
    # WAL with NORMAL survives a killed process; only a power cut can lose the last
    # commits.
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("PRAGMA busy_timeout=5000")
    db.executescript(_SCHEMA)
    present = {row["name"] for row in db.execute("PRAGMA table_info(jobs)")}
    for column, kind in _ADDED_COLUMNS.items():
        if column not in present:
            db.execute(f"ALTER TABLE jobs ADD COLUMN {column} {kind}")
    db.execute("CREATE UNIQUE INDEX IF NOT EXISTS jobs_by_idempotency_key"
               " ON jobs (owner, idempotency_key) WHERE idempotency_key IS NOT NULL")


@contextmanager
def _immediate(db: sqlite3.Connection) -> Iterator[None]:
    """One write transaction, taken at once so that its reads see what it will change."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


class SQLiteJobStore:
    """JobStore on a local SQLite file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._db: sqlite3.Connection | None = None
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tessera-sqlite")

    async def _run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        def call() -> T:
            assert self._db is not None
            try:
                return fn(self._db)
            except sqlite3.Error as e:
                if getattr(e, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL:
                    log.error("job store: the disk is full (%s)", self.path.parent)
                    raise InsufficientStorage() from e
                log.exception("job store error")
                raise InternalError("The job store failed; try again.") from e

        return await asyncio.get_running_loop().run_in_executor(self._thread, call)

    async def open(self) -> None:
        def connect() -> None:
            try:
                self._db = _connect(self.path)
            except (sqlite3.Error, OSError) as e:
                raise StoreUnavailable(
                    f"cannot use the job store {self.path}: {e}. If the file is damaged or is "
                    "not a Tessera database, move it aside; a new one is made at start.") from e

        await asyncio.get_running_loop().run_in_executor(self._thread, connect)
        log.info("job store: SQLite at %s", self.path)

    async def close(self) -> None:
        def disconnect() -> None:
            if self._db is not None:
                self._db.close()
                self._db = None

        await asyncio.get_running_loop().run_in_executor(self._thread, disconnect)
        self._thread.shutdown(wait=True)

    async def create(self, job: Job, *, max_pending: int | None = None) -> tuple[Job, bool]:
        def insert(db: sqlite3.Connection) -> tuple[Job, bool]:
            with _immediate(db):
                if job.idempotency_key is not None:
                    row = db.execute(f"SELECT {_COLUMNS} FROM jobs WHERE owner = ?"
                                     " AND idempotency_key = ?",
                                     (job.owner, job.idempotency_key)).fetchone()
                    if row is not None:
                        return _job(row), False
                if max_pending is not None and db.execute(
                        "SELECT count(*) FROM jobs WHERE status = 'pending'"
                ).fetchone()[0] >= max_pending:
                    raise QueueLimitReached()
                db.execute(
                    "INSERT INTO jobs (id, owner, status, request, created_at, ttl,"
                    " document_size, webhook, idempotency_key)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (job.id, job.owner, job.status.value, json.dumps(job.request),
                     job.created_at, job.ttl, job.document_size, job.webhook,
                     job.idempotency_key))
                return job, True

        return await self._run(insert)

    async def unfinished(self, job_ids: list[str]) -> set[str]:
        def select(db: sqlite3.Connection) -> set[str]:
            found: set[str] = set()
            for start in range(0, len(job_ids), _IN_BATCH):
                batch = job_ids[start:start + _IN_BATCH]
                marks = ",".join("?" * len(batch))
                found.update(r["id"] for r in db.execute(
                    f"SELECT id FROM jobs WHERE id IN ({marks})"
                    " AND status IN ('pending', 'processing')", batch))
            return found

        return await self._run(select)

    async def get(self, job_id: str, owner: str) -> Job | None:
        def select(db: sqlite3.Connection) -> Job | None:
            row = db.execute(
                f"SELECT {_COLUMNS} FROM jobs WHERE id = ? AND owner = ?"
                " AND (expires_at IS NULL OR expires_at > ?)", (job_id, owner, now())).fetchone()
            return _job(row) if row is not None else None

        return await self._run(select)

    async def claim(self, limit: int) -> list[Job]:
        def update(db: sqlite3.Connection) -> list[Job]:
            db.execute("BEGIN IMMEDIATE")
            try:
                rows = db.execute(
                    "UPDATE jobs SET status = 'processing', started_at = coalesce(started_at, ?),"
                    " attempts = attempts + 1 WHERE id IN (SELECT id FROM jobs"
                    " WHERE status = 'pending' ORDER BY created_at LIMIT ?)"
                    f" RETURNING {_COLUMNS}", (now(), limit)).fetchall()
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
            return sorted((_job(r) for r in rows), key=lambda j: j.created_at)

        return await self._run(update)

    async def progress(self, job_id: str, done: int, total: int) -> None:
        def update(db: sqlite3.Connection) -> None:
            db.execute("UPDATE jobs SET pages_done = ?, pages_total = ? WHERE id = ?"
                       " AND status = 'processing'",
                       (done, total, job_id))

        await self._run(update)

    async def finish(self, job_id: str, *, status: JobStatus, status_code: int,
                     result: str | None, error: str | None) -> Job | None:
        def update(db: sqlite3.Connection) -> Job | None:
            completed = now()
            row = db.execute(
                "UPDATE jobs SET status = ?, status_code = ?, result = ?, error = ?,"
                " completed_at = ?, expires_at = ? + ttl,"
                " pages_done = CASE WHEN ? THEN pages_total ELSE pages_done END,"
                " webhook_state = CASE WHEN webhook IS NULL THEN NULL ELSE 'pending' END,"
                " webhook_next_at = ?"
                f" WHERE id = ? AND status IN ('pending', 'processing') RETURNING {_COLUMNS}",
                (status.value, status_code, result, error, completed, completed,
                 status is JobStatus.COMPLETED, completed, job_id)).fetchone()
            if row is not None:
                db.execute("DELETE FROM parts WHERE job_id = ?", (job_id,))
            return _job(row) if row is not None else None

        return await self._run(update)

    async def add_parts(self, job_id: str, parts: list[list[int]], *, pages_total: int,
                        document_size: int) -> bool:
        def insert(db: sqlite3.Connection) -> bool:
            db.execute("BEGIN IMMEDIATE")
            try:
                updated = db.execute(
                    "UPDATE jobs SET parts_total = ?, parts_done = 0, pages_total = ?,"
                    " pages_done = 0, document_size = ? WHERE id = ? AND status = 'processing'",
                    (len(parts), pages_total, document_size, job_id)).rowcount
                if updated:
                    db.executemany("INSERT OR REPLACE INTO parts (job_id, part, pages)"
                                   " VALUES (?, ?, ?)",
                                   [(job_id, i, json.dumps(p)) for i, p in enumerate(parts)])
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
            return bool(updated)

        return await self._run(insert)

    async def claim_parts(self, limit: int, lease: float) -> list[Part]:
        def update(db: sqlite3.Connection) -> list[Part]:
            moment = now()
            db.execute("BEGIN IMMEDIATE")
            try:
                rows = db.execute(
                    "SELECT p.job_id, p.part FROM parts p JOIN jobs j ON j.id = p.job_id"
                    " WHERE j.status = 'processing' AND (p.status = 'pending'"
                    " OR (p.status = 'processing' AND p.lease_expires < ?))"
                    " AND NOT EXISTS (SELECT 1 FROM parts q WHERE q.job_id = p.job_id"
                    " AND q.status = 'processing' AND q.lease_expires >= ?)"
                    " ORDER BY j.created_at, p.part LIMIT ?", (moment, moment, limit * 8)
                ).fetchall()
                chosen = one_per_job([(r["job_id"], r["part"]) for r in rows], limit)
                claimed = []
                for job_id, part in chosen:
                    row = db.execute(
                        "UPDATE parts SET status = 'processing', lease_expires = ?,"
                        " attempts = attempts + 1 WHERE job_id = ? AND part = ?"
                        " RETURNING pages, attempts", (moment + lease, job_id, part)).fetchone()
                    job = db.execute(f"SELECT {_COLUMNS} FROM jobs WHERE id = ?",
                                     (job_id,)).fetchone()
                    claimed.append(Part(_job(job), part, json.loads(row["pages"]),
                                        row["attempts"]))
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
            return claimed

        return await self._run(update)

    async def renew_parts(self, keys: list[tuple[str, int]], lease: float
                          ) -> set[tuple[str, int]]:
        def update(db: sqlite3.Connection) -> set[tuple[str, int]]:
            held = set()
            for job_id, part in keys:
                if db.execute("UPDATE parts SET lease_expires = ? WHERE job_id = ? AND part = ?"
                              " AND status = 'processing'", (now() + lease, job_id, part)
                              ).rowcount:
                    held.add((job_id, part))
            return held

        return await self._run(update)

    async def finish_part(self, job_id: str, part: int, result: str, pages: int
                          ) -> list[str] | None:
        def update(db: sqlite3.Connection) -> list[str] | None:
            db.execute("BEGIN IMMEDIATE")
            try:
                results = None
                done = db.execute("UPDATE parts SET status = 'done', result = ?,"
                                  " lease_expires = NULL WHERE job_id = ? AND part = ?"
                                  " AND status = 'processing'", (result, job_id, part)).rowcount
                row = db.execute(
                    "UPDATE jobs SET parts_done = parts_done + 1, pages_done = pages_done + ?"
                    " WHERE id = ? AND status = 'processing' RETURNING parts_done, parts_total",
                    (pages, job_id)).fetchone() if done else None
                if row is not None and row["parts_done"] == row["parts_total"]:
                    results = [r["result"] for r in db.execute(
                        "SELECT result FROM parts WHERE job_id = ? ORDER BY part", (job_id,))]
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
            return results

        return await self._run(update)

    async def part_results(self, job_id: str) -> list[str]:
        def select(db: sqlite3.Connection) -> list[str]:
            return [r["result"] for r in db.execute(
                "SELECT result FROM parts WHERE job_id = ? AND status = 'done' ORDER BY part",
                (job_id,))]

        return await self._run(select)

    async def release_part(self, job_id: str, part: int) -> None:
        def update(db: sqlite3.Connection) -> None:
            db.execute("UPDATE parts SET status = 'pending', attempts = max(0, attempts - 1),"
                       " lease_expires = NULL WHERE job_id = ? AND part = ?"
                       " AND status = 'processing'", (job_id, part))

        await self._run(update)

    async def renew(self, job_ids: list[str]) -> set[str]:
        # One node, no leases: a job is held for as long as it is processing.
        def select(db: sqlite3.Connection) -> set[str]:
            marks = ",".join("?" * len(job_ids))
            rows = db.execute(f"SELECT id FROM jobs WHERE id IN ({marks})"
                              " AND status = 'processing'", job_ids).fetchall()
            return {r["id"] for r in rows}

        return await self._run(select)

    async def release(self, job_id: str) -> None:
        def update(db: sqlite3.Connection) -> None:
            db.execute("UPDATE jobs SET status = 'pending', attempts = max(0, attempts - 1),"
                       " pages_done = 0 WHERE id = ? AND status = 'processing'", (job_id,))

        await self._run(update)

    async def count_pending(self) -> int:
        def select(db: sqlite3.Connection) -> int:
            return db.execute("SELECT count(*) FROM jobs WHERE status = 'pending'").fetchone()[0]

        return await self._run(select)

    async def requeue_unfinished(self) -> int:
        def update(db: sqlite3.Connection) -> int:
            cursor = db.execute("UPDATE jobs SET status = 'pending' WHERE status = 'processing'"
                                " AND attempts < ? AND (parts_total = 0"
                                " OR parts_done = parts_total)", (MAX_ATTEMPTS,))
            parts = db.execute("UPDATE parts SET status = 'pending', lease_owner = NULL"
                               " WHERE status = 'processing'")
            return cursor.rowcount + parts.rowcount

        return await self._run(update)

    async def exhausted(self) -> list[str]:
        """Jobs left processing that have already been tried MAX_ATTEMPTS times."""
        def select(db: sqlite3.Connection) -> list[str]:
            rows = db.execute("SELECT id FROM jobs WHERE status = 'processing'"
                              " AND attempts >= ?", (MAX_ATTEMPTS,)).fetchall()
            return [r["id"] for r in rows]

        return await self._run(select)

    async def delete_expired(self) -> list[str]:
        def delete(db: sqlite3.Connection) -> list[str]:
            rows = db.execute("DELETE FROM jobs WHERE expires_at IS NOT NULL AND expires_at <= ?"
                              " RETURNING id", (now(),)).fetchall()
            ids = [r["id"] for r in rows]
            db.executemany("DELETE FROM deliveries WHERE job_id = ?", [(i,) for i in ids])
            return ids

        return await self._run(delete)

    async def claim_webhooks(self, limit: int, lease: float) -> list[Job]:
        def update(db: sqlite3.Connection) -> list[Job]:
            moment = now()
            rows = db.execute(
                "UPDATE jobs SET webhook_state = 'delivering', webhook_lease = ?"
                " WHERE id IN (SELECT id FROM jobs WHERE webhook IS NOT NULL AND"
                " ((webhook_state = 'pending' AND webhook_next_at <= ?)"
                " OR (webhook_state = 'delivering' AND webhook_lease < ?))"
                f" ORDER BY webhook_next_at LIMIT ?) RETURNING {_COLUMNS}",
                (moment + lease, moment, moment, limit)).fetchall()
            return [_job(r) for r in rows]

        return await self._run(update)

    async def webhook_attempted(self, job: Job, *, event: str, attempt: int,
                                status_code: int | None, error: str | None, delivered: bool,
                                next_at: float | None) -> None:
        def update(db: sqlite3.Connection) -> None:
            moment = now()
            db.execute("INSERT INTO deliveries (job_id, endpoint, event, attempt, at,"
                       " status_code, error, delivered) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                       (job.id, job.webhook, event, attempt, moment, status_code, error,
                        int(delivered)))
            state = "delivered" if delivered else ("pending" if next_at is not None
                                                   else "failed")
            db.execute("UPDATE jobs SET webhook_state = ?, webhook_attempts = ?,"
                       " webhook_next_at = ?, webhook_error = ?, webhook_delivered_at = ?"
                       " WHERE id = ? AND webhook_state = 'delivering'",
                       (state, attempt, next_at, error, moment if delivered else None, job.id))

        await self._run(update)

    async def deliveries(self, *, job_id: str | None = None, limit: int = 100
                         ) -> list[dict[str, object]]:
        def select(db: sqlite3.Connection) -> list[dict[str, object]]:
            where, args = ("WHERE job_id = ?", [job_id]) if job_id else ("", [])
            rows = db.execute("SELECT job_id, endpoint, event, attempt, at, status_code, error,"
                              f" delivered FROM deliveries {where} ORDER BY id DESC LIMIT ?",
                              (*args, limit)).fetchall()
            return [{**dict(r), "delivered": bool(r["delivered"])} for r in rows]

        return await self._run(select)

    async def counts(self) -> dict[str, int]:
        def select(db: sqlite3.Connection) -> dict[str, int]:
            rows = db.execute("SELECT status, count(*) AS n FROM jobs GROUP BY status").fetchall()
            counted = {s.value: 0 for s in JobStatus}
            counted.update({r["status"]: r["n"] for r in rows})
            return counted

        return await self._run(select)
