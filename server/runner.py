"""The runner: claims pending jobs, runs them on the engine, stores what came of them.

Jobs that were processing when the last process died are pending again at start-up, so a
SIGKILL loses no accepted job; a job that took its process down too often is failed instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from pathlib import Path
from typing import Any

import aiohttp

from ocr_engine import OCREngine, TesseraError
from ocr_engine.errors import InternalError
from ocr_engine.sources import is_data_url

from .config import Settings
from .documents import Documents
from .errors import PROVIDER, REQUEST_TYPE, JobTimeout, error_body
from .fetch import fetch
from .jobs import Job, JobStatus, JobStore
from .schema import OCRRequestBody

log = logging.getLogger(__name__)

_IDLE_POLL_S = 2.0
MAX_ATTEMPTS = 3  # runs of one job cut short by a dying process before it is failed
_PROGRESS_EVERY_S = 0.5


def ocr_response(result: dict[str, Any], *, model: str, started: float) -> dict[str, Any]:
    """The Mistral/Bifrost OCR response around the engine's pages and usage."""
    response: dict[str, Any] = {
        "model": model,
        "pages": result["pages"],
        "usage_info": result["usage_info"],
        "document_annotation": None,
        "extra_fields": {
            "request_type": REQUEST_TYPE,
            "provider": PROVIDER,
            "model_requested": model,
            "latency": round((time.monotonic() - started) * 1000),
        },
    }
    if result.get("warnings"):
        # Pages that could not be read; strict clients ignore the extra field.
        response["warnings"] = result["warnings"]
    return response


