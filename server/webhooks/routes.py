"""`GET /v1/webhooks/deliveries`: what became of a job's webhook, try by try."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from ocr_engine.errors import InvalidRequest

from ..appkeys import STORE
from ..errors import JobNotFound
from ..wire import maybe_time, present, rfc3339

routes = web.RouteTableDef()


@routes.get("/v1/webhooks/deliveries")
async def deliveries(request: web.Request) -> web.Response:
    """A job's webhook state and its delivery attempts, newest first; only its owner sees it."""
    job_id = request.query.get("job_id", "").strip()
    if not job_id:
        raise InvalidRequest(
            "Name the job whose deliveries to list: /v1/webhooks/deliveries?job_id=<id>.",
            param="job_id",
        )
    store = request.app[STORE]
    job = await store.get(job_id, request["owner"])
    if job is None:
        raise JobNotFound()
    attempts = await store.deliveries(job_id=job_id)
    body: dict[str, Any] = {
        "object": "list",
        "job_id": job.id,
        "endpoint": job.webhook,
        "state": job.webhook_state,
        "attempts": job.webhook_attempts,
        "next_attempt_at": maybe_time(job.webhook_next_at)
        if job.webhook_state == "pending"
        else None,
        "delivered_at": maybe_time(job.webhook_delivered_at),
        "last_error": job.webhook_error,
        "data": [_attempt(a) for a in attempts],
    }
    return web.Response(text=json.dumps(present(body)), content_type="application/json")


def _attempt(row: dict[str, object]) -> dict[str, object]:
    at = row["at"]
    return present(
        {
            "attempt": row["attempt"],
            "event": row["event"],
            "at": rfc3339(at) if isinstance(at, int | float) else at,
            "status_code": row["status_code"],
            "delivered": row["delivered"],
            "error": row["error"],
        }
    )
