"""Build the real-document corpus of `make eval` (tools/real-corpus/) from public documents.

The pages are other people's documents, chosen for what OCR gets wrong on real pages:

- **manual**: pages of the R, Bash and gnuplot manuals as Debian ships them (packages
  `r-doc-pdf`, `bash-doc`, `gnuplot-doc`): prose, numbered headings, code examples in a
  monospaced font, option tables. The truth is each PDF's own text layer: its text, its
  monospaced lines (every character in a fixed-pitch font) and its headings (lines mostly in a
  bold font at least the size of the body text, consecutive ones joined). Its text is the
  text layer's lines in the order of their baselines, top to bottom (all pages are one column).
- **table**: pages of the ICDAR 2013 table competition (EU and US government reports), as
  kept in the test suite of camelot-py (a table-extraction library on PyPI): every cell with
  its row, column and spans; their bold lines outside the tables, found as the manuals'
  headings are, bound what may be called a heading (captions and labels are bold too). A
  table is *ruled* when its page draws rules between its columns, *unruled* otherwise (no
  rules, or horizontal rules only).

- **reference**: pages of the Debian Reference and the Debian Developer's Reference in
  English, German and French, drawn at random after the structure was built (see
  REFERENCE_PAGES); four of them also noisy.

Each page is kept as a one-page PDF beside a `<name>.truth.json`; `manifest.json` lists them.
The eval renders the PDFs at 300 dpi and reads the images (tools/realeval.py).

    python -m tools.realcorpus --icdar DIR   # DIR: camelot's tests/files/tabula/icdar2013-dataset
    python -m tools.realcorpus --reference-only   # the reference pages alone
    python -m tools.realcorpus --icdar DIR --held-out --out OUT   # the set's other table
        pages, read with `python -m tools.realeval --corpus OUT`

Needs `apt-get download` (Debian's archive) for the manuals; nothing at eval time needs a
network.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import logging
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pikepdf
import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_raw

log = logging.getLogger("tools.realcorpus")

CORPUS = Path(__file__).resolve().parent / "real-corpus"
PACKAGES = ("r-doc-pdf", "bash-doc", "gnuplot-doc")
R_MANUALS = "usr/share/R/doc/manual"

# (name, file inside the unpacked packages, 0-based page): pages with code, headings, prose.
MANUAL_PAGES = (
    ("r-intro-07", f"{R_MANUALS}/R-intro.pdf", 7),
    ("r-intro-14", f"{R_MANUALS}/R-intro.pdf", 14),
    ("r-intro-22", f"{R_MANUALS}/R-intro.pdf", 22),
    ("r-intro-42", f"{R_MANUALS}/R-intro.pdf", 42),
    ("r-intro-46", f"{R_MANUALS}/R-intro.pdf", 46),
    ("r-intro-58", f"{R_MANUALS}/R-intro.pdf", 58),
    ("r-intro-70", f"{R_MANUALS}/R-intro.pdf", 70),
    ("r-data-04", f"{R_MANUALS}/R-data.pdf", 4),
    ("r-data-15", f"{R_MANUALS}/R-data.pdf", 15),
    ("r-data-26", f"{R_MANUALS}/R-data.pdf", 26),
    ("r-admin-32", f"{R_MANUALS}/R-admin.pdf", 32),
    ("r-admin-73", f"{R_MANUALS}/R-admin.pdf", 73),
    ("bashref-033", "usr/share/doc/bash/bashref.pdf", 33),
    ("bashref-136", "usr/share/doc/bash/bashref.pdf", 136),
    ("bashref-155", "usr/share/doc/bash/bashref.pdf", 155),
    ("gnuplot-029", "usr/share/doc/gnuplot/gnuplot.pdf", 29),
    ("gnuplot-043", "usr/share/doc/gnuplot/gnuplot.pdf", 43),
    ("gnuplot-050", "usr/share/doc/gnuplot/gnuplot.pdf", 50),
)
# Manual pages also read with 1 % salt-and-pepper noise (the eval adds it, seeded).
NOISY = ("r-intro-22", "r-data-15", "gnuplot-043")

# Pages of the Debian Reference and the Debian Developer's Reference, in English, German and
# French (packages `debian-reference-*`, `developers-reference*`), drawn at random (seeded)
# after the structure was built: frameless ruled tables of commands, nested lists, tips and
# notes, a table of contents; the German and French read with the English model, as a site
# with only `eng` installed would. Their bold lines include running heads and table headers,
# so they bound what may be called a heading, as the tables' do, and recall is not scored.
DREF = "usr/share/debian-reference/debian-reference.{}.pdf"
DEVREF = "usr/share/developers-reference/{}developers-reference.pdf"
REFERENCE_PACKAGES = (
    "debian-reference-en",
    "debian-reference-de",
    "debian-reference-fr",
    "developers-reference",
    "developers-reference-de",
    "developers-reference-fr",
)
REFERENCE_PAGES = (
    *((f"dref-en-{i:03d}", DREF.format("en"), i) for i in (65, 81, 102, 104, 116, 143, 169, 245)),
    *((f"dref-de-{i:03d}", DREF.format("de"), i) for i in (119, 220, 230, 256)),
    *((f"dref-fr-{i:03d}", DREF.format("fr"), i) for i in (57, 65, 168, 262)),
    *((f"devref-en-{i:03d}", DEVREF.format(""), i) for i in (19, 20, 40, 44, 55, 56, 94, 96)),
    *((f"devref-de-{i:03d}", DEVREF.format("de/"), i) for i in (5, 15, 35, 83)),
    *((f"devref-fr-{i:03d}", DEVREF.format("fr/"), i) for i in (17, 19, 41, 109)),
)
REFERENCE_NOISY = ("dref-en-065", "dref-en-116", "devref-en-019", "devref-en-055")

# (ICDAR document, 0-based page): a mix of ruled and unruled tables.
UNORDERED = {"eu-015"}  # pages scored for their cells only
TABLE_PAGES = (
    ("eu-001", 0),
    ("eu-002", 0),
    ("eu-003", 0),
    ("eu-006", 0),
    ("eu-008", 0),
    ("eu-009a", 0),
    ("eu-011", 2),
    ("eu-012", 3),
    ("eu-014", 1),
    ("eu-015", 0),  # a chart beside the tables: no one order of lines to score
    ("eu-016", 2),
    ("eu-020", 1),
    ("eu-023", 2),
    ("eu-026", 4),
    ("us-003", 0),
    ("us-004", 1),
    ("us-006", 0),
    ("us-009", 0),
    ("us-010", 1),
    ("us-012", 0),
)

MONO_HINTS = ("mono", "courier", "cmtt", "cmsltt", "typewriter", "consol", "code")
BOLD_HINTS = ("cmbx", "cmb10", "bold", "-bd", "black", "heavy")
_RULE_MAX_PT = 3.0  # a path thinner than this is a rule
_FRAME_RULES = 4  # a table's outline alone draws this many
_BASELINE_PT = 2.0  # lines whose baselines are this close are read as one
_HEADING_BOLD_SHARE = 0.6
_TABLE_MARGIN_PT = 3.0


# --- reading a page's text layer -----------------------------------------------------------


@dataclass
class TextLine:
    """One line of a PDF page's text with what its characters were set in."""

    text: str = ""
    fonts: list[str] = field(default_factory=list)  # one per non-space character
    sizes: list[float] = field(default_factory=list)
    weights: list[int] = field(default_factory=list)
    left: float = 0.0
    baseline: float = 0.0  # PDF points from the page's foot

    def share(self, hints: tuple[str, ...]) -> float:
        if not self.fonts:
            return 0.0
        return sum(any(h in f.lower() for h in hints) for f in self.fonts) / len(self.fonts)

    def bold_share(self) -> float:
        if not self.fonts:
            return 0.0
        bold = [
            w >= 600 or any(h in f.lower() for h in BOLD_HINTS)
            for f, w in zip(self.fonts, self.weights, strict=True)
        ]
        return sum(bold) / len(bold)

    @property
    def size(self) -> float:
        return max(self.sizes) if self.sizes else 0.0


