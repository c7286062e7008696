"""Scans on paper that is not white: straightened onto their own paper, and read."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from ocr_engine import tasks
from ocr_engine.deskew import straighten
from ocr_engine.languages import find_system_tessdata
from ocr_engine.options import PageOptions
from ocr_engine.recognize import TesserocrRecognizer
from ocr_engine.render.mistral import page_json
from tools.corpus import FONT

PAPER = 214  # a gray sheet, as most scanners see paper
INK = 40
ROWS = [
    ("No.", "Item", "Quantity", "Price"),
    ("1", "Steel bolts", "200", "14.50"),
    ("2", "Washers", "500", "3.20"),
    ("3", "Hex nuts", "200", "6.80"),
    ("4", "Brackets", "40", "22.00"),
]


def _sheet(degrees: float) -> Image.Image:
    """A mostly empty page, a small table at its top, scanned on gray paper a little turned:
    the scanner fills what it turned in with the paper's gray too."""
    page = Image.new("L", (2550, 3300), PAPER)
    draw = ImageDraw.Draw(page)
    font = ImageFont.truetype(str(FONT), 40)
    for i, row in enumerate(ROWS):
        for x, cell in zip((250, 450, 1200, 1700), row, strict=True):
            draw.text((x, 400 + 80 * i), cell, font=font, fill=INK)
    return page.rotate(degrees, resample=Image.Resampling.BICUBIC, fillcolor=PAPER)


def test_a_skewed_page_is_straightened_onto_its_own_paper() -> None:
    level, degrees = straighten(_sheet(1.5), 300)
    assert abs(degrees + 1.5) <= 0.3
    pixels = np.asarray(level)
    corners = [pixels[:20, :20], pixels[:20, -20:], pixels[-20:, :20], pixels[-20:, -20:]]
    assert all(abs(float(np.median(c)) - PAPER) <= 8 for c in corners)


@pytest.fixture(scope="module")
def recognizer() -> Iterator[TesserocrRecognizer]:
    reader = TesserocrRecognizer(str(find_system_tessdata()))
    yield reader
    reader.close()


@pytest.mark.ocr
def test_a_skewed_scan_on_gray_paper_is_read(
    recognizer: TesserocrRecognizer, tmp_path: Path
) -> None:
    # White corners around gray paper gave Tesseract's threshold two backgrounds to split:
    # the sheet came out black and not a word was read.
    path = tmp_path / "scan.png"
    _sheet(1.5).save(path, dpi=(300, 300))
    task = tasks.PageTask(str(path), "image", None, 0, "eng", 300, 50_000_000, 120, PageOptions())
    page = tasks.recognize_page(task, recognizer)
    markdown = str(page_json(page, PageOptions())["markdown"])
    assert abs(page.skew + 1.5) <= 0.3
    for row in ROWS[1:]:
        assert all(cell in markdown for cell in row), markdown
