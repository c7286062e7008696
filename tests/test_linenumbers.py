"""Columns of numbers: line numbers joined to their lines, columns read down the page."""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from pathlib import Path

import pypdfium2 as pdfium
import pytest
from PIL import Image, ImageDraw, ImageFont
from reportlab.lib.pagesizes import letter
from reportlab.pdfgen import canvas

from ocr_engine import linenumbers, structure
from ocr_engine.languages import find_system_tessdata
from ocr_engine.model import TEXT
from ocr_engine.recognize import BACKENDS, TesserocrRecognizer, make_recognizer
from ocr_engine.words import Box, Line, Word, parse_tsv
from tests.conftest import read_page
from tools import corpus

H = 40  # a line's height, in pixels
STEP = 100  # double spacing, top to top


def word(text: str, left: int, top: int, *, width: int | None = None, height: int = H) -> Word:
    return Word(text, 0.9, Box(left, top, left + (width or 24 * len(text)), top + height))


def number(value: int, top: int, *, right: int = 200) -> Line:
    text = str(value)
    return Line([word(text, right - 24 * len(text), top)])


def text_line(text: str, top: int, *, left: int = 330) -> Line:
    words, x = [], left
    for token in text.split():
        words.append(word(token, x, top))
        x += 24 * len(token) + 14
    return Line(words)


class Rereads:
    """A stand-in for reading a region again: records each region, answers `lines`."""

    def __init__(self, lines: list[Line] | None = None) -> None:
        self.regions: list[Box] = []
        self.blanks: list[list[Box]] = []
        self._lines = lines or []

    def __call__(self, box: Box, *, blank: Sequence[Box] = ()) -> list[Line]:
        self.regions.append(box)
        self.blanks.append(list(blank))
        return [
            line
            for line in self._lines
            if box.left <= line.box.left
            and line.box.right <= box.right
            and box.top <= line.box.top
            and line.box.bottom <= box.bottom
        ]


SENTENCES = [
    "THE COURT: Good morning. Please be seated.",
    "MR. HALE: Good morning, Your Honor.",
    "THE COURT: We are here on the matter of",
    "Riverside Holdings versus Carter, case",
    "number 2:19-cv-04418. Counsel, your",
]


def test_each_number_goes_to_the_start_of_the_line_on_its_baseline() -> None:
    body = [text_line(s, 300 + i * STEP) for i, s in enumerate(SENTENCES)]
    column = [number(i + 1, 300 + i * STEP) for i in range(len(SENTENCES))]
    rereads = Rereads()
    lines = linenumbers.attach_line_numbers([*column, *body], rereads)
    assert [line.text for line in lines] == [f"{i + 1} {s}" for i, s in enumerate(SENTENCES)]
    assert rereads.regions == []  # every line had its number: nothing to read again


def test_numbers_the_first_reading_missed_are_read_again_in_the_column() -> None:
    # Single digits alone in a margin are often not taken for text at all.
    body = [text_line(f"line {i + 1} of the page", 300 + i * STEP) for i in range(12)]
    first = [number(i + 1, 300 + i * STEP) for i in range(9, 12)]
    again = [number(i + 1, 300 + i * STEP) for i in range(12)]
    rereads = Rereads(again)
    lines = linenumbers.attach_line_numbers([*body, *first], rereads)
    assert [line.text for line in lines] == [f"{i + 1} line {i + 1} of the page" for i in range(12)]
    [region] = rereads.regions
    assert region.right < 330 and region.top < 300 and region.bottom > 300 + 11 * STEP + H


def test_a_line_indented_deep_in_a_numbered_listing_keeps_its_number() -> None:
    # A documented source's listing: nested code starts 15 line heights right of the
    # numbers, as far as a pleading's text never does; it is still within the listing.
    code = ["\\mathop{\\mkern 3mu", "\\intop", "\\ifnum #1=\\z@ \\intdots@", "\\fi", "}"]
    indents = [0, 8 * 24, 25 * 24, 8 * 24, 0]
    rows = enumerate(zip(code, indents, strict=True))
    body = [text_line(t, 300 + i * 60, left=330 + d) for i, (t, d) in rows]
    column = [number(117 + i, 300 + i * 60) for i in range(len(code))]
    lines = linenumbers.attach_line_numbers([*column, *body], Rereads())
    assert [line.text for line in lines] == [f"{117 + i} {t}" for i, t in enumerate(code)]


