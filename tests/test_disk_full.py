"""A full disk under the data directory: clear 507/503 answers, nothing left behind, no job
stuck. The data directory lives on a small tmpfs mounted for the test (the suite runs as
root, as `make test` does on the machines it targets)."""

from __future__ import annotations

import errno
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ocr_body, wait_until
from tests.test_api import assert_bifrost_error
from tools import corpus

MB = 1024 * 1024
DISK_MB = 48


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 48 MB tmpfs, unmounted afterwards."""
    mount = tmp_path / "disk"
    mount.mkdir()
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={DISK_MB}m", "tmpfs", str(mount)],
        check=True,
        capture_output=True,
    )
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False, capture_output=True)


def fill(disk: Path, leave: int = 0) -> Path:
    """Fill the disk, leaving about `leave` bytes free; the filler file."""
    filler = disk / "filler"
    stats = os.statvfs(disk)
    left = max(0, stats.f_bavail * stats.f_frsize - leave)
    with open(filler, "ab", buffering=0) as f:
        while left > 0:
            try:
                left -= f.write(b"\0" * min(left, MB))
            except OSError as e:
                assert e.errno == errno.ENOSPC
                break
    return filler


def leftovers(data: Path) -> list[str]:
    documents = data / "documents"
    return sorted(str(p.relative_to(documents)) for p in documents.rglob("*") if p.is_file())


@pytest.fixture(scope="module")
def big_scan(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """A PDF of photo pages, a few MB: more than a nearly full disk can hold."""
    directory = tmp_path_factory.mktemp("big")
    pages = [corpus.photo(1600, 1200, seed=i) for i in range(3)]
    return corpus.scanned_pages_pdf(directory / "big.pdf", pages).read_bytes()


def test_a_full_disk_refuses_work_and_keeps_nothing(
    start_server: Any, small_disk: Path, big_scan: bytes, hello_png: bytes
) -> None:
    """With the free-space margin off, the write itself fails: 507, no partial file."""
    node = start_server({"TESSERA_MIN_FREE_MB": "0"}, workers=1, data_dir=small_disk)
    filler = fill(small_disk, leave=len(big_scan) // 2)
    with node.client() as client:
        for endpoint in ("/v1/async/ocr", "/v1/ocr"):
            response = client.post(endpoint, json=ocr_body(big_scan))
            body = assert_bifrost_error(response, 507, contains="disk is full")
            assert body["error"]["code"] == "insufficient_storage"
        assert leftovers(node.data_dir) == []
        assert client.get("/health").status_code == 200
        filler.unlink()
        created = client.post("/v1/async/ocr", json=ocr_body(hello_png, kind="image_url"))
        assert created.status_code == 202
        assert node.wait_job(client, created.json()["id"]).json()["status"] == "completed"


def test_readiness_and_creates_follow_the_free_space(
    start_server: Any, small_disk: Path, hello_png: bytes
) -> None:
    node = start_server({"TESSERA_MIN_FREE_MB": "8"}, workers=1, data_dir=small_disk)
    with node.client() as client:
        assert client.get("/ready").status_code == 200
        filler = fill(small_disk, leave=4 * MB)
        ready = client.get("/ready")
        assert ready.status_code == 503 and "nearly full" in ready.json()["error"]["message"]
        assert ready.headers["Retry-After"].isdigit()
        refused = client.post("/v1/async/ocr", json=ocr_body(hello_png, kind="image_url"))
        assert_bifrost_error(refused, 507)
        assert leftovers(node.data_dir) == []
        filler.unlink()
        assert client.get("/ready").status_code == 200
        created = client.post("/v1/async/ocr", json=ocr_body(hello_png, kind="image_url"))
        assert created.status_code == 202


def test_a_result_that_cannot_be_stored_is_stored_once_there_is_room(
    start_server: Any, small_disk: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """The disk fills while the job runs: its result cannot be written, and is written once
    space is freed; the job never stays 'processing' for good."""
    directory = tmp_path_factory.mktemp("slow")
    source = corpus.dense_pdf(directory / "dense.pdf", min_pages=3)
    scan = corpus.image_only_pdf(source, directory / "scan.pdf", pages=3, dpi=200).read_bytes()
    node = start_server({"TESSERA_MIN_FREE_MB": "0"}, workers=1, data_dir=small_disk)
    with node.client() as client:
        job_id = client.post(
            "/v1/async/ocr",
            json=ocr_body(scan, confidence_scores_granularity="word", include_blocks=True),
        ).json()["id"]
        filler = fill(small_disk)
        wait_until(
            lambda: node.metric("tessera_outcome_write_retries_total") > 0,
            timeout=120,
            every=0.2,
            what="a failed final write",
        )
        assert client.get(f"/v1/async/ocr/{job_id}").status_code == 202  # not stuck, waiting
        filler.unlink()
        body = node.wait_job(client, job_id, timeout=120).json()
    assert body["status"] == "completed", body
    assert len(body["result"]["pages"]) == 3
    assert leftovers(node.data_dir) == []
