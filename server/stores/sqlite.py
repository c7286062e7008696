"""The embedded job store: one SQLite file under the data directory, in WAL mode.

sqlite3 blocks, so every statement runs on one dedicated thread that owns the connection;
the event loop only awaits it. SQLite's own errors are turned into the service's here. One
node uses the file, so at open every lease is lapsed: the work the last process held is
claimable at once, and counted as an attempt when it is claimed.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from ocr_engine.errors import InternalError

from ..errors import InsufficientStorage, StoreUnavailable, UnstorableText
from ..jobs import DeliveryAttempt, Job, JobOutcome, JobStatus, Part, WorkKey, now, one_per_job
from . import base, records
from .base import QueueLimitReached

log = logging.getLogger(__name__)

T = TypeVar("T")

_IN_BATCH = 500  # ids per IN (...) list, under SQLite's limit on bound parameters

_SCHEMA = (
    base.job_table("jobs", base.SQLITE_TYPES)
    + """
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
    + records.schema("", base.SQLITE_TYPES, blobs=False)
)

_CLAIMABLE_JOBS = (
    "status = 'pending' OR (status = 'processing' AND lease_expires < :now"
    " AND (parts_total = 0 OR parts_done = parts_total))"
)


def _connect(path: Path) -> tuple[sqlite3.Connection, int]:
    """The connection, and how much unfinished work the last process left."""
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    try:
        return db, _prepare(db)
    except BaseException:
        db.close()
        raise


def _prepare(db: sqlite3.Connection) -> int:
    db.row_factory = sqlite3.Row
    db.execute("PRAGMA journal_mode=WAL")
    # WAL with NORMAL survives a killed process; only a power cut can lose the last commits.
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("PRAGMA busy_timeout=5000")
    db.executescript(_SCHEMA)
    present = {row["name"] for row in db.execute("PRAGMA table_info(jobs)")}
    for column, kind in base.added_columns(base.SQLITE_TYPES):
        if column not in present:
            db.execute(f"ALTER TABLE jobs ADD COLUMN {column} {kind}")
    db.execute(
        "CREATE UNIQUE INDEX IF NOT EXISTS jobs_by_idempotency_key"
        " ON jobs (owner, idempotency_key) WHERE idempotency_key IS NOT NULL"
    )
    # One node per file: nothing is held by anyone now.
    jobs = db.execute(
        "UPDATE jobs SET lease_expires = 0 WHERE status = 'processing'"
        " AND (parts_total = 0 OR parts_done = parts_total)"
    ).rowcount
    parts = db.execute("UPDATE parts SET lease_expires = 0 WHERE status = 'processing'").rowcount
    return jobs + parts


