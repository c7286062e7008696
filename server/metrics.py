"""This process's measurements, kept and exposed by prometheus-client.

Counters and histograms are counted as the work happens; gauges (jobs by state, workers,
memory) are set at scrape time from what owns them (`Metrics.node`). Prometheus scrapes every
node and sums. Figures measured inside the worker processes (each page's time on its worker)
come back with the page's reply to this process, so one registry holds them all: no
multiprocess directory to share between processes and clean up after dead workers.
"""

from __future__ import annotations

import math
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    GCCollector,
    Histogram,
    Info,
    PlatformCollector,
    ProcessCollector,
    disable_created_metrics,
)
from prometheus_client.exposition import choose_encoder

# A `_created` series per counter doubles the exposition for a timestamp that the
# Prometheus text format's scrapers ignore.
disable_created_metrics()

# Pages read from a text layer take milliseconds; dense OCR pages take seconds.
PAGE_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)

# How a page was read, as its "source" says.
PAGE_SOURCES = ("ocr", "text_layer")
# A version an Accept header's media range may name: numbers, each short enough for int().
_VERSION = re.compile(r"([0-9]{1,9}(\.[0-9]{1,9})*)?", re.ASCII)

# The runner's and the deliverer's counters: name -> (help text, label names).
COUNTERS: dict[str, tuple[str, tuple[str, ...]]] = {
    "tessera_work_started_total": (
        "Jobs and page ranges started on this node, by kind (job or range) and whether they "
        "resume a run that was cut short (resumed true or false).",
        ("kind", "resumed"),
    ),
    "tessera_jobs_finished_total": ("Job outcomes stored by this node, by status.", ("status",)),
    "tessera_outcome_write_retries_total": (
        "Tries of a job's final write that failed (a full disk, a failing database) and "
        "were made again.",
        (),
    ),
    "tessera_work_released_total": (
        "Jobs and page ranges given back unfinished at shutdown, for the next start.",
        (),
    ),
    "tessera_work_stopped_total": (
        "Jobs and page ranges stopped on this node because their owner cancelled them or "
        "another node took them over.",
        (),
    ),
    "tessera_ranges_created_total": (
        "Page ranges that large jobs were split into on this node.",
        (),
    ),
    "tessera_webhook_attempts_total": (
        "Webhook delivery tries from this node, by outcome.",
        ("outcome",),
    ),
    "tessera_outputs_total": (
        "Output files (output_formats) written on this node, by format and outcome "
        "(written or failed).",
        ("format", "result"),
    ),
}


@dataclass(frozen=True)
class NodeState:
    """What the gauges show, read from their owners when a scrape comes."""

    draining: bool
    job_counts: dict[str, int] | None  # None when the store did not answer
    jobs_queued: int
    jobs_running: int
    pages_queued: int
    workers: int
    workers_busy: int
    worker_pids: dict[int, int]  # worker number -> pid
    sync_running: int = 0  # /v1/ocr requests holding a slot
    sync_waiting: int = 0  # /v1/ocr requests waiting for one


class Metrics:
    """This process's registry: its counters, histograms and gauges."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        # The conventional process_* (the server's memory, CPU, open files) and python_*.
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        GCCollector(registry=self.registry)
        self._build = Info(
            "tessera_build", "The running version and OCR backend.", registry=self.registry
        )
        self._started = Gauge(
            "tessera_start_time_seconds",
            "When this process started, unix seconds.",
            registry=self.registry,
        )
        self._started.set(time.time())
        self._counters = {
            name: Counter(name, help_text, labels, registry=self.registry)
            for name, (help_text, labels) in COUNTERS.items()
        }
        self._pages = Counter(
            "tessera_pages_processed_total",
            "Pages read on this node (jobs and /v1/ocr), by how they were read.",
            ["source"],
            registry=self.registry,
        )
        self._page_failures = Counter(
            "tessera_page_failures_total",
            "Pages that could not be read (timeout, crash, damaged), on this node.",
            registry=self.registry,
        )
        self._page_seconds = Histogram(
            "tessera_page_duration_seconds",
            "Seconds from a page's submission to the pool to its result, waiting for a "
            "free worker included.",
            ["source"],
            buckets=PAGE_BUCKETS,
            registry=self.registry,
        )
        self._worker_page_seconds = Histogram(
            "tessera_worker_page_duration_seconds",
            "Seconds a worker process spent reading a page, measured inside the worker, by "
            "worker number (a replacement keeps the number of the worker it replaces).",
            ["worker"],
            buckets=PAGE_BUCKETS,
            registry=self.registry,
        )
        self._worker_restarts = Counter(
            "tessera_worker_restarts_total",
            "Worker processes replaced after a crash, a timeout or a cancellation.",
            registry=self.registry,
        )
        for source in PAGE_SOURCES:
            # Present from the start, so a rate over the first pages is not lost.
            self._pages.labels(source=source)
            self._page_seconds.labels(source=source)
        self._gauges = _NodeGauges(self.registry)

    def build(self, version: str, backend: str) -> None:
        """Say what runs, once the engine is up."""
        self._build.info({"version": version, "backend": backend})

    def count(self, name: str, amount: int = 1, **labels: str) -> None:
        """Add to one of COUNTERS."""
        counter = self._counters[name]
        (counter.labels(**labels) if labels else counter).inc(amount)

    def outputs(self, written: dict[str, int | str]) -> None:
        """Count output files: a size where one was written, a message where one failed."""
        for fmt, outcome in written.items():
            result = "written" if isinstance(outcome, int) else "failed"
            self.count("tessera_outputs_total", format=fmt, result=result)

    # The engine's observer (ocr_engine.EngineObserver): told of every page read, for jobs
    # and synchronous requests alike, and of what happens to the workers.

    def page_read(self, source: str, seconds: float) -> None:
        self._pages.labels(source=source).inc()
        self._page_seconds.labels(source=source).observe(seconds)

    def page_failed(self) -> None:
        self._page_failures.inc()

    def page_worked(self, worker: int, seconds: float) -> None:
        self._worker_page_seconds.labels(worker=str(worker)).observe(seconds)

    def worker_replaced(self) -> None:
        self._worker_restarts.inc()

    # -- the scrape --------------------------------------------------------------------------

    def exposition(self, state: NodeState, accept: str | None) -> tuple[bytes, str]:
        """The registry in the format the scraper asked for (Prometheus text or OpenMetrics),
        and its content type."""
        for worker in state.worker_pids:
            self._worker_page_seconds.labels(worker=str(worker))  # listed before its first page
        self._gauges.set(state)
        encode, content_type = choose_encoder(servable(accept or ""))
        return encode(self.registry), content_type


def servable(accept: str) -> str:
    """An Accept header without the media ranges whose `version` is no version number
    ("1.0.0"): prometheus-client compares a version's parts as numbers, and a part that is
    not one ("version=abc", "1.0.0-rc1") failed the scrape with a TypeError. The scraper
    gets what it would get without them, the Prometheus text format by default."""
    return ",".join(
        media for media in accept.split(",") if all(map(_versioned, media.split(";")[1:]))
    )


def _versioned(parameter: str) -> bool:
    """Whether a media range's parameter is no version, or a version of numbers."""
    key, equals, value = parameter.strip().partition("=")
    return key != "version" or not equals or _VERSION.fullmatch(value.strip()) is not None


