"""Operations: metrics, readiness, JSON logs, long polls and idempotent creates."""

from __future__ import annotations

import json
import logging
import math
import signal
import time
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.metrics_core import Metric
from prometheus_client.openmetrics.parser import (
    text_string_to_metric_families as openmetrics_families,
)
from prometheus_client.parser import text_string_to_metric_families

from server import cli, logs
from server.metrics import Metrics, NodeState
from tests.conftest import Server, ocr_body, wait_until
from tests.test_api import assert_bifrost_error
from tools import corpus

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse_metrics(families: Iterable[Metric]) -> Samples:
    """Every sample of an exposition, read by prometheus-client's own parser; no duplicates."""
    samples: Samples = {}
    for family in families:
        for sample in family.samples:
            key = (sample.name, frozenset(sample.labels.items()))
            assert key not in samples, f"duplicate sample {sample}"
            samples[key] = sample.value
    return samples


def metric(samples: Samples, name: str, **labels: str) -> float:
    return samples[(name, frozenset(labels.items()))]


def by_label(samples: Samples, name: str, label: str) -> dict[str, float]:
    """The samples of `name` by the value of one of their labels."""
    return {dict(labels)[label]: v for (n, labels), v in samples.items() if n == name}


def scrape(server: Server) -> Samples:
    response = httpx.get(f"{server.url}/metrics", timeout=10)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    families = list(text_string_to_metric_families(response.text))
    for family in families:
        assert family.name.startswith(("tessera_", "process_", "python_")), family.name
    return parse_metrics(families)


