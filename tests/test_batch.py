"""The Batch API through the `mistralai` SDK: JSONL and inline batches, cancel, a kill -9
in the middle, a fleet of three, and a person's one page not starved by a batch."""

from __future__ import annotations

import json
import signal
import sqlite3
import time
from collections.abc import Iterator
from typing import Any

import pytest
from mistralai.client import Mistral

from tests.conftest import Server, ServerFactory, data_url, ocr_body
from tools import corpus

FINAL = ("SUCCESS", "FAILED", "TIMEOUT_EXCEEDED", "CANCELLED")


def _sdk(server: Server) -> Mistral:
    return Mistral(api_key="any", server_url=server.url, timeout_ms=120_000)


def _wait(mistral: Mistral, batch_id: str, timeout: float = 240) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        batch = mistral.batch.jobs.get(job_id=batch_id)
        if batch.status in FINAL:
            return batch
        time.sleep(0.2)
    raise AssertionError(f"batch {batch_id} did not end within {timeout} s")


def _lines(mistral: Mistral, file_id: str | None) -> list[dict[str, Any]]:
    if file_id is None:
        return []
    text = mistral.files.download(file_id=file_id).read().decode()
    return [json.loads(line) for line in text.splitlines() if line.strip()]


@pytest.fixture(scope="module")
def scan(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    directory = tmp_path_factory.mktemp("batch")
    source = corpus.dense_pdf(directory / "dense.pdf")
    return corpus.image_only_pdf(source, directory / "scan.pdf", pages=1, dpi=200).read_bytes()


@pytest.fixture(scope="module")
def node(start_module_server: ServerFactory) -> Server:
    return start_module_server(workers=2)


def test_a_jsonl_batch_answers_every_request_in_files(
    node: Server, hello_png: bytes, three_page_pdf: bytes
) -> None:
    mistral = _sdk(node)
    pdf = mistral.files.upload(file={"file_name": "three.pdf", "content": three_page_pdf})
    image = {"type": "image_url", "image_url": data_url(hello_png, "image/png")}
    by_file = {"type": "file", "file_id": pdf.id}
    requests = [
        {"custom_id": "by-url", "body": {"document": image}},
        {"custom_id": "by-file", "body": {"document": by_file, "pages": [2]}},
        {"custom_id": "bad-pages", "body": {"document": by_file, "pages": "x"}},
        {"custom_id": "no-such-file", "body": {"document": {"type": "file", "file_id": "nope"}}},
    ]
    jsonl = "".join(json.dumps(r) + "\n" for r in requests).encode()
    source = mistral.files.upload(
        file={"file_name": "requests.jsonl", "content": jsonl}, purpose="batch"
    )
    assert source.num_lines == 4
    created = mistral.batch.jobs.create(
        endpoint="/v1/ocr",
        model="mistral-ocr-latest",
        input_files=[source.id],
        metadata={"run": "jsonl"},
    )
    assert created.status == "QUEUED" and created.total_requests == 4
    done = _wait(mistral, created.id)
    assert done.status == "SUCCESS"
    assert (done.total_requests, done.succeeded_requests, done.failed_requests) == (4, 2, 2)
    assert done.completed_requests == 4 and done.metadata == {"run": "jsonl"}
    answers = {line["custom_id"]: line for line in _lines(mistral, done.output_file)}
    assert set(answers) == {"by-url", "by-file"}
    assert "Hello" in answers["by-url"]["response"]["body"]["pages"][0]["markdown"]
    by_file = answers["by-file"]["response"]
    assert by_file["status_code"] == 200 and [p["index"] for p in by_file["body"]["pages"]] == [2]
    assert by_file["body"]["model"] == "mistral-ocr-latest"
    errors = {line["custom_id"]: line for line in _lines(mistral, done.error_file)}
    assert set(errors) == {"bad-pages", "no-such-file"}
    assert errors["bad-pages"]["response"]["status_code"] == 400
    assert errors["no-such-file"]["response"]["status_code"] == 404
    assert errors["no-such-file"]["error"]["code"] == "file_not_found"
    listed = mistral.batch.jobs.list(metadata={"run": "jsonl"})
    assert [b.id for b in listed.data or []] == [created.id] and listed.total == 1
    assert mistral.batch.jobs.list(status=["RUNNING"]).total == 0


def test_an_inline_batch_and_its_refusals(node: Server, hello_png: bytes) -> None:
    mistral = _sdk(node)
    image = {"type": "image_url", "image_url": data_url(hello_png, "image/png")}
    created = mistral.batch.jobs.create(
        endpoint="/v1/ocr",
        model="tesseract",
        requests=[{"custom_id": str(i), "body": {"document": image}} for i in range(3)],
    )
    done = _wait(mistral, created.id)
    assert done.status == "SUCCESS" and done.succeeded_requests == 3
    assert sorted(line["custom_id"] for line in _lines(mistral, done.output_file)) == [
        "0",
        "1",
        "2",
    ]
    assert done.error_file is None
    with node.client() as client:
        for body, says in (
            ({"endpoint": "/v1/chat/completions", "requests": [{"body": {}}]}, "/v1/ocr"),
            ({"endpoint": "/v1/ocr"}, "either"),
            ({"endpoint": "/v1/ocr", "input_files": ["nope"]}, "No file"),
            ({"endpoint": "/v1/ocr", "requests": [{"nobody": 1}]}, "requests.0.body"),
            ({"endpoint": "/v1/ocr", "requests": [{"body": {}}], "timeout_hours": 0}, "timeout"),
            # Metadata are labels returned with every listing, not a store of data.
            (_labelled({str(i): "x" for i in range(65)}), "at most 64 items"),
            (_labelled({"notes": "x" * 5000}), "'metadata.notes' string should have at most"),
            (_labelled({"k" * 100_000: 1}), "'metadata.kkkkkkkkkk"),
        ):
            response = client.post("/v1/batch/jobs", json=body)
            assert response.status_code in (400, 404), response.text
            message = response.json()["error"]["message"]
            assert says in message and len(message) < 300, message
        assert client.get("/v1/batch/jobs/nope").status_code == 404


def _labelled(metadata: dict[str, Any]) -> dict[str, Any]:
    return {"endpoint": "/v1/ocr", "requests": [{"body": {}}], "metadata": metadata}


def _slow_batch(mistral: Mistral, scan: bytes, count: int) -> str:
    document = {"type": "document_url", "document_url": data_url(scan, "application/pdf")}
    created = mistral.batch.jobs.create(
        endpoint="/v1/ocr",
        model="tesseract",
        requests=[
            {"custom_id": f"r{i}", "body": {"document": document, "ocr_mode": "force"}}
            for i in range(count)
        ],
    )
    return created.id


def test_a_running_batch_is_cancelled_and_reports_what_it_did(node: Server, scan: bytes) -> None:
    mistral = _sdk(node)
    batch_id = _slow_batch(mistral, scan, 12)
    deadline = time.monotonic() + 60
    while mistral.batch.jobs.get(job_id=batch_id).status != "RUNNING":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    mistral.batch.jobs.cancel(job_id=batch_id)
    done = _wait(mistral, batch_id)
    assert done.status == "CANCELLED"
    assert done.succeeded_requests < 12
    answered = len(_lines(mistral, done.output_file)) + len(_lines(mistral, done.error_file))
    assert answered == done.completed_requests


def test_a_batch_past_its_timeout_stops_and_reports(node: Server, scan: bytes) -> None:
    mistral = _sdk(node)
    batch_id = _slow_batch(mistral, scan, 8)
    while mistral.batch.jobs.get(job_id=batch_id).status != "RUNNING":
        time.sleep(0.1)
    # As if its timeout_hours had passed: the deadline moved to now.
    with sqlite3.connect(node.data_dir / "tessera.db") as db:
        db.execute("UPDATE batches SET deadline = ? WHERE id = ?", (time.time() - 1, batch_id))
    done = _wait(mistral, batch_id)
    assert done.status == "TIMEOUT_EXCEEDED"
    assert done.completed_requests < 8
    errors = _lines(mistral, done.error_file)
    assert all(line["error"]["code"] == "cancelled" for line in errors)
    answered = len(_lines(mistral, done.output_file)) + len(errors)
    assert answered == done.completed_requests


def test_a_batch_whose_input_file_is_deleted_ends_and_holds_up_no_other(
    start_server: ServerFactory, scan: bytes, hello_png: bytes
) -> None:
    """The owner deletes a batch's input file while its first request runs: the requests not
    yet read do not run, the batch ends, and the batches after it are not held up."""
    node = start_server({"TESSERA_BATCH_CONCURRENCY": "1"}, workers=1)
    mistral = _sdk(node)
    slow = {"type": "document_url", "document_url": data_url(scan, "application/pdf")}
    jsonl = "".join(
        json.dumps({"custom_id": f"r{i}", "body": {"document": slow, "ocr_mode": "force"}}) + "\n"
        for i in range(3)
    ).encode()
    source = mistral.files.upload(
        file={"file_name": "requests.jsonl", "content": jsonl}, purpose="batch"
    )
    first = mistral.batch.jobs.create(
        endpoint="/v1/ocr", model="tesseract", input_files=[source.id]
    )
    while mistral.batch.jobs.get(job_id=first.id).status != "RUNNING":
        time.sleep(0.05)
    mistral.files.delete(file_id=source.id)  # the first request runs; the others are unread
    image = {"type": "image_url", "image_url": data_url(hello_png, "image/png")}
    second = mistral.batch.jobs.create(
        endpoint="/v1/ocr",
        model="tesseract",
        requests=[{"custom_id": "a", "body": {"document": image}}],
    )
    assert _wait(mistral, second.id, timeout=60).status == "SUCCESS"
    done = _wait(mistral, first.id, timeout=60)
    assert done.status == "SUCCESS" and done.succeeded_requests == 1
    assert [line["custom_id"] for line in _lines(mistral, done.output_file)] == ["r0"]


def test_one_page_is_not_queued_behind_a_batch(node: Server, scan: bytes, hello_png: bytes) -> None:
    mistral = _sdk(node)
    batch_id = _slow_batch(mistral, scan, 10)
    while mistral.batch.jobs.get(job_id=batch_id).status == "QUEUED":
        time.sleep(0.1)
    started = time.monotonic()
    with node.client() as client:
        job_id = client.post(
            "/v1/async/ocr", json=ocr_body(hello_png, kind="image_url", mime="image/png")
        ).json()["id"]
        assert node.wait_job(client, job_id).json()["status"] == "completed"
    waited = time.monotonic() - started
    batch = mistral.batch.jobs.get(job_id=batch_id)
    # The person's page was read while the batch still had most of its requests to go.
    assert batch.completed_requests <= 4, (waited, batch)
    mistral.batch.jobs.cancel(job_id=batch_id)
    _wait(mistral, batch_id)


def test_a_batch_survives_a_kill_and_a_restart(
    start_server: ServerFactory, scan: bytes, tmp_path: Any
) -> None:
    first = start_server(workers=1)
    mistral = _sdk(first)
    batch_id = _slow_batch(mistral, scan, 5)
    deadline = time.monotonic() + 60
    while mistral.batch.jobs.get(job_id=batch_id).completed_requests < 1:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert first.stop(signal.SIGKILL) == -signal.SIGKILL
    again = start_server(workers=1, data_dir=first.data_dir)
    done = _wait(_sdk(again), batch_id)
    assert done.status == "SUCCESS" and done.succeeded_requests == 5
    ids = sorted(line["custom_id"] for line in _lines(_sdk(again), done.output_file))
    assert ids == [f"r{i}" for i in range(5)]  # each request answered once


@pytest.fixture
def fleet(start_server: ServerFactory, postgres_url: str) -> Iterator[list[Server]]:
    # A batch's requests in flight are counted for the whole fleet: here more than one node's
    # slots (2 each), so that they spread.
    env = {
        "TESSERA_DATABASE_URL": postgres_url,
        "TESSERA_LEASE_SECONDS": "2",
        "TESSERA_BATCH_CONCURRENCY": "4",
    }
    nodes = [start_server(env, workers=1) for _ in range(3)]
    yield nodes
    for each in nodes:
        each.stop(signal.SIGKILL)


def test_a_batch_runs_on_a_fleet_of_three(fleet: list[Server], scan: bytes) -> None:
    first, second, third = fleet
    # A file uploaded to one node is read by the others.
    uploaded = _sdk(first).files.upload(file={"file_name": "scan.pdf", "content": scan})
    assert _sdk(second).files.download(file_id=uploaded.id).read() == scan
    read = _sdk(third).ocr.process(
        model="tesseract", document={"type": "file", "file_id": uploaded.id}
    )
    assert "GNU" in read.pages[0].markdown
    batch_id = _slow_batch(_sdk(first), scan, 6)
    done = _wait(_sdk(second), batch_id)
    assert done.status == "SUCCESS" and done.succeeded_requests == 6
    # Read on more than one node, and its output read from a node that did not write it.
    runners = [n for n in fleet if n.metric("tessera_work_started_total", kind="job")]
    assert len(runners) >= 2
    assert len(_lines(_sdk(third), done.output_file)) == 6