class _NodeGauges:
    """The gauges set from a NodeState at each scrape."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.draining = Gauge("tessera_draining", "1 once a shutdown has begun.", registry=registry)
        self.store_up = Gauge(
            "tessera_store_up",
            "1 if the job store answered this scrape's query.",
            registry=registry,
        )
        self.jobs = Gauge(
            "tessera_jobs",
            "Jobs in the job store by state, all nodes.",
            ["state"],
            registry=registry,
        )
        self.jobs_queued = Gauge(
            "tessera_jobs_queued",
            "Jobs waiting to be claimed (the queue depth), all nodes.",
            registry=registry,
        )
        self.jobs_running = Gauge(
            "tessera_jobs_running", "Jobs running on this node.", registry=registry
        )
        self.pages_queued = Gauge(
            "tessera_pages_queued",
            "Pages waiting for a free worker on this node.",
            registry=registry,
        )
        self.workers = Gauge(
            "tessera_workers", "Worker processes the pool is configured with.", registry=registry
        )
        self.workers_busy = Gauge(
            "tessera_workers_busy", "Worker processes reading a page now.", registry=registry
        )
        self.sync_running = Gauge(
            "tessera_sync_requests_running",
            "/v1/ocr requests being read on this node.",
            registry=registry,
        )
        self.sync_waiting = Gauge(
            "tessera_sync_requests_waiting",
            "/v1/ocr requests waiting for their turn on this node.",
            registry=registry,
        )
        self.memory = Gauge(
            "tessera_resident_memory_bytes",
            "Resident memory (VmRSS) of the server process and of each worker (by pid, and by "
            "worker number for workers).",
            ["process", "pid", "worker"],
            registry=registry,
        )

    def set(self, state: NodeState) -> None:
        self.draining.set(int(state.draining))
        self.store_up.set(int(state.job_counts is not None))
        self.jobs.clear()
        if state.job_counts is None:
            # Unknown this scrape: NaN, not the last count, which could pass for a fresh one.
            self.jobs_queued.set(math.nan)
        else:
            for name, count in state.job_counts.items():
                self.jobs.labels(state=name).set(count)
            self.jobs_queued.set(state.jobs_queued)
        self.jobs_running.set(state.jobs_running)
        self.pages_queued.set(state.pages_queued)
        self.workers.set(state.workers)
        self.workers_busy.set(state.workers_busy)
        self.sync_running.set(state.sync_running)
        self.sync_waiting.set(state.sync_waiting)
        self.memory.clear()  # a replaced worker's pid goes with it
        own = resident_bytes()
        if own is not None:
            # An empty label is no label to Prometheus: the server has no worker number.
            self.memory.labels(process="server", pid=str(os.getpid()), worker="").set(own)
        for worker, pid in state.worker_pids.items():
            rss = resident_bytes(pid)
            if rss is not None:
                self.memory.labels(process="worker", pid=str(pid), worker=str(worker)).set(rss)


def resident_bytes(pid: int | str = "self") -> int | None:
    """Resident memory of a process (VmRSS), or None if it is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024  # reported in kB
    return None  # a zombie has no VmRSS


def alive(pid: int) -> bool:
    """Whether the process exists and is not a zombie."""
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return resident_bytes(pid) is not None
