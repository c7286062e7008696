"""Code and other preformatted text: lines set in a fixed-pitch font, and their columns.

On an OCR page the font is not known, so it is measured: in a fixed-pitch font every
character advances by the same pitch, so a word's width is its length times the pitch, less
the little white at either end of its ink. Prose in a proportional font ("ill" beside "MWM")
misses that line by a third of a character or more on most words. A line of a word or two
has too few widths to tell by; its pixels tell: each glyph of a fixed-pitch font is centred
in its cell, so the glyphs' centres fall on a grid. A text layer names its fonts, and
`textlayer` marks the words set in a fixed-pitch one.
"""

from __future__ import annotations

import itertools
import math
import re
import statistics
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

import numpy as np

from . import leaders
from .words import INK, Box, Line, Word, spans

# A glyph's ink is narrower than its advance: white on either side of it, in characters.
# Letters and digits fill most of theirs; points, quotes and brackets little of it.
_BEARING = 0.1
_NARROW = {".": 0.4, ",": 0.4, ":": 0.4, ";": 0.4, "'": 0.4, "`": 0.4, "!": 0.4, "|": 0.4}
_BEARINGS: dict[str, tuple[float, float]] = {
    **{c: (b, b) for c, b in _NARROW.items()},
    '"': (0.3, 0.3),
    "(": (0.4, 0.2),
    ")": (0.2, 0.4),
    "[": (0.35, 0.2),
    "]": (0.2, 0.35),
    "{": (0.25, 0.2),
    "}": (0.2, 0.25),
    "-": (0.2, 0.2),
    "‘": (0.4, 0.4),
    "’": (0.4, 0.4),
}
# Distance, in characters, of a line's word widths from a fixed pitch: a mean under _STRONG
# (with enough words to tell) makes a line surely monospaced; a median under _WEAK fits a
# pitch already found on the page. And how far off a whole number of characters its words
# start from each other's starts: under _GRID they are on the grid.
_STRONG = 0.12
_WEAK = 0.3
_GRID = 0.18
_STRONG_WORDS = 3
_PUNCTUATION = "()[]\"'‘’“”,.:;!?"
_STRONG_CHARS = 8
# A proportional font's comma or point is about half a figure wide: figures with one measure
# this much of a cell short of their length at the plain figures' pitch, each separator.
_NARROW_SEPARATOR = 0.3
_MIN_FIGURES = 10  # plain figures and figures with a separator on a page, to tell
_SEPARATED = re.compile(r"\d+(?:[.,]\d+)+")
_EMPTY_CELL = re.compile(r"[-–—−]{1,2}")
_AMOUNT = re.compile(r"[-+−(]?\d[\d.,]*[)%]?")
_LONE_CHARS = 24  # a page's only sure line must be this long
_PITCH_SPREAD = 0.08
_STEADY = 0.025  # one-word lines of a listing keep their pitch to this share of it
_STEADY_LINES = 3
_STEADY_PLAIN = 5  # one-word lines without code's signs that keep one pitch: commands' names
_NUMBER_DIGITS = 4  # a listing's line number, left of its code
# A line this much larger than the listing's lines is no part of it; one alone, this much.
_SIZE_SPREAD = 0.5
_ALONE_SPREAD = 0.25
_RUN_GAP = 2.5  # line heights: a blank line inside a listing does not end it
# Characters of white between two words' cells: a space leaves one, a proportional space
# beside typewriter type about 0.3, a word split in two next to none.
_SPACE_WHITE = 0.2
_LABEL_WHITE = 0.35  # between a line number in small type and its code: a space, not a split
_SPLIT_AFTER = set(".([{/=")
_SPLIT_BEFORE = set(".,;:()[]{}\"'=")
_CODE_SIGNS = re.compile(r"[{}();=<>#/*\[\]$\"'_|\\]")
_CODE_SHARE = 0.9  # of a line's characters in a fixed-pitch font, for a text layer
# On the pixels: how nearly the centres of a line's glyphs (its runs of ink across) fall on
# one grid, 1 when each is centred in a cell of it. Lines of code measure 0.85-0.98; prose
# 0.2-0.6, a short word of it up to 0.9 by chance, so a line needs company on its grid, or
# more glyphs, to count.
_GRID_FIT = 0.85
_GRID_GLYPHS = 8
_SENTENCE_WORDS = 5  # words of a sentence that names code, at the least
_WORD_GLYPHS = 3  # a word of fewer glyphs tells nothing of its pitch
_SURE_WORD_FIT = 0.8  # each word of a line surely in a fixed pitch sits at least so on it
_WORD_OF_LETTERS = re.compile(r"[^\W\d_]+(?:[-'’][^\W\d_]+)*")  # "second", "Debian-Referenz"
_GRID_SHORT = 5  # glyphs of a line shown apart, on the grid of the page's code
_GRID_ALONE = 16  # glyphs of a line with no other on its grid
_GRID_ALONE_FIT = 0.9
_GRID_BETWEEN = 5  # glyphs of a line between two of code, on their grid
_GRID_SAME = 0.015  # two lines' pitches this close are one grid
_GRID_SEARCH = 0.25  # the grid's pitch is sought this near the pitch of the words' widths
_GRID_STEPS = 167
_OVERHANG = 0.2  # of a cell: how far a glyph's ink may reach into the cell beside its own
_ONE_GLYPH = 0.75  # of a cell: pieces of ink spanning no more than this are one glyph
_BAND_REACH = 0.35  # of a word's height: how far beyond the line's other words a box may reach
_REREAD_PAD = 1 / 3  # of a line's height: the white around a line of code read again alone
# A line set apart from prose: the gap above or below it this much wider than the page's
# usual one, or set in from the lines around it by more than its height.
_APART_GAP = 1.3
# A list item's bullet, as set or as Tesseract reads it: an item whose words are set in
# typewriter type ("• mypackage_1.0.dsc") is a list's, not code shown apart.
_BULLET_SIGNS = set("•·▪●*–—»°«©¢®")


def _cells(word: Word, advance: float, *, ink: bool = True) -> tuple[float, float]:
    """Where the word's character cells begin and end, from its ink and its end glyphs; a
    text layer's boxes (`ink` false) are the cells already."""
    if not ink:
        return word.box.left, word.box.right
    left = _BEARINGS.get(word.text[0], (_BEARING, _BEARING))[0]
    right = _BEARINGS.get(word.text[-1], (_BEARING, _BEARING))[1]
    return word.box.left - left * advance, word.box.right + right * advance


