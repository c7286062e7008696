"""Async jobs: their states, their rows, and the store interface every backend implements."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Protocol


class JobStatus(StrEnum):
    PENDING = "pending"  # accepted, waiting for a runner to claim it
    PROCESSING = "processing"  # claimed; its pages are on the workers
    COMPLETED = "completed"  # result stored, kept until expires_at
    FAILED = "failed"  # error stored, kept until expires_at

    @property
    def finished(self) -> bool:
        return self in (JobStatus.COMPLETED, JobStatus.FAILED)


@dataclass
class Job:
    """One row of the job store. `result` and `error` are JSON text, passed through as is."""

    id: str
    owner: str
    status: JobStatus
    request: dict[str, Any]  # the validated body, minus the document bytes
    created_at: float
    ttl: int
    document_size: int = 0
    started_at: float | None = None
    completed_at: float | None = None
    expires_at: float | None = None
    attempts: int = 0
    pages_done: int = 0
    pages_total: int = 0
    status_code: int | None = None
    result: str | None = None
    error: str | None = None
    webhook: str | None = None  # the configured endpoint to notify when the job ends
    idempotency_key: str | None = None
    webhook_state: str | None = None  # pending | delivering | delivered | failed
    webhook_attempts: int = 0
    webhook_next_at: float | None = None
    webhook_error: str | None = None
    webhook_delivered_at: float | None = None
    parts_total: int = 0  # page ranges a large job is split into; 0 for a job run whole
    parts_done: int = 0

    def public(self) -> dict[str, Any]:
        """The job as the poll endpoint shows it, without result or error."""
        body: dict[str, Any] = {"id": self.id, "status": self.status.value,
                                "created_at": rfc3339(self.created_at)}
        if self.completed_at is not None:
            body["completed_at"] = rfc3339(self.completed_at)
        if self.expires_at is not None:
            body["expires_at"] = rfc3339(self.expires_at)
        if self.status_code is not None:
            body["status_code"] = self.status_code
        if not self.status.finished and self.pages_total:
            body["pages_done"] = self.pages_done
            body["pages_total"] = self.pages_total
        return body

    def to_json(self) -> str:
        """The poll response, splicing in the stored result or error without re-parsing it."""
        head = json.dumps(self.public())
        if self.result is not None:
            return f'{head[:-1]}, "result": {self.result}}}'
        if self.error is not None:
            return f'{head[:-1]}, "error": {self.error}}}'
        return head


@dataclass
class Part:
    """A page range of a large job, claimed and read on its own by any node."""

    job: Job
    part: int
    pages: list[int]
    attempts: int

    @property
    def key(self) -> str:
        return f"{self.job.id}#{self.part}"


def one_per_job(candidates: list[tuple[str, int]], limit: int) -> list[tuple[str, int]]:
    """At most one part of each job, in order: a node reads one range of a job at a time, so
    the pool stays fair between jobs and the ranges spread over the fleet."""
    chosen: dict[str, int] = {}
    for job_id, part in candidates:
        if job_id not in chosen:
            chosen[job_id] = part
            if len(chosen) == limit:
                break
    return list(chosen.items())


def rfc3339(timestamp: float) -> str:
    """RFC 3339 in UTC with a Z, as Bifrost writes it."""
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def now() -> float:
    return time.time()


class QueueLimitReached(Exception):
    """The store refused a create: as many jobs as allowed are waiting already."""


class JobStore(Protocol):
    """Where jobs live. Implementations: SQLite (embedded default), PostgreSQL."""

    async def open(self) -> None: ...

    async def close(self) -> None: ...

    async def create(self, job: Job, *, max_pending: int) -> tuple[Job, bool]:
        """Insert a new pending job; or, when its owner already has a job under the same
        idempotency key, that job and False. QueueLimitReached when `max_pending` jobs are
        pending already: the count and the insert are one step, on every node."""

    async def unfinished(self, job_ids: list[str]) -> set[str]:
        """Which of these jobs exist and are pending or processing."""

    async def get(self, job_id: str, owner: str) -> Job | None:
        """The job if it exists, belongs to `owner` and has not expired."""

    async def claim(self, limit: int) -> list[Job]:
        """Move up to `limit` pending jobs, oldest first, to processing and return them."""

    async def renew(self, job_ids: list[str]) -> set[str]:
        """Extend this process's leases on running jobs; the ids it still holds."""

    async def add_parts(self, job_id: str, parts: list[list[int]], *, pages_total: int,
                        document_size: int) -> bool:
        """Split a claimed job into page ranges for any node to claim."""

    async def claim_parts(self, limit: int, lease: float) -> list[Part]:
        """Up to `limit` page ranges (one per job) that are pending or whose lease lapsed."""

    async def renew_parts(self, keys: list[tuple[str, int]], lease: float
                          ) -> set[tuple[str, int]]:
        """Extend this process's leases on page ranges; the ones it still holds."""

    async def finish_part(self, job_id: str, part: int, result: str, pages: int
                          ) -> list[str] | None:
        """Store a range's result; every range's result, in order, if it was the last."""

    async def part_results(self, job_id: str) -> list[str]:
        """The results of a job's finished ranges, in order."""

    async def release_part(self, job_id: str, part: int) -> None:
        """Put a range this process will not finish back to pending."""

    async def progress(self, job_id: str, done: int, total: int) -> None: ...

    async def finish(self, job_id: str, *, status: JobStatus, status_code: int,
                     result: str | None, error: str | None) -> Job | None:
        """Store a terminal state; the expiry is counted from now."""

    async def release(self, job_id: str) -> None:
        """Put a job this process will not finish back to pending, without counting a try."""

    async def count_pending(self) -> int:
        """Jobs waiting to be claimed."""

    async def exhausted(self) -> list[str]:
        """Jobs left processing that have already been tried the most times allowed."""

    async def requeue_unfinished(self) -> int:
        """Return jobs left processing by a process that died to pending; how many."""

    async def delete_expired(self) -> list[str]:
        """Delete jobs past their expiry; their ids."""

    async def claim_webhooks(self, limit: int, lease: float) -> list[Job]:
        """Finished jobs whose webhook is due (or whose delivery lease lapsed), leased for
        `lease` seconds so no other process delivers them meanwhile."""

    async def webhook_attempted(self, job: Job, *, event: str, attempt: int,
                                status_code: int | None, error: str | None, delivered: bool,
                                next_at: float | None) -> None:
        """Record one delivery attempt; `next_at` None after a failure means give up."""

    async def deliveries(self, *, job_id: str | None = None, limit: int = 100
                         ) -> list[dict[str, object]]:
        """Recent delivery attempts, newest first."""

    async def counts(self) -> dict[str, int]:
        """Jobs by status."""
