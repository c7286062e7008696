"""Code listings put back together where Tesseract's layout analysis took them apart.

Tesseract's page layout analysis looks for columns of prose, and a listing defeats it: the
column of "#" before shell comments is taken for a column of text, or read down the page
as one vertical word ("#H HH HH"); the aligned second column of a table of key bindings
comes after the first; "$include" comes apart at its sign. Two steps mend it:

- `rejoin_margin_column`: a sign read apart on the baseline of a line of code goes back to
  the start of that line, and a lone sign of that column back among its lines (cheap, on
  the words already read).
- `reread_listings`: each run of code lines, with the signs of its margin and the columns
  of it read apart, is read again as one uniform block (Tesseract's page segmentation mode
  6), where the same pixels come out line by line as printed, and that reading replaces
  the first. A page pays for its listings' recognition twice; a page of prose, nothing.
"""

from __future__ import annotations

import itertools
import statistics
from collections.abc import Sequence
from typing import Protocol

from . import monospace, structure
from .words import Box, Line, lines_inside, on_baseline, spliced, union_all


class Reread(Protocol):
    def __call__(self, box: Box, *, blank: Sequence[Box] = ()) -> list[Line]:
        """The lines in the page's region `box`, read again as one block of lines, in page
        pixels; the parts of it under `blank` are read as white paper."""
        ...


_MIN_LINES = 2  # a lone line of code is left as it was read
_GAP = 2.5  # lines, top to top: a blank line inside a listing does not end it
_LEADING = 1.6  # a line's step at most, in glyph heights (type and the space between lines)
_MARGIN_CHARS = 3  # a comment sign or a line number: what a listing's first column holds
_MARGIN_PITCHES = 4  # how far left of the code its first column may stand
_FRAME_PITCHES = 2  # how far left of the code a frame's rule may stand
_SIGN_GAP_PITCHES = 3.5  # at most this many characters from a sign to the code it begins
_COLUMN_PITCHES = 12  # how far right of the code an aligned column of it may stand (a tab and more)
_COLUMN_MISFIT = 0.3  # characters: the column's words fit the listing's pitch this well
_FIRST_COLUMN_WORDS = 2  # a first column read apart to the left holds names, a word or two
_FIRST_COLUMN_PITCHES = 16
_CROSSING_LINES = 15  # line heights within which a line across a column's start is looked for
_INDENT_PITCHES = 8  # a line of the listing starts at most this far right of its left edge
_PAD = 0.3  # line heights of white read around the region
_MISSED = 0.1  # of the listing's characters, on lines the reading again has nothing level with
_SAME_WORD = 0.5  # of the smaller box's area: two readings of one word overlap this much
_ROW = 0.6  # line heights: a word's middle this far from its line's is on another row
_OFF_ROW_WORDS = 1  # words of a line off its row: a sign read into the line above, no more


def reread_listings(lines: list[Line], reread: Reread, *, rules: Sequence[Box] = ()) -> list[Line]:
    """The page's lines with each listing's lines as read again by `reread`, which reads
    the region of the page in a box and returns its lines in page pixels. `rules` are the
    boxes of the page's rules: a listing's frame, the rule between its line numbers and its
    code, read as white paper, not as a "|" or "j" glued to a number."""
    code = [line for line in lines if _long_code(line)]
    for listing in _listings(lines, code):
        present = {id(line) for line in lines}
        if any(id(line) not in present for line in listing):
            continue  # read again already, in the region of the one above it
        region, members = _region(listing, lines, code, rules)
        taken = {id(line) for line in members}
        # A line the region only clips (the next column of a table, prose beside the code)
        # stays as first read, whole: it is not read again, and nothing read again on it is
        # kept (where it touches the listing's own lines, its pixels are read all the same).
        clipped = [line.box for line in lines if id(line) not in taken and line.box.overlap(region)]
        blank = [b for b in clipped if not any(b.overlap(m.box) for m in members)]
        blank += [rule for rule in rules if rule.overlap(region)]
        fresh = structure.drop_noise(
            [
                Line(words)
                for line in reread(region, blank=blank)
                if (words := [w for w in line.words if not _read_already(w.box, clipped)])
            ]
        )
        if not _covers(fresh, listing) or any(map(_crosses_rows, fresh)):
            # The block reading lost lines (a table's rules, wide leading), or ran its lines
            # aslant across the rows (columns of quotes in a listing): keep the first.
            continue
        # The region is the listing and its own columns, so all it holds is code, also a
        # line the first reading measured short of the pitch (a misread glyph, "}" alone).
        for line in fresh:
            for word in line.words:
                word.monospace = True
        lines = spliced(lines, members, fresh)
    return lines


