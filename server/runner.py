"""The runner: claims work from the store, runs it on the engine, stores what came of it.

Work is a whole job, or one page range of a large job (`WorkKey`). Each runs as a task of
its own under the store's lease rule (`server.stores.base`): the renew loop keeps this node's
leases, and stops work another node took over or its owner cancelled. What a job came to is
written by `server.outcomes`; expired jobs are deleted by `server.housekeeping`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Awaitable
from dataclasses import replace
from pathlib import Path

from ocr_engine import DocumentResult, OCREngine, OCROptions, PageWarning, TesseraError
from ocr_engine.engine import ProgressCallback
from ocr_engine.errors import InternalError, PageFailed
from ocr_engine.options import PageSelection, select_pages
from ocr_engine.render.mistral import page_json
from ocr_engine.sources import is_data_url

from .config import Settings
from .documents import Documents
from .errors import JobTimeout
from .fetch import Fetcher
from .files import FileNotFound, Files
from .jobs import Job, Part, WorkKey, now
from .metrics import Metrics
from .outcomes import Outcomes
from .outputs import Outputs
from .schema import OCRRequestBody
from .stores import JobStore
from .wire import ocr_response, outputs_list

log = logging.getLogger(__name__)

_IDLE_POLL_S = 2.0
_INTERRUPTED = (
    "The job was interrupted too many times while running; it may crash "
    "Tessera. Check the document or split it."
)


class Runner:
    """Keeps up to `settings.job_slots` jobs and page ranges running on this node."""

    def __init__(
        self,
        *,
        store: JobStore,
        engine: OCREngine,
        documents: Documents,
        outputs: Outputs,
        settings: Settings,
        fetcher: Fetcher,
        metrics: Metrics,
        files: Files,
    ) -> None:
        self._store = store
        self._files = files
        self._metrics = metrics
        self._engine = engine
        self._documents = documents
        self._outputs = outputs
        self._settings = settings
        self._fetcher = fetcher
        self._outcomes = Outcomes(store, documents, metrics)
        self._wake = asyncio.Event()
        self._active: dict[WorkKey, asyncio.Task[None]] = {}
        self._loops: list[asyncio.Task[None]] = []
        self._cancelled: set[asyncio.Task[None]] = set()  # stopped on purpose, not shut down

    @property
    def running(self) -> int:
        return len(self._active)

    async def start(self) -> None:
        self._loops = [
            asyncio.create_task(self._claim_loop(), name="tessera-claim"),
            asyncio.create_task(self._renew_loop(), name="tessera-renew"),
        ]

    def wake(self) -> None:
        """A job was created or a slot freed: claim now rather than at the next poll."""
        self._wake.set()

    def cancel(self, job_id: str) -> None:
        """Stop a job running here, whole or its ranges; its cancelled state is stored."""
        for key in [k for k in self._active if k.job_id == job_id]:
            self._stop(key)
        self._engine.cancel(WorkKey(job_id))

    async def drain(self, grace: float) -> None:
        """Stop claiming, give running work `grace` seconds, and give the rest back."""
        await self._stop_loops()
        running = list(self._active.items())
        if running:
            log.info("waiting up to %.0f s for %d running job(s)", grace, len(running))
            await asyncio.wait([t for _, t in running], timeout=grace)
        for key, task in running:
            if not task.done():
                task.cancel()
                self._engine.cancel(key)
                await self._store.release(key)
                self._metrics.count("tessera_work_released_total")
                log.info("job %s: left pending for the next start", key)
        await asyncio.gather(*(t for _, t in running), return_exceptions=True)

    async def close(self) -> None:
        """Stop claiming; running work is cancelled and stays processing for the next start
        (or for another node once its lease lapses)."""
        await self._stop_loops()
        tasks = list(self._active.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self._outcomes.close()

    async def _stop_loops(self) -> None:
        for task in self._loops:
            task.cancel()
        await asyncio.gather(*self._loops, return_exceptions=True)
        self._loops = []

    # -- claiming -------------------------------------------------------------------------

    async def _claim_loop(self) -> None:
        while True:
            # Cleared before claiming, so a job created during the claim wakes the next round.
            self._wake.clear()
            with contextlib.suppress(TesseraError):  # logged by the store; tried again later
                await self._claim()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), _IDLE_POLL_S)

    async def _claim(self) -> None:
        await self._outcomes.release_stranded()
        # Ranges of jobs already started come before new jobs.
        if free := self._free():
            for part in await self._store.claim_parts(free):
                self._start(part.key, self._guarded(part.job, self._run_part(part), part.key))
        if free := self._free():
            for job in await self._store.claim(free):
                self._start(job.key, self._guarded(job, self._run_job(job), job.key))

    def _free(self) -> int:
        return max(0, self._settings.job_slots - len(self._active))

    def _start(self, key: WorkKey, work: Awaitable[None]) -> None:
        task = asyncio.ensure_future(work)
        task.set_name(f"job-{key}")
        self._active[key] = task
        task.add_done_callback(lambda _: self._done(key))

    def _done(self, key: WorkKey) -> None:
        self._active.pop(key, None)
        self.wake()

    def _stop(self, key: WorkKey) -> None:
        task = self._active.get(key)
        if task is not None:
            self._cancelled.add(task)
            task.cancel()
        self._engine.cancel(key)

    async def _guarded(self, job: Job, work: Awaitable[None], key: WorkKey) -> None:
        """Run a job or a range; whatever ends it, its outcome is stored."""
        model = job.request["model"]
        try:
            await work
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if task not in self._cancelled:
                raise  # shutting down: the work stays claimed, for a release or a lapse
            # Cancelled by its owner or taken over: its state is stored elsewhere.
            self._cancelled.discard(task)
            if not any(k.job_id == job.id for k, t in self._active.items() if t is not task):
                # Nothing else of the job runs here: this node's copy of its document goes.
                await self._outcomes.forget(job.id)
            log.info("job %s: stopped here", key)
        except TesseraError as e:
            log.info("job %s: failed: %s (%s)", key, e.message, e.code)
            await self._outcomes.fail(job.id, model, e)
        except Exception:
            log.exception("job %s: failed with an internal error", key)
            await self._outcomes.fail(
                job.id,
                model,
                InternalError("Tessera failed while running the job; the error is in its log."),
            )

    # -- a whole job ----------------------------------------------------------------------

    async def _run_job(self, job: Job) -> None:
        started = time.monotonic()
        log.info("job %s: started (attempt %d)", job.id, job.attempts)
        self._metrics.count(
            "tessera_work_started_total", kind="job", resumed=str(job.attempts > 1).lower()
        )
        if job.interrupted_too_often:
            raise InternalError(_INTERRUPTED)
        if job.split:
            # Claimed again only to assemble, after the node that read its last range died.
            await self._assemble(job)
            return
        body = OCRRequestBody.model_validate(job.request["body"])
        path = await self._document(job, body)
        if await self._split(job, body, path):
            return
        options = body.options(job.request["languages"])
        result = await self._read(path, options, job.key, progress=self._outcomes.progress(job.id))
        await self._finish(job, body, result, path, started)

    async def _read(
        self,
        path: Path,
        options: OCROptions,
        key: WorkKey,
        *,
        progress: ProgressCallback | None = None,
    ) -> DocumentResult:
        """The engine's run within the job time limit."""
        limit = self._settings.job_timeout
        try:
            async with asyncio.timeout(limit):
                return await self._engine.run(path, options, key=key, on_progress=progress)
        except TimeoutError:
            self._engine.cancel(key)
            raise JobTimeout(
                f"The job ran longer than the limit of {limit:.0f} s; split the "
                "document or select fewer pages."
            ) from None

    async def _split(self, job: Job, body: OCRRequestBody, path: Path) -> bool:
        """Split a large job into page ranges that any node may claim; whether it was."""
        size = self._settings.part_pages
        options = body.options(job.request["languages"])
        info = await self._engine.inspect(path, key=job.key)
        pages = select_pages(options.pages, info.page_count, max_pages=self._settings.max_pages)
        if len(pages) <= size:
            return False
        ranges = [pages[i : i + size] for i in range(0, len(pages), size)]
        if await self._store.add_parts(
            job.id, ranges, pages_total=len(pages), document_size=path.stat().st_size
        ):
            log.info("job %s: split into %d ranges of up to %d pages", job.id, len(ranges), size)
            self._metrics.count("tessera_ranges_created_total", len(ranges))
            self.wake()
        return True

    async def _document(self, job: Job, body: OCRRequestBody) -> Path:
        """Where the job's document is on this node: stored at create, or fetched now."""
        if body.document.is_file:
            # An uploaded file is read where it is kept; no copy is made for the job.
            record = await self._files.find(body.document.file_id or "")
            if record is None:
                raise FileNotFound(
                    f"The file '{body.document.file_id}' was deleted or expired before the "
                    "job could read it.",
                    param="document.file_id",
                )
            return await self._files.local_path(record)
        path = await self._documents.local_path(job.id)
        if path is not None:
            return path
        if is_data_url(body.document.url):
            raise InternalError("The job's document is missing from the job store.")
        # An http(s) document is fetched when its job runs, then kept until the job ends.
        data = await self._fetcher.fetch(body.document.url, param=body.document.url_param)
        return await self._documents.save(job.id, data)

    # -- one page range -------------------------------------------------------------------

    async def _run_part(self, part: Part) -> None:
        job = part.job
        log.info(
            "job %s: range %d (%d pages) started (attempt %d)",
            job.id,
            part.part,
            len(part.pages),
            part.attempts,
        )
        self._metrics.count(
            "tessera_work_started_total", kind="range", resumed=str(part.attempts > 1).lower()
        )
        body = OCRRequestBody.model_validate(job.request["body"])
        path = await self._document(job, body)
        result = await self._read_range(part, body, path)
        text = await asyncio.to_thread(result.to_stored)
        last = await asyncio.shield(self._store.finish_part(part.key, text, len(result.pages)))
        log.info("job %s: range %d done", job.id, part.part)
        # The range is stored: its lease is gone, and nothing of it is left to renew or stop.
        task = self._active.pop(part.key, None)
        if last:
            # This node now holds the job itself, to assemble it under the job's lease.
            if task is not None:
                self._active[job.key] = task
            try:
                await self._assemble(job)
            finally:
                if self._active.get(job.key) is task:
                    del self._active[job.key]

    async def _read_range(self, part: Part, body: OCRRequestBody, path: Path) -> DocumentResult:
        """A range's pages; a range that cannot be read is lost, and the job goes on."""
        options = replace(
            body.options(part.job.request["languages"]), pages=PageSelection.of(part.pages)
        )
        try:
            if part.interrupted_too_often:
                raise InternalError(
                    "The range was interrupted too many times while running; it may crash Tessera."
                )
            return await self._read(path, options, part.key)
        except TesseraError as e:
            return DocumentResult(
                [], path.stat().st_size, [PageWarning(p, e.code, e.message) for p in part.pages]
            )

    async def _assemble(self, job: Job) -> None:
        """One response from every range's pages, written by the node that read the last."""
        started = time.monotonic() - (now() - (job.started_at or job.created_at))
        body = OCRRequestBody.model_validate(job.request["body"])
        if not (body.formats or body.page_images):
            # Only the JSON: written range by range, so that a long document's page models
            # (and its ranges' stored results) are never all in memory at once.
            text = await self._spliced(job, body.options(job.request["languages"]), started)
            await self._outcomes.complete(job.id, text, started, None)
            return
        parts = [DocumentResult.from_stored(r) for r in await self._store.part_results(job.id)]
        merged = DocumentResult.merged(parts, job.document_size)
        if not merged.pages:
            reason = merged.warnings[0].message if merged.warnings else "No page could be read."
            raise PageFailed(reason)
        # The document is needed again to write output files (the PDF is laid on it) and
        # pictures of the pages.
        path = await self._document(job, body)
        await self._finish(job, body, merged, path, started)

    async def _spliced(self, job: Job, options: OCROptions, started: float) -> str:
        """The OCR response of a job read in page ranges, from each range's stored result in
        page order, each read, turned into its pages' JSON and let go before the next."""
        pieces: list[str] = []
        warnings: list[PageWarning] = []
        part = 0
        while (stored := await self._store.part_result(job.id, part)) is not None:
            rendered, lost = await asyncio.to_thread(_range_json, stored, options)
            pieces += rendered
            warnings += lost
            part += 1
        if not pieces:
            raise PageFailed(warnings[0].message if warnings else "No page could be read.")
        warnings.sort(key=lambda w: w.page)
        frame = ocr_response(
            DocumentResult([], job.document_size, warnings, ""),
            options.page,
            model=job.request["model"],
            started=started,
        )
        frame["usage_info"]["pages_processed"] = len(pieces)
        head, tail = json.dumps(frame).split('"pages": []', 1)
        return f'{head}"pages": [{", ".join(pieces)}]{tail}'

    async def _finish(
        self,
        job: Job,
        body: OCRRequestBody,
        result: DocumentResult,
        path: Path | None,
        started: float,
    ) -> None:
        """The job's response, output files and page pictures written, and stored."""
        options = body.options(job.request["languages"])
        outputs = None
        if (body.formats or body.page_images) and path is not None:
            async with self._outputs.scratch() as folder:
                written = await self._engine.render(result, path, body.formats, folder, key=job.key)
                self._metrics.outputs(written)
                pictures = await self._page_images(job, body, result, path, folder)
                # Kept in one step: keeping replaces whatever an earlier run of the job kept.
                await self._outputs.keep(
                    job.id,
                    folder,
                    [f for f, size in (written | pictures).items() if isinstance(size, int)],
                )
            if body.formats:
                outputs = json.dumps(outputs_list(written, job_id=job.id))

        def respond() -> str:
            model = job.request["model"]
            return json.dumps(ocr_response(result, options.page, model=model, started=started))

        await self._outcomes.complete(job.id, await asyncio.to_thread(respond), started, outputs)

    async def _page_images(
        self, job: Job, body: OCRRequestBody, result: DocumentResult, path: Path, folder: Path
    ) -> dict[str, int | str]:
        """Pictures of the pages as read, written to `folder` if the job asked for them."""
        if not body.page_images:
            return {}
        pictures = await self._engine.page_images(result, path, folder, key=job.key)
        for name, reason in pictures.items():
            if isinstance(reason, str):
                log.warning("job %s: %s not written: %s", job.id, name, reason)
        return pictures

    # -- leases ---------------------------------------------------------------------------

    async def _renew_loop(self) -> None:
        """Keep the leases on this node's work; stop the work it no longer holds."""
        while True:
            await asyncio.sleep(self._settings.lease_seconds / 3)
            running = list(self._active)
            if not running:
                continue
            try:
                held = await self._store.renew(running)
            except TesseraError:
                continue  # logged by the store; the lease has a margin for one miss
            for key in running:
                if key not in held and key in self._active:
                    # Cancelled on another node, or taken over after a lapse: stop here.
                    log.info("job %s: no longer held by this node; stopping it", key)
                    self._metrics.count("tessera_work_stopped_total")
                    self._stop(key)


def _range_json(stored: str, options: OCROptions) -> tuple[list[str], list[PageWarning]]:
    """One range's pages as JSON texts, in page order, and the pages it could not read."""
    part = DocumentResult.from_stored(stored)
    pages = sorted(part.pages, key=lambda page: page.index)
    return [json.dumps(page_json(page, options.page)) for page in pages], part.warnings