@pytest.fixture(scope="module")
def slow_pdf(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """Three dense scanned pages: several seconds of OCR on one worker."""
    directory = tmp_path_factory.mktemp("slow")
    source = corpus.dense_pdf(directory / "dense.pdf")
    import pypdfium2 as pdfium

    page = pdfium.PdfDocument(str(source))[0].render(scale=200 / 72, grayscale=True).to_pil()
    return corpus.scanned_pages_pdf(directory / "scans.pdf", [page] * 3).read_bytes()


def _create(
    client: httpx.Client, data: bytes, headers: dict[str, str] | None = None, **fields: Any
) -> httpx.Response:
    response = client.post("/v1/async/ocr", json=ocr_body(data, **fields), headers=headers)
    assert response.status_code == 202, response.text
    return response


def _wait_status(client: httpx.Client, job_id: str, status: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while client.get(f"/v1/async/ocr/{job_id}").json()["status"] != status:
        assert time.monotonic() < deadline, f"job never reached {status}"
        time.sleep(0.05)


# -- metrics ------------------------------------------------------------------------------------


def test_metrics_move_with_the_work(
    server: Server, client: httpx.Client, hello_png: bytes, three_page_pdf: bytes
) -> None:
    before = scrape(server)
    assert metric(before, "tessera_workers") == 2
    assert metric(before, "tessera_store_up") == 1
    assert metric(before, "tessera_draining") == 0
    assert client.post("/v1/ocr", json=ocr_body(hello_png, mime="image/png")).status_code == 200
    job_id = _create(client, three_page_pdf).json()["id"]
    done = server.wait_job(client, job_id).json()
    assert done["status"] == "completed"
    assert [p["source"] for p in done["result"]["pages"]] == ["text_layer"] * 3
    after = scrape(server)

    def moved(name: str, **labels: str) -> float:
        return metric(after, name, **labels) - metric(before, name, **labels)

    assert moved("tessera_pages_processed_total", source="ocr") >= 1
    assert moved("tessera_pages_processed_total", source="text_layer") >= 3
    assert moved("tessera_page_duration_seconds_count", source="text_layer") >= 3
    assert moved("tessera_page_duration_seconds_sum", source="ocr") > 0
    assert moved("tessera_jobs", state="completed") >= 1
    # Buckets are cumulative and end in +Inf, which equals the count.
    buckets = sorted(
        (
            (float(dict(labels)["le"]), value)
            for (name, labels), value in after.items()
            if name == "tessera_page_duration_seconds_bucket" and ("source", "ocr") in labels
        )
    )
    assert buckets[-1][0] == math.inf
    assert [v for _, v in buckets] == sorted(v for _, v in buckets)
    assert buckets[-1][1] == metric(after, "tessera_page_duration_seconds_count", source="ocr")
    assert metric(after, "tessera_jobs_queued") == metric(after, "tessera_jobs", state="pending")
    assert metric(after, "tessera_worker_restarts_total") >= 0
    memory = by_label(after, "tessera_resident_memory_bytes", "pid")
    assert server.process is not None
    assert set(memory) == {str(server.process.pid), *map(str, server.worker_pids())}
    assert all(value > 10 * 1024 * 1024 for value in memory.values())
    assert metric(after, "process_resident_memory_bytes") > 10 * 1024 * 1024

    # The figures timed inside the workers: every page read above, on the worker that read it.
    worked = "tessera_worker_page_duration_seconds_count"
    per_worker = {
        w: n - by_label(before, worked, "worker")[w]
        for w, n in by_label(after, worked, "worker").items()
    }
    assert set(per_worker) == {"0", "1"}
    read = sum(moved("tessera_pages_processed_total", source=s) for s in ("ocr", "text_layer"))
    assert sum(per_worker.values()) == read
    assert (
        moved("tessera_worker_page_duration_seconds_sum", worker="0")
        + moved("tessera_worker_page_duration_seconds_sum", worker="1")
        > 0
    )
    workers = {
        dict(labels)["worker"]: dict(labels)["pid"]
        for name, labels in after
        if name == "tessera_resident_memory_bytes" and ("process", "worker") in labels
    }
    assert sorted(workers) == ["0", "1"]
    assert sorted(workers.values()) == sorted(map(str, server.worker_pids()))


def test_a_store_that_does_not_answer_leaves_the_job_gauges_unknown() -> None:
    counted = Metrics()
    answered = NodeState(False, {"pending": 4, "completed": 3}, 4, 0, 0, 2, 0, {0: 10, 1: 11})
    silent = replace(answered, job_counts=None, jobs_queued=0)
    body, _ = counted.exposition(answered, None)
    before = parse_metrics(text_string_to_metric_families(body.decode()))
    assert metric(before, "tessera_jobs", state="pending") == 4
    assert metric(before, "tessera_jobs_queued") == 4
    body, _ = counted.exposition(silent, None)
    after = parse_metrics(text_string_to_metric_families(body.decode()))
    assert metric(after, "tessera_store_up") == 0
    assert math.isnan(metric(after, "tessera_jobs_queued"))
    assert not by_label(after, "tessera_jobs", "state")


def test_metrics_in_openmetrics_when_asked(server: Server) -> None:
    response = httpx.get(
        f"{server.url}/metrics",
        headers={"Accept": "application/openmetrics-text; version=1.0.0"},
        timeout=10,
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/openmetrics-text")
    assert response.text.endswith("# EOF\n")
    samples = parse_metrics(openmetrics_families(response.text))
    assert metric(samples, "tessera_workers") == 2
    assert ("tessera_worker_page_duration_seconds_count", frozenset({("worker", "0")})) in samples


@pytest.mark.parametrize(
    "accept",
    [
        "application/openmetrics-text; version=abc",
        "application/openmetrics-text; version=1.0.0-rc1",
        "text/plain; version=1.a",
        "application/openmetrics-text; version=" + "1" * 5000,
    ],
)
def test_metrics_with_a_version_that_is_no_number_are_prometheus_text(
    server: Server, accept: str
) -> None:
    # prometheus-client compared such a version's parts as numbers: a TypeError, a 500 and a
    # traceback logged for any caller, since /metrics needs no key.
    response = httpx.get(f"{server.url}/metrics", headers={"Accept": accept}, timeout=10)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    assert metric(parse_metrics(text_string_to_metric_families(response.text)), "tessera_workers")


# -- long polls ---------------------------------------------------------------------------------


def test_long_poll_answers_when_the_job_ends(start_server: Any, slow_pdf: bytes) -> None:
    server = start_server(workers=1)
    with server.client() as client:
        job_id = _create(client, slow_pdf, pages=[0]).json()["id"]
        assert client.get(f"/v1/async/ocr/{job_id}").status_code == 202
        started = time.monotonic()
        response = client.get(f"/v1/async/ocr/{job_id}", params={"wait": 50})
        took = time.monotonic() - started
        assert response.status_code == 200, response.text
        assert response.json()["status"] == "completed"
        assert took < 45  # it answered when the job ended, not when the wait ran out

        # A job that does not end in time: the usual 202 once the wait is over.
        job_id = _create(client, slow_pdf).json()["id"]
        started = time.monotonic()
        response = client.get(f"/v1/async/ocr/{job_id}", params={"wait": "1.5"})
        took = time.monotonic() - started
        assert response.status_code == 202, response.text
        assert response.json()["status"] in ("pending", "processing")
        assert response.headers["Retry-After"]
        assert 1.4 <= took < 5
        client.delete(f"/v1/async/ocr/{job_id}")


@pytest.mark.parametrize("wait", ["soon", "-1", "nan", "inf", ""])
def test_a_bad_wait_is_400(client: httpx.Client, hello_png: bytes, wait: str) -> None:
    job_id = _create(client, hello_png, mime="image/png").json()["id"]
    response = client.get(f"/v1/async/ocr/{job_id}", params={"wait": wait})
    assert_bifrost_error(response, 400, param="wait", contains="'wait'")


def test_a_long_poll_of_a_finished_or_unknown_job_answers_at_once(
    server: Server, client: httpx.Client, hello_png: bytes
) -> None:
    job_id = _create(client, hello_png, mime="image/png").json()["id"]
    server.wait_job(client, job_id)
    started = time.monotonic()
    assert client.get(f"/v1/async/ocr/{job_id}", params={"wait": 3600}).status_code == 200
    unknown = client.get("/v1/async/ocr/00000000-0000-0000-0000-000000000000", params={"wait": 30})
    assert_bifrost_error(unknown, 404)
    assert time.monotonic() - started < 2


def test_long_polls_and_keys_span_the_nodes_of_a_fleet(
    start_server: Any, slow_pdf: bytes, postgres_url: str
) -> None:
    env = {"TESSERA_DATABASE_URL": postgres_url}
    nodes = [start_server(env, workers=1) for _ in range(2)]
    with nodes[0].client() as first, nodes[1].client() as second:
        created = _create(first, slow_pdf, pages=[0], headers={"Idempotency-Key": "scan-1"})
        job_id = created.json()["id"]
        again = _create(second, slow_pdf, pages=[0], headers={"Idempotency-Key": "scan-1"})
        assert again.json()["id"] == job_id
        assert again.json()["created_at"] == created.json()["created_at"]
        runners = wait_until(
            lambda: [n for n in nodes if n.metric("tessera_work_started_total")],
            timeout=30,
            what="a node starting the job",
        )
        # Poll from the node that is not running the job: only the database tells it the end.
        idle = nodes[1] if runners == [nodes[0]] else nodes[0]
        with idle.client() as client:
            assert client.get(f"/v1/async/ocr/{job_id}").status_code == 202
            response = client.get(f"/v1/async/ocr/{job_id}", params={"wait": 50})
        assert response.status_code == 200 and response.json()["status"] == "completed"
    for node in nodes:
        node.stop(signal.SIGKILL)


# -- readiness and draining ---------------------------------------------------------------------


def test_ready_until_draining(start_server: Any, slow_pdf: bytes) -> None:
    server = start_server({"TESSERA_SHUTDOWN_GRACE": "60"}, workers=1)
    with server.client() as client:
        ready = client.get("/ready")
        assert ready.status_code == 200, ready.text
        assert ready.json()["status"] == "ready" and ready.json()["workers_alive"] == 1
        job_id = _create(client, slow_pdf).json()["id"]
        _wait_status(client, job_id, "processing")
        assert server.process is not None
        server.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 5
        while (not_ready := client.get("/ready")).status_code == 200:
            assert time.monotonic() < deadline, "never stopped being ready"
            time.sleep(0.05)
        body = assert_bifrost_error(not_ready, 503, contains="shutting down")
        assert body["error"]["type"] == "server_error"
        assert int(not_ready.headers["Retry-After"]) > 0
        assert client.get("/health").status_code == 200  # alive, only not ready
        assert metric(scrape(server), "tessera_draining") == 1
        # A long poll does not hold a draining node's shutdown up.
        started = time.monotonic()
        poll = client.get(f"/v1/async/ocr/{job_id}", params={"wait": 50})
        assert poll.status_code in (200, 202)
        assert time.monotonic() - started < 5
    assert server.stop() == 0


def test_metrics_and_ready_need_no_key(start_server: Any) -> None:
    server = start_server({"TESSERA_API_KEYS": "alpha"}, workers=1)
    with server.client() as anonymous:
        assert anonymous.get("/v1/models").status_code == 401
        assert anonymous.get("/ready").status_code == 200
        assert anonymous.get("/metrics").status_code == 200


# -- idempotent creates -------------------------------------------------------------------------


def _documents(server: Server) -> set[str]:
    return {p.name for p in (server.data_dir / "documents").iterdir() if p.is_file()}


def test_a_repeated_create_answers_with_the_same_job(
    start_server: Any, slow_pdf: bytes, hello_png: bytes
) -> None:
    server = start_server(
        {"TESSERA_API_KEYS": "alpha,beta", "TESSERA_RUNNING_JOBS": "1"}, workers=1
    )
    with server.client("alpha") as alpha, server.client("beta") as beta:
        # One job at a time: the jobs below wait behind this one with their documents on disk.
        busy = _create(alpha, slow_pdf).json()["id"]
        first = _create(alpha, hello_png, mime="image/png", headers={"Idempotency-Key": "k-1"})
        again = _create(alpha, hello_png, mime="image/png", headers={"Idempotency-Key": "k-1"})
        assert again.json()["id"] == first.json()["id"]
        assert again.json()["created_at"] == first.json()["created_at"]
        assert again.headers["Idempotent-Replayed"] == "true"
        assert "Idempotent-Replayed" not in first.headers
        # The retry's document was not kept: only the two jobs' documents are on disk.
        assert _documents(server) == {busy, first.json()["id"]}

        other_key = _create(alpha, hello_png, mime="image/png", headers={"Idempotency-Key": "k-2"})
        other_owner = _create(beta, hello_png, mime="image/png", headers={"Idempotency-Key": "k-1"})
        ids = {first.json()["id"], other_key.json()["id"], other_owner.json()["id"]}
        assert len(ids) == 3
        assert beta.get(f"/v1/async/ocr/{first.json()['id']}").status_code == 404

        by_id = _create(alpha, hello_png, mime="image/png", id="request-7").json()
        assert _create(alpha, hello_png, mime="image/png", id="request-7").json() == by_id
        assert _create(alpha, hello_png, mime="image/png", id="request-8").json() != by_id
        plain = {_create(alpha, hello_png, mime="image/png").json()["id"] for _ in range(2)}
        assert len(plain) == 2  # no key, no idempotency

        too_long = alpha.post(
            "/v1/async/ocr",
            json=ocr_body(hello_png, mime="image/png"),
            headers={"Idempotency-Key": "k" * 256},
        )
        assert_bifrost_error(too_long, 400, param="Idempotency-Key")
        alpha.delete(f"/v1/async/ocr/{busy}")

        # Once finished, a retry still answers with the job, now in its finished state.
        server.wait_job(alpha, first.json()["id"])
        late = _create(alpha, hello_png, mime="image/png", headers={"Idempotency-Key": "k-1"})
        assert late.json()["id"] == first.json()["id"]
        assert late.json()["status"] == "completed"
        assert late.json()["created_at"] == first.json()["created_at"]


# -- logs ---------------------------------------------------------------------------------------


# Every line has these; the others appear where they apply (the access log's are aiohttp's
# request and response fields, passed to the log call as `extra`).
LINE_FIELDS = {"time", "level", "logger", "message", "pid"}
OPTIONAL_FIELDS = {"job_id", "exception", "stack"}
ACCESS_FIELDS = {
    "remote_address",
    "request_start_time",
    "first_request_line",
    "response_status",
    "response_size",
    "request_header",
}


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def collected(log: str) -> list[dict[str, Any]]:
    """The log read as a collector reads JSON lines (Fluent Bit's json parser, Vector's
    parse_json): each line one strict RFC 8259 object, NaN and Infinity refused."""
    entries = []
    for line in log.splitlines():
        entry = json.loads(line, parse_constant=_no_constants)
        assert isinstance(entry, dict), line
        assert set(entry) >= LINE_FIELDS, line
        extra = ACCESS_FIELDS if entry["logger"] == "tessera.access" else set()
        assert set(entry) <= LINE_FIELDS | OPTIONAL_FIELDS | extra, line
        assert isinstance(entry["pid"], int) and entry["time"].endswith("Z"), line
        entries.append(entry)
    return entries


def test_json_logs_carry_the_job_id(start_server: Any, hello_png: bytes) -> None:
    server = start_server({"TESSERA_LOG_FORMAT": "json"}, workers=1)
    with server.client() as client:
        job_id = _create(client, hello_png, mime="image/png").json()["id"]
        assert server.wait_job(client, job_id).json()["status"] == "completed"
    # The access log line of the last poll is written just after its answer.
    wait_until(
        lambda: f"/v1/async/ocr/{job_id}" in server.log().splitlines()[-1],
        timeout=5,
        what="the last poll's access log line",
    )
    lines = collected(server.log())
    access = [e for e in lines if e["logger"] == "tessera.access"]
    assert access and all(e["response_status"] in (200, 202) for e in access), access
    about_job = [e for e in lines if job_id in e["message"]]
    messages = [e["message"] for e in about_job if e["logger"] != "tessera.access"]
    assert any("accepted" in m for m in messages) and any("completed" in m for m in messages)
    assert all(e.get("job_id") == job_id for e in about_job), about_job
    assert not [e for e in lines if "job_id" in e and e["job_id"] != job_id]


def test_json_formatter() -> None:
    formatter = logs.JsonFormatter()

    def record(msg: str, *args: Any, **extra: Any) -> logging.LogRecord:
        made = logging.LogRecord("server.runner", logging.INFO, __file__, 1, msg, args, None)
        made.__dict__.update(extra)
        return made

    entry = json.loads(formatter.format(record("job %s: started (attempt %d)", "j-1", 1)))
    assert entry["message"] == "job j-1: started (attempt 1)" and entry["job_id"] == "j-1"
    assert entry["level"] == "INFO" and entry["logger"] == "server.runner"
    uuid = "2f0c6a4e-1111-4222-8333-944455556666"
    assert json.loads(formatter.format(record("%s: page %d failed", uuid, 3)))["job_id"] == uuid
    assert "job_id" not in json.loads(formatter.format(record("%s: page %d", "sync-ab", 3)))
    assert "job_id" not in json.loads(formatter.format(record("job store: at %s", "x")))
    assert json.loads(formatter.format(record("hello", job_id="j-2")))["job_id"] == "j-2"
    try:
        raise ValueError("boom")
    except ValueError:
        failed = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", (), None)
        import sys

        failed.exc_info = sys.exc_info()
    entry = json.loads(formatter.format(failed))
    assert "ValueError: boom" in entry["exception"] and "\n" not in formatter.format(failed)


def test_log_format_flag(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    seen: list[Any] = []

    async def fake_serve(settings: Any) -> None:
        seen.append(settings)

    monkeypatch.setattr(cli, "_serve", fake_serve)
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        cli.main(["serve", "--log-format", "json", "--data-dir", str(tmp_path)])
        assert seen[0].log_format == "json"
        assert isinstance(root.handlers[0].formatter, logs.JsonFormatter)
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
    with pytest.raises(SystemExit):
        cli.main(["serve", "--log-format", "xml"])


def test_worker_processes_log_json_too(start_server: Any, slow_pdf: bytes) -> None:
    server = start_server({"TESSERA_LOG_FORMAT": "json", "TESSERA_LOG_LEVEL": "DEBUG"}, workers=1)
    with server.client() as client:
        job_id = _create(client, slow_pdf, pages=[0]).json()["id"]
        assert server.wait_job(client, job_id).json()["status"] == "completed"
    assert server.process is not None
    lines = collected(server.log())
    # A scanned page has no usable text layer: the worker says so before reading it by OCR.
    assert [
        e
        for e in lines
        if e["pid"] != server.process.pid
        and e["logger"] == "ocr_engine.tasks"
        and "reading it by OCR" in e["message"]
    ]
