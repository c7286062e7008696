"""Dot leaders, the rows of dots that lead a contents entry to its page number, as dots.

Tesseract reads a leader as what its dots look like to a language model: "....0.2.2002.00000.4",
"2... ee ee eee", dots glued to the entry's last word. On a page of contents that is most of
the text, and the titles beside long leaders are misread too. A leader is measured on the
page instead: in a line's band, a run of small marks on the baseline, evenly spaced, with
nothing else between them. The entries around it are read again with the dots blanked out,
and the dots put back as one word per dot (a spaced leader, ". . . .", as typeset text
extracts) or one word of all of them (a close one, "......"), each on its own ink.
"""

from __future__ import annotations

import itertools
import statistics
from typing import TYPE_CHECKING

import numpy as np

from .words import (
    INK,
    Box,
    Line,
    Word,
    joined_with_partners,
    lines_inside,
    spans,
    spliced,
    union_all,
)

if TYPE_CHECKING:
    from .listings import Reread

_MIN_DOTS = 5  # an ellipsis has three, and a full stop after it four
_DOT_SIZE = 0.22  # a dot's width and height at most, in heights of the line's box
_BASELINE = 0.45  # a dot's bottom lies in the lower part of the line's band, below this share
_STEP_SPREAD = 0.35  # each step from dot to dot within this share of the leader's usual step
_SPACED = 3.5  # steps this many dot widths long make a spaced leader (". . ."), not "..."
_LEADING = ".,·:;…'`’"  # what a leader's dots glued to a word are read as
_GROUP_GAP = 2.5  # line heights between two lines with leaders of one run of them
_PAD = 0.3  # line heights of white read around the region
_NUMBER_GAP = 3.0  # line heights of white at most between an entry and its numbers
_NUMBER_WIDTH = 8.0  # line heights: the numbers beside the entries, at most this wide
_LEVEL = 0.3  # of a line's height: how far an entry's and its page number's tops may differ
_LEADER_REACH = 4.0  # line heights of white at most between a leader and either end of it


def leader_dots(words: list[Word]) -> set[int]:
    """The ids of the words that are a leader's dots: a run of lone points, or one word of
    points alone."""
    found: set[int] = set()
    if not any(word.text.startswith(".") for word in words):
        return found  # most lines: measured for their pitch many times over
    run: list[Word] = []
    for word in [*words, None]:
        if word is not None and word.text == ".":
            run.append(word)
            continue
        if len(run) >= _MIN_DOTS:
            found.update(id(w) for w in run)
        run = []
        if word is not None and len(word.text) >= _MIN_DOTS and set(word.text) == {"."}:
            found.add(id(word))
    return found


def mend_leaders(lines: list[Line], gray: np.ndarray, reread: Reread) -> list[Line]:
    """The lines with each dot leader found on the page read as its dots; `gray` the page
    in the words' pixels, `reread` what reads a region of it again.

    A leader also throws Tesseract off the words beside it ("IMEFOGUCHION" for
    "Introduction"): each run of lines with leaders is read again as one block with the dots
    blanked out, which also keeps an entry's number, title and page on one line, and the
    dots are put back between the words.
    """
    lines = _entries_rejoined(lines, gray)
    found = [(line, runs) for line in lines if (runs := _leaders_of(line, gray))]
    for group in _groups(found):
        present = {id(line) for line in lines}
        if any(id(line) not in present for line, _ in group):
            continue  # read again already, in the region of the group above it
        lines = _read_again(lines, group, gray, reread)
    return lines


def _entries_rejoined(lines: list[Line], gray: np.ndarray) -> list[Line]:
    """The lines with each entry and its page number that Tesseract read apart, with the
    leader between them dropped (its layout put the numbers in a column of their own), one
    line again, so that the leader is found in it: "Our Team Story" and "1" read far from
    "Meet the Team" and "3", the entries below kept whole."""
    return joined_with_partners(
        lines,
        lambda line, others: _led_to(line, others, gray),
        lambda entry, number: Line(sorted([*entry.words, *number.words], key=lambda w: w.box.left)),
    )


def _led_to(line: Line, lines: list[Line], gray: np.ndarray) -> int | None:
    """The index of the line level with `line` and next after it to its right when a leader
    runs in the white between the two; None if there is none."""
    box, height = line.box, line.box.height
    level = [
        (k, other)
        for k, other in enumerate(lines)
        if other.box.left > box.right + height
        and abs(other.box.top - box.top) <= _LEVEL * height
        and abs(other.box.bottom - box.bottom) <= _LEVEL * height
    ]
    if not level:
        return None
    k, other = min(level, key=lambda found: found[1].box.left)
    top, bottom = max(0, min(box.top, other.box.top)), max(box.bottom, other.box.bottom)
    ink = gray[top:bottom, max(0, box.right) : other.box.left] < INK
    if not ink.size:
        return None
    # The leader runs from the one to the other: one that stops short of a gutter leads to
    # a number on the line below, not to the next column's entry.
    reach = _LEADER_REACH * height
    width = ink.shape[1]
    runs = _leaders(_marks(ink, height))
    return k if any(run[0][0] <= reach and width - run[-1][2] <= reach for run in runs) else None


