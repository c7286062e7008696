"""Words, lines and paragraphs with pixel boxes: what both OCR and a PDF's text layer yield."""

from __future__ import annotations

import math
import statistics
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import cached_property

import numpy as np
import numpy.typing as npt

_WORD_LEVEL = "5"
INK = 128  # gray levels below this are ink, on a page evened to white paper
# A line whose strokes are this much thicker, for its size, than most of the page's is bold.
_BOLD_STROKES = 1.3
_PLAIN_RUN = 8  # letters at least in plain type at a bold line's end to leave them plain
_TALLER = 1.5
_SAME_SIZE = 0.15  # letters' cores this close are of one size of type
_COMMON_SIZE = 0.2  # of the page's characters, set in one size, make it a common size
_TSV_COLUMNS = 12
_REGION_SHARE = 0.9  # of a line's box inside a region makes it one of the region's lines
_BASELINE = 0.35  # line heights between the bottoms of two boxes on one baseline
# A line of this many words or more, this share of them boxed alike, was boxed as a line.
_SHARED_MIN_WORDS = 4
_SHARED_SHARE = 0.6
_DESCENDERS = frozenset("gjpqy")
_NO_MEASURE = ".-–—_•·▪●○■□◦‣"  # a word of these alone: a leader's points, a list's mark
# An underscore stands on or under the baseline; a dash read as one stands this share of
# the line's other words' height above it, or more, and is no thicker than this share.
_RAISED = 0.2
_THIN = 0.3
_EM_DASH = 0.75  # of the words' height, an em dash's width at least; an en dash's, half
_EN_DASH = 0.45
DESCENDING = frozenset("gjpqyQ()[]{}|,;/$@§µ")  # glyphs that reach under the baseline
_RULES = frozenset("_-–—")


