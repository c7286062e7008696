"""Accuracy of Tessera against the plain tesseract CLI on the labelled corpus in tools/eval-corpus/.

`make eval` reads every document of tools/eval-corpus/manifest.json (made by
`python -m tools.evalcorpus`) twice: through the OCR core in-process and through
`tesseract page -`. It prints per class the character and word error rates against the truth
and the seconds per page, then born-digital PDFs read from their text layer against forced
OCR, then whether the targets are met. Markdown goes to stdout, progress to stderr.
`--only upright,rot90` runs a subset; `--json PATH` also writes the numbers.
"""

from __future__ import annotations

import argparse
import asyncio
import html
import json
import logging
import re
import shutil
import statistics
import sys
import time
import unicodedata
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Never

from rapidfuzz.distance import Levenshtein
from tqdm import tqdm
from tqdm.contrib.logging import logging_redirect_tqdm

from ocr_engine import EngineConfig, OCREngine, OCROptions, PageOptions, PageSelection, TesseraError
from ocr_engine.render.mistral import page_json
from tools import corpus
from tools.benchmark import BenchmarkFailed, machine_line, markdown_table, run_tesseract

log = logging.getLogger("tools.eval")

CORPUS = Path(__file__).resolve().parent / "eval-corpus"
PARALLEL = 2  # Tessera workers, and CLI processes at a time
DPI = 300
PAGE_BREAK = "\f"
BORN_DIGITAL = "born_digital"
UPRIGHT = "upright"
TURNED = ("rot90", "rot180", "rot270")
TURNED_MAX_PP = 1.0  # (b): a turned page's CER may exceed the upright one by this much
TEXT_LAYER_MIN_SPEEDUP = 50.0  # (c): forced OCR / text layer, per page
TEXT_LAYER = "text_layer"
AUTO_REPEATS = 9  # runs of each born-digital page in mode auto; the median is reported


class EvalFailed(Exception):
    """The corpus or a tool is not what the evaluation needs; the numbers would be wrong."""


# --- normalisation and metrics (pure) ------------------------------------------------------

_TYPOGRAPHY = str.maketrans(
    {
        "‘": "'",
        "’": "'",
        "‚": "'",
        "‛": "'",
        "“": '"',
        "”": '"',
        "„": '"',
        "‟": '"',
        "–": "-",
        "—": "-",
        "−": "-",
    }
)
_ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!|<>])")
_IMAGE = re.compile(r"!\[[^\]]*\]\([^)]*\)")
_TABLE_LINK = re.compile(r"\[tbl-[^\]]*\]\([^)]*\)")
# Only the tags Tessera writes: "data: <A and B" in a code sample is text, not a tag.
_HTML_TAG = re.compile(
    r"</?(?:table|thead|tbody|tr|td|th|br|p|div|span|b|i|em|strong|sup|sub)\b[^<>\n]*>", re.I
)
_CELL_RULE = r"[ \t]*:?-{3,}:?[ \t]*"
_SEPARATOR_ROW = re.compile(rf"^[ \t]*\|?{_CELL_RULE}(?:\|{_CELL_RULE})*\|?[ \t]*$", re.MULTILINE)
_HEADING = re.compile(r"^[ \t]{0,3}#{1,6}[ \t]+", re.MULTILINE)
# Bullets only: an enumerator ("17.") is the document's own text, in the truth as in a reading.
_LIST_MARKER = re.compile(r"^[ \t]*[-*+][ \t]+", re.MULTILINE)
_EMPHASIS = re.compile(r"(\*\*|__)(.+?)\1")
_HYPHEN_BREAK = re.compile(r"(\w)-[ \t]*\n\s*(?=\w)")
_SPACE = re.compile(r"\s+")


