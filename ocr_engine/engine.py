"""The OCR core's front door: a document on disk in, the wire-format result out."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import TesseraError
from .languages import find_system_tessdata, installed_languages, prepare_tessdata
from .options import OCROptions, select_pages
from .pool import WorkerConfig, WorkerPool
from .recognize import TESSEROCR
from .tasks import DocumentInfo, InspectTask, PageTask

log = logging.getLogger(__name__)

ProgressCallback = Callable[[int, int], None]


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

    def __init__(self, config: EngineConfig) -> None:
        self.config = config
        system = find_system_tessdata(config.tessdata_dir)
        self.tessdata = prepare_tessdata(system, config.models_dir, config.work_dir / "tessdata")
        self.languages = installed_languages(self.tessdata)
        self.pool = WorkerPool(
            WorkerConfig(backend=config.backend, tessdata=str(self.tessdata),
                         warm_languages=config.languages,
                         max_image_pixels=config.max_image_pixels,
                         memory_limit_mb=config.worker_memory_mb,
                         log_level=logging.getLogger().getEffectiveLevel(),
                         log_format=config.log_format),
            size=config.workers)

    async def start(self) -> None:
        await self.pool.start()

    async def close(self) -> None:
        await self.pool.close()

    async def inspect(self, path: Path, *, key: Hashable) -> DocumentInfo:
        """What the document is and how many pages it has (read in a worker, not here)."""
        info: DocumentInfo = await self.pool.run(InspectTask(str(path)), key=key,
                                                 timeout=self.config.page_timeout)
        return info

    async def run(self, path: Path, options: OCROptions, *, key: Hashable,
                  on_progress: ProgressCallback | None = None) -> dict[str, Any]:
        """OCR the selected pages of the document at `path`: `pages` and `usage_info`."""
        info = await self.inspect(path, key=key)
        selected = select_pages(options.pages, info.page_count, max_pages=self.config.max_pages)
        total = len(selected)
        done = 0
        if on_progress is not None:
            on_progress(0, total)

        failures: list[dict[str, Any]] = []

        async def page(index: int) -> dict[str, Any] | None:
            nonlocal done
            task = PageTask(path=str(path), kind=info.kind, renderer=info.renderer, index=index,
                            languages=options.languages, dpi=self.config.dpi,
                            max_pixels=self.config.max_page_pixels,
                            timeout=self.config.page_timeout, options=options.page)
            try:
                result: dict[str, Any] | None = await self.pool.run(
                    task, key=key, timeout=self.config.page_timeout)
            except TesseraError as e:
                # One bad page costs that page; the rest of the document is still read.
                log.warning("%s: page %d failed: %s", key, index, e.message)
                failures.append({"page": index, "code": e.code, "message": e.message,
                                 "error": e})
                result = None
            done += 1
            if on_progress is not None:
                on_progress(done, total)
            return result

        try:
            async with asyncio.TaskGroup() as group:
                tasks = [group.create_task(page(i)) for i in selected]
        except BaseExceptionGroup as e:
            raise e.exceptions[0] from None
        finally:
            self.pool.discard(key)
        pages = [p for p in (t.result() for t in tasks) if p is not None]
        if not pages:
            first = min(failures, key=lambda f: f["page"])
            raise first["error"]
        result: dict[str, Any] = {
            "pages": pages,
            "usage_info": {"pages_processed": len(pages), "doc_size_bytes": path.stat().st_size},
        }
        if failures:
            result["warnings"] = [{k: v for k, v in f.items() if k != "error"}
                                  for f in sorted(failures, key=lambda f: f["page"])]
        return result

    def cancel(self, key: Hashable) -> None:
        """Stop the work of `key` now: its queued pages dropped, its busy workers replaced."""
        killed = self.pool.cancel(key)
        if killed:
            log.info("%s: cancelled; %d busy worker(s) replaced", key, killed)