def _covers(fresh: list[Line], listing: list[Line]) -> bool:
    """Whether the reading again has a line level with the listing's lines, all but a sign
    or two ("{" alone is often read into the line above)."""
    missed = sum(
        len(row.text)
        for row in listing
        if not any(line.box.top <= row.box.center[1] <= line.box.bottom for line in fresh)
    )
    return missed <= _MISSED * sum(len(row.text) for row in listing)


def _crosses_rows(line: Line) -> bool:
    """Whether a line of the reading again runs across the printed rows: more than a word
    of it ("{" read into the line above) lies off the row its middle word sits on."""
    words = sorted(line.words, key=lambda w: w.box.center[1])
    middle = words[len(words) // 2].box.center[1]
    off = sum(1 for w in words if abs(w.box.center[1] - middle) > _ROW * line.height)
    return off > _OFF_ROW_WORDS


def _read_already(box: Box, others: list[Box]) -> bool:
    """Whether most of a word's box lies on lines read before, or most of one of them
    under it."""
    overlaps = [(box.overlap(other), other) for other in others]
    return sum(o for o, _ in overlaps) > _SAME_WORD * box.area or any(
        o > _SAME_WORD * other.area for o, other in overlaps
    )


def _long_code(line: Line) -> bool:
    return monospace.is_code(line) and len(line.text) > _MARGIN_CHARS


def _listings(lines: list[Line], code: list[Line]) -> list[list[Line]]:
    """Runs of code lines one under the other, not interrupted by a line of prose; runs side
    by side (a listing in each column) are followed each on its own."""
    runs: list[list[Line]] = []
    going: list[list[Line]] = []
    for line in sorted(lines, key=lambda line: line.box.top):
        if _long_code(line):
            run = next((run for run in going if _continues(run, line, code)), None)
            if run is None:
                run = []
                going.append(run)
                runs.append(run)
            run.append(line)
            continue
        # A line the measure missed ("$if mode=emacs": few words to tell by) that fits the
        # listing's pitch, or a sign alone ("#", "}"), under it is one of its lines; any
        # other line across it ends it.
        run = next(
            (run for run in going if _belongs(line, run) and _continues(run, line, code)), None
        )
        if run is not None:
            run.append(line)
        else:
            going = [run for run in going if not _interrupts(line, run)]
    return [run for run in runs if sum(map(_long_code, run)) >= _MIN_LINES]


def _extent(lines: list[Line]) -> tuple[Box, float]:
    """The box around the lines, and their pitch."""
    return union_all([line.box for line in lines]), monospace.pitch(
        [w for line in lines for w in line.words]
    )


def _belongs(line: Line, run: list[Line]) -> bool:
    """Whether a line not measured as code is one of the run's: a sign alone in its column,
    or a line in its pitch that starts inside the listing (prose between two displays of
    code starts at the text's margin, left of them, in a font whose pitch may be close)."""
    box, pitch = _extent(run)
    if len(line.text) <= _MARGIN_CHARS:
        return box.left - _MARGIN_PITCHES * pitch <= line.box.left < box.right
    inside = line.box.left >= box.left - pitch
    return inside and monospace.misfit(line.words, pitch) <= _COLUMN_MISFIT


def _continues(run: list[Line], line: Line, code: list[Line]) -> bool:
    """Whether a line of code goes on with the run: under it, or a column of its rows."""
    box, pitch = _extent(run)
    overlaps = line.box.left < box.right and box.left < line.box.right
    if overlaps and line.box.top - run[-1].box.top <= _GAP * _step(run):
        return True
    return _aligned_column(line, run, box, pitch, code)


def _step(run: list[Line]) -> float:
    """The distance from one of the run's lines to the next, top to top; pieces of one row
    (a column read apart, a sign) are no step."""
    height = statistics.median(member.height for member in run)
    tops = sorted(member.box.top for member in run)
    steps = [b - a for a, b in itertools.pairwise(tops) if b - a > height / 2]
    if steps:
        return min(statistics.median(steps), _LEADING * height)
    return _LEADING * height


def _interrupts(line: Line, run: list[Line]) -> bool:
    """Whether a line that is not code stands under the run, ending it: a line of prose
    across the listing's column, not a stray sign of its margin."""
    box, pitch = _extent(run)
    if line.box.width <= _MARGIN_PITCHES * pitch:
        return False
    return line.box.left < box.right and box.left < line.box.right


def _region(
    listing: list[Line], lines: list[Line], code: list[Line], rules: Sequence[Box] = ()
) -> tuple[Box, list[Line]]:
    """The box to read the listing again in, and the first reading's lines inside it. The
    box holds the listing, the signs of its margin column and aligned columns of it to its
    right; in a frame, also what stands just left of the frame's rule: line numbers in small
    type, which Tesseract may not take for text at all beside a rule."""
    box, pitch = _extent(listing)
    # A rule upright along the listing's left side, beside lines of it.
    frame = [
        Box(
            rule.left - round(_MARGIN_PITCHES * pitch),
            max(rule.top, box.top),
            box.left,
            min(rule.bottom, box.bottom),
        )
        for rule in rules
        if rule.width < pitch
        and box.left - _FRAME_PITCHES * pitch <= rule.left <= box.left
        and sum(rule.top <= line.box.center[1] <= rule.bottom for line in listing) >= _MIN_LINES
    ]
    height = statistics.median(line.height for line in listing)
    grown = union_all(
        [
            box,
            *frame,
            *(
                line.box
                for line in lines
                if _beside_vertically(line.box, box, height)
                and (
                    _in_margin(line.box, box, pitch)
                    or _first_column(line, listing, box, pitch)
                    or _aligned_column(line, listing, box, pitch, code)
                )
            ),
        ]
    )
    pad = round(_PAD * height)
    region = Box(
        max(0, grown.left - round(pitch)),
        max(0, grown.top - pad),
        grown.right + round(pitch),
        grown.bottom + pad,
    )
    # Whatever the region holds is read again: keep none of it twice. A line it only clips
    # (its center inside, its end cut off) is kept as first read, whole.
    return region, lines_inside(region, lines)


def _beside_vertically(line: Box, box: Box, height: float) -> bool:
    slack = _PAD * height
    return line.top >= box.top - slack and line.bottom <= box.bottom + slack


def _in_margin(line: Box, box: Box, pitch: float) -> bool:
    """A narrow thing just left of the code: its comment signs or line numbers, also when
    Tesseract read them down the page as one word."""
    return (
        line.right <= box.left + pitch
        and line.left >= box.left - _MARGIN_PITCHES * pitch
        and line.width <= _MARGIN_PITCHES * pitch
    )


def _first_column(line: Line, listing: list[Line], box: Box, pitch: float) -> bool:
    """A word or two of the listing's first column read apart to its left (a package's name
    before its description, a key before what it does): on the baseline of one of the
    listing's lines, ending at most a few characters before it, short and in its pitch."""
    if line.box.right > box.left or box.left - line.box.right > _COLUMN_PITCHES * pitch:
        return False
    if len(line.words) > _FIRST_COLUMN_WORDS or line.box.width > _FIRST_COLUMN_PITCHES * pitch:
        return False
    if monospace.misfit(line.words, pitch) > _COLUMN_MISFIT:
        return False
    return any(_on_baseline(line, row) for row in listing)


def _aligned_column(
    line: Line, listing: list[Line], box: Box, pitch: float, code: list[Line]
) -> bool:
    """A piece of the listing's lines read apart to their right: on the baseline of one of
    them, a few characters on, in the same pitch, inside the listing's own width (a line of
    code nearby runs across where it starts). A listing in the next column starts where no
    line of this one reaches: a line that runs across must start as the listing's lines do."""
    if line.box.left < box.left or line.box.left - box.right > _COLUMN_PITCHES * pitch:
        return False
    if monospace.misfit(line.words, pitch) > _COLUMN_MISFIT:
        return False
    if not any(_on_baseline(line, row) for row in listing):
        return False
    near = _CROSSING_LINES * line.height
    return any(
        other.box.left <= box.left + _INDENT_PITCHES * pitch
        and other.box.left < line.box.left - pitch
        and other.box.right > line.box.left + pitch
        and abs(other.box.top - line.box.top) <= near
        and not _on_baseline(other, line)
        for other in code
    )


def _on_baseline(line: Line, row: Line) -> bool:
    """Whether `line` stands on the baseline of `row`."""
    return on_baseline(line.box, row.box, row.height)


def rejoin_margin_column(lines: list[Line]) -> list[Line]:
    """Lines of code put back together where Tesseract read their first column apart.

    A listing's comment signs or line numbers stand in a column a space or two left of the
    code; Tesseract's layout analysis can take that column for a column of text and read it
    after the code, so "# a comment" comes out as "a comment" here and a column of "#"
    there. A fragment of a few characters on the baseline of a line of code that starts a
    few characters to its right is put at the start of that line; a fragment of that column
    with no code beside it (a "#" alone) is put among the lines above and below it.
    """
    code = [line for line in lines if monospace.is_code(line) and not _fragment(line)]
    if not code:
        return lines
    joined: dict[int, Line] = {}  # id of a line of code -> the line with its start
    taken: set[int] = set()
    for fragment in (line for line in lines if _fragment(line)):
        partner = next((c for c in code if id(c) not in joined and _begins(fragment, c)), None)
        if partner is not None:
            for word in fragment.words:
                word.monospace = True
            joined[id(partner)] = Line([*fragment.words, *partner.words])
            taken.add(id(fragment))
    if not joined:
        return lines
    column = list(joined.values())
    starts = {id(line) for line in column}
    left = statistics.median(line.box.left for line in column)
    pitch = statistics.median(monospace.pitch(line.words) for line in column)
    top, bottom = min(c.box.top for c in column), max(c.box.bottom for c in column)
    result = [joined.get(id(line), line) for line in lines if id(line) not in taken]
    for fragment in [
        line
        for line in result
        if _fragment(line) and abs(line.box.left - left) <= pitch and top <= line.box.top <= bottom
    ]:
        result = [line for line in result if line is not fragment]
        below = next(
            (
                i
                for i, line in enumerate(result)
                if id(line) in starts and line.box.top > fragment.box.top
            ),
            len(result),
        )
        result.insert(below, fragment)
    return result


def _fragment(line: Line) -> bool:
    return len(line.words) == 1 and len(line.text) <= _MARGIN_CHARS


def _begins(fragment: Line, line: Line) -> bool:
    """Whether `fragment` is the first column of `line`: on its baseline, a few characters
    to its left."""
    if not _on_baseline(fragment, line):
        return False
    gap = line.box.left - fragment.box.right
    return 0 < gap <= _SIGN_GAP_PITCHES * monospace.pitch(line.words)
