"""Tessera against the plain `tesseract` CLI: dense-PDF throughput and small-image latency;
then Tessera's peak memory on a long scanned PDF and on one a tenth as long, the scan to a
searchable PDF against OCRmyPDF (`tools.searchable_bench`, which also runs alone), and the job
stores.

`make bench` runs it at full size; `python -m tools.benchmark --pages 2 --repeats 3
--memory-pages 30` is a quick look. The Markdown tables go to stdout, progress to stderr. Each
Tessera run is a real `tessera serve` subprocess on a free port with a fresh data directory,
spoken to over HTTP.
"""

from __future__ import annotations

import argparse
import base64
import json
import logging
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import tesserocr
from PIL import Image, features

from tools import corpus
from tools.databases import temporary_database

if TYPE_CHECKING:
    from tools.load_bench import LoadRun
    from tools.searchable_bench import Comparison
    from tools.upload_bench import UploadRun

log = logging.getLogger("tools.benchmark")

SMALL_TEXT = "Invoice 2041 total 318.40"
PARALLEL = 2  # CLI processes at a time, and Tessera workers
WARMUP_REQUESTS = 2
HEALTH_TIMEOUT_S = 120.0
POLL_INTERVAL_S = 0.1
STOP_TIMEOUT_S = 10.0
HTTP_TIMEOUT_S = 300.0
JOB_TIMEOUT_PER_PAGE_S = 120.0
THROUGHPUT_TARGET = 0.95  # Tessera pages/s >= this x the CLI's
WARM_TARGET = 1.5  # Tessera pages/s >= this x two warm tesseract processes', error no higher
LATENCY_TARGET = 1 / 3  # Tessera small-image p50 <= this x one CLI call
JSON_HEADERS = {"Content-Type": "application/json"}
MEMORY_BACKEND = "tesserocr"
MEMORY_DISTINCT_PAGES = 8  # rendered once, then repeated: building 300 pages stays quick
MEMORY_SHORT_FRACTION = 10  # the short document has 1/10 of the long one's pages
MEMORY_SAMPLE_S = 0.2
MEMORY_TARGET_MB = 1536  # 1.5 GB: the whole process tree's peak on the long document
MEMORY_GROWTH_TARGET = 0.20  # the long document's peak within 20 % of the short one's
MB = 1024 * 1024
_FOOTNOTE = re.compile(r"\[(\d+)\] ")
# The CLI's fastest setting with processes running in parallel: its OpenMP threads would only
# fight each other over the cores.
CLI_ENV = {**os.environ, "OMP_THREAD_LIMIT": "1"}


class BenchmarkFailed(Exception):
    """A step of the benchmark did not produce what it must; the numbers would be wrong."""


@dataclass(frozen=True)
class Inputs:
    """The documents both sides read, made on the spot in the scratch directory."""

    scan_pdf: Path
    page_pngs: tuple[Path, ...]
    small_png: Path
    small_size: tuple[int, int]
    source_pdf: Path  # the born-digital PDF the scan was rendered from: the truth's text


@dataclass
class Column:
    """One way of running Tesseract and what it measured."""

    name: str
    pdf_seconds: float | None = None
    small_ms: list[float] = field(default_factory=list)
    pdf_text: str = ""  # what it read from the dense PDF, pages in order


@dataclass(frozen=True)
class WarmRun:
    """Two warm tesseract processes on the dense PDF's pages and Tessera on the same PDF, in
    alternating rounds: the machine's speed drifts by more than the margin measured, and a
    round's two runs share its speed."""

    pages: int
    cli_seconds: list[float]
    tessera_seconds: list[float]
    cli_text: str
    tessera_text: str
    truth: str  # the born-digital source's text

    @property
    def ratios(self) -> list[float]:
        return [c / t for c, t in zip(self.cli_seconds, self.tessera_seconds, strict=True)]

    def report(self, first_note: int) -> list[str]:
        from tools.eval import cer  # tools.eval imports this module

        cli_seconds = statistics.median(self.cli_seconds)
        tessera_seconds = statistics.median(self.tessera_seconds)
        readings = [
            (f"{PARALLEL} warm `tesseract` processes", cli_seconds, cer(self.cli_text, self.truth)),
            ("Tessera (tesserocr)", tessera_seconds, cer(self.tessera_text, self.truth)),
        ]
        rows = [
            [name, f"{seconds:.1f}", f"{self.pages / seconds:.2f}", f"{error:.2%}"]
            for name, seconds, error in readings
        ]
        speedup = statistics.median(self.ratios)
        no_worse = readings[1][2] <= readings[0][2]
        met = speedup >= WARM_TARGET and no_worse
        rounds = ", ".join(f"{r:.2f}" for r in self.ratios)
        return [
            *markdown_table(
                ["reader", f"median wall s ({self.pages} pages)", "pages/s", "CER"], rows
            ),
            "",
            f"[{first_note}] The same {self.pages} pages: {PARALLEL} `tesseract list.txt out` "
            "processes, each given every other page pre-rendered at 300 dpi (rendering not "
            "timed; one model load per process), OMP_THREAD_LIMIT=1; Tessera end to end "
            "through `/v1/async/ocr` on a server of its own, warmed by one job. "
            f"{len(self.ratios)} rounds, each the CLI's run then Tessera's; the speed-up is "
            "the median of the rounds' ratios. CER of each reading against the born-digital "
            "source's text, normalised as `make eval` does.",
            "",
            f"- **Right-sized target**: Tessera {speedup:.2f} x two warm Tesseract processes "
            f"(rounds: {rounds}; target >= {WARM_TARGET:g} x) with an error no higher: "
            f"{'met' if met else 'NOT met'}.",
        ]


