"""A request's document: its bytes resolved from a data or http(s) URL, kept on disk per job.

Documents are written to the data directory before their job row exists, so a job never
points at bytes that are not there, and deleted when the job ends. Workers read them from
there; the document is never sent to a worker process.
"""

from __future__ import annotations

import asyncio
import logging
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp

from ocr_engine.errors import DocumentTooLarge, InvalidRequest
from ocr_engine.sources import decode_data_url, is_data_url, sniff

log = logging.getLogger(__name__)

_MAX_REDIRECTS = 3
_CHUNK = 256 * 1024


class FetchFailed(InvalidRequest):
    code = "document_fetch_failed"


class DocumentSpool:
    """Document bytes on disk, one file per job, under `<data dir>/documents`."""

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

    def exists(self, job_id: str) -> bool:
        return self.path(job_id).exists()

    async def save(self, job_id: str, data: bytes) -> Path:
        """Write a job's document atomically."""
        return await asyncio.to_thread(self._write, self.path(job_id), data)

    def _write(self, path: Path, data: bytes) -> Path:
        partial = self._temp / f"{path.name}.{uuid.uuid4().hex}.part"
        with open(partial, "wb") as f:
            f.write(data)
        os.replace(partial, path)
        return path

    async def delete(self, job_id: str) -> None:
        await asyncio.to_thread(self.path(job_id).unlink, missing_ok=True)

    @asynccontextmanager
    async def scratch(self, data: bytes) -> AsyncIterator[Path]:
        """A temporary file for a synchronous request, removed when the request ends."""
        path = self._temp / uuid.uuid4().hex
        await asyncio.to_thread(self._write_plain, path, data)
        try:
            yield path
        finally:
            await asyncio.to_thread(path.unlink, missing_ok=True)

    @staticmethod
    def _write_plain(path: Path, data: bytes) -> None:
        path.write_bytes(data)


def check_url(url: str, *, param: str) -> None:
    """Refuse URLs Tessera cannot resolve, before any job is created."""
    if is_data_url(url):
        return
    scheme = url.split(":", 1)[0].lower() if ":" in url else ""
    if scheme not in ("http", "https"):
        raise InvalidRequest("The document URL must be a data: URL or an http(s):// URL.",
                             param=param)


async def decode(url: str, *, max_bytes: int, param: str) -> bytes:
    """Bytes of a data URL (decoded off the event loop), checked to be a PDF or an image."""
    data = await asyncio.to_thread(decode_data_url, url, max_bytes=max_bytes, param=param)
    sniff(data[:1024])
    return data


async def fetch(url: str, *, session: aiohttp.ClientSession, max_bytes: int, timeout: float,
                param: str) -> bytes:
    """Download an http(s) document, streaming, within the size limit and timeout."""
    try:
        async with session.get(url, allow_redirects=True, max_redirects=_MAX_REDIRECTS,
                               timeout=aiohttp.ClientTimeout(total=timeout)) as response:
            if response.status >= 400:
                raise FetchFailed(f"Fetching the document answered HTTP {response.status}.",
                                  param=param)
            if (response.content_length or 0) > max_bytes:
                raise DocumentTooLarge(
                    f"The document is larger than the limit of {max_bytes} bytes.", param=param)
            chunks: list[bytes] = []
            size = 0
            async for chunk in response.content.iter_chunked(_CHUNK):
                size += len(chunk)
                if size > max_bytes:
                    raise DocumentTooLarge(
                        f"The document is larger than the limit of {max_bytes} bytes.",
                        param=param)
                chunks.append(chunk)
    except aiohttp.TooManyRedirects:
        raise FetchFailed(f"Fetching the document took more than {_MAX_REDIRECTS} redirects.",
                          param=param) from None
    except (aiohttp.ClientError, TimeoutError) as e:
        raise FetchFailed(f"The document could not be fetched: {type(e).__name__}.",
                          param=param) from None
    data = b"".join(chunks)
    if not data:
        raise FetchFailed("The document URL answered with no content.", param=param)
    sniff(data[:1024])
    return data


async def resolve(url: str, *, session: aiohttp.ClientSession, max_bytes: int, timeout: float,
                  param: str) -> bytes:
    """A document's bytes from whichever kind of URL it came as."""
    if is_data_url(url):
        return await decode(url, max_bytes=max_bytes, param=param)
    check_url(url, param=param)
    return await fetch(url, session=session, max_bytes=max_bytes, timeout=timeout, param=param)
