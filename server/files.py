"""Uploaded files (Mistral's Files API): documents to read and batch input, and batch output.

A file's bytes arrive as a stream and go to disk as they come, under `<data dir>/files`;
nothing holds a whole file in memory. On a fleet they are also copied into the database in
chunks of `CHUNK` bytes, so every node can read every file: a node without its own copy
fetches one, chunk by chunk, the first time it needs it. A file's row says who owns it,
its purpose, and when it expires; expired files are deleted by the housekeeper.

A signed URL names one file and an expiry, signed with that file's own secret: it can be
used without a key until it expires, and only for that file, and dies with the file.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import os
import secrets
import shutil
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from ocr_engine.errors import DocumentTooLarge, InvalidRequest, TesseraError
from ocr_engine.sources import sniff

from .bodies import check_values
from .errors import InsufficientStorage, NotFound, is_disk_full
from .jobs import now
from .stores.records import Sql
from .wire import is_whole_number

log = logging.getLogger(__name__)

CHUNK = 1024 * 1024
PURPOSES = ("ocr", "batch")
SIGNED_URL_MAX_HOURS = 168  # as Mistral's: one hour to a week
SIGNED_URL_DEFAULT_HOURS = 24
_SNIFF_BYTES = 1024
_ORPHAN_AGE_S = 600.0  # a local copy with no row, older than this, is of a deleted file
_SWEEP_SLICE = 500  # local copies looked up in one statement
_BATCH_LINE_MAX = 64 * 1024 * 1024  # one request of a batch input, its document included


class FileNotFound(NotFound):
    code = "file_not_found"


@dataclass
class FileRecord:
    """One row of the files table."""

    id: str
    owner: str
    purpose: str
    filename: str
    bytes: int
    mimetype: str | None
    num_lines: int | None
    sample_type: str
    created_at: float
    expires_at: float | None
    secret: str

    def wire(self) -> dict[str, Any]:
        """The file as Mistral's API shows it."""
        return {
            "id": self.id,
            "object": "file",
            "bytes": self.bytes,
            "created_at": int(self.created_at),
            "filename": self.filename,
            "purpose": self.purpose,
            "sample_type": self.sample_type,
            # "upload" for what a client sent, "mistral" for what the service wrote.
            "source": "upload" if self.sample_type in ("ocr_input", "batch_request") else "mistral",
            "num_lines": self.num_lines,
            "mimetype": self.mimetype,
            "signature": None,
            "expires_at": int(self.expires_at) if self.expires_at else None,
            "visibility": "workspace",
        }


_COLUMNS = tuple(f.name for f in fields(FileRecord))


def _record(row: dict[str, Any]) -> FileRecord:
    return FileRecord(**{name: row[name] for name in _COLUMNS})


