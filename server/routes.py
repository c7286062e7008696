"""The HTTP routes of the API (the README's "The API by example"): Mistral's `/v1/ocr`,
Bifrost's `/v1/async/ocr`, models, health."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import math
import re
import time
import uuid
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from aiohttp import web

from ocr_engine import DocumentResult, TesseraError, pageimage, render
from ocr_engine.errors import DocumentTooLarge, InvalidRequest, UnsupportedDocument
from ocr_engine.languages import model_ids, resolve_model
from ocr_engine.sources import is_data_url

from . import bodies, documents
from .appkeys import (
    AUTH,
    DOCUMENTS,
    ENGINE,
    FETCHER,
    FILES,
    LIFECYCLE,
    METRICS,
    OUTPUTS,
    RUNNER,
    SETTINGS,
    SPOOL,
    STORE,
    SYNC_QUEUE,
)
from .bodies import SpooledDocument
from .config import MB
from .downloads import send_file
from .errors import (
    Cancelled,
    InsufficientStorage,
    JobNotFound,
    OutputNotFound,
    PageImageNotFound,
    QueueFull,
)
from .fetch import check_url
from .files import FileRecord
from .jobs import Job, JobStatus, now
from .schema import OCRRequestBody, file_document, parse_request
from .stores import QueueLimitReached
from .wire import (
    failure,
    is_decimal,
    job_accepted,
    job_json,
    model_list,
    ocr_response,
    outputs_list,
)

log = logging.getLogger(__name__)

routes = web.RouteTableDef()

TTL_HEADER = "x-bf-async-job-result-ttl"
WEBHOOK_HEADER = "x-bf-async-webhook"
IDEMPOTENCY_HEADER = "Idempotency-Key"
_BODY_CHUNK = 64 * 1024
_DISCONNECT_POLL_S = 0.25  # how often a waiting or running sync request checks its client
_QUEUE_RETRY_AFTER_S = 10
_POLL_RETRY_AFTER_S = 1
_MAX_IDEMPOTENCY_KEY = 255
_TTL = re.compile(r"(?P<sign>[+-]?)(?P<digits>[0-9]+)", re.ASCII)
_PAGE_INDEX = re.compile(r"[0-9]{1,30}", re.ASCII)  # past the last page: 404, not 400
_PAGE_IMAGE_MAX_AGE_S = 300  # a page's picture never changes; the browser may keep it a while
_MAX_WAIT_S = 60.0
# A long poll reads the store, which every node writes, rather than waiting on this process.
_WAIT_POLL_FIRST_S = 0.1
_WAIT_POLL_MAX_S = 0.25


async def _body_chunks(request: web.Request) -> AsyncIterator[bytes]:
    """The body as it arrives, refused as soon as it passes the size limit."""
    limit = request.app[SETTINGS].max_body_bytes
    too_large = DocumentTooLarge(
        f"The request body is larger than the limit of {limit} bytes.", param="document"
    )
    if (request.content_length or 0) > limit:
        raise too_large
    size = 0
    async for chunk in request.content.iter_chunked(_BODY_CHUNK):
        size += len(chunk)
        if size > limit:
            raise too_large
        yield chunk


async def _ocr_request(request: web.Request) -> tuple[OCRRequestBody, str]:
    """The validated body and the languages its model selects.

    The body is read as it streams (`server.bodies`): a large document's data URL goes to a
    file as it arrives (`request["spooled"]`, removed by `_discard_spooled` unless moved).
    """
    body, spooled = await bodies.read_json(
        _body_chunks(request),
        temp=request.app[SPOOL].temp,
        max_document=request.app[SETTINGS].max_document_bytes,
    )
    if spooled is not None:
        request["spooled"] = spooled
    if isinstance(body, dict) and isinstance(body.get("model"), str):
        request["model"] = body["model"]  # for the error body's extra_fields
    parsed = await asyncio.to_thread(parse_request, body)
    engine = request.app[ENGINE]
    settings = request.app[SETTINGS]
    languages = resolve_model(
        parsed.model,
        default=settings.languages,
        aliases=settings.model_aliases,
        installed=engine.languages,
    )
    return parsed, languages


async def _discard_spooled(request: web.Request) -> None:
    spooled: SpooledDocument | None = request.get("spooled")
    if spooled is not None:
        await asyncio.to_thread(spooled.path.unlink, missing_ok=True)


async def _file_document(request: web.Request, body: OCRRequestBody) -> FileRecord | None:
    """The uploaded file a request's document is: named by id (a file of the caller's), or
    by one of this service's signed URLs (anyone's, while its signature holds)."""
    files = request.app[FILES]
    if body.document.is_file:
        record: FileRecord | None = await files.get(request["owner"], body.document.file_id or "")
    else:
        url = body.document.url
        record = None if is_data_url(url) else await files.from_signed_url(url)
    if record is not None and record.purpose != "ocr":
        # Checked here, before a job exists: a batch's JSONL was accepted as a job's document
        # and the job failed when it ran.
        raise UnsupportedDocument(
            f"The file '{record.id}' holds batch requests (purpose '{record.purpose}'), not a "
            "PDF or an image to read; upload documents with the purpose 'ocr'.",
            param=body.document.url_param,
        )
    return record


@asynccontextmanager
async def _document_path(request: web.Request, body: OCRRequestBody) -> AsyncIterator[Path]:
    """Where a synchronous request's document is on disk while it is read."""
    record = await _file_document(request, body)
    if record is not None:
        yield await request.app[FILES].local_path(record)
        return
    spooled: SpooledDocument | None = request.get("spooled")
    if spooled is not None:
        yield spooled.path  # removed by the route when the request ends
        return
    data = await documents.resolve(
        body.document.url, fetcher=request.app[FETCHER], param=body.document.url_param
    )
    async with request.app[SPOOL].scratch(data) as path:
        del data
        yield path


