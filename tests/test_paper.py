"""Pages whose paper is not white: straightened onto their own paper, lit evenly, read."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from ocr_engine import illumination
from ocr_engine.deskew import straighten
from ocr_engine.recognize import TesserocrRecognizer
from tests.conftest import read_page
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


@pytest.mark.ocr
def test_a_skewed_scan_on_gray_paper_is_read(
    recognizer: TesserocrRecognizer, tmp_path: Path
) -> None:
    # White corners around gray paper gave Tesseract's threshold two backgrounds to split:
    # the sheet came out black and not a word was read.
    path = tmp_path / "scan.png"
    _sheet(1.5).save(path, dpi=(300, 300))
    page, markdown = read_page(recognizer, path)
    assert abs(page.skew + 1.5) <= 0.3
    for row in ROWS[1:]:
        assert all(cell in markdown for cell in row), markdown


PROSE = [
    "The spring fair returns to the village green on Saturday the ninth of May.",
    "Stalls, games and the traditional cake competition will run from ten until four.",
    "Volunteers are still needed to help set up the marquee on Friday evening.",
    "Proceeds this year go to the roof appeal, which has raised two thirds of its target.",
]


def _lit(light: tuple[float, float], *, box: bool = False, photo: bool = False) -> Image.Image:
    """A page of prose, photographed under a lamp: its paper dims from right to left
    (`light`, as a share of full light, from left edge to right edge). With `box`, a
    shaded box of the page's own stands behind the middle of it; with `photo`, a picture
    shaded smoothly from light to dark, as lamp light is."""
    page = Image.new("L", (2550, 3300), 235)
    draw = ImageDraw.Draw(page)
    if box:
        draw.rectangle((150, 1300, 2400, 2000), fill=150)
    if photo:
        ramp = np.linspace(230, 60, 1400, dtype=np.float32)[None, :].repeat(1000, axis=0)
        page.paste(Image.fromarray(ramp.astype(np.uint8)), (500, 1200))
    font = ImageFont.truetype(str(FONT), 40)
    for i, line in enumerate(PROSE * 3):
        draw.text((200, 500 + 200 * i), line, font=font, fill=20)
    pixels = np.asarray(page, dtype=np.float32)
    shade = np.linspace(light[0], light[1], page.width, dtype=np.float32)[None, :]
    return Image.fromarray(np.clip(pixels * shade, 0, 255).astype(np.uint8))


def test_a_page_lit_unevenly_is_evened_and_its_ink_kept() -> None:
    evened = np.asarray(illumination.even(_lit((0.55, 1.0)), 300), dtype=np.float32)
    paper_left, paper_right = (
        np.median(evened[100:300, 50:150]),
        np.median(evened[100:300, -150:-50]),
    )
    assert abs(paper_left - paper_right) <= 12
    assert evened[500:560, 200:1200].min() < 80  # the ink on the dim side is still ink


def test_even_light_shaded_boxes_and_photographs_are_left_as_they_are() -> None:
    pages = (_lit((1.0, 1.0)), _lit((1.0, 1.0), box=True), _lit((1.0, 1.0), photo=True))
    for page in (*pages, _sheet(0.0)):
        assert illumination.even(page, 300) is page


@pytest.mark.ocr
def test_a_page_photographed_under_a_lamp_is_read(
    recognizer: TesserocrRecognizer, tmp_path: Path
) -> None:
    # One threshold for the whole page turned its dim half black: nothing there was read.
    path = tmp_path / "photo.png"
    _lit((0.55, 1.0)).save(path, dpi=(300, 300))
    _, markdown = read_page(recognizer, path)
    found = [line for line in PROSE if line in " ".join(markdown.split())]
    assert found == PROSE, markdown


def _otsu(page: Image.Image) -> int:
    """The one threshold Tesseract would part ink from paper by."""
    counts = np.asarray(page.histogram(), dtype=np.float64)
    share = np.cumsum(counts) / counts.sum()
    mean = np.cumsum(counts * np.arange(256)) / counts.sum()
    between = (mean[-1] * share - mean) ** 2 / np.maximum(share * (1 - share), 1e-12)
    return int(np.argmax(between))


def _shaded_listing() -> Image.Image:
    """A white page, most of it a light gray box with lines of text in it."""
    page = Image.new("L", (2550, 3300), 255)
    draw = ImageDraw.Draw(page)
    draw.text((200, 300), PROSE[0], font=ImageFont.truetype(str(FONT), 40), fill=20)
    draw.rectangle((150, 500, 2400, 2900), fill=205)
    font = ImageFont.truetype(str(FONT), 40)
    for i, line in enumerate(PROSE * 2):
        draw.text((200, 600 + 150 * i), line, font=font, fill=20)
    return page


def test_a_light_shaded_ground_is_brought_to_white_and_other_pages_left_alone() -> None:
    page = _shaded_listing()
    assert _otsu(page) > 205  # as it stands, the box is darker than the threshold
    unshaded = illumination.unshaded(page)
    assert np.asarray(unshaded)[520:560, 160:190].min() == 255
    assert _otsu(unshaded) < 205 and np.asarray(unshaded)[600:660, 200:1200].min() < 40
    # Gray paper, a dark box on it, a page lit under a lamp: no light ground to whiten.
    for other in (_sheet(0.0), _lit((1.0, 1.0), box=True), _lit((0.55, 1.0))):
        assert illumination.unshaded(other) is other


@pytest.mark.ocr
def test_text_on_a_shaded_ground_covering_most_of_the_page_is_read(
    recognizer: TesserocrRecognizer, tmp_path: Path
) -> None:
    # Otsu's threshold fell between the gray and the white: the box came out black, a
    # picture, and nothing in it was read.
    path = tmp_path / "shaded.png"
    _shaded_listing().save(path, dpi=(300, 300))
    _, markdown = read_page(recognizer, path)
    found = [line for line in PROSE if " ".join(markdown.split()).count(line) >= 2]
    assert found == PROSE, markdown
