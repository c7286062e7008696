"""The Files API in the shapes of Mistral's SDK: upload, list, show, download, delete, and
signed URLs that serve one file without a key until they expire (`server.files`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import cast
from urllib.parse import quote

from aiohttp import BodyPartReader, MultipartReader, StreamReader, web
from aiohttp.http_exceptions import LineTooLong

from ocr_engine.errors import DocumentTooLarge, InvalidRequest

from .appkeys import FILES, SETTINGS
from .config import MB
from .downloads import send_file
from .files import (
    PURPOSES,
    SIGNED_URL_DEFAULT_HOURS,
    SIGNED_URL_MAX_HOURS,
    FileRecord,
)
from .wire import is_whole_number

routes = web.RouteTableDef()

_PART_CHUNK = 256 * 1024
_MAX_FIELD = 1024  # a form field other than the file
_MAX_BESIDE_FILE = MB  # an upload's body past its file: its other fields, parts' headers
# Lines of an upload: its parts' headers and boundaries, and any text around them (a few
# dozen in a real one). A line costs a call, however short: a million one-byte lines before
# the first boundary held the event loop for seconds.
_MAX_LINES = 10_000
_MAX_PAGE_SIZE = 1000
_CONTENT_ROUTE = "/v1/files/{file_id}/content"


def is_signed_download(request: web.Request) -> bool:
    """A download through a signed URL: it carries its own proof, not a key. Told by the
    route the request was matched to, not by its path as decoded: `/v1/files/{id}%2Fcontent`
    reads as a download's path, and is routed to the file's own routes (show, delete)."""
    resource = request.match_info.route.resource
    return (
        resource is not None
        and resource.canonical == _CONTENT_ROUTE
        and "signature" in request.query
    )


class _Bounded:
    """A request's body as the multipart reader reads it, refused once more than `limit`
    bytes (decompressed) or `_MAX_LINES` lines have arrived. The file's own limit bounds the
    file part only: the fields Tessera does not read, and the text before the first
    boundary, were read to their end, so a few MB of gzip held the server decompressing
    gigabytes."""

    def __init__(self, stream: StreamReader, limit: int) -> None:
        self._stream = stream
        self._limit = limit
        self._lines = 0

    async def read(self, n: int = -1) -> bytes:
        return self._checked(await self._stream.read(n))

    async def readline(self, *, max_line_length: int | None = None) -> bytes:
        self._lines += 1
        return self._checked(await self._stream.readline(max_line_length=max_line_length))

    def at_eof(self) -> bool:
        return self._stream.at_eof()

    def unread_data(self, data: bytes) -> None:
        self._stream.unread_data(data)

    def _checked(self, data: bytes) -> bytes:
        if self._stream.total_bytes > self._limit or self._lines > _MAX_LINES:
            raise DocumentTooLarge(
                f"The upload's body is larger than the limit of {self._limit} bytes, or "
                f"holds more than {_MAX_LINES} lines besides its file.",
                param="file",
            )
        return data


def _multipart(request: web.Request) -> MultipartReader:
    """The upload's parts, read within the file size limit and a little more."""
    body = _Bounded(request.content, request.app[FILES].max_bytes + _MAX_BESIDE_FILE)
    return MultipartReader(request.headers, cast(StreamReader, body))


async def _next_part(reader: MultipartReader) -> MultipartReader | BodyPartReader | None:
    try:
        return await reader.next()
    except RuntimeError:
        # aiohttp reads a first field named '_charset_' (RFC 7578, 4.6) as the form's charset,
        # and raises RuntimeError where it is longer than any charset's name: a 500.
        raise InvalidRequest(
            "The upload's '_charset_' field is not the name of a charset.", param="_charset_"
        ) from None


async def _part_chunks(part: BodyPartReader) -> AsyncIterator[bytes]:
    while chunk := await part.read_chunk(_PART_CHUNK):
        yield chunk


async def _field(part: BodyPartReader) -> str:
    data = await part.read_chunk(_MAX_FIELD + 1)
    if len(data) > _MAX_FIELD or await part.read_chunk(1):
        raise InvalidRequest(f"The form field '{part.name}' is too long.", param=part.name)
    try:
        return data.decode().strip()
    except UnicodeDecodeError:
        raise InvalidRequest(
            f"The form field '{part.name}' is not text.", param=part.name
        ) from None


def _hours(value: str, param: str, *, low: int, high: int) -> int:
    if not is_whole_number(value) or not low <= int(value) <= high:
        raise InvalidRequest(f"'{param}' is a number of hours from {low} to {high}.", param=param)
    return int(value)


