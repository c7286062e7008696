"""Tessera under a gateway's load: many clients at once, a mix of documents, both APIs.

Up to `CLIENTS` clients each send one request after another for `DURATION_S` seconds (a
closed loop, as a gateway's callers do), to a fresh `tessera serve` with 2 workers: small one-line
images, single dense scanned pages and 3-page scans, in the proportions of `MIX`, through
`/v1/ocr` (`SYNC_SHARE` of them) or `/v1/async/ocr` with long polls. Each request's latency
runs from its send to its answer (for an async job, to the poll that finds it finished).

The workers' capacity is measured in the same run first: for each class alone, `PARALLEL`
requests at a time for a few rounds, pages/s. The mix's capacity follows from the share of
pages each class had under load (a page of a class takes 1/capacity of a second of the
pool). Throughput under load is set against it. No request should fail: errors are counted
by status.

A closed loop keeps every client's request outstanding, so the last request in line waits for
all the others' pages. On a machine too slow to read them within `TESSERA_SYNC_WAIT` the
contract is a 429 with `Retry-After`, not a wait, and such a run would measure refusals, not
the queue: the clients are as many as keep that wait, at the measured capacity, within
`WAIT_SHARE` of the deadline, and at most `CLIENTS`.

`make bench` runs it; `python -m tools.load_bench` runs it alone.
"""

from __future__ import annotations

import argparse
import logging
import random
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from server.config import Settings
from tools import corpus
from tools.benchmark import (
    JSON_HEADERS,
    PARALLEL,
    SMALL_TEXT,
    BenchmarkFailed,
    markdown_table,
    percentile,
    request_body,
    tessera_server,
)

log = logging.getLogger("tools.benchmark.load")

CLIENTS = 50
SYNC_WAIT_S = Settings.model_fields["sync_wait"].default  # TESSERA_SYNC_WAIT's default
WAIT_SHARE = 0.4  # of the deadline: the mean wait; the slowest requests wait half as long again
DURATION_S = 60.0
MIX = {"small image": 0.6, "dense page": 0.3, "3-page scan": 0.1}  # shares of requests
SYNC_SHARE = 0.7
CAPACITY_ROUNDS = 3
LONG_POLL_S = 30


@dataclass(frozen=True)
class Kind:
    name: str
    pages: int
    body: bytes


@dataclass
class LoadRun:
    capacity: dict[str, float]  # pages/s of each class alone
    latencies: dict[tuple[str, str], list[float]] = field(default_factory=dict)  # (kind, api)
    pages: Counter[str] = field(default_factory=Counter)
    statuses: Counter[int] = field(default_factory=Counter)
    seconds: float = 0.0
    duration: float = DURATION_S  # how long the clients kept sending
    clients: int = CLIENTS

    @property
    def total_pages(self) -> int:
        return sum(self.pages.values())

    @property
    def mix_capacity(self) -> float:
        """Pages/s the workers could give this run's mix of pages, from each class alone."""
        total = self.total_pages
        if not total:
            return 0.0
        return 1 / sum(count / total / self.capacity[kind] for kind, count in self.pages.items())

    def clients_for_deadline(self, kinds: list[Kind]) -> int:
        """How many closed-loop clients the workers serve within `WAIT_SHARE` of the sync
        deadline: a request's pool seconds, over the mix, from each class's capacity."""
        per_request = sum(
            MIX[k.name] * k.pages / self.capacity[k.name] for k in kinds if self.capacity[k.name]
        )
        if per_request <= 0:
            return CLIENTS
        return max(PARALLEL, min(CLIENTS, int(WAIT_SHARE * SYNC_WAIT_S / per_request)))

    @property
    def errors(self) -> int:
        return sum(n for status, n in self.statuses.items() if status >= 400)


def prepare_kinds(directory: Path) -> list[Kind]:
    """The three classes' request bodies, from the benchmark's own corpus."""
    directory.mkdir(parents=True, exist_ok=True)
    dense = corpus.dense_pdf(directory / "dense.pdf", min_pages=3)
    one = corpus.image_only_pdf(dense, directory / "one.pdf", pages=1).read_bytes()
    three = corpus.image_only_pdf(dense, directory / "three.pdf", pages=3).read_bytes()
    small = corpus.image_bytes(corpus.text_image([SMALL_TEXT]))
    return [
        Kind("small image", 1, request_body("image_url", "image/png", small)),
        Kind("dense page", 1, request_body("document_url", "application/pdf", one)),
        Kind("3-page scan", 3, request_body("document_url", "application/pdf", three)),
    ]


def send(client: httpx.Client, kind: Kind, api: str) -> int:
    """One request to its end: the final HTTP status."""
    if api == "sync":
        return client.post("/v1/ocr", content=kind.body, headers=JSON_HEADERS).status_code
    created = client.post("/v1/async/ocr", content=kind.body, headers=JSON_HEADERS)
    if created.status_code != 202:
        return created.status_code
    job_id = created.json()["id"]
    while True:
        polled = client.get(f"/v1/async/ocr/{job_id}", params={"wait": LONG_POLL_S})
        if polled.status_code != 202:
            job = polled.json()
            # A failed job answers its poll with 200; what counts is the status it failed with.
            return 200 if job.get("status") == "completed" else int(job.get("status_code") or 500)


