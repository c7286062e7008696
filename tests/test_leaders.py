"""Dot leaders on a contents page come out as their dots, not as what Tesseract makes of them."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from reportlab.lib.pagesizes import letter
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas

from ocr_engine import leaders, structure
from ocr_engine.recognize import TesserocrRecognizer
from ocr_engine.words import Box, Line, Word
from tests.conftest import read_page
from tools import corpus

pdfmetrics.registerFont(TTFont("Vera", str(corpus.FONT)))

FONT_SIZE = 11
# A lone "1" after a leader is read as "i" (a page of a preface) as often as not: the
# numbers here are what a test of the leaders can rely on.
ENTRIES = [
    ("1", "Introduction", "3"),
    ("1.1", "Scope of the survey", "4"),
    ("1.2", "Sources and their dates", "5"),
    ("2", "Methods", "7"),
    ("2.1", "Sampling the districts", "9"),
    ("2.2", "Weighting", "12"),
    ("3", "Results by region", "15"),
    ("3.1", "The northern districts", "18"),
]
RIGHT = 540  # the page numbers' right edge, in points


def contents_page(path: Path, *, step: float) -> list[int]:
    """A contents page at `path`: number, title, a leader of dots `step` points apart up to
    the page number, set as typesetters set them (every dot on one grid down the page); how
    many dots each entry's leader has."""
    counts = []
    pdf = canvas.Canvas(str(path), pagesize=letter)
    pdf.setFont("Vera", FONT_SIZE)
    for i, (number, title, page) in enumerate(ENTRIES):
        y = 680 - i * FONT_SIZE * 1.8
        pdf.drawString(72, y, number)
        pdf.drawString(110, y, title)
        end = 110 + pdf.stringWidth(title, "Vera", FONT_SIZE) + step
        x = RIGHT - 28.0
        dots = []
        while x - step >= end:
            x -= step
            dots.append(x)
        for dot in dots:
            pdf.drawString(dot, y, ".")
        counts.append(len(dots))
        pdf.drawRightString(RIGHT, y, page)
    pdf.showPage()
    pdf.save()
    return counts


def _entries(markdown: str) -> list[tuple[str, str, str]]:
    """Each entry line as (start, the leader, the end)."""
    found = []
    for line in markdown.splitlines():
        m = re.match(r"^(.*?[^.\s])\s*((?:\.\s?){5,})\s*(\S+)$", line.strip())
        if m:
            found.append((m.group(1), m.group(2).strip(), m.group(3)))
    return found


@pytest.mark.ocr
@pytest.mark.parametrize(("step", "spaced"), [(8.0, True), (3.06, False)])
def test_a_contents_page_reads_each_leader_as_its_dots(
    tmp_path: Path, recognizer: TesserocrRecognizer, step: float, spaced: bool
) -> None:
    drawn = contents_page(tmp_path / "contents.pdf", step=step)
    pdf = corpus.image_only_pdf(tmp_path / "contents.pdf", tmp_path / "scan.pdf")
    _, markdown = read_page(recognizer, pdf, kind="pdf")
    entries = _entries(markdown)
    assert len(entries) == len(ENTRIES), markdown
    for (number, title, page), (start, leader, end) in zip(ENTRIES, entries, strict=True):
        assert start == f"{number} {title}", markdown
        assert end == page, markdown
        # Every dot, and nothing else: no digits or letters made of them.
        dots = leader.replace(" ", "")
        assert set(dots) == {"."}, markdown
        if spaced:
            assert leader == " ".join(dots)  # ". . . ." as the page sets it
        else:
            assert " " not in leader  # "......"
    # Each leader as long as drawn, from its title's end to the number.
    assert [len(leader.replace(" ", "")) for _, leader, _ in entries] == drawn, markdown


def _unread(box: Box, *, blank: Sequence[Box] = ()) -> list[Line]:
    """A reading again that finds nothing: the first reading's words are mended."""
    return []


def _page(height: int = 60, width: int = 1200) -> np.ndarray:
    return np.full((height, width), 255, dtype=np.uint8)


def _dot(gray: np.ndarray, x: int, bottom: int, size: int = 5) -> None:
    gray[bottom - size : bottom, x : x + size] = 0


