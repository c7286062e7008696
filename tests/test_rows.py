"""Small lines merged into the row of a large one, read apart again."""

from __future__ import annotations

from pathlib import Path

import pytest
from reportlab.lib.pagesizes import letter
from reportlab.pdfgen import canvas

from ocr_engine import rows
from ocr_engine.recognize import TesserocrRecognizer
from ocr_engine.words import Box, Line, Word
from tests.conftest import read_page
from tools import corpus


def word(text: str, left: int, top: int, height: int, confidence: float) -> Word:
    return Word(text, confidence, Box(left, top, left + 30 * len(text), top + height))


class Rereads:
    """A stand-in for reading a region again: records each region, answers `lines`."""

    def __init__(self, lines: list[Line]) -> None:
        self.regions: list[Box] = []
        self._lines = lines

    def __call__(self, box: Box) -> list[Line]:
        self.regions.append(box)
        return self._lines


NAME = [word("NORTHWIND", 250, 200, 50, 0.92), word("TRADING", 680, 200, 50, 0.96)]
ADDRESS = [
    Line([word("14", 1700, 195, 28, 0.95), word("Harbour", 1760, 195, 28, 0.96)]),
    Line([word("Bristol", 1700, 232, 28, 0.95), word("BS1", 1920, 232, 28, 0.93)]),
]


def test_tall_doubtful_words_beside_a_line_are_read_again_as_lines() -> None:
    # Two lines of an address beside a company's name, read as one row: tall nonsense.
    merged = [word("niet", 1700, 190, 75, 0.0), word("wet", 1830, 188, 80, 0.39)]
    rereads = Rereads(ADDRESS)
    lines = rows.reread_merged([Line([*NAME, *merged])], rereads)
    assert [line.text for line in lines] == ["NORTHWIND TRADING", "14 Harbour", "Bristol BS1"]
    [region] = rereads.regions
    assert region.left < 1700 and region.top < 188 and region.bottom > 190 + 75


def test_a_word_between_tall_brackets_stays_as_read() -> None:
    # "sin(w*x)": its brackets make it tall, and it may read with doubt; read again it is
    # still one line, so the first reading stands.
    line = Line(
        [
            word("f(x)", 250, 200, 50, 0.95),
            word("=", 400, 210, 30, 0.9),
            word("sin(w*x)", 450, 195, 64, 0.4),
        ]
    )
    rereads = Rereads([Line([word("sin(w*x)", 450, 195, 64, 0.9)])])
    assert rows.reread_merged([line], rereads) == [line]
    assert len(rereads.regions) == 1


def test_lines_read_well_are_not_read_again() -> None:
    line = Line([*NAME, word("LTD", 1000, 200, 50, 0.95)])
    rereads = Rereads(ADDRESS)
    assert rows.reread_merged([line], rereads) == [line]
    assert rereads.regions == []


@pytest.mark.ocr
def test_a_letterhead_s_address_beside_its_name_is_read(
    recognizer: TesserocrRecognizer, tmp_path: Path
) -> None:
    height = letter[1]
    pdf = canvas.Canvas(str(tmp_path / "letter.pdf"), pagesize=letter)
    pdf.setFont("Helvetica-Bold", 16)
    pdf.drawString(60, height - 60, "NORTHWIND TRADING LTD")
    pdf.setFont("Helvetica", 7.5)
    address = ["14 Harbour Street", "Bristol BS1 4QA", "Tel. 0117 496 0321"]
    for i, text in enumerate(address):
        pdf.drawString(410, height - 52 - 9.5 * i, text)
    pdf.setFont("Times-Roman", 11)
    pdf.drawString(60, height - 130, "12 March 2026")
    pdf.drawString(60, height - 160, "Dear Ms Porter,")
    pdf.save()
    scan = corpus.image_only_pdf(tmp_path / "letter.pdf", tmp_path / "scan.pdf")
    _, markdown = read_page(recognizer, scan, kind="pdf")
    lines = [line.strip("# ") for line in markdown.splitlines() if line.strip()]
    assert " ".join(address) in lines, markdown  # one paragraph, its lines in order
    assert "NORTHWIND TRADING LTD" in lines
