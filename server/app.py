"""The aiohttp application: its factory, its resources and its two middlewares."""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

from aiohttp import web
from aiohttp.http_exceptions import (
    ContentEncodingError,
    HttpProcessingError,
    LineTooLong,
    PayloadEncodingError,
)
from aiohttp.web_protocol import RequestHandler, RequestPayloadError
from aiohttp.web_request import BaseRequest

from ocr_engine import OCREngine, TesseraError
from ocr_engine.errors import DocumentTooLarge, InternalError, InvalidRequest

from . import ops
from .auth import Authenticator
from .config import Settings
from .documents import Documents, DocumentSpool, SharedDocuments
from .errors import MethodNotAllowed, NotFound, Unavailable, UnsupportedEncoding, error_body
from .fetch import client_session
from .jobs import JobStore
from .keys import (
    AUTH,
    DOCUMENTS,
    ENGINE,
    FETCH_POLICY,
    HTTP,
    LIFECYCLE,
    RUNNER,
    SETTINGS,
    SPOOL,
    STORE,
    SYNC_SLOTS,
    WEBHOOKS,
    Lifecycle,
)
from .openapi import routes as openapi_routes
from .routes import routes
from .runner import Runner
from .store_postgres import PostgresJobStore
from .store_sqlite import SQLiteJobStore
from .webhook_routes import routes as webhook_routes
from .webhooks import Deliverer

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
UNAUTHENTICATED = frozenset({"/health", "/openapi.json", *ops.PATHS})
_DRAIN_RETRY_AFTER_S = 5


def _error_response(request: web.Request, error: TesseraError) -> web.Response:
    retry_after = getattr(error, "retry_after", None)
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
    return web.json_response(error_body(error, model=request.get("model")),
                             status=error.status, headers=headers)


def _from_http(exc: web.HTTPException, request: web.Request) -> TesseraError:
    if exc.status == 404:
        return NotFound(f"There is no route {request.method} {request.path}.")
    if exc.status == 405:
        return MethodNotAllowed(f"{request.method} is not allowed on {request.path}.")
    if exc.status == 413:
        return DocumentTooLarge("The request body is larger than the configured limit.")
    error = TesseraError(exc.reason)
    error.status = exc.status
    return error


def protocol_error(status: int, exc: BaseException | None) -> TesseraError:
    """A request aiohttp refused before any route saw it, as one of the service's errors."""
    if isinstance(exc, ContentEncodingError):
        return UnsupportedEncoding(
            "The request body's Content-Encoding cannot be read; send it uncompressed, or "
            "with gzip or deflate.", param="Content-Encoding")
    if isinstance(exc, PayloadEncodingError):
        return InvalidRequest("The request body could not be read: its encoding or length is "
                              "malformed.")
    if status == 413:
        return DocumentTooLarge("The request body is larger than the configured limit.")
    if status == 431 or isinstance(exc, LineTooLong):
        error: TesseraError = InvalidRequest("The request line or its headers are too long.")
        error.status = 431 if status == 431 else 400
        return error
    if 400 <= status < 500:
        error = InvalidRequest("The request is not valid HTTP.")
        error.status = status
        return error
    return InternalError("Tessera failed on this request; the error is in its log.")


class _ShapedRequestHandler(RequestHandler):
    """aiohttp's connection handler, answering malformed requests in the Bifrost error shape
    rather than in plain text: a client of the service parses one shape, whatever went
    wrong."""

    def handle_error(self, request: BaseRequest, status: int = 500,
                     exc: BaseException | None = None,
                     message: str | None = None) -> web.StreamResponse:
        super().handle_error(request, status, exc, message)  # logs; refuses if sent already
        error = protocol_error(status, exc)
        response = web.Response(text=json.dumps(error_body(error)), status=error.status,
                                content_type="application/json")
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


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every failure leaves in the Bifrost error shape; nothing else, never a traceback."""
    try:
        return await handler(request)
    except TesseraError as e:
        return _error_response(request, e)
    except (RequestPayloadError, HttpProcessingError):
        # The body itself could not be read: corrupt compression, broken chunked framing.
        return _error_response(request, InvalidRequest(
            "The request body could not be read: its compression or framing is damaged."))
    except web.HTTPException as e:
        if e.status < 400:
            raise
        return _error_response(request, _from_http(e, request))
    except asyncio.CancelledError:
        raise
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return _error_response(request, InternalError(
            "Tessera failed on this request; the error is in its log."))


@web.middleware
async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.path not in UNAUTHENTICATED:
        request["owner"] = request.app[AUTH].owner(request)
    if request.app[LIFECYCLE].draining and request.method in ("POST", "DELETE"):
        # Polls still answer while running work winds down; new work goes elsewhere.
        raise Unavailable("Tessera is shutting down; send the request again in a moment.",
                          retry_after=_DRAIN_RETRY_AFTER_S)
    return await handler(request)


async def _engine(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    engine = OCREngine(settings.engine_config())
    await engine.start()
    app[ENGINE] = engine
    yield
    await engine.close()


async def _store(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    spool = DocumentSpool(settings.data_dir / "documents")
    await asyncio.to_thread(spool.open)
    store: JobStore
    documents: Documents
    if settings.database_url:
        postgres = PostgresJobStore(settings.database_url, node=uuid.uuid4().hex[:12],
                                    lease=settings.lease_seconds)
        store, documents = postgres, SharedDocuments(postgres, spool)
    else:
        store, documents = SQLiteJobStore(settings.data_dir / "tessera.db"), spool
    await store.open()
    app[STORE] = store
    app[SPOOL] = spool
    app[DOCUMENTS] = documents
    yield
    await store.close()


async def _http(app: web.Application) -> AsyncIterator[None]:
    async with client_session(app[FETCH_POLICY]) as session:
        app[HTTP] = session
        yield


async def _runner(app: web.Application) -> AsyncIterator[None]:
    runner = Runner(store=app[STORE], engine=app[ENGINE], documents=app[DOCUMENTS],
                    settings=app[SETTINGS], http=app[HTTP])
    await runner.start()
    app[RUNNER] = runner
    yield
    await runner.close()


async def _webhooks(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    deliverer = Deliverer(store=app[STORE], endpoints=settings.webhooks,
                          policy=settings.webhook_retry(), timeout=settings.webhook_timeout)
    await deliverer.start()
    app[WEBHOOKS] = deliverer
    yield
    await deliverer.close()


def create_app(settings: Settings) -> web.Application:
    """The Tessera application for these settings."""
    app = web.Application(client_max_size=settings.max_body_bytes,
                          middlewares=[error_middleware, auth_middleware])
    app[SETTINGS] = settings
    app[AUTH] = Authenticator(settings.api_keys)
    app[SYNC_SLOTS] = asyncio.Semaphore(settings.sync_slots)
    app[LIFECYCLE] = Lifecycle()
    app[FETCH_POLICY] = settings.fetch_policy()
    app.cleanup_ctx.extend([_engine, _store, _http, _runner, _webhooks])
    app.add_routes(routes)
    app.add_routes(openapi_routes)
    ops.setup(app)
    app.add_routes(webhook_routes)
    if app[AUTH].open:
        log.warning("no API keys configured: the service is open to anyone who can reach it "
                    "(set TESSERA_API_KEYS to require keys)")
    else:
        log.info("API keys required (%d configured)", len(settings.api_keys))
    return app
