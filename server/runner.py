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
from dataclasses import replace
from pathlib import Path
from typing import Any

import aiohttp

from ocr_engine import OCREngine, TesseraError
from ocr_engine.errors import InternalError, PageFailed
from ocr_engine.options import PageSelection, select_pages
from ocr_engine.sources import is_data_url

from .config import Settings
from .documents import Documents
from .errors import PROVIDER, REQUEST_TYPE, InsufficientStorage, JobTimeout, error_body
from .fetch import fetch
from .jobs import Job, JobStatus, JobStore, Part, now
from .schema import OCRRequestBody

log = logging.getLogger(__name__)

_IDLE_POLL_S = 2.0
MAX_ATTEMPTS = 3  # runs of one job cut short by a dying process before it is failed
_PROGRESS_EVERY_S = 0.5
# Waits between tries of a job's final write while the store fails (a full disk, a database
# restart): about two minutes in all, then the job is failed or queued again.
_FINAL_WRITE_BACKOFF_S = (1.0, 2.0, 4.0, 8.0, 15.0, 30.0, 30.0, 30.0)
_CLOSE_WRITES_S = 10.0
# A document older than this with no unfinished job was left by a create or a crash.
_ORPHAN_AGE_S = 600.0


def _part_key(key: str) -> tuple[str, int]:
    job_id, part = key.rsplit("#", 1)
    return job_id, int(part)


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