async def _check_space(request: web.Request) -> None:
    """Refuse new work while the data directory's disk is nearly full, before writing."""
    free = await asyncio.to_thread(request.app[SPOOL].free_bytes)
    if free < request.app[SETTINGS].min_free_bytes:
        log.warning("refusing new work: %d MB free in the data directory", free // MB)
        raise InsufficientStorage()


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        text=json.dumps(body), status=status, content_type="application/json", headers=headers
    )


@routes.post("/v1/ocr")
async def ocr(request: web.Request) -> web.Response:
    """Mistral's OCR: one request, one response."""
    try:
        return await _ocr(request)
    finally:
        await _discard_spooled(request)


async def _ocr(request: web.Request) -> web.Response:
    started = time.monotonic()
    body, languages = await _ocr_request(request)
    await _check_space(request)
    options = body.options(languages)
    key = f"sync-{uuid.uuid4().hex}"
    engine = request.app[ENGINE]
    outputs: list[dict[str, Any]] = []

    async def read() -> DocumentResult:
        nonlocal outputs
        # Waits its turn (server.syncqueue), then reads; stopped if the client goes away.
        queue = request.app[SYNC_QUEUE]
        async with queue.place(request["owner"]), _document_path(request, body) as path:
            result = await engine.run(path, options, key=key)
            if body.formats:
                async with request.app[OUTPUTS].scratch() as folder:
                    written = await engine.render(result, path, body.formats, folder, key=key)
                    request.app[METRICS].outputs(written)
                    outputs = await asyncio.to_thread(_inline_outputs, folder, written)
        return result

    result = await _while_connected(request, read(), key)

    def respond() -> str:
        response = ocr_response(result, options.page, model=body.model, started=started)
        if body.formats:
            response["outputs"] = outputs
        return json.dumps(response)

    return web.Response(text=await asyncio.to_thread(respond), content_type="application/json")


