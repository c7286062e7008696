"""Columns of numbers, where Tesseract's layout analysis loses them.

Court transcripts, pleadings, numbered listings and judgments with numbered paragraphs
carry a column of numbers left of their text; tables, a column of row numbers. A narrow
column of short items defeats the layout analysis twice:

- it may be read down the page as one line of text ("NY WD F oO" for 2 3 4 5 6):
  `reread_stacked` reads such a column again as one block over the height of the rows
  beside it, where each item comes out on its own line;
- a column of line numbers is taken for a column of its own, its numbers read apart from
  the lines they number, and single digits alone in a margin are often not taken for text
  at all: `attach_line_numbers` finds the column from the numbers that were read (three or
  more, aligned, rising down the page, beside lines of text), reads it again as one block
  of digits over the height of the text beside it, and puts each number at the start of
  the line on its baseline ("1 THE COURT: Good morning.", as printed). A table's column of
  row numbers stays in its cells.
"""

from __future__ import annotations

import itertools
import re
import statistics
from collections.abc import Callable
from dataclasses import replace

from . import monospace
from .listings import Reread
from .rows import lines_apart
from .words import Box, Line, Word, on_baseline

_MIN_NUMBERS = 3
_MAX_DIGITS = 4
_ALIGN = 0.6  # line heights: how well the numbers' right (or left) edges line up
_MAX_GAP = 10.0  # line heights from a number to the start of its line (pleading paper: an inch)
_INDENT = 40.0  # line heights a numbered line may be indented in the text beside the numbers
_RISING = 0.8  # of the steps down the column, the share that must rise
_PAD = 0.3  # line heights of white read around the column
_GROW = 4  # times a stacked column's region is grown to the rows beside it
_TALL_LINES = 2.5  # a "line" this many usual line heights tall is a column read as one
_TALL_WIDTH = 5.0  # usual line heights: as wide as a few figures at most
_TALL_WORDS = 3
# A line number read into the code after it ("74a", "79(x"), not a figure ("0.58", "10:30").
_GLUED = re.compile(r"(\d{1,4})([^\d.,:].*)")
_GLUED_STEPS = 2.5  # of a column's steps down: how far above or below it its glued lines stand


def reread_stacked(lines: list[Line], reread: Reread) -> list[Line]:
    """The page's lines with each column read down the page as one line read again as a
    block over the height of the rows beside it, where that reading holds lines one above
    the other, read well (a line of text turned a quarter, read as it stands, stays)."""
    usual = statistics.median(line.height for line in lines) if lines else 0.0
    for line in [line for line in lines if _stacked(line) or _tall(line, usual)]:
        others = [other for other in lines if other is not line]
        # The region may take in pieces of the rows beside it; what they hold stays. A short
        # line of the first reading there is the column's own item, misread ("—" for 1).
        rows = [other for other in others if not _short(other)]
        fresh = [
            Line([w for w in f.words if not any(w.box.overlap(o.box) > 0 for o in rows)])
            for f in reread(_column_region(line, others, usual))
        ]
        fresh = [f for f in fresh if f.words]
        if not lines_apart(fresh):
            continue
        read = [w.box for f in fresh for w in f.words]
        at = lines.index(line)
        gone = {id(o) for o in others if _short(o) and any(o.box.overlap(box) > 0 for box in read)}
        lines = [
            *(o for o in lines[:at] if id(o) not in gone),
            *fresh,
            *(o for o in lines[at + 1 :] if id(o) not in gone),
        ]
    return lines


def _stacked(line: Line) -> bool:
    """Whether the line's words stand one above the other: a column read down the page (or
    a line turned a quarter)."""
    words = sorted(line.words, key=lambda w: w.box.top)
    return len(words) >= 2 and all(b.box.top >= a.box.bottom for a, b in itertools.pairwise(words))


def _tall(line: Line, usual: float) -> bool:
    """Whether the line is a narrow column of a few words several lines tall: page numbers
    read down the page as one word of letters ("OMANNAD" for 5 5 6 6 7 7 8 8)."""
    box = line.box
    return (
        len(line.words) <= _TALL_WORDS
        and box.height >= _TALL_LINES * usual
        and box.width <= _TALL_WIDTH * usual
    )