def test_a_numbered_blank_line_keeps_its_number_alone() -> None:
    body = [text_line(s, 300 + i * STEP) for i, s in enumerate(SENTENCES)]
    column = [number(i + 1, 300 + i * STEP) for i in range(len(SENTENCES) + 2)]
    # Read after the column's first lines, it comes back where it stands.
    lines = linenumbers.attach_line_numbers([*body, *column], Rereads())
    assert [line.text for line in lines] == [
        *(f"{i + 1} {s}" for i, s in enumerate(SENTENCES)),
        "6",
        "7",
    ]


def test_a_typed_transcript_s_centred_and_blank_lines_are_lines_of_its_listing() -> None:
    # A Supreme Court transcript in a typewriter face: its place and date centred 26 line
    # heights right of their numbers, and lines numbered with nothing on them. Left out of
    # the listing, each blank line parted it, and the centred lines lost their numbers.
    typed = [text_line(s, 300 + i * STEP) for i, s in enumerate(SENTENCES)]
    centred = text_line("Washington, D.C.", 300 + 5 * STEP, left=200 + 26 * H)
    for line in [*typed, centred]:
        for w in line.words:
            w.monospace = True
    column = [number(i + 1, 300 + i * STEP) for i in range(len(SENTENCES) + 3)]
    lines = linenumbers.attach_line_numbers([*column, *typed, centred], Rereads())
    assert [line.text for line in lines] == [
        *(f"{i + 1} {s}" for i, s in enumerate(SENTENCES)),
        "6 Washington, D.C.",
        "7",
        "8",
    ]
    assert all(line.words[0].monospace and line.words[0].line_number for line in lines)


def code_line(first: str, code: str, top: int) -> Line:
    """A listing's line: its number's text (as read) ending at x=200, then its code."""
    line = text_line(code, top, left=240)
    for w in line.words:
        w.monospace = True
    return Line(
        [word(first, 200 - 14 * len(first), top + 8, width=14 * len(first), height=24), *line.words]
    )


CODE = ["def area(radius):", "return radius * radius", "def main():", "print(area(2))", "main()"]


def test_a_listing_s_misread_line_numbers_are_read_again_as_digits() -> None:
    # Small numbers beside a rule come out as letters or short of a digit ("s" for 8,
    # "2" for 12); read again as digits, with the rule as white paper, they are numbers.
    read = ["8", "9", "1O", "u", "2"]
    lines = [code_line(r, c, 300 + i * 60) for i, (r, c) in enumerate(zip(read, CODE, strict=True))]
    again = [Line([word(str(8 + i), 172, 308 + i * 60, width=28, height=24)]) for i in range(5)]
    rule = Box(210, 280, 214, 620)
    rereads = Rereads(again)
    mended = linenumbers.mend_listing_numbers(lines, rereads, blank=[rule])
    assert [line.text for line in mended] == [f"{8 + i} {c}" for i, c in enumerate(CODE)]
    [region] = rereads.regions
    assert region.right < 240 and region.top < 300 and region.bottom > 540
    assert rereads.blanks == [[rule]]


@pytest.mark.parametrize(
    "read",
    [
        ["12", "7", "30", "4", "15"],  # amounts, not line numbers: read again the same
        ["1", "2", "3", "4", "5"],  # numbers already in order: nothing to mend
    ],
)
def test_first_words_that_read_again_no_better_are_left_as_read(read: list[str]) -> None:
    lines = [code_line(r, c, 300 + i * 60) for i, (r, c) in enumerate(zip(read, CODE, strict=True))]
    again = [Line([word(r, 172, 308 + i * 60, width=28, height=24)]) for i, r in enumerate(read)]
    mended = linenumbers.mend_listing_numbers(lines, Rereads(again), blank=[])
    assert mended == lines