def _ink(word: Word) -> float:
    """The word's ink width in characters, were it set in a fixed-pitch font."""
    left = _BEARINGS.get(word.text[0], (_BEARING, _BEARING))[0]
    right = _BEARINGS.get(word.text[-1], (_BEARING, _BEARING))[1]
    return max(0.2, len(word.text) - left - right)


def pitch(words: list[Word]) -> float:
    """The character advance that best explains the words' widths, in pixels."""
    return sum(w.box.width for w in words) / sum(_ink(w) for w in words)


def _misses(words: list[Word], advance: float) -> list[float]:
    """How far, in characters, each word's width is from its length at `advance`."""
    return [abs(w.box.width - advance * _ink(w)) / advance for w in words]


def misfit(words: list[Word], advance: float) -> float:
    """How far, in characters on average, the words' widths are from a fixed `advance`."""
    return statistics.fmean(_misses(words, advance))


def is_code(line: Line) -> bool:
    """Whether a line is set in a fixed-pitch font, as marked on its words."""
    chars = sum(len(w.text) for w in line.words)
    mono = sum(len(w.text) for w in line.words if w.monospace)
    return chars > 0 and mono >= _CODE_SHARE * chars


def mark_measured(lines: list[Line], gray: np.ndarray | None = None) -> None:
    """Mark the words of the page's runs of monospaced lines, measured from their widths
    and, given the page's pixels (`gray`, 2-D), from where their glyphs sit.

    The pitch comes from the lines that surely are monospaced, one for each size of
    fixed-pitch type the page sets them in (a table's commands and a listing below it); a
    run of lines that fit a pitch is code when one of them is sure, or when its lines look
    like code. A command shown apart from the prose ("sqrt(-17)") is code when its glyphs
    sit on a grid that another line's share, or that its own many glyphs keep.
    """
    sure = [line for line in lines if _surely_monospaced(line)]
    # Figures are set on one width in most fonts: rows of figures alone are a program's
    # output only beside code that says so, and not when their separators are narrow.
    measured = [(line, _measured(line)) for line in lines]
    figure_rows = [(line, words) for line, words in measured if _only_figures(words)]
    figures = {id(line) for line, _ in figure_rows}
    named = [line for line in sure if id(line) not in figures]
    if not named or _proportional_figures([words for _, words in figure_rows]):
        sure = named
    strong = {id(line) for line in sure}
    sure += [line for line in _steady_runs(lines) if id(line) not in strong]
    known: dict[int, PitchGrid | None] = {}  # the lines' grids, measured once each
    if gray is not None:
        sure = [line for line in sure if not _word_off_grid(line, gray, known)]
    groups = [
        group
        for group in _by_pitch(sure)
        if len(group) >= 2
        or any(len(line.text) >= _LONE_CHARS for line in group)
        or _seconded(group[0], lines)
    ]
    if not groups:
        # A listing of one word a line ("\\let\\CROP@user@a\\relax"): no line has the words
        # to tell by, the run of them does. One short line may fit a pitch by chance: a
        # heading of three words.
        steady = _steady(lines)
        groups = [steady] if steady else []
    if gray is not None:
        for line in _on_grid(lines, gray, sure, known):
            _mark(line)
    for group in groups:
        _mark_pitch(lines, group)
    _mark_between(lines)
    if gray is not None:
        between = [line for i, line in enumerate(lines) if _between_on_grid(lines, i, gray, known)]
        for line in between:
            _mark(line)
        if between:
            _mark_between(lines)


def _between_on_grid(
    lines: list[Line], i: int, gray: np.ndarray, known: dict[int, PitchGrid | None]
) -> bool:
    """Whether line `i` is a line of code without code's signs that the words' widths
    missed ("local i j k" read as "local ijk"): between two lines of code, its glyphs on
    their grid."""
    if is_code(lines[i]) or _code_beside(lines, i) != (True, True):
        return False
    neighbour = _grid_of(lines[i - 1], gray, known)
    if neighbour is None or neighbour.fit < _GRID_FIT:
        return False
    found = _remeasured(lines[i], gray, [neighbour.advance])
    return found is not None and found.fit >= _GRID_ALONE_FIT and len(found.starts) >= _GRID_BETWEEN


def _on_grid(
    lines: list[Line],
    gray: np.ndarray,
    sure: list[Line],
    known: dict[int, PitchGrid | None] | None = None,
) -> list[Line]:
    """The lines with code's signs set apart from the prose whose glyphs sit on a grid,
    with another such line on the same grid or with glyphs enough to tell alone. `sure`
    are the lines measured as code by their words; `known`, grids measured already."""
    known = {} if known is None else known
    candidates: list[tuple[int, PitchGrid]] = []
    short: list[int] = []
    advances: list[float] | None = None
    for i, line in enumerate(lines):
        glyphs = _grid_glyphs(line)
        if glyphs < _GRID_SHORT:
            continue
        if glyphs < _GRID_GLYPHS:
            short.append(i)
            continue
        found = _grid_of(line, gray, known)
        if found is None or found.fit < _GRID_FIT:
            # Glyphs misread or run together ("? t : 0" as "7t:0") throw the words' widths
            # off the pitch: the line is measured again on the grids of the page's sure code.
            if advances is None:
                advances = _sure_advances(_grid_of(s, gray, known) for s in sure)
            found = _remeasured(line, gray, advances) or found
        if found is not None and found.fit >= _GRID_FIT and len(found.starts) >= _GRID_GLYPHS:
            candidates.append((i, found))
    code = {id(line) for line in sure} | {id(lines[i]) for i, _ in candidates}
    usual = _usual_gap(lines)
    measured = [
        (found.advance, found.fit, len(found.starts), lines[i])
        for i, found in candidates
        if _apart(lines, i, usual, code)
    ]
    on_grid = []
    for advance, fit, glyphs, line in measured:
        alone = glyphs >= _GRID_ALONE and fit >= _GRID_ALONE_FIT
        if alone or any(
            other is not line and abs(a / advance - 1) <= _GRID_SAME for a, _, _, other in measured
        ):
            on_grid.append(line)
    kept = [a for a, fit, glyphs, _ in measured if glyphs >= _GRID_ALONE and fit >= _GRID_ALONE_FIT]
    if short and (kept or sure):
        if advances is None:
            advances = _sure_advances(_grid_of(s, gray, known) for s in sure)
        apart = [i for i in short if _apart(lines, i, usual, code)]
        on_grid += _short_on_grid([lines[i] for i in apart], gray, [*advances, *kept])
    return on_grid


