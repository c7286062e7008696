"""Tables: ruled, partly ruled and unruled, read through the real engine, and the pure parts
on hand-made word boxes."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw
from reportlab.lib.pagesizes import letter
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas

from ocr_engine import regions
from ocr_engine import tables as finding
from ocr_engine.model import TABLE, TEXT, Block, Page, Span, cell_lines, cell_words
from ocr_engine.options import PageOptions
from ocr_engine.recognize import TesserocrRecognizer
from ocr_engine.regions import (
    Rules,
    coarse,
    darkest,
    find_grids,
    find_rules,
    grids,
    rule_ink,
    without,
)
from ocr_engine.render.mistral import cell_text, table_content
from ocr_engine.structure import Item
from ocr_engine.tables import find_tables
from ocr_engine.tasks import PageTask, recognize_page
from ocr_engine.words import Box, Line, Paragraph, Word
from tools import corpus

PIXEL = 72 / 300  # one pixel of a 300 dpi rendering, in points
FONT_SIZE = 10
Rows = list[list[str]]

pdfmetrics.registerFont(TTFont("Vera", str(corpus.FONT)))

FIGURES: Rows = [
    ["Region", "Units", "Price", "Revenue", "Margin", "Staff"],
    ["North", "1200", "4.50", "5400", "12%", "31"],
    ["South", "950", "3.75", "3562", "8%", "24"],
    ["East", "1730", "5.10", "8823", "15%", "40"],
    ["West", "410", "2.95", "1209", "3%", "12"],
    ["Central", "2210", "6.20", "13702", "21%", "57"],
]
WORDY: Rows = [
    ["Item", "Note", "Owner"],
    ["Boilers", "In the last\nmonth two failed", "Plant team"],
    ["Roofing", "Repaired after\nthe storm", "Estates"],
    ["Lighting", "Replaced with\nnew fittings", "Electrical"],
]


def _draw_cells(
    pdf: canvas.Canvas,
    rows: Rows,
    *,
    left: float,
    top: float,
    widths: list[float],
    height: float,
    size: float = FONT_SIZE,
) -> None:
    """Each cell's lines from its top left corner, a cell's lines `size * 1.2` apart."""
    pdf.setFont("Vera", size)
    for r, row in enumerate(rows):
        x = left
        for c, text in enumerate(row):
            for i, line in enumerate(text.split("\n")):
                pdf.drawString(x + 5, top - r * height - 14 * size / 10 - i * size * 1.2, line)
            x += widths[c]


def _rules(
    pdf: canvas.Canvas,
    *,
    left: float,
    top: float,
    widths: list[float],
    heights: list[float],
    horizontal: list[int],
    vertical: bool,
    merged: int | None,
    frame: bool = True,
) -> None:
    """Rules across at the `horizontal` row boundaries, and down every column boundary but
    the one inside the header's merged cell (over columns `merged` and `merged + 1`); with
    no `frame`, not down the table's sides."""
    right = left + sum(widths)
    for r in horizontal:
        y = top - sum(heights[:r])
        pdf.line(left, y, right, y)
    if not vertical:
        return
    for c in range(0 if frame else 1, len(widths) + (1 if frame else 0)):
        x = left + sum(widths[:c])
        for r in range(len(heights)):
            if r == 0 and merged is not None and c == merged + 1:
                continue
            pdf.line(x, top - sum(heights[:r]), x, top - sum(heights[: r + 1]))


def table_page(
    path: Path,
    rows: Rows,
    *,
    offset: float = 0.0,
    rule: float = 0.5,
    rules: str = "grid",
    height: float = 24.0,
    widths: list[float] | None = None,
    merged: int | None = None,
    size: float = FONT_SIZE,
) -> Path:
    """A page with a paragraph, then one table at `offset` pixels off the pixel grid;
    `rules` is "grid" (every rule), "open" (every rule but down the sides), "booktabs"
    (top, below the header, bottom) or "none"; `merged` is the column whose header cell
    also covers the next one."""
    pdf = canvas.Canvas(str(path), pagesize=letter)
    _prose(pdf, 72, 700, LEAD[:3], width=470)
    widths = widths or [80.0] * len(rows[0])
    left, top = 72 + offset * PIXEL, 600 + offset * PIXEL
    _draw_cells(pdf, rows, left=left, top=top, widths=widths, height=height, size=size)
    pdf.setLineWidth(rule)
    if rules != "none":
        _rules(
            pdf,
            left=left,
            top=top,
            widths=widths,
            heights=[height] * len(rows),
            horizontal=(
                list(range(len(rows) + 1)) if rules in ("grid", "open") else [0, 1, len(rows)]
            ),
            vertical=rules in ("grid", "open"),
            merged=merged,
            frame=rules != "open",
        )
    pdf.showPage()
    pdf.save()
    return path


LEAD = [
    "The council met on the first Monday of the month to review the accounts of the",
    "year and to agree the budget for the next one; members asked for a fuller report",
    "on the state of the roads, and the clerk agreed to prepare it before the summer.",
    "Residents may read the minutes at the library or ask for a copy by post, and the",
    "next meeting is open to the public as usual, with questions taken at the start.",
    "The treasurer thanked the volunteers who counted the votes at the last election.",
]


def _prose(pdf: canvas.Canvas, left: float, top: float, lines: list[str], width: float) -> None:
    """Justified lines of prose from `top` down, the last one left ragged."""
    pdf.setFont("Vera", FONT_SIZE)
    for i, line in enumerate(lines):
        y = top - i * FONT_SIZE * 1.4
        words = line.split()
        if i == len(lines) - 1 or len(words) < 2:
            pdf.drawString(left, y, line)
            continue
        spare = width - sum(pdf.stringWidth(w, "Vera", FONT_SIZE) for w in words)
        x = left
        for word in words:
            pdf.drawString(x, y, word)
            x += pdf.stringWidth(word, "Vera", FONT_SIZE) + spare / (len(words) - 1)


def lines_page(path: Path, columns: list[tuple[float, list[str]]], *, frame: bool = False) -> Path:
    """A page of text columns, each `(left, lines)` from the same top; with `frame`, a box
    round it all."""
    pdf = canvas.Canvas(str(path), pagesize=letter)
    pdf.setFont("Vera", FONT_SIZE)
    for left, lines in columns:
        for i, line in enumerate(lines):
            pdf.drawString(left, 650 - i * FONT_SIZE * 1.4, line)
    if frame:
        depth = max(len(lines) for _, lines in columns) * FONT_SIZE * 1.4
        pdf.setLineWidth(0.5)
        pdf.rect(60, 650 - depth, 490, depth + 22)
    pdf.showPage()
    pdf.save()
    return path


def read(pdf: Path, recognizer: TesserocrRecognizer, *, scan: bool = True) -> Page:
    """The page as the engine reads it: by OCR of a 300 dpi scan, or from its text layer."""
    if scan:
        pdf = corpus.image_only_pdf(pdf, pdf.with_suffix(".scan.pdf"))
    options = PageOptions(mode="force" if scan else "auto")
    task = PageTask(str(pdf), "pdf", None, 0, "eng", 300, 100_000_000, 120, options)
    return recognize_page(task, recognizer)


def cell_texts(block: Block) -> list[list[str]]:
    return [[cell_text(cell) for cell in row] for row in block.cells]


def tables(page: Page) -> list[Block]:
    return [b for b in page.blocks if b.kind == TABLE]


def right_cells(page: Page, expected: Rows) -> float:
    """The share of the expected cells read at their row and column in the page's table."""
    found = tables(page)
    if not found:
        return 0.0
    return right_cells_of(cell_texts(max(found, key=lambda b: b.box.area)), expected)


def right_cells_of(got: Rows, expected: Rows) -> float:
    """The share of the expected cells at their row and column in a table's cells."""
    right = total = 0
    for r, row in enumerate(expected):
        for c, text in enumerate(row):
            total += 1
            want = " ".join(text.split())
            right += r < len(got) and c < len(got[r]) and got[r][c] == want
    return right / total


def _text_of(page: Page) -> str:
    return " ".join(w.text for w in page.words)


# Through the engine --------------------------------------------------------------------------


@pytest.mark.ocr
@pytest.mark.parametrize(("offset", "rule"), [(0.0, 0.5), (0.33, 0.25), (0.5, 0.5), (0.67, 0.25)])
def test_a_ruled_table_with_hairline_rules_anywhere_on_the_pixel_grid(
    tmp_path: Path, recognizer: TesserocrRecognizer, offset: float, rule: float
) -> None:
    pdf = table_page(tmp_path / "ruled.pdf", FIGURES, offset=offset, rule=rule)
    page = read(pdf, recognizer)
    [table] = tables(page)
    assert right_cells(page, FIGURES) >= 0.97, cell_texts(table)
    assert "|" not in _text_of(page)  # no rule read as a word


NILS: Rows = [
    ["Substance", "Air", "Water", "Land"],
    ["Alachlor", "-", "1", "1"],
    ["Aldrin", "1", "1", "-"],
    ["Atrazine", "-", "1", "1"],
    ["Diuron", "-", "-", "1"],
    ["Isodrin", "-", "1", "-"],
    ["Lindane", "10", "-", "1"],
    ["Mirex", "1", "1", "1"],
    ["Simazine", "-", "1", "1"],
    ["Toxaphene", "1", "-", "1"],
    ["Trifluralin", "-", "1", "-"],
]


@pytest.mark.ocr
def test_a_dash_alone_in_a_ruled_cell_is_read(
    tmp_path: Path, recognizer: TesserocrRecognizer
) -> None:
    # A threshold table's "-" for nil and its lone "1"s, a few pixels of ink in a wide
    # cell: Tesseract read them as "=", ":" or nothing, and the cells, too little of them
    # ink to count, were not read again.
    widths = [90.0, 110.0, 110.0, 110.0]
    pdf = table_page(tmp_path / "nils.pdf", NILS, widths=widths, height=12, size=7)
    page = read(pdf, recognizer)
    [table] = tables(page)
    got = cell_texts(table)
    nils = [(r, c) for r, row in enumerate(NILS) for c, text in enumerate(row) if text == "-"]
    assert [got[r][c] for r, c in nils] == ["-"] * len(nils), got
    assert right_cells(page, NILS) >= 0.9, got


ENROLMENT: Rows = [
    ["Year", "Total", "White", "Black", "Two or more"],
    *(
        [str(1996 + i), f"{12849 + 211 * i:,}", f"{8530 + 37 * i:,}", f"{2043 + 29 * i:,}", "—"]
        for i in range(12)
    ),
    ["2008", "15,381", "8,974", "2,391", "59"],
    ["2009", "15,592", "9,011", "2,420", "84"],
]


@pytest.mark.ocr
@pytest.mark.parametrize(("height", "size"), [(14.0, 9.0), (12.0, 8.0)])
def test_a_dash_for_nil_in_an_unruled_column_is_no_underscore(
    tmp_path: Path, recognizer: TesserocrRecognizer, height: float, size: float
) -> None:
    # An enrolment table's "—" for years before a count began: read from the page made
    # smaller, Tesseract gave "_" or "_—"; an underscore stands on the baseline, a dash
    # above it.
    pdf = table_page(tmp_path / "t.pdf", ENROLMENT, rules="none", height=height, size=size)
    [table] = tables(read(pdf, recognizer))
    got = cell_texts(table)
    assert [row[4] for row in got[1:13]] == ["—"] * 12, got
    assert right_cells_of(got, ENROLMENT) >= 0.95, got