def _leaders_of(line: Line, gray: np.ndarray) -> list[list[Box]]:
    """The line's leaders, each as its dots' boxes on the page."""
    if len(line.words) < 2:
        return []
    box = line.box
    top, bottom = max(0, box.top), min(gray.shape[0], box.bottom)
    left, right = max(0, box.left), min(gray.shape[1], box.right)
    if bottom - top < 4 or right - left < 4:
        return []
    ink = gray[top:bottom, left:right] < INK
    return [
        [Box(left + x0, top + y0, left + x1, top + y1) for x0, y0, x1, y1 in run]
        for run in _leaders(_marks(ink, line.box.height))
    ]


def _groups(
    found: list[tuple[Line, list[list[Box]]]],
) -> list[list[tuple[Line, list[list[Box]]]]]:
    """Lines with leaders in runs of lines one below the other."""
    ordered = sorted(found, key=lambda f: f[0].box.top)
    groups: list[list[tuple[Line, list[list[Box]]]]] = []
    for entry in ordered:
        line = entry[0]
        if groups:
            last = groups[-1][-1][0]
            gap = line.box.top - last.box.bottom
            across = min(line.box.right, last.box.right) > max(line.box.left, last.box.left)
            if across and gap <= _GROUP_GAP * max(line.box.height, last.box.height):
                groups[-1].append(entry)
                continue
        groups.append([entry])
    return groups


def _read_again(
    lines: list[Line],
    group: list[tuple[Line, list[list[Box]]]],
    gray: np.ndarray,
    reread: Reread,
) -> list[Line]:
    """The lines with those of the group's region read again, leaders blanked, and the
    dots put back; or with the group's lines mended as first read, if the reading again
    lost any of them."""
    height = statistics.median(line.box.height for line, _ in group)
    box = union_all([line.box for line, _ in group])
    pad = round(_PAD * height)
    box = Box(max(0, box.left - pad), max(0, box.top - pad), box.right + pad, box.bottom + pad)
    region = _with_numbers(box, gray, height)
    members = lines_inside(region, lines)
    taken = {id(line) for line in members}
    clipped = [line.box for line in lines if id(line) not in taken and line.box.overlap(region)]
    runs = [run for _, line_runs in group for run in line_runs]
    dots = [d for run in runs for d in run]
    blank = [*clipped, *(Box(d.left - 1, d.top - 1, d.right + 1, d.bottom + 1) for d in dots)]
    fresh = [line for line in reread(region, blank=blank) if line.words]
    placed = _placed(fresh, runs)
    if placed is None:
        mended = {id(line): _with_dots(line, line_runs) for line, line_runs in group}
        return [mended.get(id(line), line) for line in lines]
    return spliced(lines, members, placed)


def _with_numbers(box: Box, gray: np.ndarray, height: float) -> Box:
    """The region grown over the ink close beside it on either side, if narrow: the
    entries' numbers and page numbers, which Tesseract may read as columns of their own, or
    not at all."""
    columns = np.asarray((gray[box.top : box.bottom] < INK).any(axis=0))
    gap, widest = round(_NUMBER_GAP * height), round(_NUMBER_WIDTH * height)
    left, right = box.left, box.right
    inked = np.flatnonzero(columns[max(0, left - gap) : left])
    if inked.size:
        x = max(0, left - gap) + int(inked[-1])
        while x > 0 and columns[max(0, x - gap) : x].any():
            x = max(0, x - gap) + int(np.flatnonzero(columns[max(0, x - gap) : x])[0])
        if left - x <= widest:
            left = x
    inked = np.flatnonzero(columns[right : right + gap])
    if inked.size:
        x = right + int(inked[0])
        while x < columns.size - 1 and columns[x + 1 : x + 1 + gap].any():
            x = x + 1 + int(np.flatnonzero(columns[x + 1 : x + 1 + gap])[-1])
        if x - right <= widest:
            right = x + 1
    return Box(left, box.top, right, box.bottom)


def _placed(fresh: list[Line], runs: list[list[Box]]) -> list[Line] | None:
    """The lines read again with each leader's dots put in the line level with it; None if
    a leader has no line level with it (the reading again lost its entry)."""
    level: dict[int, list[list[Box]]] = {}
    for run in runs:
        middle = statistics.median(d.center[1] for d in run)
        line = next((ln for ln in fresh if ln.box.top <= middle <= ln.box.bottom), None)
        if line is None:
            return None
        level.setdefault(id(line), []).append(run)
    return [_with_dots(line, level[id(line)]) if id(line) in level else line for line in fresh]