def strip_markdown(text: str) -> str:
    """The text without the markup Tessera's Markdown adds around it; line breaks kept."""
    # Unescape first, so that "\- item" and "- item" lose their marker alike.
    text = _ESCAPE.sub(r"\1", text)
    text = _IMAGE.sub(" ", text)
    text = _TABLE_LINK.sub(" ", text)
    text = _HTML_TAG.sub(" ", text)
    text = _SEPARATOR_ROW.sub("", text)
    text = _HEADING.sub("", text)
    text = _LIST_MARKER.sub("", text)
    text = _EMPHASIS.sub(r"\2", text)
    return html.unescape(text.replace("|", " "))


def plain_typography(text: str) -> str:
    """NFKC, plain quotes and dashes: a ligature or a curly quote read from a straight one is
    the same text, not an error."""
    return unicodedata.normalize("NFKC", text).translate(_TYPOGRAPHY)


def normalise(text: str) -> str:
    """Text as compared: no Markdown, line-end hyphens joined, one space between words."""
    text = strip_markdown(plain_typography(text))
    text = _HYPHEN_BREAK.sub(r"\1", text)
    return _SPACE.sub(" ", text).strip()


@dataclass(frozen=True)
class Errors:
    """Edits needed to turn a reading into the truth, and the truth's length."""

    edits: int = 0
    length: int = 0

    def __add__(self, other: Errors) -> Errors:
        return Errors(self.edits + other.edits, self.length + other.length)

    @property
    def rate(self) -> float:
        """Edits per unit of truth; an empty truth read as anything but empty counts 100%."""
        return self.edits / self.length if self.length else float(self.edits > 0)


def char_errors(reading: str, truth: str) -> Errors:
    """Levenshtein distance in characters between the normalised texts."""
    hypothesis, reference = normalise(reading), normalise(truth)
    return Errors(Levenshtein.distance(hypothesis, reference), len(reference))


def word_errors(reading: str, truth: str) -> Errors:
    """Levenshtein distance in words between the normalised texts."""
    hypothesis, reference = normalise(reading).split(), normalise(truth).split()
    return Errors(Levenshtein.distance(hypothesis, reference), len(reference))


def cer(reading: str, truth: str) -> float:
    """Character error rate, 0..1 (more if the reading has much text the truth has not)."""
    return char_errors(reading, truth).rate


def wer(reading: str, truth: str) -> float:
    """Word error rate, 0..1 (more if the reading has many words the truth has not)."""
    return word_errors(reading, truth).rate


# --- the corpus ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Document:
    """One labelled document: its file, its class and each page's true text."""

    name: str
    cls: str
    path: Path
    truths: tuple[str, ...]

    @property
    def pages(self) -> int:
        return len(self.truths)

    @property
    def truth(self) -> str:
        return "\n".join(self.truths)


def load_corpus(folder: Path, only: Sequence[str] | None) -> list[Document]:
    """The manifest's documents, of the `only` classes if given."""
    manifest_path = folder / "manifest.json"
    if not manifest_path.exists():
        raise EvalFailed(f"{manifest_path} is missing; run `python -m tools.evalcorpus`")
    entries = json.loads(manifest_path.read_text())
    known = list(dict.fromkeys(e["class"] for e in entries))
    unknown = sorted(set(only or ()) - set(known))
    if unknown:
        raise EvalFailed(f"unknown class(es) {', '.join(unknown)}; known: {', '.join(known)}")
    return [_document(folder, e) for e in entries if not only or e["class"] in only]


def _document(folder: Path, entry: dict[str, Any]) -> Document:
    truth_path = folder / f"{entry['name']}.truth.txt"
    truths = tuple(truth_path.read_text(encoding="utf-8").split(PAGE_BREAK))
    if len(truths) != entry["pages"]:
        raise EvalFailed(
            f"{truth_path.name} has {len(truths)} pages; the manifest says {entry['pages']}"
        )
    return Document(entry["name"], entry["class"], folder / entry["file"], truths)


# --- readings ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reading:
    """What one side read from a document (or one page of it), and how long it took."""

    text: str
    seconds: float
    sources: tuple[str | None, ...] = ()  # Tessera's per-page "source", where it says one
    error: str | None = None