def text_lines(page: pdfium.PdfPage) -> list[TextLine]:
    """The page's lines in the PDF's own order, each character's font noted."""
    textpage = page.get_textpage()
    buffer = ctypes.create_string_buffer(256)
    flags = ctypes.c_int()
    lines = [TextLine()]
    for i in range(textpage.count_chars()):
        code = pdfium_raw.FPDFText_GetUnicode(textpage.raw, i)
        char = chr(code) if code else ""
        if char in ("\r", "\n"):
            if lines[-1].text:
                lines.append(TextLine())
            continue
        line = lines[-1]
        if not line.text:
            left, right, bottom, top = (ctypes.c_double() for _ in range(4))
            pdfium_raw.FPDFText_GetCharBox(textpage.raw, i, left, right, bottom, top)
            x, y = ctypes.c_double(), ctypes.c_double()
            pdfium_raw.FPDFText_GetCharOrigin(textpage.raw, i, x, y)
            line.left, line.baseline = left.value, y.value
        line.text += char
        if char.strip():
            pdfium_raw.FPDFText_GetFontInfo(textpage.raw, i, buffer, 256, ctypes.byref(flags))
            line.fonts.append(buffer.value.decode("utf-8", "replace"))
            line.sizes.append(round(pdfium_raw.FPDFText_GetFontSize(textpage.raw, i), 1))
            line.weights.append(pdfium_raw.FPDFText_GetFontWeight(textpage.raw, i))
    for line in lines:
        line.text = whole_characters(line.text)
    return [line for line in lines if line.text.strip()]