class Runner:
    """Keeps up to `settings.job_slots` jobs running, and deletes expired ones."""

    def __init__(self, *, store: JobStore, engine: OCREngine, documents: Documents,
                 settings: Settings, http: aiohttp.ClientSession) -> None:
        self._store = store
        self._engine = engine
        self._documents = documents
        self._settings = settings
        self._http = http
        self._policy = settings.fetch_policy()
        self._wake = asyncio.Event()
        self._active: dict[str, asyncio.Task[None]] = {}
        self._background: list[asyncio.Task[None]] = []
        self._writes: set[asyncio.Task[None]] = set()
        self._cancelled: set[str] = set()

    @property
    def running(self) -> int:
        return len(self._active)

    async def start(self) -> None:
        for job_id in await self._store.exhausted():
            await self._fail(job_id, None, InternalError(
                "The job was interrupted too many times while running; it may crash Tessera. "
                "Check the document or split it."))
        requeued = await self._store.requeue_unfinished()
        if requeued:
            log.info("%d unfinished job(s) from the last run are pending again", requeued)
        self._background = [asyncio.create_task(self._claim_loop(), name="tessera-claim"),
                            asyncio.create_task(self._clean_loop(), name="tessera-clean"),
                            asyncio.create_task(self._renew_loop(), name="tessera-renew")]

    async def drain(self, grace: float) -> None:
        """Stop claiming, give running jobs `grace` seconds, and queue the rest again."""
        for task in self._background:
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
        self._background = []
        running = list(self._active.items())
        if running:
            log.info("waiting up to %.0f s for %d running job(s)", grace, len(running))
            await asyncio.wait([t for _, t in running], timeout=grace)
        for job_id, task in running:
            if not task.done():
                task.cancel()
                self._engine.cancel(job_id)
                await self._store.release(job_id)
                log.info("job %s: left pending for the next start", job_id)
        await asyncio.gather(*(t for _, t in running), return_exceptions=True)

    def cancel(self, job_id: str) -> None:
        """Stop a job running here; its cancelled state is already stored."""
        task = self._active.get(job_id)
        if task is not None:
            self._cancelled.add(job_id)
            task.cancel()
        self._engine.cancel(job_id)

    async def close(self) -> None:
        """Stop claiming; running jobs are cancelled and stay processing for the next start."""
        tasks = [*self._background, *self._active.values()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._writes:
            await asyncio.gather(*self._writes, return_exceptions=True)

    def wake(self) -> None:
        """A job was created or a slot freed: claim now rather than at the next poll."""
        self._wake.set()

    async def _claim_loop(self) -> None:
        while True:
            # Cleared before claiming, so a job created during the claim wakes the next round.
            self._wake.clear()
            free = self._settings.job_slots - len(self._active)
            if free > 0:
                try:
                    jobs = await self._store.claim(free)
                except TesseraError:
                    jobs = []  # logged by the store; try again at the next wake
                for job in jobs:
                    task = asyncio.create_task(self._run(job), name=f"job-{job.id}")
                    self._active[job.id] = task
                    task.add_done_callback(lambda _, job_id=job.id: self._done(job_id))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), _IDLE_POLL_S)

    def _done(self, job_id: str) -> None:
        self._active.pop(job_id, None)
        self.wake()

    async def _run(self, job: Job) -> None:
        started = time.monotonic()
        model = job.request["model"]
        log.info("job %s: started (attempt %d)", job.id, job.attempts)
        try:
            if job.attempts > MAX_ATTEMPTS:
                raise InternalError("The job was interrupted too many times while running; it "
                                    "may crash Tessera. Check the document or split it.")
            body = OCRRequestBody.model_validate(job.request["body"])
            path = await self._document(job, body)
            deadline = self._settings.job_timeout
            try:
                async with asyncio.timeout(deadline):
                    result = await self._engine.run(
                        path, body.options(job.request["languages"]), key=job.id,
                        on_progress=self._progress(job.id))
            except TimeoutError:
                self._engine.cancel(job.id)
                raise JobTimeout(f"The job ran longer than the limit of {deadline:.0f} s; "
                                 "split the document or select fewer pages.") from None
            response = ocr_response(result, model=model, started=started)
            text = await asyncio.to_thread(json.dumps, response)
        except asyncio.CancelledError:
            if job.id in self._cancelled:
                # Its state is stored elsewhere; only this node's copy of the document is left.
                self._cancelled.discard(job.id)
                await self._write(self._documents.forget(job.id))
                log.info("job %s: cancelled", job.id)
                return
            raise
        except TesseraError as e:
            log.info("job %s: failed: %s (%s)", job.id, e.message, e.code)
            await self._write(self._fail(job.id, model, e))
            return
        except Exception:
            log.exception("job %s: failed with an internal error", job.id)
            await self._write(self._fail(job.id, model, InternalError(
                "Tessera failed while running the job; the error is in its log.")))
            return
        await self._write(self._complete(job.id, text, started))

    async def _write(self, coro: Any) -> None:
        # The final write must land even if the runner is being cancelled.
        task = asyncio.ensure_future(coro)
        self._writes.add(task)
        task.add_done_callback(self._writes.discard)
        await asyncio.shield(task)

    async def _complete(self, job_id: str, text: str, started: float) -> None:
        await self._store.finish(job_id, status=JobStatus.COMPLETED, status_code=200,
                                 result=text, error=None)
        await self._documents.delete(job_id)
        log.info("job %s: completed in %.2f s", job_id, time.monotonic() - started)

    async def _fail(self, job_id: str, model: str | None, error: TesseraError) -> None:
        await self._store.finish(job_id, status=JobStatus.FAILED, status_code=error.status,
                                 result=None, error=json.dumps(error_body(error, model=model)))
        await self._documents.delete(job_id)

    async def _document(self, job: Job, body: OCRRequestBody) -> Path:
        path = await self._documents.local_path(job.id)
        if path is not None:
            return path
        if is_data_url(body.document.url):
            raise InternalError("The job's document is missing from the job store.")
        # An http(s) document is fetched when its job runs, then kept until the job ends.
        data = await fetch(body.document.url, session=self._http, policy=self._policy,
                           max_bytes=self._settings.max_document_bytes,
                           timeout=self._settings.fetch_timeout, param=body.document.url_param)
        return await self._documents.save(job.id, data)

    def _progress(self, job_id: str):  # -> Callable[[int, int], None]
        last = 0.0

        def report(done: int, total: int) -> None:
            nonlocal last
            now = time.monotonic()
            if done not in (0, total) and now - last < _PROGRESS_EVERY_S:
                return
            last = now
            task = asyncio.ensure_future(self._store.progress(job_id, done, total))
            self._writes.add(task)
            task.add_done_callback(self._writes.discard)

        return report

    async def _renew_loop(self) -> None:
        """Keep the leases on this node's jobs; stop the ones it no longer holds."""
        while True:
            await asyncio.sleep(self._settings.lease_seconds / 3)
            running = list(self._active)
            if not running:
                continue
            try:
                held = await self._store.renew(running)
            except TesseraError:
                continue  # logged by the store; the lease has a margin for one miss
            for job_id in running:
                if job_id not in held and job_id in self._active:
                    # Cancelled on another node, or taken over after a lapse: stop here.
                    log.info("job %s: no longer held by this node; stopping it", job_id)
                    self.cancel(job_id)

    async def _clean_loop(self) -> None:
        while True:
            await asyncio.sleep(self._settings.cleanup_interval)
            try:
                expired = await self._store.delete_expired()
            except TesseraError:
                continue
            for job_id in expired:
                await self._documents.delete(job_id)
            if expired:
                log.info("deleted %d expired job(s)", len(expired))