@dataclass(frozen=True)
class DocumentResult:
    doc: Document
    tessera: Reading
    cli: Reading


@dataclass(frozen=True)
class PageComparison:
    """One born-digital page, run on its own in both modes."""

    doc: Document
    index: int
    auto: Reading
    force: Reading

    @property
    def truth(self) -> str:
        return self.doc.truths[self.index]

    @property
    def speedup(self) -> float | None:
        return self.force.seconds / self.auto.seconds if self.auto.seconds else None


async def tessera_read(engine: OCREngine, doc: Document, options: OCROptions) -> Reading:
    """One engine run over `doc`: the pages' Markdown joined, wall time and page sources."""
    started = time.perf_counter()
    try:
        result = await engine.run(doc.path, options, key=doc.name)
    except TesseraError as e:
        # A failed document reads as nothing: every character of it is an error.
        log.warning("Tessera failed on %s: %s", doc.name, e)
        return Reading("", time.perf_counter() - started, error=str(e))
    seconds = time.perf_counter() - started
    pages = result.pages
    return Reading(
        "\n\n".join(page_json(p, options.page)["markdown"] for p in pages),
        seconds,
        tuple(p.source for p in pages),
    )


async def warm_engine(engine: OCREngine, scratch: Path) -> None:
    """An image and a born-digital PDF through every worker, untimed."""
    # So that no measured page pays for a first call: imports, caches, the first PDF opened.
    for path in warmup_documents(scratch):
        docs = [Document(f"warmup-{i}", "warmup", path, ("",)) for i in range(PARALLEL)]
        await asyncio.gather(*(tessera_read(engine, doc, OCROptions()) for doc in docs))


def warmup_documents(scratch: Path) -> tuple[Path, Path]:
    """A one-line PNG and a one-page born-digital PDF in the scratch directory."""
    image, pdf = scratch / "warmup.png", scratch / "warmup.pdf"
    image.write_bytes(corpus.image_bytes(corpus.text_image(["Tessera warms up"])))
    corpus.text_pdf(pdf, [["Tessera warms up on a text layer"]])
    return image, pdf


async def measure_tessera(
    docs: Sequence[Document], scratch: Path
) -> tuple[dict[str, Reading], list[PageComparison]]:
    """Every document through the OCR core, one at a time; born-digital pages in both modes."""
    engine = OCREngine(EngineConfig(workers=PARALLEL, work_dir=scratch / "engine"))
    await engine.start()
    try:
        await warm_engine(engine, scratch)
        readings = {}
        with progress("eval: Tessera", sum(d.pages for d in docs)) as bar:
            for doc in docs:
                log.info("Tessera: %s (%d page(s))", doc.name, doc.pages)
                readings[doc.name] = await tessera_read(engine, doc, OCROptions())
                bar.update(doc.pages)
        pages = [(doc, i) for doc in docs if doc.cls == BORN_DIGITAL for i in range(doc.pages)]
        with progress("eval: auto against force", len(pages)) as bar:
            born = []
            for doc, i in pages:
                born.append(await compare_modes(engine, doc, i))
                bar.update()
    finally:
        await engine.close()
    return readings, born


async def compare_modes(engine: OCREngine, doc: Document, index: int) -> PageComparison:
    """Page `index` of a born-digital PDF alone, in mode auto, then in mode force."""
    # A text-layer page takes milliseconds, where one run is noise: report the median.
    log.info("Tessera: %s page %d, mode auto x %d then force", doc.name, index, AUTO_REPEATS)

    def options(mode: str) -> OCROptions:
        return OCROptions(pages=PageSelection.of([index]), page=PageOptions(mode=mode))

    autos = [await tessera_read(engine, doc, options("auto")) for _ in range(AUTO_REPEATS)]
    auto = replace(autos[-1], seconds=statistics.median(r.seconds for r in autos))
    force = await tessera_read(engine, doc, options("force"))
    return PageComparison(doc, index, auto, force)