@dataclass(frozen=True)
class MemoryRun:
    """What one Tessera server used while it read one document through the async API."""

    pages: int
    document_bytes: int
    seconds: float
    peak_total: int  # bytes: the largest sum of RSS over the server's process tree
    server_peak: int  # bytes: the server process's own high-water mark
    worker_peak: int  # bytes: the largest high-water mark among its descendants

    @property
    def pages_per_second(self) -> float:
        return self.pages / self.seconds


# --- the machine ---------------------------------------------------------------------------


def machine_line() -> str:
    """CPU, cores, memory, load and both Tesseract builds, for the report's first line."""
    return (
        f"Machine: {_cpu_model()}, {os.cpu_count()} cores, {_memory_gib():.1f} GiB RAM, "
        f"load average {os.getloadavg()[0]:.2f} at start; "
        f"CLI `{cli_version()}`; tesserocr `{tesserocr_version()}`"
    )


def _cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown CPU"


def _memory_gib() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) / 1024**2
    return 0.0


def cli_version() -> str:
    """The first line of `tesseract --version`."""
    done = subprocess.run(["tesseract", "--version"], capture_output=True, text=True, check=False)
    # Older builds print the version on stderr.
    return (done.stdout or done.stderr).splitlines()[0].strip()


def tesserocr_version() -> str:
    """The first line of the Tesseract build that tesserocr links."""
    return str(tesserocr.tesseract_version()).splitlines()[0].strip()


# --- inputs --------------------------------------------------------------------------------


def prepare_inputs(workdir: Path, pages: int) -> Inputs:
    """A dense image-only PDF of `pages` pages, its pages as PNGs, and a one-line image."""
    directory = workdir / "inputs"
    shutil.rmtree(directory, ignore_errors=True)
    (directory / "pages").mkdir(parents=True)
    dense = corpus.dense_pdf(directory / "dense.pdf", min_pages=pages)
    scan = corpus.image_only_pdf(dense, directory / "scan.pdf", pages=pages)
    # Rendered from the image-only PDF, so the CLI reads the pixels Tessera renders itself.
    pngs = tuple(corpus.render_pages(scan, directory / "pages"))
    if len(pngs) != pages:
        raise BenchmarkFailed(f"the scan PDF has {len(pngs)} pages, not {pages}")
    image = corpus.text_image([SMALL_TEXT])
    small = directory / "small.png"
    small.write_bytes(corpus.image_bytes(image))
    return Inputs(scan, pngs, small, image.size, dense)


def prepare_memory_pdfs(workdir: Path, page_counts: Sequence[int]) -> dict[int, Path]:
    """Bilevel image-only PDFs of each of `page_counts` pages, from the same rendered pages."""
    directory = workdir / "memory-inputs"
    shutil.rmtree(directory, ignore_errors=True)
    (directory / "pages").mkdir(parents=True)
    dense = corpus.dense_pdf(directory / "dense.pdf", min_pages=MEMORY_DISTINCT_PAGES)
    pngs = corpus.render_pages(dense, directory / "pages")[:MEMORY_DISTINCT_PAGES]
    pages = []
    for png in pngs:
        with Image.open(png) as page:
            pages.append(page.copy())
    return {
        count: bilevel_pdf(pages, directory / f"scan-{count}.pdf", count=count)
        for count in sorted(set(page_counts))
    }


def bilevel_pdf(pages: Sequence[Image.Image], path: Path, *, count: int, dpi: int = 300) -> Path:
    """A scan-like PDF of `count` pages, cycling through `pages`, each stored bilevel."""
    # Pillow stores mode "1" pages as CCITT G4 (tens of KB for a page of text) only when it
    # has libtiff; without it they would be JPEGs, and 300 pages would pass the 50 MB limit.
    if not features.check("libtiff"):
        raise BenchmarkFailed(
            "Pillow was built without libtiff, so it cannot store bilevel "
            "pages as CCITT G4; install a Pillow wheel that has it"
        )
    # A plain threshold: dithering would speckle the letters' edges and swell the G4 streams.
    bilevel = [p if p.mode == "1" else p.convert("1", dither=Image.Dither.NONE) for p in pages]
    # Pillow writes each page's image anew even where the same image repeats: like a real scan,
    # the document shares nothing between pages that could flatter the memory it takes.
    sequence = [bilevel[i % len(bilevel)] for i in range(count)]
    sequence[0].save(path, format="PDF", save_all=True, append_images=sequence[1:], resolution=dpi)
    return path


# --- the plain tesseract CLI ---------------------------------------------------------------


def run_tesseract(*args: str) -> str:
    """Run the tesseract CLI; its stdout."""
    try:
        done = subprocess.run(
            ["tesseract", *args], env=CLI_ENV, capture_output=True, text=True, check=True
        )
    except subprocess.CalledProcessError as e:
        raise BenchmarkFailed(f"tesseract {' '.join(args)} failed: {e.stderr.strip()}") from e
    return done.stdout