def test_prose_lines_that_start_with_a_short_word_are_not_a_listing() -> None:
    lines = [text_line(f"{w} line of the page", 300 + i * 60) for i, w in enumerate("abcde")]
    rereads = Rereads()
    assert linenumbers.mend_listing_numbers(lines, rereads, blank=[]) == lines
    assert rereads.regions == []


def test_a_table_s_column_of_row_numbers_stays_in_its_cells() -> None:
    rows = [
        [
            number(i + 1, 300 + i * 80),
            text_line(item, 300 + i * 80),
            text_line(qty, 300 + i * 80, left=900),
        ]
        for i, (item, qty) in enumerate(
            [("bolts", "200"), ("washers", "500"), ("nuts", "60"), ("rivets", "1000")]
        )
    ]
    lines = [line for row in rows for line in row]
    assert linenumbers.attach_line_numbers(lines, Rereads()) == lines


@pytest.mark.parametrize("values", [[3, 1, 2, 1], [5, 5, 5, 5], [7, 2]])
def test_numbers_that_do_not_rise_down_the_page_are_left_alone(values: list[int]) -> None:
    body = [text_line(s, 300 + i * STEP) for i, s in enumerate(SENTENCES[: len(values)])]
    column = [number(v, 300 + i * STEP) for i, v in enumerate(values)]
    lines = [*column, *body]
    assert linenumbers.attach_line_numbers(lines, Rereads()) == lines


def test_a_column_read_down_the_page_is_read_again_over_the_rows_beside_it() -> None:
    # Tesseract's reading of a table's "No." column: "NY WD F oO" for 2 3 4 5 6, one line.
    stacked = Line(
        [word(t, 250, 380 + i * 80, width=36) for i, t in enumerate(["NY", "WD", "F", "oO"])]
    )
    rows = [
        text_line(t, 300 + i * 80, left=450)
        for i, t in enumerate(["Item", "bolts", "washers", "nuts", "rivets", "anchors"])
    ]
    again = [number(i + 1, 300 + i * 80, right=280) for i in range(6)]
    rereads = Rereads(again)
    lines = linenumbers.reread_stacked([stacked, *rows], rereads)
    [region] = rereads.regions
    # Grown over every row beside the column, and short of the rows' words.
    assert region.top < 300 and region.bottom > 300 + 5 * 80 + H and region.right < 450
    assert [line.text for line in lines if line not in rows] == [str(i + 1) for i in range(6)]


def test_a_column_read_as_one_tall_word_is_read_again() -> None:
    # A contents page's column of page numbers, 5 5 6 6 7, read as one word of letters
    # four lines tall: "OMANNAD".
    tall = Line([word("OMANNAD", 1900, 320, width=60, height=4 * 50)])
    titles = ["Brief introduction", "Documentation", "Environments", "Commands", "Formatting"]
    rows = [
        Line([*text_line(t, 300 + i * 50, left=450).words, word("." * 20, 1350, 300 + i * 50)])
        for i, t in enumerate(titles)
    ]  # each title's dot leaders up to the column
    again = [number(p, 300 + i * 50, right=1960) for i, p in enumerate([5, 5, 6, 6, 7])]
    rereads = Rereads(again)
    lines = linenumbers.reread_stacked([*rows, tall], rereads)
    assert [line.text for line in lines if line not in rows] == ["5", "5", "6", "6", "7"]


def test_a_rotated_line_read_as_it_stands_stays() -> None:
    # A line of text turned a quarter: its words stand one above the other too; read again
    # as a block it gives no lines, and the first reading stands.
    turned = Line(
        [
            word(t, 100, 300 + i * 260, width=40, height=240)
            for i, t in enumerate(["CONFIDENTIAL", "DRAFT"])
        ]
    )
    rereads = Rereads([Line([word("~", 110, 400, height=30)])])
    assert linenumbers.reread_stacked([turned], rereads) == [turned]
    assert len(rereads.regions) == 1


