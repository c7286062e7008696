"""Server memory while a large scan is uploaded through the Files API.

A fresh `tessera serve` takes a scan of about `UPLOAD_MB` MB as multipart/form-data on
POST /v1/files, streamed by the client; the server process's RSS is sampled every
`SAMPLE_S` seconds from just before the upload to its answer. The growth (largest sample
less the one before) is what the upload cost the server: it must stay under
`GROWTH_TARGET_MB` whatever the file's size, since uploads go to disk as they arrive.
`make bench` runs it with the rest; `python -m tools.upload_bench` runs it alone.
"""

from __future__ import annotations

import argparse
import logging
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from tools.benchmark import MB, BenchmarkFailed, markdown_table, resident_bytes, tessera_process

log = logging.getLogger("tools.benchmark.upload")

UPLOAD_MB = 140
GROWTH_TARGET_MB = 64
SAMPLE_S = 0.02
_PAGE = (2550, 3300)  # letter at 300 dpi


@dataclass(frozen=True)
class UploadRun:
    file_bytes: int
    seconds: float
    before: int  # the server's RSS before the upload, bytes
    peak: int  # the largest sample during it

    @property
    def growth(self) -> int:
        return self.peak - self.before


def large_scan(directory: Path, megabytes: int = UPLOAD_MB) -> Path:
    """An image-only PDF of at least `megabytes` MB: pages of grey speckle, which no codec
    shrinks much, stored as JPEG at high quality. Made once and kept."""
    path = directory / f"scan-{megabytes}mb.pdf"
    if path.exists() and path.stat().st_size >= megabytes * MB:
        return path
    directory.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    pages: list[Image.Image] = []
    per_page = 0
    while not pages or len(pages) * per_page < megabytes * MB * 1.05:
        noise = rng.integers(0, 256, size=(_PAGE[1], _PAGE[0]), dtype=np.uint8)
        pages.append(Image.fromarray(noise, "L"))
        if len(pages) == 1:
            probe = directory / "probe.pdf"
            pages[0].save(probe, format="PDF", quality=95, resolution=300)
            per_page = probe.stat().st_size
            probe.unlink()
    pages[0].save(
        path, format="PDF", save_all=True, append_images=pages[1:], quality=95, resolution=300
    )
    return path


def measure_upload(workdir: Path, scan: Path) -> UploadRun:
    """The server's RSS while `scan` is uploaded to a fresh server."""
    import httpx

    with tessera_process("tesserocr", workdir, name="upload") as (client, process):
        time.sleep(1.0)  # let start-up settle
        reading = resident_bytes(process.pid)
        if reading is None:
            raise BenchmarkFailed("the server process is gone")
        before = reading[0]
        peak = before
        stop = threading.Event()

        def sample() -> None:
            nonlocal peak
            while not stop.is_set():
                now = resident_bytes(process.pid)
                if now is not None:
                    peak = max(peak, now[0])
                stop.wait(SAMPLE_S)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        log.info(
            "Files API: uploading a %.0f MB scan, sampling the server's memory",
            scan.stat().st_size / MB,
        )
        started = time.perf_counter()
        try:
            with open(scan, "rb") as f:
                response = httpx.post(
                    f"{client.base_url}/v1/files",
                    files={"file": (scan.name, f, "application/pdf")},
                    data={"purpose": "ocr"},
                    timeout=600,
                )
        finally:
            seconds = time.perf_counter() - started
            stop.set()
            sampler.join()
        if response.status_code != 200:
            raise BenchmarkFailed(f"the upload answered {response.status_code}: {response.text}")
        if response.json().get("bytes") != scan.stat().st_size:
            raise BenchmarkFailed("the uploaded file's size is not the scan's")
    return UploadRun(scan.stat().st_size, seconds, before, peak)


def upload_report(run: UploadRun, *, first_note: int) -> list[str]:
    rows = [
        [
            f"{run.file_bytes / MB:.0f}",
            f"{run.seconds:.1f}",
            f"{run.before / MB:.0f}",
            f"{run.peak / MB:.0f}",
            f"{run.growth / MB:+.0f}",
        ]
    ]
    met = run.growth < GROWTH_TARGET_MB * MB
    return [
        "**Upload memory**: a large scan uploaded through the Files API (POST /v1/files).",
        "",
        *markdown_table(
            ["file MB", "upload s", "server RSS before MB", "server RSS peak MB", "growth MB"],
            rows,
        ),
        "",
        f"[{first_note}] A fresh `tessera serve`; the file (grey speckle pages as JPEG, an "
        "image-only PDF) sent as multipart/form-data, streamed by httpx from disk; the server "
        f"process's RSS sampled every {SAMPLE_S:g} s from before the upload to its answer. "
        "MB = 2^20 bytes.",
        "",
        f"- **Upload memory target**: growth < {GROWTH_TARGET_MB} MB: "
        f"{run.growth / MB:+.0f} MB, {'met' if met else 'NOT met'}.",
    ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tools.upload_bench", description=__doc__)
    parser.add_argument("--workdir", type=Path, default=Path("bench-data"))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="bench: %(message)s", stream=sys.stderr)
    log.setLevel(logging.INFO)
    workdir = args.workdir.resolve()
    try:
        run = measure_upload(workdir, large_scan(workdir / "upload-inputs"))
    except BenchmarkFailed as e:
        sys.exit(f"benchmark failed: {e}")
    sys.stdout.write("\n".join(upload_report(run, first_note=1)) + "\n")


if __name__ == "__main__":
    main()