def cli_pdf_seconds(pngs: Sequence[Path], out_dir: Path) -> float:
    """Wall time of `tesseract page.png out tsv` over every page, PARALLEL at a time."""
    shutil.rmtree(out_dir, ignore_errors=True)
    out_dir.mkdir(parents=True)
    run_tesseract(str(pngs[0]), str(out_dir / "warmup"), "tsv")  # page cache, not timed
    started = time.perf_counter()
    with ThreadPoolExecutor(PARALLEL) as pool:
        list(pool.map(lambda png: run_tesseract(str(png), str(out_dir / png.stem), "tsv"), pngs))
    elapsed = time.perf_counter() - started
    for png in pngs:
        rows = (out_dir / f"{png.stem}.tsv").read_text().splitlines()
        if len(rows) < 2:
            raise BenchmarkFailed(f"tesseract found no text on {png.name}")
    return elapsed


def warm_cli_run(pngs: Sequence[Path], out_dir: Path) -> tuple[float, str]:
    """Wall time and text of PARALLEL warm `tesseract` processes, each given a list of the
    pre-rendered pages at their own resolution (one model load per process, not per page)."""
    shutil.rmtree(out_dir, ignore_errors=True)
    out_dir.mkdir(parents=True)
    shares = [list(pngs[i::PARALLEL]) for i in range(PARALLEL)]
    for i, share in enumerate(shares):
        (out_dir / f"list-{i}.txt").write_text("".join(f"{png}\n" for png in share))
    run_tesseract(str(pngs[0]), "-")  # page cache, not timed
    started = time.perf_counter()
    with ThreadPoolExecutor(PARALLEL) as pool:
        list(
            pool.map(
                lambda i: run_tesseract(str(out_dir / f"list-{i}.txt"), str(out_dir / f"part-{i}")),
                range(PARALLEL),
            )
        )
    elapsed = time.perf_counter() - started
    # Each process writes its pages separated by form feeds; put them back in page order.
    parts = [(out_dir / f"part-{i}.txt").read_text().split("\f") for i in range(PARALLEL)]
    pages = [parts[i % PARALLEL][i // PARALLEL] for i in range(len(pngs))]
    return elapsed, "\n".join(pages)


def pdftotext(pdf: Path, *options: str) -> str:
    """The text `pdftotext` reads from `pdf`."""
    try:
        done = subprocess.run(
            ["pdftotext", *options, str(pdf), "-"], capture_output=True, text=True, check=True
        )
    except subprocess.CalledProcessError as e:
        raise BenchmarkFailed(f"pdftotext {pdf.name} failed: {e.stderr.strip()}") from e
    return done.stdout


def cli_small_ms(png: Path, repeats: int) -> list[float]:
    """Milliseconds of one `tesseract small.png -` call, `repeats` times."""
    run_tesseract(str(png), "-")  # page cache, not timed
    return timed(repeats, lambda: _expect_text(run_tesseract(str(png), "-"), "tesseract"))


# --- Tessera over HTTP ---------------------------------------------------------------------


@contextmanager
def tessera_server(backend: str, workdir: Path) -> Iterator[httpx.Client]:
    """A fresh `tessera serve` on a free port and a client for it; stopped on the way out."""
    with tessera_process(backend, workdir, name=backend) as (client, _):
        yield client


@contextmanager
def tessera_process(
    backend: str, workdir: Path, *, name: str, env: dict[str, str] | None = None
) -> Iterator[tuple[httpx.Client, subprocess.Popen[bytes]]]:
    """As `tessera_server`, also yielding the server's process; `name` labels its files."""
    data_dir = workdir / f"data-{name}"
    shutil.rmtree(data_dir, ignore_errors=True)
    port = free_port()
    log_path = workdir / f"server-{name}.log"
    command = [
        str(tessera_command()),
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--data-dir",
        str(data_dir),
        "--workers",
        str(PARALLEL),
        "--backend",
        backend,
    ]
    log.info("starting Tessera (%s) on port %d; its log: %s", backend, port, log_path)
    with open(log_path, "wb") as server_log:
        process = subprocess.Popen(
            command,
            stdout=server_log,
            stderr=subprocess.STDOUT,
            env={**server_env(), **(env or {})},
        )
    try:
        with httpx.Client(
            base_url=f"http://127.0.0.1:{port}", timeout=HTTP_TIMEOUT_S, trust_env=False
        ) as client:
            wait_healthy(client, process, backend, log_path)
            yield client, process
    finally:
        stop(process)


def tessera_command() -> Path:
    """The `tessera` script of this virtualenv."""
    path = Path(sys.executable).with_name("tessera")
    if not path.exists():
        raise BenchmarkFailed(f"{path} is missing; run `make install`")
    return path


def server_env() -> dict[str, str]:
    """This environment minus what would make the server other than its defaults and flags."""
    # The service must limit OpenMP in its workers itself; an inherited limit would hide it.
    # TESSERA_* settings (API keys, limits) would change what is measured.
    return {
        k: v
        for k, v in os.environ.items()
        if k != "OMP_THREAD_LIMIT" and not k.startswith("TESSERA_")
    }


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_healthy(
    client: httpx.Client, process: subprocess.Popen[bytes], backend: str, log_path: Path
) -> None:
    """Wait until GET /health answers 200 for `backend`, or fail with the server's log."""
    deadline = time.perf_counter() + HEALTH_TIMEOUT_S
    while time.perf_counter() < deadline:
        if process.poll() is not None:
            raise BenchmarkFailed(
                f"Tessera ({backend}) exited with code {process.returncode}:\n{_tail(log_path)}"
            )
        try:
            response = client.get("/health", timeout=2.0)
        except httpx.TransportError:
            response = None
        if response is not None and response.status_code == 200:
            health = response.json()
            if health.get("backend") != backend or health.get("workers") != PARALLEL:
                raise BenchmarkFailed(f"Tessera reports {health}, not {PARALLEL} {backend} workers")
            return
        time.sleep(0.2)
    raise BenchmarkFailed(
        f"Tessera ({backend}) was not healthy within {HEALTH_TIMEOUT_S:.0f} s:\n{_tail(log_path)}"
    )


def _tail(path: Path, lines: int = 20) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL if the server has not gone within STOP_TIMEOUT_S."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        log.warning("Tessera (pid %d) ignored SIGTERM; killing it", process.pid)
        process.kill()
        process.wait()


def request_body(doc_type: str, mime: str, data: bytes, **fields: Any) -> bytes:
    """The JSON of an OCR request carrying `data` as a base64 data URL, and `fields`."""
    url = f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"
    return json.dumps(
        {"model": "tesseract", "document": {"type": doc_type, doc_type: url}, **fields}
    ).encode()


def expect(response: httpx.Response, status: int) -> None:
    """Fail unless `response` has `status`."""
    if response.status_code != status:
        request = response.request
        raise BenchmarkFailed(
            f"{request.method} {request.url.path} answered "
            f"{response.status_code}, not {status}: {response.text[:500]}"
        )


def tessera_pdf_seconds(client: httpx.Client, pdf: Path, pages: int) -> float:
    """Wall time from POST /v1/async/ocr to the poll that finds the job completed."""
    return tessera_pdf_run(client, pdf, pages)[0]


def tessera_pdf_run(client: httpx.Client, pdf: Path, pages: int) -> tuple[float, str]:
    """As `tessera_pdf_seconds`, with the pages' Markdown joined."""
    body = request_body("document_url", "application/pdf", pdf.read_bytes())
    started = time.perf_counter()
    created = client.post("/v1/async/ocr", content=body, headers=JSON_HEADERS)
    expect(created, 202)
    job_id = created.json()["id"]
    finished = poll_job(client, job_id, timeout=JOB_TIMEOUT_PER_PAGE_S * pages)
    elapsed = time.perf_counter() - started
    job = finished.json()
    if job.get("status") != "completed":
        raise BenchmarkFailed(
            f"job {job_id} ended {job.get('status')}: {json.dumps(job.get('error'))}"
        )
    check_pages(job["result"], pages)
    return elapsed, "\n".join(p["markdown"] for p in job["result"]["pages"])


def poll_job(
    client: httpx.Client,
    job_id: str,
    *,
    timeout: float,
    on_pending: Callable[[dict[str, Any]], None] | None = None,
) -> httpx.Response:
    """GET the job every POLL_INTERVAL_S until it answers 200 (completed or failed); each
    202 answer's JSON goes to `on_pending`."""
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        response = client.get(f"/v1/async/ocr/{job_id}")
        if response.status_code == 200:
            return response
        expect(response, 202)
        if on_pending is not None:
            on_pending(response.json())
        time.sleep(POLL_INTERVAL_S)
    raise BenchmarkFailed(f"job {job_id} did not finish within {timeout:.0f} s")


def check_pages(result: dict[str, Any], pages: int) -> None:
    """Fail unless the OCR result has `pages` pages, each with some markdown."""
    found = result.get("pages", [])
    if len(found) != pages:
        raise BenchmarkFailed(f"the result has {len(found)} pages, not {pages}")
    empty = [p["index"] for p in found if not p.get("markdown", "").strip()]
    if empty:
        raise BenchmarkFailed(f"pages {empty} of the result have no markdown")


def tessera_small_ms(client: httpx.Client, png: Path, repeats: int) -> list[float]:
    """Milliseconds of a sequential POST /v1/ocr round trip, after WARMUP_REQUESTS untimed."""
    body = request_body("image_url", "image/png", png.read_bytes())

    def one() -> None:
        response = client.post("/v1/ocr", content=body, headers=JSON_HEADERS)
        expect(response, 200)
        check_pages(response.json(), 1)

    for _ in range(WARMUP_REQUESTS):
        one()
    return timed(repeats, one)


# --- memory --------------------------------------------------------------------------------


def process_tree(root: int) -> list[int]:
    """`root` and every process descended from it, found through /proc/<pid>/stat."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # gone since the listing
        # The command name, in parentheses, may hold spaces and ')'; the fields after the last
        # ')' are fixed: state, then the parent's pid.
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    tree, frontier = [], [root]
    while frontier:
        pid = frontier.pop()
        tree.append(pid)
        frontier.extend(children.get(pid, ()))
    return tree


def resident_bytes(pid: int) -> tuple[int, int] | None:
    """The process's RSS now and its peak RSS so far (VmRSS, VmHWM), or None if it is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    if "VmRSS" not in fields or "VmHWM" not in fields:
        return None  # a zombie: no memory left to count
    return (int(fields["VmRSS"].split()[0]) * 1024, int(fields["VmHWM"].split()[0]) * 1024)


class MemorySampler:
    """A thread summing the RSS of a process and all its descendants every MEMORY_SAMPLE_S."""

    def __init__(self, root: int) -> None:
        self.root = root
        self.peak_total = 0
        self.peaks: dict[int, int] = {}  # pid: the highest VmHWM seen
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="memory-sampler", daemon=True)
        self._error: BaseException | None = None

    def __enter__(self) -> MemorySampler:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()
        if self._error is not None:
            raise BenchmarkFailed(f"sampling memory failed: {self._error!r}") from self._error
        self.sample()  # the state the job ended in, after the last poll

    def _loop(self) -> None:
        try:
            while not self._stop.is_set():
                self.sample()
                self._stop.wait(MEMORY_SAMPLE_S)
        except BaseException as e:  # re-raised in the main thread: a dead sampler reads as 0
            self._error = e

    def sample(self) -> None:
        """Add one reading of the whole tree."""
        total = 0
        for pid in process_tree(self.root):
            reading = resident_bytes(pid)
            if reading is None:
                continue
            rss, hwm = reading
            total += rss
            self.peaks[pid] = max(self.peaks.get(pid, 0), hwm)
        self.peak_total = max(self.peak_total, total)

    @property
    def root_peak(self) -> int:
        return self.peaks.get(self.root, 0)

    @property
    def descendant_peak(self) -> int:
        return max((peak for pid, peak in self.peaks.items() if pid != self.root), default=0)


def measure_memory(pdf: Path, pages: int, workdir: Path) -> MemoryRun:
    """Peak memory of a fresh Tessera server while it reads `pdf` through /v1/async/ocr."""
    name = f"memory-{pages}"
    size = pdf.stat().st_size
    with tessera_process(MEMORY_BACKEND, workdir, name=name) as (client, process):
        log.info(
            "Tessera (%s): %d-page PDF (%.1f MB) through /v1/async/ocr, sampling memory",
            MEMORY_BACKEND,
            pages,
            size / MB,
        )
        with MemorySampler(process.pid) as sampler:
            seconds = tessera_pdf_seconds(client, pdf, pages)
    if not sampler.descendant_peak:
        raise BenchmarkFailed(f"no worker process of Tessera (pid {process.pid}) was seen")
    return MemoryRun(
        pages, size, seconds, sampler.peak_total, sampler.root_peak, sampler.descendant_peak
    )


# --- measuring and reporting ---------------------------------------------------------------


def timed(repeats: int, call: Callable[[], object]) -> list[float]:
    """Milliseconds of each of `repeats` calls."""
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return times


def _expect_text(text: str, who: str) -> None:
    if not text.strip():
        raise BenchmarkFailed(f"{who} read no text from the small image")


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100), interpolated between the nearest ranks."""
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def measure_cli(inputs: Inputs, workdir: Path, repeats: int) -> Column:
    """The plain tesseract CLI's column."""
    column = Column("plain tesseract CLI")
    log.info("CLI: %d pages, %d at a time", len(inputs.page_pngs), PARALLEL)
    column.pdf_seconds = cli_pdf_seconds(inputs.page_pngs, workdir / "cli-out")
    log.info("CLI: small image x %d", repeats)
    column.small_ms = cli_small_ms(inputs.small_png, repeats)
    return column


