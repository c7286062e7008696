"""Page numbers in the margins, read where Tesseract's layout analysis left them."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from ocr_engine import margins
from ocr_engine.recognize import TesserocrRecognizer
from ocr_engine.words import Box, Line, Word
from tests.conftest import read_page

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
H, W = 1100, 850  # the page at 100 dpi, as the analysis sees it
FACTOR = 3.0  # back to the page's 300 dpi


class Rereads:
    """A stand-in for reading a region again: records each region, answers `words`."""

    def __init__(self, *words: Word) -> None:
        self.regions: list[Box] = []
        self._words = words

    def __call__(self, box: Box) -> list[Line]:
        self.regions.append(box)
        return [Line([w]) for w in self._words if box.top <= w.box.top < box.bottom]


def _body() -> tuple[np.ndarray, list[Line]]:
    """A page of ten read lines (their ink under their boxes)."""
    gray = np.full((H, W), 255, dtype=np.uint8)
    lines = []
    for i in range(10):
        top = 200 + 40 * i
        gray[top + 2 : top + 11, 100:700:3] = 0
        box = Box(300, top * 3, 2100, (top + 13) * 3)
        lines.append(Line([Word("text", 0.95, box)]))
    return gray, lines


def test_ink_left_unread_in_the_foot_is_read_again() -> None:
    gray, lines = _body()
    gray[1040:1050, 410:440:2] = 0  # "- 8 -", unread
    folio = Word("-8-", 0.5, Box(1230, 3120, 1320, 3150))
    rereads = Rereads(folio)
    result = margins.reread_margins(lines, gray, FACTOR, H * 3, rereads)
    assert [line.text for line in result] == [*(line.text for line in lines), "-8-"]
    [region] = rereads.regions
    assert region.top < 1040 * 3 and region.bottom > 1050 * 3 and region.left < 410 * 3


@pytest.mark.parametrize(
    "mark",
    [
        (slice(1040, 1043), slice(200, 700)),  # a rule
        (slice(1000, 1090), slice(0, 850)),  # a scanner's dark edge: a solid bar
        (slice(20, 60), slice(100, 300)),  # a logo, much taller than a line
        (slice(1040, 1042), slice(410, 412)),  # a speck
    ],
)
def test_rules_borders_logos_and_specks_are_not_read(mark: tuple[slice, slice]) -> None:
    gray, lines = _body()
    if mark[0].start == 20:
        gray[mark] = np.where(np.indices(gray[mark].shape).sum(axis=0) % 2, 0, 255)
    else:
        gray[mark] = 0
    rereads = Rereads()
    assert margins.reread_margins(lines, gray, FACTOR, H * 3, rereads) == lines
    assert rereads.regions == []


def test_what_was_read_is_not_read_again() -> None:
    gray, lines = _body()
    gray[1040:1050, 410:440:2] = 0
    folio = Line([Word("-8-", 0.9, Box(1225, 3115, 1325, 3155))])
    rereads = Rereads()
    assert margins.reread_margins([*lines, folio], gray, FACTOR, H * 3, rereads) == [
        *lines,
        folio,
    ]
    assert rereads.regions == []


@pytest.mark.ocr
def test_a_page_number_alone_at_the_foot_is_read(
    recognizer: TesserocrRecognizer, tmp_path: Path
) -> None:
    page = Image.new("L", (2550, 3300), 255)
    draw = ImageDraw.Draw(page)
    font = ImageFont.truetype(FONT, 36)
    text = (
        "The library van will change its route from April. It will stop outside the school "
        "on Tuesdays between two and three, and by the post office on Thursdays from eleven. "
    ) * 3
    for i, line in enumerate(textwrap.wrap(text, 44)):
        draw.text((1330, 520 + 52 * i), line, font=font, fill=0)
        draw.text((250, 520 + 52 * i), line, font=font, fill=0)
    draw.text((1230, 3100), "- 3 -", font=font, fill=0)
    path = tmp_path / "page.png"
    page.save(path, dpi=(300, 300))
    _, markdown = read_page(recognizer, path)
    assert markdown.rstrip().splitlines()[-1].replace(" ", "") == "-3-", markdown
