"""Tessera against OCRmyPDF: the benchmark's image-only scan to a searchable PDF.

Both read the same 12-page scan, one after the other: Tessera as a real `tessera serve` through
`/v1/async/ocr` with `output_formats: ["pdf"]`, OCRmyPDF as one `ocrmypdf` command. The table
gives wall time, output size and the character error rate of each PDF's text (`pdftotext` and
`pdftotext -raw`) against the born-digital source's. `make bench` runs it with the rest of the
benchmark; `python -m tools.searchable_bench` runs it alone. OCRmyPDF is not a dependency of
Tessera: `make bench` installs it into bench-data/ocrmypdf-venv.
"""

from __future__ import annotations

import argparse
import logging
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from PIL import Image

from tools.benchmark import (
    JOB_TIMEOUT_PER_PAGE_S,
    JSON_HEADERS,
    MB,
    PARALLEL,
    POLL_INTERVAL_S,
    BenchmarkFailed,
    Inputs,
    _positive,
    check_pages,
    cli_version,
    expect,
    machine_line,
    markdown_table,
    pdftotext,
    poll_job,
    prepare_inputs,
    request_body,
    server_env,
    tessera_server,
)
from tools.eval import cer

# A child of the benchmark's logger: its progress lines show wherever the benchmark's do.
log = logging.getLogger("tools.benchmark.searchable")

BACKEND = "tesserocr"
SPEEDUP_TARGET = 2.0  # OCRmyPDF's wall time / Tessera's
OCRMYPDF_VENV = Path(__file__).resolve().parent.parent / "bench-data" / "ocrmypdf-venv"
WARMUP_PAGES = 2  # one for each worker


@dataclass(frozen=True)
class TesseraTimes:
    """Seconds from the POST to each stage of Tessera's job."""

    pages_read: float | None  # the first poll that found every page read
    completed: float  # the poll that found the job completed: PDF written, result stored
    downloaded: float  # the PDF on disk: the wall time compared
    latency: float  # the job's own `extra_fields.latency`, from its start to its response


@dataclass(frozen=True)
class ToolRun:
    """One tool's searchable PDF: how long it took and how well its text reads."""

    name: str
    seconds: float
    output_bytes: int
    cer_plain: float  # `pdftotext`
    cer_raw: float  # `pdftotext -raw`


@dataclass(frozen=True)
class Comparison:
    """Both runs on the same scan, and how to report them."""

    pages: int
    input_bytes: int
    tessera: ToolRun
    ocrmypdf: ToolRun
    ocrmypdf_version: str
    times: TesseraTimes

    @property
    def speedup(self) -> float:
        return self.ocrmypdf.seconds / self.tessera.seconds

    @property
    def text_no_worse(self) -> bool:
        """Tessera's CER at most OCRmyPDF's, with either way of reading the PDF."""
        return (
            self.tessera.cer_plain <= self.ocrmypdf.cer_plain
            and self.tessera.cer_raw <= self.ocrmypdf.cer_raw
        )

    def report(self, first_note: int = 1) -> list[str]:
        """Title, table, footnotes numbered from `first_note`, and the verdict."""
        headers = [
            "tool",
            f"wall s ({self.pages} pages)",
            "pages/s",
            f"output MB (input {self.input_bytes / MB:.1f} MB)",
            "CER pdftotext",
            "CER pdftotext -raw",
        ]
        rows = [
            [
                run.name,
                f"{run.seconds:.1f}",
                f"{self.pages / run.seconds:.2f}",
                f"{run.output_bytes / MB:.1f}",
                _pct(run.cer_plain),
                _pct(run.cer_raw),
            ]
            for run in (self.tessera, self.ocrmypdf)
        ]
        title = (
            f"**Searchable PDF**: the same {self.pages}-page image-only scan to a searchable "
            f"PDF, Tessera against OCRmyPDF {self.ocrmypdf_version}, one after the other."
        )
        notes = [f"[{first_note + i}] {note}" for i, note in enumerate(self.footnotes())]
        return [title, "", *markdown_table(headers, rows), "", *notes, "", self.verdict()]

    def footnotes(self) -> list[str]:
        """What each row measured, how the text was scored, and where Tessera's time went."""
        t = self.times
        read = "—" if t.pages_read is None else f"{t.pages_read:.1f} s"
        return [
            f"Tessera: `tessera serve --workers {PARALLEL} --backend {BACKEND}`, warmed by an "
            f"untimed {WARMUP_PAGES}-page job; the scan goes as a base64 data URL to POST "
            '/v1/async/ocr with `"output_formats": ["pdf"]` and `"ocr_mode": "force"`, polled '
            f"every {POLL_INTERVAL_S:g} s; wall time from the POST to the PDF downloaded from "
            "/v1/async/ocr/{id}/outputs/pdf. The PDF keeps the scan's page images as they are "
            "and adds an invisible text layer.",
            f"OCRmyPDF {self.ocrmypdf_version} (PyPI, in a virtualenv of its own; pypdfium2 "
            f"rasterizes, no Ghostscript): `ocrmypdf --force-ocr -j {PARALLEL} --output-type "
            "pdf -l eng scan.pdf out.pdf`, otherwise its defaults (optimization level 1, "
            "lossless), timed as the whole command after an untimed run on the warm-up "
            f"document; it runs the tesseract CLI (`{cli_version()}`, not tesserocr's build), "
            "limiting its OpenMP threads itself.",
            "CER: Levenshtein distance (rapidfuzz) in characters / the truth's length, both "
            "texts normalised as `make eval` does (NFKC, plain quotes and dashes, line-end "
            "hyphens joined, whitespace collapsed). Truth: plain `pdftotext` of the "
            f"born-digital PDF's first {self.pages} pages, from which the scan was rendered "
            "at 300 dpi. Reading: `pdftotext` (lines rebuilt from where the words lie) and "
            "`pdftotext -raw` (the content stream's order, as viewers search and copy) of "
            "each output PDF. "
            "MB = 2^20 bytes.",
            f"Tessera's time: every page read at {read} (first poll seeing it), the job "
            f"completed (PDF written, result stored) at {t.completed:.1f} s, the PDF downloaded "
            f"at {t.downloaded:.1f} s; the job's own latency (its start to its response, PDF "
            f"included) {t.latency:.1f} s.",
        ]

    def verdict(self) -> str:
        speed_met = self.speedup >= SPEEDUP_TARGET
        return (
            f"- **Searchable-PDF target**: Tessera {self.speedup:.1f} x faster than OCRmyPDF "
            f"(target >= {SPEEDUP_TARGET:g} x): {'met' if speed_met else 'NOT met'}; "
            f"text no worse (CER with `pdftotext` and with `-raw` <= OCRmyPDF's): "
            f"{'yes' if self.text_no_worse else 'no'}."
        )


