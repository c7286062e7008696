"""Deleting what has outlived its use: expired jobs with their output files, documents no
unfinished job owns, and expired uploaded files."""

from __future__ import annotations

import asyncio
import logging

from ocr_engine import TesseraError

from .documents import Documents
from .files import Files
from .outputs import Outputs
from .stores import JobStore

log = logging.getLogger(__name__)

# A shared document older than this with no unfinished job was left by a create cut short
# or a crash; a younger one may belong to a create in flight on another node.
ORPHAN_AGE_S = 600.0


class Housekeeper:
    """Sweeps at start-up, then every `interval` seconds."""

    def __init__(
        self,
        *,
        store: JobStore,
        documents: Documents,
        outputs: Outputs,
        files: Files,
        interval: float,
    ) -> None:
        self._store = store
        self._files = files
        self._documents = documents
        self._outputs = outputs
        self._interval = interval
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        # Nothing is being created on this node yet, so any local document without an
        # unfinished job was left by the last run.
        orphans = await self._documents.sweep(self._store.unfinished, older_than=0, local_only=True)
        if orphans:
            log.info("deleted %d document(s) left by the last run that belong to no job", orphans)
        self._task = asyncio.create_task(self._loop(), name="tessera-housekeeping")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def sweep(self) -> None:
        """One round: expired jobs with their documents and output files, then orphaned
        documents, and output files of jobs another node deleted."""
        expired = await self._store.delete_expired()
        for job_id in expired:
            await self._documents.delete(job_id)
            await self._outputs.delete(job_id)
        if expired:
            log.info("deleted %d expired job(s)", len(expired))
        await self._outputs.sweep(self._store.live)
        orphans = await self._documents.sweep(self._store.unfinished, older_than=ORPHAN_AGE_S)
        if orphans:
            log.info("deleted %d document(s) that belonged to no job", orphans)
        if files := await self._files.sweep():
            log.info("deleted %d expired file(s)", files)

    async def _loop(self) -> None:
        while True:
            try:
                await self.sweep()
            except TesseraError:
                pass  # logged by the store; tried again later
            except Exception:
                # Any other failure of one round is logged and the round tried again: the
                # loop ending here would leave every later expiry undone, and the disk filling.
                log.exception("housekeeping failed; trying again in %g s", self._interval)
            await asyncio.sleep(self._interval)