def cli_images(doc: Document, scratch: Path) -> list[Path]:
    """The page images the CLI reads: the file itself, or a PDF's pages rendered at 300 dpi."""
    if doc.path.suffix.lower() != ".pdf":
        return [doc.path]
    directory = scratch / "cli" / doc.name
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    return corpus.render_pages(doc.path, directory, dpi=DPI)


def cli_read(images: Sequence[Path]) -> Reading:
    """`tesseract image -` on each page, PARALLEL at a time: the texts in page order."""
    started = time.perf_counter()
    with ThreadPoolExecutor(PARALLEL) as pool:
        texts = list(pool.map(lambda image: run_tesseract(str(image), "-"), images))
    return Reading("\n".join(texts), time.perf_counter() - started)


def measure_cli(docs: Sequence[Document], scratch: Path) -> dict[str, Reading]:
    """Every document through the tesseract CLI, one at a time, rendering untimed."""
    run_tesseract(str(warmup_documents(scratch)[0]), "-")  # page cache, not timed
    readings = {}
    with progress("eval: tesseract CLI", sum(d.pages for d in docs)) as bar:
        for doc in docs:
            log.info("CLI: %s (%d page(s))", doc.name, doc.pages)
            readings[doc.name] = cli_read(cli_images(doc, scratch))
            bar.update(doc.pages)
    return readings


def progress(what: str, pages: int) -> tqdm[Never]:
    """Pages done, their rate and the time left on stderr; silent when it is not a terminal."""
    return tqdm(total=pages, desc=what, unit="page", disable=None)


# --- scores --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClassScore:
    """A class's errors summed over its documents, and its wall time."""

    cls: str
    docs: int = 0
    pages: int = 0
    tessera_chars: Errors = Errors()
    cli_chars: Errors = Errors()
    tessera_words: Errors = Errors()
    cli_words: Errors = Errors()
    tessera_seconds: float = 0.0
    cli_seconds: float = 0.0

    def add(self, result: DocumentResult) -> ClassScore:
        doc, tessera, cli = result.doc, result.tessera, result.cli
        return ClassScore(
            self.cls,
            self.docs + 1,
            self.pages + doc.pages,
            self.tessera_chars + char_errors(tessera.text, doc.truth),
            self.cli_chars + char_errors(cli.text, doc.truth),
            self.tessera_words + word_errors(tessera.text, doc.truth),
            self.cli_words + word_errors(cli.text, doc.truth),
            self.tessera_seconds + tessera.seconds,
            self.cli_seconds + cli.seconds,
        )

    def row(self) -> list[str]:
        return [
            self.cls,
            str(self.docs),
            str(self.pages),
            _pct(self.tessera_chars.rate),
            _pct(self.cli_chars.rate),
            _pct(self.tessera_words.rate),
            _pct(self.cli_words.rate),
            f"{self.tessera_seconds / self.pages:.2f}",
            f"{self.cli_seconds / self.pages:.2f}",
        ]

    def as_json(self) -> dict[str, Any]:
        return {
            "class": self.cls,
            "docs": self.docs,
            "pages": self.pages,
            "cer_tessera": self.tessera_chars.rate,
            "cer_cli": self.cli_chars.rate,
            "wer_tessera": self.tessera_words.rate,
            "wer_cli": self.cli_words.rate,
            "s_per_page_tessera": self.tessera_seconds / self.pages,
            "s_per_page_cli": self.cli_seconds / self.pages,
        }


def score_classes(results: Iterable[DocumentResult]) -> dict[str, ClassScore]:
    """Per class in first-seen order, then "all"."""
    scores: dict[str, ClassScore] = {}
    total = ClassScore("all")
    for result in results:
        cls = result.doc.cls
        scores[cls] = scores.get(cls, ClassScore(cls)).add(result)
        total = total.add(result)
    if scores:
        scores["all"] = total
    return scores


def _pct(rate: float) -> str:
    return f"{rate * 100:.2f} %"


def _source(reading: Reading) -> str:
    if reading.error is not None:
        return "failed"
    return ", ".join(s or "absent" for s in reading.sources) or "absent"