def _pct(rate: float) -> str:
    return f"{rate * 100:.2f} %"


# --- reading the PDFs ----------------------------------------------------------------------


def scored(name: str, seconds: float, pdf: Path, truth: str) -> ToolRun:
    """`name`'s run, its PDF's text scored against `truth` both ways."""
    plain, raw = pdftotext(pdf), pdftotext(pdf, "-raw")
    if not plain.strip():
        raise BenchmarkFailed(f"{name}'s PDF {pdf} has no text")
    return ToolRun(name, seconds, pdf.stat().st_size, cer(plain, truth), cer(raw, truth))


def warmup_pdf(inputs: Inputs, directory: Path) -> Path:
    """A small image-only PDF, the one-line image on each of WARMUP_PAGES pages."""
    path = directory / "warmup.pdf"
    with Image.open(inputs.small_png) as image:
        page = image.convert("L")
    page.save(path, format="PDF", save_all=True, append_images=[page] * (WARMUP_PAGES - 1))
    return path


# --- Tessera -------------------------------------------------------------------------------


def tessera_searchable(client: httpx.Client, pdf: Path, pages: int, out: Path) -> TesseraTimes:
    """`pdf` through /v1/async/ocr with a searchable PDF asked for, downloaded to `out`."""
    body = request_body(
        "document_url",
        "application/pdf",
        pdf.read_bytes(),
        output_formats=["pdf"],
        ocr_mode="force",
    )
    started = time.perf_counter()
    read: list[float] = []

    def on_pending(job: dict[str, Any]) -> None:
        if not read and job.get("pages_total") and job.get("pages_done") == job["pages_total"]:
            read.append(time.perf_counter() - started)

    created = client.post("/v1/async/ocr", content=body, headers=JSON_HEADERS)
    expect(created, 202)
    job_id = created.json()["id"]
    finished = poll_job(
        client, job_id, timeout=JOB_TIMEOUT_PER_PAGE_S * pages, on_pending=on_pending
    )
    completed = time.perf_counter() - started
    job = finished.json()
    if job.get("status") != "completed":
        raise BenchmarkFailed(f"job {job_id} ended {job.get('status')}: {job.get('error')}")
    check_pages(job["result"], pages)
    download = client.get(_output_url(job, "pdf"))
    expect(download, 200)
    out.write_bytes(download.content)
    downloaded = time.perf_counter() - started
    if not download.content.startswith(b"%PDF-"):
        raise BenchmarkFailed(f"job {job_id}'s pdf output is not a PDF")
    latency = job["result"]["extra_fields"]["latency"] / 1000
    return TesseraTimes(read[0] if read else None, completed, downloaded, latency)


def _output_url(job: dict[str, Any], fmt: str) -> str:
    for entry in job.get("outputs") or ():
        if entry.get("format") == fmt and "url" in entry:
            return str(entry["url"])
    raise BenchmarkFailed(f"job {job['id']} lists no {fmt} output: {job.get('outputs')}")


