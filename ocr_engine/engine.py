"""The OCR core's front door: a document on disk in, its pages read out."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from collections.abc import Callable, Hashable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

from .errors import CannotStart, InternalError, TesseraError
from .languages import find_system_tessdata, installed_languages, prepare_tessdata
from .model import Page
from .options import OCROptions, select_pages
from .pool import WorkerConfig, WorkerObserver, WorkerPool
from .recognize import TESSEROCR
from .tasks import DocumentInfo, InspectTask, PageImagesTask, PageTask, RenderTask

log = logging.getLogger(__name__)

ProgressCallback = Callable[[int, int], None]
# Writing output files takes milliseconds a page; a long document gets time in proportion.
_RENDER_S_PER_PAGE = 1.0


class EngineObserver(WorkerObserver, Protocol):
    """Told of every page the engine reads, for whoever counts them (metrics)."""

    def page_read(self, source: str, seconds: float) -> None:
        """A page was read from `source` ("ocr" or "text_layer") in `seconds`, waiting for a
        free worker included."""

    def page_failed(self) -> None:
        """A page could not be read (a timeout, a crash, damage)."""


@dataclass(frozen=True)
class PageWarning:
    """A page that could not be read, while the rest of its document was."""

    page: int
    code: str
    message: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class DocumentResult:
    """What one run read: its pages in page order, and the pages it lost."""

    pages: list[Page]
    document_size: int
    warnings: list[PageWarning] = field(default_factory=list)
    kind: str = ""  # "pdf" or "image"; "" when no page was read

    def to_dict(self) -> dict[str, Any]:
        return {
            "pages": [p.to_dict() for p in self.pages],
            "document_size": self.document_size,
            "warnings": [w.to_dict() for w in self.warnings],
            "kind": self.kind,
        }

    @classmethod
    def from_dict(cls, value: dict[str, Any]) -> DocumentResult:
        return cls(
            [Page.from_dict(p) for p in value["pages"]],
            value["document_size"],
            [PageWarning(**w) for w in value.get("warnings", [])],
            value.get("kind", ""),
        )

    def to_stored(self) -> str:
        """The result as JSON text, to keep between the page ranges of a job."""
        return json.dumps(self.to_dict())

    @classmethod
    def from_stored(cls, text: str) -> DocumentResult:
        """A result kept by `to_stored`; InternalError if it is not one (kept by a version of
        Tessera before the page model, by a fleet upgraded while the job ran)."""
        try:
            return cls.from_dict(json.loads(text))
        except (KeyError, TypeError, ValueError) as e:
            raise InternalError(
                "A page range of the job was stored by an older version of Tessera; send the "
                "document again."
            ) from e

    @classmethod
    def merged(cls, parts: list[DocumentResult], document_size: int) -> DocumentResult:
        """The results of a document's page ranges as one, in page order."""
        pages = sorted((p for part in parts for p in part.pages), key=lambda p: p.index)
        warnings = sorted((w for part in parts for w in part.warnings), key=lambda w: w.page)
        kind = next((part.kind for part in parts if part.kind), "")
        return cls(pages, document_size, warnings, kind)


@dataclass(frozen=True)
class EngineConfig:
    """How the engine runs; built once from the settings."""

    workers: int = max(1, os.cpu_count() or 1)
    backend: str = TESSEROCR
    languages: str = "eng"
    dpi: int = 300
    max_pages: int = 1000
    max_page_pixels: int = 60_000_000
    max_image_pixels: int = 180_000_000
    page_timeout: float = 180.0
    worker_memory_mb: int = 0
    tessdata_dir: Path | None = None
    models_dir: Path | None = None
    work_dir: Path = Path("./data")
    log_format: str = "text"  # of the worker processes' log lines: "text" or "json"


