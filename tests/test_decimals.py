"""Decimal points put back into a table's figures from the page's pixels."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from ocr_engine import decimals
from ocr_engine.words import Box, Word
from tools.corpus import FONT

_FONT = ImageFont.truetype(str(FONT), 40)
_ROW = 70


def _page(columns: list[list[str]]) -> tuple[np.ndarray, list[list[list[Word]]]]:
    """A page with `columns` of figures drawn as printed, and the table's cells as they
    were read: each figure's word with the text printed, boxed by its ink."""
    rows = max(len(c) for c in columns)
    page = Image.new("L", (200 * len(columns) + 100, _ROW * rows + 100), 255)
    draw = ImageDraw.Draw(page)
    cells: list[list[list[Word]]] = [[[] for _ in columns] for _ in range(rows)]
    for c, column in enumerate(columns):
        for r, text in enumerate(column):
            x, y = 50 + 200 * c, 50 + _ROW * r
            draw.text((x, y), text, font=_FONT, fill=0)
            left, top, right, bottom = draw.textbbox((x, y), text, font=_FONT)
            cells[r][c] = [Word(text, 0.9, Box(left - 2, top - 2, right + 2, bottom + 2))]
    return np.asarray(page), cells


def _read_as(cells: list[list[list[Word]]], readings: dict[tuple[int, int], str]) -> None:
    for (r, c), text in readings.items():
        cells[r][c][0].text = text


def _texts(cells: list[list[list[Word]]]) -> list[list[str]]:
    return [[cell[0].text if cell else "" for cell in row] for row in cells]


def test_a_point_dropped_from_a_figure_is_put_back_where_the_pixels_show_it() -> None:
    gray, cells = _page([["1995", "2000", "2005"], ["15.1", "9.8", "21.4"], ["8.7", "6.4", "12.0"]])
    _read_as(cells, {(1, 1): "98", (2, 1): "214", (1, 2): "64"})
    decimals.mend([cells], gray)
    assert _texts(cells) == [
        ["1995", "15.1", "8.7"],
        ["2000", "9.8", "6.4"],
        ["2005", "21.4", "12.0"],
    ]


def test_a_comma_and_two_decimals_are_the_tables_own_way() -> None:
    gray, cells = _page([["3,25", "10,50", "7,75", "1,05"]])
    _read_as(cells, {(1, 0): "1050"})
    decimals.mend([cells], gray)
    assert [row[0] for row in _texts(cells)] == ["3,25", "10,50", "7,75", "1,05"]


def test_figures_without_a_point_on_the_page_stay_as_read() -> None:
    # Whole numbers in a column of decimals, a column of years beside it, and a table whose
    # figures with a point are too few to say how it writes them.
    gray, cells = _page([["1995", "2000", "2005", "2010"], ["15.1", "98", "21.4", "7.5"]])
    decimals.mend([cells], gray)
    assert _texts(cells) == [["1995", "15.1"], ["2000", "98"], ["2005", "21.4"], ["2010", "7.5"]]
    gray, cells = _page([["15.1", "9.8", "214", "75"]])
    _read_as(cells, {(1, 0): "98"})
    decimals.mend([cells], gray)
    assert [row[0] for row in _texts(cells)] == ["15.1", "98", "214", "75"]


def test_a_mark_that_is_no_point_is_left_alone() -> None:
    # A point where the decimals do not start, a raised dot, and a speck beside the point:
    # none is the figure's missing point.
    gray, cells = _page([["1.5", "2.5", "3.5", "4.25", "6·5", "7.5"]])
    _read_as(cells, {(3, 0): "425", (4, 0): "65"})
    speckled = np.array(gray)
    word = cells[5][0][0]
    word.box = Box(word.box.left, word.box.top, word.box.right + 14, word.box.bottom)
    speckled[word.box.bottom - 8 : word.box.bottom - 4, word.box.right - 8 : word.box.right - 4] = 0
    word.text = "75"
    decimals.mend([cells], speckled)
    assert [row[0] for row in _texts(cells)] == ["1.5", "2.5", "3.5", "425", "65", "75"]