def whole_characters(text: str) -> str:
    """The text with each character beyond the Basic Multilingual Plane ("𝔸") whole: PDFium
    gives it as its two UTF-16 halves, and alone a half is no character and cannot be
    written out. A half without its other half becomes U+FFFD."""
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


def reading_text(lines: list[TextLine]) -> str:
    """The page's text top to bottom, left to right within a baseline.

    A PDF's content order is not always its reading order (a producer may draw a table after
    the prose below it); on these one-column pages, the order of the baselines is.
    """
    ordered = sorted(lines, key=lambda line: (-round(line.baseline / _BASELINE_PT), line.left))
    return "\n".join(line.text.strip() for line in ordered)


def mono_lines(lines: list[TextLine]) -> list[str]:
    """Lines set wholly in a monospaced font: code and preformatted text."""
    return [
        line.text.rstrip()
        for line in lines
        if len(line.fonts) >= 2 and line.share(MONO_HINTS) >= 0.95
    ]


def headings(
    lines: list[TextLine], tables: Sequence[list[dict[str, Any]]] = (), *, join: bool = True
) -> list[str]:
    """Lines mostly in bold at the body's size or larger, outside any table; consecutive ones
    are one heading.

    "Mostly": a heading may name code in a monospaced font ("4.2 The function tapply()").
    """
    sizes = Counter(s for line in lines for s in line.sizes)
    if not sizes:
        return []
    body = sizes.most_common(1)[0][0]
    found: list[str] = []
    previous: TextLine | None = None
    for line in lines:
        is_heading = (
            len(line.fonts) >= 2
            and line.bold_share() >= _HEADING_BOLD_SHARE
            and line.share(MONO_HINTS) < 0.5
            and line.size >= 0.95 * body
            and not any(_inside(line, cells) for cells in tables)
        )
        if is_heading and join and previous is not None and abs(previous.size - line.size) < 0.5:
            found[-1] += " " + line.text.strip()
        elif is_heading:
            found.append(line.text.strip())
        previous = line if is_heading else None
    return found


def _inside(line: TextLine, cells: list[dict[str, Any]]) -> bool:
    """Whether a line starts within a table's outline (its cells' boxes, PDF points)."""
    x1 = min(c["box"][0] for c in cells) - _TABLE_MARGIN_PT
    y1 = min(c["box"][1] for c in cells) - _TABLE_MARGIN_PT
    x2 = max(c["box"][2] for c in cells) + _TABLE_MARGIN_PT
    y2 = max(c["box"][3] for c in cells) + _TABLE_MARGIN_PT
    return x1 <= line.left <= x2 and y1 <= line.baseline <= y2


# --- tables --------------------------------------------------------------------------------


def icdar_tables(structure: Path, page: int) -> list[list[dict[str, Any]]]:
    """The cells of each table region on 0-based `page` of an ICDAR structure file."""
    root = ET.parse(structure).getroot()
    tables = []
    for region in root.iter("region"):
        if int(region.get("page", "0")) - 1 != page:
            continue
        cells = []
        for cell in region.iter("cell"):
            row, col = int(cell.get("start-row", "0")), int(cell.get("start-col", "0"))
            box = cell.find("bounding-box")
            assert box is not None
            cells.append(
                {
                    "row": row,
                    "col": col,
                    "rows": int(cell.get("end-row", row)) - row + 1,
                    "cols": int(cell.get("end-col", col)) - col + 1,
                    "text": " ".join((cell.findtext("content") or "").split()),
                    "box": [_number(box.get(k)) for k in ("x1", "y1", "x2", "y2")],
                }
            )
        tables.append(cells)
    return tables