def _grid_glyphs(line: Line) -> int:
    """The glyphs of a line that may be code shown apart, to find its grid by: none for a
    line without code's signs, of figures alone, or a list's item."""
    text = "".join(w.text for w in line.words)
    if _CODE_SIGNS.search(text) is None or _figures(text):
        return 0
    return 0 if len(line.words) > 1 and line.words[0].text in _BULLET_SIGNS else len(text)


def _short_on_grid(lines: list[Line], gray: np.ndarray, advances: list[float]) -> list[Line]:
    """The short lines shown apart ("[ a, 1 ]") whose glyphs sit on the grid of the page's
    code: too few glyphs to find a grid by, enough to fit one sought at its pitch alone."""
    on_grid = []
    for line in lines:
        found = _remeasured(line, gray, advances)
        if found is not None and found.fit >= _GRID_FIT and len(found.starts) >= _GRID_SHORT:
            on_grid.append(line)
    return on_grid


@dataclass(frozen=True)
class PitchGrid:
    """The cells a line's glyphs sit in: cell k spans `origin + k * advance` to the next,
    in page pixels. `fit` is how nearly the glyphs' centres fall on it (1 when each is
    centred in a cell); `starts` and `stops` bound the runs of ink across the line (a
    glyph, or touching glyphs)."""

    advance: float
    origin: float
    fit: float
    starts: np.ndarray
    stops: np.ndarray

    def cells(self, start: int, stop: int) -> tuple[int, int]:
        """The first and last cell that ink from `start` to `stop` (exclusive) lies in; ink
        may reach a little into the cells beside its own."""
        first = math.floor((start - self.origin) / self.advance + _OVERHANG)
        last = math.floor((stop - 1 - self.origin) / self.advance - _OVERHANG)
        return first, max(first, last)


def grid(
    line: Line, gray: np.ndarray, near: float | None = None, spread: float = _GRID_SEARCH
) -> PitchGrid | None:
    """The grid the line's glyphs sit on, measured on the page's pixels (`gray`, 2-D).

    The pitch is sought within `spread` of `near`, by default of the one its words' widths
    give; half or a third of the true pitch would fit as well, and is not sought."""
    measured = _measured(line)
    box = line.box
    left = max(0, box.left)
    top, bottom = _band(line)
    band = gray[max(0, top) : max(0, bottom), left : max(0, box.right)]
    if band.size == 0 or not measured:
        return None  # off the page, or nothing but a dot leader
    starts, stops = spans((band < INK).any(axis=0))
    if len(starts) < 2:
        return None
    advance = pitch(measured) if near is None else near
    starts, stops = _glyph_runs(starts + left, stops + left, advance)
    steps = max(3, round(_GRID_STEPS * spread / _GRID_SEARCH))
    candidates = advance * np.linspace(1 - spread, 1 + spread, steps)
    phase = _phases(starts[None, :], stops[None, :], candidates[:, None])
    means = np.exp(2j * np.pi * phase).mean(axis=1)
    best = int(np.argmax(np.abs(means)))
    advance = float(candidates[best])
    origin = float(np.angle(means[best])) / (2 * math.pi) * advance
    return PitchGrid(advance, origin, float(abs(means[best])), starts, stops)


def _grid_of(line: Line, gray: np.ndarray, known: dict[int, PitchGrid | None]) -> PitchGrid | None:
    """The line's `grid`, measured once: `known` keeps those measured, by the line's id."""
    if id(line) not in known:
        known[id(line)] = grid(line, gray)
    return known[id(line)]


def _phases(starts: np.ndarray, stops: np.ndarray, advance: np.ndarray | float) -> np.ndarray:
    """Where each run of ink stands in its cells of `advance` (arrays broadcast): 0 when it
    is centred in them. A run of n cells is centred n/2 cells from the start of its first."""
    cells = np.maximum(1, np.round((stops - starts) / advance + 0.2))
    phases: np.ndarray = (starts + stops) / 2 / advance - cells / 2
    return phases


def _band(line: Line) -> tuple[int, int]:
    """The rows the line's glyphs stand in: its box, short of where one word's box reaches
    far above or below the others' (into the next line, whose glyphs would count as this
    line's ink)."""
    reach = _BAND_REACH * statistics.median(w.box.height for w in line.words)
    top = statistics.median(w.box.top for w in line.words) - reach
    bottom = statistics.median(w.box.bottom for w in line.words) + reach
    return max(line.box.top, math.floor(top)), min(line.box.bottom, math.ceil(bottom))


def _glyph_runs(
    starts: np.ndarray, stops: np.ndarray, advance: float
) -> tuple[np.ndarray, np.ndarray]:
    """Runs of ink across a line with the pieces of one glyph joined: a straight quote's two
    ticks, a broken letter's halves. Two glyphs in neighbouring cells span more than a cell
    from the first's ink to the second's; pieces spanning less than `_ONE_GLYPH` of a cell
    are one glyph, which sits centred in its cell where each piece alone does not."""
    # Most runs are a glyph each: only where two runs lie that close is there joining to do.
    reach = _ONE_GLYPH * advance
    if len(starts) < 2 or not np.any(stops[1:] - starts[:-1] <= reach):
        return starts, stops
    joined_starts, joined_stops = [int(starts[0])], [int(stops[0])]
    for start, stop in zip(starts[1:].tolist(), stops[1:].tolist(), strict=True):
        if stop - joined_starts[-1] <= reach:
            joined_stops[-1] = stop  # a piece of the glyph begun at joined_starts[-1]
        else:
            joined_starts.append(start)
            joined_stops.append(stop)
    return np.array(joined_starts), np.array(joined_stops)


