"""What every job store is: the interfaces, and everything about them that is not SQL.

The lease rule, for jobs and page ranges alike: a claim holds the work for `lease` seconds
under the claiming node's name; the node renews its leases while it works; work whose lease
lapsed (its node died, or stopped without releasing it) may be claimed again by any node,
and every claim counts an attempt. A job split into ranges is held by its ranges, not by its
own row, until the last range is done and one node assembles it under a lease again.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import fields
from typing import Any, Protocol

from ..jobs import DeliveryAttempt, Job, JobOutcome, JobStatus, Part, WebhookState, WorkKey

# The jobs table's columns: Job's fields, in their order.
COLUMNS = tuple(f.name for f in fields(Job))
SELECT_COLUMNS = ", ".join(COLUMNS)
# The columns a create writes; the rest start at their defaults.
_CREATED = (
    "id owner status request created_at ttl document_size webhook idempotency_key batch_id"
    " batch_index"
)
CREATE_COLUMNS: tuple[str, ...] = tuple(_CREATED.split(" "))


# The jobs table, once for both dialects: Job's fields in order, then the stores' own
# bookkeeping. Kinds: key, text, time (seconds since the epoch), int, count (int from 0),
# size (bytes); a "!" means NOT NULL.
_JOB_TABLE = """
id key, owner text!, status text!, request text!, created_at time!, ttl int!,
document_size size, started_at time, completed_at time, expires_at time, attempts count,
pages_done count, pages_total count, status_code int, result text, error text, webhook text,
idempotency_key text, webhook_state text, webhook_attempts count, webhook_next_at time,
webhook_error text, webhook_delivered_at time, parts_total count, parts_done count,
outputs text, batch_id text, batch_index int, lease_owner text, lease_expires time,
webhook_lease time
"""
JOB_TABLE: tuple[tuple[str, str], ...] = tuple(
    (name, kind) for name, kind in (c.split() for c in _JOB_TABLE.split(","))
)
SQLITE_TYPES = {
    "key": "TEXT PRIMARY KEY", "text": "TEXT", "text!": "TEXT NOT NULL", "time": "REAL",
    "time!": "REAL NOT NULL", "int": "INTEGER", "int!": "INTEGER NOT NULL",
    "count": "INTEGER NOT NULL DEFAULT 0", "size": "INTEGER NOT NULL DEFAULT 0",
}  # fmt: skip
POSTGRES_TYPES = {
    **SQLITE_TYPES, "time": "DOUBLE PRECISION", "time!": "DOUBLE PRECISION NOT NULL",
    "size": "BIGINT NOT NULL DEFAULT 0",
}  # fmt: skip


def job_table(name: str, types: dict[str, str]) -> str:
    """CREATE TABLE for the jobs table, in a dialect's types."""
    columns = ",\n".join(f"    {column} {types[kind]}" for column, kind in JOB_TABLE)
    return f"CREATE TABLE IF NOT EXISTS {name} (\n{columns}\n);\n"


def added_columns(types: dict[str, str]) -> list[tuple[str, str]]:
    """Every column but the key, with its type: what an older table may lack."""
    return [(column, types[kind]) for column, kind in JOB_TABLE if kind != "key"]


class QueueLimitReached(Exception):
    """The store refused a create: as many jobs as allowed are waiting already."""


def job_from_row(row: Mapping[str, Any]) -> Job:
    """A Job from a row of COLUMNS, whichever driver read it."""
    values = dict(row)
    values["status"] = JobStatus(values["status"])
    values["request"] = json.loads(values["request"])
    if values["webhook_state"] is not None:
        values["webhook_state"] = WebhookState(values["webhook_state"])
    return Job(**values)


def create_values(job: Job) -> tuple[Any, ...]:
    """The values of CREATE_COLUMNS for a new job."""
    return (
        job.id,
        job.owner,
        job.status.value,
        json.dumps(job.request),
        job.created_at,
        job.ttl,
        job.document_size,
        job.webhook,
        job.idempotency_key,
        job.batch_id,
        job.batch_index,
    )


def part_from_row(job: Job, part: int, pages: str, attempts: int) -> Part:
    return Part(job, part, json.loads(pages), attempts)


def attempt_row(job: Job, attempt: DeliveryAttempt, moment: float) -> tuple[Any, ...]:
    """The deliveries row of one try: job_id, endpoint, event, attempt, at, status_code,
    error, delivered."""
    return (
        job.id,
        job.webhook,
        attempt.event,
        attempt.attempt,
        moment,
        attempt.status_code,
        attempt.error,
        attempt.delivered,
    )


def state_row(job: Job, attempt: DeliveryAttempt, moment: float) -> tuple[Any, ...]:
    """The job's delivery state after one try: state, attempts, next_at, error,
    delivered_at, and the job's id."""
    delivered_at = moment if attempt.delivered else None
    return (
        attempt.state.value,
        attempt.attempt,
        attempt.next_at,
        attempt.error,
        delivered_at,
        job.id,
    )