def _number(text: str | None) -> float:
    digits = "".join(c for c in text or "0" if c.isdigit() or c in ".-")
    return float(digits or 0)


def ruled(page: pdfium.PdfPage, cells: list[dict[str, Any]]) -> bool:
    """Whether the page rules the table's columns: more vertical rules than an outline's."""
    x1 = min(c["box"][0] for c in cells)
    y1 = min(c["box"][1] for c in cells)
    x2 = max(c["box"][2] for c in cells)
    y2 = max(c["box"][3] for c in cells)
    vertical = 0
    for obj in page.get_objects(filter=(pdfium_raw.FPDF_PAGEOBJ_PATH,), max_depth=4):
        left, bottom, right, top = obj.get_bounds()
        if right < x1 - 5 or left > x2 + 5 or top < y1 - 5 or bottom > y2 + 5:
            continue
        width, height = right - left, top - bottom
        if width <= _RULE_MAX_PT and height >= 0.3 * (y2 - y1):
            vertical += 1
        elif width > 20 and height > 8:  # a filled cell or a box: its two sides
            vertical += 2
    return vertical > _FRAME_RULES


# --- building --------------------------------------------------------------------------------


def one_page(source: Path, index: int, target: Path) -> None:
    """Page `index` of `source` alone, with only the resources it uses."""
    with pikepdf.open(source) as pdf, pikepdf.new() as out:
        out.pages.append(pdf.pages[index])
        out.remove_unreferenced_resources()
        out.save(target, compress_streams=True)


def manual_entry(
    unpacked: Path, name: str, relative: str, index: int, out: Path, *, cls: str = "manual"
) -> dict[str, Any]:
    """A manual's page; for the reference class, its bold lines bound headings only."""
    target = out / f"{name}.pdf"
    one_page(unpacked / relative, index, target)
    pdf = pdfium.PdfDocument(target)
    lines = text_lines(pdf[0])
    bold = headings(lines)
    truth = {
        "text": reading_text(lines),
        "mono_lines": mono_lines(lines),
        "headings": bold if cls == "manual" else [],
        "heading_like": bold + headings(lines, join=False),
        "tables": [],
    }
    (out / f"{name}.truth.json").write_text(json.dumps(truth, indent=1, ensure_ascii=False))
    return {
        "name": name,
        "class": cls,
        "source": f"Debian {_package(relative)}: /{relative} p. {index + 1}",
    }


def _package(relative: str) -> str:
    if relative.startswith("usr/share/R/"):
        return "r-doc-pdf"
    if "/debian-reference/" in relative:
        return f"debian-reference-{relative.rsplit('.', 2)[-2]}"
    if "/developers-reference/" in relative:
        language = relative.split("/")[3]
        return "developers-reference" + ("" if language.endswith(".pdf") else f"-{language}")
    return "bash-doc" if "/bash/" in relative else "gnuplot-doc"


def table_entry(icdar: Path, document: str, index: int, out: Path) -> dict[str, Any]:
    found = sorted(icdar.glob(f"*/{document}.pdf"))
    if not found:
        raise SystemExit(f"{document}.pdf not found under {icdar}")
    source = found[0]
    name = f"icdar-{document}-p{index + 1}"
    target = out / f"{name}.pdf"
    one_page(source, index, target)
    pdf = pdfium.PdfDocument(target)
    regions = icdar_tables(source.with_name(f"{document}-str.xml"), index)
    tables = [{"ruled": ruled(pdf[0], cells), "cells": cells} for cells in regions]
    lines = text_lines(pdf[0])
    # Bold lines on these pages are as often captions, labels and running feet as headings:
    # they count against a reading's headings that are none of them, not as headings to find.
    truth = {
        "text": reading_text(lines),
        "mono_lines": [],
        "headings": [],
        "heading_like": headings(lines, regions) + headings(lines, regions, join=False),
        "tables": tables,
    }
    (out / f"{name}.truth.json").write_text(json.dumps(truth, indent=1, ensure_ascii=False))
    entry = {"name": name, "class": "table", "source": f"ICDAR 2013 {document}.pdf p. {index + 1}"}
    return {**entry, "order": False} if document in UNORDERED else entry