@pytest.mark.ocr
@pytest.mark.parametrize("scan", [True, False])
def test_a_cells_lines_are_read_in_order(
    tmp_path: Path, recognizer: TesserocrRecognizer, scan: bool
) -> None:
    pdf = table_page(tmp_path / "wordy.pdf", WORDY, height=36, widths=[80, 150, 90])
    page = read(pdf, recognizer, scan=scan)
    [table] = tables(page)
    assert cell_texts(table) == [[" ".join(c.split()) for c in row] for row in WORDY]


SURVEY: Rows = [
    ["Country", "2007", "", "2008", ""],
    ["", "N", "% Pos", "N", "% Pos"],
    ["Austria", "109", "0.9", "93", "1.1"],
    ["Germany", "123", "0.8", "290", "0.7"],
    ["Spain", "36", "0", "40", "0"],
    ["Total", "268", "0.6", "423", "0.6"],
]


def shaded_header_page(path: Path) -> Path:
    """`SURVEY` as a report draws it: a header in white type on grey, its year over its two
    columns, "N" and "% Pos" in white cells parted by short rules; rules down the header
    only, and across every row of the body."""
    pdf = canvas.Canvas(str(path), pagesize=letter)
    _prose(pdf, 72, 700, LEAD[:3], width=470)
    left, top, widths, height = 72.0, 620.0, [110.0, 70.0, 70.0, 70.0, 70.0], 24.0
    xs = [left + sum(widths[:c]) for c in range(len(widths) + 1)]
    bottom = top - height * len(SURVEY)
    pdf.setFillGray(0.6)
    pdf.rect(xs[0], top - 2 * height, xs[1] - xs[0], 2 * height, stroke=0, fill=1)
    pdf.rect(xs[1], top - height, xs[-1] - xs[1], height, stroke=0, fill=1)
    pdf.setFont("Vera", FONT_SIZE)
    for r, row in enumerate(SURVEY):
        for c, text in enumerate(row):
            if not text:
                continue
            pdf.setFillGray(1.0 if r == 0 else 0.0)
            width = 2 * widths[c] if r == 0 and c > 0 else widths[c]
            y = top - (r + 0.5) * height - FONT_SIZE / 3 - (height / 2 if r == 0 and c == 0 else 0)
            pdf.drawCentredString(xs[c] + width / 2, y, text)
    pdf.setLineWidth(0.5)
    pdf.setStrokeGray(0.0)
    for y in [top, top - height, *(top - height * r for r in range(2, len(SURVEY) + 1))]:
        pdf.line(xs[0] if y != top - height else xs[1], y, xs[-1], y)
    for x in (xs[0], xs[-1]):
        pdf.line(x, top, x, bottom)
    for x in (xs[1], xs[3]):
        pdf.line(x, top, x, top - 2 * height)
    for x in (xs[2], xs[4]):
        pdf.line(x, top - height, x, top - 2 * height)
    pdf.showPage()
    pdf.save()
    return path


@pytest.mark.ocr
def test_a_shaded_header_in_white_type_over_columns_ruled_only_in_it(
    tmp_path: Path, recognizer: TesserocrRecognizer
) -> None:
    # Tesseract takes the grey header for a picture and reads none of it; the body's
    # columns have no rules of their own, so the grid holds each of its rows as one cell.
    page = read(shaded_header_page(tmp_path / "shaded.pdf"), recognizer)
    [table] = tables(page)
    assert cell_texts(table) == SURVEY
    assert Span(0, 1, 1, 2) in table.spans and Span(0, 3, 1, 2) in table.spans


BUDGET: Rows = [
    ["Program", "Budget"],
    ["Performance dashboard", "$1.1M"],
    ["Cloud computing", "$0.44M"],
    ["Open data portal", "$0.9M"],
    ["Challenges platform", "$0"],
    ["Total", "$8M"],
]


def shaded_cells_page(path: Path) -> Path:
    """`BUDGET` drawn as blocks of grey parted by white lines, no rule anywhere: its labels
    in white on dark grey, its amounts in black on light grey."""
    pdf = canvas.Canvas(str(path), pagesize=letter)
    _prose(pdf, 72, 700, LEAD[:3], width=470)
    left, top, widths, height, line = 90.0, 620.0, [260.0, 110.0], 26.0, 2.0
    pdf.setFont("Vera", FONT_SIZE)
    for r, row in enumerate(BUDGET):
        x = left
        for c, text in enumerate(row):
            y = top - (r + 1) * height
            pdf.setFillGray(0.35 if c == 0 or r == 0 else 0.85)
            pdf.rect(x, y + line / 2, widths[c] - line, height - line, stroke=0, fill=1)
            pdf.setFillGray(1.0 if c == 0 or r == 0 else 0.0)
            pdf.drawString(x + 6, y + 9, text)
            x += widths[c]
    pdf.showPage()
    pdf.save()
    return path


@pytest.mark.ocr
def test_a_table_drawn_in_shaded_cells_parted_by_white_lines(
    tmp_path: Path, recognizer: TesserocrRecognizer
) -> None:
    page = read(shaded_cells_page(tmp_path / "blocks.pdf"), recognizer)
    [table] = tables(page)
    assert cell_texts(table) == BUDGET


def test_white_lines_between_shade_are_rules_and_paper_beside_a_border_is_not() -> None:
    # Two shaded cells over two, parted by white lines 2 px wide (at 100 dpi), inside a
    # black border 3 px wide with 3 px of paper between it and the shade.
    page = np.full((400, 600), 255, np.uint8)
    page[50:350, 50:550] = 0  # the border
    page[53:347, 53:547] = 255
    page[56:344, 56:544] = 150  # the shade
    page[199:201, 56:544] = 255
    page[56:344, 299:301] = 255
    light = regions.find_light_rules(page, 1.0)
    # The paper between the border and the shade is a white line between two tones too.
    assert [y for y, _, _ in light.horizontal] == [54, 199, 345]
    assert [x for x, _, _ in light.vertical] == [54, 299, 545]
    dark = find_rules(page, 1.0)
    assert [y for y, _, _ in dark.horizontal] == [51, 348]
    joined = regions.joined(dark, light, 10)
    assert [y for y, _, _ in joined.horizontal] == [51, 348, 199]
    assert [x for x, _, _ in joined.vertical] == [51, 548, 299]
    assert regions.find_light_rules(page[:, :40], 1.0) == regions.Rules([], [])


COMMANDS: Rows = [
    ["Command", "Effect"],
    ["gpg --sign file", "Signs the file into\nan armoured copy"],
    ["gpg --verify file", "Checks a signed file"],
    ["gpg -o out -d file", "Decrypts the file\ninto out"],
    ["gpg --list-keys", "Lists the keys"],
]


@pytest.mark.ocr
@pytest.mark.parametrize("scan", [True, False])
def test_a_table_ruled_inside_with_no_frame_down_its_sides(
    tmp_path: Path, recognizer: TesserocrRecognizer, scan: bool
) -> None:
    # Rules across every row and down between the columns only, as DocBook and office
    # suites draw them; the first column holds commands, which read as code.
    pdf = table_page(tmp_path / "open.pdf", COMMANDS, rules="open", height=36, widths=[150, 170])
    page = read(pdf, recognizer, scan=scan)
    [table] = tables(page)
    assert cell_texts(table) == [[" ".join(c.split()) for c in row] for row in COMMANDS]


@pytest.mark.ocr
@pytest.mark.parametrize("scan", [True, False])
def test_a_merged_header_cell_spans_its_columns(
    tmp_path: Path, recognizer: TesserocrRecognizer, scan: bool
) -> None:
    rows = [
        ["Region", "Sales", "", "Staff"],
        ["", "2022", "2023", ""],
        ["North", "1200", "1350", "31"],
        ["South", "950", "990", "24"],
    ]
    page = read(table_page(tmp_path / "merged.pdf", rows, merged=1), recognizer, scan=scan)
    [table] = tables(page)
    assert cell_texts(table) == rows
    assert table.spans == [Span(0, 1, 1, 2)]
    html = table_content(table, "html")
    assert html.startswith('<table><tr><td>Region</td><td colspan="2">Sales</td><td>Staff</td>')


@pytest.mark.ocr
@pytest.mark.parametrize("scan", [True, False])
@pytest.mark.parametrize("rules", ["booktabs", "none"])
def test_tables_ruled_only_across_or_not_at_all(
    tmp_path: Path, recognizer: TesserocrRecognizer, rules: str, scan: bool
) -> None:
    pdf = table_page(tmp_path / f"{rules}.pdf", FIGURES, rules=rules)
    page = read(pdf, recognizer, scan=scan)
    assert right_cells(page, FIGURES) >= 0.97, [cell_texts(t) for t in tables(page)]
    assert "council met" in _text_of(page)  # the paragraph above stays prose


OPTIONS = [
    ("-v", "print each page as it is read"),
    ("-o FILE", "write the result to the named file"),
    ("--jobs N", "read this many pages at once"),
    ("--language=LANGS", "the languages the pages are in"),
    ("--force", "read pages that have text of their own"),
]


@pytest.mark.ocr
def test_a_list_of_options_and_their_meanings_is_a_table_long_options_included(
    tmp_path: Path, recognizer: TesserocrRecognizer
) -> None:
    # A manual's options in a fixed-pitch font, each meaning on the line beside its
    # option; the longest option runs up to its meaning, closer than a gutter.
    path = tmp_path / "options.pdf"
    pdf = canvas.Canvas(str(path), pagesize=letter)
    _prose(pdf, 72, 700, ["The command takes these options, in any order:"], 470)
    for i, (option, meaning) in enumerate(OPTIONS):
        y = 670 - i * FONT_SIZE * 1.4
        pdf.setFont("Courier", FONT_SIZE)
        pdf.drawString(72, y, option)
        pdf.setFont("Vera", FONT_SIZE)
        pdf.drawString(
            72 + pdf.stringWidth("--language=LANGS", "Courier", FONT_SIZE) + 4, y, meaning
        )
    _prose(pdf, 72, 670 - 6 * FONT_SIZE * 1.4, ["Options may be given more than once."], 470)
    pdf.showPage()
    pdf.save()
    page = read(path, recognizer)
    assert [cell_texts(t) for t in tables(page)] == [[list(row) for row in OPTIONS]]
    assert "in any order" in _text_of(page)


def _prose_words(count: int, per_line: int) -> list[str]:
    words = " ".join(LEAD * 2).split()
    return [" ".join(words[i * per_line : (i + 1) * per_line]) for i in range(count)]


NOT_TABLES = {
    "two_columns": [(72.0, _prose_words(12, 6)), (320.0, _prose_words(12, 6)[::-1])],
    "numbered_list": [
        (72.0, [f"{i}." for i in range(1, 7)]),
        (
            95.0,
            [
                "Open the valve slowly",
                "Check the gauge",
                "Close the cover",
                "Wait ten minutes",
                "Record the reading",
                "Sign the sheet",
            ],
        ),
    ],
    "contents": [
        (72.0, ["1", "2", "3", "4", "5"]),
        (100.0, ["Introduction", "Methods of survey", "Results by region", "Discussion", "Annex"]),
        (500.0, ["1", "4", "9", "15", "22"]),
    ],
    "framed_paragraph": [(72.0, LEAD)],
}


