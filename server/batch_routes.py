"""The Batch API in the shapes of Mistral's SDK (`client.batch.jobs`), for `/v1/ocr`."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

from aiohttp import web

from ocr_engine.errors import DocumentTooLarge, InvalidRequest

from . import bodies
from .appkeys import BATCH_DRIVER, BATCHES, FILES, SETTINGS
from .batch import ENDPOINT, STATUSES
from .fetch import read_limited
from .file_routes import whole_number
from .schema import BatchRequestBody, validated

routes = web.RouteTableDef()

_MAX_PAGE_SIZE = 1000


async def _wire(request: web.Request, batch_id: str) -> dict[str, Any]:
    batches = request.app[BATCHES]
    batch = await batches.get(request["owner"], batch_id)
    return batch.wire(await batches.counts(batch.id))


@routes.post("/v1/batch/jobs")
async def create(request: web.Request) -> web.Response:
    """A batch over uploaded JSONL files (`input_files`) or inline `requests`."""
    settings = request.app[SETTINGS]
    limit = settings.max_body_bytes
    raw = await read_limited(
        request.content,
        request.content_length,
        limit,
        DocumentTooLarge(
            f"The request body is larger than the limit of {limit} bytes; upload large "
            "documents with the Files API and name them by file_id.",
            param="requests",
        ),
    )
    await asyncio.to_thread(bodies.check_values, raw, what="The request body", param="requests")
    body = await asyncio.to_thread(bodies.loads, raw)
    del raw
    parsed = await asyncio.to_thread(validated, BatchRequestBody, body)
    if parsed.endpoint != ENDPOINT:
        raise InvalidRequest(
            f"Tessera runs batches of {ENDPOINT} only, not '{parsed.endpoint[:100]}'.",
            param="endpoint",
        )
    input_files = parsed.input_files or []
    requests = [item.model_dump() for item in parsed.requests or []]
    if bool(input_files) == bool(requests):
        raise InvalidRequest(
            "Give either 'input_files' (JSONL uploaded with the purpose 'batch') or inline "
            "'requests', not both and not neither.",
            param="input_files",
        )
    model, metadata, timeout_hours = parsed.model, parsed.metadata, parsed.timeout_hours
    inline = None
    if requests:
        inline = await asyncio.to_thread(_inline_file, request.app[FILES].root / "tmp", requests)
    try:
        batch = await request.app[BATCHES].create(
            request["owner"],
            input_files=input_files,
            inline=inline,
            inline_count=len(requests),
            model=model,
            metadata=metadata,
            timeout_hours=timeout_hours,
        )
    finally:
        if inline is not None:
            inline.unlink(missing_ok=True)
    request.app[BATCH_DRIVER].wake()
    return web.json_response(batch.wire({}))


def _inline_file(temp: Path, requests: list[dict[str, Any]]) -> Path:
    """Inline requests as a JSONL file, as an uploaded batch file would hold them."""
    path = temp / f"{uuid.uuid4().hex}.part"
    with open(path, "w") as out:
        for item in requests:
            out.write(json.dumps(item) + "\n")
    return path


@routes.get("/v1/batch/jobs")
async def listing(request: web.Request) -> web.Response:
    query = request.query
    statuses = query.getall("status", [])
    for status in statuses:
        if status not in STATUSES:
            raise InvalidRequest(f"'status' is one of {', '.join(STATUSES)}.", param="status")
    created_after = None
    if "created_after" in query:
        try:
            created_after = datetime.fromisoformat(query["created_after"]).timestamp()
        except ValueError:
            raise InvalidRequest(
                "'created_after' is an ISO 8601 date and time.", param="created_after"
            ) from None
    metadata = None
    if "metadata" in query:
        try:
            metadata = json.loads(query["metadata"])
        except (ValueError, RecursionError):  # RecursionError: nested past the parser's depth
            metadata = None
        if not isinstance(metadata, dict):
            raise InvalidRequest("'metadata' is a JSON object.", param="metadata")
    page = whole_number(query.get("page", "0"), "page", 0, 1_000_000)
    page_size = whole_number(query.get("page_size", "100"), "page_size", 1, _MAX_PAGE_SIZE)
    batches = request.app[BATCHES]
    found, total = await batches.listing(
        request["owner"],
        statuses=statuses,
        model=query.get("model") or None,
        created_after=created_after,
        metadata=metadata,
        page=page,
        page_size=page_size,
        newest_first=query.get("order_by", "-created") != "created",
    )
    data = [b.wire(await batches.counts(b.id)) for b in found]
    return web.json_response({"data": data, "object": "list", "total": total})


@routes.get("/v1/batch/jobs/{job_id}")
async def show(request: web.Request) -> web.Response:
    return web.json_response(await _wire(request, request.match_info["job_id"]))


@routes.post("/v1/batch/jobs/{job_id}/cancel")
async def cancel(request: web.Request) -> web.Response:
    """Ask a batch to stop: its running requests are cancelled, its finished ones reported."""
    batches = request.app[BATCHES]
    await batches.request_cancel(request["owner"], request.match_info["job_id"])
    request.app[BATCH_DRIVER].wake()
    return web.json_response(await _wire(request, request.match_info["job_id"]))