async def _while_connected(
    request: web.Request, work: Coroutine[Any, Any, DocumentResult], key: str
) -> DocumentResult:
    """`work`'s result; stopped, its place in the queue and its pages given back, as soon as
    the client that asked for it goes away."""
    task = asyncio.ensure_future(work)
    while True:
        done, _ = await asyncio.wait({task}, timeout=_DISCONNECT_POLL_S)
        if done:
            return task.result()
        transport = request.transport
        if transport is None or transport.is_closing():
            task.cancel()
            request.app[ENGINE].cancel(key)
            with contextlib.suppress(asyncio.CancelledError, TesseraError):
                await task
            log.info("a synchronous request's client went away; its work was stopped")
            raise Cancelled("The client went away; its request was stopped.")


def _inline_outputs(folder: Path, written: dict[str, int | str]) -> list[dict[str, Any]]:
    """A synchronous answer's output files, each in the response as base64."""
    entries = outputs_list(written, job_id=None)
    for entry in entries:
        if "error" not in entry:
            data = (folder / entry["format"]).read_bytes()
            entry["data"] = base64.b64encode(data).decode()
    return entries


def _ttl(request: web.Request) -> int:
    """The result TTL the create asked for: as in the gateway, missing, non-numeric, zero or
    negative means the default; above the maximum, the maximum."""
    settings = request.app[SETTINGS]
    match = _TTL.fullmatch(request.headers.get(TTL_HEADER, "").strip())
    if match is None or match["sign"] == "-":
        return settings.result_ttl
    digits = match["digits"].lstrip("0")
    if not digits:
        return settings.result_ttl
    if len(digits) > len(str(settings.max_result_ttl)):
        return settings.max_result_ttl  # parsed no further: any number of digits is cheap
    return min(int(digits), settings.max_result_ttl)


def _idempotency_key(request: web.Request, body: OCRRequestBody) -> str | None:
    """The client's name for one create and its retries: the header, else the body's `id`."""
    header = request.headers.get(IDEMPOTENCY_HEADER, "").strip()
    key = header or body.id or None
    if key is None:
        return None
    param = IDEMPOTENCY_HEADER if header else "id"
    if len(key) > _MAX_IDEMPOTENCY_KEY:
        raise InvalidRequest(
            f"An idempotency key may be at most {_MAX_IDEMPOTENCY_KEY} characters long.",
            param=param,
        )
    if not key.isprintable():  # control characters, NUL, bytes that are not UTF-8
        raise InvalidRequest("An idempotency key must be printable text.", param=param)
    return key


def _webhook(request: web.Request) -> str | None:
    webhook = request.headers.get(WEBHOOK_HEADER)
    if webhook is not None and webhook not in request.app[SETTINGS].webhooks:
        shown = webhook if webhook.isprintable() and len(webhook) <= 64 else "(unprintable)"
        raise InvalidRequest(
            f"No webhook endpoint named '{shown}' is configured.", param=WEBHOOK_HEADER
        )
    return webhook


@routes.post("/v1/async/ocr")
async def create_job(request: web.Request) -> web.Response:
    """Bifrost's async create: 202 and a job id at once.

    Everything cheap is checked before anything is written, so a refused create leaves
    nothing behind; the queue bound is checked by the store in the same step as the insert.
    """
    try:
        return await _create_job(request)
    finally:
        await _discard_spooled(request)