def spans(flags: npt.ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Where each run of True in a boolean vector starts, and where it stops (exclusive)."""
    edges = np.diff(np.concatenate([[False], np.asarray(flags), [False]]).astype(np.int8))
    return np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)


def on_baseline(a: Box, b: Box, height: float) -> bool:
    """Whether two boxes stand on one baseline, for type `height` pixels high."""
    return abs(a.bottom - b.bottom) <= _BASELINE * height


@dataclass(frozen=True, slots=True)
class Box:
    left: int
    top: int
    right: int
    bottom: int

    @property
    def width(self) -> int:
        return self.right - self.left

    @property
    def height(self) -> int:
        return self.bottom - self.top

    @property
    def area(self) -> int:
        return max(0, self.width) * max(0, self.height)

    @property
    def center(self) -> tuple[float, float]:
        return (self.left + self.right) / 2, (self.top + self.bottom) / 2

    def union(self, other: Box) -> Box:
        return Box(
            min(self.left, other.left),
            min(self.top, other.top),
            max(self.right, other.right),
            max(self.bottom, other.bottom),
        )

    def overlap(self, other: Box) -> int:
        """The area both boxes cover."""
        width = min(self.right, other.right) - max(self.left, other.left)
        height = min(self.bottom, other.bottom) - max(self.top, other.top)
        return max(0, width) * max(0, height)

    def contains(self, x: float, y: float) -> bool:
        return self.left <= x <= self.right and self.top <= y <= self.bottom

    def as_corners(self) -> dict[str, int]:
        return {
            "top_left_x": self.left,
            "top_left_y": self.top,
            "bottom_right_x": self.right,
            "bottom_right_y": self.bottom,
        }


def union_all(boxes: list[Box]) -> Box:
    box = boxes[0]
    for other in boxes[1:]:
        box = box.union(other)
    return box


@dataclass(slots=True)
class Word:
    text: str
    confidence: float  # 0..1
    box: Box
    # Set in a fixed-pitch font (a text layer's font, or measured on the page) and in bold:
    # what tells code and headings from prose. Not kept in the page model.
    monospace: bool = False
    bold: bool = False
    # A line number put at the start of the line it numbers: a line that starts with one
    # is a line of its own, never a heading (`linenumbers`).
    line_number: bool = False


@dataclass
class Line:
    """Words on one baseline. Its box and height are measured once: fill it, then read it."""

    words: list[Word] = field(default_factory=list)

    @cached_property
    def box(self) -> Box:
        return Box(
            min(w.box.left for w in self.words),
            min(w.box.top for w in self.words),
            max(w.box.right for w in self.words),
            max(w.box.bottom for w in self.words),
        )

    @cached_property
    def height(self) -> float:
        """The line's text size, from its taller words.

        Glyph boxes of "on" and "Pg" differ by half; most lines hold a word that reaches from
        ascender to descender, so a high percentile measures the type, not the letters.
        """
        # Points, dashes and bullets alone (a contents entry's leader, a list item's mark)
        # are no measure of the type: a list item's "— pBendLine" is not two pixels high.
        sized = [w for w in self.words if w.text.strip(_NO_MEASURE)] or self.words
        heights = sorted(w.box.height for w in sized)
        return heights[int(0.8 * (len(heights) - 1))]

    @cached_property
    def text(self) -> str:
        return " ".join(w.text for w in self.words)

    def moved(self, dx: int, dy: int, scale: float = 1.0) -> Line:
        """The line drawn `scale` times larger, then shifted by (dx, dy): read from a crop,
        drawn at another size or not, put back on its page."""
        return Line(
            [
                replace(
                    w,
                    box=Box(
                        round(w.box.left * scale) + dx,
                        round(w.box.top * scale) + dy,
                        round(w.box.right * scale) + dx,
                        round(w.box.bottom * scale) + dy,
                    ),
                )
                for w in self.words
            ]
        )


@dataclass(slots=True)
class Paragraph:
    lines: list[Line] = field(default_factory=list)

    @property
    def words(self) -> list[Word]:
        return [w for line in self.lines for w in line.words]

    @property
    def box(self) -> Box:
        return union_all([line.box for line in self.lines])

    @property
    def height(self) -> float:
        return statistics.median(line.height for line in self.lines)


def lines_inside(region: Box, lines: list[Line]) -> list[Line]:
    """The lines a region of the page holds, to be read again in it: centre inside and most
    of the box. A line it only clips (its end cut off) is not one of them."""
    return [
        line
        for line in lines
        if region.contains(*line.box.center)
        and line.box.overlap(region) >= _REGION_SHARE * line.box.area
    ]


def spliced(lines: list[Line], members: list[Line], fresh: list[Line]) -> list[Line]:
    """The lines with `members` (read again) replaced by `fresh`, where the first of them
    stood in reading order."""
    taken = {id(line) for line in members}
    first = next(i for i, line in enumerate(lines) if id(line) in taken)
    kept = [line for line in lines if id(line) not in taken]
    before = sum(1 for line in lines[:first] if id(line) not in taken)
    return [*kept[:before], *fresh, *kept[before:]]


def joined_with_partners(
    lines: list[Line],
    partner: Callable[[Line, list[Line]], int | None],
    join: Callable[[Line, Line], Line],
) -> list[Line]:
    """The lines with each one and the line `partner` finds for it (its index, or None)
    made one by `join`, where the first stood; the joined line is asked again, as a third
    piece may follow it."""
    lines = list(lines)
    i = 0
    while i < len(lines):
        j = partner(lines[i], lines)
        if j is None:
            i += 1
            continue
        lines[i] = join(lines[i], lines[j])
        del lines[j]
        if j < i:
            i -= 1
    return lines


def raised_dashes(lines: list[Line]) -> list[Line]:
    """The lines with each word of underscores that stands above its line's baseline read
    as the dash it is ("—" for nil in a table's column, "_" as Tesseract read it from a
    page made smaller): an underscore stands on the baseline or under it."""
    return [
        _with_dashes(line) if any(_underscores(w) for w in line.words) else line for line in lines
    ]


def _underscores(word: Word) -> bool:
    """Whether the word is underscores, or an underscore read beside a dash ("_—")."""
    return "_" in word.text and set(word.text) <= _RULES


def _with_dashes(line: Line) -> Line:
    others = [w for w in line.words if not _underscores(w)]
    standing = [w for w in others if not DESCENDING.intersection(w.text)]
    if not standing:
        return line
    baseline = statistics.median(w.box.bottom for w in standing)
    height = statistics.median(w.box.height for w in standing)
    words = []
    for word in line.words:
        raised = baseline - word.box.bottom >= _RAISED * height
        if _underscores(word) and raised and word.box.height <= _THIN * height:
            width = word.box.width / height
            dash = "—" if width >= _EM_DASH else "–" if width >= _EN_DASH else "-"
            word = replace(word, text=dash)
        words.append(word)
    return Line(words)


def parse_tsv(tsv: str) -> list[Paragraph]:
    """Group Tesseract's TSV word rows into paragraphs and lines, in its reading order."""
    paragraphs: dict[tuple[str, str, str], Paragraph] = {}
    lines: dict[tuple[str, str, str, str], Line] = {}
    for row in tsv.splitlines():
        cols = row.split("\t")
        if len(cols) < _TSV_COLUMNS or cols[0] != _WORD_LEVEL:
            continue
        text = cols[11].strip()
        if not text:
            continue
        left, top, width, height = (int(c) for c in cols[6:10])
        confidence = max(0.0, min(1.0, float(cols[10]) / 100.0))
        word = Word(text, confidence, Box(left, top, left + width, top + height))
        paragraph_key = (cols[1], cols[2], cols[3])
        paragraph = paragraphs.get(paragraph_key)
        if paragraph is None:
            paragraph = paragraphs[paragraph_key] = Paragraph()
        line_key = (*paragraph_key, cols[4])
        if line_key not in lines:
            lines[line_key] = Line()
            paragraph.lines.append(lines[line_key])
        lines[line_key].words.append(word)
    return list(paragraphs.values())


def median_confidence(paragraphs: list[Paragraph]) -> float:
    words = [w.confidence for p in paragraphs for w in p.words]
    return statistics.median(words) if words else 0.0


def mark_bold(lines: list[Line], gray: np.ndarray) -> None:
    """Mark the words of lines set in bold, measured on the page image (`gray`, 2-D).

    A stroke's thickness is the mean length of the horizontal runs of ink across it; bold
    type's is about half as thick again as regular type's of the same size. Small type is
    set heavier for its size than large type (a sans-serif aside beside a serif body, more
    so), so each line is weighed against the page's common size of text nearest its own: a
    heading against the body, a note in small print against the notes. A line that
    measures bold so is bold only if the line of its size just above or below it, not bold
    itself, is lighter by as much: on a page mostly of tables in light print, a paragraph's
    lines all measure heavy, one of them over the line by a hair. Monospaced lines are left
    out: their even strokes measure heavy.
    """
    ink = gray < INK
    measured = [(line, *_stroke(line, ink)) for line in lines if not _monospaced(line)]
    total = sum(len(line.text) for line, _, _ in measured)

    def near(size: float) -> list[float]:
        """The weights, a character each, of the lines of about `size`."""
        return [
            stroke
            for line, stroke, core in measured
            if abs(core - size) <= _SAME_SIZE * size
            for _ in range(len(line.text))
        ]

    usual = {}  # the median weight of each common size
    for size in {core for _, _, core in measured}:
        weights = near(size)
        if len(weights) >= _COMMON_SIZE * total:
            usual[size] = statistics.median(weights)
    heavy = []  # (line, stroke, core, the usual weight of its size)
    for line, stroke, core in measured:
        nearest = min(usual, key=lambda size: abs(math.log(size / core)), default=None)
        if nearest is not None and stroke >= _BOLD_STROKES * usual[nearest]:
            heavy.append((line, stroke, core, usual[nearest]))
    weighed = {id(line) for line, _, _, _ in heavy}
    regular = [m for m in measured if id(m[0]) not in weighed]
    for line, stroke, core, usual_weight in heavy:
        if not any(
            _next_to(line, other)
            and abs(size - core) <= _SAME_SIZE * core
            and stroke < _BOLD_STROKES * weight
            for other, weight, size in regular
        ):
            for word in _bold_words(line, ink, core, usual_weight):
                word.bold = True


def _bold_words(line: Line, ink: np.ndarray, core: float, usual: float) -> list[Word]:
    """The words of a line that measures bold that are: all but a run at either end set in
    plain type ("**Optical character recognition (OCR)** is the mechanical or"), which a
    line's weight, most of it bold, does not tell. A run is plain where its strokes are
    nearer the usual weight than bold's, over enough letters to be measured."""
    weights = [_ink_runs(word, ink) for word in line.words]
    middle = (1 + _BOLD_STROKES) / 2 * usual * core

    def light(run: range) -> bool:
        dark, runs = map(sum, zip(*(weights[i] for i in run), strict=True))
        return dark < middle * max(1, runs)

    def plain(run: range, inner: int) -> bool:
        """The run is plain, and so is its word next to the bold part, on its own."""
        letters = sum(c.isalpha() for i in run for c in line.words[i].text)
        return letters >= _PLAIN_RUN and light(run) and light(range(inner, inner + 1))

    count = len(line.words)
    start = max((k for k in range(1, count) if plain(range(k), k - 1)), default=0)
    end = min((k for k in range(start + 1, count) if plain(range(k, count), k)), default=count)
    return line.words[start:end]


def _ink_runs(word: Word, ink: np.ndarray) -> tuple[int, int]:
    """The ink pixels in the word's box and the horizontal runs of ink they make."""
    b = word.box
    crop = ink[max(0, b.top) : b.bottom, max(0, b.left) : b.right]
    if crop.size == 0:
        return 0, 0
    return int(crop.sum()), int((crop[:, 1:] & ~crop[:, :-1]).sum() + crop[:, 0].sum())


def _next_to(line: Line, other: Line) -> bool:
    """Whether `other` is the line just above or below `line`, in the same column."""
    a, b = line.box, other.box
    overlap = min(a.right, b.right) - max(a.left, b.left)
    gap = max(a.top, b.top) - min(a.bottom, b.bottom)
    return overlap >= 0.5 * min(a.width, b.width) and 0 <= gap <= max(a.height, b.height)


def _monospaced(line: Line) -> bool:
    return sum(w.monospace for w in line.words) * 2 > len(line.words)


def _stroke(line: Line, ink: np.ndarray) -> tuple[float, float]:
    """The line's mean stroke thickness, per pixel of the height of its lowercase letters,
    and that height.

    The height of the letters' core, where the rows hold most ink, is the type's size, whatever
    the line's ascenders and descenders: "background" alone on a line is as tall as a line
    can be, and measured by its box's height a bold word of it would read as light.
    """
    dark = runs = 0
    top, bottom = line.box.top, line.box.bottom
    profile = np.zeros(max(1, bottom - top), dtype=np.int64)
    for word in line.words:
        if word.box.height > _TALLER * line.height:
            continue  # a drop cap read into the line: its strokes are the cap's size
        word_dark, word_runs = _ink_runs(word, ink)
        dark, runs = dark + word_dark, runs + word_runs
        b = word.box
        crop = ink[max(0, b.top) : b.bottom, max(0, b.left) : b.right]
        start = max(0, b.top) - top
        profile[start : start + crop.shape[0]] += crop.sum(axis=1)
    core = max(1.0, _core(profile) or line.height)
    return dark / max(1, runs) / core, core


def _core(profile: np.ndarray) -> int:
    """How many rows lie from the first to the last holding half the busiest row's ink: the
    serifs and joins on the baseline and at the top of the lowercase letters."""
    busy = np.nonzero(profile >= max(1, profile.max()) / 2)[0]
    return int(busy[-1] - busy[0] + 1) if busy.size else 0


def boxed_as_line(line: Line) -> bool:
    """Whether Tesseract gave most of the line's words one box, top and bottom alike: the
    line's, not theirs, as it does for some lines of a blurred scan. Words boxed to their
    own ink end where their letters do: "there" above "king", whose "g" reaches below the
    line; boxed as the line, both end at its bottom."""
    if len(line.words) < _SHARED_MIN_WORDS:
        return False
    (span, count), *_ = Counter((w.box.top, w.box.bottom) for w in line.words).most_common(1)
    alike = [w.text for w in line.words if (w.box.top, w.box.bottom) == span]
    return (
        count >= _SHARED_SHARE * len(line.words)
        and any(set(t) & _DESCENDERS for t in alike)
        and any(t.isalpha() and not set(t) & _DESCENDERS for t in alike)
    )


def fit_to_ink(line: Line, gray: np.ndarray) -> Line:
    """The line anew, each word's box cut down to the rows its ink is in (`gray` the page).

    Tesseract gives the words of a line the line's height: a line of an address beside a
    logo twice its size comes out as tall as the logo, and a piece cut from it would read as
    a heading. Ink rows apart from the word's own band by more than a small gap (another
    line's descenders) are left out; an accent's gap is within it.
    """
    for word in line.words:
        b = word.box
        top = max(0, b.top)
        crop = gray[top : b.bottom, max(0, b.left) : b.right] < INK
        band = _ink_band(np.asarray(crop.any(axis=1)), max(2, b.height // 6))
        if band is not None and band[1] - band[0] < b.height:
            word.box = Box(b.left, top + band[0], b.right, top + band[1])
    return Line(line.words)


def _ink_band(rows: np.ndarray, bridge: int) -> tuple[int, int] | None:
    """The start and end of the tallest band of True rows, gaps up to `bridge` bridged."""
    found = np.nonzero(rows)[0]
    if found.size == 0:
        return None
    bands: list[list[int]] = [[int(found[0]), int(found[0]) + 1]]
    for row in found[1:]:
        if row - bands[-1][1] <= bridge:
            bands[-1][1] = int(row) + 1
        else:
            bands.append([int(row), int(row) + 1])
    start, end = max(bands, key=lambda b: b[1] - b[0])
    return start, end