def _column_region(line: Line, others: list[Line], usual: float) -> Box:
    """The column's box grown up and down over the rows that stand beside it."""
    words = sorted(line.words, key=lambda w: w.box.top)
    step, height = usual, usual  # one tall word: the page's lines measure the rows
    if _stacked(line):
        step = statistics.median(b.box.top - a.box.top for a, b in itertools.pairwise(words))
        height = statistics.median(w.box.height for w in words)
    top, bottom = line.box.top, line.box.bottom
    after = [o for o in others if 0 < o.box.left - line.box.right <= _MAX_GAP * height]
    # A column of page numbers stands right of the titles it numbers.
    before = [o for o in others if 0 < line.box.left - o.box.right <= _MAX_GAP * height]
    beside = [*after, *before]
    for _ in range(_GROW):
        reach = [o for o in beside if o.box.bottom >= top - step and o.box.top <= bottom + step]
        grown = (
            min([top, *(o.box.top for o in reach)]),
            max([bottom, *(o.box.bottom for o in reach)]),
        )
        if grown == (top, bottom):
            break
        top, bottom = grown
    pad = round(_PAD * height)
    right = min([line.box.right + 2 * pad, *(o.box.left - pad for o in after)])
    left = max([line.box.left - 2 * pad, *(o.box.right + pad for o in before)])
    return Box(min(left, line.box.left), top - pad, max(right, line.box.right), bottom + pad)


def attach_line_numbers(lines: list[Line], reread: Reread) -> list[Line]:
    """The page's lines with each column of line numbers joined to its lines; `reread`
    reads a region of the page as one block and returns its lines in page pixels."""
    for column in _columns([line for line in lines if _number(line)]):
        lines = _attach(lines, column, reread)
    return lines


def mend_listing_numbers(lines: list[Line], reread: Reread, *, blank: list[Box]) -> list[Line]:
    """The page's lines of code with the numbers they start with read again as digits,
    where that mends their count.

    A listing's line numbers are often set in small type beside a rule (LaTeX's fancyvrb):
    read as the first word of each line, they come out as letters or lose a digit ("s" for
    8, "i9" for 19, "2" for 12). A column of such first words, right-aligned, mostly digits,
    is read again as digits alone, with `blank` (the page's rules) as white paper; the new
    numbers are kept when more of them follow one another down the column than before."""
    starts = [line for line in lines if _starts_with_number(line)]
    for column in _aligned(starts):
        lines = _mend_column(lines, column, reread, blank)
    return lines


def cut_glued_numbers(lines: list[Line]) -> list[Line]:
    """The page's lines with each line of a numbered listing whose number Tesseract read
    into the code's first word ("74a" for "74 a", "78rra": the number's small type a hair
    from the code) cut at the edge the listing's other numbers end at.

    The code then starts where it starts on the other lines, after the white that parts
    their numbers from their code; cut before the code is put on its grid, its first word
    is measured on its own cells."""
    starts = [line for line in lines if _starts_with_number(line)]
    for column in _aligned(starts):
        numbers = [line.words[0] for line in column if _digits(line.words[0].text)]
        if len(numbers) >= _MIN_NUMBERS and _rising([Line([n]) for n in numbers]):
            lines = _cut_glued(lines, column)
    return lines


def _cut_glued(lines: list[Line], column: list[Line]) -> list[Line]:
    """The lines with those of the listing whose number is read into its code (as
    `cut_glued_numbers` says) cut: the number ends where the column's numbers end, the code
    starts where its least indented line's code starts."""
    numbers = [line.words[0].box for line in column]
    height = statistics.median(line.height for line in column)
    edge = round(statistics.median(b.right for b in numbers))
    left = min(b.left for b in numbers) - _ALIGN * height
    code = min(line.words[1].box.left for line in column)
    # Lines glued at either end of the column: a line's step or two above or below it.
    steps = [b.box.top - a.box.top for a, b in itertools.pairwise(column)]
    reach = _GLUED_STEPS * statistics.median(steps)
    top, bottom = column[0].box.top - reach, column[-1].box.bottom + reach
    taken = {id(line) for line in column}
    cut: dict[int, Line] = {}
    for line in lines:
        first = line.words[0] if line.words else None
        glued = _GLUED.fullmatch(first.text) if first is not None else None
        if (
            first is None
            or glued is None
            or id(line) in taken
            or not (top <= line.box.top and line.box.bottom <= bottom)
            or not (left <= first.box.left and code < first.box.right)
            or not monospace.is_code(line)
        ):
            continue
        number_box = Box(
            first.box.left, first.box.top, min(edge, first.box.right), first.box.bottom
        )
        code_box = Box(code, first.box.top, first.box.right, first.box.bottom)
        cut[id(line)] = Line(
            [
                replace(first, text=glued[1], box=number_box),
                replace(first, text=glued[2], box=code_box),
                *line.words[1:],
            ]
        )
    return [cut.get(id(line), line) for line in lines]