def measure_warm(inputs: Inputs, workdir: Path, rounds: int) -> WarmRun:
    """Two warm tesseract processes over the dense PDF's pre-rendered pages, and Tessera
    over the PDF, in `rounds` alternating rounds."""
    pages = len(inputs.page_pngs)
    cli_seconds: list[float] = []
    tessera_seconds: list[float] = []
    cli_text = tessera_text = ""
    with tessera_server("tesserocr", workdir) as client:
        tessera_pdf_run(client, inputs.scan_pdf, pages)  # warm-up, not timed
        for i in range(rounds):
            log.info(
                "round %d of %d: %d pages as %d warm CLI processes, then Tessera",
                i + 1,
                rounds,
                pages,
                PARALLEL,
            )
            seconds, cli_text = warm_cli_run(inputs.page_pngs, workdir / "warm-cli-out")
            cli_seconds.append(seconds)
            seconds, tessera_text = tessera_pdf_run(client, inputs.scan_pdf, pages)
            tessera_seconds.append(seconds)
    return WarmRun(
        pages,
        cli_seconds,
        tessera_seconds,
        cli_text,
        tessera_text,
        pdftotext(inputs.source_pdf, "-l", str(pages)),
    )


def measure_tessera(backend: str, inputs: Inputs, workdir: Path, repeats: int) -> Column:
    """One Tessera backend's column, on a server of its own."""
    column = Column(f"Tessera ({backend})")
    pages = len(inputs.page_pngs)
    with tessera_server(backend, workdir) as client:
        log.info("Tessera (%s): %d-page PDF through /v1/async/ocr", backend, pages)
        column.pdf_seconds, column.pdf_text = tessera_pdf_run(client, inputs.scan_pdf, pages)
        log.info("Tessera (%s): small image x %d through /v1/ocr", backend, repeats)
        column.small_ms = tessera_small_ms(client, inputs.small_png, repeats)
    return column


