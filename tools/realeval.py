"""Tessera against the tesseract CLI on real documents (tools/real-corpus/), class by class.

Every page of the manifest (built by `python -m tools.realcorpus`) is rendered at 300 dpi and
read as an image by both: Tessera through its OCR core in-process, the CLI as
`tesseract page.png -`. Pages with noise get 1 % salt-and-pepper first (seeded, the same for
both). Born-digital pages are also read by Tessera from their own text layer. Scored against
the PDF's own text:

- order-sensitive character error (CER), per class and overall;
- monospaced lines kept whole: each line set in a fixed-pitch font found as one line of the
  output (spaces collapsed), and for Tessera inside a fenced code block;
- headings: Tessera's Markdown headings against the lines set in bold at body size or larger
  (a match at 85 % similarity); recall on the manuals, whose bold lines are their headings;
  precision on every page, a heading found being right when it is such a line;
- table cells at the right row and column: each non-empty cell of the ICDAR truth found in one
  of Tessera's tables at its row and column (the best shift of the whole table allowed, as a
  title row read into the table moves every row), ruled and unruled tables apart.

`make eval` runs it after the synthetic corpus; `python -m tools.realeval --json PATH` also
writes the numbers.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import re
import shutil
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image
from rapidfuzz.distance import Levenshtein
from tqdm.contrib.logging import logging_redirect_tqdm

from ocr_engine import EngineConfig, OCREngine, OCROptions, PageOptions, TesseraError
from ocr_engine.render.mistral import page_json
from tools import corpus
from tools.benchmark import BenchmarkFailed, machine_line, markdown_table, run_tesseract
from tools.eval import Errors, char_errors, plain_typography, progress

log = logging.getLogger("tools.realeval")

CORPUS = Path(__file__).resolve().parent / "real-corpus"
PARALLEL = 2
DPI = 300
NOISE_SEED = 11
LINE_MATCH = 0.85  # similarity of a heading to its truth
CELL_MATCH = 0.8  # similarity of a cell's text to its truth
MAX_SHIFT = 3  # rows or columns a whole table may be shifted by
_FENCE = re.compile(r"^\s*(```|~~~)")
_HEADING = re.compile(r"^#{1,6}\s+(.*)$")
_UNESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!|<>~])")

# The bars, measured on its own held-out pages; shown beside this corpus's numbers.
TARGETS = {
    "cer": 0.060,
    "ruled": 0.85,
    "unruled": 0.60,
    "mono": 110 / 139,
    "heading_precision": 0.8,
    "heading_recall": 0.7,
    "text_layer_cer": 0.02,
}


@dataclass(frozen=True)
class Entry:
    name: str
    cls: str
    pdf: Path
    noise: float
    truth: dict[str, Any]
    ordered: bool = True  # whether its text has one reading order to score against


@dataclass
class Reading:
    """Tessera's or the CLI's reading of one page."""

    text: str  # Markdown for Tessera, plain text for the CLI
    seconds: float
    tables: list[str] = field(default_factory=list)  # Tessera's tables as HTML
    error: str | None = None


def load(folder: Path) -> list[Entry]:
    manifest = folder / "manifest.json"
    if not manifest.exists():
        raise BenchmarkFailed(f"{manifest} is missing; run `python -m tools.realcorpus`")
    entries = []
    for e in json.loads(manifest.read_text()):
        truth = json.loads((folder / f"{e['name']}.truth.json").read_text(encoding="utf-8"))
        pdf = folder / f"{e['name']}.pdf"
        entries.append(
            Entry(e["name"], e["class"], pdf, e.get("noise", 0), truth, e.get("order", True))
        )
    return entries


# --- images --------------------------------------------------------------------------------


def page_image(entry: Entry, scratch: Path) -> Path:
    """The page at 300 dpi as a PNG, with its noise if it has one."""
    target = scratch / f"{entry.name}-{entry.cls}.png"
    if target.exists():
        return target
    directory = scratch / f"render-{entry.name}"
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    [png] = corpus.render_pages(entry.pdf, directory, dpi=DPI)
    with Image.open(png) as image:
        gray = np.asarray(image.convert("L")).copy()
    if entry.noise:
        rng = np.random.default_rng(NOISE_SEED)
        specks = rng.random(gray.shape)
        gray[specks < entry.noise / 2] = 0
        gray[specks > 1 - entry.noise / 2] = 255
    Image.fromarray(gray).save(target, dpi=(DPI, DPI))
    shutil.rmtree(directory)
    return target


# --- reading -------------------------------------------------------------------------------


async def tessera_page(engine: OCREngine, path: Path, mode: str = "auto") -> Reading:
    started = time.perf_counter()
    try:
        result = await engine.run(path, OCROptions(page=PageOptions(mode=mode)), key=path.stem)
    except TesseraError as e:
        log.warning("Tessera failed on %s: %s", path.name, e)
        return Reading("", time.perf_counter() - started, error=str(e))
    seconds = time.perf_counter() - started
    [page] = result.pages
    markdown = page_json(page, PageOptions())["markdown"]
    tables = [t["content"] for t in page_json(page, PageOptions(table_format="html"))["tables"]]
    return Reading(markdown, seconds, tables)


async def measure_tessera(
    entries: Sequence[Entry], images: dict[str, Path], scratch: Path
) -> tuple[dict[str, Reading], dict[str, Reading]]:
    """Every page image through the OCR core, and each born-digital page from its layer."""
    engine = OCREngine(EngineConfig(workers=PARALLEL, work_dir=scratch / "engine"))
    await engine.start()
    gate = asyncio.Semaphore(PARALLEL)
    born = [e for e in entries if not e.noise]
    bar = progress("realeval: Tessera", len(entries) + len(born))

    async def one(path: Path, mode: str = "auto") -> Reading:
        async with gate:
            return await tessera_page(engine, path, mode)

    async def counted(path: Path) -> Reading:
        reading = await one(path)
        bar.update()
        return reading

    try:
        keys = [f"{e.name}:{e.cls}" for e in entries]
        await asyncio.gather(*(one(images[k]) for k in keys[:PARALLEL]))  # warm-up, untimed
        readings = await asyncio.gather(*(counted(images[k]) for k in keys))
        ocr = dict(zip(keys, readings, strict=True))
        layer = await asyncio.gather(*(counted(e.pdf) for e in born))
    finally:
        bar.close()
        await engine.close()
    return ocr, {e.name: r for e, r in zip(born, layer, strict=True)}


def measure_cli(keys: Sequence[str], images: dict[str, Path]) -> dict[str, Reading]:
    def one(key: str) -> Reading:
        started = time.perf_counter()
        text = run_tesseract(str(images[key]), "-")
        return Reading(text, time.perf_counter() - started)

    with (
        ThreadPoolExecutor(PARALLEL) as pool,
        progress("realeval: tesseract CLI", len(keys)) as bar,
    ):
        readings = {}
        for key, reading in zip(keys, pool.map(one, keys), strict=True):
            readings[key] = reading
            bar.update()
        return readings


# --- scoring -------------------------------------------------------------------------------


def canonical(text: str) -> str:
    """A line as compared: NFKC, plain quotes and dashes, one space between words."""
    return " ".join(plain_typography(text).split())


def similar(a: str, b: str) -> float:
    return Levenshtein.normalized_similarity(canonical(a), canonical(b))


def without_fences(markdown: str) -> str:
    return "\n".join(line for line in markdown.splitlines() if not _FENCE.match(line))


def fenced_lines(markdown: str) -> list[str]:
    """The lines inside fenced code blocks."""
    inside, found = False, []
    for line in markdown.splitlines():
        if _FENCE.match(line):
            inside = not inside
        elif inside:
            found.append(line)
    return found


def lines_kept(truth: Sequence[str], output: Sequence[str]) -> int:
    """How many truth lines appear whole as a line of the output (each output line once)."""
    available: dict[str, int] = {}
    for line in output:
        key = canonical(line)
        available[key] = available.get(key, 0) + 1
    kept = 0
    for line in truth:
        key = canonical(line)
        if available.get(key, 0) > 0:
            available[key] -= 1
            kept += 1
    return kept


def markdown_headings(markdown: str) -> list[str]:
    found = []
    inside = False
    for line in markdown.splitlines():
        if _FENCE.match(line):
            inside = not inside
            continue
        match = _HEADING.match(line)
        if match and not inside:
            found.append(_UNESCAPE.sub(r"\1", match.group(1)))
    return found


def heading_matches(predicted: Sequence[str], truth: Sequence[str]) -> int:
    """Predicted headings matched one to one with true ones."""
    left = list(truth)
    matched = 0
    for heading in predicted:
        best = max(left, key=lambda t: similar(heading, t), default=None)
        if best is not None and similar(heading, best) >= LINE_MATCH:
            left.remove(best)
            matched += 1
    return matched


class _TableParser(HTMLParser):
    """Rows of (text, rowspan, colspan) from Tessera's HTML tables."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[tuple[str, int, int]]] = []
        self._cell: list[str] | None = None
        self._span = (1, 1)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            values = dict(attrs)
            self._span = (int(values.get("rowspan") or 1), int(values.get("colspan") or 1))
            self._cell = []
        elif tag == "br" and self._cell is not None:
            self._cell.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None and self.rows:
            self.rows[-1].append(("".join(self._cell), *self._span))
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def grid(html_table: str) -> dict[tuple[int, int], str]:
    """A table's cells by the (row, column) where each starts, spans laid out."""
    parser = _TableParser()
    parser.feed(html_table)
    taken: set[tuple[int, int]] = set()
    cells: dict[tuple[int, int], str] = {}
    for r, row in enumerate(parser.rows):
        c = 0
        for text, rowspan, colspan in row:
            while (r, c) in taken:
                c += 1
            cells[(r, c)] = text
            taken.update((r + i, c + j) for i in range(rowspan) for j in range(colspan))
            c += colspan
    return cells