def split_keys(keys: list[WorkKey]) -> tuple[list[str], list[tuple[str, int]]]:
    """Whole jobs' ids, and (job, part) pairs of page ranges."""
    jobs = [k.job_id for k in keys if k.part is None]
    parts = [(k.job_id, k.part) for k in keys if k.part is not None]
    return jobs, parts


class JobStore(Protocol):
    """Where jobs live. Implementations: SQLite (embedded default), PostgreSQL (a fleet)."""

    node: str  # the name this process claims work under

    async def open(self) -> None: ...

    async def close(self) -> None: ...

    # -- jobs -----------------------------------------------------------------------------

    async def create(self, job: Job, *, max_pending: int | None = None) -> tuple[Job, bool]:
        """Insert a new pending job; or, when its owner already has a job under the same
        idempotency key, that job and False. QueueLimitReached when `max_pending` jobs are
        pending already: the count and the insert are one step, on every node."""
        ...

    async def get(self, job_id: str, owner: str) -> Job | None:
        """The job if it exists, belongs to `owner` and has not expired."""
        ...

    async def unfinished(self, job_ids: list[str]) -> set[str]:
        """Which of these jobs exist and are pending or processing."""
        ...

    async def live(self, job_ids: list[str]) -> set[str]:
        """Which of these jobs exist and have not expired."""
        ...

    async def claim(self, limit: int) -> list[Job]:
        """Up to `limit` jobs, oldest first, that are pending or whose lease lapsed (a split
        job only once all its ranges are done), moved to processing under a new lease."""
        ...

    async def renew(self, keys: list[WorkKey]) -> set[WorkKey]:
        """Extend this node's leases on jobs and ranges; the keys it still holds (the others
        were cancelled, finished, or taken over after a lapse)."""
        ...

    async def release(self, key: WorkKey) -> None:
        """Give back work this node will not finish, without counting the try."""
        ...

    async def progress(self, job_id: str, done: int, total: int) -> None: ...

    async def finish(self, job_id: str, outcome: JobOutcome) -> Job | None:
        """Store a terminal state, once; the expiry is counted from now."""
        ...

    async def count_pending(self) -> int:
        """Jobs waiting to be claimed."""
        ...

    async def counts(self) -> dict[str, int]:
        """Jobs by status."""
        ...

    async def delete_expired(self) -> list[str]:
        """Delete jobs past their expiry, with their deliveries; their ids."""
        ...

    # -- page ranges ----------------------------------------------------------------------

    async def add_parts(
        self, job_id: str, parts: list[list[int]], *, pages_total: int, document_size: int
    ) -> bool:
        """Split a job this node holds into page ranges for any node to claim."""
        ...

    async def claim_parts(self, limit: int) -> list[Part]:
        """Up to `limit` ranges that are pending or whose lease lapsed, at most one per job
        that this node is not reading a range of already."""
        ...

    async def finish_part(self, key: WorkKey, result: str, pages: int) -> bool:
        """Store a range's result; True if it was the last (this node then holds the job, to
        assemble it from `part_result`)."""
        ...

    async def part_result(self, job_id: str, part: int) -> str | None:
        """The result of one finished range of a job; None if there is no such range."""
        ...

    async def part_results(self, job_id: str) -> list[str]:
        """The results of a job's finished ranges, in order."""
        ...

    # -- webhooks -------------------------------------------------------------------------

    async def claim_webhooks(self, limit: int, lease: float) -> list[Job]:
        """Finished jobs whose webhook is due (or whose delivery lease lapsed), leased for
        `lease` seconds so no other process delivers them meanwhile."""
        ...

    async def webhook_attempted(self, job: Job, attempt: DeliveryAttempt) -> None:
        """Record one try of the job's webhook and the delivery state it leaves."""
        ...

    async def deliveries(
        self, *, job_id: str | None = None, limit: int = 100
    ) -> list[dict[str, Any]]:
        """Recent delivery attempts, newest first."""
        ...


class OutputStore(Protocol):
    """Jobs' output files kept in a store every node reads (the fleet's database); deleted
    with their jobs when they expire."""

    async def save_output(self, job_id: str, fmt: str, data: bytes) -> None: ...

    async def load_output(self, job_id: str, fmt: str) -> bytes | None: ...


class DocumentStore(Protocol):
    """Documents kept in a store every node reads (the fleet's database)."""

    async def save_document(self, job_id: str, data: bytes) -> None: ...

    async def load_document(self, job_id: str) -> bytes | None: ...

    async def delete_document(self, job_id: str) -> None: ...

    async def delete_orphan_documents(self, *, older_than: float) -> int:
        """Delete documents saved over `older_than` seconds ago that belong to no unfinished
        job; how many."""
        ...
