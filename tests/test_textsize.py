"""Right-sized pages: the text's size measured, the page scaled for recognition, boxes back."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from ocr_engine import regions
from ocr_engine.languages import find_system_tessdata
from ocr_engine.recognize import TesserocrRecognizer, scaled_tsv
from ocr_engine.textsize import (
    TARGET_LINE_PX,
    ScaledRecognizer,
    line_height,
    recognition_scale,
    reread_doubtful,
)
from ocr_engine.words import Box, Line, parse_tsv
from tools import corpus

LINES = [f"Line {i} of a page set in one size of type" for i in range(14)]


def _coarse(image: Image.Image, dpi: int = 300) -> tuple[np.ndarray, float]:
    return regions.coarse(image, dpi)


def test_large_regular_type_is_scaled_down_and_small_type_is_not() -> None:
    large, factor = _coarse(corpus.text_image(LINES, font_size=40))
    height = line_height(large, 300 / factor)
    assert height is not None and 30 <= height * factor <= 50  # the glyphs' band, in pixels
    assert recognition_scale(large, factor, 300 / factor) == pytest.approx(
        TARGET_LINE_PX / (height * factor), abs=0.01
    )
    small, factor = _coarse(corpus.text_image(LINES, font_size=24))
    assert recognition_scale(small, factor, 300 / factor) == 1.0  # never scaled up
    huge, factor = _coarse(corpus.text_image(LINES, font_size=200))
    assert recognition_scale(huge, factor, 300 / factor) == 0.5  # never below half


def test_pages_without_regular_lines_are_read_as_they_are() -> None:
    blank, factor = _coarse(Image.new("L", (2550, 3300), 255))
    assert line_height(blank, 300 / factor) is None
    few, factor = _coarse(corpus.text_image(LINES[:3], font_size=60))
    assert recognition_scale(few, factor, 300 / factor) == 1.0
    # Lines of every size: no size to right-size to.
    mixed = Image.new("L", (2550, 3300), 255)
    draw = ImageDraw.Draw(mixed)
    y = 50
    for i in range(14):
        height = 20 + 25 * (i % 5)
        draw.rectangle((100, y, 2000, y + height), fill=0)
        y += height + 60
    gray, factor = _coarse(mixed)
    assert recognition_scale(gray, factor, 300 / factor) == 1.0


def test_tsv_boxes_are_scaled_back_and_other_rows_kept() -> None:
    tsv = "\n".join(
        [
            "1\t1\t0\t0\t0\t0\t0\t0\t100\t50\t-1\t",
            "5\t1\t1\t1\t1\t1\t10\t20\t30\t11\t96.5\tword",
            "short\trow",
        ]
    )
    rows = [r.split("\t") for r in scaled_tsv(tsv, 1.5).splitlines()]
    assert rows[0][6:10] == ["0", "0", "150", "75"]
    assert rows[1][6:10] == ["15", "30", "45", "16"]  # right and bottom rounded, not widths
    assert rows[1][10:] == ["96.5", "word"]
    assert rows[2] == ["short", "row"]


@pytest.mark.ocr
def test_a_scaled_reading_gives_boxes_in_the_pages_own_pixels() -> None:
    page = corpus.letter_page(["Right sized reading", "Boxes come back"], font_size=60)
    recognizer = TesserocrRecognizer(str(find_system_tessdata()))
    try:
        full = parse_tsv(recognizer.tsv(page, languages="eng", dpi=200, timeout=60))
        half = parse_tsv(
            ScaledRecognizer(recognizer, 0.5).tsv(page, languages="eng", dpi=200, timeout=60)
        )
    finally:
        recognizer.close()
    full_words = [w for p in full for w in p.words]
    half_words = [w for p in half for w in p.words]
    assert [w.text for w in half_words] == [w.text for w in full_words]
    for a, b in zip(full_words, half_words, strict=True):
        for mine, theirs in zip(
            (a.box.left, a.box.top, a.box.right, a.box.bottom),
            (b.box.left, b.box.top, b.box.right, b.box.bottom),
            strict=True,
        ):
            assert abs(mine - theirs) <= 6, (a, b)


@pytest.mark.ocr
def test_doubtful_long_words_are_read_again_from_the_pages_own_pixels() -> None:
    page = corpus.letter_page(["Read why-not-lgpl.html again", "See the notes today"], font_size=40)
    recognizer = TesserocrRecognizer(str(find_system_tessdata()))

    def reread(box: Box) -> list[Line]:
        crop = page.crop((box.left, box.top, box.right, box.bottom))
        tsv = recognizer.tsv(crop, languages="eng", dpi=300, timeout=60, block=True)
        return [line.moved(box.left, box.top) for p in parse_tsv(tsv) for line in p.lines]

    try:
        paragraphs = parse_tsv(recognizer.tsv(page, languages="eng", dpi=300, timeout=60))
        words = {w.text: w for p in paragraphs for w in p.words}
        assert {"why-not-lgpl.html", "See", "notes"} <= set(words)
        # As a blurred reading gives them: l read as I, with little confidence; a short word
        # misread as surely; a long one misread but read with confidence.
        blurred, short, sure = words["why-not-lgpl.html"], words["See"], words["notes"]
        blurred.text, blurred.confidence = "why-not-IgpI.htmI", 0.05
        short.text, short.confidence = "Sce", 0.05
        sure.text, sure.confidence = "nofes", 0.9
        reread_doubtful(paragraphs, reread)
    finally:
        recognizer.close()
    assert blurred.text == "why-not-lgpl.html" and blurred.confidence > 0.25
    assert (short.text, sure.text) == ("Sce", "nofes")  # too short to trust / not doubted


@pytest.mark.ocr
@pytest.mark.parametrize("mode", ["L", "RGB"])
def test_raw_pixels_are_read_as_tesserocr_reads_the_image(tmp_path: Path, mode: str) -> None:
    import tesserocr

    path = tmp_path / "page.png"
    corpus.text_image(LINES[:4], mode=mode).save(path)
    tessdata = str(find_system_tessdata())
    ours = TesserocrRecognizer(tessdata)
    api = tesserocr.PyTessBaseAPI(path=tessdata + "/", lang="eng", psm=tesserocr.PSM.AUTO)
    try:
        with Image.open(path) as opened:  # a PngImageFile, which SetImage re-encodes
            read = ours.tsv(opened, languages="eng", dpi=300, timeout=60)
            api.SetImage(opened)
            api.SetSourceResolution(300)
            api.Recognize()
            assert read == api.GetTSVText(0)
        assert "Line 3 of a page" in " ".join(w.text for p in parse_tsv(read) for w in p.words)
    finally:
        api.End()
        ours.close()
