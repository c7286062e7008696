"""Print too large for Tesseract, read again drawn small: a cover's title."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from ocr_engine import largeprint
from ocr_engine.model import IMAGE, TITLE
from ocr_engine.options import PageOptions
from ocr_engine.recognize import TesserocrRecognizer
from ocr_engine.tasks import PageTask, recognize_page
from ocr_engine.words import Box, Line, Word
from tools import corpus

BODY = [
    "The annual report of the society for the year, with its accounts,",
    "the minutes of its meetings and the list of its members, as they",
    "stood at the end of the year, with their addresses and dates.",
]


def _cover(path: Path, title: str) -> Path:
    """A page of body text over a title in heavy letters 1.7 inches tall (500 px)."""
    page = Image.new("L", (2550, 3300), 255)
    draw = ImageDraw.Draw(page)
    body = ImageFont.truetype(str(corpus.FONT), 42)
    for i, text in enumerate(BODY * 3):
        draw.text((250, 300 + 70 * i), text, font=body, fill=0)
    large = ImageFont.truetype(str(corpus.FONT), 500)
    draw.text((150, 1500), title, font=large, fill=0, stroke_width=35, stroke_fill=0)
    page.save(path, dpi=(300, 300))
    return path


@pytest.mark.ocr
def test_a_cover_s_title_in_heavy_letters_is_read_not_taken_for_pictures(
    tmp_path: Path, recognizer: TesserocrRecognizer
) -> None:
    # An annual report's cover ("We Care" under its photos): Tesseract read nothing of
    # letters this large and heavy, and each letter or two came out as a picture.
    image = _cover(tmp_path / "cover.png", "We Care")
    task = PageTask(str(image), "image", None, 0, "eng", 300, 100_000_000, 120, PageOptions())
    page = recognize_page(task, recognizer)
    titles = [b for b in page.blocks if b.kind == TITLE]
    assert [" ".join(w.text for w in b.words) for b in titles] == ["We Care"]
    assert not [b for b in page.blocks if b.kind == IMAGE]
    [block] = titles
    assert 1500 < block.box.top < block.box.bottom < 2100  # in the page's pixels


def test_a_picture_read_again_as_nothing_confident_stays_a_picture() -> None:
    # A photo's band read small gives speckle of little confidence, and small print
    # beside it was read with the page: neither is large print.
    gray = np.full((1000, 1000), 255, dtype=np.uint8)
    gray[100:700, 100:700] = 90
    photo = Box(100, 100, 700, 700)
    speckle = [Line([Word("a", 0.17, Box(5, 5, 10, 12))])]
    lines, pictures = largeprint.read_large_print(gray, [photo], lambda _: speckle, dpi=300)
    assert (lines, pictures) == ([], [photo])
    small_print = [Line([Word("Figure", 0.96, Box(2, 40, 12, 44))])]
    lines, pictures = largeprint.read_large_print(gray, [photo], lambda _: small_print, dpi=300)
    assert (lines, pictures) == ([], [photo])