def cells_placed(truth: Sequence[dict[str, Any]], tables: Sequence[str]) -> int:
    """Truth cells found at their row and column in the best-fitting table and shift."""
    # Each text made canonical once, not once per shift tried.
    wanted = [(c["row"], c["col"], canonical(c["text"])) for c in truth if c["text"].strip()]
    best = 0
    for table in tables:
        cells = {at: canonical(text) for at, text in grid(table).items()}
        for dr in range(-MAX_SHIFT, MAX_SHIFT + 1):
            for dc in range(-MAX_SHIFT, MAX_SHIFT + 1):
                placed = sum(
                    Levenshtein.normalized_similarity(cells.get((r + dr, c + dc), ""), text)
                    >= CELL_MATCH
                    for r, c, text in wanted
                )
                best = max(best, placed)
    return best


@dataclass
class Scores:
    """Sums over the pages of a run; rates come from them."""

    errors: dict[str, dict[str, Errors]] = field(default_factory=dict)  # class -> side -> sum
    seconds: dict[str, dict[str, float]] = field(default_factory=dict)
    pages: dict[str, int] = field(default_factory=dict)
    mono_total: int = 0
    mono_fenced: int = 0
    mono_tessera: int = 0
    mono_cli: int = 0
    headings_true: int = 0
    headings_found: int = 0
    headings_matched: int = 0  # found and true
    headings_plausible: int = 0  # found and set like a heading, where the page has no truth
    cells: dict[str, list[int]] = field(default_factory=dict)  # ruled/unruled -> [placed, all]
    layer: Errors = field(default_factory=Errors)
    layer_seconds: float = 0.0
    layer_pages: int = 0

    def add_errors(self, cls: str, side: str, errors: Errors, seconds: float) -> None:
        self.errors.setdefault(cls, {}).setdefault(side, Errors())
        self.errors[cls][side] += errors
        self.seconds.setdefault(cls, {}).setdefault(side, 0.0)
        self.seconds[cls][side] += seconds

    def overall(self, side: str) -> Errors:
        total = Errors()
        for sides in self.errors.values():
            total += sides.get(side, Errors())
        return total


