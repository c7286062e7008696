"""Decimal points that Tesseract dropped from a table's figures.

A figure alone in its cell ("9.8") is a short line, and its point is a few pixels: Tesseract
often reads it as "98", in the CLI as in the right-sized reading, and reading the cell again
does not say the same thing twice. The page's pixels do. A table's figures show how its
numbers are written: where most of those with a separator have the same one and the same
number of decimals, a figure of digits alone, in a column that also holds such numbers, is
looked at on the page. When its ink is its digits, one apart from the next, and one small
mark low between the two digits where the decimals start, the separator is put back.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

import numpy as np

from .words import INK, Word, spans

# A figure with a separator, and what may stand around it (a sign, brackets, a per cent, or
# a rule's glyph the table kept).
_DECIMAL = re.compile(r"^\W?\d+([.,])(\d+)\W{0,2}$")
_DIGITS = re.compile(r"^\d{2,}$")
_MIN_AGREEING = 3  # figures with a separator that make a table's way of writing numbers
_AGREEING_SHARE = 0.6  # of those figures, the ones written the same way
_DIGIT_HEIGHT = 0.6  # an ink run at least this share of the tallest is a digit
_MARK_HEIGHT = 0.35  # a point (or a comma's head) is at most this share of a digit's height
_MARK_LOW = 0.5  # and its top is in the lower half of the digits


def mend(tables: Sequence[Sequence[Sequence[list[Word]]]], gray: np.ndarray) -> None:
    """Put back the separators missing from the figures of `tables` (rows of cells, each
    cell its words) where the page's pixels (`gray`, the page's words' coordinates) show
    them."""
    for cells in tables:
        style = _written(cells)
        if style is None:
            continue
        separator, decimals = style
        columns = max((len(row) for row in cells), default=0)
        for c in range(columns):
            column = [row[c] for row in cells if c < len(row)]
            if not any(_style(cell) == style for cell in column):
                continue
            for cell in column:
                if len(cell) != 1 or not _DIGITS.match(cell[0].text):
                    continue
                word = cell[0]
                if len(word.text) > decimals and _point_before(word, gray, decimals):
                    at = len(word.text) - decimals
                    word.text = f"{word.text[:at]}{separator}{word.text[at:]}"


def _style(cell: list[Word]) -> tuple[str, int] | None:
    """How a cell's figure is written: its separator and number of decimals."""
    if len(cell) != 1:
        return None
    match = _DECIMAL.match(cell[0].text)
    return (match.group(1), len(match.group(2))) if match else None


def _written(cells: Sequence[Sequence[list[Word]]]) -> tuple[str, int] | None:
    """The way most of a table's figures with a separator are written, if they agree."""
    styles = Counter(s for row in cells for cell in row if (s := _style(cell)) is not None)
    if not styles:
        return None
    style, count = styles.most_common(1)[0]
    if count < _MIN_AGREEING or count < _AGREEING_SHARE * sum(styles.values()):
        return None
    return style


def _point_before(word: Word, gray: np.ndarray, decimals: int) -> bool:
    """Whether the word's ink is its digits, set apart, with one small mark low between the
    digit `decimals` from the end and the one before it."""
    box = word.box
    ink = gray[max(0, box.top) : box.bottom, max(0, box.left) : box.right] < INK
    if ink.size == 0:
        return False
    starts, stops = spans(ink.any(axis=0))
    runs = []
    for start, stop in zip(starts, stops, strict=True):
        rows = np.flatnonzero(ink[:, start:stop].any(axis=1))
        runs.append((int(rows[0]), int(rows[-1]) + 1))
    if not runs:
        return False
    top = min(t for t, _ in runs)
    base = max(b for _, b in runs)
    height = base - top
    digits = [i for i, (t, b) in enumerate(runs) if b - t >= _DIGIT_HEIGHT * height]
    marks = [i for i in range(len(runs)) if i not in digits]
    if len(digits) != len(word.text) or len(marks) != 1:
        return False
    t, b = runs[marks[0]]
    low = t >= top + _MARK_LOW * height and b - t <= _MARK_HEIGHT * height
    # The mark between the digits where the decimals start.
    at = len(digits) - decimals
    return low and digits[at - 1] < marks[0] < digits[at]