def snap_to_grid(
    lines: list[Line], gray: np.ndarray, reread: Callable[[Box], list[Line]] | None = None
) -> list[Line]:
    """The page's lines, each line of code whose glyphs sit on a grid with its words cut
    and joined where the cells say: a word per run of inked cells.

    Tesseract's spaces in code are guesses from white: it reads "local i j k" as "local
    ijk" and "methods(plot)" as "methods (plot)". In a fixed-pitch font a space is a cell
    with no ink, so the grid tells them. A line is put on its grid when a line of many
    glyphs sits on that grid surely (itself, or another of the page's code): a short line of
    a proportional font may fit some grid by chance, not the code's. A word whose glyphs do
    not match its inked cells one to one (a glyph misread as two) is not cut; it is still
    joined to a neighbour no empty cell parts it from.

    Given `reread`, which reads a box of the page again alone, in page pixels, a word read
    with more or fewer glyphs than its inked cells is read again first (`_reread_miscounted`)."""
    grids = {id(line): grid(line, gray) for line in lines if is_code(line)}
    sure = _sure_advances(grids.values())
    inside = {id(line) for i, line in enumerate(lines) if _code_beside(lines, i) == (True, True)}
    snapped = []
    for line in lines:
        own = found = grids.get(id(line))
        if found is not None and not _on_sure_grid(found, sure):
            # A misread line's words give a pitch far off ("&1&2&3&" for "& 1 & 2 & 3 &"):
            # it is measured again on the grids of the page's sure code.
            found = _remeasured(line, gray, sure)
        if found is not None and _on_sure_grid(found, sure):
            if reread is not None:
                line = _reread_miscounted(line, found, reread)
            line = _snapped(line, found)
        elif own is not None and _prose_off_grid(line, own, found, edge=id(line) not in inside):
            for word in line.words:
                word.monospace = False
        snapped.append(line)
    return snapped


def _prose_off_grid(line: Line, own: PitchGrid, code: PitchGrid | None, *, edge: bool) -> bool:
    """Whether a line taken for code is prose: its glyphs sit on no grid, neither its own
    (`own`) nor, where the page has sure code, the grid of that code's pitch (`code`), even
    word by word (a justified line of typewriter type spreads its words by parts of a cell,
    off the line's one grid; each of its words keeps the pitch).

    Such a line of words alone fits the code's pitch by chance ("Examples:" over a listing,
    "produces the matrix" over "ans =") or stands inside a listing's block ("David A.
    James", an author under a package's address set in typewriter type). At a listing's
    `edge`, a sentence that names code ("The library syntax is GEN glog1p(GEN x, long
    prec).") is prose too; between two lines of code, such a line is the listing's (a
    comment set in roman)."""
    text = "".join(w.text for w in line.words)
    if len(text) < _GRID_GLYPHS:
        return False
    if _CODE_SIGNS.search(text):
        sentence = len(line.words) >= _SENTENCE_WORDS and _worded(line)
        if not (edge and sentence and len(text) >= _GRID_ALONE):
            return False
    elif not all(w.text.strip(_PUNCTUATION).isalpha() for w in line.words):
        return False  # a command's options ("gpg -o file.sig"), its table row's prose beside
    # A few glyphs fit a grid of their own by chance ("Description", a heading in bold
    # under a listing): at a listing's edge, a short line is told by the code's grid.
    if own.fit >= _GRID_FIT and not (edge and code is not None and len(text) < _GRID_ALONE):
        return False
    return code is None or (code.fit < _GRID_FIT and _word_fit(line, code) < _GRID_FIT)


def _word_fit(line: Line, found: PitchGrid) -> float:
    """How nearly the glyphs of each of the line's words sit on the grid's pitch, each word
    from where it starts: a justified line of typewriter type spreads its words by parts of
    a cell, so the line sits on no one grid, but each word keeps the pitch."""
    fits = _word_fits(line, found)
    weight = sum(glyphs for _, glyphs in fits)
    return sum(fit * glyphs for fit, glyphs in fits) / weight if weight else 0.0


def _word_fits(
    line: Line, found: PitchGrid, words: list[Word] | None = None
) -> list[tuple[float, int]]:
    """How nearly each word's glyphs sit on the grid's pitch, from where the word starts,
    and how many glyphs it has: the words (of `words`, by default the line's) with enough
    glyphs to tell."""
    centres = (found.starts + found.stops) / 2
    phase = _phases(found.starts, found.stops, found.advance)
    fits = []
    for word in line.words if words is None else words:
        inside = (centres >= word.box.left) & (centres < word.box.right)
        if inside.sum() >= _WORD_GLYPHS:
            fits.append((float(abs(np.exp(2j * np.pi * phase[inside]).mean())), int(inside.sum())))
    return fits


def _word_off_grid(line: Line, gray: np.ndarray, known: dict[int, PitchGrid | None]) -> bool:
    """Whether a word of letters on the line sits off the pitch its glyphs would keep in a
    fixed-pitch font: a table's row of a name in roman beside a macro in typewriter type
    ("second \\second s") fits one pitch by its words' widths, and even its glyphs fit
    one grid taken all together, by chance; the name's own glyphs do not. Only words of
    letters are asked: brackets that touch ("[]") or a listing's line number in another
    font throw a word of code off its grid."""
    lettered = [w for w in line.words if _WORD_OF_LETTERS.fullmatch(w.text)]
    if not lettered:
        return False
    found = _grid_of(line, gray, known)
    return found is not None and any(
        fit < _SURE_WORD_FIT for fit, _ in _word_fits(line, found, lettered)
    )


def _reread_miscounted(line: Line, found: PitchGrid, reread: Callable[[Box], list[Line]]) -> Line:
    """The line with each word that Tesseract read with more or fewer glyphs than its
    inked cells hold ("Zz" in one cell, "\\7x*)" for "\\~*)" in four) as the line reads
    when read again alone, where that reading fits the word's cells glyph for glyph; as
    first read where it does not.

    Glyphs read twice or read into the next are the misreading a grid can see; the reading
    again is another look at the same pixels, without the page around them, and the cells
    tell which of the two fits."""
    # All the line's words share out its ink, a line number's too; only the code is counted.
    words = line.words
    cells = [_inked_cells(runs, found) for runs in _ink_by_word(words, found)]
    measured = {id(w) for w in _measured(line)}
    miscounted = [
        i
        for i, (w, c) in enumerate(zip(words, cells, strict=True))
        if id(w) in measured and c and len(c) != _glyphs(w)
    ]
    if not miscounted:
        return line
    pad = round(_REREAD_PAD * line.height)
    box = line.box
    fresh = reread(Box(box.left - pad, box.top - pad, box.right + pad, box.bottom + pad))
    # Tesseract may give the line's words as lines of their own, in any order.
    again = sorted(
        (w for ln in fresh for w in ln.words if box.top <= w.box.center[1] <= box.bottom),
        key=lambda w: w.box.left,
    )
    if not again:
        return line
    again_cells = [_inked_cells(runs, found) for runs in _ink_by_word(again, found)]
    replaced: dict[int, list[Word]] = {}
    for i in miscounted:
        first, last = cells[i][0], cells[i][-1]
        taken = [
            (w, c)
            for w, c in zip(again, again_cells, strict=True)
            if c and first <= c[0] and c[-1] <= last
        ]
        fits = all(len(c) == _glyphs(w) for w, c in taken)
        if taken and fits and sorted(x for _, c in taken for x in c) == cells[i]:
            replaced[id(words[i])] = [
                _like(words[i], w.text, w.box, w.confidence) for w, _ in taken
            ]
    if not replaced:
        return line
    return Line([new for w in line.words for new in replaced.get(id(w), [w])])


