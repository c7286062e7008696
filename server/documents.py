"""A request's document: its bytes resolved from its URL, kept on disk per job.

Documents are written to the data directory before their job row exists, so a job never
points at bytes that are not there, and deleted when the job ends. Workers read them from
there; the document is never sent to a worker process.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from ocr_engine.sources import decode_data_url, is_data_url, sniff

from .errors import InsufficientStorage, is_disk_full
from .fetch import Fetcher

if TYPE_CHECKING:
    from .stores.base import DocumentStore

log = logging.getLogger(__name__)

# Which of some job ids belong to jobs that are still pending or processing.
Unfinished = Callable[[list[str]], Awaitable[set[str]]]


class Documents(Protocol):
    """Where jobs' documents are kept until their jobs end."""

    async def save(self, job_id: str, data: bytes) -> Path: ...

    async def save_file(self, job_id: str, path: Path) -> Path:
        """Keep a job's document written to `path` (on the documents' disk), moving it."""
        ...

    async def local_path(self, job_id: str) -> Path | None: ...

    async def delete(self, job_id: str) -> None:
        """Delete the document everywhere: its job has ended."""
        ...

    async def forget(self, job_id: str) -> None:
        """Delete this machine's copy only: another process carries on with the job."""
        ...

    async def sweep(
        self, unfinished: Unfinished, *, older_than: float, local_only: bool = False
    ) -> int:
        """Delete documents that belong to no unfinished job (left by a create that failed
        half-way or a crash) and were saved more than `older_than` seconds ago; how many.
        `local_only`: this machine's copies only, not those other nodes share."""
        ...


class DocumentSpool:
    """Document bytes on disk, one file per job, under `<data dir>/documents`: the documents
    of a single node, and every node's local copies."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._temp = root / "tmp"

    def open(self) -> None:
        self._temp.mkdir(parents=True, exist_ok=True)
        # Leftovers of synchronous requests cut short by a crash; they belong to no job.
        for stale in self._temp.iterdir():
            stale.unlink(missing_ok=True)

    def path(self, job_id: str) -> Path:
        return self.root / job_id

    @property
    def temp(self) -> Path:
        """Where partial files are written, on the same disk as the documents."""
        return self._temp

    def exists(self, job_id: str) -> bool:
        return self.path(job_id).exists()

    async def local_path(self, job_id: str) -> Path | None:
        """Where the job's document is on this machine, if it is stored."""
        path = self.path(job_id)
        return path if await asyncio.to_thread(path.exists) else None

    async def save(self, job_id: str, data: bytes) -> Path:
        """Write a job's document atomically."""
        return await asyncio.to_thread(self._write, self.path(job_id), data)

    async def save_file(self, job_id: str, path: Path) -> Path:
        target = self.path(job_id)
        await asyncio.to_thread(os.replace, path, target)
        return target

    def _write(self, path: Path, data: bytes) -> Path:
        return write_whole(path, data, temp=self._temp)

    def free_bytes(self) -> int:
        """Free space on the disk that holds the documents (blocking: call off the loop)."""
        return shutil.disk_usage(self.root).free

    async def sweep(
        self, unfinished: Unfinished, *, older_than: float, local_only: bool = False
    ) -> int:
        stale = await asyncio.to_thread(self._stale, time.time() - older_than)
        if not stale:
            return 0
        live = await unfinished(stale)
        orphans = [job_id for job_id in stale if job_id not in live]
        for job_id in orphans:
            await self.delete(job_id)
        return len(orphans)

    def _stale(self, before: float) -> list[str]:
        stale = []
        for entry in os.scandir(self.root):
            with contextlib.suppress(OSError):
                if entry.is_file(follow_symlinks=False) and entry.stat().st_mtime < before:
                    stale.append(entry.name)
        return stale

    async def delete(self, job_id: str) -> None:
        await asyncio.to_thread(self.path(job_id).unlink, missing_ok=True)

    forget = delete  # one node: its copy is the only one

    @asynccontextmanager
    async def scratch(self, data: bytes) -> AsyncIterator[Path]:
        """A temporary file for a synchronous request, removed when the request ends."""
        path = await asyncio.to_thread(self._write, self._temp / uuid.uuid4().hex, data)
        try:
            yield path
        finally:
            await asyncio.to_thread(path.unlink, missing_ok=True)


def write_whole(path: Path, data: bytes, *, temp: Path) -> Path:
    """Write `path` atomically, through a partial file in `temp` (on the same disk); a full
    disk is InsufficientStorage, and leaves nothing behind."""
    partial = temp / f"{path.name}.{uuid.uuid4().hex}.part"
    try:
        with open(partial, "wb") as f:
            f.write(data)
        os.replace(partial, path)
    except OSError as e:
        partial.unlink(missing_ok=True)
        if is_disk_full(e):
            raise InsufficientStorage() from None
        raise
    return path


class SharedDocuments:
    """Documents kept in the fleet's database, with a local copy on each node that reads one."""

    def __init__(self, store: DocumentStore, spool: DocumentSpool) -> None:
        self._store = store
        self._spool = spool

    async def save(self, job_id: str, data: bytes) -> Path:
        await self._store.save_document(job_id, data)
        return await self._spool.save(job_id, data)

    async def save_file(self, job_id: str, path: Path) -> Path:
        # The fleet's database takes a document whole.
        await self._store.save_document(job_id, await asyncio.to_thread(path.read_bytes))
        return await self._spool.save_file(job_id, path)

    async def local_path(self, job_id: str) -> Path | None:
        path = await self._spool.local_path(job_id)
        if path is not None:
            return path
        data = await self._store.load_document(job_id)
        return None if data is None else await self._spool.save(job_id, data)

    async def delete(self, job_id: str) -> None:
        await self._store.delete_document(job_id)
        await self._spool.delete(job_id)

    async def forget(self, job_id: str) -> None:
        await self._spool.delete(job_id)

    async def sweep(
        self, unfinished: Unfinished, *, older_than: float, local_only: bool = False
    ) -> int:
        local = await self._spool.sweep(unfinished, older_than=older_than)
        if local_only:
            return local
        return local + await self._store.delete_orphan_documents(older_than=older_than)


async def decode(
    url: str, *, max_bytes: int, param: str, payload: bytes | memoryview | str | None = None
) -> bytes:
    """Bytes of a data URL (decoded off the event loop), checked to be a PDF or an image."""
    data = await asyncio.to_thread(
        decode_data_url, url, max_bytes=max_bytes, param=param, payload=payload
    )
    sniff(data[:1024])
    return data


async def resolve(
    url: str, *, fetcher: Fetcher, param: str, payload: bytes | memoryview | str | None = None
) -> bytes:
    """A document's bytes from whichever kind of URL it came as."""
    if is_data_url(url):
        return await decode(url, max_bytes=fetcher.max_bytes, param=param, payload=payload)
    return await fetcher.fetch(url, param=param)
