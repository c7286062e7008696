"""Routes for whoever runs the service: Prometheus metrics and readiness.

Both answer without a key, like /health: probes and scrapers are configured per node, and
neither route says anything about a job, an owner or a document, only counts.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time

from aiohttp import web

from ocr_engine import TesseraError

from . import __version__
from .appkeys import ENGINE, LIFECYCLE, METRICS, RUNNER, SETTINGS, SPOOL, STORE, SYNC_QUEUE
from .config import MB
from .errors import Unavailable
from .jobs import JobStatus
from .metrics import Metrics, NodeState, alive

log = logging.getLogger(__name__)

routes = web.RouteTableDef()

PATHS = frozenset({"/metrics", "/ready"})
_STORE_CHECK_TIMEOUT_S = 2.0
_NOT_READY_RETRY_AFTER_S = 5


def setup(app: web.Application) -> None:
    """Add the metrics object (the engine reports every page read to it) and the routes."""
    app[METRICS] = Metrics()
    app.add_routes(routes)


async def _job_counts(app: web.Application) -> dict[str, int] | None:
    try:
        return await asyncio.wait_for(app[STORE].counts(), _STORE_CHECK_TIMEOUT_S)
    except (TesseraError, TimeoutError):
        return None


@routes.get("/metrics")
async def metrics(request: web.Request) -> web.Response:
    """This node's metrics, as Prometheus text or OpenMetrics, as the Accept header asks."""
    app = request.app
    pool = app[ENGINE].pool
    counts = await _job_counts(app)
    state = NodeState(
        draining=app[LIFECYCLE].draining,
        job_counts=counts,
        jobs_queued=(counts or {}).get(JobStatus.PENDING.value, 0),
        jobs_running=app[RUNNER].running,
        pages_queued=pool.queued,
        workers=pool.size,
        workers_busy=pool.busy,
        worker_pids=pool.numbered_pids,
        sync_running=app[SYNC_QUEUE].running,
        sync_waiting=app[SYNC_QUEUE].waiting,
    )
    counted = app[METRICS]
    counted.build(__version__, app[ENGINE].config.backend)
    body, content_type = counted.exposition(state, request.headers.get("Accept"))
    return web.Response(body=body, headers={"Content-Type": content_type})


@routes.get("/ready")
async def ready(request: web.Request) -> web.Response:
    """Readiness: workers up, job store answering, not shutting down. No key needed."""
    app = request.app
    pool = app[ENGINE].pool
    workers = sum(1 for pid in pool.pids if alive(pid))
    if app[LIFECYCLE].draining:
        raise Unavailable(
            "Tessera is shutting down and takes no new work.", retry_after=_NOT_READY_RETRY_AFTER_S
        )
    if workers == 0:
        raise Unavailable(
            "No OCR worker process is running; they are being restarted.",
            retry_after=_NOT_READY_RETRY_AFTER_S,
        )
    free = await asyncio.to_thread(app[SPOOL].free_bytes)
    if free < app[SETTINGS].min_free_bytes:
        log.warning("not ready: %d MB free in the data directory", free // MB)
        raise Unavailable(
            f"The data directory's disk is nearly full ({free // MB} MB free; "
            f"new work needs {app[SETTINGS].min_free_mb} MB).",
            retry_after=_NOT_READY_RETRY_AFTER_S,
        )
    started = time.monotonic()
    try:
        await asyncio.wait_for(app[STORE].count_pending(), _STORE_CHECK_TIMEOUT_S)
    except (TesseraError, TimeoutError):
        log.warning("not ready: the job store did not answer")
        raise Unavailable(
            "The job store does not answer.", retry_after=_NOT_READY_RETRY_AFTER_S
        ) from None
    body = {
        "status": "ready",
        "workers": pool.size,
        "workers_alive": workers,
        "store_ms": round((time.monotonic() - started) * 1000, 1),
        "free_mb": free // MB,
    }
    return web.Response(text=json.dumps(body), content_type="application/json")
