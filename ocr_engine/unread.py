"""Lines Tesseract's layout left unread: print on the page that no word covers.

Tesseract finds text lines before it reads them, and a short line standing alone (a list's
item of two letters, "– pC" under "The pens of group C:") may be found at one resolution
and not at another: the page read smaller for speed lost such lines whole, words and
all, where the plain CLI at full resolution kept them. What was read leaves the page's
print covered by words; ink of the size of a line of text that no word covers, away from
drawings, is read again alone at the page's own resolution, and the words read there with
confidence are lines of their own.
"""

from __future__ import annotations

import math

import numpy as np

from .listings import Reread
from .regions import components
from .words import Box, Line, union_all

_TYPE_PERCENTILE = 75  # of words' heights: most words reach the type's full height or near
_CELLS_PER_LINE = 4  # a line's height spans this many cells of the ink grid
_CELL_INK = 0.08  # of a cell inked, to count
_COARSE_INK = 192  # grey levels: darker is ink on the page drawn small, its strokes greyed
_MAX_CELLS = 10_000  # inked cells uncovered at most, or the page is pictures
_LOW = 0.5  # of a line's height: ink lower than this is specks, a rule's edge, a dash
_HIGH = 2.0  # and taller than this, a drawing or large print, not a line
_NEAR = 1.0  # line heights: ink this close to a drawing is the drawing's
_GAP = 2.0  # line heights between pieces of ink of one line
_APART = 1.0  # line heights: a piece this close beside a word is that word's ink
_PAD = 0.3  # line heights of white read round a piece
_CONFIDENT = 0.8  # of a word read again, at least
_MIN_CHARACTERS = 2  # letters or figures of a word read again
_MAX_READS = 12  # pieces read again on a page at most: a page of specks costs no more


def read_unread(lines: list[Line], coarse: tuple[np.ndarray, float], read: Reread) -> list[Line]:
    """The page's lines and the lines read where ink of a line's size lies uncovered by any
    word (`coarse` the page at analysis resolution and the factor back to page pixels),
    each where it stands among them."""
    words = [w for line in lines for w in line.words]
    # The type's height, from words of letters or figures (a dash's box is no measure).
    sized = [w.box.height for w in words if sum(c.isalnum() for c in w.text) > 1]
    if not sized:
        return lines
    height = float(np.percentile(sized, _TYPE_PERCENTILE))
    pieces = _uncovered(coarse, [w.box for w in words], height)
    found: list[Line] = []
    for box in _in_lines(pieces, height)[:_MAX_READS]:
        pad = round(_PAD * height)
        region = Box(box.left - pad, box.top - pad, box.right + pad, box.bottom + pad)
        for line in read(region):
            # A word of two letters or figures at least: a bullet alone reads as "e" or "o".
            kept = [
                w
                for w in line.words
                if w.confidence >= _CONFIDENT
                and sum(c.isalnum() for c in w.text) >= _MIN_CHARACTERS
                and not any(w.box.overlap(other.box) for other in words)
            ]
            if kept:
                found.append(Line(kept))
    if not found:
        return lines
    return sorted([*lines, *found], key=lambda ln: (ln.box.top, ln.box.left))


def _uncovered(coarse: tuple[np.ndarray, float], covered: list[Box], height: float) -> list[Box]:
    """The boxes (page px) of the pieces of ink no word covers that are of a line's size,
    stand apart from the words and away from any larger piece; none on a page of pictures,
    whose ink would cost more to take apart than its lines are worth."""
    gray, factor = coarse
    ink = gray < _COARSE_INK
    margin = height / _CELLS_PER_LINE
    for b in covered:
        ink[
            max(0, int((b.top - margin) / factor)) : max(
                0, math.ceil((b.bottom + margin) / factor)
            ),
            max(0, int((b.left - margin) / factor)) : max(
                0, math.ceil((b.right + margin) / factor)
            ),
        ] = False
    cell = max(1, round(height / factor / _CELLS_PER_LINE))
    rows, cols = ink.shape[0] // cell, ink.shape[1] // cell
    if rows == 0 or cols == 0:
        return []
    cells = ink[: rows * cell, : cols * cell].reshape(rows, cell, cols, cell).mean(axis=(1, 3))
    inked = cells > _CELL_INK
    if np.count_nonzero(inked) > _MAX_CELLS:
        return []
    scale = cell * factor
    boxes = [
        Box(round(c0 * scale), round(r0 * scale), round((c1 + 1) * scale), round((r1 + 1) * scale))
        for r0, c0, r1, c1, _ in components(inked)
    ]
    large = [b for b in boxes if b.height > _HIGH * height]
    near = _NEAR * height
    # A piece close beside a word is that word's own ink its box missed (a raised footnote
    # mark beside a misread word), not a line of its own.
    return [
        b
        for b in boxes
        if _LOW * height <= b.height <= _HIGH * height
        and b.width >= _LOW * height
        and not any(_within(b, other, near) for other in large)
        and not any(_beside(b, word, _APART * height) for word in covered)
    ]


def _beside(box: Box, word: Box, reach: float) -> bool:
    """Whether a piece stands level with a word, within `reach` of it across."""
    level = min(box.bottom, word.bottom) > max(box.top, word.top)
    return level and box.left - reach < word.right and word.left - reach < box.right


def _within(box: Box, other: Box, reach: float) -> bool:
    """Whether two boxes come within `reach` of each other."""
    return (
        box.left - reach < other.right
        and other.left - reach < box.right
        and box.top - reach < other.bottom
        and other.top - reach < box.bottom
    )


def _in_lines(pieces: list[Box], height: float) -> list[Box]:
    """The pieces joined where they stand level with each other and close: one box a line."""
    joined: list[list[Box]] = []
    for box in sorted(pieces, key=lambda b: (b.top, b.left)):
        for group in joined:
            last = union_all(group)
            level = min(box.bottom, last.bottom) - max(box.top, last.top) >= box.height / 2
            if level and box.left - last.right <= _GAP * height:
                group.append(box)
                break
        else:
            joined.append([box])
    return [union_all(group) for group in joined]