def unpack_packages(directory: Path, packages: Sequence[str] = PACKAGES) -> Path:
    """Debian's documentation packages, downloaded and unpacked (not installed)."""
    subprocess.run(["apt-get", "download", *packages], cwd=directory, check=True)
    unpacked = directory / "root"
    for deb in directory.glob("*.deb"):
        subprocess.run(["dpkg-deb", "-x", str(deb), str(unpacked)], check=True)
    return unpacked


def build(icdar: Path, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    entries = documentation_entries(out, PACKAGES, MANUAL_PAGES, NOISY, "manual")
    for document, index in TABLE_PAGES:
        log.info("%s p. %d", document, index + 1)
        entries.append(table_entry(icdar, document, index, out))
    entries += reference_entries(out)
    (out / "manifest.json").write_text(json.dumps(entries, indent=1) + "\n")


def build_held_out(icdar: Path, out: Path) -> None:
    """Every other page of the ICDAR set that holds a table, as a corpus of its own at `out`:
    pages the structure was not built on, to check the table bars with."""
    out.mkdir(parents=True, exist_ok=True)
    chosen = set(TABLE_PAGES)
    entries = []
    for source in sorted(icdar.glob("*/*.pdf")):
        structure = source.with_name(f"{source.stem}-str.xml")
        if not structure.exists():
            continue
        regions = ET.parse(structure).getroot().iter("region")
        for index in sorted({int(r.get("page", "1")) - 1 for r in regions}):
            if (source.stem, index) not in chosen:
                log.info("%s p. %d", source.stem, index + 1)
                entries.append(table_entry(icdar, source.stem, index, out))
    (out / "manifest.json").write_text(json.dumps(entries, indent=1) + "\n")


def reference_entries(out: Path) -> list[dict[str, Any]]:
    """The reference class's pages, and its noisy ones."""
    return documentation_entries(
        out, REFERENCE_PACKAGES, REFERENCE_PAGES, REFERENCE_NOISY, "reference"
    )


def documentation_entries(
    out: Path,
    packages: Sequence[str],
    pages: Sequence[tuple[str, str, int]],
    noisy: Sequence[str],
    cls: str,
) -> list[dict[str, Any]]:
    """Pages of Debian's documentation packages as entries of `cls`, then again as noisy."""
    entries = []
    with tempfile.TemporaryDirectory() as scratch:
        unpacked = unpack_packages(Path(scratch), packages)
        for name, relative, index in pages:
            log.info("%s: %s p. %d", name, relative, index + 1)
            entries.append(manual_entry(unpacked, name, relative, index, out, cls=cls))
    for name in noisy:
        entry = next(e for e in entries if e["name"] == name)
        entries.append({**entry, "class": "noisy", "noise": 0.01})
    return entries


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tools.realcorpus", description=__doc__)
    parser.add_argument("--icdar", type=Path, help="the ICDAR 2013 dataset folder")
    parser.add_argument("--out", type=Path, default=CORPUS, help=f"default {CORPUS}")
    parser.add_argument(
        "--held-out",
        action="store_true",
        help="build the ICDAR set's other table pages instead, into --out (not the corpus)",
    )
    parser.add_argument(
        "--reference-only",
        action="store_true",
        help="only (re)build the reference pages, keeping the manifest's other entries",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="corpus: %(message)s", stream=sys.stderr)
    if args.reference_only:
        manifest = args.out / "manifest.json"
        kept = [
            e
            for e in json.loads(manifest.read_text())
            if not e["name"].startswith(("dref-", "devref-"))
        ]
        entries = kept + reference_entries(args.out)
        manifest.write_text(json.dumps(entries, indent=1) + "\n")
        return
    if args.icdar is None:
        parser.error("--icdar is needed to build the whole corpus")
    if args.held_out:
        if args.out == CORPUS:
            parser.error("--held-out builds a corpus of its own: name it with --out")
        build_held_out(args.icdar, args.out)
        return
    build(args.icdar, args.out)


if __name__ == "__main__":
    main()
