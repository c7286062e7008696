"""The fleet's job store: PostgreSQL, shared by every node, through asyncpg.

Nodes claim work with `FOR UPDATE SKIP LOCKED`, so two nodes never take the same job, and
follow the lease rule of `server.stores.base`. Documents live in the database too, so every
node can read every job's. asyncpg's errors are turned into the service's own here.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg

from ocr_engine.errors import InternalError

from ..errors import InsufficientStorage, StoreUnavailable, UnstorableText
from ..jobs import DeliveryAttempt, Job, JobOutcome, JobStatus, Part, WorkKey, now, one_per_job
from . import base, records
from .base import QueueLimitReached

log = logging.getLogger(__name__)

_POOL_SIZE = 8
_SCHEMA_LOCK = 7462201  # pg_advisory locks: one node at a time creates the schema
_CREATE_LOCK = 7462202  # and one create at a time counts the queue

_SCHEMA = (
    base.job_table("tessera_jobs", base.POSTGRES_TYPES)
    + "".join(
        f"ALTER TABLE tessera_jobs ADD COLUMN IF NOT EXISTS {column} {kind};\n"
        for column, kind in base.added_columns(base.POSTGRES_TYPES)
    )
    + """
CREATE INDEX IF NOT EXISTS tessera_jobs_by_status ON tessera_jobs (status, created_at);
CREATE INDEX IF NOT EXISTS tessera_jobs_by_expiry ON tessera_jobs (expires_at)
    WHERE expires_at IS NOT NULL;