class Files:
    """The files of every owner: rows in the job store's database, bytes on disk (and, on a
    fleet, in the database too)."""

    def __init__(
        self, sql: Sql, root: Path, *, shared: bool, max_bytes: int, ttl: int, min_free: int
    ) -> None:
        self._sql = sql
        self._table = f"{sql.prefix}files"
        self._chunks = f"{sql.prefix}file_chunks"
        self.root = root
        self._temp = root / "tmp"
        self._shared = shared
        self.max_bytes = max_bytes
        self.ttl = ttl
        self._min_free = min_free

    def open(self) -> None:
        self._temp.mkdir(parents=True, exist_ok=True)
        for stale in self._temp.iterdir():  # partial uploads cut short by a crash
            stale.unlink(missing_ok=True)

    def path(self, file_id: str) -> Path:
        return self.root / file_id

    # -- writing --------------------------------------------------------------------------

    async def accept(
        self,
        owner: str,
        partial: Path,
        *,
        filename: str,
        purpose: str,
        mimetype: str | None,
        expiry_hours: int | None = None,
    ) -> FileRecord:
        """Keep an upload spooled to `partial` (see `spool`), once it is checked for its
        purpose: a PDF or an image for "ocr", JSONL requests for "batch". The partial file
        is gone afterwards, kept or not."""
        try:
            if purpose not in PURPOSES:
                raise InvalidRequest(
                    f"A file's purpose is one of {', '.join(PURPOSES)}, not '{purpose}'.",
                    param="purpose",
                )
            num_lines = None
            if purpose == "ocr":
                mimetype = await asyncio.to_thread(_sniff_file, partial)
                sample_type = "ocr_input"
            else:
                num_lines = await asyncio.to_thread(check_batch_input, partial)
                mimetype = mimetype or "application/jsonl"
                sample_type = "batch_request"
            # An expiry asks for fewer hours than the operator keeps files, never for more.
            ttl = self.ttl if expiry_hours is None else min(self.ttl, expiry_hours * 3600)
            return await self.keep(
                owner,
                partial,
                filename=filename,
                purpose=purpose,
                mimetype=mimetype,
                num_lines=num_lines,
                sample_type=sample_type,
                ttl=ttl,
            )
        finally:
            partial.unlink(missing_ok=True)

    async def spool(self, chunks: AsyncIterator[bytes]) -> Path:
        """The stream written to a partial file, within the size limit; the caller removes it."""
        free = await asyncio.to_thread(lambda: shutil.disk_usage(self.root).free)
        if free < self._min_free:
            raise InsufficientStorage()
        partial = self._temp / f"{uuid.uuid4().hex}.part"
        size = 0
        try:
            with open(partial, "wb") as out:
                async for chunk in chunks:
                    size += len(chunk)
                    if size > self.max_bytes:
                        raise DocumentTooLarge(
                            f"The file is larger than the limit of {self.max_bytes} bytes.",
                            param="file",
                        )
                    await asyncio.to_thread(out.write, chunk)
        except OSError as e:
            partial.unlink(missing_ok=True)
            if is_disk_full(e):
                raise InsufficientStorage() from None
            raise
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        return partial

    async def keep(
        self,
        owner: str,
        partial: Path,
        *,
        filename: str,
        purpose: str,
        mimetype: str | None,
        num_lines: int | None,
        sample_type: str,
        ttl: int | None,
    ) -> FileRecord:
        """Keep a file written to `partial` (moved, not copied) as a new file of `owner`."""
        file_id = str(uuid.uuid4())
        created = now()
        record = FileRecord(
            id=file_id,
            owner=owner,
            purpose=purpose,
            filename=_safe_name(filename),
            bytes=partial.stat().st_size,
            mimetype=mimetype,
            num_lines=num_lines,
            sample_type=sample_type,
            created_at=created,
            expires_at=created + ttl if ttl else None,
            secret=secrets.token_hex(16),
        )
        await asyncio.to_thread(os.replace, partial, self.path(file_id))
        try:
            # The row first, then (on a fleet) the chunks: chunks never outlive their row,
            # which the expiry and a delete both remove with them. Until the last chunk is in,
            # another node reading the file finds it incomplete.
            await self._sql.execute(
                f"INSERT INTO {self._table} ({', '.join(_COLUMNS)})"
                f" VALUES ({', '.join('?' * len(_COLUMNS))})",
                *(getattr(record, name) for name in _COLUMNS),
            )
            if self._shared:
                await self._upload_chunks(file_id, self.path(file_id))
        except BaseException:
            await self._sql.execute(f"DELETE FROM {self._table} WHERE id = ?", file_id)
            await self._remove(file_id)
            raise
        log.info("file %s: kept (%d bytes, purpose %s)", file_id, record.bytes, purpose)
        return record

    async def _upload_chunks(self, file_id: str, path: Path) -> None:
        with open(path, "rb") as source:
            seq = 0
            while chunk := await asyncio.to_thread(source.read, CHUNK):
                await self._sql.execute(
                    f"INSERT INTO {self._chunks} (file_id, seq, data) VALUES (?, ?, ?)",
                    file_id,
                    seq,
                    chunk,
                )
                seq += 1

    # -- reading --------------------------------------------------------------------------

    async def get(self, owner: str, file_id: str) -> FileRecord:
        """The owner's file, not expired, or FileNotFound."""
        record = await self.find(file_id)
        if record is None or record.owner != owner:
            raise FileNotFound(f"No file with id '{file_id}' was found.", param="file_id")
        return record

    async def find(self, file_id: str) -> FileRecord | None:
        """A file by id alone, not expired: for signed URLs and for jobs reading one."""
        rows = await self._sql.fetch(
            f"SELECT {', '.join(_COLUMNS)} FROM {self._table}"
            " WHERE id = ? AND (expires_at IS NULL OR expires_at > ?)",
            file_id,
            now(),
        )
        return _record(rows[0]) if rows else None

    async def list(
        self, owner: str, *, purpose: str | None, page: int, page_size: int
    ) -> tuple[list[FileRecord], int]:
        """One page of the owner's files, newest first, and how many there are in all."""
        where = "owner = ? AND (expires_at IS NULL OR expires_at > ?)"
        args: list[Any] = [owner, now()]
        if purpose:
            where += " AND purpose = ?"
            args.append(purpose)
        total = await self._sql.fetch(
            f"SELECT count(*) AS n FROM {self._table} WHERE {where}", *args
        )
        rows = await self._sql.fetch(
            f"SELECT {', '.join(_COLUMNS)} FROM {self._table} WHERE {where}"
            " ORDER BY created_at DESC, id LIMIT ? OFFSET ?",
            *args,
            page_size,
            page * page_size,
        )
        return [_record(r) for r in rows], int(total[0]["n"])

    async def local_path(self, record: FileRecord) -> Path:
        """Where the file's bytes are on this node; fetched from the fleet's database first
        if this node has no copy."""
        path = self.path(record.id)
        if await asyncio.to_thread(path.exists):
            return path
        if not self._shared:
            raise FileNotFound(f"The file '{record.id}' has no content any more.", param="file_id")
        partial = self._temp / f"{record.id}.{uuid.uuid4().hex}.part"
        try:
            with open(partial, "wb") as out:
                seq = 0
                while rows := await self._sql.fetch(
                    f"SELECT data FROM {self._chunks} WHERE file_id = ? AND seq = ?",
                    record.id,
                    seq,
                ):
                    await asyncio.to_thread(out.write, bytes(rows[0]["data"]))
                    seq += 1
            if partial.stat().st_size != record.bytes:
                raise FileNotFound(
                    f"The file '{record.id}' is incomplete in the store.", param="file_id"
                )
            await asyncio.to_thread(os.replace, partial, path)
        finally:
            partial.unlink(missing_ok=True)
        return path

    # -- signed URLs ----------------------------------------------------------------------

    def signed_path(self, record: FileRecord, hours: int) -> str:
        """The path and query of a URL that serves the file without a key for `hours`."""
        expires = int(now()) + hours * 3600
        return (
            f"/v1/files/{record.id}/content?expires={expires}"
            f"&signature={_signature(record, expires)}"
        )

    async def by_signature(self, file_id: str, expires: str, signature: str) -> FileRecord:
        """The file a signed URL names, if its signature holds and it has not expired."""
        record = await self.find(file_id)
        valid = (
            record is not None
            and is_whole_number(expires)
            and int(expires) >= now()
            and signature.isascii()
            and hmac.compare_digest(signature, _signature(record, int(expires)))
        )
        if not valid or record is None:
            raise FileNotFound(
                "The signed URL is not valid, or has expired, or its file is gone.",
                param="signature",
            )
        return record

    async def from_signed_url(self, url: str) -> FileRecord | None:
        """The file behind a URL if it is one of this service's signed file URLs (whatever
        host it names); None for any other URL."""
        try:
            parts = urlsplit(url)
        except ValueError:
            return None  # not a URL at all: the fetcher's checks say why
        segments = parts.path.rstrip("/").split("/")
        if len(segments) < 5 or segments[-4:-2] != ["v1", "files"] or segments[-1] != "content":
            return None
        query = parse_qs(parts.query)
        if "signature" not in query or "expires" not in query:
            return None
        return await self.by_signature(segments[-2], query["expires"][0], query["signature"][0])

    # -- deleting -------------------------------------------------------------------------

    async def delete(self, owner: str, file_id: str) -> None:
        await self.get(owner, file_id)
        await self._sql.execute(
            f"DELETE FROM {self._table} WHERE id = ? AND owner = ?", file_id, owner
        )
        await self._remove(file_id)
        log.info("file %s: deleted", file_id)

    async def _remove(self, file_id: str) -> None:
        if self._shared:
            await self._sql.execute(f"DELETE FROM {self._chunks} WHERE file_id = ?", file_id)
        await asyncio.to_thread(self.path(file_id).unlink, missing_ok=True)

    async def sweep(self) -> int:
        """Delete expired files everywhere, and this node's copies of files that are gone."""
        expired = await self._sql.fetch(
            f"DELETE FROM {self._table} WHERE expires_at IS NOT NULL AND expires_at <= ?"
            " RETURNING id",
            now(),
        )
        for row in expired:
            await self._remove(row["id"])
        # A copy younger than that may be of a file whose row is being written right now.
        settled = now() - _ORPHAN_AGE_S
        local = await asyncio.to_thread(
            lambda: [
                p.name for p in self.root.iterdir() if p.is_file() and p.stat().st_mtime < settled
            ]
        )
        # Looked up a slice at a time: one statement binds only so many values (on a fleet,
        # a node holding 10,000 files could not ask about them, and stopped sweeping).
        for start in range(0, len(local), _SWEEP_SLICE):
            names = local[start : start + _SWEEP_SLICE]
            known = {
                r["id"]
                for r in await self._sql.fetch(
                    f"SELECT id FROM {self._table} WHERE id IN ({', '.join('?' * len(names))})",
                    *names,
                )
            }
            for name in names:
                if name not in known:
                    await asyncio.to_thread(self.path(name).unlink, missing_ok=True)
        return len(expired)


