"""Files sent as they are on disk (output files, page pictures, uploads, the web page), with
aiohttp's ranges and conditional requests, and its refusals in the error shape.

aiohttp's `FileResponse` answers a `Range` it cannot satisfy (416), a failed
`If-Unmodified-Since` or `If-Match` (412), and a file gone since the route found it (404)
by itself, with an empty body, while the response is prepared: after the routes and the
error middleware have run. Prepared here inside the route instead, such a refusal is raised
before a byte is sent, as the service's own error.
"""

from __future__ import annotations

from pathlib import Path

from aiohttp import web
from aiohttp.abc import AbstractStreamWriter
from aiohttp.web_request import BaseRequest

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
    await response.prepare(request)
    return response
