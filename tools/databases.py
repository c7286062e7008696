"""Throwaway databases on the machine's PostgreSQL, for the tests and the benchmark."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import asyncpg

POSTGRES = "postgresql://postgres@127.0.0.1:5432"
ADMIN = f"{POSTGRES}/test"


async def _admin(sql: str) -> None:
    connection = await asyncpg.connect(ADMIN, timeout=10)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


def create_database(prefix: str = "tessera") -> str:
    """A new, empty database; its URL. Raises OSError or asyncpg's errors without a server."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    asyncio.run(_admin(f"CREATE DATABASE {name}"))
    return f"{POSTGRES}/{name}"


def drop_database(url: str) -> None:
    asyncio.run(_admin(f"DROP DATABASE IF EXISTS {url.rsplit('/', 1)[1]} WITH (FORCE)"))


@contextmanager
def temporary_database(prefix: str = "tessera") -> Iterator[str]:
    """A new database for the block, dropped after it."""
    url = create_database(prefix)
    try:
        yield url
    finally:
        drop_database(url)
