"""Storing what came of a job: its progress while it runs, then its result or its error.

A final write lands even while the runner is being cancelled (it is shielded), and is tried
again while the store fails (a full disk, a database restart) for about two minutes. Then the
job is failed with 507; if even that cannot be stored, the job is queued to run again once
the store takes writes. A job is never left processing for good.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Coroutine
from typing import Any

from ocr_engine import TesseraError

from .documents import Documents
from .errors import InsufficientStorage
from .jobs import Job, JobOutcome, WorkKey
from .metrics import Metrics
from .stores import JobStore
from .wire import failure

log = logging.getLogger(__name__)

# Waits between tries of a job's final write while the store fails.
FINAL_WRITE_BACKOFF_S = (1.0, 2.0, 4.0, 8.0, 15.0, 30.0, 30.0, 30.0)
_PROGRESS_EVERY_S = 0.5
_CLOSE_WRITES_S = 10.0


class Outcomes:
    """The runner's writes of progress and final states, and the documents they free."""

    def __init__(self, store: JobStore, documents: Documents, metrics: Metrics) -> None:
        self._store = store
        self._metrics = metrics
        self._documents = documents
        self._writes: set[asyncio.Task[Any]] = set()
        self._stranded: set[str] = set()  # finished here, but their outcome was not stored

    async def complete(
        self, job_id: str, text: str, started: float, outputs: str | None = None
    ) -> None:
        """Store a job's result (JSON text), and the list of its output files (JSON text)."""
        try:
            finished = await self._final(job_id, JobOutcome.succeeded(text, outputs))
        except TesseraError as e:
            # The result cannot be stored: say so in the job, which is small enough to land
            # where the result did not; failing that, the job is queued to be read again.
            log.error("job %s: its result could not be stored (%s)", job_id, e.message)
            await self.fail(
                job_id,
                None,
                InsufficientStorage(
                    "The job's result could not be stored (the job store is full or failing); "
                    "send the document again once an operator has freed space."
                ),
            )
            return
        if finished is not None:
            log.info("job %s: completed in %.2f s", job_id, time.monotonic() - started)

    async def fail(self, job_id: str, model: str | None, error: TesseraError) -> None:
        """Store a job's error, in the Bifrost shape its poll answers with."""
        try:
            await self._final(job_id, failure(error, model=model))
        except TesseraError:
            log.error("job %s: its outcome could not be stored; it will be run again", job_id)
            self._stranded.add(job_id)

    async def forget(self, job_id: str) -> None:
        """This node's copy of a job's document, once the job goes on elsewhere (or ended)."""
        await self._shielded(self._documents.forget(job_id))

    async def release_stranded(self) -> None:
        """Queue again the jobs whose outcome could not be stored, once the store takes it."""
        for job_id in list(self._stranded):
            try:
                await self._store.release(WorkKey(job_id))
            except TesseraError:
                return
            self._stranded.discard(job_id)
            log.info("job %s: pending again after its outcome could not be stored", job_id)

    def progress(self, job_id: str) -> Callable[[int, int], None]:
        """A progress callback for a job: pages done out of a total, written at most twice a
        second (and at the first and last page), never waited on."""
        last = 0.0

        def report(done: int, total: int) -> None:
            nonlocal last
            moment = time.monotonic()
            if done not in (0, total) and moment - last < _PROGRESS_EVERY_S:
                return
            last = moment
            task = asyncio.ensure_future(self._store.progress(job_id, done, total))
            self._writes.add(task)
            task.add_done_callback(self._writes.discard)
            task.add_done_callback(_progress_written)

        return report

    async def close(self) -> None:
        """Give writes still trying against a failing store a moment, then stop them; their
        jobs are processing, and run again at the next start or when their lease lapses."""
        if self._writes:
            _, late = await asyncio.wait(self._writes, timeout=_CLOSE_WRITES_S)
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)

    async def _final(self, job_id: str, outcome: JobOutcome) -> Job | None:
        return await self._shielded(self._finish(job_id, outcome))

    async def _finish(self, job_id: str, outcome: JobOutcome) -> Job | None:
        """Store a job's outcome, trying again while the store fails; the document goes once
        the outcome is stored, never before."""
        for delay in (*FINAL_WRITE_BACKOFF_S, None):
            try:
                finished = await self._store.finish(job_id, outcome)
                if finished is not None:
                    self._metrics.count("tessera_jobs_finished_total", status=finished.status.value)
                break
            except TesseraError as e:
                if delay is None:
                    raise
                log.warning(
                    "job %s: storing its outcome failed (%s); trying again in %.0f s",
                    job_id,
                    e.message,
                    delay,
                )
                self._metrics.count("tessera_outcome_write_retries_total")
                await asyncio.sleep(delay)
        with contextlib.suppress(TesseraError, OSError):
            # A copy left here is swept later; the outcome is what had to land.
            await self._documents.delete(job_id)
        return finished

    async def _shielded(self, coro: Coroutine[Any, Any, Any]) -> Any:
        # The write must land even if the runner is being cancelled.
        task = asyncio.ensure_future(coro)
        self._writes.add(task)
        task.add_done_callback(self._writes.discard)
        return await asyncio.shield(task)


def _progress_written(task: asyncio.Task[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.debug("a progress update was not stored: %s", task.exception())