def score(
    entries: Sequence[Entry],
    tessera: dict[str, Reading],
    cli: dict[str, Reading],
    layer: dict[str, Reading],
) -> Scores:
    s = Scores()
    for e in entries:
        key = f"{e.name}:{e.cls}"
        ours, theirs, truth = tessera[key], cli[key], e.truth
        if e.ordered:
            s.pages[e.cls] = s.pages.get(e.cls, 0) + 1
            ours_errors = char_errors(without_fences(ours.text), truth["text"])
            s.add_errors(e.cls, "tessera", ours_errors, ours.seconds)
            s.add_errors(e.cls, "cli", char_errors(theirs.text, truth["text"]), theirs.seconds)
        mono = truth["mono_lines"]
        s.mono_total += len(mono)
        s.mono_fenced += lines_kept(mono, fenced_lines(ours.text))
        s.mono_tessera += lines_kept(mono, ours.text.splitlines())
        s.mono_cli += lines_kept(mono, theirs.text.splitlines())
        found = markdown_headings(ours.text)
        s.headings_true += len(truth["headings"])
        s.headings_found += len(found)
        s.headings_matched += heading_matches(found, truth["headings"])
        s.headings_plausible += heading_matches(found, truth["heading_like"])
        for table in truth["tables"]:
            kind = "ruled" if table["ruled"] else "unruled"
            counts = s.cells.setdefault(kind, [0, 0])
            counts[0] += cells_placed(table["cells"], ours.tables)
            counts[1] += sum(1 for c in table["cells"] if c["text"].strip())
        if e.name in layer and e.ordered:
            reading = layer[e.name]
            s.layer += char_errors(without_fences(reading.text), truth["text"])
            s.layer_seconds += reading.seconds
            s.layer_pages += 1
    return s