# --- targets -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """A target, whether it is met (None: not measured in this run) and why."""

    key: str
    label: str
    met: bool | None
    detail: str

    def line(self) -> str:
        verdict = {True: "met", False: "NOT met", None: "not measured"}[self.met]
        return f"({self.key}) {self.label}: **{verdict}**; {self.detail}"


def target_upright(scores: dict[str, ClassScore]) -> Target:
    """(a) Tessera's CER and WER on upright pages are no worse than the CLI's."""
    label = "on `upright` pages Tessera's CER and WER are no worse than the CLI's"
    score = scores.get(UPRIGHT)
    if score is None:
        return Target("a", label, None, "the class was not run")
    met = (
        score.tessera_chars.rate <= score.cli_chars.rate
        and score.tessera_words.rate <= score.cli_words.rate
    )
    return Target(
        "a",
        label,
        met,
        f"CER {_pct(score.tessera_chars.rate)} vs {_pct(score.cli_chars.rate)}, "
        f"WER {_pct(score.tessera_words.rate)} vs {_pct(score.cli_words.rate)}",
    )


def target_turned(scores: dict[str, ClassScore]) -> Target:
    """(b) On turned pages Tessera's CER stays within TURNED_MAX_PP of its upright CER."""
    label = (
        f"on `rot90`, `rot180`, `rot270` Tessera's CER stays within {TURNED_MAX_PP:g} "
        "percentage point of its `upright` CER"
    )
    upright = scores.get(UPRIGHT)
    turned = [scores[c] for c in TURNED if c in scores]
    if upright is None or not turned:
        return Target("b", label, None, "needs `upright` and at least one turned class")
    gaps = {s.cls: (s.tessera_chars.rate - upright.tessera_chars.rate) * 100 for s in turned}
    met = len(turned) == len(TURNED) and all(gap <= TURNED_MAX_PP for gap in gaps.values())
    detail = ", ".join(
        f"{cls} {scores[cls].tessera_chars.rate * 100:.2f} % ({gap:+.2f} pp)"
        for cls, gap in gaps.items()
    )
    missing = [c for c in TURNED if c not in scores]
    if missing:
        detail += f"; not run: {', '.join(missing)}"
    return Target("b", label, met, f"upright {upright.tessera_chars.rate * 100:.2f} %; {detail}")


def target_text_layer(pages: Sequence[PageComparison]) -> Target:
    """(c) Born-digital pages read from the text layer: exact, and far faster than OCR."""
    label = (
        f"on `{BORN_DIGITAL}` pages read from the layer the text is exact (CER 0) and at "
        f"least {TEXT_LAYER_MIN_SPEEDUP:g}x faster per page than forced OCR"
    )
    if not pages:
        return Target("c", label, None, "the class was not run")
    layered = [p for p in pages if p.auto.sources == (TEXT_LAYER,)]
    exact = [p for p in layered if char_errors(p.auto.text, p.truth).edits == 0]
    fast = [p for p in layered if (p.speedup or 0) >= TEXT_LAYER_MIN_SPEEDUP]
    met = len(exact) == len(fast) == len(pages)
    speedups = [f"{p.speedup:.0f}x" for p in pages if p.speedup is not None]
    return Target(
        "c",
        label,
        met,
        f"{len(layered)} of {len(pages)} pages read from the text layer, "
        f"{len(exact)} exact, {len(fast)} at least {TEXT_LAYER_MIN_SPEEDUP:g}x faster "
        f"(force / auto per page: {', '.join(speedups)})",
    )


# --- the report ----------------------------------------------------------------------------


CLASS_HEADERS = [
    "class",
    "docs",
    "pages",
    "CER Tessera",
    "CER CLI",
    "WER Tessera",
    "WER CLI",
    "s/page Tessera",
    "s/page CLI",
]
BORN_HEADERS = [
    "document",
    "page",
    "source auto",
    "source force",
    "CER auto",
    "CER force",
    "ms auto",
    "ms force",
    "force / auto",
]


