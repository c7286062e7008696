"""Table cells that came out blank but are not: their print read again, cell by cell.

Tesseract's page segmentation takes a block of grey (a table's shaded header) for a picture
and reads nothing in it: light type on the grey vanishes when the page is thresholded, and
even dark type in the white cells beside it is taken for part of the picture. The table's
grid says where each cell is. A cell left without words whose inside holds marks of clear
contrast is cut out, stretched to the full range of grey, turned to dark on light where its
marks are lighter than its ground, and read alone; the words read with confidence go into
the cell, in place of any mark read there with doubt.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PIL import Image, ImageOps

from .model import Span
from .regions import Grid
from .words import Box, Line, Word

# Reads an image (a cell made dark on light) as lines, in its own pixels.
Read = Callable[[Image.Image], list[Line]]

_INSET = 4  # page px kept clear of a cell's rules
_MIN_CONTRAST = 80  # grey levels between a cell's ground and its marks
_MIN_MARKS = 0.005  # share of a cell's inside that its marks cover, at least
_MIN_SIDE = 12  # page px: narrower or lower cells hold no print
_PADDING = 12  # white page px round a cell read alone
_CONFIDENCE = 0.6  # of a word read alone in a cell
_RULE_GREY = 192  # darker than this, a pixel may be a rule's
_RULE_SHARE = 0.8  # of a cell's height (width) that a column (row) of dark pixels is a rule
_MAX_CELLS = 60  # cells read again on a page: a sheet of blank boxes costs no more
_SIGNS = 2  # characters of a cell's lone sign, a dash misread
_DARK = 128  # of the stretched inside: darker is a mark
_SOLID = 0.5  # of a dash's box, inked (its edges are grey)
_DASH_LENGTH = 2  # a dash is at least this many times as long as thick
_DASH_THICK = 0.25  # of the cell's inside height, a dash's thickness at most
_DASH_CONFIDENCE = 0.9
_MARK_PIXELS = 8  # the darkest (lightest) pixels of a cell that may be stray, not a mark
_MIN_GLYPH = 10  # page px: marks this tall are a glyph, however little ink they are
_GLYPH_SHARE = 0.3  # of a cell's inside height, a glyph's at least


class BlankCellReader:
    """Reads a page's blank cells again (`tables.ReadBlank`), up to `_MAX_CELLS` of them.
    `gray` is the page as an array; `read` reads a cell cut out of it."""

    def __init__(self, gray: np.ndarray, read: Read) -> None:
        self._gray, self._read = gray, read
        self._budget = _MAX_CELLS

    def __call__(self, grid: Grid, cells: list[list[list[Word]]]) -> None:
        words = [w for row in cells for cell in row for w in cell]
        for (r, c), box in _cell_boxes(grid):
            if self._budget <= 0:
                return
            if r >= len(cells) or c >= len(cells[r]) or not _signs_only(cells[r][c]):
                continue
            own = {id(w) for w in cells[r][c]}
            others = [w.box for w in words if id(w) not in own]
            marks = _marks(box, self._gray, others)
            dash = None if marks is None else _lone_dash(marks, box.left + _INSET, box.top + _INSET)
            if dash is not None:
                cells[r][c][:] = [dash]
                continue
            if not _blank(cells[r][c]) or marks is None or not _enough(marks):
                continue
            self._budget -= 1
            found = _read_cell(marks, box.left + _INSET, box.top + _INSET, self._read)
            if found:
                cells[r][c][:] = found


def _blank(cell: list[Word]) -> bool:
    """Whether a cell holds no word, or only a mark read with doubt (the "=" Tesseract
    makes of a shaded cell's edge)."""
    return all(w.confidence < _CONFIDENCE and not any(ch.isalnum() for ch in w.text) for w in cell)


def _cell_boxes(grid: Grid) -> list[tuple[tuple[int, int], Box]]:
    """Each cell's (row, column) and box, a merged cell once, as its top left cell."""
    merged = grid.merged()
    boxes = []
    for r in range(len(grid.rows) - 1):
        for c in range(len(grid.columns) - 1):
            span = merged.get((r, c), Span(r, c, 1, 1))
            if (span.row, span.column) == (r, c):
                boxes.append(((r, c), grid.span_box(span)))
    return boxes


def _signs_only(cell: list[Word]) -> bool:
    """Whether a cell holds no word, or only a sign or two: a dash misread ("=", ":")."""
    return all(len(w.text) <= _SIGNS and not any(ch.isalnum() for ch in w.text) for w in cell)


def _lone_dash(marks: np.ndarray, left: int, top: int) -> Word | None:
    """The dash that is all a cell's marks hold (`marks` its inside, dark on white, its top
    left at (left, top)): one bar, longer than thick, clear of the inside's edges.

    A table's "-" for nil is a few pixels of ink in a large cell: Tesseract reads it as
    "=", ":" or nothing, and too little of the cell is ink to read it again. Its shape
    tells it."""
    dark = np.asarray(_without_rules(marks)) < _DARK
    rows, columns = np.flatnonzero(dark.any(axis=1)), np.flatnonzero(dark.any(axis=0))
    if len(rows) == 0:
        return None
    thick, long = int(rows[-1] - rows[0] + 1), int(columns[-1] - columns[0] + 1)
    bar = dark[rows[0] : rows[-1] + 1, columns[0] : columns[-1] + 1]
    # One run of rows and of columns, filled: "=" and ":" are two runs of rows, "." square.
    solid = len(rows) == thick and len(columns) == long and float(bar.mean()) >= _SOLID
    height, width = dark.shape
    clear = rows[0] > 0 and rows[-1] < height - 1 and columns[0] > 0 and columns[-1] < width - 1
    if not (solid and clear and long >= _DASH_LENGTH * thick and thick <= _DASH_THICK * height):
        return None
    box = Box(
        left + int(columns[0]),
        top + int(rows[0]),
        left + int(columns[-1]) + 1,
        top + int(rows[-1]) + 1,
    )
    return Word("-", _DASH_CONFIDENCE, box)


def _enough(inside: np.ndarray) -> bool:
    """Whether marks cover enough of a cell's inside to be print worth reading, or stand as
    tall as a glyph: a lone "1" in a wide cell is a few pixels of ink."""
    dark = inside < _DARK
    if np.count_nonzero(dark) >= _MIN_MARKS * inside.size:
        return True
    rows = np.flatnonzero(dark.any(axis=1))
    return len(rows) > 0 and rows[-1] - rows[0] + 1 >= max(_MIN_GLYPH, _GLYPH_SHARE * len(dark))


def _marks(box: Box, gray: np.ndarray, others: list[Box]) -> np.ndarray | None:
    """A cell's inside, clear of its rules and of the words of other cells that reach into
    it, stretched to dark print on white, if it holds marks of clear contrast, however
    few."""
    if box.width < _MIN_SIDE + 2 * _INSET or box.height < _MIN_SIDE + 2 * _INSET:
        return None
    left, top = box.left + _INSET, box.top + _INSET
    inside = gray[top : box.bottom - _INSET, left : box.right - _INSET].astype(np.int32)
    if min(inside.shape) < _MIN_SIDE:
        return None  # the grid runs off the page
    ground = int(np.median(inside))
    for o in others:
        inside[
            max(0, o.top - top) : max(0, o.bottom - top),
            max(0, o.left - left) : max(0, o.right - left),
        ] = ground
    # Marks are what stands off the ground the most, darker or lighter.
    # Of a mark, a few pixels at least, not a share of the cell: a lone "-" or "1" in a
    # wide cell is less than one per cent of it.
    ordered = np.partition(inside, (_MARK_PIXELS, inside.size - 1 - _MARK_PIXELS), axis=None)
    darkest, lightest = int(ordered[_MARK_PIXELS]), int(ordered[inside.size - 1 - _MARK_PIXELS])
    mark = darkest if ground - darkest >= lightest - ground else lightest
    if abs(ground - mark) < _MIN_CONTRAST:
        return None
    # The ground white, the marks black, whichever was the lighter.
    stretched = (inside - mark) * 255 / (ground - mark)
    return np.clip(stretched, 0, 255).astype(np.uint8)


def _read_cell(inside: np.ndarray, left: int, top: int, read: Read) -> list[Word]:
    """The words read with confidence in a cell's inside, its top left at (left, top)."""
    padded = ImageOps.expand(_without_rules(inside), _PADDING, fill=255)
    return [
        w
        for line in read(padded)
        for w in line.moved(left - _PADDING, top - _PADDING).words
        if w.confidence >= _CONFIDENCE and w.text.strip()
    ]


def _without_rules(inside: np.ndarray) -> Image.Image:
    """A cell, dark on light, without the rules across or down it that the grid did not
    draw (a short rule between a header's "N" and "% Pos"): Tesseract reads a block no
    further than such a rule."""
    pixels = inside.copy()
    dark = pixels < _RULE_GREY  # a hairline's blurred edges too
    height, width = dark.shape
    pixels[:, dark.sum(axis=0) >= _RULE_SHARE * height] = 255
    pixels[dark.sum(axis=1) >= _RULE_SHARE * width, :] = 255
    return Image.fromarray(pixels)