def _starts_with_number(line: Line) -> bool:
    """A line of code after a short first word: its number, read well or not."""
    first, rest = line.words[0], Line(line.words[1:])
    return bool(rest.words) and len(first.text) <= _MAX_DIGITS and monospace.is_code(rest)


def _aligned(starts: list[Line]) -> list[list[Line]]:
    """Lines whose first words end at one edge, top to bottom, mostly digits."""
    return [
        run
        for run in _runs_at_edge(starts, lambda line: line.words[0].box, _right)
        if len(run) >= _MIN_NUMBERS and 2 * sum(_digits(ln.words[0].text) for ln in run) >= len(run)
    ]


def _mend_column(
    lines: list[Line], column: list[Line], reread: Reread, blank: list[Box]
) -> list[Line]:
    height = statistics.median(line.height for line in column)
    pad = round(_PAD * height)
    numbers = [line.words[0] for line in column]
    region = Box(
        min(w.box.left for w in numbers) - 2 * pad,
        min(line.box.top for line in column) - pad,
        min(line.words[1].box.left for line in column) - pad,
        max(line.box.bottom for line in column) + pad,
    )
    fresh = [w for line in reread(region, blank=blank) for w in line.words if _digits(w.text)]
    mended = []
    for line, number in zip(column, numbers, strict=True):
        again = [w for w in fresh if on_baseline(w.box, number.box, line.height)]
        mended.append(again[0].text if len(again) == 1 else number.text)
    if _in_sequence(mended) <= _in_sequence([w.text for w in numbers]):
        return lines
    replaced = {
        id(line): Line([replace(line.words[0], text=text), *line.words[1:]])
        for line, text in zip(column, mended, strict=True)
    }
    return [replaced.get(id(line), line) for line in lines]


def _in_sequence(texts: list[str]) -> int:
    """How many of the numbers, top to bottom, follow on from the one above."""
    values = [int(t) if _digits(t) else None for t in texts]
    return sum(a is not None and b is not None and b > a for a, b in itertools.pairwise(values))


def _number(line: Line) -> bool:
    return len(line.words) == 1 and _digits(line.words[0].text)


def _digits(text: str) -> bool:
    return text.isascii() and text.isdigit() and len(text) <= _MAX_DIGITS


def _columns(numbers: list[Line]) -> list[list[Line]]:
    """Numbers aligned on their right edges (or else their left ones), rising down the
    page: each a column of line numbers, if its numbers stand beside lines (`_attach`)."""
    found: list[list[Line]] = []
    used: set[int] = set()
    for edge in (_right, _left):
        free = [n for n in numbers if id(n) not in used]
        for run in _runs_at_edge(free, lambda n: n.box, edge):
            if len(run) >= _MIN_NUMBERS and _rising(run):
                found.append(run)
                used.update(id(n) for n in run)
    return found


def _runs_at_edge(
    lines: list[Line], box: Callable[[Line], Box], edge: Callable[[Box], int]
) -> list[list[Line]]:
    """The lines in runs whose boxes (`box` of each) end at one `edge`, each within
    `_ALIGN` line heights of the one before it there; each run top to bottom."""
    runs: list[list[Line]] = []
    for line in sorted(lines, key=lambda ln: edge(box(ln))):
        if runs and edge(box(line)) - edge(box(runs[-1][-1])) <= _ALIGN * line.height:
            runs[-1].append(line)
        else:
            runs.append([line])
    return [sorted(run, key=lambda ln: ln.box.top) for run in runs]


def _right(box: Box) -> int:
    return box.right


def _left(box: Box) -> int:
    return box.left


def _rising(group: list[Line]) -> bool:
    values = [int(n.text) for n in sorted(group, key=lambda n: n.box.top)]
    steps = list(itertools.pairwise(values))
    return sum(b > a for a, b in steps) >= _RISING * len(steps)


def _partner(
    number: Box, height: float, lines: list[Line], taken: set[int], reach: float
) -> Line | None:
    """The line that starts right of `number` on its baseline, at most `reach` from it."""
    beside = [
        line
        for line in lines
        if id(line) not in taken
        and not _number(line)
        and 0 < line.box.left - number.right <= reach
        and on_baseline(line.box, number, max(height, line.height))
    ]
    return min(beside, key=lambda line: line.box.left, default=None)