def measure_tessera(inputs: Inputs, workdir: Path, warmup: Path) -> TesseraTimes:
    """Tessera's stages on the scan, on a fresh server warmed first."""
    pages = len(inputs.page_pngs)
    with tessera_server(BACKEND, workdir) as client:
        log.info("Tessera (%s): warm-up, %d-page PDF to a searchable PDF", BACKEND, WARMUP_PAGES)
        tessera_searchable(client, warmup, WARMUP_PAGES, warmup.with_name("warmup-tessera.pdf"))
        log.info("Tessera (%s): %d-page scan to a searchable PDF", BACKEND, pages)
        return tessera_searchable(client, inputs.scan_pdf, pages, workdir / "tessera.pdf")


# --- OCRmyPDF ------------------------------------------------------------------------------


def ocrmypdf_command() -> Path:
    """OCRmyPDF as `make bench` installs it, else the one on PATH."""
    installed = OCRMYPDF_VENV / "bin" / "ocrmypdf"
    if installed.exists():
        return installed
    found = shutil.which("ocrmypdf")
    if found is None:
        raise BenchmarkFailed(
            f"OCRmyPDF is not installed; `make bench` installs it into {OCRMYPDF_VENV}"
        )
    return Path(found)


def ocrmypdf_version(command: Path) -> str:
    """What `ocrmypdf --version` prints."""
    done = subprocess.run([str(command), "--version"], capture_output=True, text=True, check=False)
    return done.stdout.strip() or "(unknown version)"


def run_ocrmypdf(command: Path, pdf: Path, out: Path, log_path: Path) -> float:
    """Wall time of one whole `ocrmypdf` command turning `pdf` into `out`."""
    args = [str(command), "--force-ocr", "-j", str(PARALLEL), "--output-type", "pdf"]
    args += ["-l", "eng", str(pdf), str(out)]
    out.unlink(missing_ok=True)
    with open(log_path, "wb") as messages:
        started = time.perf_counter()
        done = subprocess.run(args, stdout=messages, stderr=subprocess.STDOUT, env=server_env())
        elapsed = time.perf_counter() - started
    if done.returncode != 0 or not out.exists():
        tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-20:])
        raise BenchmarkFailed(f"ocrmypdf exited with code {done.returncode}:\n{tail}")
    return elapsed


def measure_ocrmypdf(command: Path, inputs: Inputs, workdir: Path, warmup: Path) -> float:
    """OCRmyPDF's wall time on the scan, after an untimed warm-up."""
    log.info("OCRmyPDF: warm-up, then the %d-page scan", len(inputs.page_pngs))
    run_ocrmypdf(command, warmup, warmup.with_name("warmup-ocrmypdf.pdf"), workdir / "ocrmypdf.log")
    return run_ocrmypdf(
        command, inputs.scan_pdf, workdir / "ocrmypdf.pdf", workdir / "ocrmypdf.log"
    )


# --- the comparison ------------------------------------------------------------------------


def compare(inputs: Inputs, workdir: Path) -> Comparison:
    """Tessera, then OCRmyPDF, on the scan of `inputs`; their PDFs' text against the truth."""
    if shutil.which("pdftotext") is None:
        raise BenchmarkFailed("pdftotext is not installed; run `make install`")
    command = ocrmypdf_command()
    version = ocrmypdf_version(command)
    directory = workdir / "searchable"
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    pages = len(inputs.page_pngs)
    truth = pdftotext(inputs.source_pdf, "-l", str(pages))
    warmup = warmup_pdf(inputs, directory)
    times = measure_tessera(inputs, directory, warmup)
    ocrmypdf_seconds = measure_ocrmypdf(command, inputs, directory, warmup)
    return Comparison(
        pages=pages,
        input_bytes=inputs.scan_pdf.stat().st_size,
        tessera=scored(f"Tessera ({BACKEND})", times.downloaded, directory / "tessera.pdf", truth),
        ocrmypdf=scored(f"OCRmyPDF {version}", ocrmypdf_seconds, directory / "ocrmypdf.pdf", truth),
        ocrmypdf_version=version,
        times=times,
    )


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m tools.searchable_bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--pages", type=_positive, default=12, help="pages of the scan (default 12)"
    )
    parser.add_argument(
        "--workdir",
        type=Path,
        default=Path("bench-data"),
        help="scratch directory (default ./bench-data)",
    )
    return parser.parse_args(argv)


def run(args: argparse.Namespace) -> str:
    """The machine line and the comparison's report."""
    if shutil.which("tesseract") is None:
        raise BenchmarkFailed("the tesseract CLI is not installed; run `make install`")
    workdir = args.workdir.resolve()
    machine = machine_line()
    log.info("building a %d-page image-only PDF in %s", args.pages, workdir)
    inputs = prepare_inputs(workdir, args.pages)
    comparison = compare(inputs, workdir)
    return "\n".join([machine, "", *comparison.report(), ""])


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="bench: %(message)s", stream=sys.stderr)
    logging.getLogger("tools.benchmark").setLevel(logging.INFO)
    try:
        text = run(args)
    except BenchmarkFailed as e:
        sys.exit(f"benchmark failed: {e}")
    sys.stdout.write(text)


if __name__ == "__main__":
    main()