def measure_capacity(client: httpx.Client, kinds: list[Kind]) -> dict[str, float]:
    """Pages/s of each class alone, `PARALLEL` requests at a time."""
    capacity = {}
    with ThreadPoolExecutor(PARALLEL) as pool:
        for kind in kinds:
            send(client, kind, "sync")  # warm
            started = time.perf_counter()
            for _ in range(CAPACITY_ROUNDS):
                statuses = list(
                    pool.map(lambda _, k=kind: send(client, k, "sync"), range(PARALLEL))
                )
                if statuses != [200] * PARALLEL:
                    raise BenchmarkFailed(f"{kind.name} alone answered {statuses}")
            seconds = time.perf_counter() - started
            capacity[kind.name] = CAPACITY_ROUNDS * PARALLEL * kind.pages / seconds
            log.info("capacity: %s %.2f pages/s", kind.name, capacity[kind.name])
    return capacity


def run_load(client: httpx.Client, kinds: list[Kind], run: LoadRun, duration: float) -> None:
    lock = threading.Lock()
    weights = [MIX[k.name] for k in kinds]
    stop_at = time.perf_counter() + duration

    def client_loop(seed: int) -> None:
        rng = random.Random(seed)
        while time.perf_counter() < stop_at:
            kind = rng.choices(kinds, weights)[0]
            api = "sync" if rng.random() < SYNC_SHARE else "async"
            started = time.perf_counter()
            try:
                status = send(client, kind, api)
            except httpx.HTTPError:
                status = 599  # no answer at all
            latency = time.perf_counter() - started
            with lock:
                run.statuses[status] += 1
                if status < 400:
                    run.latencies.setdefault((kind.name, api), []).append(latency)
                    run.pages[kind.name] += kind.pages

    started = time.perf_counter()
    with ThreadPoolExecutor(run.clients) as pool:
        list(pool.map(client_loop, range(run.clients)))
    run.seconds = time.perf_counter() - started


def measure_load(workdir: Path, duration: float = DURATION_S) -> LoadRun:
    kinds = prepare_kinds(workdir / "load-inputs")
    limits = httpx.Limits(max_connections=CLIENTS + PARALLEL)
    with (
        tessera_server("tesserocr", workdir) as base,
        httpx.Client(base_url=base.base_url, timeout=300, limits=limits) as client,
    ):
        log.info("load: measuring each class alone")
        run = LoadRun(measure_capacity(client, kinds), duration=duration)
        run.clients = run.clients_for_deadline(kinds)
        log.info("load: %d clients for %.0f s", run.clients, duration)
        run_load(client, kinds, run, duration)
    return run


def load_report(run: LoadRun, *, first_note: int) -> list[str]:
    rows = []
    for kind in MIX:
        for api in ("sync", "async"):
            values = run.latencies.get((kind, api), [])
            if not values:
                continue
            rows.append(
                [
                    kind,
                    "/v1/ocr" if api == "sync" else "/v1/async/ocr",
                    str(len(values)),
                    *(f"{percentile(values, q):.1f}" for q in (50, 95, 99)),
                ]
            )
    throughput = run.total_pages / run.seconds if run.seconds else 0.0
    ratio = throughput / run.mix_capacity if run.mix_capacity else 0.0
    statuses = ", ".join(f"{s}: {n}" for s, n in sorted(run.statuses.items()))
    capacity = ", ".join(f"{k} {v:.2f}" for k, v in run.capacity.items())
    return [
        f"**Load**: {run.clients} clients at once for {run.duration:.0f} s, each sending one "
        "request after another (60 % small images, 30 % dense pages, 10 % 3-page scans; "
        f"{SYNC_SHARE:.0%} through /v1/ocr, the rest through /v1/async/ocr).",
        "",
        *markdown_table(["class", "API", "requests", "p50 s", "p95 s", "p99 s"], rows),
        "",
        f"Pages read: {run.total_pages} in {run.seconds:.0f} s, {throughput:.2f} pages/s; the "
        f"workers' capacity for this mix, measured alone in the same run: "
        f"{run.mix_capacity:.2f} pages/s ({ratio:.0%} of it used). Answers by status: {statuses}.",
        "",
        f"[{first_note}] A fresh `tessera serve --workers {PARALLEL}` with its defaults; clients "
        "are threads of one process on the same machine, so they take some of its two cores. "
        f"Capacity, pages/s of each class alone ({PARALLEL} requests at a time, "
        f"{CAPACITY_ROUNDS} rounds): {capacity}. Latency from sending to the answer (an async "
        "job: to the long poll that finds it finished). Clients: "
        f"{CLIENTS}, or fewer on a machine whose capacity would keep the last of them waiting "
        f"longer than {WAIT_SHARE:.0%} of the {SYNC_WAIT_S:.0f} s sync deadline "
        "(`TESSERA_SYNC_WAIT`), past which the contract is a 429, not a wait.",
        "",
        f"- **Load target**: no errors: {run.errors} error answer(s), "
        f"{'met' if not run.errors else 'NOT met'}.",
    ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tools.load_bench", description=__doc__)
    parser.add_argument("--workdir", type=Path, default=Path("bench-data"))
    parser.add_argument("--duration", type=float, default=DURATION_S)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="bench: %(message)s", stream=sys.stderr)
    log.setLevel(logging.INFO)
    try:
        run = measure_load(args.workdir.resolve(), args.duration)
    except BenchmarkFailed as e:
        sys.exit(f"benchmark failed: {e}")
    sys.stdout.write("\n".join(load_report(run, first_note=1)) + "\n")


if __name__ == "__main__":
    main()