def _attach(lines: list[Line], column: list[Line], reread: Reread) -> list[Line]:
    height = statistics.median(n.height for n in column)
    members = {id(n) for n in column}
    others = [line for line in lines if id(line) not in members]
    text = [
        line
        for line in others
        if not _number(line) and 0 < line.box.left - _edge(column) <= _MAX_GAP * height
    ]
    if not text:
        return lines
    numbers = [n.words[0] for n in column]
    right = min(line.box.left for line in text)
    if any(not _numbered(line, column, height) for line in text):
        numbers = _read_again(column, text, others, reread, right, height) or numbers
    # A line indented within the text beside the column is numbered all the same.
    reach = right - _edge(column) + _INDENT * height
    partners = [
        p for w in numbers if (p := _partner(w.box, height, others, set(), reach)) is not None
    ]
    if len(partners) < _MIN_NUMBERS:
        # Numbers down a margin, not the lines' own. (Pleading paper numbers its blank lines
        # too: a share of the numbers beside lines would be too strict.)
        return lines
    if sum(_row_of_cells(p, others) for p in partners) * 2 > len(partners):
        return lines  # a table's column of row numbers: its rows are its cells
    taken: set[int] = set()
    joined: dict[int, Line] = {}
    loose: list[Line] = []
    # A numbered blank line of a listing (a transcript in a typewriter face) is a line of
    # it: left out, it would part the listing into pieces around each blank.
    listing = 2 * sum(p.words[0].monospace for p in partners) > len(partners)
    for word in sorted(numbers, key=lambda w: w.box.top):
        partner = _partner(word.box, height, others, taken, reach)
        if partner is None:
            word.monospace = listing
            word.line_number = True
            loose.append(Line([word]))  # a numbered blank line
            continue
        word.monospace = partner.words[0].monospace
        word.line_number = True
        joined[id(partner)] = Line([word, *partner.words])
        taken.add(id(partner))
    # The column as first read goes, and what else it read of the same ink ("an" for 22).
    read = [w.box for w in numbers]
    gone = {
        id(line)
        for line in lines
        if (id(line) in members or _short(line)) and any(line.box.overlap(b) > 0 for b in read)
    }
    result = [joined.get(id(line), line) for line in lines if id(line) not in gone]
    numbered = {id(line) for line in [*joined.values(), *loose]}
    for number in loose:
        # Among the numbered lines, where it stands on the page.
        at = [i for i, line in enumerate(result) if id(line) in numbered]
        below = [i for i in at if result[i].box.top > number.box.top]
        result.insert(below[0] if below else (at[-1] + 1 if at else len(result)), number)
    return result


def _short(line: Line) -> bool:
    return len(line.words) == 1 and len(line.text) <= _MAX_DIGITS


def _numbered(line: Line, column: list[Line], height: float) -> bool:
    """Whether a number of `column` stands on `line`'s baseline."""
    return any(on_baseline(line.box, n.box, max(height, line.height)) for n in column)


def _edge(column: list[Line]) -> int:
    return max(n.box.right for n in column)


def _row_of_cells(partner: Line, lines: list[Line]) -> bool:
    """Whether other pieces stand on `partner`'s baseline, right of it: cells of a row."""
    return any(
        line is not partner
        and line.box.left > partner.box.right
        and on_baseline(line.box, partner.box, partner.height)
        for line in lines
    )


def _read_again(
    column: list[Line],
    text: list[Line],
    others: list[Line],
    reread: Reread,
    right: int,
    height: float,
) -> list[Word]:
    """The column's numbers read again as one block over the height of its text; those
    that stand clear of every other line's words."""
    pad = round(_PAD * height)
    top = min(line.box.top for line in [*column, *text]) - pad
    bottom = max(line.box.bottom for line in [*column, *text]) + pad
    left = min(n.box.left for n in column) - 2 * pad
    region = Box(left, top, min(right - pad, _edge(column) + 2 * pad), bottom)
    words = [w for line in reread(region) for w in line.words if _digits(w.text)]
    # A short line of the first reading over the column is its own misreading ("an" for 22).
    clear = [line for line in others if not _short(line)]
    return [w for w in words if not any(w.box.overlap(line.box) > 0 for line in clear)]
