"""A completed job's output files (searchable PDF, hOCR, ALTO, text), kept for its TTL.

A job's files are written by a worker into a folder of their own, `<data dir>/outputs/<id>/`,
one file per format. On a fleet they are copied into the database too, so that any node can
answer for them; a node that has no copy fetches it once and serves it from disk after.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from .documents import write_whole

if TYPE_CHECKING:
    from .stores.base import OutputStore

# Which of some job ids belong to jobs that still exist.
Live = Callable[[list[str]], Awaitable[set[str]]]


class Outputs(Protocol):
    """Where jobs' output files are kept."""

    def scratch(self) -> AbstractAsyncContextManager[Path]:
        """A new empty folder for a worker to write a job's files into, removed after."""
        ...

    async def keep(self, job_id: str, scratch: Path, formats: list[str]) -> None:
        """Keep the files of `formats` written in `scratch` as the job's."""
        ...

    async def local_path(self, job_id: str, fmt: str) -> Path | None:
        """The job's file of format `fmt` on this machine, fetched first if need be."""
        ...

    async def delete(self, job_id: str) -> None:
        """This machine's copy of the job's files: the job expired (the store deletes its own
        copy with the job)."""
        ...

    async def sweep(self, live: Live) -> int:
        """Delete the local files of jobs that are gone (expired on another node); how many
        jobs' files."""
        ...


class OutputSpool:
    """Output files on disk: all of a single node's, and each node's local copies."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._temp = root / "tmp"

    def open(self) -> None:
        """Make the folders; scratch folders left by a crash belong to no job."""
        self._temp.mkdir(parents=True, exist_ok=True)
        for stale in self._temp.iterdir():
            shutil.rmtree(stale, ignore_errors=True)

    @asynccontextmanager
    async def scratch(self) -> AsyncIterator[Path]:
        path = self._temp / uuid.uuid4().hex
        await asyncio.to_thread(path.mkdir)
        try:
            yield path
        finally:
            await asyncio.to_thread(shutil.rmtree, path, True)

    def folder(self, job_id: str) -> Path:
        return self.root / job_id

    async def keep(self, job_id: str, scratch: Path, formats: list[str]) -> None:
        await asyncio.to_thread(self._move, job_id, scratch, formats)

    def _move(self, job_id: str, scratch: Path, formats: list[str]) -> None:
        folder = self.folder(job_id)
        # A job run again (after a crash) replaces what an earlier run kept.
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir()
        for fmt in formats:
            os.replace(scratch / fmt, folder / fmt)

    async def local_path(self, job_id: str, fmt: str) -> Path | None:
        path = self.folder(job_id) / fmt
        return path if await asyncio.to_thread(path.is_file) else None

    async def save(self, job_id: str, fmt: str, data: bytes) -> Path:
        """A copy of a file kept elsewhere, written whole or not at all."""
        return await asyncio.to_thread(self._write, job_id, fmt, data)

    def _write(self, job_id: str, fmt: str, data: bytes) -> Path:
        folder = self.folder(job_id)
        folder.mkdir(exist_ok=True)
        return write_whole(folder / fmt, data, temp=self._temp)

    async def delete(self, job_id: str) -> None:
        await asyncio.to_thread(shutil.rmtree, self.folder(job_id), True)

    async def sweep(self, live: Live) -> int:
        kept = await asyncio.to_thread(self._job_folders)
        if not kept:
            return 0
        alive = await live(kept)
        gone = [job_id for job_id in kept if job_id not in alive]
        for job_id in gone:
            await self.delete(job_id)
        return len(gone)

    def _job_folders(self) -> list[str]:
        found = []
        for entry in os.scandir(self.root):
            with contextlib.suppress(OSError):
                if entry.is_dir(follow_symlinks=False) and entry.path != str(self._temp):
                    found.append(entry.name)
        return found


class SharedOutputs:
    """Output files kept in the fleet's database, with a local copy on each node that serves
    one."""

    def __init__(self, store: OutputStore, spool: OutputSpool) -> None:
        self._store = store
        self._spool = spool

    def scratch(self) -> AbstractAsyncContextManager[Path]:
        return self._spool.scratch()

    async def keep(self, job_id: str, scratch: Path, formats: list[str]) -> None:
        for fmt in formats:
            data = await asyncio.to_thread((scratch / fmt).read_bytes)
            await self._store.save_output(job_id, fmt, data)
        await self._spool.keep(job_id, scratch, formats)

    async def local_path(self, job_id: str, fmt: str) -> Path | None:
        path = await self._spool.local_path(job_id, fmt)
        if path is not None:
            return path
        data = await self._store.load_output(job_id, fmt)
        return None if data is None else await self._spool.save(job_id, fmt, data)

    async def delete(self, job_id: str) -> None:
        await self._spool.delete(job_id)

    async def sweep(self, live: Live) -> int:
        return await self._spool.sweep(live)