def test_leader_dots_replace_the_words_read_over_them() -> None:
    gray = _page()
    gray[12:48, 20:300] = 0  # the title's ink
    for x in range(330, 900, 30):
        _dot(gray, x, 48)
    gray[12:48, 930:980] = 0  # the page number's
    line = Line(
        [
            Word("Introduction..", 0.9, Box(20, 12, 340, 48)),
            Word("2.0.0.0000", 0.3, Box(360, 40, 700, 48)),
            Word("ee", 0.3, Box(720, 40, 890, 48)),
            Word("..12", 0.9, Box(890, 12, 980, 48)),
        ]
    )
    [mended] = leaders.mend_leaders([line], gray, _unread)
    assert mended.text == "Introduction " + " ".join(["."] * 19) + " 12"
    dots = [w for w in mended.words if w.text == "."]
    assert all(w.box.width == 5 for w in dots)
    assert mended.words[0].box.right < dots[0].box.left


def test_an_entry_read_apart_from_its_page_number_is_led_to_it_again() -> None:
    # Tesseract's layout put the page numbers in a column of their own and read no dots:
    # the entry and its number are two lines, level, with the leader in the white between.
    gray = _page()
    gray[12:48, 20:300] = 0
    for x in range(330, 900, 30):
        _dot(gray, x, 48)
    gray[12:48, 930:980] = 0
    entry = Line(
        [Word("Our", 0.9, Box(20, 12, 120, 48)), Word("Story", 0.9, Box(140, 12, 300, 48))]
    )
    number = Line([Word("12", 0.9, Box(930, 12, 980, 48))])
    [mended] = leaders.mend_leaders([entry, number], gray, _unread)
    assert mended.text == "Our Story " + " ".join(["."] * 19) + " 12"
    # Level lines with white between them, marks too few for a leader, or a leader that
    # stops short of the next line (an index's entry beside the next column's): apart.
    for dots in (range(330, 420, 30), range(330, 600, 30)):
        gray = _page()
        for x in dots:
            _dot(gray, x, 48)
        assert leaders.mend_leaders([entry, number], gray, _unread) == [entry, number]


def test_prose_ellipses_dashes_and_stops_stay_as_read() -> None:
    gray = _page()
    for x in range(100, 220, 12):  # an ellipsis and a full stop: four dots
        if x < 148:
            _dot(gray, x, 48)
    for x in range(300, 700, 40):  # a dashed rule: marks twice as wide as tall, and more
        gray[30:34, x : x + 16] = 0
    for x in range(800, 1100, 30):  # dots above the baseline: the points of a row of "i"s
        _dot(gray, x, 20)
    words = [Word("wenn....", 0.9, Box(20, 12, 160, 48)), Word("- - -", 0.9, Box(300, 28, 700, 36))]
    line = Line([*words, Word("iiii", 0.9, Box(800, 12, 1100, 48))])
    [same] = leaders.mend_leaders([line], gray, _unread)
    assert same.text == line.text


def test_leader_dots_are_not_measured_for_a_fixed_pitch() -> None:
    dots = [Word(".", 0.9, Box(400 + 30 * i, 40, 405 + 30 * i, 45)) for i in range(8)]
    line = Line(
        [Word("Intro", 0.9, Box(20, 12, 120, 48)), *dots, Word("7", 0.9, Box(700, 12, 720, 48))]
    )
    assert leaders.leader_dots(line.words) == {id(w) for w in dots}
    assert leaders.leader_dots(line.words[:4]) == set()  # three points: an ellipsis


def test_a_contents_entry_wrapped_over_two_lines_is_one_paragraph() -> None:
    # The second line is mostly its leader's dots: they are no measure of its type, which
    # is the first line's, so the two lines are one entry.
    first = Line(
        [
            Word(t, 0.9, Box(100 + 160 * i, 300, 250 + 160 * i, 337))
            for i, t in enumerate(
                ["6.6.2.3", "Entfernen", "Sie", "die", "Markierungen,", "wenn", "Sie"]
            )
        ]
    )
    dots = [Word(".", 0.9, Box(700 + 30 * i, 380, 705 + 30 * i, 385)) for i in range(20)]
    second = Line(
        [
            Word("Tipp-", 0.9, Box(260, 350, 360, 387)),
            Word("korrigieren", 0.9, Box(380, 350, 640, 387)),
            *dots,
            Word("75", 0.9, Box(1330, 350, 1370, 387)),
        ]
    )
    assert second.height == 37
    [entry] = structure.group_lines([first, second])
    assert entry.lines == [first, second]