@routes.post("/v1/files")
async def upload(request: web.Request) -> web.Response:
    """Upload a file (multipart: `file`, `purpose`, optional `expiry` in hours), streamed
    to disk as it arrives."""
    files = request.app[FILES]
    if not request.content_type.startswith("multipart/"):
        raise InvalidRequest(
            "Upload a file as multipart/form-data with the fields 'file' and 'purpose'.",
            param="file",
        )
    fields: dict[str, str] = {}
    partial: Path | None = None
    filename = "file"
    mimetype: str | None = None
    try:
        try:
            reader = _multipart(request)
            while (part := await _next_part(reader)) is not None:
                if not isinstance(part, BodyPartReader):
                    raise InvalidRequest("Nested multipart bodies are not accepted.", param="file")
                if part.name == "file":
                    if partial is not None:
                        raise InvalidRequest("Upload one file per request.", param="file")
                    filename = part.filename or filename
                    mimetype = part.headers.get("Content-Type")
                    partial = await files.spool(_part_chunks(part))
                elif part.name in ("purpose", "expiry", "visibility"):
                    fields[part.name] = await _field(part)
                else:
                    await part.release()
        except LineTooLong:
            raise InvalidRequest(
                "A part of the upload has headers over 8 KB; a file's name must be shorter.",
                param="file",
            ) from None
        except ValueError:
            # aiohttp's reader: no boundary, a boundary never met, a body cut short.
            raise InvalidRequest(
                "The upload is not a well-formed multipart/form-data body: check its "
                "boundary and that the body is whole.",
                param="file",
            ) from None
        if partial is None:
            raise InvalidRequest("The upload has no 'file' field.", param="file")
        purpose = fields.get("purpose") or "ocr"
        expiry = fields.get("expiry")
        max_hours = request.app[SETTINGS].file_ttl // 3600
        record = await files.accept(
            request["owner"],
            partial,
            filename=filename,
            purpose=purpose,
            mimetype=mimetype,
            expiry_hours=_hours(expiry, "expiry", low=1, high=max(1, max_hours))
            if expiry
            else None,
        )
    finally:
        if partial is not None:
            partial.unlink(missing_ok=True)
    return web.json_response(record.wire())


@routes.get("/v1/files")
async def list_files(request: web.Request) -> web.Response:
    query = request.query
    purpose = query.get("purpose") or None
    if purpose is not None and purpose not in PURPOSES:
        raise InvalidRequest(f"'purpose' is one of {', '.join(PURPOSES)}.", param="purpose")
    page = whole_number(query.get("page", "0"), "page", 0, 1_000_000)
    page_size = whole_number(query.get("page_size", "100"), "page_size", 1, _MAX_PAGE_SIZE)
    records, total = await request.app[FILES].list(
        request["owner"], purpose=purpose, page=page, page_size=page_size
    )
    return web.json_response(
        {"data": [r.wire() for r in records], "object": "list", "total": total}
    )


def whole_number(value: str, param: str, low: int, high: int) -> int:
    """A query parameter that must be a whole number within bounds."""
    if not is_whole_number(value) or not low <= int(value) <= high:
        raise InvalidRequest(f"'{param}' is a whole number from {low} to {high}.", param=param)
    return int(value)


@routes.get("/v1/files/{file_id}")
async def show(request: web.Request) -> web.Response:
    record = await request.app[FILES].get(request["owner"], request.match_info["file_id"])
    return web.json_response({**record.wire(), "deleted": False})


@routes.get("/v1/files/{file_id}/content")
async def download(request: web.Request) -> web.StreamResponse:
    """The file's bytes: with the owner's key, or through a signed URL without one."""
    files = request.app[FILES]
    file_id = request.match_info["file_id"]
    record: FileRecord
    if is_signed_download(request):
        record = await files.by_signature(
            file_id, request.query.get("expires", ""), request.query["signature"]
        )
    else:
        record = await files.get(request["owner"], file_id)
    path = await files.local_path(record)
    return await send_file(
        request,
        path,
        {
            # As Mistral's: the SDK takes the bytes as they are, whatever they hold.
            "Content-Type": "application/octet-stream",
            "Content-Disposition": attachment(record.filename),
        },
    )


def attachment(filename: str) -> str:
    """A Content-Disposition naming the file (RFC 6266): its name in ASCII for any client,
    and whole in UTF-8 for those that read `filename*` (headers are Latin-1 to most)."""
    ascii_name = "".join(c if " " <= c <= "~" and c not in '"\\' else "_" for c in filename)
    if ascii_name == filename:
        return f'attachment; filename="{filename}"'
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}"


@routes.delete("/v1/files/{file_id}")
async def delete(request: web.Request) -> web.Response:
    file_id = request.match_info["file_id"]
    await request.app[FILES].delete(request["owner"], file_id)
    return web.json_response({"id": file_id, "object": "file", "deleted": True})


@routes.get("/v1/files/{file_id}/url")
async def signed_url(request: web.Request) -> web.Response:
    """A URL that serves this one file without a key for `expiry` hours (default 24)."""
    files = request.app[FILES]
    record = await files.get(request["owner"], request.match_info["file_id"])
    expiry = request.query.get("expiry", str(SIGNED_URL_DEFAULT_HOURS))
    hours = _hours(expiry, "expiry", low=1, high=SIGNED_URL_MAX_HOURS)
    base = request.app[SETTINGS].public_url or f"{request.scheme}://{request.host}"
    return web.json_response({"url": base.rstrip("/") + files.signed_path(record, hours)})
