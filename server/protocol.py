"""Requests aiohttp refuses before any route sees them, answered in the error shape.

aiohttp answers a malformed request (a bad Content-Length, broken chunked framing, headers
too long, a Content-Encoding it cannot read) from its connection handler, in plain text, and
an `Expect` header it does not meet before the middlewares run. Here that handler renders the
same refusals as Bifrost errors, so a client parses one shape whatever went wrong.
"""

from __future__ import annotations

import json
import logging

from aiohttp import web
from aiohttp.http_exceptions import ContentEncodingError, LineTooLong, PayloadEncodingError
from aiohttp.web_protocol import RequestHandler
from aiohttp.web_request import BaseRequest

from ocr_engine import TesseraError
from ocr_engine.errors import DocumentTooLarge, InternalError, InvalidRequest

from .errors import UnsupportedEncoding
from .wire import error_body

log = logging.getLogger(__name__)


def protocol_error(status: int, exc: BaseException | None) -> TesseraError:
    """A request aiohttp refused before any route saw it, as one of the service's errors."""
    if isinstance(exc, ContentEncodingError):
        return UnsupportedEncoding(
            "The request body's Content-Encoding cannot be read; send it uncompressed, or "
            "with gzip or deflate.",
            param="Content-Encoding",
        )
    if isinstance(exc, PayloadEncodingError):
        return InvalidRequest(
            "The request body could not be read: its encoding or length is malformed."
        )
    if status == 417:
        return InvalidRequest(
            "Tessera meets only 'Expect: 100-continue'; send that or no Expect header.",
            param="Expect",
            status=417,
        )
    if status == 413:
        return DocumentTooLarge("The request body is larger than the configured limit.")
    if status == 431 or isinstance(exc, LineTooLong):
        return InvalidRequest(
            "The request line or its headers are too long.", status=431 if status == 431 else 400
        )
    if 400 <= status < 500:
        return InvalidRequest("The request is not valid HTTP.", status=status)
    return InternalError("Tessera failed on this request; the error is in its log.")


class _ShapedRequestHandler(RequestHandler):
    def handle_error(
        self,
        request: BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        error = protocol_error(status, exc)
        if status >= 500:
            super().handle_error(request, status, exc, message)  # logs; refuses if sent already
            return _shaped(error)
        # The client's fault, told to it: a line in the log, not a traceback a client could
        # fill the log with (aiohttp logs each with its stack at ERROR).
        log.info("refused a request from %s: %s", request.remote, error.message)
        if request.writer.output_size > 0:
            raise ConnectionError("the answer had begun; no error can be sent")
        return _shaped(error)

    async def finish_response(
        self, request: BaseRequest, resp: web.StreamResponse, start_time: float | None
    ) -> tuple[web.StreamResponse, bool]:
        # An HTTP error that reaches here as it was raised escaped the error middleware: the
        # application raises it before any middleware runs (an Expect header it does not meet).
        if isinstance(resp, web.HTTPException) and resp.status >= 400:
            resp = _shaped(protocol_error(resp.status, resp))
        return await super().finish_response(request, resp, start_time)


def _shaped(error: TesseraError) -> web.Response:
    response = web.Response(
        text=json.dumps(error_body(error)), status=error.status, content_type="application/json"
    )
    response.force_close()
    return response


class _ShapedServer(web.Server):
    def __call__(self) -> RequestHandler:
        return _ShapedRequestHandler(self, loop=self._loop, **self._kwargs)


class AppRunner(web.AppRunner):
    """aiohttp's AppRunner whose connections answer protocol errors in the error shape."""

    async def _make_server(self) -> web.Server:
        server = await super()._make_server()
        # The application builds a plain Server; only how it makes handlers differs here.
        server.__class__ = _ShapedServer
        return server