def test_numbered_lines_stay_lines_and_none_is_a_heading() -> None:
    # Short lines at the body's size, capitalised: numbered, each would read as a heading.
    titles = ["Background", "The Parties", "Relief Sought"]
    body = [text_line(t, 1500 + i * 60) for i, t in enumerate(titles)]
    column = [number(i + 1, 1500 + i * 60) for i in range(len(titles))]
    paragraphs = structure.group_lines(linenumbers.attach_line_numbers([*column, *body], Rereads()))
    assert [[line.text for line in p.lines] for p in paragraphs] == [
        [f"{i + 1} {t}"] for i, t in enumerate(titles)
    ]
    items = structure.classify(paragraphs, page_height=3300)
    assert {item.kind for item in items} == {TEXT}


# -- read by Tesseract -----------------------------------------------------------------------

PAGE_HEIGHT = letter[1]


def _markdown(recognizer: TesserocrRecognizer, pdf: Path, tmp_path: Path) -> str:
    scan = corpus.image_only_pdf(pdf, tmp_path / "scan.pdf")
    return read_page(recognizer, scan, kind="pdf")[1]


def _lines(markdown: str) -> list[str]:
    return [" ".join(line.split()) for line in markdown.splitlines() if line.strip("` \n")]


TRANSCRIPT = [
    *SENTENCES,
    "appearances, please.",
    "MS. ORTIZ: Maria Ortiz for the plaintiff.",
    "MR. HALE: Daniel Hale for the defendant.",
    "THE COURT: Thank you. Mr. Hale, you filed",
    "a motion in limine on Friday. Is that",
    "still being pressed?",
    "Q. Where were you on the night of May 4?",
    "A. I was at home with my sister.",
]


@pytest.mark.ocr
@pytest.mark.parametrize("scan", [True, False])
def test_a_transcript_s_lines_keep_their_numbers(
    recognizer: TesserocrRecognizer, tmp_path: Path, scan: bool
) -> None:
    # Numbers right-aligned in a margin, a rule, the testimony double-spaced in Courier.
    # Tesseract reads the numbers as a column of their own and misses the single digits; a
    # text layer has them all, apart from their lines.
    pdf = canvas.Canvas(str(tmp_path / "transcript.pdf"), pagesize=letter)
    pdf.setFont("Courier", 12)
    for i, text in enumerate(TRANSCRIPT):
        top = PAGE_HEIGHT - 100 - 26 * i
        pdf.drawRightString(80, top, str(i + 1))
        pdf.drawString(125, top, text)
    pdf.line(95, PAGE_HEIGHT - 80, 95, 60)
    pdf.save()
    source = tmp_path / "transcript.pdf"
    if scan:
        markdown = _markdown(recognizer, source, tmp_path)
    else:
        page, markdown = read_page(recognizer, source, kind="pdf")
        assert page.source == "text_layer"
    lines = _lines(markdown)
    numbered = [f"{i + 1} {text}" for i, text in enumerate(TRANSCRIPT)]
    kept = [line for line in numbered if line in lines]
    assert len(kept) >= len(numbered) - 2, "\n".join(lines)
    starts = [int(m.group(1)) for line in lines if (m := re.match(r"(\d+) \D", line))]
    assert starts == list(range(1, len(TRANSCRIPT) + 1)), "\n".join(lines)


PLEADING = [
    "Plaintiff Riverside Holdings, LLC, by and through its undersigned",
    "counsel, hereby moves this Court for an order compelling Defendant",
    "to produce the documents requested in the First Request for",
    "Production. This motion is based on this notice, the memorandum",
    "of points and authorities, and the declaration of counsel.",
]