def _progress_written(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.debug("a progress update was not stored: %s", task.exception())


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
        self._stranded: set[str] = set()  # finished here, but their outcome was not stored

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
        # Nothing is being created on this node yet, so any local document without an
        # unfinished job was left by the last run: a create cut short, a crash.
        orphans = await self._documents.sweep(self._store.unfinished, older_than=0,
                                              local_only=True)
        if orphans:
            log.info("deleted %d document(s) left by the last run that belong to no job",
                     orphans)
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
        for key, task in running:
            if not task.done():
                task.cancel()
                self._engine.cancel(key)
                if "#" in key:
                    await self._store.release_part(*_part_key(key))
                else:
                    await self._store.release(key)
                log.info("job %s: left pending for the next start", key)
        await asyncio.gather(*(t for _, t in running), return_exceptions=True)

    def cancel(self, job_id: str) -> None:
        """Stop a job running here, whole or its ranges; its cancelled state is stored."""
        for key in [k for k in self._active if k == job_id or k.startswith(job_id + "#")]:
            self._stop(key)
        self._engine.cancel(job_id)

    def _stop(self, key: str) -> None:
        task = self._active.get(key)
        if task is not None:
            self._cancelled.add(key)
            task.cancel()
        self._engine.cancel(key)

    async def close(self) -> None:
        """Stop claiming; running jobs are cancelled and stay processing for the next start."""
        tasks = [*self._background, *self._active.values()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._writes:
            # Final writes still trying against a failing store give up here; their jobs
            # are processing, and run again at the next start or when their lease lapses.
            _, late = await asyncio.wait(self._writes, timeout=_CLOSE_WRITES_S)
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)

    def wake(self) -> None:
        """A job was created or a slot freed: claim now rather than at the next poll."""
        self._wake.set()

    async def _claim_loop(self) -> None:
        while True:
            # Cleared before claiming, so a job created during the claim wakes the next round.
            self._wake.clear()
            try:
                if self._stranded:
                    await self._release_stranded()
                # Ranges of jobs already started come before new jobs.
                free = self._settings.job_slots - len(self._active)
                if free > 0:
                    for part in await self._store.claim_parts(free, self._settings.lease_seconds):
                        self._start(part.key, self._run_part(part))
                free = self._settings.job_slots - len(self._active)
                if free > 0:
                    for job in await self._store.claim(free):
                        self._start(job.id, self._run(job))
            except TesseraError:
                pass  # logged by the store; try again at the next wake
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), _IDLE_POLL_S)

    def _start(self, key: str, coro: Any) -> None:
        task = asyncio.create_task(coro, name=f"job-{key}")
        self._active[key] = task
        task.add_done_callback(lambda _: self._done(key))

    def _done(self, key: str) -> None:
        self._active.pop(key, None)
        self.wake()

    async def _run(self, job: Job) -> None:
        started = time.monotonic()
        model = job.request["model"]
        log.info("job %s: started (attempt %d)", job.id, job.attempts)
        try:
            if job.attempts > MAX_ATTEMPTS:
                raise InternalError("The job was interrupted too many times while running; it "
                                    "may crash Tessera. Check the document or split it.")
            if job.parts_total:
                # Split before; claimed again only to assemble after its node died doing so.
                if job.parts_done >= job.parts_total:
                    await self._assemble(job, await self._store.part_results(job.id))
                return
            body = OCRRequestBody.model_validate(job.request["body"])
            path = await self._document(job, body)
            if await self._split(job, body, path):
                return
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

    async def _split(self, job: Job, body: OCRRequestBody, path: Path) -> bool:
        """Split a large job into page ranges that any node may claim; whether it was."""
        size = self._settings.part_pages
        options = body.options(job.request["languages"])
        info = await self._engine.inspect(path, key=job.id)
        pages = select_pages(options.pages, info.page_count,
                             max_pages=self._settings.max_pages)
        if len(pages) <= size:
            return False
        ranges = [pages[i:i + size] for i in range(0, len(pages), size)]
        if await self._store.add_parts(job.id, ranges, pages_total=len(pages),
                                       document_size=path.stat().st_size):
            log.info("job %s: split into %d ranges of up to %d pages", job.id, len(ranges), size)
            self.wake()
        return True

    async def _run_part(self, part: Part) -> None:
        job = part.job
        model = job.request["model"]
        log.info("job %s: range %d (%d pages) started (attempt %d)", job.id, part.part,
                 len(part.pages), part.attempts)
        try:
            body = OCRRequestBody.model_validate(job.request["body"])
            path = await self._document(job, body)
            options = replace(body.options(job.request["languages"]),
                              pages=PageSelection.of(part.pages))
            try:
                if part.attempts > MAX_ATTEMPTS:
                    raise InternalError("The range was interrupted too many times while "
                                        "running; it may crash Tessera.")
                async with asyncio.timeout(self._settings.job_timeout):
                    result = await self._engine.run(path, options, key=part.key)
            except (TesseraError, TimeoutError) as e:
                # The range's pages are lost; the job goes on with the other ranges.
                self._engine.cancel(part.key)
                error = e if isinstance(e, TesseraError) else JobTimeout(
                    "The page range ran longer than the job time limit.")
                result = {"pages": [], "warnings": [
                    {"page": p, "code": error.code, "message": error.message}
                    for p in part.pages]}
            text = await asyncio.to_thread(json.dumps, result)
            results = await asyncio.shield(self._store.finish_part(
                job.id, part.part, text, len(result["pages"])))
            log.info("job %s: range %d done", job.id, part.part)
            if results is not None:
                await self._assemble(job, results)
        except asyncio.CancelledError:
            if part.key in self._cancelled:
                self._cancelled.discard(part.key)
                await self._write(self._documents.forget(job.id))
                return
            raise
        except TesseraError as e:
            log.info("job %s: failed: %s (%s)", job.id, e.message, e.code)
            await self._write(self._fail(job.id, model, e))
        except Exception:
            log.exception("job %s: failed with an internal error", job.id)
            await self._write(self._fail(job.id, model, InternalError(
                "Tessera failed while running the job; the error is in its log.")))

    async def _assemble(self, job: Job, results: list[str]) -> None:
        """One response from every range's pages, written by the node that read the last."""
        parts = [json.loads(r) for r in results]
        pages = sorted((p for part in parts for p in part["pages"]), key=lambda p: p["index"])
        warnings = sorted((w for part in parts for w in part.get("warnings", [])),
                          key=lambda w: w["page"])
        model = job.request["model"]
        if not pages:
            error = PageFailed(warnings[0]["message"] if warnings else "No page could be read.")
            await self._write(self._fail(job.id, model, error))
            return
        result: dict[str, Any] = {
            "pages": pages,
            "usage_info": {"pages_processed": len(pages), "doc_size_bytes": job.document_size},
        }
        if warnings:
            result["warnings"] = warnings
        started = time.monotonic() - (now() - (job.started_at or job.created_at))
        text = await asyncio.to_thread(json.dumps, ocr_response(result, model=model,
                                                                started=started))
        await self._write(self._complete(job.id, text, started))

    async def _write(self, coro: Any) -> None:
        # The final write must land even if the runner is being cancelled.
        task = asyncio.ensure_future(coro)
        self._writes.add(task)
        task.add_done_callback(self._writes.discard)
        await asyncio.shield(task)

    async def _complete(self, job_id: str, text: str, started: float) -> None:
        try:
            finished = await self._finish(job_id, status=JobStatus.COMPLETED, status_code=200,
                                          result=text, error=None)
        except TesseraError as e:
            # The result cannot be stored: say so in the job, which is small enough to land
            # where the result did not; failing that, the job is queued to be read again.
            log.error("job %s: its result could not be stored (%s)", job_id, e.message)
            await self._fail(job_id, None, InsufficientStorage(
                "The job's result could not be stored (the job store is full or failing); "
                "send the document again once an operator has freed space."))
            return
        if finished is not None:
            log.info("job %s: completed in %.2f s", job_id, time.monotonic() - started)

    async def _fail(self, job_id: str, model: str | None, error: TesseraError) -> None:
        try:
            await self._finish(job_id, status=JobStatus.FAILED, status_code=error.status,
                               result=None, error=json.dumps(error_body(error, model=model)))
        except TesseraError:
            log.error("job %s: its outcome could not be stored; it will be run again", job_id)
            self._stranded.add(job_id)

    async def _finish(self, job_id: str, **outcome: Any) -> Job | None:
        """Store a job's outcome, trying again while the store fails; the document goes once
        the outcome is stored, never before."""
        for delay in (*_FINAL_WRITE_BACKOFF_S, None):
            try:
                finished = await self._store.finish(job_id, **outcome)
                break
            except TesseraError as e:
                if delay is None:
                    raise
                log.warning("job %s: storing its outcome failed (%s); trying again in %.0f s",
                            job_id, e.message, delay)
                await asyncio.sleep(delay)
        with contextlib.suppress(TesseraError, OSError):
            # A copy left here is swept later; the outcome is what had to land.
            await self._documents.delete(job_id)
        return finished

    async def _release_stranded(self) -> None:
        """Queue again the jobs whose outcome could not be stored, once the store takes it."""
        for job_id in list(self._stranded):
            try:
                await self._store.release(job_id)
            except TesseraError:
                return
            self._stranded.discard(job_id)
            log.info("job %s: pending again after its outcome could not be stored", job_id)

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
            task.add_done_callback(_progress_written)

        return report

    async def _renew_loop(self) -> None:
        """Keep the leases on this node's jobs; stop the ones it no longer holds."""
        while True:
            await asyncio.sleep(self._settings.lease_seconds / 3)
            running = list(self._active)
            if not running:
                continue
            jobs = [k for k in running if "#" not in k]
            parts = [_part_key(k) for k in running if "#" in k]
            try:
                held = await self._store.renew(jobs) if jobs else set()
                held |= {f"{j}#{p}" for j, p in await self._store.renew_parts(
                    parts, self._settings.lease_seconds)} if parts else set()
            except TesseraError:
                continue  # logged by the store; the lease has a margin for one miss
            for key in running:
                if key not in held and key in self._active:
                    # Cancelled on another node, or taken over after a lapse: stop here.
                    log.info("job %s: no longer held by this node; stopping it", key)
                    self._stop(key)

    async def _clean_loop(self) -> None:
        while True:
            try:
                expired = await self._store.delete_expired()
                for job_id in expired:
                    await self._documents.delete(job_id)
                if expired:
                    log.info("deleted %d expired job(s)", len(expired))
                orphans = await self._documents.sweep(self._store.unfinished,
                                                      older_than=_ORPHAN_AGE_S)
                if orphans:
                    log.info("deleted %d document(s) that belonged to no job", orphans)
            except TesseraError:
                pass  # logged by the store; the next round tries again
            await asyncio.sleep(self._settings.cleanup_interval)