def _sure_advances(grids: Iterable[PitchGrid | None]) -> list[float]:
    """The pitches of the grids that many glyphs keep surely."""
    return [
        g.advance
        for g in grids
        if g is not None and g.fit >= _GRID_ALONE_FIT and len(g.starts) >= _GRID_ALONE
    ]


def _remeasured(line: Line, gray: np.ndarray, advances: list[float]) -> PitchGrid | None:
    """The line's grid sought at each of `advances` alone, the one it fits best."""
    return max(
        (g for a in advances if (g := grid(line, gray, a, _GRID_SAME)) is not None),
        key=lambda g: g.fit,
        default=None,
    )


def _on_sure_grid(found: PitchGrid, sure: list[float]) -> bool:
    return found.fit >= _GRID_FIT and any(abs(a / found.advance - 1) <= _GRID_SAME for a in sure)


def _snapped(line: Line, found: PitchGrid) -> Line:
    # A listing's line number is set in a font of its own, off the grid: it stays as read.
    measured = _measured(line)
    numbered = line.words[: len(line.words) - len(measured)] if measured[:1] else []
    if numbered and measured[0] is not line.words[len(numbered)]:
        return line
    if numbered:
        # The number's ink is its own, not the code's first word's.
        own = [
            i
            for i, run in enumerate(zip(found.starts.tolist(), found.stops.tolist(), strict=True))
            if all(_distance(w, run) > 0 for w in numbered)
        ]
        found = replace(found, starts=found.starts[own], stops=found.stops[own])
    snapped = _snapped_words(measured, found)
    return line if snapped is None else Line([*numbered, *snapped])


def _snapped_words(words: list[Word], found: PitchGrid) -> list[Word] | None:
    ink = _ink_by_word(words, found)
    cells = [_inked_cells(runs, found) for runs in ink]
    if not cells or not all(cells):
        return None
    for i in range(len(cells) - 1):
        # Tesseract's box of a word may reach over the next word's glyphs ("abcdef" with
        # the ink of "abcdefgh", then "gh"): the next word's cells are its own.
        own = [c for c in cells[i] if c < cells[i + 1][0]]
        if own:
            cells[i] = own
    pieces: list[tuple[Word, list[int]]] = []  # words and the cells their glyphs are in
    for word, runs, inked in zip(words, ink, cells, strict=True):
        glyphs = [c for c in word.text if not c.isspace()]
        if len(inked) != len(glyphs):
            pieces.append((_on_cells(word, word.text, inked, runs, found), inked))
            continue
        start = 0
        for group in _consecutive(inked):
            text = "".join(glyphs[start : start + len(group)])
            start += len(group)
            pieces.append((_on_cells(word, text, group, runs, found), group))
    snapped: list[Word] = []
    last = -2
    for word, inked in pieces:
        if snapped and inked[0] == last + 1:
            # No empty cell between: one word, split by Tesseract at a bracket or a point.
            previous = snapped[-1]
            box = Box(previous.box.left, previous.box.top, word.box.right, previous.box.bottom)
            snapped[-1] = _like(previous, previous.text + word.text, box, word.confidence)
        elif snapped and inked[0] <= last:
            return None  # glyphs read twice: the cells cannot tell
        else:
            snapped.append(word)
        last = inked[-1]
    return snapped


def _ink_by_word(words: list[Word], found: PitchGrid) -> list[list[tuple[int, int]]]:
    """The runs of ink of the line that are each word's: those its box reaches (the
    narrowest box, where Tesseract's boxes overlap); a run no box reaches (a glyph Tesseract
    read but left out of its word's box) goes to the word beside it short of cells for
    its glyphs, else to the nearest."""
    ink: list[list[tuple[int, int]]] = [[] for _ in words]
    orphans = []
    for run in zip(found.starts.tolist(), found.stops.tolist(), strict=True):
        reaching = [i for i, w in enumerate(words) if _distance(w, run) == 0]
        if reaching:
            ink[min(reaching, key=lambda i: words[i].box.width)].append(run)
        else:
            orphans.append(run)
    for run in orphans:
        by_distance = sorted(range(len(words)), key=lambda i: _distance(words[i], run))
        beside = by_distance[:2]  # the words either side of it
        short = [i for i in beside if len(_inked_cells(ink[i], found)) < _glyphs(words[i])]
        ink[(short or by_distance)[0]].append(run)
    return [sorted(runs) for runs in ink]


def _distance(word: Word, run: tuple[int, int]) -> int:
    return max(word.box.left - run[1], run[0] - word.box.right, 0)


def _glyphs(word: Word) -> int:
    return sum(not c.isspace() for c in word.text)


def _inked_cells(runs: list[tuple[int, int]], found: PitchGrid) -> list[int]:
    """The cells that hold ink of the runs, in order."""
    cells: set[int] = set()
    for start, stop in runs:
        first, last = found.cells(start, stop)
        cells.update(range(first, last + 1))
    return sorted(cells)


def _consecutive(cells: list[int]) -> list[list[int]]:
    groups: list[list[int]] = []
    for cell in cells:
        if groups and cell == groups[-1][-1] + 1:
            groups[-1].append(cell)
        else:
            groups.append([cell])
    return groups


def _on_cells(
    word: Word, text: str, cells: list[int], runs: list[tuple[int, int]], found: PitchGrid
) -> Word:
    """The word as the text of the glyphs in `cells`, its box the ink of its runs there:
    boxes stay boxes of ink, as on the lines not put on a grid."""
    ink = [run for run in runs if _overlaps(found.cells(*run), (cells[0], cells[-1]))]
    if not ink:
        return _like(word, text, word.box, word.confidence)
    box = Box(min(a for a, _ in ink), word.box.top, max(b for _, b in ink), word.box.bottom)
    return _like(word, text, box, word.confidence)