def _ratio(value: float | None, base: float | None) -> float | None:
    return value / base if value is not None and base else None


def _cell(value: float | None, fmt: str) -> str:
    return "—" if value is None else format(value, fmt)


def _verdict(ratio: float | None, met: bool) -> str:
    if ratio is None:
        return "not measured"
    return f"{ratio:.2f} x, {'met' if met else 'NOT met'}"


@dataclass(frozen=True)
class Table:
    """The three columns and how to read them as rows."""

    pages: int
    cli: Column
    tessera: Column  # the default backend, tesserocr: the ratios and targets are about it
    pytesseract: Column | None

    @property
    def columns(self) -> tuple[Column | None, ...]:
        return (self.cli, self.tessera, self.pytesseract)

    def throughput(self, column: Column | None) -> float | None:
        """Pages per second of the dense PDF."""
        if column is None or not column.pdf_seconds:
            return None
        return self.pages / column.pdf_seconds

    @staticmethod
    def small(column: Column | None, q: float) -> float | None:
        """The q-th percentile of the small-image milliseconds."""
        return percentile(column.small_ms, q) if column is not None and column.small_ms else None

    def headers(self) -> list[str]:
        names = [c.name if c is not None else "Tessera (pytesseract)" for c in self.columns]
        return ["measurement", *names, "ratio"]

    def rows(self, repeats: int) -> list[list[str]]:
        def pdf_cell(c: Column | None) -> str:
            if c is None:
                return "skipped"
            return f"{self.throughput(c):.2f} ({c.pdf_seconds:.1f} s)"

        rows = [
            [
                f"dense PDF, {self.pages} pages, {PARALLEL} in parallel: pages/s (wall)",
                *(pdf_cell(c) for c in self.columns),
                _cell(self.speed_ratio(), ".2f"),
            ]
        ]
        for q in (50, 90):
            cells = [
                "skipped" if c is None else _cell(self.small(c, q), ".0f") for c in self.columns
            ]
            ratio = _ratio(self.small(self.tessera, q), self.small(self.cli, q))
            rows.append([f"small image p{q} ms ({repeats} runs)", *cells, _cell(ratio, ".2f")])
        return rows

    def speed_ratio(self) -> float | None:
        return _ratio(self.throughput(self.tessera), self.throughput(self.cli))

    def latency_ratio(self) -> float | None:
        return _ratio(self.small(self.tessera, 50), self.small(self.cli, 50))

    def verdict(self) -> str:
        speed, latency = self.speed_ratio(), self.latency_ratio()
        speed_met = speed is not None and speed >= THROUGHPUT_TARGET
        latency_met = latency is not None and latency <= LATENCY_TARGET
        return (
            f"**Targets** (Tessera with tesserocr): dense-PDF throughput >= "
            f"{THROUGHPUT_TARGET:g} x CLI: {_verdict(speed, speed_met)}; "
            f"small-image p50 <= 1/3 of one CLI call: {_verdict(latency, latency_met)}."
        )


