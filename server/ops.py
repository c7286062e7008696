"""Routes for whoever runs the service: Prometheus metrics and readiness.

Both answer without a key, like /health: probes and scrapers are configured per node, and
neither route says anything about a job, an owner or a document, only counts.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time

from aiohttp import web

from ocr_engine import TesseraError

from . import __version__
from .appkeys import ENGINE, LIFECYCLE, METRICS, RUNNER, SETTINGS, SPOOL, STORE
from .config import MB
from .errors import Unavailable
from .jobs import JobStatus
from .metrics import CONTENT_TYPE, COUNTERS, Exposition, Metrics, alive, resident_bytes

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
    """Prometheus text exposition of this node."""
    app = request.app
    counted = app[METRICS]
    pool = app[ENGINE].pool
    counts = await _job_counts(app)
    out = Exposition()
    out.one(
        "tessera_build_info",
        "gauge",
        "The running version and OCR backend.",
        1,
        {"version": __version__, "backend": app[ENGINE].config.backend},
    )
    out.one(
        "tessera_start_time_seconds",
        "gauge",
        "When this process started, unix seconds.",
        counted.started,
    )
    out.one(
        "tessera_draining", "gauge", "1 once a shutdown has begun.", int(app[LIFECYCLE].draining)
    )
    out.one(
        "tessera_store_up",
        "gauge",
        "1 if the job store answered this scrape's query.",
        int(counts is not None),
    )
    if counts is not None:
        out.family(
            "tessera_jobs",
            "gauge",
            "Jobs in the job store by state, all nodes.",
            [((("state", state),), n) for state, n in sorted(counts.items())],
        )
        out.one(
            "tessera_jobs_queued",
            "gauge",
            "Jobs waiting to be claimed (the queue depth), all nodes.",
            counts.get(JobStatus.PENDING.value, 0),
        )
    out.one("tessera_jobs_running", "gauge", "Jobs running on this node.", app[RUNNER].running)
    out.family(
        "tessera_pages_processed_total",
        "counter",
        "Pages read on this node (jobs and /v1/ocr), by how they were read.",
        sorted(counted.pages.items()),
    )
    for name, help_text in COUNTERS.items():
        out.family(name, "counter", help_text, sorted(counted.counters[name].items()))
    out.one(
        "tessera_page_failures_total",
        "counter",
        "Pages that could not be read (timeout, crash, damaged), on this node.",
        counted.page_failures,
    )
    out.histogram(
        "tessera_page_duration_seconds",
        "Seconds from a page's submission to the pool to its result, waiting for a "
        "free worker included.",
        counted.page_seconds,
    )
    out.one(
        "tessera_pages_queued",
        "gauge",
        "Pages waiting for a free worker on this node.",
        pool.queued,
    )
    out.one("tessera_workers", "gauge", "Worker processes the pool is configured with.", pool.size)
    out.one("tessera_workers_busy", "gauge", "Worker processes reading a page now.", pool.busy)
    out.one(
        "tessera_worker_restarts_total",
        "counter",
        "Worker processes replaced after a crash, a timeout or a cancellation.",
        pool.restarts,
    )
    memory = [((("process", "server"), ("pid", str(os.getpid()))), resident_bytes())]
    memory += [
        ((("process", "worker"), ("pid", str(pid))), resident_bytes(pid)) for pid in pool.pids
    ]
    out.family(
        "tessera_resident_memory_bytes",
        "gauge",
        "Resident memory (VmRSS) of the server process and of each worker.",
        [(labels, value) for labels, value in memory if value is not None],
    )
    return web.Response(text=out.text(), headers={"Content-Type": CONTENT_TYPE})


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