def _overlaps(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return a[0] <= b[1] and b[0] <= a[1]


def _like(word: Word, text: str, box: Box, confidence: float) -> Word:
    return Word(
        text,
        min(word.confidence, confidence),
        box,
        monospace=word.monospace,
        bold=word.bold,
        line_number=word.line_number,
    )


def _usual_gap(lines: list[Line]) -> float:
    """The page's usual white between a line and the next, in pixels."""
    gaps = [
        b.box.top - a.box.bottom
        for a, b in itertools.pairwise(lines)
        if 0 <= b.box.top - a.box.bottom <= 1.5 * max(a.height, b.height)
    ]
    return statistics.median(gaps) if gaps else 0.0


def _apart(lines: list[Line], i: int, usual: float, code: set[int]) -> bool:
    """Whether the line is shown apart from the prose around it, not one of a paragraph's
    lines (a web address set in typewriter type that runs over a line, or ends a
    paragraph): no line of prose just above or below it at the usual gap, starting where
    it starts. Lines of code beside it (`code`, by id) are its listing's; a word alone on
    its line is no paragraph's ("Synopsis" over a function's prototype, "Description"
    under it)."""
    line = lines[i]
    for j in (i - 1, i + 1):
        if not 0 <= j < len(lines) or id(lines[j]) in code or len(lines[j].words) < 2:
            continue
        other = lines[j]
        above, below = (other, line) if j < i else (line, other)
        gap = below.box.top - above.box.bottom
        in_line = abs(other.box.left - line.box.left) <= line.height
        if _close(above, below) and gap <= _APART_GAP * usual + 2 and in_line:
            return False
    return True


def _by_pitch(sure: list[Line]) -> list[list[Line]]:
    """The sure lines in groups of one pitch, apart where the pitch steps up by more than
    the spread of one."""
    groups: list[list[Line]] = []
    least = 0.0  # the smallest pitch of the last group
    measured = sorted(((pitch(_measured(line)), line) for line in sure), key=lambda p: p[0])
    for value, line in measured:
        if groups and value <= (1 + _PITCH_SPREAD) * least:
            groups[-1].append(line)
        else:
            groups.append([line])
            least = value
    return groups


def _seconded(sure: Line, lines: list[Line]) -> bool:
    """Whether a short sure line is code by the company it keeps: it has code's signs, and
    another line of the page with them fits its pitch ("# aptitude search '~c'" and, a
    paragraph on, "# aptitude purge '~c'", each shown apart). A heading that fits a pitch by
    chance rarely has those signs, and another line on its grid still more rarely."""
    if _CODE_SIGNS.search(sure.text) is None:
        return False
    advance = pitch(_measured(sure))
    return any(
        line is not sure and _CODE_SIGNS.search(line.text) is not None and _fits(line, advance)
        for line in lines
    )


def _mark_pitch(lines: list[Line], sure: list[Line]) -> None:
    """Mark the runs of lines that fit the pitch of `sure`."""
    advance = _refined(sure, statistics.median(pitch(_measured(line)) for line in sure))
    sure_ids = {
        id(line) for line in sure if abs(pitch(_measured(line)) / advance - 1) <= _PITCH_SPREAD
    }
    size = statistics.median(line.height for line in sure)
    for run in _runs(lines, advance, size):
        if len(run) == 1 and run[0].height > (1 + _ALONE_SPREAD) * size:
            continue  # a heading that fits the pitch by chance
        if any(id(line) in sure_ids for line in run) or _looks_like_code(run):
            for line in run:
                _mark(line)


def _mark(line: Line) -> None:
    for word in line.words:
        word.monospace = True


def _mark_between(lines: list[Line]) -> None:
    """Mark a line of code that missed the pitch (a misread glyph, "}" alone) between lines
    of code: a line with code's signs between two, or a line of a sign or two beside one."""
    changed = True
    while changed:
        changed = False
        for i, line in enumerate(lines):
            if not is_code(line) and _between_code(lines, i):
                _mark(line)
                changed = True


def _code_beside(lines: list[Line], i: int) -> tuple[bool, bool]:
    """Whether a line of code stands close above line `i`, and whether one stands close
    below it."""
    line = lines[i]
    before = i > 0 and is_code(lines[i - 1]) and _close(lines[i - 1], line)
    after = i + 1 < len(lines) and is_code(lines[i + 1]) and _close(line, lines[i + 1])
    return before, after


def _between_code(lines: list[Line], i: int) -> bool:
    line = lines[i]
    before, after = _code_beside(lines, i)
    if _CODE_SIGNS.search(line.text) is None:
        return False
    if len(line.words) >= _STRONG_WORDS and _worded(line):
        # A sentence between two listings that names a macro or a function ("The print()
        # function handles factors ...") is set in the text's font, unless it fits the pitch.
        beside = lines[i - 1] if before else lines[i + 1] if after else None
        if beside is None or not _fits(line, pitch(_measured(beside))):
            return False
    tiny = sum(len(w.text) for w in line.words) <= 2
    return (before and after) or (tiny and (before or after))


def _worded(line: Line) -> bool:
    """Whether most of the line's words are words of a language, letters alone but for the
    punctuation around them, as a sentence's are; code's are mostly names and signs."""
    plain = sum(w.text.strip(_PUNCTUATION).isalpha() for w in line.words)
    return 2 * plain >= len(line.words)


def _refined(lines: list[Line], advance: float) -> float:
    """The pitch near `advance` on which the lines' words start most nearly on the grid:
    widths measure ink, starts measure advances. Lines of one word have no starts to tell."""
    spaced = [words for line in lines if len(words := _measured(line)) > 1]
    if not spaced:
        return advance
    candidates = [advance * (1 + step / 500) for step in range(-25, 26)]
    return min(candidates, key=lambda p: sum(_off_pitch(words, p) for words in spaced))


def _measured(line: Line) -> list[Word]:
    """The words the pitch is measured on: a listing's line number before the code is often
    set smaller, in another font. Before figures ("2005 58.1 63.4", a table's row) it stays:
    figures are set on one width in most fonts. A dot leader is no text to measure."""
    dots = leaders.leader_dots(line.words)
    words = [w for w in line.words if id(w) not in dots] if dots else line.words
    number = words[0].text if words else ""
    if len(words) > 1 and number.isdigit() and len(number) <= _NUMBER_DIGITS:
        rest = words[1:]
        if not _figures("".join(w.text for w in rest)):
            return rest
    return words


def _steady(lines: list[Line]) -> list[Line]:
    """Lines of one long word each (after any line number), in runs of close lines that
    look like code or are many, whose widths all fit one pitch: a proportional font's words
    of different letters do not keep one to a few hundredths. Words mostly of figures are
    left out."""
    found: list[Line] = []
    run: list[Line] = []
    for line in [*lines, None]:
        words = _measured(line) if line is not None else []
        one = len(words) == 1 and len(words[0].text) >= _STRONG_CHARS and _lettered(words[0].text)
        if line is not None and one and run and _close(run[-1], line):
            run.append(line)
            continue
        if len(run) >= _STEADY_LINES:
            pitches = [pitch(_measured(member)) for member in run]
            usual = statistics.median(pitches)
            steady = [m for m, p in zip(run, pitches, strict=True) if abs(p / usual - 1) <= _STEADY]
            # Names in a fixed pitch without code's signs ("pdflatex-dev") keep it as well;
            # a few words of a proportional font may keep one by chance, more do not.
            if _looks_like_code(run) or len(steady) >= _STEADY_PLAIN:
                found.extend(steady)
        run = [line] if line is not None and one else []
    return found


def _steady_runs(lines: list[Line]) -> list[Line]:
    """Lines of several words with code's signs that each fit a pitch loosely, at least
    `_STEADY_LINES` of them keeping one pitch to a few hundredths: a font whose brackets
    fill more of their cells than most ("\\usepackage [T1] {fontenc}") misses the strong fit
    on every line, and a proportional font's lines do not keep one pitch. Rows of a table
    are left out: figures are set on one width in most fonts."""
    loose = [(pitch(_measured(line)), line) for line in lines if _loosely_monospaced(line)]
    best: list[Line] = []
    for anchor, _ in loose:
        near = [line for p, line in loose if abs(p / anchor - 1) <= _STEADY]
        if len(near) > len(best):
            best = near
    return best if len(best) >= _STEADY_LINES else []


def _loosely_monospaced(line: Line) -> bool:
    words = _measured(line)
    text = "".join(w.text for w in words)
    if len(words) < 2 or len(text) < _STRONG_CHARS or _CODE_SIGNS.search(text) is None:
        return False
    if 3 * sum(_figures(w.text) for w in words) >= len(words):
        return False  # a table's row: its label, then amounts in a fixed width
    advance = pitch(words)
    return misfit(words, advance) < _WEAK and _off_pitch(words, advance) < _GRID


def _only_figures(words: list[Word]) -> bool:
    """Whether a line's measured words are figures, and it has some."""
    return bool(words) and all(_figures(w.text) for w in words)


def _proportional_figures(rows: list[list[Word]]) -> bool:
    """Whether the page's rows of figures (each its measured words) are set in a
    proportional font: their figures with a separator ("3,532") measure narrower, by about
    half a figure for each separator, than their length at the pitch of the plain ones
    ("1996", "670"), where a fixed-pitch font gives a separator a whole cell. The page's
    rows are taken together: one row's few figures measure too loosely to tell."""
    plain: list[Word] = []
    separated: list[Word] = []
    for words in rows:
        plain += [w for w in words if w.text.isdigit() and len(w.text) >= 2]
        separated += [w for w in words if _SEPARATED.fullmatch(w.text)]
    if len(plain) < _MIN_FIGURES or len(separated) < _MIN_FIGURES:
        return False
    advance = pitch(plain)
    short = [
        (advance * _ink(w) - w.box.width) / advance / sum(c in ".," for c in w.text)
        for w in separated
    ]
    return statistics.median(short) >= _NARROW_SEPARATOR


def _figures(text: str) -> bool:
    """Mostly figures, which are set on one width in most fonts: a column of amounts too."""
    return _mostly(text, str.isdigit)


def _lettered(text: str) -> bool:
    return _mostly(text, str.isalpha)


def _mostly(text: str, kind: Callable[[str], bool]) -> bool:
    """Whether at least half the text's characters are of the kind."""
    return 2 * sum(kind(c) for c in text) >= len(text)


def _surely_monospaced(line: Line) -> bool:
    """Whether the line's words fit one pitch in width and start on its grid, as a line of
    code's do. Figures fit any pitch that is their width (most fonts set them on one width),
    and the rows of a table's figure columns start on one grid by chance as often as one of
    them does: the words other than figures must have glyphs enough to tell, and fit it too
    ("Belgium (French)-BEL 100 6 77 85 97 82" in Helvetica does not; "France" may, by
    chance, so one word must be long). A line of figures alone may still be a program's
    output."""
    words = _measured(line)
    if len(words) < _STRONG_WORDS or sum(len(w.text) for w in words) < _STRONG_CHARS:
        return False
    advance = pitch(words)
    if misfit(words, advance) >= _STRONG or _off_pitch(words, advance) >= _GRID:
        return False
    # A dash in a column of figures is an empty cell, no word: "Karnataka 22.44 - - 2.86".
    named = [w for w in words if not (_figures(w.text) or _EMPTY_CELL.fullmatch(w.text))]
    if not named:
        return True
    # One word fits the figures' pitch by chance when its letters average their width
    # ("Defandants 287 242 223 207 208" in a bold sans): only a long one tells.
    # So do two short ones among more amounts, a table's label ("Total outlays 3,603 ..."),
    # where a program's header names its columns ("Status Age v1 v2 v3 v4").
    chars = sum(len(w.text) for w in named)
    amounts = sum(bool(_AMOUNT.fullmatch(w.text)) for w in words)
    if chars < _STRONG_CHARS or (
        (len(named) < 2 or len(named) < amounts) and chars < 2 * _STRONG_CHARS
    ):
        return False
    return misfit(named, advance) < _STRONG


def _fits(line: Line, advance: float) -> bool:
    """Whether the line's words fit the pitch, in width and in where they start.

    By width alone a proportional font of about the same average width fits many lines; but
    its spaces are a third of a character, so its words start anywhere, not on the grid.
    The median width is asked for: one misread or quoted word may miss.
    """
    words = _measured(line)
    if sum(len(w.text) for w in words) < 2:
        return False
    if statistics.median(_misses(words, advance)) >= _WEAK:
        return False
    return len(words) < 2 or _off_pitch(words, advance) < _GRID


def _off_pitch(words: list[Word], advance: float) -> float:
    """How far, in characters on average, each word starts from a whole number of
    characters after the start of the word before it."""
    if len(words) < 2:
        return 0.0
    pairs = itertools.pairwise(words)
    steps = [
        (_cells(b, advance)[0] - _cells(a, advance)[0]) / advance - len(a.text) for a, b in pairs
    ]
    return statistics.fmean(abs(s - round(s)) for s in steps)


def _runs(lines: list[Line], advance: float, size: float) -> list[list[Line]]:
    """Consecutive lines that fit the pitch and follow closely; a line of one or two
    characters ("}", "fi") between them goes with them."""
    runs: list[list[Line]] = []
    current: list[Line] = []
    for line in lines:
        # A heading may fit the pitch by chance; it is not the listing's size.
        fits = _fits(line, advance) and line.height <= (1 + _SIZE_SPREAD) * size
        tiny = sum(len(w.text) for w in _measured(line)) <= 2
        if current and _close(current[-1], line) and (fits or tiny):
            current.append(line)
            continue
        if current:
            runs.append(current)
        current = [line] if fits else []
    if current:
        runs.append(current)
    return runs


def _close(previous: Line, line: Line) -> bool:
    gap = line.box.top - previous.box.bottom
    height = max(previous.height, line.height)
    overlap = min(previous.box.right, line.box.right) - max(previous.box.left, line.box.left)
    near = overlap > 0 or abs(line.box.left - previous.box.left) <= 8 * height
    return -0.5 * height <= gap <= _RUN_GAP * height and near


def _looks_like_code(run: list[Line]) -> bool:
    """At least half the lines hold a sign prose rarely has: braces, "=", "<", "#", "$"."""
    signed = sum(1 for line in run if _CODE_SIGNS.search(line.text))
    return 2 * signed >= len(run) and sum(len(line.text) for line in run) >= 6


def columns(lines: list[Line]) -> list[list[tuple[int, Word]]]:
    """Each line's words with the character column it starts at, from the block's left edge.

    The pitch is refined so that word starts fall on whole columns: a pitch off by one per
    cent would put the end of an 80-character line almost a column out. A word that starts
    right where the one before it ends, at a bracket or a point, follows it without a space:
    Tesseract splits "methods(plot)" into two words. One that starts inside it (a glyph
    read twice) keeps a space.
    """
    if not any(line.words for line in lines):
        return []
    # A listing's line numbers, often in a font of their own, off the code's grid, are
    # placed by the code's (`_placed`), not measured for it.
    words = [w for line in lines if line.words for w in _measured(line)]
    measurable = [w for w in words if w.box.width > 0]
    if not measurable:
        # Nothing to measure a pitch on: the words one after another, a space apart.
        return [_one_after_another(line) for line in lines]
    longer = [w for w in measurable if len(w.text) >= 3] or measurable
    # Boxes of ink (OCR) or of whole cells (a text layer): whichever lands on the grid.
    seeds = (
        (statistics.median(w.box.width / _ink(w) for w in longer), True),
        (statistics.median(w.box.width / len(w.text) for w in longer), False),
    )
    fits = [
        (_off_grid(words, seed * (1 + step / 500), ink), seed * (1 + step / 500), ink)
        for seed, ink in seeds
        for step in range(-30, 31)
    ]
    _, advance, ink = min(fits)
    # Where in a cell most words start: the first word's start is one of them, and may be
    # off by the guess of its glyph's bearing.
    starts = np.array([_cells(w, advance, ink=ink)[0] for w in words]) / advance
    phase = float(np.angle(np.exp(2j * np.pi * starts).mean())) / (2 * math.pi)

    def column(word: Word) -> int:
        return round(_cells(word, advance, ink=ink)[0] / advance - phase)

    placed = [_placed(line.words, column, advance, ink) for line in lines]
    # A line number set left of where the block's first column would be moves the block.
    first = min(c for line in placed for c, _ in line[:1])
    return [[(c - first, word) for c, word in line] for line in placed]


def _placed(
    words: list[Word], column: Callable[[Word], int], advance: float, ink: bool
) -> list[tuple[int, Word]]:
    """A line's words, each with the column the grid puts it at (`column`), moved where
    the words before it would overlap it."""
    placed: list[tuple[int, Word]] = []
    cursor = 0
    for word in words:
        at = column(word)
        if len(placed) == 1 and _labelled(placed[0][1], word, advance, ink):
            # The line's first word, a line number in a font of its own, narrower than its
            # cells, goes left of the code, a space apart: the code keeps its columns.
            label = placed[0][1]
            placed[0] = (min(placed[0][0], at - len(label.text) - 1), label)
        elif placed:
            at = _after(placed[-1][1], word, at, cursor, advance, ink)
        placed.append((at, word))
        cursor = at + len(word.text)
    return placed


def _one_after_another(line: Line) -> list[tuple[int, Word]]:
    placed, column = [], 0
    for word in line.words:
        placed.append((column, word))
        column += len(word.text) + 1
    return placed


def _after(previous: Word, word: Word, column: int, cursor: int, advance: float, ink: bool) -> int:
    """The column of `word`, which the grid puts at `column`, after `previous`, whose
    characters end at `cursor`: joined to it, or a space or more after it.

    Tesseract splits words at brackets and points ("methods" "(plot)"); between letters it
    may end a word's text early and read the rest as a word of its own, their boxes touching
    ("abcdef" "gh"): no space's white lies between them. A word that starts inside the one
    before it (a glyph read twice, or one read too many) keeps a space. A text layer's words
    are apart at its own spaces, which may be narrower than a cell (a proportional font's
    beside typewriter names: "aptitude(8), dpkg(1)").
    """
    if column < cursor:
        return cursor + 1
    if ink:
        white = (_cells(word, advance)[0] - _cells(previous, advance)[1]) / advance
        if white < _SPACE_WHITE:
            return cursor
    if column == cursor and (previous.text[-1] in _SPLIT_AFTER or word.text[0] in _SPLIT_BEFORE):
        return cursor
    return max(column, cursor + 1)


def _labelled(first: Word, word: Word, advance: float, ink: bool) -> bool:
    """Whether a line's `first` word is a number set apart from the `word` after it by more
    white than a word split at a bracket leaves: a listing's line number, which in small
    type ("79" "(rrbot...") would else be joined to the code, or push it a column right of
    where it stands."""
    white = (_cells(word, advance, ink=ink)[0] - _cells(first, advance, ink=ink)[1]) / advance
    return white >= (_LABEL_WHITE if ink else 0.0) and first.text.isdigit()


def _off_grid(words: list[Word], advance: float, ink: bool) -> float:
    starts = [_cells(w, advance, ink=ink)[0] for w in words]
    origin = min(starts)
    return sum(abs(x - round(x)) for x in ((s - origin) / advance for s in starts))


def text_lines(lines: list[Line]) -> list[str]:
    """Each line of code as text, its words at their columns."""
    result = []
    for words in columns(lines):
        text = ""
        for column, word in words:
            text += " " * (column - len(text)) + word.text
        result.append(text)
    return result