def _with_dots(line: Line, runs: list[list[Box]]) -> Line:
    words = list(line.words)
    for run in sorted(runs, key=lambda r: r[0].left):
        words = _replaced(words, run)
    return Line(words)


def _marks(ink: np.ndarray, height: float) -> list[tuple[int, int, int, int] | None]:
    """The band's marks left to right, as separated by white columns: each a dot's box
    (x0, y0, x1, y1 in the band) or None for anything larger or above the baseline; none at
    all if too few are dots for a leader (most lines)."""
    columns = ink.any(axis=0)
    if not columns.any():
        return []
    starts, ends = spans(columns)
    band = ink.shape[0]
    # Each mark's top and bottom row: blank columns between marks count for nothing.
    tops = np.where(columns, ink.argmax(axis=0), band)
    bottoms = np.where(columns, band - ink[::-1].argmax(axis=0), 0)
    y0 = np.minimum.reduceat(tops, starts)
    y1 = np.maximum.reduceat(bottoms, starts)
    widths, heights = ends - starts, y1 - y0
    size = max(2.0, _DOT_SIZE * height)
    dots = (
        (np.maximum(widths, heights) <= size)
        & (widths <= 2 * heights + 1)  # round, not a dash
        & (heights <= 2 * widths + 1)
        & (y1 >= band * (1 - _BASELINE))
    )
    if np.count_nonzero(dots) < _MIN_DOTS:
        return []
    return [
        (int(a), int(top), int(b), int(bottom)) if dot else None
        for a, b, top, bottom, dot in zip(starts, ends, y0, y1, dots, strict=True)
    ]


def _leaders(
    marks: list[tuple[int, int, int, int] | None],
) -> list[list[tuple[int, int, int, int]]]:
    """Runs of at least `_MIN_DOTS` consecutive dots, evenly spaced, on one baseline."""
    runs: list[list[tuple[int, int, int, int]]] = []
    current: list[tuple[int, int, int, int]] = []
    for mark in [*marks, None]:
        if mark is not None and _goes_on(current, mark):
            current.append(mark)
            continue
        if len(current) >= _MIN_DOTS and _even(current):
            runs.append(current)
        current = [mark] if mark is not None else []
    return runs


def _goes_on(run: list[tuple[int, int, int, int]], mark: tuple[int, int, int, int]) -> bool:
    if not run:
        return True
    last = run[-1]
    step = mark[0] - last[0]
    if len(run) >= 2:
        usual = statistics.median(b[0] - a[0] for a, b in itertools.pairwise(run))
        if abs(step - usual) > _STEP_SPREAD * usual:
            return False
    # One baseline: the dots' bottoms within a dot's height of each other.
    return abs(mark[3] - last[3]) <= max(2, last[3] - last[1])


def _even(run: list[tuple[int, int, int, int]]) -> bool:
    steps = [b[0] - a[0] for a, b in itertools.pairwise(run)]
    usual = statistics.median(steps)
    return usual > 0 and all(abs(s - usual) <= _STEP_SPREAD * usual for s in steps)


def _replaced(words: list[Word], dots: list[Box]) -> list[Word]:
    """The words with those Tesseract read over the dots replaced by the dots."""
    start, end = dots[0].left, dots[-1].right
    kept_before: list[Word] = []
    kept_after: list[Word] = []
    confidences: list[float] = []
    step = statistics.median(b.left - a.left for a, b in itertools.pairwise(dots))
    for word in words:
        b = word.box
        centre = b.center[0]
        if start <= centre <= end:
            confidences.append(word.confidence)  # read over the dots: the dots replace it
        elif centre < start:
            # The entry's last word: dots Tesseract saw after it are the leader's.
            text = word.text.rstrip(_LEADING) if start - b.right <= 2 * step else word.text
            if text:
                kept_before.append(_cut(word, text, right=start - 1))
        else:
            # The page number: dots before it are the leader's.
            text = word.text.lstrip(_LEADING) if b.left - end <= 2 * step else word.text
            if text:
                kept_after.append(_cut(word, text, left=end + 1))
    confidence = statistics.median(confidences) if confidences else 1.0
    if step >= _SPACED * statistics.median(d.width for d in dots):
        leader = [Word(".", confidence, d) for d in dots]
    else:
        leader = [
            Word(
                "." * len(dots),
                confidence,
                Box(start, min(d.top for d in dots), end, max(d.bottom for d in dots)),
            )
        ]
    return [*kept_before, *leader, *kept_after]


def _cut(word: Word, text: str, *, left: int | None = None, right: int | None = None) -> Word:
    b = word.box
    box = Box(
        b.left if left is None else max(b.left, left),
        b.top,
        b.right if right is None else min(b.right, right),
        b.bottom,
    )
    if box.width <= 0:
        box = b
    return Word(text, word.confidence, box, word.monospace, word.bold, word.line_number)
