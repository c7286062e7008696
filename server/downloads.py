"""Files sent as they are on disk (output files, page pictures, uploads, the web page), with
aiohttp's ranges and conditional requests, and its refusals in the error shape.

aiohttp's `FileResponse` answers a `Range` it cannot satisfy (416), a failed
`If-Unmodified-Since` or `If-Match` (412), and a file gone since the route found it (404)
by itself, with an empty body, while the response is prepared: after the routes and the
error middleware have run. Prepared here inside the route instead, such a refusal is raised
before a byte is sent, as the service's own error.

aiohttp serves one range of bytes and refuses any other `Range` (416). RFC 9110 (14.2) has a
server ignore a range unit it does not know ("items=0-1") and lets it ignore a request for
several ranges: the whole file is sent for both, and a unit in capitals ("BYTES=1-3") is
the bytes unit.

aiohttp reads `If-Range` as a date only, and honours the range when it is an entity tag,
the validator its own `ETag` hands clients to resume with: a client resuming a file that
changed got a part of the new one to join to its part of the old. An entity tag is compared
here, strongly (RFC 9110, 13.1.5), and a validator that does not match, or cannot be read,
sends the whole file.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from aiohttp import hdrs, web
from aiohttp.abc import AbstractStreamWriter
from aiohttp.helpers import parse_http_date
from aiohttp.web_request import BaseRequest
from multidict import CIMultiDict

from ocr_engine import TesseraError

from .errors import NotFound, PreconditionFailed, RangeNotSatisfiable


def _refusal(status: int) -> TesseraError:
    if status == 416:
        return RangeNotSatisfiable(
            "The Range header asks for bytes the file does not have, or cannot be read.",
            param="Range",
        )
    if status == 412:
        return PreconditionFailed("The file does not meet the request's preconditions.")
    return NotFound("The file is no longer there.")


class _Download(web.FileResponse):
    def set_status(self, status: int, reason: str | None = None) -> None:
        if status >= 400:  # before the status line is written: the middleware answers
            raise _refusal(status)
        super().set_status(status, reason)

    async def prepare(self, request: BaseRequest) -> AbstractStreamWriter | None:
        # aiohttp prepares the route's answer again once the route returns; it is sent.
        if self.prepared:
            return None
        return await super().prepare(request)


async def send_file(
    request: web.Request, path: Path, headers: dict[str, str]
) -> web.StreamResponse:
    """The file at `path` as the answer to `request`, sent now."""
    response = _Download(path, headers=headers)
    request = _with_bytes_range(request)
    if hdrs.RANGE in request.headers and hdrs.IF_RANGE in request.headers:
        request = await _with_if_range(request, path)
    await response.prepare(request)
    return response


async def _with_if_range(request: web.Request, path: Path) -> web.Request:
    """The request without its Range when its `If-Range` does not hold for the file now."""
    validator = request.headers[hdrs.IF_RANGE].strip()
    if validator.startswith(('"', "W/")):
        try:
            info = await asyncio.to_thread(path.stat)
        except OSError:
            return request  # gone: aiohttp answers 404
        # aiohttp's ETag; a weak tag never matches strongly.
        holds = validator == f'"{info.st_mtime_ns:x}-{info.st_size:x}"'
    else:
        holds = parse_http_date(validator) is not None  # a date: aiohttp compares it
    if holds:
        return request
    headers = CIMultiDict(request.headers)
    del headers[hdrs.RANGE]
    return request.clone(headers=headers)


def _with_bytes_range(request: web.Request) -> web.Request:
    """The request as aiohttp should see it: its Range a single range of bytes, or none.
    The last no bytes ("bytes=-0") is a range no file can satisfy (RFC 9110), where aiohttp
    sends the whole file as a part."""
    value = request.headers.get(hdrs.RANGE)
    if value is None:
        return request
    unit, _, ranges = value.partition("=")
    spec = ranges.strip()
    one_of_bytes = unit.strip().lower() == "bytes" and "," not in spec
    if one_of_bytes and spec[:1] == "-" and _is_zero(spec[1:]):
        raise _refusal(416)
    if one_of_bytes and unit == "bytes":
        return request
    headers = CIMultiDict(request.headers)
    if one_of_bytes:
        headers[hdrs.RANGE] = f"bytes={spec}"
    else:
        del headers[hdrs.RANGE]  # another unit, or several ranges: the whole file
    return request.clone(headers=headers)


def _is_zero(text: str) -> bool:
    """Whether a range's number is zero, in ASCII digits: "²" is a digit to `str.isdigit`
    but no number to `int`, and `int` refuses more than 4,300 digits; both answered 500."""
    return bool(text) and text.isascii() and text.isdigit() and not text.strip("0")