async def _create_job(request: web.Request) -> web.Response:
    owner = request["owner"]
    body, languages = await _ocr_request(request)
    webhook = _webhook(request)
    ttl = _ttl(request)
    idempotency_key = _idempotency_key(request, body)
    record = await _file_document(request, body)
    url = body.document.url
    if record is None and not is_data_url(url):
        check_url(url, request.app[FETCHER].policy, param=body.document.url_param)
    await _check_space(request)
    settings = request.app[SETTINGS]
    job_id = str(uuid.uuid4())
    size = 0
    stored = body.stored()
    spooled: SpooledDocument | None = request.get("spooled")
    if record is not None:
        # Read from the file when the job runs: no copy of it is made.
        size = record.bytes
        stored["document"] = file_document(record.id, body.document.document_name)
    elif spooled is not None:
        size = spooled.size
        await request.app[DOCUMENTS].save_file(job_id, spooled.path)
        stored["document"][body.document.type] = "data:stored"
    elif is_data_url(url):
        data = await documents.decode(
            url, max_bytes=settings.max_document_bytes, param=body.document.url_param
        )
        size = len(data)
        await request.app[DOCUMENTS].save(job_id, data)
        del data
        # The bytes are on disk; the stored request keeps only a marker of where they came from.
        stored["document"][body.document.type] = "data:stored"
    job = Job(
        id=job_id,
        owner=owner,
        status=JobStatus.PENDING,
        created_at=now(),
        ttl=ttl,
        document_size=size,
        webhook=webhook,
        idempotency_key=idempotency_key,
        request={"model": body.model, "languages": languages, "body": stored},
    )
    job, created = await _insert(request.app, job)
    accepted = job_accepted(job)
    if not created:
        log.info("job %s: created before under the same idempotency key; answered with it", job.id)
        return _json(accepted, status=202, headers={"Idempotent-Replayed": "true"})
    request.app[RUNNER].wake()
    log.info("job %s: accepted (%d bytes, languages %s)", job_id, size, languages)
    return _json(accepted, status=202)


async def _insert(app: web.Application, job: Job) -> tuple[Job, bool]:
    """Create the job row; a retry of a create (same owner and key) gets the first job."""
    store = app[STORE]
    limit = app[SETTINGS].max_queued_jobs
    created = False
    try:
        found, created = await store.create(job, max_pending=limit)
        if not created and found.expires_at is not None and found.expires_at <= now():
            # The key is held by a job past its expiry that the cleaner has not deleted yet.
            for expired in await store.delete_expired():
                await app[DOCUMENTS].delete(expired)
            found, created = await store.create(job, max_pending=limit)
    except QueueLimitReached:
        raise QueueFull(
            f"{limit} jobs are already waiting; retry shortly.", retry_after=_QUEUE_RETRY_AFTER_S
        ) from None
    finally:
        if not created:
            # The insert failed, or the job exists already: the new document is nobody's.
            await app[DOCUMENTS].delete(job.id)
    return found, created


@routes.get("/v1/async/ocr/{job_id}")
async def get_job(request: web.Request) -> web.Response:
    """Bifrost's async poll: 202 while pending or processing, 200 once finished.

    With `?wait=<seconds>` the answer waits until the job ends or the time is up (a long poll).
    """
    wait = _wait_seconds(request)
    deadline = time.monotonic() + wait
    delay = _WAIT_POLL_FIRST_S
    job = await _owned_job(request)
    while not job.status.finished and not request.app[LIFECYCLE].draining:
        left = deadline - time.monotonic()
        if left <= 0 or request.transport is None or request.transport.is_closing():
            break
        await asyncio.sleep(min(delay, left))
        delay = min(delay * 1.5, _WAIT_POLL_MAX_S)
        job = await _owned_job(request)
    return _job_response(job)


def _wait_seconds(request: web.Request) -> float:
    raw = request.query.get("wait")
    if raw is None:
        return 0.0
    seconds = float(raw) if is_decimal(raw) else math.nan
    if not (math.isfinite(seconds) and seconds >= 0):
        raise InvalidRequest(
            f"'wait' must be a number of seconds from 0 (longer waits end "
            f"after {_MAX_WAIT_S:.0f}).",
            param="wait",
        )
    return min(seconds, _MAX_WAIT_S)


async def _owned_job(request: web.Request) -> Job:
    job = await request.app[STORE].get(request.match_info["job_id"], request["owner"])
    if job is None:
        raise JobNotFound()
    return job


