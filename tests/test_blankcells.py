"""Blank table cells read again, one by one, through the real Tesseract."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from ocr_engine.blankcells import BlankCellReader
from ocr_engine.model import Span
from ocr_engine.recognize import TesserocrRecognizer
from ocr_engine.regions import Grid
from ocr_engine.words import Box, Line, Word, parse_tsv
from tools.corpus import FONT

pytestmark = pytest.mark.ocr

_FONT = ImageFont.truetype(str(FONT), 36)
# Three cells side by side, 300 x 100 px each.
GRID = Grid(Box(0, 0, 900, 100), (0, 100), (0, 300, 600, 900))


class Counted:
    """Reads a cell through the real recognizer, counting the cells it is given."""

    def __init__(self, recognizer: TesserocrRecognizer) -> None:
        self.recognizer, self.calls = recognizer, 0

    def __call__(self, image: Image.Image) -> list[Line]:
        self.calls += 1
        tsv = self.recognizer.tsv(image, languages="eng", dpi=300, timeout=30, block=True)
        return [line for p in parse_tsv(tsv) for line in p.lines]


def _page(fills: list[int], texts: list[tuple[str, int]]) -> np.ndarray:
    """The three cells, each filled with its grey and holding its text in its ink."""
    page = Image.new("L", (900, 100), 255)
    draw = ImageDraw.Draw(page)
    for c, (fill, (text, ink)) in enumerate(zip(fills, texts, strict=True)):
        draw.rectangle((300 * c, 0, 300 * c + 299, 99), fill=fill)
        draw.text((300 * c + 40, 30), text, font=_FONT, fill=ink)
        draw.line((300 * c, 0, 300 * c, 99), fill=0, width=2)
    return np.asarray(page)


def _texts(cells: list[list[list[Word]]]) -> list[str]:
    return [" ".join(w.text for w in cell) for cell in cells[0]]


def test_light_type_on_grey_and_dark_type_in_white_are_read_and_a_blank_cell_is_not(
    recognizer: TesserocrRecognizer,
) -> None:
    gray = _page([150, 255, 255], [("2007", 255), ("Pos", 0), ("", 0)])
    read = Counted(recognizer)
    cells: list[list[list[Word]]] = [[[], [], []]]
    BlankCellReader(gray, read)(GRID, cells)
    assert _texts(cells) == ["2007", "Pos", ""]
    assert read.calls == 2  # the white cell with nothing in it is not read


def test_a_cell_holding_a_word_or_a_neighbours_overhang_is_not_read_again(
    recognizer: TesserocrRecognizer,
) -> None:
    # The first cell's word reaches into the second, which holds nothing else; the third
    # holds a doubtful mark, read over by what its print says.
    gray = _page([255, 255, 255], [("Total", 0), ("", 0), ("Pos", 0)])
    long = Word("Totalling", 0.9, Box(40, 30, 420, 70))
    doubt = Word("=", 0.3, Box(610, 40, 630, 60))
    read = Counted(recognizer)
    cells: list[list[list[Word]]] = [[[long], [], [doubt]]]
    ImageDraw.Draw(image := Image.fromarray(gray)).text((340, 30), "ing", font=_FONT, fill=0)
    BlankCellReader(np.asarray(image), read)(GRID, cells)
    assert _texts(cells) == ["Totalling", "", "Pos"]
    assert read.calls == 1


def test_a_merged_cell_is_read_once_whole() -> None:
    gray = _page([150, 150, 255], [("Sales", 255), ("", 255), ("", 0)])
    grid = Grid(GRID.box, GRID.rows, GRID.columns, (Span(0, 0, 1, 2),))
    seen: list[tuple[int, int]] = []

    def read(image: Image.Image) -> list[Line]:
        seen.append(image.size)
        return []

    BlankCellReader(gray, read)(grid, [[[], [], []]])
    assert len(seen) == 1 and seen[0][0] > 500  # both columns' width, in one image


def test_a_grid_running_off_the_page_reads_only_what_is_on_it() -> None:
    gray = _page([150, 255, 255], [("", 255), ("", 0), ("", 0)])
    grid = Grid(Box(0, 0, 900, 300), (0, 97, 300), (0, 300, 600, 900))
    seen: list[Image.Image] = []

    def read(image: Image.Image) -> list[Line]:
        seen.append(image)
        return []

    BlankCellReader(gray, read)(grid, [[[], [], []], [[], [], []]])
    assert seen == []  # the shaded cell holds no print; the row below lies off the page