# --- report --------------------------------------------------------------------------------


def _pct(value: float) -> str:
    return f"{value * 100:.2f} %"


def _rate(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


def report(machine: str, s: Scores) -> str:
    rows = []
    for cls, sides in s.errors.items():
        pages = s.pages[cls]
        rows.append(
            [
                cls,
                str(pages),
                _pct(sides["tessera"].rate),
                _pct(sides["cli"].rate),
                f"{s.seconds[cls]['tessera'] / pages:.2f}",
                f"{s.seconds[cls]['cli'] / pages:.2f}",
            ]
        )
    rows.append(
        [
            "**all**",
            str(sum(s.pages.values())),
            _pct(s.overall("tessera").rate),
            _pct(s.overall("cli").rate),
            "",
            "",
        ]
    )
    headers = ["class", "pages", "CER Tessera", "CER CLI", "s/page Tessera", "s/page CLI"]
    ruled, unruled = s.cells.get("ruled", [0, 0]), s.cells.get("unruled", [0, 0])
    precision = _rate(s.headings_plausible, s.headings_found)
    recall = _rate(s.headings_matched, s.headings_true)
    structure = [
        [
            "monospaced lines kept whole",
            f"{s.mono_fenced} of {s.mono_total} in fenced blocks ({s.mono_tessera} anywhere)",
            f"{s.mono_cli} of {s.mono_total}",
            f">= {TARGETS['mono'] * 100:.0f} %",
        ],
        [
            "headings precision / recall",
            f"{precision:.2f} / {recall:.2f} ({s.headings_found} found, {s.headings_true} true)",
            "— (no headings)",
            ">= 0.80 / 0.70",
        ],
        [
            "ruled-table cells at their row and column",
            f"{_pct(_rate(*ruled))} ({ruled[0]} of {ruled[1]})",
            "— (no tables)",
            ">= 85 %",
        ],
        [
            "unruled-table cells at their row and column",
            f"{_pct(_rate(*unruled))} ({unruled[0]} of {unruled[1]})",
            "— (no tables)",
            ">= 60 %",
        ],
        [
            "born-digital pages from the text layer, CER",
            f"{_pct(s.layer.rate)} ({s.layer_seconds / max(1, s.layer_pages) * 1000:.0f} ms/page)",
            "—",
            "<= 2 %",
        ],
    ]
    out = [
        machine,
        "",
        "**Real documents**: character error against each PDF's own text, page images at "
        f"{DPI} dpi read by both.",
        "",
        *markdown_table(headers, rows),
        "",
        *markdown_table(["structure", "Tessera", "tesseract CLI", "bar"], structure),
        "",
    ]
    return "\n".join(out)


def as_json(machine: str, s: Scores) -> dict[str, Any]:
    return {
        "machine": machine,
        "classes": {
            cls: {
                "pages": s.pages[cls],
                "cer_tessera": sides["tessera"].rate,
                "cer_cli": sides["cli"].rate,
            }
            for cls, sides in s.errors.items()
        },
        "cer_tessera": s.overall("tessera").rate,
        "cer_cli": s.overall("cli").rate,
        "mono": {"total": s.mono_total, "fenced": s.mono_fenced, "cli": s.mono_cli},
        "headings": {
            "true": s.headings_true,
            "found": s.headings_found,
            "matched": s.headings_matched,
            "plausible": s.headings_plausible,
        },
        "cells": s.cells,
        "text_layer_cer": s.layer.rate,
    }


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m tools.realeval",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--workdir", type=Path, default=Path("bench-data"))
    parser.add_argument("--only", default=None, help="comma-separated page names")
    parser.add_argument("--json", type=Path, default=None, metavar="PATH")
    parser.add_argument("--dump", type=Path, default=None, metavar="DIR", help="write readings")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="realeval: %(message)s", stream=sys.stderr)
    log.setLevel(logging.INFO)
    started = time.perf_counter()
    try:
        entries = load(args.corpus)
        if args.only:
            wanted = set(args.only.split(","))
            entries = [e for e in entries if e.name in wanted]
        scratch = args.workdir.resolve() / "realeval"
        scratch.mkdir(parents=True, exist_ok=True)
        log.info("%d pages; scratch in %s", len(entries), scratch)
        images = {f"{e.name}:{e.cls}": page_image(e, scratch) for e in entries}
        with logging_redirect_tqdm():  # log lines above the progress line, not through it
            tessera, layer = asyncio.run(measure_tessera(entries, images, scratch))
            cli = measure_cli(list(images), images)
    except BenchmarkFailed as e:
        sys.exit(f"realeval failed: {e}")
    scores = score(entries, tessera, cli, layer)
    machine = machine_line()
    sys.stdout.write(report(machine, scores))
    if args.json is not None:
        args.json.write_text(json.dumps(as_json(machine, scores), indent=1) + "\n")
    if args.dump is not None:
        args.dump.mkdir(parents=True, exist_ok=True)
        for key, reading in tessera.items():
            name = key.replace(":", "-")
            (args.dump / f"{name}.md").write_text(reading.text)
            (args.dump / f"{name}.tables.html").write_text("\n".join(reading.tables))
            (args.dump / f"{name}.cli.txt").write_text(cli[key].text)
        for name, reading in layer.items():
            (args.dump / f"{name}.layer.md").write_text(reading.text)
    log.info("done in %.0f s", time.perf_counter() - started)


if __name__ == "__main__":
    main()