@pytest.mark.ocr
@pytest.mark.parametrize("scan", [True, False])
@pytest.mark.parametrize("name", sorted(NOT_TABLES))
def test_prose_lists_contents_and_frames_are_not_tables(
    tmp_path: Path, recognizer: TesserocrRecognizer, name: str, scan: bool
) -> None:
    pdf = lines_page(tmp_path / f"{name}.pdf", NOT_TABLES[name], frame=name.startswith("framed"))
    page = read(pdf, recognizer, scan=scan)
    assert tables(page) == [], [cell_texts(t) for t in tables(page)]
    assert len(page.words) >= 10


DOCUMENTS = Path(__file__).parent / "documents"


def read_document(name: str, tmp_path: Path, recognizer: TesserocrRecognizer) -> Page:
    """A test document's page as the engine reads a 300 dpi scan of it (written beside a
    copy in `tmp_path`)."""
    pdf = tmp_path / name
    pdf.write_bytes((DOCUMENTS / name).read_bytes())
    return read(pdf, recognizer)


@pytest.mark.ocr
def test_a_paragraph_s_last_line_over_a_table_stays_in_its_paragraph(
    tmp_path: Path, recognizer: TesserocrRecognizer
) -> None:
    # The French translation of array's documentation: "Table 2 lists all token classes
    # and their" over "corresponding numbers.", then the table. The table took that last
    # line as its first row, and its columns with it; the sentence runs on into it.
    page = read_document("f-array-p9.pdf", tmp_path, recognizer)
    text = " ".join(w.text for b in page.blocks if b.kind == TEXT for w in b.words)
    assert "Table 2 lists all token classes and their corresponding numbers." in text
    [table] = tables(page)
    assert cell_texts(table)[0] == ["token", "\\@chclass", "\\@chnum"] * 2, cell_texts(table)


@pytest.mark.ocr
def test_tables_of_names_beside_their_macros_are_read_whole(
    tmp_path: Path, recognizer: TesserocrRecognizer
) -> None:
    # The siunitx manual's tables of units (page 8): each unit's name in roman, its macro in
    # typewriter type, its symbol; one table of three columns, one of six. A row whose
    # words' widths fit one pitch by chance ("second \\second s") made the table's rows
    # code; the six columns, two of them macros, were taken for code aligned by spaces.
    page = read_document("siunitx-p8.pdf", tmp_path, recognizer)
    found = [cell_texts(t) for t in tables(page)]
    assert [len(t) for t in found] == [8, 12], found
    first, second = found
    assert first[0] == ["Unit", "Command", "Symbol"]
    assert first[-1] == ["second", "\\second", "s"]
    assert all(len(row) == 6 for row in second)
    assert second[-1] == ["lux", "\\lux", "Ix", "weber", "\\weber", "Wb"]


@pytest.mark.ocr
def test_a_check_list_beside_a_table_keeps_every_item(
    tmp_path: Path, recognizer: TesserocrRecognizer
) -> None:
    # A state agency's report (page 2): two columns of check boxes and their labels.
    # Tesseract reads the right column's boxes as one word nine lines tall, which stands in
    # a table found below and stretched its box up over the first three rows of labels.
    # The table's box took them, though they were in none of its cells.
    page = read_document("dcf-summary-p2.pdf", tmp_path, recognizer)
    text = " ".join(w.text for w in page.words)
    for label in (
        "Screening of Access report",
        "Protective plan implemented",
        "Initial assessment conducted",
        "Attempted or successful reunification",
        "Referral to services",
        "Transportation assistance",
        "Case closed by agency",
    ):
        assert label in text


# The pure parts, on hand-made words and pixels ---------------------------------------------


def _width(text: str) -> int:
    """A proportional font's width of `text`, in pixels: narrow and wide letters differ."""
    return sum(8 if ch in "ilIjtf.,:;1'" else 26 if ch in "mwMW" else 17 for ch in text)


def _word(text: str, left: int, top: int, *, height: int = 30, width: int | None = None) -> Word:
    width = width if width is not None else _width(text)
    return Word(text, 0.9, Box(left, top, left + width, top + height))


def _row(top: int, cells: list[tuple[int, str]]) -> list[Word]:
    """Words at `top`, each cell's text from its x, its words 12 px apart."""
    words = []
    for left, text in cells:
        x = left
        for token in text.split():
            words.append(_word(token, x, top))
            x += _width(token) + 12
    return words


def _figures_row(top: int, name: str, values: Sequence[str], rights: Sequence[int]) -> list[Word]:
    """A label at the left, then each value set flush right at its column's right edge."""
    words = _row(top, [(100, name)])
    for right, value in zip(rights, values, strict=True):
        words.append(_word(value, right - _width(value), top))
    return words


def _paragraphs(rows: list[list[Word]]) -> list[Paragraph]:
    return [Paragraph([Line(row) for row in rows if row])]


def _tables_of(rows: list[list[Word]]) -> list[list[list[str]]]:
    _, _, found = find_tables(_paragraphs(rows), Rules([], []), dpi=300)
    return _texts(found)


def _texts(found: Sequence[Item]) -> list[list[list[str]]]:
    """Each table's rows of cell texts."""
    return [[[cell_text(cell) for cell in row] for row in t.cells] for t in found]


def test_a_cells_words_are_read_line_by_line_whatever_their_heights() -> None:
    # "In" and "month" sit a little higher than the rest: rounding centres to word heights
    # once read this cell as "month the last In".
    words = [
        _word("month", 100, 160, height=30),
        _word("the", 190, 121, height=34),
        _word("last", 260, 124, height=31),
        _word("In", 100, 118, height=36),
    ]
    assert [w.text for w in cell_words(words)] == ["In", "the", "last", "month"]
    assert [[w.text for w in line] for line in cell_lines(words)] == [
        ["In", "the", "last"],
        ["month"],
    ]


def test_a_paragraph_beside_an_infobox_is_no_column_of_its_table() -> None:
    # An encyclopedia article's text at the left, its infobox of facts at the right, level
    # with some of the paragraph's lines: they share the box's gutters there, and the
    # lines of the paragraph were taken for a column of the box's table.
    prose = [
        "the weite auch kommerzielle Verbreitung wurde ab",
        "durch die Lizenzierung des Kernels unter der",
        "freien Lizenz ermöglicht Einer der Initiatoren",
        "von Linux war der finnische Programmierer Linus",
        "Torvalds Er nimmt bis heute eine koordinierende",
        "Rolle bei der Weiterentwicklung des Kernels ein",
        "und wird auch als Benevolent Dictator for Life",
        "deutsch wohlwollender Diktator auf Lebenszeit",
        "bezeichnet und das modular aufgebaute System",
        "wird von Entwicklern auf der ganzen Welt weiter",
    ]
    facts = {
        4: ("Entwickler", "diverse"),
        5: ("Version", "4.7.2"),
        6: ("Kernel", "monolithisch"),
        7: ("Lizenz", "GPLv2 und andere"),
    }
    lines = [Line(_row(100 + 50 * i, [(100, text)])) for i, text in enumerate(prose)]
    boxes = [
        Paragraph([Line(_row(100 + 50 * i, [(1300, key), (1650, value)]))])
        for i, (key, value) in facts.items()
    ]
    paragraphs, _, found = find_tables([Paragraph(lines), *boxes], Rules([], []), dpi=300)
    prose_words = {w.text for line in lines for w in line.words}
    for table in _texts(found):
        assert not prose_words & {w for row in table for cell in row for w in cell.split()}, table
    kept = {w.text for p in paragraphs for w in p.words}
    assert prose_words <= kept


def test_unruled_columns_of_text_and_numbers_are_a_table() -> None:
    rows = [
        _row(100 + 50 * i, [(100, name), (600, units), (900, share)])
        for i, (name, units, share) in enumerate(
            [
                ("Region", "Units", "Share"),
                ("North coast", "1,200", "12%"),
                ("South", "950", "8%"),
                ("East valley", "1,730", "15%"),
            ]
        )
    ]
    assert _tables_of(rows) == [
        [
            ["Region", "Units", "Share"],
            ["North coast", "1,200", "12%"],
            ["South", "950", "8%"],
            ["East valley", "1,730", "15%"],
        ]
    ]


def test_headings_over_an_unruled_table_s_columns_span_them_in_one_table() -> None:
    # A statistical table: a heading over its years' columns, and headings over groups of
    # rows centred across the figures; each crosses the gutters the rows share.
    def figures_row(top: int, name: str, values: list[str]) -> list[Word]:
        return _figures_row(top, name, values, (560, 720, 880))

    rows = [
        _row(100, [(620, "Year of data")]),
        figures_row(150, "Source", ["2008", "2009", "2010"]),
        _row(210, [(500, "Enrollment, in thousands")]),
        figures_row(260, "Actual", ["49,266", "49,373", "49,484"]),
        _row(330, [(510, "Projected, in thousands")]),
        figures_row(380, "Edition 2017", ["49,825", "50,067", "50,353"]),
        figures_row(430, "Edition 2018", ["49,623", "49,788", "50,034"]),
    ]
    [table] = _tables_of(rows)
    assert table == [
        ["", "", "Year of data", ""],
        ["Source", "2008", "2009", "2010"],
        ["", "Enrollment, in thousands", "", ""],
        ["Actual", "49,266", "49,373", "49,484"],
        ["", "Projected, in thousands", "", ""],
        ["Edition 2017", "49,825", "50,067", "50,353"],
        ["Edition 2018", "49,623", "49,788", "50,034"],
    ]
    _, _, [found] = find_tables(_paragraphs(rows), Rules([], []), dpi=300)
    assert found.grid is not None
    assert Span(2, 1, 1, 3) in found.grid.spans


def test_a_row_of_wider_figures_does_not_break_the_table_its_gutters_run_through() -> None:
    # A total's figures, longer than the rest, leave a gap of less than an em between its
    # columns: the gutters the other rows share still run through it.
    def figures_row(top: int, name: str, values: list[str]) -> list[Word]:
        return _figures_row(top, name, values, (600, 760, 920))

    names = ["North", "South", "East", "West", "Centre", "Total", "Coast", "Hills", "Plains"]
    rows = [
        figures_row(100 + 50 * i, name, ["12,345,678"] * 3 if name == "Total" else ["1,200"] * 3)
        for i, name in enumerate(names)
    ]
    [table] = _tables_of(rows)
    assert [row[0] for row in table] == names
    assert table[5] == ["Total", "12,345,678", "12,345,678", "12,345,678"]


def test_columns_of_figures_set_a_space_apart_are_columns_but_one_figure_is_not() -> None:
    # "No.", "Rate" and "(95% CI)" set tight, a little more than a space apart, each
    # column flush on one edge, are three columns; a figure with its thousands set off by
    # a space ("4 330") is one figure all the same.
    states = ["Ohio", "Iowa", "Texas", "Maine"]
    figures = [("1,144", "193.5", "(182.2-204.8)"), ("39,385", "81.2", "(79.4-83.0)")]
    figures += [("6,930", "177.4", "(173.2-181.6)"), ("702", "9.8", "(8.1-11.5)")]
    rows = []
    for i, (state, (count, rate, interval)) in enumerate(zip(states, figures, strict=True)):
        top = 100 + 50 * i
        rows.append(
            [
                _word(state, 100, top),
                _word(count, 500 - _width(count), top),
                _word(rate, 620 - _width(rate), top),
                _word(interval, 636, top),
            ]
        )
    assert _tables_of(rows) == [[[state, *row] for state, row in zip(states, figures, strict=True)]]
    spaced = [
        [_word(state, 100, top), _word(f"{i + 4}", 480, top), _word(f"{i}30", 501, top)]
        for i, (state, top) in enumerate(zip(states, range(100, 300, 50), strict=True))
    ]
    spaced = [[*row, _word(f"{i}.5", 700, row[0].box.top)] for i, row in enumerate(spaced)]
    assert [[row[1] for row in table] for table in _tables_of(spaced)] == [
        [f"{i + 4} {i}30" for i in range(4)]
    ]
    # Nor is a count and its share in brackets, "38 (24.7%)", two entries.
    shares = [
        [
            _word(state, 100, top),
            _word(f"{i + 3}8", 480 - _width(f"{i + 3}8"), top),
            _word(f"({i + 2}4.7%)", 496, top),
            _word(f"{i}.5", 800, top),
        ]
        for i, (state, top) in enumerate(zip(states, range(100, 300, 50), strict=True))
    ]
    assert [[row[1] for row in table] for table in _tables_of(shares)] == [
        [f"{i + 3}8 ({i + 2}4.7%)" for i in range(4)]
    ]


