"""The aiohttp application: its factory and its two middlewares.

Resources (engine, store, runner, ...) are in `server.resources`, routes in `server.routes`,
`server.ops` and `server.webhooks.routes`, and errors leave as `server.wire.error_body`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from aiohttp import hdrs, web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.web_protocol import RequestPayloadError

from ocr_engine import TesseraError
from ocr_engine.errors import DocumentTooLarge, InternalError, InvalidRequest

from . import ops, resources, webpage
from .appkeys import AUTH, LIFECYCLE, SETTINGS, SYNC_QUEUE, Lifecycle
from .auth import Authenticator
from .batch_routes import routes as batch_routes
from .config import Settings
from .errors import MethodNotAllowed, NotFound, Unauthorized, Unavailable, UnsupportedEncoding
from .file_routes import is_signed_download
from .file_routes import routes as file_routes
from .openapi import routes as openapi_routes
from .routes import routes
from .syncqueue import FairQueue
from .webhooks.routes import routes as webhook_routes
from .wire import error_body

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
UNAUTHENTICATED = frozenset({"/health", "/openapi.json", *ops.PATHS, *webpage.PATHS})
_DRAIN_RETRY_AFTER_S = 5
_DECODED_CODINGS = {"gzip", "deflate"}


def _error_response(request: web.Request, error: TesseraError) -> web.Response:
    headers = {"Retry-After": str(error.retry_after)} if error.retry_after is not None else {}
    if isinstance(error, Unauthorized):
        # A 401 names the scheme that authenticates (RFC 9110, 11.6.1; RFC 6750 for Bearer).
        headers[hdrs.WWW_AUTHENTICATE] = 'Bearer realm="tessera"'
    return web.json_response(
        error_body(error, model=request.get("model")), status=error.status, headers=headers
    )


def _from_http(exc: web.HTTPException, request: web.Request) -> TesseraError:
    if exc.status == 404:
        return NotFound(f"There is no route {request.method} {request.path}.")
    if exc.status == 405:
        return MethodNotAllowed(f"{request.method} is not allowed on {request.path}.")
    if exc.status == 413:
        return DocumentTooLarge("The request body is larger than the configured limit.")
    return TesseraError(exc.reason, status=exc.status)


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every failure leaves in the Bifrost error shape; nothing else, never a traceback."""
    try:
        _check_encoding(request)
        return await handler(request)
    except TesseraError as e:
        return _error_response(request, e)
    except (RequestPayloadError, HttpProcessingError):
        # The body itself could not be read: corrupt compression, broken chunked framing.
        return _error_response(
            request,
            InvalidRequest(
                "The request body could not be read: its compression or framing is damaged."
            ),
        )
    except web.HTTPException as e:
        if e.status < 400:
            raise
        response = _error_response(request, _from_http(e, request))
        if hdrs.ALLOW in e.headers:
            # A 405 names the methods the route answers (RFC 9110, 15.5.6).
            response.headers[hdrs.ALLOW] = e.headers[hdrs.ALLOW]
        return response
    except asyncio.CancelledError:
        raise
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return _error_response(
            request, InternalError("Tessera failed on this request; the error is in its log.")
        )


def _check_encoding(request: web.Request) -> None:
    """Refuse a body in a coding Tessera does not decode. aiohttp decodes one gzip or
    deflate coding and reads a body in any other ("compress", "x-gzip", two codings) as if
    it had none: a request it would misread."""
    header = request.headers.get(hdrs.CONTENT_ENCODING)
    if header is None or not request.body_exists:
        return
    codings = [c for c in (part.strip().lower() for part in header.split(",")) if c]
    codings = [c for c in codings if c != "identity"]
    if len(codings) > 1 or (codings and codings[0] not in _DECODED_CODINGS):
        raise UnsupportedEncoding(
            "The request body's Content-Encoding cannot be read; send it uncompressed, or "
            "with gzip or deflate.",
            param="Content-Encoding",
        )


@web.middleware
async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.path not in UNAUTHENTICATED and not is_signed_download(request):
        request["owner"] = request.app[AUTH].owner(request)
    if request.app[LIFECYCLE].draining and request.method in ("POST", "DELETE"):
        # Polls still answer while running work winds down; new work goes elsewhere.
        raise Unavailable(
            "Tessera is shutting down; send the request again in a moment.",
            retry_after=_DRAIN_RETRY_AFTER_S,
        )
    return await handler(request)


def create_app(settings: Settings) -> web.Application:
    """The Tessera application for these settings."""
    app = web.Application(
        client_max_size=settings.max_body_bytes, middlewares=[error_middleware, auth_middleware]
    )
    app[SETTINGS] = settings
    app[AUTH] = Authenticator(settings.api_keys)
    app[SYNC_QUEUE] = FairQueue(
        settings.sync_slots, max_waiting=settings.sync_queue, deadline=settings.sync_wait
    )
    app[LIFECYCLE] = Lifecycle()
    app.cleanup_ctx.extend(resources.CONTEXTS)
    app.add_routes(routes)
    app.add_routes(file_routes)
    app.add_routes(batch_routes)
    app.add_routes(openapi_routes)
    ops.setup(app)
    app.add_routes(webhook_routes)
    app.add_routes(webpage.routes)
    if app[AUTH].open:
        log.warning(
            "no API keys configured: the service is open to anyone who can reach it "
            "(set TESSERA_API_KEYS to require keys)"
        )
    else:
        log.info("API keys required (%d configured)", len(settings.api_keys))
    return app