CREATE UNIQUE INDEX IF NOT EXISTS tessera_jobs_by_idempotency_key
    ON tessera_jobs (owner, idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE TABLE IF NOT EXISTS tessera_documents (
    job_id TEXT PRIMARY KEY,
    data   BYTEA NOT NULL
);
ALTER TABLE tessera_documents ADD COLUMN IF NOT EXISTS saved_at DOUBLE PRECISION NOT NULL
    DEFAULT 0;
-- PDFs and images are compressed already: storing them as they are spares a futile pass.
ALTER TABLE tessera_documents ALTER COLUMN data SET STORAGE EXTERNAL;
CREATE TABLE IF NOT EXISTS tessera_outputs (
    job_id TEXT NOT NULL,
    format TEXT NOT NULL,
    data   BYTEA NOT NULL,
    PRIMARY KEY (job_id, format)
);
ALTER TABLE tessera_outputs ALTER COLUMN data SET STORAGE EXTERNAL;
CREATE TABLE IF NOT EXISTS tessera_deliveries (
    id          BIGSERIAL PRIMARY KEY,
    job_id      TEXT NOT NULL,
    endpoint    TEXT NOT NULL,
    event       TEXT NOT NULL,
    attempt     INTEGER NOT NULL,
    at          DOUBLE PRECISION NOT NULL,
    status_code INTEGER,
    error       TEXT,
    delivered   BOOLEAN NOT NULL
);
CREATE INDEX IF NOT EXISTS tessera_deliveries_by_job ON tessera_deliveries (job_id);
CREATE TABLE IF NOT EXISTS tessera_parts (
    job_id        TEXT NOT NULL,
    part          INTEGER NOT NULL,
    pages         TEXT NOT NULL,
    status        TEXT NOT NULL DEFAULT 'pending',
    lease_owner   TEXT,
    lease_expires DOUBLE PRECISION,
    attempts      INTEGER NOT NULL DEFAULT 0,
    result        TEXT,
    PRIMARY KEY (job_id, part)
);
"""
    + records.schema("tessera_", base.POSTGRES_TYPES, blobs=True)
)

_INSERT = (
    f"INSERT INTO tessera_jobs ({', '.join(base.CREATE_COLUMNS)}) VALUES "
    f"({', '.join(f'${i}' for i in range(1, len(base.CREATE_COLUMNS) + 1))})"
)
_CLAIMABLE_JOBS = (
    "status = 'pending' OR (status = 'processing' AND lease_expires < $1"
    " AND (parts_total = 0 OR parts_done = parts_total))"
)


def _unstorable(error: BaseException) -> bool:
    """Whether the driver refused a client's text: PostgreSQL's text holds no NUL, and
    asyncpg cannot encode an unpaired surrogate as UTF-8."""
    return isinstance(error, asyncpg.CharacterNotInRepertoireError) or isinstance(
        error.__cause__, UnicodeEncodeError
    )


class PostgresJobStore:
    """JobStore on PostgreSQL, for a fleet of nodes sharing one database."""

    def __init__(self, url: str, *, node: str, lease: float = 30.0) -> None:
        self.url = url
        self.node = node
        self.lease = lease
        self._pool: asyncpg.Pool | None = None

    @asynccontextmanager
    async def _db(self) -> AsyncIterator[asyncpg.Connection]:
        """A connection from the pool; the driver's errors become the service's."""
        assert self._pool is not None
        try:
            async with self._pool.acquire() as connection:
                yield connection
        except asyncpg.DiskFullError as e:
            log.error("job store: the database server is out of space (%s)", e)
            raise InsufficientStorage(
                "The job store's database is out of space, so the "
                "request could not be stored; nothing was kept."
            ) from e
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError) as e:
            if _unstorable(e):
                raise UnstorableText() from e
            log.exception("job store error")
            raise InternalError("The job store failed; try again.") from e

    async def open(self) -> None:
        try:
            self._pool = await asyncpg.create_pool(self.url, min_size=1, max_size=_POOL_SIZE)
            async with self._pool.acquire() as connection, connection.transaction():
                await connection.execute("SELECT pg_advisory_xact_lock($1)", _SCHEMA_LOCK)
                await connection.execute(_SCHEMA)
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, ValueError) as e:
            if self._pool is not None:
                self._pool.terminate()
            raise StoreUnavailable(f"cannot use the PostgreSQL database: {e}") from e
        log.info("job store: PostgreSQL (node %s)", self.node)

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()

    # -- jobs -----------------------------------------------------------------------------

    async def create(self, job: Job, *, max_pending: int | None = None) -> tuple[Job, bool]:
        async with self._db() as db, db.transaction():
            # Creates take turns across the fleet, so the count below stays true until the
            # insert: the queue bound holds however many arrive at once.
            await db.execute("SELECT pg_advisory_xact_lock($1)", _CREATE_LOCK)
            if job.idempotency_key is not None:
                existing = await db.fetchrow(
                    f"SELECT {base.SELECT_COLUMNS} FROM tessera_jobs WHERE owner = $1"
                    " AND idempotency_key = $2",
                    job.owner,
                    job.idempotency_key,
                )
                if existing is not None:
                    return base.job_from_row(existing), False
            if (
                max_pending is not None
                and await db.fetchval("SELECT count(*) FROM tessera_jobs WHERE status = 'pending'")
                >= max_pending
            ):
                raise QueueLimitReached()
            await db.execute(_INSERT, *base.create_values(job))
        return job, True

    async def get(self, job_id: str, owner: str) -> Job | None:
        async with self._db() as db:
            row = await db.fetchrow(
                f"SELECT {base.SELECT_COLUMNS} FROM tessera_jobs WHERE id = $1 AND owner = $2"
                " AND (expires_at IS NULL OR expires_at > $3)",
                job_id,
                owner,
                now(),
            )
        return base.job_from_row(row) if row is not None else None

    async def unfinished(self, job_ids: list[str]) -> set[str]:
        return await self._which(job_ids, "status IN ('pending', 'processing')")

    async def live(self, job_ids: list[str]) -> set[str]:
        return await self._which(job_ids, "(expires_at IS NULL OR expires_at > $2)", now())

    async def _which(self, job_ids: list[str], condition: str, *args: Any) -> set[str]:
        """Which of these jobs exist and meet `condition` (its parameters from $2)."""
        async with self._db() as db:
            rows = await db.fetch(
                f"SELECT id FROM tessera_jobs WHERE id = ANY($1::text[]) AND {condition}",
                job_ids,
                *args,
            )
        return {r["id"] for r in rows}

    async def claim(self, limit: int) -> list[Job]:
        moment = now()
        async with self._db() as db:
            rows = await db.fetch(
                "UPDATE tessera_jobs SET status = 'processing',"
                " started_at = coalesce(started_at, $1), attempts = attempts + 1,"
                " lease_owner = $2, lease_expires = $3"
                f" WHERE id IN (SELECT id FROM tessera_jobs WHERE {_CLAIMABLE_JOBS}"
                " ORDER BY batch_id IS NOT NULL, created_at LIMIT $4 FOR UPDATE SKIP LOCKED)"
                f" RETURNING {base.SELECT_COLUMNS}",
                moment,
                self.node,
                moment + self.lease,
                limit,
            )
        return sorted((base.job_from_row(r) for r in rows), key=lambda j: j.created_at)

    async def renew(self, keys: list[WorkKey]) -> set[WorkKey]:
        jobs, parts = base.split_keys(keys)
        expires = now() + self.lease
        async with self._db() as db:
            rows = (
                await db.fetch(
                    "UPDATE tessera_jobs SET lease_expires = $1 WHERE id = ANY($2::text[])"
                    " AND lease_owner = $3 AND status = 'processing' RETURNING id",
                    expires,
                    jobs,
                    self.node,
                )
                if jobs
                else []
            )
            ranges = (
                await db.fetch(
                    "UPDATE tessera_parts p SET lease_expires = $1 FROM tessera_jobs j"
                    " WHERE j.id = p.job_id AND j.status = 'processing'"
                    " AND p.job_id || '#' || p.part = ANY($2::text[])"
                    " AND p.lease_owner = $3 AND p.status = 'processing'"
                    " RETURNING p.job_id, p.part",
                    expires,
                    [f"{j}#{p}" for j, p in parts],
                    self.node,
                )
                if parts
                else []
            )
        return {WorkKey(r["id"]) for r in rows} | {WorkKey(r["job_id"], r["part"]) for r in ranges}

    async def release(self, key: WorkKey) -> None:
        async with self._db() as db:
            if key.part is None:
                await db.execute(
                    "UPDATE tessera_jobs SET status = 'pending',"
                    " attempts = greatest(0, attempts - 1), pages_done = 0, lease_owner = NULL,"
                    " lease_expires = NULL WHERE id = $1 AND status = 'processing'"
                    " AND lease_owner = $2",
                    key.job_id,
                    self.node,
                )
            else:
                await db.execute(
                    "UPDATE tessera_parts SET status = 'pending',"
                    " attempts = greatest(0, attempts - 1), lease_owner = NULL,"
                    " lease_expires = NULL WHERE job_id = $1 AND part = $2"
                    " AND status = 'processing' AND lease_owner = $3",
                    key.job_id,
                    key.part,
                    self.node,
                )

    async def progress(self, job_id: str, done: int, total: int) -> None:
        async with self._db() as db:
            await db.execute(
                "UPDATE tessera_jobs SET pages_done = $1, pages_total = $2"
                " WHERE id = $3 AND status = 'processing' AND lease_owner = $4",
                done,
                total,
                job_id,
                self.node,
            )

    async def finish(self, job_id: str, outcome: JobOutcome) -> Job | None:
        completed = now()
        async with self._db() as db, db.transaction():
            row = await db.fetchrow(
                "UPDATE tessera_jobs SET status = $1, status_code = $2, result = $3, error = $4,"
                " outputs = $5,"
                " completed_at = $6::float8, expires_at = $6::float8 + ttl, lease_owner = NULL,"
                " pages_done = CASE WHEN $7 THEN pages_total ELSE pages_done END,"
                " webhook_state = CASE WHEN webhook IS NULL THEN NULL ELSE 'pending' END,"
                " webhook_next_at = $6::float8"
                " WHERE id = $8 AND status IN ('pending', 'processing')"
                f" RETURNING {base.SELECT_COLUMNS}",
                *outcome.values(),
                completed,
                outcome.completed,
                job_id,
            )
            if row is not None:
                await db.execute("DELETE FROM tessera_documents WHERE job_id = $1", job_id)
                await db.execute("DELETE FROM tessera_parts WHERE job_id = $1", job_id)
        return base.job_from_row(row) if row is not None else None

    async def count_pending(self) -> int:
        async with self._db() as db:
            count: int = await db.fetchval(
                "SELECT count(*) FROM tessera_jobs WHERE status = 'pending'"
            )
        return count

    async def counts(self) -> dict[str, int]:
        async with self._db() as db:
            rows = await db.fetch("SELECT status, count(*) AS n FROM tessera_jobs GROUP BY status")
        counted = {s.value: 0 for s in JobStatus}
        counted.update({r["status"]: r["n"] for r in rows})
        return counted

    async def delete_expired(self) -> list[str]:
        async with self._db() as db, db.transaction():
            rows = await db.fetch(
                "DELETE FROM tessera_jobs WHERE expires_at IS NOT NULL"
                " AND expires_at <= $1 RETURNING id",
                now(),
            )
            ids = [r["id"] for r in rows]
            await db.execute("DELETE FROM tessera_deliveries WHERE job_id = ANY($1::text[])", ids)
            await db.execute("DELETE FROM tessera_outputs WHERE job_id = ANY($1::text[])", ids)
        return ids

    # -- page ranges ----------------------------------------------------------------------

    async def add_parts(
        self, job_id: str, parts: list[list[int]], *, pages_total: int, document_size: int
    ) -> bool:
        async with self._db() as db, db.transaction():
            updated = await db.fetchval(
                "UPDATE tessera_jobs SET parts_total = $1, parts_done = 0, pages_total = $2,"
                " pages_done = 0, document_size = $3, lease_owner = NULL,"
                " lease_expires = NULL WHERE id = $4 AND status = 'processing'"
                " AND lease_owner = $5 RETURNING 1",
                len(parts),
                pages_total,
                document_size,
                job_id,
                self.node,
            )
            if updated:
                await db.executemany(
                    "INSERT INTO tessera_parts (job_id, part, pages) VALUES ($1, $2, $3)"
                    " ON CONFLICT (job_id, part) DO NOTHING",
                    [(job_id, i, json.dumps(p)) for i, p in enumerate(parts)],
                )
        return bool(updated)

    async def claim_parts(self, limit: int) -> list[Part]:
        moment = now()
        claimed = []
        async with self._db() as db, db.transaction():
            rows = await db.fetch(
                "SELECT p.job_id, p.part FROM tessera_parts p"
                " JOIN tessera_jobs j ON j.id = p.job_id"
                " WHERE j.status = 'processing' AND (p.status = 'pending'"
                " OR (p.status = 'processing' AND p.lease_expires < $1))"
                " AND NOT EXISTS (SELECT 1 FROM tessera_parts q WHERE q.job_id = p.job_id"
                " AND q.status = 'processing' AND q.lease_owner = $2"
                " AND q.lease_expires >= $1)"
                " ORDER BY j.created_at, p.part LIMIT $3 FOR UPDATE OF p SKIP LOCKED",
                moment,
                self.node,
                limit * 8,
            )
            for job_id, part in one_per_job([(r["job_id"], r["part"]) for r in rows], limit):
                row = await db.fetchrow(
                    "UPDATE tessera_parts SET status = 'processing', lease_owner = $1,"
                    " lease_expires = $2, attempts = attempts + 1 WHERE job_id = $3"
                    " AND part = $4 RETURNING pages, attempts",
                    self.node,
                    moment + self.lease,
                    job_id,
                    part,
                )
                job = await db.fetchrow(
                    f"SELECT {base.SELECT_COLUMNS} FROM tessera_jobs WHERE id = $1", job_id
                )
                claimed.append(
                    base.part_from_row(base.job_from_row(job), part, row["pages"], row["attempts"])
                )
        return claimed

    async def finish_part(self, key: WorkKey, result: str, pages: int) -> bool:
        async with self._db() as db, db.transaction():
            done = await db.fetchval(
                "UPDATE tessera_parts SET status = 'done', result = $1, lease_owner = NULL"
                " WHERE job_id = $2 AND part = $3 AND status = 'processing'"
                " AND lease_owner = $4 RETURNING 1",
                result,
                key.job_id,
                key.part,
                self.node,
            )
            if not done:
                return False  # lost to another claim after a lapse
            row = await db.fetchrow(
                "UPDATE tessera_jobs SET parts_done = parts_done + 1,"
                " pages_done = pages_done + $1 WHERE id = $2 AND status = 'processing'"
                " RETURNING parts_done, parts_total",
                pages,
                key.job_id,
            )
            if row is None or row["parts_done"] != row["parts_total"]:
                return False
            # This node finished the last range: it assembles the job, under a lease.
            await db.execute(
                "UPDATE tessera_jobs SET lease_owner = $1, lease_expires = $2 WHERE id = $3",
                self.node,
                now() + self.lease,
                key.job_id,
            )
        return True

    async def part_result(self, job_id: str, part: int) -> str | None:
        async with self._db() as db:
            result: str | None = await db.fetchval(
                "SELECT result FROM tessera_parts WHERE job_id = $1 AND part = $2"
                " AND status = 'done'",
                job_id,
                part,
            )
        return result

    async def part_results(self, job_id: str) -> list[str]:
        async with self._db() as db:
            records = await db.fetch(
                "SELECT result FROM tessera_parts WHERE job_id = $1"
                " AND status = 'done' ORDER BY part",
                job_id,
            )
        return [r["result"] for r in records]

    # -- documents: in the database, so every node can read every job's ------------------

    async def save_document(self, job_id: str, data: bytes) -> None:
        async with self._db() as db:
            await db.execute(
                "INSERT INTO tessera_documents (job_id, data, saved_at)"
                " VALUES ($1, $2, $3) ON CONFLICT (job_id)"
                " DO UPDATE SET data = EXCLUDED.data, saved_at = EXCLUDED.saved_at",
                job_id,
                data,
                now(),
            )

    async def load_document(self, job_id: str) -> bytes | None:
        async with self._db() as db:
            data = await db.fetchval("SELECT data FROM tessera_documents WHERE job_id = $1", job_id)
        return bytes(data) if data is not None else None

    async def delete_document(self, job_id: str) -> None:
        async with self._db() as db:
            await db.execute("DELETE FROM tessera_documents WHERE job_id = $1", job_id)

    async def delete_orphan_documents(self, *, older_than: float) -> int:
        async with self._db() as db:
            rows = await db.fetch(
                "DELETE FROM tessera_documents d WHERE d.saved_at < $1 AND NOT EXISTS"
                " (SELECT 1 FROM tessera_jobs j WHERE j.id = d.job_id"
                " AND j.status IN ('pending', 'processing')) RETURNING job_id",
                now() - older_than,
            )
        return len(rows)

    # -- output files: in the database, so every node can serve every job's --------------

    async def save_output(self, job_id: str, fmt: str, data: bytes) -> None:
        async with self._db() as db:
            await db.execute(
                "INSERT INTO tessera_outputs (job_id, format, data) VALUES ($1, $2, $3)"
                " ON CONFLICT (job_id, format) DO UPDATE SET data = EXCLUDED.data",
                job_id,
                fmt,
                data,
            )

    async def load_output(self, job_id: str, fmt: str) -> bytes | None:
        async with self._db() as db:
            data = await db.fetchval(
                "SELECT data FROM tessera_outputs WHERE job_id = $1 AND format = $2", job_id, fmt
            )
        return bytes(data) if data is not None else None

    # -- webhooks -------------------------------------------------------------------------

    async def claim_webhooks(self, limit: int, lease: float) -> list[Job]:
        moment = now()
        async with self._db() as db:
            rows = await db.fetch(
                "UPDATE tessera_jobs SET webhook_state = 'delivering', webhook_lease = $1"
                " WHERE id IN (SELECT id FROM tessera_jobs WHERE webhook IS NOT NULL AND"
                " ((webhook_state = 'pending' AND webhook_next_at <= $2)"
                " OR (webhook_state = 'delivering' AND webhook_lease < $2))"
                " ORDER BY webhook_next_at LIMIT $3 FOR UPDATE SKIP LOCKED)"
                f" RETURNING {base.SELECT_COLUMNS}",
                moment + lease,
                moment,
                limit,
            )
        return [base.job_from_row(r) for r in rows]

    async def webhook_attempted(self, job: Job, attempt: DeliveryAttempt) -> None:
        moment = now()
        async with self._db() as db, db.transaction():
            await db.execute(
                "INSERT INTO tessera_deliveries (job_id, endpoint, event, attempt, at,"
                " status_code, error, delivered) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                *base.attempt_row(job, attempt, moment),
            )
            await db.execute(
                "UPDATE tessera_jobs SET webhook_state = $1, webhook_attempts = $2,"
                " webhook_next_at = $3, webhook_error = $4, webhook_delivered_at = $5"
                " WHERE id = $6 AND webhook_state = 'delivering'",
                *base.state_row(job, attempt, moment),
            )

    async def deliveries(
        self, *, job_id: str | None = None, limit: int = 100
    ) -> list[dict[str, Any]]:
        async with self._db() as db:
            rows = await db.fetch(
                "SELECT job_id, endpoint, event, attempt, at, status_code, error, delivered"
                " FROM tessera_deliveries WHERE ($1::text IS NULL OR job_id = $1)"
                " ORDER BY id DESC LIMIT $2",
                job_id,
                limit,
            )
        return [dict(r) for r in rows]
