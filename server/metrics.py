"""This process's measurements, and the Prometheus text exposition of them.

Counters and histograms live here, per process: Prometheus scrapes every node and sums.
Gauges (jobs by state, workers, memory) are read at scrape time from what owns them. The
text format (version 0.0.4) is small enough to write by hand, so there is no client library.
"""

from __future__ import annotations

import math
import os
import time
from bisect import bisect_left
from collections.abc import Iterable, Mapping
from pathlib import Path

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# Pages read from a text layer take milliseconds; dense OCR pages take seconds.
PAGE_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)

# How a page was read, as its "source" says.
PAGE_SOURCES = ("ocr", "text_layer")

Labels = tuple[tuple[str, str], ...]


class Histogram:
    """Cumulative buckets, a sum and a count, per label set."""

    def __init__(self, buckets: Iterable[float]) -> None:
        self.buckets = tuple(sorted(buckets))
        self._series: dict[Labels, tuple[list[int], list[float]]] = {}

    def series(self, labels: Labels = ()) -> tuple[list[int], list[float]]:
        """The counts and sum of one label set, created empty on first use."""
        return self._series.setdefault(labels, ([0] * (len(self.buckets) + 1), [0.0]))

    def observe(self, value: float, labels: Labels = ()) -> None:
        counts, total = self.series(labels)
        counts[bisect_left(self.buckets, value)] += 1  # le is inclusive: bisect_left
        total[0] += value

    def samples(self, name: str) -> Iterable[tuple[str, Labels, float]]:
        for labels, (counts, total) in sorted(self._series.items()):
            running = 0
            for bound, count in zip((*self.buckets, math.inf), counts, strict=True):
                running += count
                yield f"{name}_bucket", (*labels, ("le", _number(bound))), running
            yield f"{name}_sum", labels, total[0]
            yield f"{name}_count", labels, running


# The runner's and the deliverer's counters: name -> help text.
COUNTERS = {
    "tessera_work_started_total": (
        "Jobs and page ranges started on this node, by kind (job or range) and whether they "
        "resume a run that was cut short (resumed true or false)."
    ),
    "tessera_jobs_finished_total": "Job outcomes stored by this node, by status.",
    "tessera_outcome_write_retries_total": (
        "Tries of a job's final write that failed (a full disk, a failing database) and "
        "were made again."
    ),
    "tessera_work_released_total": (
        "Jobs and page ranges given back unfinished at shutdown, for the next start."
    ),
    "tessera_work_stopped_total": (
        "Jobs and page ranges stopped on this node because their owner cancelled them or "
        "another node took them over."
    ),
    "tessera_ranges_created_total": "Page ranges that large jobs were split into on this node.",
    "tessera_webhook_attempts_total": "Webhook delivery tries from this node, by outcome.",
    "tessera_outputs_total": (
        "Output files (output_formats) written on this node, by format and outcome "
        "(written or failed)."
    ),
}


class Metrics:
    """The counters and histograms of this process."""

    def __init__(self) -> None:
        self.started = time.time()
        self.pages: dict[Labels, int] = {}
        self.page_failures = 0
        self.page_seconds = Histogram(PAGE_BUCKETS)
        self.counters: dict[str, dict[Labels, int]] = {name: {} for name in COUNTERS}
        for source in PAGE_SOURCES:
            # Present from the start, so a rate over the first pages is not lost.
            self.pages[(("source", source),)] = 0
            self.page_seconds.series((("source", source),))

    def count(self, name: str, amount: int = 1, **labels: str) -> None:
        """Add to one of COUNTERS."""
        series = self.counters[name]
        key = tuple(sorted(labels.items()))
        series[key] = series.get(key, 0) + amount

    def outputs(self, written: dict[str, int | str]) -> None:
        """Count output files: a size where one was written, a message where one failed."""
        for fmt, outcome in written.items():
            result = "written" if isinstance(outcome, int) else "failed"
            self.count("tessera_outputs_total", format=fmt, result=result)

    # The engine's observer (ocr_engine.EngineObserver): told of every page read, for jobs
    # and synchronous requests alike.

    def page_read(self, source: str, seconds: float) -> None:
        labels = (("source", source),)
        self.pages[labels] = self.pages.get(labels, 0) + 1
        self.page_seconds.observe(seconds, labels)

    def page_failed(self) -> None:
        self.page_failures += 1


class Exposition:
    """Prometheus text: HELP and TYPE once per family, then its samples."""

    def __init__(self) -> None:
        self._lines: list[str] = []

    def family(
        self, name: str, kind: str, help_text: str, samples: Iterable[tuple[Labels, float]]
    ) -> None:
        self._lines += [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]
        self._lines += [_sample(name, labels, value) for labels, value in samples]

    def one(
        self,
        name: str,
        kind: str,
        help_text: str,
        value: float,
        labels: Mapping[str, str] | None = None,
    ) -> None:
        self.family(name, kind, help_text, [(tuple((labels or {}).items()), value)])

    def histogram(self, name: str, help_text: str, histogram: Histogram) -> None:
        self._lines += [f"# HELP {name} {help_text}", f"# TYPE {name} histogram"]
        self._lines += [_sample(n, labels, value) for n, labels, value in histogram.samples(name)]

    def text(self) -> str:
        return "\n".join(self._lines) + "\n"


def _sample(name: str, labels: Labels, value: float) -> str:
    if labels:
        inner = ",".join(f'{k}="{_escape(v)}"' for k, v in labels)
        return f"{name}{{{inner}}} {_number(value)}"
    return f"{name} {_number(value)}"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _number(value: float) -> str:
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if isinstance(value, int) or float(value).is_integer():
        return str(int(value))
    return repr(float(value))


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
