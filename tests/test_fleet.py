"""Three nodes on loopback sharing the machine's PostgreSQL: one fleet."""

from __future__ import annotations

import io
import signal
from collections.abc import Iterator
from typing import Any

import pikepdf
import pytest

from tests.conftest import Server, ocr_body, wait_until
from tools import corpus

LEASE_S = "2"


@pytest.fixture
def fleet(start_server: Any, postgres_url: str) -> Iterator[list[Server]]:
    env = {
        "TESSERA_DATABASE_URL": postgres_url,
        "TESSERA_LEASE_SECONDS": LEASE_S,
        "TESSERA_RUNNING_JOBS": "2",
        "TESSERA_PART_PAGES": "20",
    }
    nodes = [start_server(env, workers=1) for _ in range(3)]
    yield nodes
    for node in nodes:
        node.stop(signal.SIGKILL)


@pytest.fixture(scope="module")
def scan(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    directory = tmp_path_factory.mktemp("fleet")
    source = corpus.dense_pdf(directory / "dense.pdf")
    return corpus.image_only_pdf(source, directory / "scan.pdf", pages=1, dpi=200).read_bytes()


def _started(node: Server, kind: str = "job", **labels: str) -> float:
    return node.metric("tessera_work_started_total", kind=kind, **labels)


def _completed(node: Server) -> float:
    return node.metric("tessera_jobs_finished_total", status="completed")


def test_jobs_sent_to_one_node_are_run_by_all_and_polled_from_any(
    fleet: list[Server], scan: bytes
) -> None:
    first, second, third = fleet
    with first.client() as client:
        job_ids = [client.post("/v1/async/ocr", json=ocr_body(scan)).json()["id"] for _ in range(6)]
    for job_id, node in zip(job_ids, [second, third] * 3, strict=True):
        with node.client() as client:
            body = node.wait_job(client, job_id, timeout=180).json()
        assert body["status"] == "completed", body
        assert "GNU" in body["result"]["pages"][0]["markdown"]
    runners = [node for node in fleet if _started(node)]
    assert len(runners) >= 2, "the work was not shared"
    assert sum(_completed(node) for node in fleet) == len(job_ids)  # each once, on one node


def test_a_job_whose_node_dies_completes_exactly_once(fleet: list[Server], scan: bytes) -> None:
    first = fleet[0]
    with first.client() as client:
        job_id = client.post("/v1/async/ocr", json=ocr_body(scan)).json()["id"]
    # Wait for a node to start it, then kill that node mid-job.
    runner = wait_until(
        lambda: next((n for n in fleet if _started(n)), None), what="a node starting the job"
    )
    runner.stop(signal.SIGKILL)
    survivor = next(n for n in fleet if n is not runner)
    with survivor.client() as client:
        body = survivor.wait_job(client, job_id, timeout=180).json()
    assert body["status"] == "completed", body
    completions = [n for n in fleet if n is not runner and _completed(n)]
    assert len(completions) == 1 and _completed(completions[0]) == 1
    assert _started(completions[0], resumed="true") == 1  # its second attempt


def test_cancel_on_one_node_stops_the_job_on_another(fleet: list[Server], scan: bytes) -> None:
    first = fleet[0]
    with first.client() as client:
        job_id = client.post("/v1/async/ocr", json=ocr_body(scan)).json()["id"]
    runner = wait_until(
        lambda: next((n for n in fleet if _started(n)), None), what="a node starting the job"
    )
    other = next(n for n in fleet if n is not runner)
    with other.client() as client:
        cancelled = client.delete(f"/v1/async/ocr/{job_id}").json()
    assert cancelled["status"] == "failed" and cancelled["status_code"] == 499
    wait_until(
        lambda: runner.metric("tessera_work_stopped_total") == 1,
        timeout=20,
        what="the running node stopping the cancelled job",
    )
    with runner.client() as client:
        assert client.get(f"/v1/async/ocr/{job_id}").json() == cancelled


def test_a_large_document_is_read_by_the_whole_fleet(
    fleet: list[Server], tmp_path_factory: pytest.TempPathFactory
) -> None:
    path = tmp_path_factory.mktemp("long") / "long.pdf"
    corpus.text_pdf(path, [[f"Page number {i}"] for i in range(200)], font_size=28)
    first = fleet[0]
    with first.client() as client:
        # Forced OCR, so the ranges take long enough for every node to claim some.
        body = ocr_body(path.read_bytes(), ocr_mode="force", output_formats=["pdf", "txt"])
        job_id = client.post("/v1/async/ocr", json=body).json()["id"]
    with fleet[2].client() as client:
        body = fleet[2].wait_job(client, job_id, timeout=600).json()
    assert body["status"] == "completed", body
    # The files are written from the ranges' page models by whichever node assembled the
    # job, and served by every node.
    files = {}
    for node, fmt in zip(fleet, ["pdf", "txt", "pdf"], strict=True):
        with node.client() as client:
            served = client.get(f"/v1/async/ocr/{job_id}/outputs/{fmt}")
        assert served.status_code == 200, served.text
        files[fmt] = served.content
    pages_text = files["txt"].decode().split("\f")[:-1]
    assert len(pages_text) == 200
    assert sum(f"Page number {i}" in t for i, t in enumerate(pages_text)) >= 198
    with pikepdf.open(io.BytesIO(files["pdf"])) as searchable, pikepdf.open(path) as original:
        assert len(searchable.pages) == len(original.pages) == 200
    pages = body["result"]["pages"]
    assert [p["index"] for p in pages] == list(range(200))
    misread = [p["markdown"] for p in pages if f"Page number {p['index']}" not in p["markdown"]]
    assert len(misread) <= 2, misread  # OCR, after all; the order and count must be exact
    assert body["result"]["usage_info"]["pages_processed"] == 200
    readers = [n for n in fleet if _started(n, kind="range")]
    assert len(readers) >= 2, "the ranges were not shared"
    assert sum(_completed(n) for n in fleet) == 1