def born_rows(pages: Sequence[PageComparison]) -> list[list[str]]:
    """A row per born-digital page, and a total row."""
    rows = [
        [
            p.doc.name,
            str(p.index),
            _source(p.auto),
            _source(p.force),
            _pct(cer(p.auto.text, p.truth)),
            _pct(cer(p.force.text, p.truth)),
            f"{p.auto.seconds * 1000:.0f}",
            f"{p.force.seconds * 1000:.0f}",
            f"{p.speedup:.1f}x" if p.speedup is not None else "—",
        ]
        for p in pages
    ]
    auto_s = sum(p.auto.seconds for p in pages)
    force_s = sum(p.force.seconds for p in pages)
    auto_e = sum((char_errors(p.auto.text, p.truth) for p in pages), Errors())
    force_e = sum((char_errors(p.force.text, p.truth) for p in pages), Errors())
    rows.append(
        [
            f"all ({len(pages)} pages)",
            "",
            "",
            "",
            _pct(auto_e.rate),
            _pct(force_e.rate),
            f"{auto_s * 1000 / len(pages):.0f}",
            f"{force_s * 1000 / len(pages):.0f}",
            f"{force_s / auto_s:.1f}x" if auto_s else "—",
        ]
    )
    return rows


def footnotes(results: Sequence[DocumentResult]) -> list[str]:
    """How each column was measured."""
    sources: dict[str, int] = {}
    for result in results:
        for source in result.tessera.sources or ((None,) * result.doc.pages):
            sources[source or "absent"] = sources.get(source or "absent", 0) + 1
    failed = [r.doc.name for r in results if r.tessera.error is not None]
    notes = [
        f"[1] Tessera: the OCR core in-process, `OCREngine(EngineConfig(workers={PARALLEL}))`, "
        "`OCROptions()` (mode auto); text = the pages' `markdown` joined. CLI: "
        "`tesseract page -` with OMP_THREAD_LIMIT=1; PDFs rendered to 300 dpi grayscale PNGs "
        "with pypdfium2 first, not timed. Both sides: one document at a time, its pages "
        f"{PARALLEL} at a time, after an untimed warm-up; s/page = wall time / pages.",
        "[2] CER / WER: Levenshtein distance (rapidfuzz) in characters / words after "
        "normalising both texts (NFKC, plain quotes and dashes, Markdown markup stripped, "
        "line-end hyphens joined, whitespace collapsed), summed over the class's documents and "
        "divided by the truth's length.",
        "[3] Tessera page sources (`source` field) over all documents: "
        + ", ".join(f"{k} x{v}" for k, v in sources.items())
        + ".",
    ]
    if failed:
        notes.append(f"[4] Tessera failed on {', '.join(failed)}: counted as empty readings.")
    return notes


def report(
    machine: str,
    scores: dict[str, ClassScore],
    results: Sequence[DocumentResult],
    born: Sequence[PageComparison],
    targets: Sequence[Target],
) -> str:
    """The Markdown report: the class table, the born-digital table and the targets."""
    lines = [
        machine,
        "",
        *markdown_table(CLASS_HEADERS, [s.row() for s in scores.values()]),
        "",
        *footnotes(results),
        "",
    ]
    if born:
        lines += [
            "Born-digital PDFs, each page on its own (one page selected per run), "
            'sequentially, timed as the whole `engine.run`: `mode="auto"` (the text '
            f'layer where there is one; median of {AUTO_REPEATS} runs) vs `mode="force"` '
            "(always OCR; one run).",
            "",
            *markdown_table(BORN_HEADERS, born_rows(born)),
            "",
        ]
    lines += ["Targets:", "", *(f"- {t.line()}" for t in targets), ""]
    return "\n".join(lines)