def _job_response(job: Job) -> web.Response:
    if job.status.finished:
        return web.Response(text=job_json(job), content_type="application/json")
    return web.Response(
        text=job_json(job),
        status=202,
        content_type="application/json",
        headers={"Retry-After": str(_POLL_RETRY_AFTER_S)},
    )


@routes.get("/v1/async/ocr/{job_id}/outputs/{format}")
async def get_output(request: web.Request) -> web.StreamResponse:
    """One of a completed job's output files, to its owner, until the job expires."""
    job = await _owned_job(request)
    fmt = request.match_info["format"]
    listed = json.loads(job.outputs) if job.outputs else []
    written = any(entry["format"] == fmt and "url" in entry for entry in listed)
    path = await request.app[OUTPUTS].local_path(job.id, fmt) if written else None
    if path is None:
        # A format the service writes is named; any other is the client's text, not echoed.
        named = f"{fmt!r} output" if fmt in render.FORMATS else "output of that name"
        raise OutputNotFound(
            f"The job has no {named}; its 'outputs' list names those it has.", param="format"
        )
    kind = render.FORMATS[fmt]
    return await send_file(
        request,
        path,
        {
            "Content-Type": kind.content_type,
            "Content-Disposition": f'attachment; filename="{job.id}{kind.suffix}"',
        },
    )


@routes.get("/v1/async/ocr/{job_id}/pages/{index}/image")
async def get_page_image(request: web.Request) -> web.StreamResponse:
    """A picture of a page as read (upright and straightened, so the blocks' boxes lie on it),
    to the job's owner, until the job expires; kept for jobs created with `page_images`."""
    job = await _owned_job(request)
    index = _page_index(request)
    path = None
    if job.status is JobStatus.COMPLETED:
        path = await request.app[OUTPUTS].local_path(job.id, pageimage.file_name(index))
    if path is None:
        raise PageImageNotFound(
            f"The job has no picture of page {index}: pictures are kept for the pages a "
            "completed job read, when it was created with 'page_images': true.",
            param="index",
        )
    return await send_file(
        request,
        path,
        {
            "Content-Type": "image/jpeg",
            "Cache-Control": f"private, max-age={_PAGE_IMAGE_MAX_AGE_S}",
        },
    )


def _page_index(request: web.Request) -> int:
    raw = request.match_info["index"]
    if _PAGE_INDEX.fullmatch(raw) is None:
        raise InvalidRequest(
            "A page index is a whole number from 0, as in the result's 'pages[].index'.",
            param="index",
        )
    return int(raw)


@routes.delete("/v1/async/ocr/{job_id}")
async def cancel_job(request: web.Request) -> web.Response:
    """Cancel a pending or running job; a finished job is answered as it is."""
    store = request.app[STORE]
    job_id, owner = request.match_info["job_id"], request["owner"]
    job = await store.get(job_id, owner)
    if job is None:
        raise JobNotFound()
    if not job.status.finished:
        error = Cancelled("The job was cancelled by its owner.")
        model = job.request.get("model")
        cancelled = await store.finish(job_id, failure(error, model=model))
        if cancelled is not None:
            request.app[RUNNER].cancel(job_id)
            if job.status is JobStatus.PENDING:
                await request.app[DOCUMENTS].delete(job_id)
            log.info("job %s: cancelled by its owner", job_id)
        job = await store.get(job_id, owner)
        if job is None:
            raise JobNotFound()
    return _job_response(job)


@routes.get("/v1/models")
async def models(request: web.Request) -> web.Response:
    """The models on offer, in the OpenAI/Bifrost list shape."""
    ids = model_ids(request.app[ENGINE].languages, request.app[SETTINGS].model_aliases)
    return _json(model_list(ids))


@routes.get("/health")
async def health(request: web.Request) -> web.Response:
    """Liveness: the process answers. No key needed."""
    engine = request.app[ENGINE]
    return _json(
        {
            "status": "ok",
            "backend": engine.config.backend,
            "workers": engine.pool.size,
            "auth": not request.app[AUTH].open,
        }
    )
