"""No accepted job is lost: not to SIGKILL mid-job, not to SIGTERM."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Server, ocr_body, refused_start
from tools import corpus


@pytest.fixture(scope="module")
def scan(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    directory = tmp_path_factory.mktemp("scan")
    source = corpus.dense_pdf(directory / "dense.pdf", min_pages=2)
    return corpus.image_only_pdf(source, directory / "scan.pdf", pages=2, dpi=200).read_bytes()


def _submit(server: Server, scan: bytes, count: int) -> list[str]:
    with server.client() as client:
        return [
            client.post("/v1/async/ocr", json=ocr_body(scan)).json()["id"] for _ in range(count)
        ]


def _wait_until_processing(server: Server, job_ids: list[str]) -> None:
    with server.client() as client:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if any(
                client.get(f"/v1/async/ocr/{j}").json()["status"] == "processing" for j in job_ids
            ):
                return
            time.sleep(0.05)
    raise AssertionError("no job started processing")


def _assert_all_complete(server: Server, job_ids: list[str]) -> None:
    with server.client() as client:
        for job_id in job_ids:
            body = server.wait_job(client, job_id, timeout=300).json()
            assert body["status"] == "completed", body
            pages = body["result"]["pages"]
            assert [p["index"] for p in pages] == [0, 1]
            assert all("License" in p["markdown"] or "GNU" in p["markdown"] for p in pages)


def _restart(server: Server) -> Server:
    return Server(server.data_dir, server.extra_env, workers=server.workers).start()


def test_sigkill_mid_job_loses_nothing(start_server: Any, scan: bytes) -> None:
    server = start_server()
    job_ids = _submit(server, scan, 5)
    _wait_until_processing(server, job_ids)
    workers = server.worker_pids()
    assert len(workers) == server.workers
    assert server.stop(signal.SIGKILL) == -signal.SIGKILL

    # Orphaned workers notice their parent is gone and exit.
    deadline = time.monotonic() + 60
    while any(Path(f"/proc/{pid}").exists() for pid in workers):
        assert time.monotonic() < deadline, "workers outlived their server"
        time.sleep(0.2)

    restarted = _restart(server)
    try:
        _assert_all_complete(restarted, job_ids)
        # The jobs cut short were run again: resumed, not started afresh.
        assert restarted.metric("tessera_work_started_total", resumed="true") >= 1
    finally:
        restarted.stop(signal.SIGKILL)


def test_sigterm_stops_cleanly_and_resumes(start_server: Any, scan: bytes) -> None:
    server = start_server()
    job_ids = _submit(server, scan, 3)
    _wait_until_processing(server, job_ids)
    started = time.monotonic()
    assert server.stop(signal.SIGTERM) == 0
    assert time.monotonic() - started < 20
    assert "Traceback" not in server.log()

    restarted = _restart(server)
    try:
        _assert_all_complete(restarted, job_ids)
        assert not os.listdir(server.data_dir / "documents" / "tmp")
        assert [p.name for p in (server.data_dir / "documents").iterdir()] == ["tmp"]
    finally:
        restarted.stop(signal.SIGKILL)


def test_a_second_service_on_a_data_directory_in_use_is_refused(
    start_server: Any, scan: bytes
) -> None:
    # A second `tessera serve` on the same data directory (`make run` twice) took the first's
    # running jobs over as a restarted service does and deleted the documents it was reading:
    # the job failed with 500. Refused at start, in a line.
    server = start_server(workers=1)
    job_ids = _submit(server, scan, 1)
    _wait_until_processing(server, job_ids)
    process = refused_start("--data-dir", str(server.data_dir), "--workers", "1", timeout=60)
    last = process.stderr.strip().splitlines()[-1]
    assert last.startswith(f"tessera: the data directory {server.data_dir} is in use"), last
    assert "Traceback" not in process.stderr
    _assert_all_complete(server, job_ids)