def footnotes(inputs: Inputs) -> list[str]:
    """How each column was measured, and what the machine adds to the gap."""
    width, height = inputs.small_size
    notes = [
        f"[1] CLI: `tesseract page.png out tsv` on the pages pre-rendered from the same PDF at "
        f"300 dpi (rendering not timed), {PARALLEL} processes at a time, OMP_THREAD_LIMIT=1: its "
        f"fastest setting on this {os.cpu_count()}-core machine; with Tesseract's default "
        "OpenMP threads it is 3-4x slower.",
        f"[2] Tessera: `tessera serve --workers {PARALLEL}`; the image-only PDF is sent as a "
        f"base64 data URL to POST /v1/async/ocr, polled every {POLL_INTERVAL_S:g} s until "
        "completed. Includes upload, rendering each page at 300 dpi, layout and the JSON result.",
        f"[3] Small image: a {width}x{height} PNG of one line of text. CLI: one "
        "`tesseract small.png -` process per call, start-up and model load included. Tessera: "
        f"POST /v1/ocr round trip, sequential, after {WARMUP_REQUESTS} untimed requests.",
        "[4] ratio = Tessera (tesserocr) / CLI.",
    ]
    if cli_version() != tesserocr_version():
        notes.append(
            f"[5] The CLI and tesserocr run different Tesseract builds "
            f"(`{cli_version()}` vs `{tesserocr_version()}`): part of any gap is the "
            "build, not Tessera."
        )
    return notes


def report(
    machine: str,
    inputs: Inputs,
    repeats: int,
    table: Table,
    memory: tuple[MemoryRun, MemoryRun] | None,
    searchable: Comparison | None = None,
    warm: WarmRun | None = None,
) -> str:
    """The Markdown report: machine line, tables, footnotes and the verdicts on the targets."""
    lines = markdown_table(table.headers(), table.rows(repeats))
    notes = footnotes(inputs)
    sections = [machine, "", *lines, "", *notes, "", table.verdict(), ""]
    if warm is not None:
        sections += [*warm.report(first_note=_next_note(sections)), ""]
    if memory is not None:
        sections += [*memory_report(*memory, first_note=_next_note(sections)), ""]
    if searchable is not None:
        sections += [*searchable.report(first_note=_next_note(sections)), ""]
    return "\n".join(sections)


def _next_note(lines: Sequence[str]) -> int:
    """The number after the last footnote, `[n] ...`, in `lines`."""
    numbers = [int(m[1]) for line in lines if (m := _FOOTNOTE.match(line))]
    return max(numbers, default=0) + 1


def memory_report(short: MemoryRun, long: MemoryRun, *, first_note: int) -> list[str]:
    """The memory table, its footnotes and the verdict on the memory targets."""
    headers = [
        "pages",
        "peak total MB",
        "server process MB",
        "largest worker MB",
        "wall time s",
        "pages/s",
    ]
    rows = [
        [
            str(r.pages),
            f"{r.peak_total / MB:.0f}",
            f"{r.server_peak / MB:.0f}",
            f"{r.worker_peak / MB:.0f}",
            f"{r.seconds:.1f}",
            f"{r.pages_per_second:.2f}",
        ]
        for r in (short, long)
    ]
    title = (
        f"**Peak memory**: Tessera ({MEMORY_BACKEND}), {PARALLEL} workers, an image-only "
        "PDF through /v1/async/ocr; the server and all its workers, summed."
    )
    return [
        title,
        "",
        *markdown_table(headers, rows),
        "",
        *memory_footnotes(short, long, first_note),
        "",
        *memory_verdict(short, long),
    ]