def as_json(
    machine: str,
    scores: dict[str, ClassScore],
    results: Sequence[DocumentResult],
    born: Sequence[PageComparison],
    targets: Sequence[Target],
) -> dict[str, Any]:
    """The same numbers as the report, as JSON-able data."""

    def reading(r: Reading, truth: str) -> dict[str, Any]:
        return {
            "cer": cer(r.text, truth),
            "wer": wer(r.text, truth),
            "seconds": r.seconds,
            "sources": list(r.sources),
            "error": r.error,
            "text": r.text,
        }

    return {
        "machine": machine,
        "parallel": PARALLEL,
        "classes": [s.as_json() for s in scores.values()],
        "documents": [
            {
                "name": r.doc.name,
                "class": r.doc.cls,
                "pages": r.doc.pages,
                "tessera": reading(r.tessera, r.doc.truth),
                "cli": reading(r.cli, r.doc.truth),
            }
            for r in results
        ],
        "born_digital_pages": [
            {
                "document": p.doc.name,
                "page": p.index,
                "auto": reading(p.auto, p.truth),
                "force": reading(p.force, p.truth),
                "speedup": p.speedup,
            }
            for p in born
        ],
        "targets": [asdict(t) for t in targets],
    }


# --- running -------------------------------------------------------------------------------


@dataclass
class Outcome:
    """Everything one run measured."""

    machine: str
    results: list[DocumentResult] = field(default_factory=list)
    born: list[PageComparison] = field(default_factory=list)

    def scores(self) -> dict[str, ClassScore]:
        return score_classes(self.results)

    def targets(self) -> list[Target]:
        scores = self.scores()
        return [target_upright(scores), target_turned(scores), target_text_layer(self.born)]


def measure(args: argparse.Namespace) -> Outcome:
    """Both sides over the corpus: Tessera first, then the CLI, never at the same time."""
    if shutil.which("tesseract") is None:
        raise EvalFailed("the tesseract CLI is not installed; run `make install`")
    docs = load_corpus(args.corpus, args.only)
    scratch = args.workdir.resolve() / "eval"
    scratch.mkdir(parents=True, exist_ok=True)
    outcome = Outcome(machine_line())
    log.info(
        "%d documents, %d pages; scratch in %s", len(docs), sum(d.pages for d in docs), scratch
    )
    tessera, outcome.born = asyncio.run(measure_tessera(docs, scratch))
    cli = measure_cli(docs, scratch)
    outcome.results = [DocumentResult(d, tessera[d.name], cli[d.name]) for d in docs]
    return outcome


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m tools.eval",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--only",
        type=_classes,
        default=None,
        metavar="CLASS[,CLASS]",
        help="run only these classes of the manifest",
    )
    parser.add_argument(
        "--json",
        type=Path,
        default=None,
        metavar="PATH",
        help="also write the numbers as JSON to PATH",
    )
    parser.add_argument(
        "--corpus", type=Path, default=CORPUS, help=f"folder with manifest.json (default {CORPUS})"
    )
    parser.add_argument(
        "--workdir",
        type=Path,
        default=Path("bench-data"),
        help="scratch directory (default ./bench-data)",
    )
    return parser.parse_args(argv)


def _classes(text: str) -> list[str]:
    classes = [c.strip() for c in text.split(",") if c.strip()]
    if not classes:
        raise argparse.ArgumentTypeError("name at least one class")
    return classes


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="eval: %(message)s", stream=sys.stderr)
    log.setLevel(logging.INFO)
    started = time.perf_counter()
    try:
        with logging_redirect_tqdm():  # log lines above the progress line, not through it
            outcome = measure(args)
    except (EvalFailed, BenchmarkFailed) as e:
        sys.exit(f"eval failed: {e}")
    scores, targets = outcome.scores(), outcome.targets()
    sys.stdout.write(report(outcome.machine, scores, outcome.results, outcome.born, targets))
    if args.json is not None:
        data = as_json(outcome.machine, scores, outcome.results, outcome.born, targets)
        args.json.write_text(json.dumps(data, indent=1) + "\n")
    log.info("done in %.0f s", time.perf_counter() - started)


if __name__ == "__main__":
    main()
