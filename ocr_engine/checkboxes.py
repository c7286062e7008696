"""A form's check boxes, read as boxes: ticked or not.

Tesseract reads a check box as letters and brackets ("[]", "EX]", "KX]", "(]_"), or glues
its side to the word after it ("[Supervised"), and whether it is ticked is lost. A box is
four straight sides of one length round a square of paper; ticked, a cross or a mark fills
some of it. Each one found where a line's word begins, or in the room before a word, is put
in as "☒" or "☐", in place of whatever was read of it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from .words import Box, Line, Word

# Reads a region of the page again as lines of words, in page pixels (tasks._region_reader).
Reread = Callable[[Box], Sequence[Line]]

CHECKED = "☒"
UNCHECKED = "☐"

_INK = 128  # gray levels below this are ink
_SMALLEST, _LARGEST = 0.6, 1.6  # a box's side, in the heights of its line
_SQUARE = 1.3  # at most this much wider than tall, or taller than wide
_SIDE = 0.85  # share of each side drawn
_THICKEST = 0.12  # of the side (2 px at least): a box's rules are thin
_TICKED = 0.08  # share of the inside inked by a tick or a cross
_UNBROKEN = 0.95  # share of a rule's length that one run of ink covers
_DOUBTFUL = 0.75  # a word read with less confidence than this may have a box glued to it
_INNER = 0.5  # share drawn of the row or column just inside a rule, or past its end
_FILLED = 0.6  # a square this full is a bullet, not a box
_MARGIN = 0.15  # of the side: the inside, clear of the rules and their halo
_MARKS = "[](){}|_\\.,:;!'\"‘’“”"  # what a box's sides and corners are read as


def mark(lines: list[Line], gray: np.ndarray, reread: Reread) -> list[Line]:
    """The lines with each check box at the start of one of their words read as one; a word
    the box was read into is read again without it."""
    boxes: list[Box] = []  # every box found, each put in one line only
    return [_marked(line, gray, reread, boxes) for line in lines]


def _marked(line: Line, gray: np.ndarray, reread: Reread, boxes: list[Box]) -> Line:
    if any(w.monospace for w in line.words):
        return line  # code: its brackets are brackets
    words = sorted(line.words, key=lambda w: w.box.left)
    height = line.height
    found = len(boxes)
    previous = line.box.left - round(_LARGEST * height) - round(height)
    for word in list(words):
        # A box read as a word, or glued to one, starts at the word; a box Tesseract left
        # out stands in the space before it, where there is room for one.
        since = max(previous, word.box.left - round(_LARGEST * height) - round(height))
        previous = word.box.right
        if word not in words:
            continue  # taken into a box found at an earlier word
        room = word.box.left - since >= _SMALLEST * height
        if not (room or word.confidence < _DOUBTFUL or any(c in _MARKS for c in word.text[:3])):
            continue  # a word read clearly, set close after another: no box before or in it
        box = find_box(gray, word.box, height, start=since if room else word.box.left)
        middle = (box.top + box.bottom) / 2 if box is not None else 0
        if box is None or not line.box.top <= middle <= line.box.bottom:
            continue  # none, or the box of the line above or below
        if any(box.overlap(b) for b in boxes):
            continue
        boxes.append(box)
        words = _without_box(words, box, reread)
        words.append(Word(CHECKED if _ticked(gray, box) else UNCHECKED, 1.0, box))
    if len(boxes) == found:
        return line
    return Line(sorted(words, key=lambda w: w.box.left))


def find_box(gray: np.ndarray, word: Box, height: float, *, start: int | None = None) -> Box | None:
    """The check box that stands at the word's left end, or between `start` and it, if one
    does (page pixels)."""
    largest = round(_LARGEST * height)
    pad = max(2, round(height / 4))
    first = word.left if start is None else min(start, word.left)
    top, bottom = max(0, word.top - pad), min(gray.shape[0], word.bottom + pad)
    left, right = max(0, first - pad), min(gray.shape[1], word.left + largest + pad)
    if bottom - top < 4 or right - left < 4:
        return None
    ink = gray[top:bottom, left:right] < _INK
    # A box's left side: a column with a long enough run of ink down it.
    inked = ink.sum(axis=0)
    tall = inked[: word.left - left + round(height) + 1] >= _SMALLEST * height
    for x in np.flatnonzero(tall).tolist():
        # A right side as tall as this one can be must stand a square's width away.
        side = int(inked[x])
        beside = inked[x + round(_SMALLEST * height / _SQUARE) : x + round(side * _SQUARE) + 1]
        if not beside.size or beside.max() < _SIDE * _SMALLEST * height:
            continue
        # And rules across its top and bottom, as wide as the narrowest box at least.
        bars = np.flatnonzero(
            ink[:, x : x + round(_SMALLEST * height / _SQUARE)].mean(axis=1) >= _UNBROKEN
        )
        if len(bars) < 2 or bars[-1] - bars[0] < _SMALLEST * height:
            continue
        run = _longest_run(ink[:, x])
        if run is None or run[1] - run[0] < _SMALLEST * height or run[1] - run[0] > largest:
            continue
        found = _square_from(ink, x, *run)
        if found is not None:
            return Box(left + found.left, top + found.top, left + found.right, top + found.bottom)
    return None


def _square_from(ink: np.ndarray, x0: int, y0: int, y1: int) -> Box | None:
    """The box (in `ink`'s pixels) whose left side is column x0, from y0 to y1.

    A box's four sides are thin straight rules of one length that meet at square corners
    and go no further, round a square of paper: a letter in a heavy face ("d", "O") has
    thick walls that curve into its counter, and a table's cell has rules that run on.
    """
    side = y1 - y0
    thinnest = max(2, round(_THICKEST * side))
    rows = ink[y0 : y1 + 1]
    columns = rows.mean(axis=0)
    left = _thickness(columns[x0:])
    low, high = x0 + round(side / _SQUARE), min(ink.shape[1] - 1, x0 + round(side * _SQUARE))
    x1 = next((x for x in range(high, low - 1, -1) if columns[x] >= _SIDE), None)
    if x1 is None:
        return None
    right = _thickness(columns[x1::-1])
    across = ink[:, x0 : x1 + 1].mean(axis=1)
    # The top and bottom rules, where the sides' ends may run a pixel past them.
    y0 = next((y for y in range(y0, y0 + thinnest + 1) if across[y] >= _SIDE), y0)
    y1 = next((y for y in range(y1, y1 - thinnest - 1, -1) if across[y] >= _SIDE), y1)
    top, bottom = _thickness(across[y0:]), _thickness(across[y1::-1])
    if min(left, right, top, bottom) == 0 or max(left, right, top, bottom) > thinnest:
        return None
    # Each rule is drawn unbroken: letters set close ("EM") leave a gap between them.
    rules = (
        *(ink[y0 : y1 + 1, x] for x in (x0, x1)),
        *(ink[y, x0 : x1 + 1] for y in (y0 + top // 2, y1 - bottom // 2)),
    )
    if any(_run_share(rule) < _UNBROKEN for rule in rules):
        return None
    # Each rule ends sharply on the inside: a curve thins off over several pixels.
    inner = (columns[x0 + left], columns[x1 - right], across[y0 + top], across[y1 - bottom])
    if max(inner) >= _INNER:
        return None
    # The rules stop at the corners, and the box stands apart: nothing runs on from its
    # sides or rules, above, below or either side ("DE" set close is no box).
    reach = max(2, side // 3)
    sides = ((x0, left), (x1 - right + 1, right))
    ends = ((y0, top), (y1 - bottom + 1, bottom))
    beyond = [
        *(ink[max(0, y0 - reach) : max(0, y0 - 1), x : x + t] for x, t in sides),
        *(ink[y1 + 2 : y1 + reach + 1, x : x + t] for x, t in sides),
        *(ink[y : y + t, max(0, x0 - reach) : max(0, x0 - 1)] for y, t in ends),
        *(ink[y : y + t, x1 + 2 : x1 + reach + 1] for y, t in ends),
        ink[y0 : y1 + 1, max(0, x0 - 2) : max(0, x0 - 1)],
        ink[y0 : y1 + 1, x1 + 2 : x1 + 3],
    ]
    if any(b.size and b.mean() >= _INNER for b in beyond):
        return None
    box = Box(x0, y0, x1 + 1, y1 + 1)
    inside = _inside(ink, box)
    return box if inside.size and inside.mean() < _FILLED else None


def _thickness(coverage: np.ndarray) -> int:
    """How many rows or columns from the first on are drawn across (a rule's width)."""
    drawn = coverage >= _SIDE
    return int(np.argmin(drawn)) if not drawn.all() else len(drawn)


def _run_share(pixels: np.ndarray) -> float:
    """The share of a row or column of pixels that its longest run of ink covers."""
    run = _longest_run(pixels)
    return 0.0 if run is None else (run[1] - run[0] + 1) / max(1, len(pixels))


def _longest_run(pixels: np.ndarray) -> tuple[int, int] | None:
    """The first and last index of the longest run of ink in a row or column."""
    edges = np.diff(np.concatenate(([0], pixels.astype(np.int8), [0])))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1) - 1
    if not len(starts):
        return None
    longest = int(np.argmax(ends - starts))
    return int(starts[longest]), int(ends[longest])


def _inside(ink: np.ndarray, box: Box) -> np.ndarray:
    """The box's inside, clear of its rules, in `ink` (or gray levels)."""
    margin = max(1, round(_MARGIN * box.height))
    return ink[box.top + margin : box.bottom - margin, box.left + margin : box.right - margin]


def _ticked(gray: np.ndarray, box: Box) -> bool:
    inside = _inside(gray, box)
    return bool(inside.size) and float((inside < _INK).mean()) >= _TICKED


def _without_box(words: list[Word], box: Box, reread: Reread) -> list[Word]:
    """The words with what was read of the box taken out: a word mostly inside it goes, and
    so does a mark read beside it; a word it begins ("[Supervised", "LJNo") is read again
    without it."""
    kept: list[Word] = []
    for word in words:
        inside = word.box.overlap(box)
        if inside >= 0.5 * word.box.area:
            continue
        if not word.text.strip(_MARKS) and box.right <= word.box.left < box.right + box.width:
            continue  # a rule or a speck read beside the box ("[] _ Protective")
        if inside and word.box.left < box.right:
            if word.box.right > box.right + 1:
                rest = Box(box.right + 1, word.box.top, word.box.right, word.box.bottom)
                kept.extend(w for line in reread(rest) for w in line.words if w.text.strip())
            continue
        kept.append(word)
    return kept