def memory_footnotes(short: MemoryRun, long: MemoryRun, first: int) -> list[str]:
    """How the memory was measured, and why its sum overstates."""
    notes = [
        f"Memory: a fresh `tessera serve --workers {PARALLEL} --backend {MEMORY_BACKEND}` per "
        "document; the document goes as a base64 data URL to POST /v1/async/ocr, polled every "
        f"{POLL_INTERVAL_S:g} s until completed; wall time from the upload to that poll. The "
        f"documents cycle through the first {MEMORY_DISTINCT_PAGES} pages of the GPL in 10 pt, "
        "rendered at 300 dpi, bilevel, each page stored by Pillow as CCITT G4: "
        f"{short.pages} pages {short.document_bytes} bytes, "
        f"{long.pages} pages {long.document_bytes} bytes.",
        "Memory is RSS (resident set size), not VSZ (virtual size, which counts address space "
        "never touched). Peak total: the largest sum, over samples every "
        f"{MEMORY_SAMPLE_S:g} s, of the VmRSS of the server process and every process "
        "descended from it (the workers and multiprocessing's resource tracker), read from "
        "/proc; a spike shorter than that interval can be missed. Server process and largest "
        "worker: each process's own high-water mark (VmHWM), start-up included; the largest "
        "worker is the largest descendant.",
        "Linux counts a shared page (the Python and Tesseract libraries, any file mapped by "
        "several processes) in the RSS of every process that maps it, so the sum overstates "
        "what the processes occupy together. MB = 2^20 bytes.",
    ]
    return [f"[{first + i}] {note}" for i, note in enumerate(notes)]


def memory_verdict(short: MemoryRun, long: MemoryRun) -> list[str]:
    """One line per memory target: met or NOT met, with the numbers."""
    total_met = long.peak_total < MEMORY_TARGET_MB * MB
    growth = long.peak_total / short.peak_total - 1
    growth_met = abs(growth) <= MEMORY_GROWTH_TARGET
    extra = long.document_bytes - short.document_bytes
    server_growth = long.server_peak - short.server_peak
    return [
        f"- **Data URL memory target**: the server process's peak on {long.pages} pages "
        f"exceeds the {short.pages}-page one's by {server_growth / MB:+.1f} MB, the extra "
        f"document bytes once being {extra / MB:.1f} MB: "
        f"{'met' if server_growth <= extra else 'NOT met'}.",
        f"- **Memory target**: peak total on {long.pages} pages < {MEMORY_TARGET_MB} MB "
        f"(1.5 GB): {long.peak_total / MB:.0f} MB, {'met' if total_met else 'NOT met'}.",
        f"- **Memory target**: {long.pages}-page peak within {MEMORY_GROWTH_TARGET:.0%} of the "
        f"{short.pages}-page one: {growth:+.1%} ({long.peak_total / MB:.0f} vs "
        f"{short.peak_total / MB:.0f} MB), {'met' if growth_met else 'NOT met'}.",
    ]


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """A Markdown table, its columns padded so it also reads as plain text."""
    widths = [max(len(r[i]) for r in [headers, *rows]) for i in range(len(headers))]

    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    return [line(headers), line(["-" * w for w in widths]), *(line(r) for r in rows)]


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m tools.benchmark",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--pages", type=_positive, default=12, help="pages of the dense PDF (default 12)"
    )
    parser.add_argument(
        "--repeats", type=_positive, default=15, help="timed runs of the small image (default 15)"
    )
    parser.add_argument(
        "--workdir",
        type=Path,
        default=Path("bench-data"),
        help="scratch directory (default ./bench-data)",
    )
    parser.add_argument(
        "--skip-pytesseract",
        action="store_true",
        help="leave out the Tessera server with the pytesseract backend",
    )
    parser.add_argument(
        "--memory-pages",
        type=_positive,
        default=300,
        help="pages of the long PDF whose peak memory is measured; the short "
        "one has a tenth of them (default 300, against 30)",
    )
    parser.add_argument(
        "--warm-rounds",
        type=_positive,
        default=3,
        help="alternating rounds of the warm-CLI comparison (default 3)",
    )
    parser.add_argument("--skip-memory", action="store_true", help="leave out the peak-memory runs")
    parser.add_argument(
        "--skip-load", action="store_true", help="leave out the many-clients load run"
    )
    parser.add_argument(
        "--skip-searchable",
        action="store_true",
        help="leave out the searchable-PDF comparison with OCRmyPDF "
        "(alone: python -m tools.searchable_bench)",
    )
    parser.add_argument(
        "--skip-postgres",
        action="store_true",
        help="leave out the SQLite / PostgreSQL job-store comparison",
    )
    args = parser.parse_args(argv)
    if args.memory_pages < MEMORY_SHORT_FRACTION:
        parser.error(
            f"--memory-pages must be at least {MEMORY_SHORT_FRACTION}, so the short "
            "document has a page"
        )
    return args


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def run(args: argparse.Namespace) -> str:
    """Every measurement, in order; the report."""
    if shutil.which("tesseract") is None:
        raise BenchmarkFailed("the tesseract CLI is not installed; run `make install`")
    workdir = args.workdir.resolve()
    machine = machine_line()
    log.info("building a %d-page image-only PDF in %s", args.pages, workdir)
    inputs = prepare_inputs(workdir, args.pages)
    cli = measure_cli(inputs, workdir, args.repeats)
    warm = measure_warm(inputs, workdir, args.warm_rounds)
    tessera = measure_tessera("tesserocr", inputs, workdir, args.repeats)
    pytesseract = (
        None
        if args.skip_pytesseract
        else measure_tessera("pytesseract", inputs, workdir, args.repeats)
    )
    table = Table(args.pages, cli, tessera, pytesseract)
    stores = None if args.skip_postgres else measure_stores(inputs, workdir)
    memory = None if args.skip_memory else measure_memory_runs(workdir, args.memory_pages)
    searchable = None if args.skip_searchable else measure_searchable(inputs, workdir)
    upload = None if args.skip_memory else measure_upload_run(workdir)
    load = None if args.skip_load else measure_load_run(workdir)
    text = report(machine, inputs, args.repeats, table, memory, searchable, warm)
    if upload is not None:
        note = _next_note(text.splitlines())
        text += "\n" + "\n".join(upload_report(upload, first_note=note)) + "\n"
    if load is not None:
        note = _next_note(text.splitlines())
        text += "\n" + "\n".join(load_report(load, first_note=note)) + "\n"
    if stores is not None:
        text += "\n" + "\n".join(store_report(stores, args.pages)) + "\n"
    return text


