"""Faults, cancellation, back-pressure, limits and shutdown, against the running service."""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from ocr_engine import pool, tasks
from server.config import Settings
from tests.conftest import REPO, Server, age, ocr_body, refused_start, wait_until
from tests.test_api import assert_bifrost_error
from tools import corpus


@pytest.fixture(scope="module")
def scan_page(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A dense scanned page (a couple of seconds of OCR) as a PIL image."""
    directory = tmp_path_factory.mktemp("scan")
    source = corpus.dense_pdf(directory / "dense.pdf")
    import pypdfium2 as pdfium

    return pdfium.PdfDocument(str(source))[0].render(scale=200 / 72, grayscale=True).to_pil()


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory, scan_page: Any) -> bytes:
    """Page 0 born-digital (milliseconds), page 1 a dense scan (seconds)."""
    path = tmp_path_factory.mktemp("mixed") / "mixed.pdf"
    return corpus.scanned_pages_pdf(path, [["Quick page of text"], scan_page]).read_bytes()


@pytest.fixture(scope="module")
def scans(tmp_path_factory: pytest.TempPathFactory, scan_page: Any) -> bytes:
    """Three dense scanned pages."""
    path = tmp_path_factory.mktemp("scans") / "scans.pdf"
    return corpus.scanned_pages_pdf(path, [scan_page] * 3).read_bytes()


def _create(client: httpx.Client, data: bytes, **fields: Any) -> str:
    response = client.post("/v1/async/ocr", json=ocr_body(data, **fields))
    assert response.status_code == 202, response.text
    return response.json()["id"]


def _wait_status(client: httpx.Client, job_id: str, status: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while client.get(f"/v1/async/ocr/{job_id}").json()["status"] != status:
        assert time.monotonic() < deadline, f"job never reached {status}"
        time.sleep(0.05)


# -- a page that hangs or crashes its worker --------------------------------------------------


def test_a_hanging_page_is_dropped_with_a_warning(start_server: Any, mixed: bytes) -> None:
    server = start_server({"TESSERA_PAGE_TIMEOUT": "0.5"})
    with server.client() as client:
        body = server.wait_job(client, _create(client, mixed)).json()
        assert body["status"] == "completed", body
        result = body["result"]
        assert [p["index"] for p in result["pages"]] == [0]
        assert "Quick page of text" in result["pages"][0]["markdown"]
        [warning] = result["warnings"]
        assert warning["page"] == 1 and warning["code"] == "page_timeout"
        assert "per-page timeout of 0.5 s" in warning["message"]
        assert result["usage_info"]["pages_processed"] == 1

        # When no page can be read, the job fails with the reason.
        only_slow = server.wait_job(client, _create(client, mixed, pages=[1])).json()
        assert only_slow["status"] == "failed" and only_slow["status_code"] == 422
        assert only_slow["error"]["error"]["code"] == "page_timeout"
        # The workers were replaced: the service still reads documents.
        assert client.post("/v1/ocr", json=ocr_body(mixed, pages=[0])).status_code == 200
        assert len(server.worker_pids()) == 2


def test_a_page_that_crashes_its_worker_twice_is_dropped(start_server: Any, mixed: bytes) -> None:
    server = start_server()
    # busy_worker() tells work from start-up by the workers' age: let them settle first.
    wait_until(
        lambda: all(age(pid) > 3 for pid in server.worker_pids()),
        timeout=30,
        every=0.2,
        what="the workers settling",
    )
    with server.client() as client:
        job_id = _create(client, mixed)
        killed = set()
        for _ in range(2):  # the page is tried twice, each time on a fresh worker
            pid = server.busy_worker()
            assert pid not in killed
            os.kill(pid, signal.SIGKILL)
            killed.add(pid)
        body = server.wait_job(client, job_id).json()
        assert body["status"] == "completed", body
        assert [p["index"] for p in body["result"]["pages"]] == [0]
        [warning] = body["result"]["warnings"]
        assert warning == {"page": 1, "code": "worker_crashed", "message": warning["message"]}
        assert "crashed twice" in warning["message"]
        deadline = time.monotonic() + 30
        while len(server.worker_pids()) != 2 or killed & set(server.worker_pids()):
            assert time.monotonic() < deadline
            time.sleep(0.1)


def test_a_job_past_its_deadline_fails(start_server: Any, scans: bytes) -> None:
    server = start_server({"TESSERA_JOB_TIMEOUT": "1"})
    with server.client() as client:
        body = server.wait_job(client, _create(client, scans)).json()
    assert body["status"] == "failed" and body["status_code"] == 422
    assert body["error"]["error"]["code"] == "job_timeout"
    assert "limit of 1 s" in body["error"]["error"]["message"]


# -- cancellation -------------------------------------------------------------------------------


def test_cancel_a_running_job_frees_its_workers(
    start_server: Any, scan_page: Any, mixed: bytes, tmp_path: Path
) -> None:
    # Long enough to be running still when the cancel comes: the busy worker is found only
    # once the workers have settled, seconds after the server starts.
    long = corpus.scanned_pages_pdf(tmp_path / "long.pdf", [scan_page] * 12).read_bytes()
    server = start_server()
    with server.client() as client:
        job_id = _create(client, long)
        _wait_status(client, job_id, "processing")
        busy = server.busy_worker()
        response = client.delete(f"/v1/async/ocr/{job_id}")
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["status"] == "failed" and body["status_code"] == 499
        assert body["error"]["error"]["code"] == "cancelled"
        assert "completed_at" in body and "result" not in body
        # The worker on the job is replaced at once rather than finishing the page.
        deadline = time.monotonic() + 10
        while busy in server.worker_pids():
            assert time.monotonic() < deadline, "the busy worker was not stopped"
            time.sleep(0.05)
        # Idempotent, and the job stays cancelled.
        assert client.delete(f"/v1/async/ocr/{job_id}").json() == body
        time.sleep(1)  # nothing to wait for: this checks that nothing changes meanwhile
        assert client.get(f"/v1/async/ocr/{job_id}").json() == body
        assert not (server.data_dir / "documents" / job_id).exists()
        assert client.post("/v1/ocr", json=ocr_body(mixed, pages=[0])).status_code == 200
    # A worker stopped on purpose is no fault: not logged as one, its page not tried again.
    log = server.log()
    assert f"worker {busy} stopped: its work was called off" in log
    assert " died " not in log and "ERROR" not in log


def test_cancel_a_pending_job_and_a_finished_one(
    start_server: Any, scans: bytes, mixed: bytes
) -> None:
    server = start_server({"TESSERA_RUNNING_JOBS": "1"}, workers=1)
    with server.client() as client:
        running = _create(client, scans)
        pending = _create(client, scans)
        _wait_status(client, running, "processing")
        assert client.get(f"/v1/async/ocr/{pending}").json()["status"] == "pending"
        cancelled = client.delete(f"/v1/async/ocr/{pending}").json()
        assert cancelled["status"] == "failed" and cancelled["status_code"] == 499
        client.delete(f"/v1/async/ocr/{running}")
        done = _create(client, mixed, pages=[0])
        finished = server.wait_job(client, done).json()
        assert finished["status"] == "completed"
        assert client.delete(f"/v1/async/ocr/{done}").json() == finished
        assert_bifrost_error(client.delete("/v1/async/ocr/no-such-job"), 404)


def test_a_document_removed_under_a_worker_is_no_fault(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # A cancel deletes its job's document. A worker handed the job as the cancel came (about
    # one create-and-cancel in eight, on one worker) found the file gone: "an unexpected
    # error", its traceback logged at ERROR. It is the job's end, said as such.
    gone = str(tmp_path / "gone")
    reply = pool._reply(tasks.InspectTask(gone), recognizer=None)  # type: ignore[arg-type]
    assert reply[:2] == ("error", "UnprocessableDocument") and "cancelled" in reply[2]
    written = tasks.render_outputs(tasks.RenderTask(gone, "pdf", [], ("pdf",), str(tmp_path)))
    assert "cancelled" in str(written["pdf"]), written
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_cancel_is_owner_scoped(start_server: Any, scans: bytes) -> None:
    server = start_server({"TESSERA_API_KEYS": "alpha,beta"}, workers=1)
    with server.client("alpha") as alpha, server.client("beta") as beta:
        job_id = _create(alpha, scans)
        assert_bifrost_error(beta.delete(f"/v1/async/ocr/{job_id}"), 404)
        assert alpha.get(f"/v1/async/ocr/{job_id}").json()["status"] != "failed"
        assert alpha.delete(f"/v1/async/ocr/{job_id}").json()["status_code"] == 499


# -- back-pressure ------------------------------------------------------------------------------


def test_a_full_queue_answers_429_and_polls_say_when_to_retry(
    start_server: Any, scans: bytes
) -> None:
    server = start_server({"TESSERA_RUNNING_JOBS": "1", "TESSERA_MAX_QUEUED_JOBS": "1"}, workers=1)
    with server.client() as client:
        running = _create(client, scans)
        _wait_status(client, running, "processing")
        deadline = time.monotonic() + 30
        while "pages_total" not in (poll := client.get(f"/v1/async/ocr/{running}")).json():
            assert time.monotonic() < deadline, "no progress reported"
            time.sleep(0.05)
        assert poll.status_code == 202 and int(poll.headers["Retry-After"]) >= 1
        assert poll.json()["pages_total"] == 3
        waiting = _create(client, scans)
        full = client.post("/v1/async/ocr", json=ocr_body(scans))
        body = assert_bifrost_error(full, 429, contains="already waiting")
        assert body["error"]["type"] == "rate_limit_error"
        assert int(full.headers["Retry-After"]) > 0
        for job_id in (waiting, running):
            client.delete(f"/v1/async/ocr/{job_id}")
        assert client.post("/v1/async/ocr", json=ocr_body(scans)).status_code == 202


# -- shutdown -----------------------------------------------------------------------------------


def test_sigterm_refuses_new_work_and_lets_running_jobs_finish(
    start_server: Any, mixed: bytes
) -> None:
    server = start_server({"TESSERA_SHUTDOWN_GRACE": "60"}, workers=1)
    with server.client() as client:
        job_id = _create(client, mixed)
        _wait_status(client, job_id, "processing")
        assert server.process is not None
        server.process.send_signal(signal.SIGTERM)
        wait_until(
            lambda: client.get("/ready").status_code == 503, timeout=10, what="the server draining"
        )
        refused = client.post("/v1/async/ocr", json=ocr_body(mixed))
        body = assert_bifrost_error(refused, 503, contains="shutting down")
        assert int(refused.headers["Retry-After"]) > 0
        # Polls still answer while the running job winds down.
        assert client.get(f"/v1/async/ocr/{job_id}").status_code in (200, 202)
        assert body["error"]["type"] == "server_error"
    assert server.stop() == 0
    restarted = Server(server.data_dir, server.extra_env, workers=1).start()
    try:
        with restarted.client() as client:
            done = client.get(f"/v1/async/ocr/{job_id}").json()
        assert done["status"] == "completed", done  # finished before the process exited
        assert "left pending" not in server.log()
    finally:
        restarted.stop(signal.SIGKILL)


def test_sigterm_after_the_grace_period_leaves_jobs_pending(
    start_server: Any, scans: bytes
) -> None:
    server = start_server({"TESSERA_SHUTDOWN_GRACE": "0"}, workers=1)
    with server.client() as client:
        job_id = _create(client, scans)
        _wait_status(client, job_id, "processing")
    assert server.stop() == 0
    assert "left pending" in server.log()
    restarted = Server(server.data_dir, server.extra_env, workers=1).start()
    try:
        with restarted.client() as client:
            body = restarted.wait_job(client, job_id, timeout=180).json()
        assert body["status"] == "completed" and len(body["result"]["pages"]) == 3
    finally:
        restarted.stop(signal.SIGKILL)


def test_limits_are_settings(start_server: Any, tmp_path: Path) -> None:
    server = start_server({"TESSERA_MAX_IMAGE_PIXELS": "1000000"}, workers=1)
    big = corpus.image_bytes(corpus.text_image(["too many pixels"]).resize((1500, 1000)))
    with server.client() as client:
        response = client.post("/v1/ocr", json=ocr_body(big))
    assert_bifrost_error(response, 422, contains="more pixels than the limit of 1000000")


@pytest.mark.parametrize(
    "name", ["page_timeout", "job_timeout", "fetch_timeout", "webhook_timeout", "lease_seconds"]
)
@pytest.mark.parametrize("value", ["inf", "Infinity", "1e400"])
def test_durations_are_finite(name: str, value: str) -> None:
    # "inf" passes `gt=0`; as a page timeout it overflowed in the wait for a worker's reply,
    # and every page hung unanswered.
    with pytest.raises(ValidationError, match="finite"):
        Settings(**{name: value})


def test_a_page_timeout_no_worker_can_be_waited_for_stops_start_up() -> None:
    # Past about 24 days poll() cannot wait for a worker: every page's wait raised, the page
    # was never answered and the worker was replaced. Refused before anything starts.
    assert Settings(page_timeout=86_400).page_timeout == 86_400
    process = refused_start(env={"PATH": "/usr/bin:/bin", "TESSERA_PAGE_TIMEOUT": "10000000"})
    assert "invalid setting page_timeout" in process.stderr
    assert "86400" in process.stderr


def test_a_default_result_ttl_longer_than_the_longest_stops_start_up() -> None:
    # A job kept for the default TTL outlived the longest a create may ask for.
    assert Settings(result_ttl=604_800).result_ttl == 604_800
    process = refused_start(env={"PATH": "/usr/bin:/bin", "TESSERA_RESULT_TTL": "1209600"})
    assert "invalid setting max_result_ttl" in process.stderr
    assert "result_ttl (1209600 s)" in process.stderr
    assert "Traceback" not in process.stderr


def test_a_worker_count_past_any_machine_stops_start_up_in_one_line() -> None:
    # "--workers 99999999999" (a typing slip) hung start-up building the pool.
    assert Settings(workers=256).workers == 256
    process = refused_start("--workers", "99999999999", timeout=30)
    assert process.stderr.startswith("tessera: invalid setting workers: "), process.stderr
    assert "256" in process.stderr and process.stderr.count("\n") == 1


def test_a_public_url_that_is_no_http_url_stops_start_up() -> None:
    # Every signed URL starts with it: "ocr.example.com:8080" (no scheme) was taken, and
    # clients were handed "ocr.example.com:8080/v1/files/...", which none can open.
    assert (
        Settings(public_url=" https://ocr.example.com/t ").public_url == "https://ocr.example.com/t"
    )
    for value in ("ocr.example.com:8080", "ftp://ocr.example.com", "https://ocr.example.com/?a=1"):
        process = refused_start(env={"PATH": "/usr/bin:/bin", "TESSERA_PUBLIC_URL": value})
        assert process.stderr.startswith("tessera: invalid setting public_url: "), process.stderr
        assert process.stderr.count("\n") == 1


def test_a_setting_set_to_nothing_means_its_default(start_server: Any) -> None:
    # `TESSERA_HOST=` in a settings file was an empty host, which the socket library takes
    # for every interface: the service listened on the network, IPv4 and IPv6. An empty
    # TESSERA_PUBLIC_URL stopped start-up, and an empty TESSERA_MODELS_DIR was the working
    # directory.
    server = start_server(
        {"TESSERA_HOST": "", "TESSERA_PUBLIC_URL": "", "TESSERA_MODELS_DIR": ""}, workers=1
    )
    serving = [line for line in server.log().splitlines() if "Tessera serving on" in line]
    assert serving and all(f"http://127.0.0.1:{server.port} " in line for line in serving)
    # A flag is no settings file: an empty one is refused, in a line.
    process = refused_start("--host", "", timeout=30)
    assert process.stderr.startswith("tessera: invalid setting host: "), process.stderr
    assert process.stderr.count("\n") == 1


@pytest.mark.parametrize("command", ["serve", "ocr", "doctor"])
def test_an_unknown_log_level_stops_start_up_in_a_line(command: str, tmp_path: Path) -> None:
    # The setting was taken as any text, then refused by logging with a traceback.
    assert Settings(log_level="warn").log_level == "WARN"
    source = tmp_path / "in.png"
    corpus.text_image(["Never read"]).save(source)
    process = subprocess.run(
        [sys.executable, "-m", "server", command, *([str(source)] if command == "ocr" else [])],
        cwd=REPO,
        env={**os.environ, "TESSERA_LOG_LEVEL": "LOUD"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert process.returncode == 1
    assert process.stderr.startswith("tessera: invalid setting log_level: ")
    assert process.stderr.count("\n") == 1 and "DEBUG, INFO, WARNING" in process.stderr


def test_default_languages_not_installed_stop_start_up_in_a_line(tmp_path: Path) -> None:
    # The workers could not load them, and start-up ended in a traceback from the pool.
    for languages in ("zzz", "eng+zzz"):
        process = refused_start(
            "--data-dir", str(tmp_path), "--workers", "1", "--languages", languages
        )
        said = process.stderr.strip().splitlines()[-1]
        assert said.startswith("tessera: the default languages") and "'zzz'" in said
        assert "Traceback" not in process.stderr


@pytest.mark.parametrize("command", ["serve", "ocr"])
def test_workers_that_cannot_start_stop_start_up_in_a_line(command: str, tmp_path: Path) -> None:
    # No language data where TESSERA_TESSDATA_DIR points, or a worker memory limit too small
    # for a worker to load Tesseract: both ended in a traceback (FileNotFoundError, EOFError).
    source = tmp_path / "in.png"
    corpus.text_image(["Never read"]).save(source)
    args = ["serve", "--port", "0", "--data-dir", str(tmp_path / "d")]
    for setting, said in [
        ({"TESSERA_TESSDATA_DIR": str(tmp_path)}, "tessera: cannot use the language data: "),
        ({"TESSERA_WORKER_MEMORY_MB": "1"}, "could not start: "),
    ]:
        process = subprocess.run(
            [
                sys.executable,
                "-m",
                "server",
                *(args if command == "serve" else ["ocr", str(source)]),
            ],
            cwd=REPO,
            env={**os.environ, **setting},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert process.returncode == 1
        assert "Traceback" not in process.stderr, process.stderr
        last = process.stderr.strip().splitlines()[-1]
        assert last.startswith("tessera: ") and said in last, process.stderr


def test_a_port_in_use_or_a_data_dir_that_is_a_file_stop_start_up_in_a_line(
    tmp_path: Path,
) -> None:
    # Both ended in a traceback (and "Unclosed client session" errors): the most common
    # reasons a service does not start, told as the job store's are.
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    a_file = tmp_path / "data"
    a_file.write_text("not a directory")
    with taken:
        for args, said in [
            (
                ["--data-dir", str(tmp_path / "d"), "--port", str(taken.getsockname()[1])],
                f"tessera: cannot listen on 127.0.0.1:{taken.getsockname()[1]}: ",
            ),
            (["--data-dir", str(a_file)], f"tessera: cannot use the data directory {a_file}: "),
        ]:
            process = refused_start("--workers", "1", *args)
            assert "Traceback" not in process.stderr and " ERROR " not in process.stderr
            assert process.stderr.strip().splitlines()[-1].startswith(said), process.stderr


def test_a_page_past_the_worker_memory_limit_fails_alone(
    start_server: Any, mixed: bytes, tmp_path: Path
) -> None:
    from reportlab.pdfgen import canvas

    # A 24 x 24 inch page renders to 52 million pixels: more than 400 MB of work for Tesseract.
    # Its type is small, so the page is recognised at full resolution (not right-sized).
    poster = tmp_path / "poster.pdf"
    pdf = canvas.Canvas(str(poster), pagesize=(24 * 72, 24 * 72))
    pdf.setFont("Helvetica", 7)
    for row in range(40):
        pdf.drawString(72, 72 + row * 40, "a poster full of small words " * 20)
    pdf.save()
    server = start_server({"TESSERA_WORKER_MEMORY_MB": "400"}, workers=1)
    with server.client() as client:
        response = client.post("/v1/ocr", json=ocr_body(poster.read_bytes(), ocr_mode="force"))
        assert_bifrost_error(response, 422)
        assert response.json()["error"]["code"] in (
            "worker_crashed",
            "page_failed",
            "unprocessable_document",
        ), response.text
        # The service and its worker are fine for ordinary pages.
        assert client.post("/v1/ocr", json=ocr_body(mixed, pages=[0])).status_code == 200


def test_a_large_job_is_read_in_ranges_and_assembled(start_server: Any, tmp_path: Path) -> None:
    path = corpus.text_pdf(
        tmp_path / "long.pdf", [[f"Range page {i}"] for i in range(7)], font_size=28
    )
    server = start_server({"TESSERA_PART_PAGES": "3"}, workers=1)
    fields: dict[str, Any] = {
        "pages": "1-6",
        "include_blocks": True,
        "confidence_scores_granularity": "word",
    }
    with server.client() as client:
        job_id = _create(client, path.read_bytes(), **fields)
        body = server.wait_job(client, job_id).json()
        whole = client.post("/v1/ocr", json=ocr_body(path.read_bytes(), **fields)).json()
    assert body["status"] == "completed", body
    assert [p["index"] for p in body["result"]["pages"]] == [1, 2, 3, 4, 5, 6]
    assert "Range page 4" in body["result"]["pages"][3]["markdown"]
    assert server.metric("tessera_ranges_created_total") == 2  # pages 1-3 and 4-6
    # Assembled range by range, the answer is the one the document read whole gets.
    assert body["result"]["pages"] == whole["pages"]
    assert body["result"]["usage_info"] == whole["usage_info"]
    assert body["result"].keys() == whole.keys()