@pytest.mark.ocr
def test_pleading_paper_numbers_its_lines_and_its_blank_lines(
    recognizer: TesserocrRecognizer, tmp_path: Path
) -> None:
    pdf = canvas.Canvas(str(tmp_path / "pleading.pdf"), pagesize=letter)
    for i in range(28):
        top = PAGE_HEIGHT - 60 - 24.5 * i
        pdf.setFont("Times-Roman", 12)
        pdf.drawRightString(60, top, str(i + 1))
        if i < len(PLEADING):
            pdf.drawString(90, top, PLEADING[i])
    pdf.line(72, PAGE_HEIGHT - 40, 72, 40)
    pdf.save()
    lines = _lines(_markdown(recognizer, tmp_path / "pleading.pdf", tmp_path))
    # Each numbered line a line of its own, the blank lines' numbers after them, read as
    # digits (Times' "4" alone reads as "A" unless the column is read as digits). Tesseract
    # may still misread one ("22" as "an" at full size).
    assert lines[: len(PLEADING)] == [f"{i + 1} {text}" for i, text in enumerate(PLEADING)]
    rest = [str(i + 1) for i in range(len(PLEADING), 28)]
    assert len(lines) == 28, "\n".join(lines)
    assert sum(a != b for a, b in zip(lines[len(PLEADING) :], rest, strict=True)) <= 1


@pytest.mark.ocr
def test_a_table_s_number_column_is_read_as_numbers(
    recognizer: TesserocrRecognizer, tmp_path: Path
) -> None:
    # Tesseract reads a narrow column of digits down the page as one line of letters.
    rows = [
        ("No.", "Item", "Quantity", "Price"),
        ("1", "Steel bolts", "200", "14.50"),
        ("2", "Washers", "500", "3.20"),
        ("3", "Hex nuts", "200", "6.80"),
        ("4", "Brackets", "40", "22.00"),
        ("5", "Anchors", "60", "18.40"),
        ("6", "Rivets", "1000", "9.90"),
    ]
    pdf = canvas.Canvas(str(tmp_path / "table.pdf"), pagesize=letter)
    pdf.setFont("Helvetica", 11)
    for i, row in enumerate(rows):
        for x, cell in zip((72, 120, 300, 420), row, strict=True):
            pdf.drawString(x, PAGE_HEIGHT - 100 - 20 * i, cell)
    pdf.save()
    markdown = _markdown(recognizer, tmp_path / "table.pdf", tmp_path)
    table = [
        [cell.strip() for cell in line.strip("|").split("|")]
        for line in markdown.splitlines()
        if line.startswith("|") and not line.startswith("|---")
    ]
    assert [row[0] for row in table[1:]] == ["1", "2", "3", "4", "5", "6"], markdown
    assert [row[1] for row in table[1:]] == [r[1] for r in rows[1:]], markdown


@pytest.mark.ocr
@pytest.mark.parametrize("backend", BACKENDS)
def test_both_backends_read_a_column_as_digits_when_asked(backend: str) -> None:
    # Times' "4" alone in a margin reads as "A" to a reader of letters.
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=(100, 320))
    pdf.setFont("Times-Roman", 12)
    for i in range(12):
        pdf.drawRightString(60, 300 - 24.5 * i, str(i + 1))
    pdf.save()
    numbers = pdfium.PdfDocument(buffer.getvalue())[0].render(scale=300 / 72, grayscale=True)
    font = ImageFont.truetype("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", 48)
    words = Image.new("L", (600, 160), 255)
    ImageDraw.Draw(words).text((40, 40), "Page total", font=font, fill=0)
    reader = make_recognizer(backend, str(find_system_tessdata()))
    try:
        digits = reader.tsv(
            numbers.to_pil(), languages="eng", dpi=300, timeout=60, block=True, digits=True
        )
        after = reader.tsv(words, languages="eng", dpi=300, timeout=60, block=True)
    finally:
        reader.close()
    assert [line.text for p in parse_tsv(digits) for line in p.lines] == [
        str(i + 1) for i in range(12)
    ]
    # The setting does not outlive the call.
    assert [line.text for p in parse_tsv(after) for line in p.lines] == ["Page total"]