def test_figures_set_tight_between_group_headings_and_dashes_are_still_two_columns() -> None:
    # "No. (%)" set a space apart, in groups of rows under headings of their own, with a
    # dash for a count not given read as "=" in the white between the two columns.
    rows: list[list[Word]] = []
    expected = []
    top = 100
    for group in ("Sex", "Region"):
        rows.append([_word(group, 100, top)])
        expected.append([group, "", "", ""])
        top += 50
        for i, name in enumerate(("North", "South")):
            count = "=" if (group, i) == ("Region", 1) else f"2,8{i}2"
            words = [_word(name, 100, top)]
            if count == "=":
                words.append(_word(count, 487, top, width=12))
            else:
                words.append(_word(count, 480 - _width(count), top))
            words += [_word(f"({i + 4}.7)", 500, top), _word(f"1.{i}", 800, top)]
            rows.append(words)
            expected.append([name, count, f"({i + 4}.7)", f"1.{i}"])
            top += 50
    [table] = _tables_of(rows)
    # The first group's heading stands over the table; the mark goes to a column either
    # side of the white it stands in.
    assert table[:-1] == expected[1:-1]
    assert " ".join(" ".join(cell.split()) for cell in table[-1] if cell) == "South = (5.7) 1.1"


def test_a_long_label_run_up_to_its_figure_does_not_close_the_gutter() -> None:
    # The last row's label ends a space short of its figure, which stands centred in its
    # column as the others do: the label column stays apart from the figures.
    labels = ["Age", "Men", "East", "Rural", "Married", "Gross wealth of the home (Euro)"]
    rows = []
    for i, label in enumerate(labels):
        top = 100 + 50 * i
        mean, spread = f"0.{i}7", f"1{i}.5"
        rows.append(
            [
                *_row(top, [(100, label)]),
                _word(mean, 640 - _width(mean) // 2, top),
                _word(spread, 820 - _width(spread) // 2, top),
            ]
        )
    [table] = _tables_of(rows)
    assert table == [[label, f"0.{i}7", f"1{i}.5"] for i, label in enumerate(labels)]


def test_a_dash_within_a_label_of_figures_is_the_label_s_own() -> None:
    # "Q2 2006 — Q1 2010": a dash between a figure and a word is the label's, not a mark
    # standing for a figure, and the label stays one cell.
    labels = ["Q2 2006 — Q1 2010", "Q1 2009 — Q4 2009", "Q4 2009", "Q1 2010"]
    rows = [
        _figures_row(100 + 50 * i, label, (f"0.{i}3", f"0.{i}1"), (700, 850))
        for i, label in enumerate(labels)
    ]
    [table] = _tables_of(rows)
    assert [row[0] for row in table] == labels


def test_a_gutter_narrower_across_all_rows_is_one_row_by_row_not_an_indent() -> None:
    # A long name ends past where the widest figures of the next column start, each on a
    # row of its own: row by row there is an em of white, so the columns part there.
    rows = [
        [_word("District of Columbia", 100, 100, width=300), _word("3,031", 560, 100)],
        [_word("Texas", 100, 150), _word("12,345,678", 412, 150, width=148)],
        [_word("Utah", 100, 200), _word("31,280", 494, 200)],
    ]
    assert finding._gutters(rows, 36) == [(400, 412)]
    # Contents numbered by level, each level's numbers further in: the deeper numbers start
    # right of where the shallower ones end, on rows with nothing before them.
    entries = [
        [_word("6.8.10", 100, 100, width=74), _word("Optimale", 205, 100)],
        [_word("6.8.9.1", 191, 150), _word("Automatisch", 280, 150)],
        [_word("6.8.9.2", 191, 200), _word("Manuelle", 280, 200)],
    ]
    assert (174, 191) not in finding._gutters(entries, 36)


def test_a_header_of_several_wrapped_lines_over_narrow_columns_leaves_them_apart() -> None:
    # Between rules across, a header whose cells wrap over three lines, each line with a
    # phrase reaching over a gutter between the narrow columns of figures below: left out
    # of the gutters, it no longer merges those columns.
    header = [
        _row(100, [(100, "Region"), (430, "Weight relative to")]),
        _row(150, [(420, "Body weight relative")]),
        _row(200, [(580, "controls (per cent)")]),
    ]
    names = ["North", "South", "East", "West"]
    body = []
    for i, name in enumerate(names):
        words = _row(260 + 50 * i, [(100, name)])
        for right, value in zip((470, 630, 790), ("1,200", "96.5", "31"), strict=True):
            words.append(_word(value, right - _width(value), 260 + 50 * i))
        body.append(words)
    rules = Rules([(80, 90, 820), (470, 90, 820)], [])
    _, _, found = find_tables(_paragraphs([*header, *body]), rules, dpi=300)
    [table] = _texts(found)
    assert table[-4:] == [[name, "1,200", "96.5", "31"] for name in names]


def test_columns_within_a_ruled_group_are_cut_apart_at_the_gutter_they_share() -> None:
    # Rules part the label column from a group; inside the group, "Male" and "Female"
    # are columns of their own, parted by white only.
    header = [
        _row(100, [(100, "Age"), (540, "Population")]),
        _row(150, [(470, "Male"), (680, "Female")]),
    ]
    ages = ["0-4", "5-9", "10-14", "15-19"]
    body = []
    for i, age in enumerate(ages):
        words = _row(220 + 50 * i, [(100, age)])
        for right, value in zip((600, 790), (f"1,{i}00", f"2,{i}50"), strict=True):
            words.append(_word(value, right - _width(value), 220 + 50 * i))
        body.append(words)
    rules = Rules(
        [(80, 90, 820), (200, 90, 820), (440, 90, 820)],
        [(90, 80, 440), (400, 80, 440), (820, 80, 440)],
    )
    _, _, found = find_tables(_paragraphs([*header, *body]), rules, dpi=300)
    [table] = _texts(found)
    assert table[-4:] == [[age, f"1,{i}00", f"2,{i}50"] for i, age in enumerate(ages)]


def test_rows_ruled_only_round_are_read_in_the_columns_ruled_above_them() -> None:
    # Rules down the header only: each body row is one merged cell of the grid, but its
    # words sit in the columns, a gutter apart. A heading row that runs on across the
    # columns' edges, a word's space apart, stays one cell.
    header = _row(100, [(110, "Item"), (420, "Count"), (620, "Share")])
    heading = _row(200, [(256, "How often"), (418, "do you have"), (607, "these symptoms")])
    body = [
        _row(280 + 60 * i, [(110, name), (420, f"{i + 1}40"), (620, f"{i + 1}.5")])
        for i, name in enumerate(["Headache", "Fatigue", "Nausea"])
    ]
    ys = [80, 160, 260, 330, 390, 450]
    rules = Rules(
        [(y, 90, 820) for y in ys],
        [(90, 80, 450), (400, 80, 160), (600, 80, 160), (820, 80, 450)],
    )
    _, _, found = find_tables(_paragraphs([header, heading, *body]), rules, dpi=300)
    [table] = _texts(found)
    assert table == [
        ["Item", "Count", "Share"],
        ["How often do you have these symptoms", "", ""],
        ["Headache", "140", "1.5"],
        ["Fatigue", "240", "2.5"],
        ["Nausea", "340", "3.5"],
    ]


def test_lines_of_columns_merged_by_a_rule_drawn_across_others_only_are_rows() -> None:
    # Column groups ruled apart, rows not ruled; a rule over the last group's "Total" only
    # merges the other groups' cells across it, but their lines are rows all the same.
    header = _row(100, [(100, "Age"), (400, "Total"), (510, "Age"), (810, "Total")])
    body = []
    for i in range(5):
        top = 170 + 50 * i
        label, total = ("Total", "9,999") if i == 4 else (f"{i + 5}", f"1,{i}50")
        words = _row(top, [(100, f"{i}"), (510, label)])
        words += [_word(f"1,{i}00", 480 - _width(f"1,{i}00"), top)]
        words += [_word(total, 890 - _width(total), top)]
        body.append(words)
    rules = Rules(
        [(80, 90, 910), (150, 90, 910), (360, 500, 910), (410, 90, 910)],
        [(90, 80, 410), (500, 80, 410), (910, 80, 410)],
    )
    _, _, found = find_tables(_paragraphs([header, *body]), rules, dpi=300)
    [table] = _texts(found)
    assert table == [
        ["Age", "Total", "Age", "Total"],
        *([f"{i}", f"1,{i}00", f"{i + 5}", f"1,{i}50"] for i in range(4)),
        ["4", "1,400", "Total", "9,999"],
    ]


def test_group_headings_span_the_columns_ruled_under_them_and_part_no_gutter() -> None:
    # A table ruled only across: "Control" stands over "Public" and "Private", in the white
    # between them, and must not part their gutter into two. Each heading over a group of
    # columns spans the columns the rule under it is drawn over.
    def figures_row(top: int, cells: list[str]) -> list[Word]:
        return _figures_row(top, cells[0], cells[1:], (500, 700, 1050))

    head = [
        _row(100, [(430, "Number of teachers")]),
        _row(150, [(750, "Control")]),
        figures_row(200, ["Year", "Total", "Public", "Private"]),
    ]
    body = [
        figures_row(280 + 50 * i, [f"199{i}", f"3,0{i}1", f"2,6{i}7", f"38{i}"]) for i in range(5)
    ]
    # Each heading over a group of columns has a rule under it as wide as the group.
    rules = Rules(
        [(80, 90, 1100), (140, 400, 1060), (188, 600, 1060), (260, 90, 1100), (540, 90, 1100)],
        [],
    )
    _, _, found = find_tables(_paragraphs([*head, *body]), rules, dpi=300)
    [table] = _texts(found)
    assert table[-5:] == [[f"199{i}", f"3,0{i}1", f"2,6{i}7", f"38{i}"] for i in range(5)]
    assert table[-6] == ["Year", "Total", "Public", "Private"]
    assert found[0].grid is not None
    assert set(found[0].grid.spans) == {Span(0, 1, 1, 3), Span(1, 2, 1, 2)}


def test_a_header_s_cells_wrapped_over_lines_and_set_close_are_one_row() -> None:
    # Between rules across, each column's heading wraps over three lines, set flush right
    # over its figures and wider than them: on some lines two headings stand closer than a
    # gutter, a little more than a space apart. Each heading is one cell of one header row.
    def right_aligned(top: int, texts: list[str]) -> list[Word]:
        words = _row(top, [(100, texts[0])]) if texts[0] else []
        for right, text in zip((600, 880, 1170), texts[1:], strict=True):
            width = sum(_width(t) for t in text.split()) + 12 * (len(text.split()) - 1)
            words += _row(top, [(right - width, text)])
        return words

    head = [
        right_aligned(100, ["", "Percentage of", "National desired", "Weighted school"]),
        right_aligned(150, ["", "desired", "population overall", "participation rate"]),
        right_aligned(200, ["Area", "coverage", "exclusion rate", "before substitution"]),
    ]
    names = ["Alberta", "Ontario", "Quebec", "Florida"]
    body = [
        right_aligned(280 + 50 * i, [name, "100", f"{i + 4}", f"9{i}"])
        for i, name in enumerate(names)
    ]
    rules = Rules([(80, 90, 1200), (260, 90, 1200), (490, 90, 1200)], [])
    _, _, found = find_tables(_paragraphs([*head, *body]), rules, dpi=300)
    [table] = _texts(found)
    assert table == [
        [
            "Area",
            "Percentage of desired coverage",
            "National desired population overall exclusion rate",
            "Weighted school participation rate before substitution",
        ],
        *([name, "100", f"{i + 4}", f"9{i}"] for i, name in enumerate(names)),
    ]


def test_a_title_between_the_page_s_rule_and_the_table_is_a_paragraph_over_it() -> None:
    # The running head's rule above, the table's rules below, all as wide: the title set
    # between them is prose over the table, not lines of its header.
    title = [
        _row(100, [(100, "Table 5."), (300, "Among the graduates of 1993 with a degree, the")]),
        _row(140, [(300, "share who borrowed for their studies: 2003")]),
    ]
    header = _row(220, [(100, "Group"), (560, "Neither"), (860, "Both")])
    names = ["Public", "Private", "Other", "Total"]
    body = [
        _row(280 + 50 * i, [(100, name), (600, f"3{i}.4"), (900, f"2{i}.7")])
        for i, name in enumerate(names)
    ]
    rules = Rules([(80, 90, 1000), (200, 90, 1000), (265, 90, 1000), (480, 90, 1000)], [])
    rest, _, found = find_tables(_paragraphs([*title, header, *body]), rules, dpi=300)
    [table] = _texts(found)
    assert table == [
        ["Group", "Neither", "Both"],
        *([name, f"3{i}.4", f"2{i}.7"] for i, name in enumerate(names)),
    ]
    assert "Among the graduates" in " ".join(w.text for p in rest for w in p.words)


def test_a_heading_of_a_group_of_rows_reaching_over_a_column_is_a_row_of_its_own() -> None:
    # Between rules across, "Highest degree earned by the year 2003" heads the rows below
    # it and runs on over the first column of figures: it is a row spanning the columns
    # it reaches, and the label column stays apart from the figures.
    def figures_row(top: int, name: str, values: tuple[str, str]) -> list[Word]:
        return _figures_row(top, name, values, (600, 800))

    header = figures_row(100, "Group", ("Neither", "Both"))
    rows = [
        figures_row(180, "Total", ("31.4", "27.2")),
        _row(230, [(100, "Highest degree earned by the year 2003")]),
        figures_row(280, "Bachelor", ("35.5", "21.7")),
        figures_row(330, "Master", ("31.8", "27.9")),
        figures_row(380, "Doctor", ("23.7", "33.3")),
    ]
    rules = Rules([(80, 90, 820), (150, 90, 820), (430, 90, 820)], [])
    _, _, found = find_tables(_paragraphs([header, *rows]), rules, dpi=300)
    [table] = _texts(found)
    assert table == [
        ["Group", "Neither", "Both"],
        ["Total", "31.4", "27.2"],
        ["Highest degree earned by the year 2003", "", ""],
        ["Bachelor", "35.5", "21.7"],
        ["Master", "31.8", "27.9"],
        ["Doctor", "23.7", "33.3"],
    ]
    assert found[0].grid is not None
    assert found[0].grid.spans == (Span(2, 0, 1, 2),)


def test_a_double_rule_makes_no_empty_column_or_row() -> None:
    # Two rules a few pixels apart, down between the columns and across under the header:
    # the sliver between each pair is no column or row of the table.
    names = ["UK", "Belgium", "France"]
    rows = [_row(100, [(100, "State"), (500, "1997")])]
    rows += [_row(190 + 60 * i, [(100, name), (500, f"2{i}.9")]) for i, name in enumerate(names)]
    ys = [80, 140, 160, 240, 300, 360]
    rules = Rules(
        [(y, 90, 820) for y in ys],
        [(90, 80, 360), (400, 80, 360), (430, 80, 360), (820, 80, 360)],
    )
    _, _, found = find_tables(_paragraphs(rows), rules, dpi=300)
    [table] = _texts(found)
    assert table == [["State", "1997"], *([name, f"2{i}.9"] for i, name in enumerate(names))]


def test_a_rule_read_as_a_bracket_beside_or_inside_a_word_is_cut_away() -> None:
    # The rule's place is its analysis pixel's: a "]" read from it ends the word a few
    # pixels short of it. A word read across it is cut only inside a table, which takes
    # both parts: in prose, the word stays whole.
    rules = Rules([], [(2715, 400, 1300), (1161, 400, 1300)])
    beside = _word("628,177]", 2542, 713, width=164, height=29)
    across = _word("2,218,406]1,180,160", 1000, 823, width=330, height=29)
    apart = _word("x[1]", 2600, 900, width=60, height=29)  # 55 px from the rule: its own
    kept = finding._without_rule_glyphs([beside, across, apart], rules, 4)
    assert [w.text for w in kept] == ["628,177", "2,218,406]1,180,160", "x[1]"]
    rows = [
        _row(120 + 50 * i, [(110, name), (420, f"{i},100]{i},200"), (620, "ok")])
        for i, name in enumerate(["North", "South", "East"])
    ]
    grid = Rules(
        [(y, 90, 820) for y in (90, 160, 210, 270)],
        [(x, 90, 270) for x in (90, 400, 560, 820)],
    )
    for row in rows:  # the figures' word reaches over the rule at 560
        row[1].box = Box(420, row[1].box.top, 700, row[1].box.bottom)
        row[2].box = Box(720, row[2].box.top, 760, row[2].box.bottom)
    _, _, found = find_tables(_paragraphs(rows), grid, dpi=300)
    [table] = _texts(found)
    assert table == [
        [n, f"{i},100", f"{i},200 ok"] for i, n in enumerate(["North", "South", "East"])
    ]


def test_a_rule_read_with_the_strokes_where_it_meets_another_is_cut_away() -> None:
    # At a grid's corners Tesseract reads the vertical rule with the horizontal one it
    # meets: "_|", "—}", "{" glued to a cell's first word, or a word of nothing else. A
    # minus sign next to a rule is the figure's own.
    rules = Rules([], [(400, 0, 2000), (700, 0, 2000)])
    words = [
        _word("_}03/25/2016", 392, 100, width=230, height=33),
        _word("{07/01/2015", 396, 200, width=220, height=33),
        _word("—_|Maxim", 380, 300, width=170, height=33),
        _word("}08/29/2015", 398, 400, width=215, height=33),
        _word("_|", 390, 500, width=22, height=33),
        _word("-1.00", 404, 600, width=80, height=33),
        _word("2015]", 600, 700, width=97, height=33),
        _word("2016|_", 600, 800, width=110, height=33),
    ]
    kept = finding._without_rule_glyphs(words, rules, 12)
    assert [w.text for w in kept] == [
        "03/25/2016",
        "07/01/2015",
        "Maxim",
        "08/29/2015",
        "-1.00",
        "2015",
        "2016",
    ]


def test_a_bar_read_from_a_rule_across_a_justified_gap_is_cut_away() -> None:
    # A justified cell's last word stops short of the rule, and Tesseract's box of "to|"
    # covers "to" only: the bar is the rule, 20 px (under a height) past the box. A
    # bracket that far from the rule is the word's own.
    rules = Rules([], [(1287, 1700, 2000)])
    bar_end = _word("to|", 1235, 1855, width=32, height=26)
    bar_start = _word("|and", 1311, 1897, width=65, height=30)
    bracket = _word("[12]", 1200, 1940, width=67, height=30)
    far_bar = _word("or|", 1200, 1980, width=40, height=12)  # 47 px: beyond its height
    kept = finding._without_rule_glyphs([bar_end, bar_start, bracket, far_bar], rules, 12)
    assert [w.text for w in kept] == ["to", "and", "[12]", "or|"]


def test_rows_of_a_ruled_row_set_apart_by_blank_lines_are_rows() -> None:
    # A ruled row holding two rows of cells of several lines each, a blank line between
    # them: each is a row. A row whose two cells both wrap has no blank line: one row.
    def cell_lines(top: int, label: str, text: list[str]) -> list[list[Word]]:
        lines = [_row(top, [(110, label), (420, text[0])])]
        lines += [_row(top + 40 * (k + 1), [(420, t)]) for k, t in enumerate(text[1:])]
        return lines

    mobile = [
        *cell_lines(100, "On-road", ["Emissions from motor", "vehicles on public", "roads"]),
        *cell_lines(300, "Non-road", ["Emissions from engines", "operated off public", "roads"]),
    ]
    wrapped = [_row(600, [(110, "New York"), (420, "Borough of Manhattan")])]
    wrapped.append(_row(640, [(110, "City"), (420, "and the Bronx")]))
    rules = Rules(
        [(80, 90, 820), (500, 90, 820), (700, 90, 820)],
        [(90, 80, 700), (400, 80, 700), (820, 80, 700)],
    )
    _, _, found = find_tables(_paragraphs([*mobile, *wrapped]), rules, dpi=300)
    [table] = _texts(found)
    assert [row[0] for row in table] == ["On-road", "Non-road", "New York City"]


def test_a_cells_continuation_line_joins_its_row() -> None:
    rows = [
        _row(100, [(100, "Item"), (600, "Note"), (1100, "Cost")]),
        _row(160, [(100, "Boilers"), (600, "Two failed in"), (1100, "400")]),
        _row(196, [(600, "the cold spell")]),
        _row(256, [(100, "Roofing"), (600, "Storm damage"), (1100, "1,250")]),
        _row(316, [(100, "Lighting"), (600, "New fittings"), (1100, "90")]),
    ]
    [table] = _tables_of(rows)
    assert table[1] == ["Boilers", "Two failed in the cold spell", "400"]
    assert len(table) == 4


def test_a_line_with_its_own_amount_is_a_row_even_with_its_first_cell_empty() -> None:
    # A statement that gives each day's date once: a line with an amount under a row with
    # one is the day's next entry, not the row's second line (an amount does not wrap).
    rows = [
        _row(100, [(100, "Date"), (400, "Payee"), (1100, "Amount")]),
        _row(160, [(100, "3 May"), (400, "City Water Board"), (1100, "41.20")]),
        _row(210, [(400, "Northern Rail"), (1100, "12.90")]),
        _row(260, [(400, "Corner Bakery"), (1100, "3.75")]),
        _row(320, [(100, "4 May"), (400, "Library fines"), (1100, "1.40")]),
        _row(380, [(100, "6 May"), (400, "Garden centre"), (1100, "27.00")]),
    ]
    [table] = _tables_of(rows)
    assert [row[2] for row in table] == ["Amount", "41.20", "12.90", "3.75", "1.40", "27.00"]
    assert table[2] == ["", "Northern Rail", "12.90"]


def test_contents_are_lines_of_number_title_and_page_in_that_order() -> None:
    # Sub-entries indented into the titles' column, a page number misread ("715" for 75):
    # not a table, and not a column of numbers read apart from the titles either.
    rows = [
        _row(100, [(100, "6.2"), (250, "Package descriptions"), (1300, "67")]),
        _row(150, [(250, "6.2.1 The synopsis"), (1300, "67")]),
        _row(200, [(250, "6.2.2 The long description"), (1300, "68")]),
        _row(250, [(100, "6.3"), (250, "Changelog practice"), (1300, "70")]),
        _row(300, [(250, "6.3.1 Useful entries"), (1300, "715")]),
        _row(350, [(250, "6.3.2 Urgency"), (1300, "76")]),
        _row(400, [(100, "6.4"), (250, "Security"), (1300, "77")]),
        _row(450, [(250, "6.4.1 Scripts"), (1300, "77")]),
        _row(500, [(250, "6.4.2 Templates"), (1300, "78")]),
        _row(550, [(100, "6.5"), (250, "Configuration"), (1300, "80")]),
    ]
    # As a layout would hand them over: the numbers one paragraph, the rest another.
    numbers = [Line([w]) for row in rows for w in row[:1] if w.box.left == 100]
    rest = [Line([w for w in row if w.box.left > 100]) for row in rows]
    paragraphs, _, found = find_tables(
        [Paragraph(numbers), Paragraph(rest)], Rules([], []), dpi=300
    )
    assert found == []
    assert [line.text for p in paragraphs for line in p.lines] == [
        "6.2 Package descriptions 67",
        "6.2.1 The synopsis 67",
        "6.2.2 The long description 68",
        "6.3 Changelog practice 70",
        "6.3.1 Useful entries 715",
        "6.3.2 Urgency 76",
        "6.4 Security 77",
        "6.4.1 Scripts 77",
        "6.4.2 Templates 78",
        "6.5 Configuration 80",
    ]


def test_contents_with_leaders_are_no_table_though_a_page_number_is_misread() -> None:
    # A lone "1" after a leader read as "i": the page numbers no longer only go up, the
    # leaders still tell a table of contents.
    entries = [("1", "Introduction", "i"), ("1.1", "Scope", "4"), ("1.2", "Sources", "5")]
    entries += [("2", "Methods", "7"), ("2.1", "Sampling", "9"), ("2.2", "Weighting", "12")]
    rows = [
        _row(100 + 50 * i, [(100, number), (250, f"{title} {' '.join('.' * 12)}"), (1300, page)])
        for i, (number, title, page) in enumerate(entries)
    ]
    assert _tables_of(rows) == []


def test_contents_keep_their_title_apart_and_each_entry_on_a_line() -> None:
    rows = [
        _row(50, [(100, "Contents")]),
        *(
            _row(100 + 50 * i, [(100, str(i + 1)), (250, title), (1300, str(page))])
            for i, (title, page) in enumerate(
                [("Introduction", 1), ("Loading the package", 1), ("Options", 2), ("Usage", 3)]
            )
        ),
    ]
    paragraphs, _, found = find_tables(
        [Paragraph([Line(row) for row in rows])], Rules([], []), dpi=300
    )
    assert found == []
    assert [[line.text for line in p.lines] for p in paragraphs] == [
        ["Contents"],
        ["1 Introduction 1"],
        ["2 Loading the package 1"],
        ["3 Options 2"],
        ["4 Usage 3"],
    ]


def test_two_columns_of_prose_and_a_hanging_list_are_not_tables() -> None:
    prose = "the council met to review the accounts of the year and agree a budget"
    columns = [
        _row(100 + 45 * i, [(100, prose[i : i + 40]), (1000, prose[i + 5 : i + 45])])
        for i in range(8)
    ]
    assert _tables_of(columns) == []
    numbered = [
        _row(100 + 45 * i, [(100, f"{i + 1}."), (200, f"Open valve {i} slowly")]) for i in range(5)
    ]
    assert _tables_of(numbered) == []


def test_terms_beside_their_meanings_are_a_table() -> None:
    # A manual's list of a parameter's attributes or a language's operators: a word or
    # two of each term, its meaning on the line beside it, nothing between rules.
    entries = [
        ("integer", "Only integer numeric values"),
        ("binary", "Either 0 or 1"),
        ("symbolic", "Any numeric and symbolic values"),
        ("<= v", "check for x at most v"),
    ]
    rows = [_row(100 + 50 * i, [(300, t), (800, m)]) for i, (t, m) in enumerate(entries)]
    assert _tables_of(rows) == [[list(entry) for entry in entries]]
    # Two columns of single words (names side by side) tell no terms from meanings; a
    # term beside a paragraph of several lines is a side head.
    names = [
        _row(100 + 50 * i, [(300, a), (800, b)])
        for i, (a, b) in enumerate(
            [("Ada", "Brian"), ("Carl", "Dora"), ("Emil", "Fay"), ("Gus", "Hal")]
        )
    ]
    assert _tables_of(names) == []
    side_head = [
        _row(100, [(300, "Options"), (800, "the options that the command takes")]),
        _row(150, [(800, "are read from left to right and")]),
        _row(200, [(800, "a later one wins over an earlier")]),
        _row(250, [(800, "one of the same name")]),
    ]
    assert _tables_of(side_head) == []
    # A table's notes under it: labels run in to their lines.
    notes = [
        _row(100, [(300, "GDP:"), (800, "Gross domestic product at market prices.")]),
        _row(150, [(300, "(*)"), (800, "Forecast by the services of the Commission.")]),
        _row(200, [(300, "Source:"), (800, "Eurostat, European system of accounts.")]),
    ]
    assert _tables_of(notes) == []


def test_columns_of_macro_names_are_a_table_not_code_aligned_by_spaces() -> None:
    # A table set in two halves side by side, each of a name, its macro and a symbol.
    units = [
        ("hertz", "\\hertz", "Hz", "sievert", "\\sievert", "Sv"),
        ("henry", "\\henry", "H", "steradian", "\\steradian", "sr"),
        ("joule", "\\joule", "J", "tesla", "\\tesla", "T"),
        ("lumen", "\\lumen", "lm", "volt", "\\volt", "V"),
    ]
    lefts = (100, 400, 800, 1000, 1300, 1700)
    rows = [_row(100 + 50 * i, list(zip(lefts, unit, strict=True))) for i, unit in enumerate(units)]
    assert _tables_of(rows) == [[list(unit) for unit in units]]
    # Definitions aligned by spaces are code: their macros come with braces.
    code = [
        ("\\def\\ka{1}", "\\def\\kb{2}", "\\def\\kc{3}"),
        ("\\def\\la{4}", "\\def\\lb{5}", "\\def\\lc{6}"),
        ("\\def\\ma{7}", "\\def\\mb{8}", "\\def\\mc{9}"),
    ]
    lefts = (100, 700, 1300)
    rows = [_row(100 + 50 * i, list(zip(lefts, line, strict=True))) for i, line in enumerate(code)]
    assert _tables_of(rows) == []


def test_lines_sharing_no_gutter_are_not_a_table() -> None:
    rows = [
        _row(100, [(100, "A short"), (500, "line")]),
        _row(145, [(100, "and another one that runs right across")]),
        _row(190, [(100, "A short"), (500, "line")]),
    ]
    assert _tables_of(rows) == []


def test_rule_glyphs_lying_on_rules_are_dropped() -> None:
    # A 2 x 2 grid, rules 4 px thick, with "|" read on its middle rule and "_" on its lowest.
    grid_rules = Rules(
        horizontal=[(100, 100, 900), (200, 100, 900), (300, 100, 900)],
        vertical=[(100, 100, 300), (500, 100, 300), (900, 100, 300)],
    )
    words = [
        _word("Name", 120, 130),
        _word("|", 496, 130, width=8),
        _word("Value|", 520, 130, width=108),
        _word("Ada", 120, 230),
        _word("12", 520, 230),
        _word("_", 300, 297, height=6),
    ]
    paragraphs, _, [table] = find_tables([Paragraph([Line(words)])], grid_rules, dpi=300)
    assert [[cell_text(c) for c in row] for row in table.cells] == [
        ["Name", "Value|"],
        ["Ada", "12"],
    ]
    assert paragraphs == []


def test_a_hairline_rule_survives_analysis_wherever_it_falls() -> None:
    image = Image.new("L", (2550, 3300), 255)
    draw = ImageDraw.Draw(image)
    # One-pixel rules on the second pixel of each three-pixel block: averaging makes them
    # a light grey; the darkest pixel keeps them black.
    for y in (601, 700, 802, 904):
        draw.line((301, y, 1801, y), fill=0, width=1)
    for x in (301, 802, 1801):
        draw.line((x, 601, x, 904), fill=0, width=1)
    gray, factor = coarse(image, 300)
    assert find_grids(gray, factor) == []
    [grid] = find_grids(*darkest(image, 300))
    assert len(grid.rows) == 4 and len(grid.columns) == 3
    assert abs(grid.box.left - 301) <= 3 and abs(grid.box.bottom - 904) <= 3


@pytest.mark.parametrize("x", [300, 301, 302])
def test_a_rule_s_own_pixels_are_found_and_not_the_glyphs_beside_it(x: int) -> None:
    # A frame's rule, its line numbers 8 px to its left and its code 12 px to its right:
    # what is blanked as the rule is the rule, with its grey edges, and none of the glyphs.
    image = Image.new("L", (2550, 3300), 255)
    draw = ImageDraw.Draw(image)
    draw.rectangle((x - 1, 600, x + 1, 1400), fill=0)  # 3 px wide, anti-aliased edges
    draw.line((x - 2, 600, x - 2, 1400), fill=170)
    draw.line((x + 2, 600, x + 2, 1400), fill=170)
    draw.line((x, 600, 1800, 600), fill=0, width=2)
    for y in range(650, 1400, 60):
        draw.rectangle((x - 20, y, x - 10, y + 20), fill=0)  # a number
        draw.rectangle((x + 12, y, x + 40, y + 30), fill=0)  # the code's first glyph
    rules = find_rules(*darkest(image, 300))
    boxes = rule_ink(regions.gray_array(image), rules, 3.0)
    [upright] = [b for b in boxes if b.height > b.width]
    assert upright.left <= x - 2 and upright.right >= x + 3
    assert upright.left > x - 10 and upright.right <= x + 12
    assert upright.top <= 600 and upright.bottom >= 1400
    [across] = [b for b in boxes if b.width > b.height]
    assert across.top <= 600 and across.bottom >= 602 and across.height < 10
    cleaned = without(regions.gray_array(image), boxes)
    assert cleaned[1015, x] == 255 and cleaned[1015, x - 12] == 0 and cleaned[1015, x + 12] == 0


def test_a_rule_that_stops_short_merges_the_cells_it_would_divide() -> None:
    # Three columns; the header's middle rule is missing, so its first two cells are one.
    rules = Rules(
        horizontal=[(100, 100, 900), (200, 100, 900), (300, 100, 900)],
        vertical=[(100, 100, 300), (400, 200, 300), (700, 100, 300), (900, 100, 300)],
    )
    [grid] = grids(rules, touch=12)
    assert grid.columns == (100, 400, 700, 900)
    assert grid.spans == (Span(0, 0, 1, 2),)


def test_rules_between_columns_and_rows_with_no_frame_make_a_grid() -> None:
    # Rules across at every row, one rule down between the two columns, none down the sides.
    across = [(y, 100, 900) for y in (100, 160, 220, 280)]
    [grid] = grids(Rules(horizontal=across, vertical=[(400, 100, 280)]), touch=12)
    assert grid.columns == (100, 400, 900)
    assert grid.rows == (100, 160, 220, 280)
    # A rule between two columns of a page, from its header rule to its footer rule, draws
    # no table; nor does one down a side of rules across (a box open on its other side).
    page = Rules(horizontal=[(100, 100, 900), (3000, 100, 900)], vertical=[(500, 100, 3000)])
    assert grids(page, touch=12) == []
    side = Rules(horizontal=across, vertical=[(100, 100, 280)])
    assert grids(side, touch=12) == []


def test_merged_cells_in_html_and_markdown_and_the_model_round_trip() -> None:
    cells: list[list[list[Word]]] = [
        [[_word("Sales", 0, 0)], [], [_word("a|b", 600, 0)]],
        [[_word("1", 0, 50)], [_word("2", 300, 50)], [_word("3", 600, 50)]],
    ]
    block = Block(TABLE, Box(0, 0, 900, 100), cells=cells, spans=[Span(0, 0, 1, 2)])
    assert table_content(block, "html") == (
        '<table><tr><td colspan="2">Sales</td><td>a|b</td></tr>'
        "<tr><td>1</td><td>2</td><td>3</td></tr></table>"
    )
    assert table_content(block, "markdown") == "| Sales |  | a\\|b |\n|---|---|---|\n| 1 | 2 | 3 |"
    page = Page(0, 1000, 1000, 300, "ocr", "eng", blocks=[block])
    assert Page.from_dict(page.to_dict()).blocks[0].spans == [Span(0, 0, 1, 2)]
    stored = page.to_dict()
    del stored["blocks"][0]["spans"]  # as pages stored before spans were kept
    assert Page.from_dict(stored).blocks[0].spans == []


def test_two_columns_of_short_lines_far_below_a_line_are_not_a_table() -> None:
    # A list's last item, a figure's height below it two columns of short lines of prose.
    rows = [_row(100, [(100, "Cut waste by half")])]
    left = ["The left column starts", "here and keeps going", "for several lines", "until"]
    right = ["The right column follows", "after the left one", "and closes the page.", ""]
    rows += [
        _row(900 + 45 * i, [(100, a), (1000, b)])
        for i, (a, b) in enumerate(zip(left, right, strict=True))
    ]
    assert _tables_of(rows) == []


def test_a_column_without_rules_across_keeps_one_line_per_row() -> None:
    # The rules across start at the second column: the first column's labels, one to a
    # row, are no merged cell.
    rules = Rules(
        horizontal=[(100, 100, 900), *((y, 400, 900) for y in (200, 300, 400)), (500, 100, 900)],
        vertical=[(100, 100, 500), (400, 100, 500), (900, 100, 500)],
    )
    labels = ["Salaries", "Travel", "Rent", "Total"]
    words = [_word(label, 120, 130 + 100 * i) for i, label in enumerate(labels)]
    words += [_word(str(100 * (i + 1)), 420, 130 + 100 * i) for i in range(4)]
    _, _, [table] = find_tables([Paragraph([Line(words)])], rules, dpi=300)
    assert [[cell_text(c) for c in row] for row in table.cells] == [
        [label, str(100 * (i + 1))] for i, label in enumerate(labels)
    ]
    assert table.grid is not None and table.grid.spans == ()


def test_a_table_in_one_column_of_a_two_column_page_leaves_the_other_column_alone() -> None:
    prose = " ".join(LEAD).split()
    right = [_row(80 + 42 * i, [(1300, " ".join(prose[5 * i : 5 * i + 5]))]) for i in range(16)]
    above = [_row(80 + 42 * i, [(100, " ".join(prose[40 + 5 * i : 45 + 5 * i]))]) for i in range(4)]
    figures = [("Town", "Units", "Share"), ("Ayr", "1,200", "12%"), ("Troon", "950", "8%")]
    figures += [("Irvine", "1,730", "15%")]
    table = [
        _row(300 + 50 * i, [(100, a), (500, b), (800, c)]) for i, (a, b, c) in enumerate(figures)
    ]
    rows = [*right, *above, *table]
    assert _tables_of(rows) == [[list(row) for row in figures]]


def test_columns_ruled_only_down_are_read_across_their_rules() -> None:
    # Rules down between the columns and none across: no grid, and the rules read as "|"
    # would close the gutters if they stayed.
    figures = [("Town", "Units", "Share"), ("Ayr", "1,200", "12%"), ("Troon", "950", "8%")]
    figures += [("Irvine", "1,730", "15%")]
    rows = []
    for i, (a, b, c) in enumerate(figures):
        top = 100 + 50 * i
        rows.append(
            [
                *_row(top, [(100, a), (500, b), (800, c)]),
                _word("|", 448, top, width=4),
                _word("|", 748, top, width=4),
            ]
        )
    rules = Rules(horizontal=[], vertical=[(450, 90, 300), (750, 90, 300)])
    paragraphs, _, [table] = find_tables(_paragraphs(rows), rules, dpi=300)
    assert [[cell_text(c) for c in row] for row in table.cells] == [list(r) for r in figures]
    assert paragraphs == []


def two_column_page(path: Path, rows: Rows) -> Path:
    """Prose in two columns, a table of `rows` with no rules in the left one."""
    words = " ".join(LEAD * 3).split()
    lines = [" ".join(words[i * 5 : (i + 1) * 5]) for i in range(40)]
    pdf = canvas.Canvas(str(path), pagesize=letter)
    pdf.setFont("Vera", FONT_SIZE)
    for i in range(30):
        pdf.drawString(320, 700 - i * 14, lines[i])
    for i in range(6):
        pdf.drawString(72, 700 - i * 14, lines[10 + i])
    for r, row in enumerate(rows):
        for c, text in enumerate(row):
            pdf.drawString(72 + c * 70, 600 - r * 16, text)
    for i in range(8):
        pdf.drawString(72, 500 - i * 14, lines[20 + i])
    pdf.showPage()
    pdf.save()
    return path


@pytest.mark.ocr
@pytest.mark.parametrize("scan", [True, False])
def test_a_table_in_one_column_of_a_two_column_page(
    tmp_path: Path, recognizer: TesserocrRecognizer, scan: bool
) -> None:
    rows = [["Town", "Units", "Share"], ["Ayr", "1,200", "12%"], ["Troon", "950", "8%"]]
    rows += [["Irvine", "1,730", "15%"], ["Largs", "410", "3%"]]
    page = read(two_column_page(tmp_path / "columns.pdf", rows), recognizer, scan=scan)
    [table] = tables(page)
    assert cell_texts(table) == rows


@pytest.mark.ocr
@pytest.mark.parametrize("scan", [True, False])
def test_a_header_spanning_columns_of_a_table_ruled_only_across(
    tmp_path: Path, recognizer: TesserocrRecognizer, scan: bool
) -> None:
    rows = [
        ["Region", "Sales in both years", "", "Staff"],
        ["", "2022", "2023", ""],
        ["North", "1200", "1350", "31"],
        ["South", "950", "990", "24"],
        ["East", "1730", "1800", "40"],
    ]
    pdf = table_page(tmp_path / "grouped.pdf", rows, rules="booktabs")
    page = read(pdf, recognizer, scan=scan)
    [table] = tables(page)
    assert cell_texts(table) == rows
    assert table.spans == [Span(0, 1, 1, 2)]


def test_a_grey_hairline_grid_is_found() -> None:
    # Mid-grey rules two pixels wide: averaged over three they are lighter than ink.
    image = Image.new("L", (2550, 3300), 255)
    draw = ImageDraw.Draw(image)
    for y in (601, 700, 802):
        draw.line((300, y, 1800, y), fill=130, width=2)
    for x in (301, 1000, 1802):
        draw.line((x, 600, x, 800), fill=130, width=2)
    assert find_grids(*coarse(image, 300)) == []
    [grid] = find_grids(*darkest(image, 300))
    assert len(grid.rows) == 3 and len(grid.columns) == 3


@pytest.mark.ocr
@pytest.mark.parametrize("name", ["two_column-1", "two_column-2"])
def test_prose_columns_whose_every_row_ends_a_paragraph_are_read_not_failed(
    name: str, recognizer: TesserocrRecognizer
) -> None:
    # Every candidate row trimmed as the end of a paragraph left no rows to look at.
    scan = Path(__file__).resolve().parent.parent / "tools" / "eval-corpus" / f"{name}.pdf"
    options = PageOptions()
    task = PageTask(str(scan), "pdf", None, 0, "eng", 300, 100_000_000, 120, options)
    page = recognize_page(task, recognizer)
    assert not tables(page)
    assert len(_text_of(page)) > 1000


def test_head_and_foot_rules_and_title_bars_do_not_make_a_page_one_table() -> None:
    # A DocBook title page: rules under the running head and over the foot, boxed tables,
    # each under a title bar of two rules (whose sides, too short for rules, read as "|"),
    # one of them with only its header row filled.
    rules = Rules(
        horizontal=[
            (60, 90, 2310),  # under the running head
            (300, 100, 2300),  # title bar
            (360, 100, 2300),
            *((y, 100, 2300) for y in (400, 500, 600)),  # a filled table
            (800, 100, 2300),  # title bar
            (860, 100, 2300),
            *((y, 100, 2300) for y in (900, 960, 1100)),  # a table with no rows yet
            (3200, 90, 2310),  # over the foot
        ],
        vertical=[
            *((x, 400, 600) for x in (100, 700, 1300, 2300)),
            *((x, 900, 1100) for x in (100, 700, 1300, 2300)),
        ],
    )
    rows = [
        [
            _word("|", 104, 315, width=6),
            *_row(315, [(1320, "COLLABORATORS")]),
            _word("|", 2290, 315, width=6),
        ],
        _row(430, [(120, "ACTION"), (720, "NAME"), (1320, "DATE")]),
        _row(530, [(120, "WRITTEN BY"), (720, "Josip Rodin"), (1320, "October 8")]),
        [
            _word("|", 104, 815, width=6),
            *_row(815, [(1320, "REVISION HISTORY")]),
            _word("|", 2290, 815, width=6),
        ],
        _row(915, [(120, "NUMBER"), (720, "DATE"), (1320, "DESCRIPTION")]),
    ]
    paragraphs, _, found = find_tables(_paragraphs(rows), rules, dpi=300)
    assert [[[cell_text(c) for c in row] for row in t.cells] for t in found] == [
        [["ACTION", "NAME", "DATE"], ["WRITTEN BY", "Josip Rodin", "October 8"]]
    ]
    left = " ".join(w.text for p in paragraphs for w in p.words)
    assert left == "| COLLABORATORS | | REVISION HISTORY | NUMBER DATE DESCRIPTION"


def test_a_column_of_macro_names_in_a_table_ruled_across_stays_in_its_rows() -> None:
    # booktabs: rules over and under the head and under the last row; the first column set
    # in a fixed-pitch font, so taken for code before the tables are looked for.
    entries = [
        ("\\prefacename", "Preface", "Vorwort"),
        ("\\abstractname", "Abstract", "Zusammenfassung"),
        ("\\chaptername", "Chapter", "Kapitel"),
        ("\\indexname", "Index", "Index"),
    ]
    head = _row(110, [(100, "Makroname"), (600, "Original"), (1100, "deutsch")])
    rows = [_row(200 + 50 * i, [(600, b), (1100, c)]) for i, (_, b, c) in enumerate(entries)]
    code = [
        Paragraph([Line(_row(200 + 50 * i, [(100, a)])) for i, (a, _, _) in enumerate(entries)])
    ]
    for word in code[0].words:
        word.monospace = True
    rules = Rules(horizontal=[(90, 90, 1500), (160, 90, 1500), (400, 90, 1500)], vertical=[])
    paragraphs, left_code, [table] = find_tables(
        _paragraphs([head, *rows]), rules, dpi=300, code=code, layer=True
    )
    assert [[cell_text(c) for c in row] for row in table.cells] == [
        ["Makroname", "Original", "deutsch"],
        *([a, b, c] for a, b, c in entries),
    ]
    assert paragraphs == [] and left_code == []


def test_code_aligned_by_spaces_with_its_comments_is_not_a_table() -> None:
    # Assignments in a proportional font, their comments aligned in a column at the right.
    lines = [("width = 80", "# columns"), ("height = 25", "# rows"), ("depth = 3", "# layers")]
    rows = [_row(100 + 50 * i, [(100, a), (700, b)]) for i, (a, b) in enumerate(lines)]
    rules = Rules(horizontal=[(80, 90, 1200), (260, 90, 1200)], vertical=[])
    _, _, found = find_tables(_paragraphs(rows), rules, dpi=300)
    assert found == []


def test_terms_and_their_meanings_between_two_rules_are_a_table() -> None:
    # A babel manual's shorthands: each sign beside a meaning of a line, most of them words
    # enough for prose, one of them with a sign of code; a rule over and under.
    entries = [
        ('"c "C', "the cedilla under the letter c"),
        ('"rr "RR', "rr, but -r where the word is divided"),
        ('"y', "the old sign for the word and"),
        ('"-', "like \\-, but more divisions allowed"),
        ('"=', "like -, but more divisions allowed too"),
        ("<< >>", "the same as the one above"),
        ('"< ">', "\\begin{quoting} and \\end{quoting}"),
    ]
    rows = [_row(100 + 50 * i, [(100, a), (400, b)]) for i, (a, b) in enumerate(entries)]
    rules = Rules(horizontal=[(80, 90, 1400), (470, 90, 1400)], vertical=[])
    paragraphs, _, [table] = find_tables(_paragraphs(rows), rules, dpi=300)
    assert [[cell_text(c) for c in row] for row in table.cells] == [[a, b] for a, b in entries]
    assert paragraphs == []


def test_a_side_head_beside_its_paragraph_between_two_rules_is_no_table() -> None:
    lines = _prose_words(6, 6)
    rows = [_row(100, [(100, "Note"), (400, lines[0])])]
    rows += [_row(150 + 50 * i, [(400, line)]) for i, line in enumerate(lines[1:])]
    rules = Rules(horizontal=[(80, 90, 1400), (420, 90, 1400)], vertical=[])
    _, _, found = find_tables(_paragraphs(rows), rules, dpi=300)
    assert found == []


def test_the_last_lines_of_three_columns_over_a_slug_are_no_table() -> None:
    # A Federal Register page: a running head and a printer's slug run across its three
    # columns, so no gap ran down the whole page and the page was searched as one column.
    # The columns' last two lines (short ones, four words) and a table's title under them
    # then read as a table of three columns.
    prose = [
        "the FAA proposes to supersede the directive",
        "which applies to all of the airplanes",
        "since it was issued the agency has found",
        "that final corrective action is necessary",
        "to address the unsafe condition on these",
    ]
    head = _row(100, [(100, "47702"), (500, "Federal Register / Vol. 85 / August 6, 2020")])
    rows = [head]
    for i, text in enumerate(prose):
        rows.append(_row(200 + 45 * i, [(100, text), (900, text), (1700, text)]))
    rows.append(_row(425, [(1700, "Costs of Compliance")]))  # a heading in one column
    rows.append(
        _row(
            470,
            [
                (100, "doing a software installation"),
                (900, "training and the draft"),
                (1700, "the agency estimates the following"),
            ],
        )
    )
    rows.append(
        _row(
            515,
            [
                (100, "verification and removing INOP"),
                (900, "Boeing 737 Flight Standardization"),
                (1700, "costs to comply with this AD:"),
            ],
        )
    )
    rows.append(_row(570, [(1000, "ESTIMATED COSTS")]))
    slug = "VerDate Sep<11>2014 16:21 Aug 05, 2020 Jkt 250001 PO 00000"
    rows.append(_row(3000, [(100, slug), (1100, "Frm 00005 Fmt 4702 Sfmt 4702 E:/FR/FM/06AUP1")]))
    assert _tables_of(rows) == []


def test_a_box_set_just_above_a_grid_is_no_part_of_it() -> None:
    # A box of two halves over a table 18 px below it: the box's middle rule runs a little
    # past the box's bottom rule, to within a touch of the table's top rule. It ends at the
    # box's own rule; the table's columns are its own, not the box's.
    box = Rules(
        horizontal=[(768, 57, 2358), (1041, 75, 2376)],
        vertical=[(57, 768, 1041), (1197, 768, 1047), (2358, 768, 1041)],
    )
    rows = [1059, 1146, 1212, 1281]
    table = Rules(
        horizontal=[(y, 102, 2319) for y in rows],
        vertical=[(x, 1059, 1281) for x in (105, 867, 1623, 2313)],
    )
    both = Rules(box.horizontal + table.horizontal, box.vertical + table.vertical)
    found = grids(both, touch=12)
    assert [g.rows for g in found] == [(768, 1041), tuple(rows)]
    assert found[1].columns == (105, 867, 1623, 2313)
    assert found[1].spans == ()


def test_a_merged_cell_s_gutters_do_not_cut_the_column_it_starts_in() -> None:
    # The rule between the narrow first column and the names stops under the header, so
    # each row's first two cells are one; the gutter between a name's two parts lies in
    # the second column, not the first.
    header = _row(100, [(100, "No"), (220, "Name"), (640, "Votes")])
    body = [
        _row(220 + 50 * i, [(100, str(i + 1)), (220, name), (480, party), (640, votes)])
        for i, (name, party, votes) in enumerate(
            [
                ("Abdala", "North", "yes"),
                ("Albrieu", "South", "no"),
                ("Alonso", "East", "yes"),
                ("Arena", "West", "no"),
                ("Arregui", "North", "yes"),
            ]
        )
    ]
    rules = Rules(
        [(80, 90, 820), (200, 90, 820), (480, 90, 820)],
        [(90, 80, 480), (190, 80, 200), (600, 80, 480), (820, 80, 480)],
    )
    _, _, [table] = find_tables(_paragraphs([header, *body]), rules, dpi=300)
    assert table.grid is not None
    columns = list(table.grid.columns)
    assert columns == sorted(set(columns)), columns  # each column's cells have a width
    read = " ".join(cell_text(cell) for row in table.cells for cell in row).split()
    assert sorted(read) == sorted(w.text for row in [header, *body] for w in row)


def test_a_table_ruled_across_its_figures_only_keeps_its_row_labels() -> None:
    # A statement's rules run over its figures alone (one over the subtotal); the labels
    # of its rows stand left of the rules, in line with their figures. Rows of six figures
    # beside labels of five words are no two columns of a page.
    labels = [
        "Social Security and retirement receipts",
        "Medicare and other health programs",
        "Medicaid",
        "Deposits of earnings, Federal Reserve",
        "Subtotal",
    ]
    rights = [1050 + 130 * c for c in range(6)]
    body = []
    for i, label in enumerate(labels):
        words = _row(220 + 50 * i, [(100, label)])
        for c, right in enumerate(rights):
            value = f"{c + 1},{i}25"
            words.append(_word(value, right - _width(value), 220 + 50 * i))
        body.append(words)
    rules = Rules([(y, 960, rights[-1] + 10) for y in (200, 410, 470)], [])
    _, _, found = find_tables(_paragraphs(body), rules, dpi=300)
    [table] = _texts(found)
    assert table == [
        [label] + [f"{c + 1},{i}25" for c in range(6)] for i, label in enumerate(labels)
    ]


def test_a_table_ruled_across_beside_another_takes_none_of_its_words() -> None:
    # Two tables side by side, each ruled across its own width, the right one's rules a
    # little higher: the left one's words are no labels of the right one's rows.
    rows = []
    for i, (animal, sound) in enumerate([("Cat", "Meow"), ("Dog", "Woof"), ("Cow", "Moo")]):
        rows.append(
            _row(220 + 50 * i, [(100, animal), (300, "Says"), (480, sound)])
            + _row(220 + 50 * i, [(900, animal), (1100, "Says"), (1280, sound)])
        )
    rules = Rules([(y - x0 // 100, x0, x0 + 560) for y in (200, 370) for x0 in (80, 880)], [])
    _, _, found = find_tables(_paragraphs(rows), rules, dpi=300)
    assert (
        sorted(_texts(found))
        == [[["Cat", "Says", "Meow"], ["Dog", "Says", "Woof"], ["Cow", "Says", "Moo"]]] * 2
    )


def test_rows_that_part_their_numbers_from_their_labels_go_on_with_the_table() -> None:
    # A budget's rows: each ministry's total, then its departments, numbered. Three
    # numbered rows in a row have a gutter between number and label that the ministries'
    # rows close: the same columns as above, and one more, not a table of their own.
    entries = [
        "MINISTRY OF AGRICULTURE",
        "1. Agriculture",
        "2. Research",
        "MINISTRY OF CHEMICALS",
        "3. Chemicals",
        "4. Fertilisers",
        "5. Pharmaceuticals",
        "MINISTRY OF COAL",
        "6. Coal",
    ]
    rows = []
    for i, label in enumerate(entries):
        top = 220 + 45 * i
        number, _, name = label.partition(" ")
        cells = [(100, label)] if label.isupper() else [(100, number), (175, name)]
        words = _row(top, cells)
        for c, right in enumerate((900, 1100, 1300)):
            value = f"{c + 1}{i}.50"
            words.append(_word(value, right - _width(value), top))
        rows.append(words)
    [table] = _tables_of(rows)
    assert [" ".join(row[:-3]).strip() for row in table] == entries
    assert [row[-1] for row in table] == [f"3{i}.50" for i in range(len(entries))]


def test_a_bullet_read_as_a_letter_in_a_cell_is_a_bullet() -> None:
    # A round bullet in a cell reads as "e" or "©" to Tesseract, as in prose; an "e" before
    # a figure marks an estimate and stays.
    grid = Rules(
        [(y, 90, 1220) for y in (90, 270, 330)],
        [(x, 90, 330) for x in (90, 400, 1220)],
    )
    rows = [
        _row(110, [(110, "Reliability"), (420, "e Intraclass correlation")]),
        _row(150, [(420, "© Time period")]),
        # The white after the bullet read as a dash, apart or before the item's first word.
        _row(190, [(420, "e — Item totals")]),
        _row(230, [(420, "@ _Effect size")]),
        _row(280, [(110, "Output"), (420, "e 1,200 tonnes")]),
    ]
    _, _, found = find_tables(_paragraphs(rows), grid, dpi=300)
    [table] = _texts(found)
    assert table == [
        ["Reliability", "• Intraclass correlation • Time period • Item totals • Effect size"],
        ["Output", "e 1,200 tonnes"],
    ]