class OCREngine:
    """Runs documents through the worker pool, page by page."""

    def __init__(self, config: EngineConfig, observer: EngineObserver | None = None) -> None:
        self.config = config
        self._observer = observer
        try:
            system = find_system_tessdata(config.tessdata_dir)
            self.tessdata = prepare_tessdata(
                system, config.models_dir, config.work_dir / "tessdata"
            )
        except OSError as e:  # none found, or a models directory that cannot be linked in
            detail = f"{e.filename}: {e.strerror}" if e.strerror else str(e)
            raise CannotStart(f"cannot use the language data: {detail}") from None
        self.languages = installed_languages(self.tessdata)
        self.pool = WorkerPool(
            WorkerConfig(
                backend=config.backend,
                tessdata=str(self.tessdata),
                warm_languages=config.languages,
                max_image_pixels=config.max_image_pixels,
                memory_limit_mb=config.worker_memory_mb,
                log_level=logging.getLogger().getEffectiveLevel(),
                log_format=config.log_format,
            ),
            size=config.workers,
            observer=observer,
        )

    async def start(self) -> None:
        await self.pool.start()

    async def close(self) -> None:
        await self.pool.close()

    async def inspect(self, path: Path, *, key: Hashable) -> DocumentInfo:
        """What the document is and how many pages it has (read in a worker, not here)."""
        info: DocumentInfo = await self.pool.run(
            InspectTask(str(path)), key=key, timeout=self.config.page_timeout
        )
        return info

    async def run(
        self,
        path: Path,
        options: OCROptions,
        *,
        key: Hashable,
        on_progress: ProgressCallback | None = None,
    ) -> DocumentResult:
        """OCR the selected pages of the document at `path`.

        One bad page costs that page: the others are still read, and it is listed in the
        result's warnings; if no page could be read, the first page's error is raised.
        """
        info = await self.inspect(path, key=key)
        selected = select_pages(options.pages, info.page_count, max_pages=self.config.max_pages)
        progress = _Progress(len(selected), on_progress)
        failures: dict[int, TesseraError] = {}

        async def page(index: int) -> Page | None:
            task = PageTask(
                path=str(path),
                kind=info.kind,
                renderer=info.renderer,
                index=index,
                languages=options.languages,
                dpi=self.config.dpi,
                max_pixels=self.config.max_page_pixels,
                timeout=self.config.page_timeout,
                options=options.page,
            )
            try:
                return await self._read(task, key)
            except TesseraError as e:
                log.warning("%s: page %d failed: %s", key, index, e.message)
                failures[index] = e
                return None
            finally:
                progress.step()

        try:
            async with asyncio.TaskGroup() as group:
                tasks = [group.create_task(page(i)) for i in selected]
        except BaseExceptionGroup as e:
            raise e.exceptions[0] from None
        finally:
            self.pool.discard(key)
        pages = [p for p in (t.result() for t in tasks) if p is not None]
        if not pages:
            raise failures[min(failures)]
        warnings = [PageWarning(i, e.code, e.message) for i, e in sorted(failures.items())]
        return DocumentResult(pages, path.stat().st_size, warnings, info.kind)

    async def render(
        self,
        result: DocumentResult,
        path: Path,
        formats: tuple[str, ...],
        out_dir: Path,
        *,
        key: Hashable,
    ) -> dict[str, int | str]:
        """Write `result` in each of `formats` to `out_dir/<format>`, in a worker: each
        format's size in bytes, or the message of why it could not be written (a worker that
        died or overran costs the files, never the pages already read)."""
        if not formats:
            return {}
        task = RenderTask(str(path), result.kind, result.pages, formats, str(out_dir))
        timeout = self.config.page_timeout + _RENDER_S_PER_PAGE * len(result.pages)
        try:
            written: dict[str, int | str] = await self.pool.run(task, key=key, timeout=timeout)
        except TesseraError as e:
            log.warning("%s: output files failed: %s", key, e.message)
            return dict.fromkeys(formats, f"The output files could not be written: {e.message}")
        return written

    async def page_images(
        self, result: DocumentResult, path: Path, out_dir: Path, *, key: Hashable
    ) -> dict[str, int | str]:
        """Write a picture of each page of `result` as read to `out_dir`, in a worker: each
        file's size in bytes, or the message of why it could not be written. Like output
        files, a failure here costs the pictures, never the pages already read."""
        task = PageImagesTask(str(path), result.kind, result.pages, str(out_dir))
        timeout = self.config.page_timeout + _RENDER_S_PER_PAGE * len(result.pages)
        try:
            written: dict[str, int | str] = await self.pool.run(task, key=key, timeout=timeout)
        except TesseraError as e:
            log.warning("%s: page images failed: %s", key, e.message)
            return {}
        return written

    async def _read(self, task: PageTask, key: Hashable) -> Page:
        """One page on a worker, told to the observer."""
        started = time.monotonic()
        try:
            page: Page = await self.pool.run(task, key=key, timeout=self.config.page_timeout)
        except TesseraError:
            if self._observer is not None:
                self._observer.page_failed()
            raise
        if self._observer is not None:
            self._observer.page_read(page.source, time.monotonic() - started)
        return page

    def cancel(self, key: Hashable) -> None:
        """Stop the work of `key` now: its queued pages dropped, its busy workers replaced."""
        killed = self.pool.cancel(key)
        if killed:
            log.info("%s: cancelled; %d busy worker(s) replaced", key, killed)


class _Progress:
    """Pages done out of a total, told to a callback: at 0, then after each page."""

    def __init__(self, total: int, callback: ProgressCallback | None) -> None:
        self.total = total
        self.done = 0
        self._callback = callback
        if callback is not None:
            callback(0, total)

    def step(self) -> None:
        self.done += 1
        if self._callback is not None:
            self._callback(self.done, self.total)