def measure_upload_run(workdir: Path) -> UploadRun:
    """The Files API upload's memory (`tools.upload_bench`)."""
    from tools.upload_bench import large_scan, measure_upload

    return measure_upload(workdir, large_scan(workdir / "upload-inputs"))


def measure_load_run(workdir: Path) -> LoadRun:
    """Many clients at once, both APIs (`tools.load_bench`)."""
    from tools.load_bench import measure_load

    return measure_load(workdir)


def load_report(run: LoadRun, *, first_note: int) -> list[str]:
    from tools.load_bench import load_report as report_load

    return report_load(run, first_note=first_note)


def upload_report(run: UploadRun, *, first_note: int) -> list[str]:
    from tools.upload_bench import upload_report as report_upload

    return report_upload(run, first_note=first_note)


def measure_searchable(inputs: Inputs, workdir: Path) -> Comparison:
    """The scan to a searchable PDF, Tessera against OCRmyPDF."""
    # Imported here: tools.searchable_bench imports this module.
    from tools.searchable_bench import compare

    return compare(inputs, workdir)


STORE_ROUNDS = 2
STORE_TARGET = 0.95  # PostgreSQL throughput >= this x SQLite's, one node


def measure_stores(inputs: Inputs, workdir: Path) -> dict[str, list[float]]:
    """Seconds for the dense PDF on one node with each job store, rounds alternating."""
    seconds: dict[str, list[float]] = {"SQLite": [], "PostgreSQL": []}
    pages = len(inputs.page_pngs)
    with temporary_database("tessera_bench") as url:
        for round_ in range(STORE_ROUNDS):
            for store, env in (("SQLite", {}), ("PostgreSQL", {"TESSERA_DATABASE_URL": url})):
                log.info("store %s, round %d: %d-page PDF", store, round_ + 1, pages)
                with tessera_process("tesserocr", workdir, name=f"store-{store}", env=env) as (
                    client,
                    _,
                ):
                    seconds[store].append(tessera_pdf_seconds(client, inputs.scan_pdf, pages))
    return seconds


def store_report(seconds: dict[str, list[float]], pages: int) -> list[str]:
    """The job-store comparison table and its target line."""
    best = {store: min(runs) for store, runs in seconds.items()}
    rows = [
        [store, ", ".join(f"{s:.1f}" for s in runs), f"{pages / best[store]:.3f}"]
        for store, runs in seconds.items()
    ]
    ratio = best["SQLite"] / best["PostgreSQL"]
    lines = [
        f"**Job stores**: one node, tesserocr, {PARALLEL} workers, the same {pages}-page "
        "PDF through /v1/async/ocr; rounds alternate between the stores.",
        "",
        *markdown_table(
            ["store", f"wall s per run ({STORE_ROUNDS} runs)", "pages/s (best run)"], rows
        ),
        "",
        f"- **Store target**: PostgreSQL throughput >= {STORE_TARGET:g} x SQLite's: "
        f"{_verdict(ratio, ratio >= STORE_TARGET)}.",
    ]
    return lines


def measure_memory_runs(workdir: Path, pages: int) -> tuple[MemoryRun, MemoryRun]:
    """Peak memory on a `pages`-page PDF and on one with a tenth of its pages."""
    short_pages = pages // MEMORY_SHORT_FRACTION
    log.info("building %d- and %d-page bilevel PDFs in %s", short_pages, pages, workdir)
    pdfs = prepare_memory_pdfs(workdir, (short_pages, pages))
    short = measure_memory(pdfs[short_pages], short_pages, workdir)
    long = measure_memory(pdfs[pages], pages, workdir)
    return short, long


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    # Progress lines of this module only; httpx would log every poll at INFO.
    logging.basicConfig(level=logging.WARNING, format="bench: %(message)s", stream=sys.stderr)
    log.setLevel(logging.INFO)
    try:
        text = run(args)
    except BenchmarkFailed as e:
        sys.exit(f"benchmark failed: {e}")
    sys.stdout.write(text)


if __name__ == "__main__":
    # Run as tools.benchmark, the module tools.searchable_bench imports, so that both raise
    # and catch the one BenchmarkFailed.
    from tools.benchmark import main as benchmark_main

    benchmark_main()