@contextmanager
def _transaction(db: sqlite3.Connection) -> Iterator[None]:
    """One write transaction, taken at once so that its reads see what it will change."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def _marks(values: list[Any]) -> str:
    return ",".join("?" * len(values))


class SQLiteJobStore:
    """JobStore on a local SQLite file."""

    def __init__(self, path: Path, *, lease: float = 30.0) -> None:
        self.path = path
        self.node = uuid.uuid4().hex[:12]
        self.lease = lease
        self._db: sqlite3.Connection | None = None
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tessera-sqlite")

    async def _run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        def call() -> T:
            assert self._db is not None
            try:
                return fn(self._db)
            except UnicodeEncodeError as e:
                # An unpaired surrogate ("\ud800" in JSON, a header's bytes that are not
                # UTF-8) in a client's text: sqlite3 cannot bind it as UTF-8.
                raise UnstorableText() from e
            except sqlite3.Error as e:
                if getattr(e, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL:
                    log.error("job store: the disk is full (%s)", self.path.parent)
                    raise InsufficientStorage() from e
                log.exception("job store error")
                raise InternalError("The job store failed; try again.") from e

        return await asyncio.get_running_loop().run_in_executor(self._thread, call)

    async def open(self) -> None:
        def connect() -> int:
            try:
                self._db, unfinished = _connect(self.path)
            except (sqlite3.Error, OSError) as e:
                raise StoreUnavailable(
                    f"cannot use the job store {self.path}: {e}. If the file is damaged or is "
                    "not a Tessera database, move it aside; a new one is made at start."
                ) from e
            return unfinished

        unfinished = await asyncio.get_running_loop().run_in_executor(self._thread, connect)
        log.info("job store: SQLite at %s", self.path)
        if unfinished:
            log.info(
                "%d unfinished job(s) or range(s) from the last run are pending again", unfinished
            )

    async def close(self) -> None:
        def disconnect() -> None:
            if self._db is not None:
                self._db.close()
                self._db = None

        await asyncio.get_running_loop().run_in_executor(self._thread, disconnect)
        self._thread.shutdown(wait=True)

    # -- jobs -----------------------------------------------------------------------------

    async def create(self, job: Job, *, max_pending: int | None = None) -> tuple[Job, bool]:
        def insert(db: sqlite3.Connection) -> tuple[Job, bool]:
            with _transaction(db):
                if job.idempotency_key is not None:
                    row = db.execute(
                        f"SELECT {base.SELECT_COLUMNS} FROM jobs WHERE owner = ?"
                        " AND idempotency_key = ?",
                        (job.owner, job.idempotency_key),
                    ).fetchone()
                    if row is not None:
                        return base.job_from_row(row), False
                if (
                    max_pending is not None
                    and db.execute("SELECT count(*) FROM jobs WHERE status = 'pending'").fetchone()[
                        0
                    ]
                    >= max_pending
                ):
                    raise QueueLimitReached()
                db.execute(
                    f"INSERT INTO jobs ({', '.join(base.CREATE_COLUMNS)})"
                    f" VALUES ({_marks(list(base.CREATE_COLUMNS))})",
                    base.create_values(job),
                )
                return job, True

        return await self._run(insert)

    async def get(self, job_id: str, owner: str) -> Job | None:
        def select(db: sqlite3.Connection) -> Job | None:
            row = db.execute(
                f"SELECT {base.SELECT_COLUMNS} FROM jobs WHERE id = ? AND owner = ?"
                " AND (expires_at IS NULL OR expires_at > ?)",
                (job_id, owner, now()),
            ).fetchone()
            return base.job_from_row(row) if row is not None else None

        return await self._run(select)

    async def unfinished(self, job_ids: list[str]) -> set[str]:
        return await self._which(job_ids, "status IN ('pending', 'processing')", ())

    async def live(self, job_ids: list[str]) -> set[str]:
        return await self._which(job_ids, "(expires_at IS NULL OR expires_at > ?)", (now(),))

    async def _which(self, job_ids: list[str], condition: str, args: tuple[Any, ...]) -> set[str]:
        """Which of these jobs exist and meet `condition`."""

        def select(db: sqlite3.Connection) -> set[str]:
            found: set[str] = set()
            for start in range(0, len(job_ids), _IN_BATCH):
                batch = job_ids[start : start + _IN_BATCH]
                found.update(
                    r["id"]
                    for r in db.execute(
                        f"SELECT id FROM jobs WHERE id IN ({_marks(batch)}) AND {condition}",
                        (*batch, *args),
                    )
                )
            return found

        return await self._run(select)

    async def claim(self, limit: int) -> list[Job]:
        def update(db: sqlite3.Connection) -> list[Job]:
            moment = now()
            with _transaction(db):
                rows = db.execute(
                    "UPDATE jobs SET status = 'processing', started_at = coalesce(started_at,"
                    " :now), attempts = attempts + 1, lease_owner = :node,"
                    " lease_expires = :expires WHERE id IN (SELECT id FROM jobs WHERE"
                    f" {_CLAIMABLE_JOBS} ORDER BY batch_id IS NOT NULL, created_at LIMIT :limit)"
                    f" RETURNING {base.SELECT_COLUMNS}",
                    {
                        "now": moment,
                        "node": self.node,
                        "expires": moment + self.lease,
                        "limit": limit,
                    },
                ).fetchall()
            return sorted((base.job_from_row(r) for r in rows), key=lambda j: j.created_at)

        return await self._run(update)

    async def renew(self, keys: list[WorkKey]) -> set[WorkKey]:
        jobs, parts = base.split_keys(keys)

        def update(db: sqlite3.Connection) -> set[WorkKey]:
            expires = now() + self.lease
            held: set[WorkKey] = set()
            if jobs:
                held.update(
                    WorkKey(r["id"])
                    for r in db.execute(
                        f"UPDATE jobs SET lease_expires = ? WHERE id IN ({_marks(jobs)})"
                        " AND lease_owner = ? AND status = 'processing' RETURNING id",
                        (expires, *jobs, self.node),
                    )
                )
            for job_id, part in parts:
                if db.execute(
                    "UPDATE parts SET lease_expires = ? WHERE job_id = ? AND part = ?"
                    " AND lease_owner = ? AND status = 'processing' AND EXISTS (SELECT 1"
                    " FROM jobs WHERE id = ? AND status = 'processing')",
                    (expires, job_id, part, self.node, job_id),
                ).rowcount:
                    held.add(WorkKey(job_id, part))
            return held

        return await self._run(update)

    async def release(self, key: WorkKey) -> None:
        def update(db: sqlite3.Connection) -> None:
            if key.part is None:
                db.execute(
                    "UPDATE jobs SET status = 'pending', attempts = max(0, attempts - 1),"
                    " pages_done = 0, lease_owner = NULL, lease_expires = NULL"
                    " WHERE id = ? AND status = 'processing' AND lease_owner = ?",
                    (key.job_id, self.node),
                )
            else:
                db.execute(
                    "UPDATE parts SET status = 'pending', attempts = max(0, attempts - 1),"
                    " lease_owner = NULL, lease_expires = NULL WHERE job_id = ?"
                    " AND part = ? AND status = 'processing' AND lease_owner = ?",
                    (key.job_id, key.part, self.node),
                )

        await self._run(update)

    async def progress(self, job_id: str, done: int, total: int) -> None:
        def update(db: sqlite3.Connection) -> None:
            db.execute(
                "UPDATE jobs SET pages_done = ?, pages_total = ? WHERE id = ?"
                " AND status = 'processing' AND lease_owner = ?",
                (done, total, job_id, self.node),
            )

        await self._run(update)

    async def finish(self, job_id: str, outcome: JobOutcome) -> Job | None:
        def update(db: sqlite3.Connection) -> Job | None:
            completed = now()
            with _transaction(db):
                row = db.execute(
                    "UPDATE jobs SET status = ?, status_code = ?, result = ?, error = ?,"
                    " outputs = ?, completed_at = ?, expires_at = ? + ttl, lease_owner = NULL,"
                    " pages_done = CASE WHEN ? THEN pages_total ELSE pages_done END,"
                    " webhook_state = CASE WHEN webhook IS NULL THEN NULL ELSE 'pending' END,"
                    " webhook_next_at = ? WHERE id = ? AND status IN ('pending', 'processing')"
                    f" RETURNING {base.SELECT_COLUMNS}",
                    (
                        *outcome.values(),
                        completed,
                        completed,
                        outcome.completed,
                        completed,
                        job_id,
                    ),
                ).fetchone()
                if row is not None:
                    db.execute("DELETE FROM parts WHERE job_id = ?", (job_id,))
            return base.job_from_row(row) if row is not None else None

        return await self._run(update)

    async def count_pending(self) -> int:
        def select(db: sqlite3.Connection) -> int:
            count: int = db.execute(
                "SELECT count(*) FROM jobs WHERE status = 'pending'"
            ).fetchone()[0]
            return count

        return await self._run(select)

    async def counts(self) -> dict[str, int]:
        def select(db: sqlite3.Connection) -> dict[str, int]:
            rows = db.execute("SELECT status, count(*) AS n FROM jobs GROUP BY status").fetchall()
            counted = {s.value: 0 for s in JobStatus}
            counted.update({r["status"]: r["n"] for r in rows})
            return counted

        return await self._run(select)

    async def delete_expired(self) -> list[str]:
        def delete(db: sqlite3.Connection) -> list[str]:
            with _transaction(db):
                rows = db.execute(
                    "DELETE FROM jobs WHERE expires_at IS NOT NULL"
                    " AND expires_at <= ? RETURNING id",
                    (now(),),
                ).fetchall()
                ids = [r["id"] for r in rows]
                db.executemany("DELETE FROM deliveries WHERE job_id = ?", [(i,) for i in ids])
            return ids

        return await self._run(delete)

    # -- page ranges ----------------------------------------------------------------------

    async def add_parts(
        self, job_id: str, parts: list[list[int]], *, pages_total: int, document_size: int
    ) -> bool:
        def insert(db: sqlite3.Connection) -> bool:
            with _transaction(db):
                updated = db.execute(
                    "UPDATE jobs SET parts_total = ?, parts_done = 0, pages_total = ?,"
                    " pages_done = 0, document_size = ?, lease_owner = NULL,"
                    " lease_expires = NULL WHERE id = ? AND status = 'processing'"
                    " AND lease_owner = ?",
                    (len(parts), pages_total, document_size, job_id, self.node),
                ).rowcount
                if updated:
                    db.executemany(
                        "INSERT OR IGNORE INTO parts (job_id, part, pages) VALUES (?, ?, ?)",
                        [(job_id, i, json.dumps(p)) for i, p in enumerate(parts)],
                    )
            return bool(updated)

        return await self._run(insert)

    async def claim_parts(self, limit: int) -> list[Part]:
        def update(db: sqlite3.Connection) -> list[Part]:
            moment = now()
            with _transaction(db):
                rows = db.execute(
                    "SELECT p.job_id, p.part FROM parts p JOIN jobs j ON j.id = p.job_id"
                    " WHERE j.status = 'processing' AND (p.status = 'pending'"
                    " OR (p.status = 'processing' AND p.lease_expires < :now))"
                    " AND NOT EXISTS (SELECT 1 FROM parts q WHERE q.job_id = p.job_id"
                    " AND q.status = 'processing' AND q.lease_owner = :node"
                    " AND q.lease_expires >= :now)"
                    " ORDER BY j.created_at, p.part LIMIT :scan",
                    {"now": moment, "node": self.node, "scan": limit * 8},
                ).fetchall()
                claimed = []
                for job_id, part in one_per_job([(r["job_id"], r["part"]) for r in rows], limit):
                    row = db.execute(
                        "UPDATE parts SET status = 'processing', lease_owner = ?,"
                        " lease_expires = ?, attempts = attempts + 1 WHERE job_id = ?"
                        " AND part = ? RETURNING pages, attempts",
                        (self.node, moment + self.lease, job_id, part),
                    ).fetchone()
                    job = db.execute(
                        f"SELECT {base.SELECT_COLUMNS} FROM jobs WHERE id = ?", (job_id,)
                    ).fetchone()
                    claimed.append(
                        base.part_from_row(
                            base.job_from_row(job), part, row["pages"], row["attempts"]
                        )
                    )
            return claimed

        return await self._run(update)

    async def finish_part(self, key: WorkKey, result: str, pages: int) -> bool:
        def update(db: sqlite3.Connection) -> bool:
            with _transaction(db):
                if not db.execute(
                    "UPDATE parts SET status = 'done', result = ?, lease_owner = NULL"
                    " WHERE job_id = ? AND part = ? AND status = 'processing'"
                    " AND lease_owner = ?",
                    (result, key.job_id, key.part, self.node),
                ).rowcount:
                    return False  # lost to another claim after a lapse
                row = db.execute(
                    "UPDATE jobs SET parts_done = parts_done + 1, pages_done = pages_done + ?"
                    " WHERE id = ? AND status = 'processing' RETURNING parts_done, parts_total",
                    (pages, key.job_id),
                ).fetchone()
                if row is None or row["parts_done"] != row["parts_total"]:
                    return False
                # This node finished the last range: it assembles the job, under a lease.
                db.execute(
                    "UPDATE jobs SET lease_owner = ?, lease_expires = ? WHERE id = ?",
                    (self.node, now() + self.lease, key.job_id),
                )
                return True

        return await self._run(update)

    async def part_result(self, job_id: str, part: int) -> str | None:
        def select(db: sqlite3.Connection) -> str | None:
            row = db.execute(
                "SELECT result FROM parts WHERE job_id = ? AND part = ? AND status = 'done'",
                (job_id, part),
            ).fetchone()
            return None if row is None else str(row["result"])

        return await self._run(select)

    async def part_results(self, job_id: str) -> list[str]:
        def select(db: sqlite3.Connection) -> list[str]:
            return [
                r["result"]
                for r in db.execute(
                    "SELECT result FROM parts WHERE job_id = ? AND status = 'done' ORDER BY part",
                    (job_id,),
                )
            ]

        return await self._run(select)

    # -- webhooks -------------------------------------------------------------------------

    async def claim_webhooks(self, limit: int, lease: float) -> list[Job]:
        def update(db: sqlite3.Connection) -> list[Job]:
            moment = now()
            rows = db.execute(
                "UPDATE jobs SET webhook_state = 'delivering', webhook_lease = ?"
                " WHERE id IN (SELECT id FROM jobs WHERE webhook IS NOT NULL AND"
                " ((webhook_state = 'pending' AND webhook_next_at <= ?)"
                " OR (webhook_state = 'delivering' AND webhook_lease < ?))"
                f" ORDER BY webhook_next_at LIMIT ?) RETURNING {base.SELECT_COLUMNS}",
                (moment + lease, moment, moment, limit),
            ).fetchall()
            return [base.job_from_row(r) for r in rows]

        return await self._run(update)

    async def webhook_attempted(self, job: Job, attempt: DeliveryAttempt) -> None:
        def update(db: sqlite3.Connection) -> None:
            moment = now()
            row = base.attempt_row(job, attempt, moment)
            with _transaction(db):
                db.execute(
                    "INSERT INTO deliveries (job_id, endpoint, event, attempt, at,"
                    " status_code, error, delivered) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (*row[:-1], int(attempt.delivered)),
                )
                db.execute(
                    "UPDATE jobs SET webhook_state = ?, webhook_attempts = ?,"
                    " webhook_next_at = ?, webhook_error = ?, webhook_delivered_at = ?"
                    " WHERE id = ? AND webhook_state = 'delivering'",
                    base.state_row(job, attempt, moment),
                )

        await self._run(update)

    async def deliveries(
        self, *, job_id: str | None = None, limit: int = 100
    ) -> list[dict[str, Any]]:
        def select(db: sqlite3.Connection) -> list[dict[str, Any]]:
            rows = db.execute(
                "SELECT job_id, endpoint, event, attempt, at, status_code, error,"
                " delivered FROM deliveries WHERE (? IS NULL OR job_id = ?)"
                " ORDER BY id DESC LIMIT ?",
                (job_id, job_id, limit),
            ).fetchall()
            return [{**dict(r), "delivered": bool(r["delivered"])} for r in rows]

        return await self._run(select)
