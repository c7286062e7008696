"""The HTTP routes of the API (the README's "The API by example"): Mistral's `/v1/ocr`,
Bifrost's `/v1/async/ocr`, models, health."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import math
import re
import time
import uuid
from pathlib import Path
from typing import Any

from aiohttp import web

from ocr_engine import pageimage, render
from ocr_engine.errors import DocumentTooLarge, InvalidRequest
from ocr_engine.languages import model_ids, resolve_model
from ocr_engine.sources import is_data_url

from . import documents
from .appkeys import (
    AUTH,
    DOCUMENTS,
    ENGINE,
    FETCHER,
    LIFECYCLE,
    METRICS,
    OUTPUTS,
    RUNNER,
    SETTINGS,
    SPOOL,
    STORE,
    SYNC_SLOTS,
)
from .config import MB
from .errors import (
    Cancelled,
    InsufficientStorage,
    JobNotFound,
    OutputNotFound,
    PageImageNotFound,
    QueueFull,
)
from .fetch import check_url, read_limited
from .jobs import Job, JobStatus, now
from .schema import OCRRequestBody, parse_request
from .stores import QueueLimitReached
from .wire import failure, job_accepted, job_json, model_list, ocr_response, outputs_list

log = logging.getLogger(__name__)

routes = web.RouteTableDef()

TTL_HEADER = "x-bf-async-job-result-ttl"
WEBHOOK_HEADER = "x-bf-async-webhook"
IDEMPOTENCY_HEADER = "Idempotency-Key"
_JSON_IN_THREAD_BYTES = 256 * 1024
_SYNC_RETRY_AFTER_S = 5
_QUEUE_RETRY_AFTER_S = 10
_POLL_RETRY_AFTER_S = 1
_MAX_IDEMPOTENCY_KEY = 255
_TTL = re.compile(r"(?P<sign>[+-]?)(?P<digits>[0-9]+)", re.ASCII)
_PAGE_INDEX = re.compile(r"[0-9]{1,9}", re.ASCII)
_PAGE_IMAGE_MAX_AGE_S = 300  # a page's picture never changes; the browser may keep it a while
_TOO_DEEP = "The request body is nested too deeply to be an OCR request."
_MAX_ENVELOPE_BYTES = MB  # the JSON of a request, apart from its document's data URL
_MAX_WAIT_S = 60.0
# A long poll reads the store, which every node writes, rather than waiting on this process.
_WAIT_POLL_FIRST_S = 0.1
_WAIT_POLL_MAX_S = 0.25


async def _read_body(request: web.Request) -> bytes:
    """The body, within the size limit, read past aiohttp's cache: a large document's bytes
    are then freed as soon as they are parsed, rather than held for the whole request."""
    limit = request.app[SETTINGS].max_body_bytes
    too_large = DocumentTooLarge(
        f"The request body is larger than the limit of {limit} bytes.", param="document"
    )
    return await read_limited(request.content, request.content_length, limit, too_large)


def _loads(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except RecursionError:
        raise InvalidRequest(_TOO_DEEP) from None
    except ValueError:
        raise InvalidRequest("The request body is not valid JSON.") from None


def _parse_large(raw: bytes) -> tuple[Any, bytes | memoryview | str | None]:
    """Parse a large body with its data URL's base64 lifted out as a view of the raw bytes.

    Parsed whole, a 50 MB document would exist as the body, as a decoded copy and as a Python
    string at once; lifted, only the body and the decoded bytes do. Only the document may be
    large: the JSON around it is refused past 1 MiB before it is parsed, since parsing holds
    the interpreter's lock and would stall every other request, thread or not.
    """
    span = _document_data_url(raw)
    around = len(raw) - (span[2] - span[1] - 1 if span else 0)
    if around > _MAX_ENVELOPE_BYTES:
        raise DocumentTooLarge(
            f"Apart from the document's data URL, the request body may be at "
            f"most {_MAX_ENVELOPE_BYTES // MB} MiB of JSON."
        )
    if span is None:
        return _loads(raw), None
    start, comma, end = span
    body = _loads(raw[: comma + 1] + raw[end:])
    header = _loads(raw[start : comma + 1] + b'"')
    document = body.get("document") if isinstance(body, dict) else None
    url = document.get(document.get("type")) if isinstance(document, dict) else None
    if isinstance(url, dict):
        url = url.get("url")
    if url != header:
        raise DocumentTooLarge(
            "Only the document's data URL may make a request body large; "
            "this one is large elsewhere."
        )
    payload: bytes | memoryview | str = memoryview(raw)[comma + 1 : end]
    if raw.find(b"\\", comma, end) >= 0:
        # JSON escapes in the base64 ("\/" from some encoders): decoded as the string it is.
        payload = _loads(b'"' + raw[comma + 1 : end] + b'"')
    return body, payload


def _document_data_url(raw: bytes) -> tuple[int, int, int] | None:
    """Where the longest base64 data URL string of a body is: its opening quote, the comma
    after its header and its closing quote. One pass, however many strings look like one."""
    best: tuple[int, int, int] | None = None
    position = 0
    while (start := raw.find(b'"data:', position)) >= 0:
        end = raw.find(b'"', start + 1)
        while end > 0 and raw[end - 1] == 0x5C and _escaped(raw, end):  # a \" inside
            end = raw.find(b'"', end + 1)
        if end < 0:
            break
        comma = raw.find(b",", start, end)
        if (
            comma >= 0
            and b";base64" in raw[start:comma].lower()
            and (best is None or end - comma > best[2] - best[1])
        ):
            best = (start, comma, end)
        position = end + 1
    return best


def _escaped(raw: bytes, quote: int) -> bool:
    """Whether the quote at `quote` is escaped: an odd number of backslashes before it."""
    count = 0
    while quote - count - 1 >= 0 and raw[quote - count - 1] == 0x5C:
        count += 1
    return count % 2 == 1


async def _ocr_request(request: web.Request) -> tuple[OCRRequestBody, str]:
    """The validated body and the languages its model selects.

    A large body is parsed and validated off the event loop: a long page list or a deep
    structure must not stall every other request.
    """
    raw = await _read_body(request)
    if not raw or raw.isspace():  # isspace(), unlike strip(), copies nothing of a large body
        raise InvalidRequest("The request body is empty; send the OCR request as JSON.")
    small = len(raw) <= _JSON_IN_THREAD_BYTES
    if small:
        body = _loads(raw)
    else:
        body, payload = await asyncio.to_thread(_parse_large, raw)
        if payload is not None:
            request["payload"] = payload
    del raw
    if isinstance(body, dict) and isinstance(body.get("model"), str):
        request["model"] = body["model"]  # for the error body's extra_fields
    parsed = parse_request(body) if small else await asyncio.to_thread(parse_request, body)
    engine = request.app[ENGINE]
    settings = request.app[SETTINGS]
    languages = resolve_model(
        parsed.model,
        default=settings.languages,
        aliases=settings.model_aliases,
        installed=engine.languages,
    )
    return parsed, languages


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
    started = time.monotonic()
    body, languages = await _ocr_request(request)
    slots = request.app[SYNC_SLOTS]
    if slots.locked():
        raise QueueFull(
            "Too many synchronous OCR requests are running; retry shortly, or use /v1/async/ocr.",
            retry_after=_SYNC_RETRY_AFTER_S,
        )
    await _check_space(request)
    async with slots:
        data = await documents.resolve(
            body.document.url,
            fetcher=request.app[FETCHER],
            param=body.document.url_param,
            payload=request.get("payload"),
        )
        async with request.app[SPOOL].scratch(data) as path:
            del data
            options = body.options(languages)
            key = f"sync-{uuid.uuid4().hex}"
            engine = request.app[ENGINE]
            result = await engine.run(path, options, key=key)
            if body.formats:
                async with request.app[OUTPUTS].scratch() as folder:
                    written = await engine.render(result, path, body.formats, folder, key=key)
                    request.app[METRICS].outputs(written)
                    outputs = await asyncio.to_thread(_inline_outputs, folder, written)

    def respond() -> str:
        response = ocr_response(result, options.page, model=body.model, started=started)
        if body.formats:
            response["outputs"] = outputs
        return json.dumps(response)

    return web.Response(text=await asyncio.to_thread(respond), content_type="application/json")


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
    owner = request["owner"]
    body, languages = await _ocr_request(request)
    webhook = _webhook(request)
    ttl = _ttl(request)
    idempotency_key = _idempotency_key(request, body)
    url = body.document.url
    if not is_data_url(url):
        check_url(url, request.app[FETCHER].policy, param=body.document.url_param)
    await _check_space(request)
    settings = request.app[SETTINGS]
    job_id = str(uuid.uuid4())
    size = 0
    stored = body.stored()
    if is_data_url(url):
        data = await documents.decode(
            url,
            max_bytes=settings.max_document_bytes,
            param=body.document.url_param,
            payload=request.pop("payload", None),
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
    try:
        seconds = float(raw)
    except ValueError:
        seconds = math.nan
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
        raise OutputNotFound(
            f"The job has no {fmt!r} output; its 'outputs' list names those it has.",
            param="format",
        )
    kind = render.FORMATS[fmt]
    return web.FileResponse(
        path,
        headers={
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
    return web.FileResponse(
        path,
        headers={
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