def _signature(record: FileRecord, expires: int) -> str:
    message = f"{record.id}.{expires}".encode()
    return hmac.new(record.secret.encode(), message, hashlib.sha256).hexdigest()


def _safe_name(name: str) -> str:
    """A file name to show: its last path part, printable, at most 255 characters."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    shown = "".join(c for c in base if c.isprintable())[:255]
    return shown or "file"


def _sniff_file(path: Path) -> str:
    with open(path, "rb") as f:
        head = f.read(_SNIFF_BYTES)
    try:
        return sniff(head).mime
    except TesseraError as e:
        raise InvalidRequest(
            f"A file for OCR must be a PDF or an image: {e.message}", param="file"
        ) from None


def check_batch_input(path: Path) -> int:
    """How many requests a batch input file holds: one JSON object with a `body` per
    non-empty line. A line that is not one is refused with its number."""
    count = 0
    with open(path, "rb") as f:
        for number, line in enumerate(iter_lines(f), start=1):
            if not line.strip():
                continue
            check_values(line, what=f"Line {number} of the batch file", param="file")
            try:
                value = json.loads(line)
            except (ValueError, RecursionError):
                raise InvalidRequest(
                    f"Line {number} of the batch file is not JSON.", param="file"
                ) from None
            if not isinstance(value, dict) or not isinstance(value.get("body"), dict):
                raise InvalidRequest(
                    f"Line {number} of the batch file is not an object with a 'body'.",
                    param="file",
                )
            count += 1
    if not count:
        raise InvalidRequest("The batch file holds no requests.", param="file")
    return count


def iter_lines(f: Any) -> Any:
    """The lines of a binary file, each at most `_BATCH_LINE_MAX` bytes."""
    while True:
        line = f.readline(_BATCH_LINE_MAX + 1)
        if not line:
            return
        if len(line) > _BATCH_LINE_MAX and not line.endswith(b"\n"):
            raise DocumentTooLarge(
                f"A line of the batch file is longer than {_BATCH_LINE_MAX} bytes.", param="file"
            )
        yield line
