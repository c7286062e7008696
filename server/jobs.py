"""Async jobs as the service thinks of them: their states, their rows, and units of work.

Nothing here knows a database or the wire: the stores (`server.stores`) keep these rows,
and `server.wire` renders them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

# Runs of one job (or page range) cut short by a dying process before it is failed rather
# than run again: a document that kills Tessera must not do so for ever.
MAX_INTERRUPTIONS = 3


class JobStatus(StrEnum):
    PENDING = "pending"  # accepted, waiting for a runner to claim it
    PROCESSING = "processing"  # claimed; its pages are on the workers
    COMPLETED = "completed"  # result stored, kept until expires_at
    FAILED = "failed"  # error stored, kept until expires_at

    @property
    def finished(self) -> bool:
        return self in (JobStatus.COMPLETED, JobStatus.FAILED)


class WebhookState(StrEnum):
    PENDING = "pending"  # due at webhook_next_at
    DELIVERING = "delivering"  # leased by a process that is trying it now
    DELIVERED = "delivered"
    FAILED = "failed"  # given up

    @classmethod
    def after(cls, *, delivered: bool, next_at: float | None) -> WebhookState:
        """The state after one try: delivered, due again at `next_at`, or given up."""
        if delivered:
            return cls.DELIVERED
        return cls.PENDING if next_at is not None else cls.FAILED


@dataclass(frozen=True)
class JobOutcome:
    """How a job ended: its status and HTTP status, and its result or error as JSON text."""

    status: JobStatus
    status_code: int
    result: str | None = None
    error: str | None = None
    outputs: str | None = None  # JSON list of the output files written

    @classmethod
    def succeeded(cls, result: str, outputs: str | None = None) -> JobOutcome:
        return cls(JobStatus.COMPLETED, 200, result=result, outputs=outputs)

    @property
    def completed(self) -> bool:
        return self.status is JobStatus.COMPLETED

    def values(self) -> tuple[str, int, str | None, str | None, str | None]:
        """status, status_code, result, error, outputs: as a store writes them."""
        return (self.status.value, self.status_code, self.result, self.error, self.outputs)


@dataclass(frozen=True)
class DeliveryAttempt:
    """One try of a job's webhook, as the store records it."""

    event: str
    attempt: int  # 1 for the first try
    status_code: int | None  # the endpoint's answer; None when it gave none
    error: str | None
    delivered: bool
    next_at: float | None  # when to try again; None after a failure means give up

    @property
    def state(self) -> WebhookState:
        return WebhookState.after(delivered=self.delivered, next_at=self.next_at)


@dataclass(frozen=True)
class WorkKey:
    """A unit of work one node holds under a lease: a whole job, or one page range of it."""

    job_id: str
    part: int | None = None

    def __str__(self) -> str:
        return self.job_id if self.part is None else f"{self.job_id}#{self.part}"


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
    attempts: int = 0  # claims so far, the running one included
    pages_done: int = 0
    pages_total: int = 0
    status_code: int | None = None
    result: str | None = None
    error: str | None = None
    webhook: str | None = None  # the configured endpoint to notify when the job ends
    idempotency_key: str | None = None
    webhook_state: WebhookState | None = None
    webhook_attempts: int = 0
    webhook_next_at: float | None = None
    webhook_error: str | None = None
    webhook_delivered_at: float | None = None
    parts_total: int = 0  # page ranges a large job is split into; 0 for a job run whole
    parts_done: int = 0
    outputs: str | None = None  # JSON list of the output files written (`wire.output_entry`)
    batch_id: str | None = None  # the batch this job reads one request of
    batch_index: int | None = None  # that request's place in the batch, from 0

    @property
    def key(self) -> WorkKey:
        return WorkKey(self.id)

    @property
    def interrupted_too_often(self) -> bool:
        """Claimed once more after MAX_INTERRUPTIONS runs that never ended."""
        return self.attempts - 1 >= MAX_INTERRUPTIONS

    @property
    def split(self) -> bool:
        return self.parts_total > 0


@dataclass
class Part:
    """A page range of a large job, claimed and read on its own by any node."""

    job: Job
    part: int
    pages: list[int]
    attempts: int

    @property
    def key(self) -> WorkKey:
        return WorkKey(self.job.id, self.part)

    @property
    def interrupted_too_often(self) -> bool:
        return self.attempts - 1 >= MAX_INTERRUPTIONS


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


def now() -> float:
    return time.time()
