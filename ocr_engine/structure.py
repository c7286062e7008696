"""From words and regions to the page's structure: what each part is, and the order to read it.

Pure functions over words, paragraphs and boxes, shared by OCR and text-layer pages.
"""

from __future__ import annotations

import itertools
import re
import statistics
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from . import leaders, monospace
from .checkboxes import CHECKED, UNCHECKED
from .model import CODE, FOOTER, HEADER, IMAGE, LIST, TABLE, TEXT, TITLE, Block
from .regions import Grid
from .words import DESCENDING, Box, Line, Paragraph, Word, joined_with_partners, on_baseline

# A line this much taller or shorter than the last starts a new paragraph; glyph boxes of
# "several" and "keeps going" differ by a third at one type size.
_SIZE_STEP = 1.4
_CORE_ONLY = frozenset("acemnorsuvwxz .,:;-")  # letters and signs between baseline and x-height
_CORE_SHARE = 0.55  # of a line's full height, the lower-case letters' core
_MARGIN_ZONE = 0.075  # share of the page height at top and bottom for running heads and feet
_PAGE_NUMBER_ZONE = 0.12
_COLUMN_GAP_INCHES = 0.08
# Columns cut across by a gap wider than this many lines are not one pair of columns.
_BAND_GAP_LINES = 2.5
_LOOK_BACK = 3  # paragraphs a line may continue, counting back from the last
_CODE_GAP = 2.5  # line heights between lines of one listing: a blank line does not split it
_BLANK_HEIGHTS = 1.5  # a blank line, in the heights of the lines around it
_WIDE_GAP = 1.5  # line heights: wider than any space between the words of a sentence
_GUTTER_SPACES = 3  # a gutter is this many times as wide as the line's usual space
_LONE_GUTTER = 2.5  # line heights: a gutter no line beside shows is at least this wide
_NEXT_LINE = 1.0  # line heights between a line and the next, at most
_OUTDENT = 4.0  # line heights: a paragraph's first line is set in less than this
_MARGIN_SHARE = 0.95  # of the page's lines, those that end short of its right margin
_NUMBER_GAP = 8  # line heights: a section's number stands at most this far before its title
_NUMBER_COLUMN = 2  # line heights: numbers this close one under the other are a column
_DROP_CAP = 1.8  # a drop cap is this many times as tall as the lines beside it
_CAP_LINES = 4  # a drop cap stands beside this many lines at most
_FIGURE_TEXT_CONFIDENCE = 0.8  # of a line of text beside a figure, and its words kept
_FIGURE_NEXT_CONFIDENCE = 0.5  # of a word in a figure's outline a space from the line outside
_FIGURE_EDGE_SLACK = 0.5  # line heights: how near a figure's edge such a line reaches
# A speck is no larger than this share of the usual word height; a faint one (read with
# less confidence) no more than twice that.
_NOISE_SIZE = 0.2
_NOISE_CONFIDENCE = 0.4
SENTENCE_ENDS = (".", ":", "!", "?", ";")
# An en dash bullet reads as an em dash as often as not.
_BULLETS = set("•·▪‣◦●○■□➢►–—-*+»")
_GLUED_BULLETS = "•▪●■"
# How Tesseract tends to read a round bullet, and a small square one ("▪" as "=").
_SQUARE_READ = "="
_ITEM_NUMBER = re.compile(r"^\d+(?:[.,]\d+)*\.?\s+")
_OCR_BULLETS = {"e", "°", "«", "©", "¢", "o", "@", "®", "»", _SQUARE_READ}
_ENUMERATOR = re.compile(r"^(\(?\d{1,3}[.)]|\(?[a-zA-Z][.)]|\(?[ivxIVX]{1,5}[.)])$")
_RUNNING_WORDS = 12
_RUNNING_GAP = 1.5  # body line heights between a running head or foot and the body
_REACH_INTO = 0.25  # of a line's height: how far the line over or under it may reach into it
_HEADING_LINES = 3
_LARGER = 1.3  # type this much larger than the body's makes a heading
_ABOVE_START = 1.5  # line heights: a side head over the block it names, at most this above
_SECTION_LARGER = 1.1  # a numbered section's heading in a sequence of them, at least this
_HEADING_CONFIDENCE = 0.5  # a heading's characters are read with this confidence at least
_SIDEWAYS_CHARS = 3  # a word this long, taller than wide, is set turned
_TABLE_HEAD_GAP = 1.5  # line heights between a table's column labels and what they label
_TABLE_HEAD_WORDS = 6  # a column label's words at most; a caption has more
_HEADING_WORDS = 20  # a numbered heading: "5.14 I have a wireless network card which ..."
_HEADING_WORDS_UNNUMBERED = 10
_HEADING_WORDS_LARGE = 36  # a numbered heading set large and bold, over its three lines
_TITLE_RATIO = 1.9  # type this much larger than the body's may set a title of _HEADING_WORDS
_QUOTES = "\"'‘“"
_HEADING_LETTERS = 0.6  # share of a heading's characters that are letters
_HEADING_BOLD = 0.7  # share of a heading's characters in bold, at the body's size
_HEADING_ENDS = (".", ",", ";", ":")
_FOOTNOTE_MARKS = "*†‡"
# Dot leaders, to a page number or misread ("Page Layout ... 2... ee"): a contents entry.
_LEADER = re.compile(r"(?:\.\s?){4,}|(?:\.\s?){3,}.*\d$")
_ASCENDING = frozenset("bdfhklt0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÜÉÈÀ")
_FORMULA_SIGNS = re.compile(r"[{}=<>#;|\\$@*/\[\]]")
# A slash between words is no formula's: "Input/Output", "ST(E)/TT/Falcon".
_WORD_SLASH = re.compile(r"(?:(?<=[^\W\d_])|(?<=\)))/(?=[^\W\d_]|\()")
_CUT_GAP = 0.15  # of a line's height: white this narrow parts two letters of one word
_LEVEL = 0.2  # of a line's height: how far the tops or bottoms of one line's pieces differ
_CUT_PAD = 0.25  # of a line's height: white read around a cut line's two pieces
_CUT_MISREAD = frozenset(":;.,")  # a letter's half, at the cut, read as a stop
_CUT_TAIL = 2  # characters at most in a piece smaller than the line it was cut from
_SUBSECTION_NUMBER = re.compile(r"^\d+(\.\d+)+\.?$")  # "4.2", "4.2.5", "1.1."
_NUMBER_ALONE = re.compile(r"^(\d+|[A-Z])(\.\d+)+\.?$|^\d+\.$")  # "1.21", "A.3", "4."
# "2.1 Scope", "C.3.2 Fortran compilers", "3. Results": a number, then a capitalised word.
_SECTION_NUMBER = re.compile(r"^(\d+|[A-Z])(\.\d+)*\.?\s+(\S)")
_TITLE_OPENERS = "(\"'‘“"
_CAPTION = re.compile(r"^(chart|figure|fig\.|table|graph|exhibit|plate)\s+([A-Z]{1,3}-?)?\d", re.I)
_PAGE_OF = re.compile(r"\bpage\s+\d{1,4}(\s+of\s+\d{1,4})?\b", re.I)
_PAGE_NUMBER = re.compile(r"^(page\s+)?[-–]?\s*\d{1,4}\s*[-–]?(\s*(of|/)\s*\d{1,4})?$", re.I)


@dataclass
class Item:
    """One part of the page, in reading order once ordered."""

    kind: str
    box: Box
    paragraph: Paragraph | None = None
    level: int = 0  # heading level of a title, 1..3
    grid: Grid | None = None
    cells: list[list[list[Word]]] = field(default_factory=list)  # a table's words per cell

    @property
    def words(self) -> list[Word]:
        if self.paragraph is not None:
            return self.paragraph.words
        return [w for row in self.cells for cell in row for w in cell]

    def block(self, image: str | None = None) -> Block:
        """The item as the page model keeps it."""
        lines = self.paragraph.lines if self.paragraph is not None else []
        spans = list(self.grid.spans) if self.grid is not None else []
        return Block(self.kind, self.box, lines, self.level, self.cells, image, spans)


def group_lines(lines: list[Line]) -> list[Paragraph]:
    """Paragraphs from lines in reading order, by one rule for OCR and text layers alike.

    Tesseract's own paragraphs break at short lines and size changes less predictably, and a
    text layer has none.
    A line continues the paragraph above when it is as large, overlaps it, follows at the
    page's usual line spacing, and the line above ran to the full width or left its sentence
    open. Lines of code make paragraphs of their own, blank lines and all. A line may
    continue a paragraph a few back: lines read across two columns alternate between them.
    """
    lines = _with_drop_caps(lines)
    usual = _usual_gap(lines)
    margin = _right_margin(lines)
    paragraphs: list[Paragraph] = []
    for line in lines:
        paragraph = _continued(paragraphs, line, usual, margin)
        if paragraph is None:
            paragraphs.append(Paragraph([line]))
        else:
            paragraph.lines.append(line)
    return paragraphs


def _usual_gap(lines: list[Line]) -> float:
    """The page's usual space between a line and the next of its paragraph; lines read
    across columns alternate, so the line above may be a few lines back."""
    gaps = []
    for i, line in enumerate(lines):
        above = [a for a in lines[max(0, i - _LOOK_BACK) : i] if _adjacent(a, line)]
        if above:
            gaps.append(line.box.top - above[-1].box.bottom)
    return statistics.median(gaps) if gaps else 0.0


def _numbered(line: Line) -> bool:
    return bool(line.words) and line.words[0].line_number


def _right_margin(lines: list[Line]) -> float:
    """Where the page's full lines end: most lines of running text reach it."""
    rights = sorted(line.box.right for line in lines)
    return float(rights[int(_MARGIN_SHARE * (len(rights) - 1))]) if rights else 0.0


def _continued(
    paragraphs: list[Paragraph], line: Line, usual_gap: float, margin: float
) -> Paragraph | None:
    """The paragraph the line goes on with: the last, or one a little before it beside
    which the paragraphs since lie (another column's). `margin` is where full lines end."""
    code = monospace.is_code(line)
    if _numbered(line) and not code:
        return None  # numbered lines stay lines: "14 of discovery." is cited by its number
    for paragraph in reversed(paragraphs[-_LOOK_BACK:]):
        last = paragraph.lines[-1]
        if code == monospace.is_code(last) and (code or not _next_term(paragraph, line, margin)):
            goes_on = _code_continues if code else _continues
            if goes_on(last, line, usual_gap):
                return paragraph
        box = paragraph.box
        if min(box.right, line.box.right) > max(box.left, line.box.left):
            return None  # a paragraph in the way, above the line
    return None


def _next_term(paragraph: Paragraph, line: Line, margin: float) -> bool:
    """Whether the line is the next term of a list of definitions, after a description of
    one line set in from it: it starts far left of that line, further than a paragraph's
    first line is indented, and that line stops short of where full lines end ("Sameer
    Kumar Prayaga and Tomoaki Nishiyama", then "RSPerl: Duncan Temple Lang"). A paragraph's
    first line set in an inch runs on to the margin; a piece of a line (", there are ...")
    and a line whose sentence runs on ("letter of the name") go on from it."""
    first = paragraph.lines[0]
    height = line.height
    return (
        len(paragraph.lines) == 1
        and first.text[:1].isupper()
        and not line.text[:1].islower()
        and first.box.left - line.box.left > _OUTDENT * height
        and first.box.right < margin - _OUTDENT * height
    )


def _code_continues(previous: Line, line: Line, usual_gap: float) -> bool:
    """Lines of one listing follow closely, but a blank line between them is no break.

    A blank line is a line's height and two of the page's usual gaps; a listing whose lines
    have no ascender or descender to measure ("set mode emacs") looks shorter than it is.
    """
    height = max(previous.height, line.height)
    gap = line.box.top - previous.box.bottom
    blank = 2 * usual_gap + _BLANK_HEIGHTS * height
    return -0.5 * height <= gap <= max(_CODE_GAP * height, blank)


def _with_drop_caps(lines: list[Line]) -> list[Line]:
    """Lines with a drop cap joined to the word it begins.

    A large initial read on its own, or as the first word of whichever line Tesseract put it
    in (often the second, level with its middle), would otherwise stand apart from its
    paragraph as a one-letter title or a stray letter.
    """
    result = [line for line in lines if line.words]
    for i, line in enumerate(result):
        if not line.words:
            continue  # a drop cap alone on its line, moved to the line it begins
        cap = line.words[0]
        if len(cap.text) != 1 or not cap.text.isupper():
            moved = _moved_cap(result, i)
            if moved is not None:
                result[i] = moved
            continue
        rest = Line(line.words[1:]) if len(line.words) > 1 else Line([])
        others = [
            j for j, other in enumerate(result) if j != i and other.words and _beside(cap, other)
        ]
        # The cap begins the highest line beside it: its paragraph's first.
        j = min(others, key=lambda j: result[j].box.top, default=None)
        if rest.words and _beside(cap, rest) and (j is None or rest.box.top <= result[j].box.top):
            result[i] = _capped(cap, rest)
        elif j is not None:
            result[j] = _capped(cap, result[j])
            result[i] = rest
    return [line for line in result if line.words]


def _moved_cap(lines: list[Line], i: int) -> Line | None:
    """Line `i` begun by a drop cap that Tesseract read into a line below it instead.

    The first line reads "he machine began", and a line or two below, beside the cap's
    middle and within the same sentence, reads "Tstreet had heard": the capital is moved
    back to where it begins the paragraph.
    """
    first = lines[i].words[0]
    if not first.text[:1].islower() or (i and not lines[i - 1].text.endswith(SENTENCE_ENDS)):
        return None
    # The lines beside a drop cap are indented by it; one below it is not.
    below = [line for line in lines[i + 1 : i + 1 + _CAP_LINES] if line.words]
    if monospace.is_code(lines[i]) or not any(
        first.box.left - line.box.left >= line.height for line in below
    ):
        return None
    for j in range(i + 1, min(i + _CAP_LINES, len(lines))):
        if not lines[j].words or not lines[j - 1].words:
            return None
        word = lines[j].words[0]
        above = lines[j - 1]
        if abs(word.box.left - first.box.left) > lines[j].height or above.text.endswith(
            SENTENCE_ENDS
        ):
            return None
        if len(word.text) > 1 and word.text[0].isupper() and word.text[1].islower():
            glued = Word(word.text[1:], word.confidence, word.box, word.monospace, word.bold)
            lines[j] = Line([glued, *lines[j].words[1:]])
            cap = Word(word.text[0], word.confidence, first.box)
            return _capped(cap, lines[i])
    return None


def _beside(cap: Word, line: Line) -> bool:
    """A single capital much taller than the line, just left of it, its top at the line's."""
    first = line.words[0]
    return (
        len(cap.text) == 1
        and cap.text.isupper()
        and cap.box.height >= _DROP_CAP * line.height
        and 0 <= first.box.left - cap.box.right <= 2 * line.height
        and abs(cap.box.top - line.box.top) <= line.height
        and first.text[:1].islower()
    )


def _capped(cap: Word, line: Line) -> Line:
    first = line.words[0]
    joined = Word(
        cap.text + first.text,
        min(cap.confidence, first.confidence),
        first.box,  # the line's own height, so the cap does not make it a title
        first.monospace,
        first.bold,
    )
    return Line([joined, *line.words[1:]])


def join_cut_words(
    lines: list[Line], reread: Callable[[Box], list[Line]] | None = None
) -> list[Line]:
    """The lines with each pair that Tesseract cut apart inside a word made one line again.

    Its layout analysis may find a column's edge where a title in large type closes two
    letters up ("Table o" and "f Contents", parted between the kerned "o" and "f"), or where
    a paragraph set in from a list starts ("dvilualate:" and "x-dev" down a list of
    commands, the glyph at the cut misread). A piece of line that starts within a letter's
    gap of where a line ends, within that line's height, is the line's: the two are read
    again as one word where `reread` can (the two pieces' white around them; a line may run
    on into a table's cells), and otherwise the pieces made one word. A gutter between
    columns is wider than a word's space, and far wider than that."""

    def joined(line: Line, after: Line) -> Line:
        last, first = line.words[-1], after.words[0]
        if reread is not None:
            box = last.box.union(first.box)
            pad = int(_CUT_PAD * max(line.height, after.height))
            read = reread(Box(box.left - pad, box.top - pad, box.right + pad, box.bottom + pad))
            if len(read) == 1 and read[0].text.strip():
                return Line([*line.words[:-1], *read[0].words, *after.words[1:]])
        return _glued(line, after)

    return joined_with_partners(lines, _cut_partner, joined)


def _cut_partner(line: Line, lines: list[Line]) -> int | None:
    """The index of the line that goes on from inside `line`'s last word, if any."""
    return next((k for k, b in enumerate(lines) if b is not line and _cut_after(line, b)), None)


def _glued(line: Line, after: Line) -> Line:
    """The two lines as one, `line`'s last word and `after`'s first one word."""
    last, first = line.words[-1], after.words[0]
    word = Word(
        last.text + first.text,
        min(last.confidence, first.confidence),
        last.box.union(first.box),
        last.monospace and first.monospace,
        last.bold and first.bold,
    )
    return Line([*line.words[:-1], word, *after.words[1:]])


def _cut_after(line: Line, other: Line) -> bool:
    """Whether `other` goes on, within a letter's gap, from inside `line`'s last word: level
    with it, or a glyph or two within its height (the "v" of "uplatex-dev", as high as the
    lower-case letters' core beside a line that reaches below the baseline)."""
    height = max(line.height, other.height)
    gap = other.box.left - line.box.right
    a, b = line.box, other.box
    slack = _LEVEL * height
    level = abs(a.top - b.top) <= slack and abs(a.bottom - b.bottom) <= slack
    tail = len(other.text) <= _CUT_TAIL and a.top - slack <= b.top and b.bottom <= a.bottom + slack
    end = line.words[-1].text[-1:]
    return (
        0 <= gap <= _CUT_GAP * height
        and (level or tail)
        and (end.isalpha() or end in _CUT_MISREAD)
        and other.words[0].text[:1].isalpha()
        and not _upright(line.words[-1])
        and not _upright(other.words[0])
    )


def _upright(word: Word) -> bool:
    """Whether a word of several letters stands taller than it is wide: set up the page (a
    chart's axis label), not along a line."""
    return len(word.text) >= _CUT_TAIL + 1 and word.box.height > word.box.width


def drop_noise(lines: list[Line]) -> list[Line]:
    """Lines without the specks Tesseract reads as words: tiny marks of no letter or digit.

    On a noisy scan they bridge the gutters between columns and litter the text.
    """
    heights = [w.box.height for line in lines for w in line.words]
    if not heights:
        return lines
    tiny = _NOISE_SIZE * statistics.median(heights)
    result = []
    for line in lines:
        kept = [w for w in line.words if not _noise(w, tiny)]
        if len(kept) == len(line.words):
            result.append(line)
        elif kept:
            result.append(Line(kept))
    return result


def _noise(word: Word, tiny: float) -> bool:
    small = max(word.box.width, word.box.height) <= tiny
    faint = word.confidence < _NOISE_CONFIDENCE and max(word.box.width, word.box.height) <= 2 * tiny
    return (small or faint) and not any(c.isalnum() for c in word.text)


def _adjacent(previous: Line, line: Line) -> bool:
    """Same size, overlapping, and close: lines that could belong to one paragraph."""
    a, b = previous.box, line.box
    small, large = sorted((_full_height(previous, line), _full_height(line, previous)))
    gap = _full_top(line, previous) - a.bottom
    return (
        min(a.right, b.right) > max(a.left, b.left)
        and large <= _SIZE_STEP * small
        and -0.5 * large <= gap <= 1.5 * large
    )


def _full_height(line: Line, beside: Line) -> float:
    """The height of the line's type with ascenders and descenders: a line of letters that
    have neither ("œuvre.", "ces amours."), a paragraph's last, read from a page stands only
    as tall as the lower-case letters' core, about half the line beside it. (A text layer
    boxes each line by its font's full height.)"""
    text = line.text
    core = text and all(c in _CORE_ONLY for c in text)
    if core and _SIZE_STEP * line.height < beside.height:
        return line.height / _CORE_SHARE
    return line.height


def _full_top(line: Line, beside: Line) -> float:
    """Where the line's ascenders would start, had it any (see _full_height)."""
    return line.box.top - (_full_height(line, beside) - line.height) / 2


def _continues(previous: Line, line: Line, usual_gap: float) -> bool:
    if not _adjacent(previous, line) or _list_marker(line) is not None:
        return False
    if leaders.leader_dots(previous.words):
        return False  # a contents entry ends at its page number
    if _bold(previous) != _bold(line) and not _runs_on(previous, line):
        return False  # a heading in bold above its paragraph
    height = max(previous.height, line.height)
    if _full_top(line, previous) - previous.box.bottom > usual_gap + 0.3 * height:
        return False  # more space than between the lines of a paragraph
    if line.text[:1].islower() and not previous.text.endswith(SENTENCE_ENDS):
        return True  # the sentence goes on
    if _heads_section(previous, line):
        return False
    # A line that stops short of the next one's end, after a full stop, closed its paragraph;
    # ragged-right lines stop short too, but rarely at a sentence's end.
    previous_end, end = previous.box.right, line.box.right
    if previous_end < line.box.left + (end - line.box.left) / 2:
        return False
    return previous_end >= end - 3 * height or not previous.text.endswith(SENTENCE_ENDS)


def _heads_section(previous: Line, line: Line) -> bool:
    """Whether the line above is a numbered section's heading over the line, whatever weight
    it measured: a number of two levels or more, a capitalised word, no sentence end, well
    short of the line's end, and the line opens a sentence ("3.5 Quelques commandes et
    environnements spécifiques" over "La classe matapli fournit ..."). A contents entry
    wraps short of its leader's column, and goes on in the line that leads to its page."""
    words = previous.words
    height = max(previous.height, line.height)
    return (
        len(words) >= 2
        and bool(_SUBSECTION_NUMBER.match(words[0].text))
        and words[1].text[:1].isupper()
        and line.text[:1].isupper()
        and not previous.text.endswith(SENTENCE_ENDS)
        and previous.box.right < line.box.right - 3 * height
        and not leaders.leader_dots(line.words)
    )


def _runs_on(previous: Line, line: Line) -> bool:
    """Whether a sentence runs on from a line that ends in plain type into the next: a
    paragraph that opens with its subject in bold ("**Optical character recognition** is
    the mechanical or / electronic conversion ..."), no heading over it."""
    return (
        bool(previous.words and line.words)
        and not previous.words[-1].bold
        and not line.words[0].bold
        and line.text[:1].islower()
        and not previous.text.endswith(SENTENCE_ENDS)
    )


def _bold(line: Line) -> bool:
    """Whether most of the line's characters are in bold."""
    chars = sum(len(w.text) for w in line.words)
    return 2 * sum(len(w.text) for w in line.words if w.bold) > chars


def _list_marker(line: Line) -> str | None:
    """The bullet ("•") or enumerator ("1.", "a)") a line starts with, if it opens an item."""
    if len(line.words) < 2:
        return None
    first, second = line.words[0], line.words[1]
    token = first.text
    if _ENUMERATOR.match(token) or token in (CHECKED, UNCHECKED):
        return token  # a form's check box opens its item, and stays its first word
    # Measured by the item's words: of a line of two, the bullet's own height is the line's.
    height = max(line.height, *(w.box.height for w in line.words[1:]))
    small = first.box.width <= 0.8 * height
    spaced = second.box.left - first.box.right >= 0.25 * height
    misread = token in _OCR_BULLETS
    if token == _SQUARE_READ:
        misread = _opens_item(" ".join(w.text for w in line.words[1:]))
    if token in _BULLETS or (misread and small and spaced):
        return "•"
    if len(token) > 1 and token[0] in _GLUED_BULLETS and token[1:].isalnum():
        return "•"
    return None


def _opens_item(rest: str) -> bool:
    """Whether words after a square bullet read as "=" are an item's: a capital, after a
    section's number if any ("1.1 Blind and visually impaired users"); a formula's next
    step ("2x + 3") is none."""
    number = _ITEM_NUMBER.match(rest)
    return rest[number.end() if number else 0 :][:1].isupper()


def misread_bullet(words: list[Word]) -> bool:
    """Whether a line's words open with a round bullet that Tesseract read as a letter or a
    sign ("e", "©"), standing apart before a word."""
    line = Line(words)
    return (
        len(words) > 1
        and words[0].text in _OCR_BULLETS
        and words[1].text[:1].isalpha()
        and _list_marker(line) == "•"
    )


def list_items(paragraph: Paragraph) -> list[tuple[str, list[Line], Box]]:
    """A list paragraph as (marker, lines, marker's box) per item, bullets taken off the
    item's words.

    A line with a marker opens an item; an enumerator stays the item's first word.
    """
    items: list[tuple[str, list[Line], Box]] = []
    for line in paragraph.lines:
        marker = _list_marker(line)
        if marker is None and items:
            items[-1][1].append(line)
            continue
        words = line.words
        if marker == "•":
            first = words[0]
            if first.text[0] in _GLUED_BULLETS and len(first.text) > 1:
                words = [Word(first.text[1:], first.confidence, first.box), *words[1:]]
            else:
                words = words[1:]
        items.append((marker or "•", [Line(words)], line.words[0].box))
    return items


def split_code(paragraphs: list[Paragraph]) -> tuple[list[Paragraph], list[Paragraph]]:
    """The paragraphs of code, and the others: a listing's aligned columns are not a table."""
    code = [p for p in paragraphs if _is_code(p)]
    return code, [p for p in paragraphs if not _is_code(p)]


def _is_code(paragraph: Paragraph) -> bool:
    return all(monospace.is_code(line) for line in paragraph.lines)


def drop_inside(paragraphs: list[Paragraph], figures: list[Box]) -> list[Paragraph]:
    """Paragraphs without the words read inside figures (a photo's speckle is not text).

    A figure's outline is the bounding box of its ink, so it takes in the paper beside an
    irregular shape (a globe, a swoosh round it) and the text set there, up to the glyph
    edges that the outline stops at. A line read with confidence that runs on into the
    outline from outside, or whose words there reach its left or right edge, stands beside
    the picture: its clearly read words stay.
    """
    if not figures:
        return paragraphs
    result = []
    for paragraph in paragraphs:
        lines = []
        for line in paragraph.lines:
            inside = {id(w): f for w in line.words for f in figures if f.contains(*w.box.center)}
            beside = _beside_figures(line, inside)
            words = [
                w
                for i, w in enumerate(line.words)
                if id(w) not in inside
                or (
                    beside
                    and _text_beside(line, i, inside)
                    and sum(c.isalnum() for c in w.text) >= 2
                )
            ]
            if words:
                lines.append(Line(words))
        if lines:
            result.append(Paragraph(lines))
    return result


def _text_beside(line: Line, i: int, inside: dict[int, Box]) -> bool:
    """Whether the line's word `i`, inside a figure's outline, is text: read clearly, or
    a word's space from the line's words outside the outline and read fairly (a drop cap
    beside a drawing, "We" of "We went", read less surely than the body's type)."""
    word = line.words[i]
    if word.confidence >= _FIGURE_TEXT_CONFIDENCE:
        return True
    if word.confidence < _FIGURE_NEXT_CONFIDENCE:
        return False
    neighbours = [line.words[k] for k in (i - 1, i + 1) if 0 <= k < len(line.words)]
    return any(
        id(n) not in inside
        and max(n.box.left - word.box.right, word.box.left - n.box.right) <= line.height
        for n in neighbours
    )


def _beside_figures(line: Line, inside: dict[int, Box]) -> bool:
    """Whether the line stands beside the figures its words `inside` fall in (by id): read
    with the confidence of text, it goes on outside them, or its words in each reach that
    figure's left or right edge."""
    if not inside:
        return False
    if statistics.median(w.confidence for w in line.words) < _FIGURE_TEXT_CONFIDENCE:
        return False
    if len(inside) < len(line.words):
        return True
    slack = _FIGURE_EDGE_SLACK * line.height
    for figure in set(inside.values()):
        words = [w for w in line.words if inside[id(w)] == figure]
        left, right = min(w.box.left for w in words), max(w.box.right for w in words)
        if left > figure.left + slack and right < figure.right - slack:
            return False
    return True


def classify(
    paragraphs: list[Paragraph], *, page_height: int, tables: Sequence[Box] = ()
) -> list[Item]:
    """Type each paragraph: code, header or footer (by place and look), list, title (by
    size, weight and wording), or text. Consecutive title lines of one size are one title,
    and so is a title with a line of its size and weight that reads as a heading with it.
    The labels over a table's columns (`tables`: their boxes) are its head, not titles."""
    # The body text's line height (for margins) and type size (for headings).
    body = (
        _by_characters(paragraphs, lambda line: line.height),
        _by_characters(paragraphs, _type_size),
    )
    heads = _table_heads(paragraphs, tables)
    sections = _in_sequence(paragraphs)

    def kind_of(paragraph: Paragraph) -> tuple[str, int]:
        kind, level = _kind(paragraph, paragraphs, body, page_height)
        if kind == TEXT and id(paragraph) in sections and _section_heading(paragraph, body[1]):
            kind, level = TITLE, 3
        return (TEXT, 0) if kind == TITLE and id(paragraph) in heads else (kind, level)

    items: list[Item] = []
    for paragraph in paragraphs:
        kind, level = kind_of(paragraph)
        previous = items[-1] if items else None
        joined = None if previous is None else _one_heading(previous, paragraph, kind, kind_of)
        if joined is not None:
            items[-1] = joined
        else:
            items.append(Item(kind, paragraph.box, paragraph=paragraph, level=level))
    return _running_pieces(items)


def _table_heads(paragraphs: list[Paragraph], tables: Sequence[Box]) -> set[int]:
    """The ids of the one-line paragraphs that label a table's columns from above: within
    its width, side by side just over the table, or over such labels ("Race" over "Black"
    and "White" over the columns; a line of them set apart, however many words they have).
    A line alone just over the table is its title, and a line at its left edge may be the
    heading of the section it opens ("World Production Capacity:" level with the labels of
    the columns); a longer line (a caption) ends the head."""
    heads: set[int] = set()
    for table in tables:
        top, found = table.top, True
        while found:
            found = False
            for paragraph in paragraphs:
                if id(paragraph) in heads or len(paragraph.lines) > 1:
                    continue
                (line,), box = paragraph.lines, paragraph.box
                height = line.height
                within = box.left >= table.left - height and box.right <= table.right + height
                over = top - _TABLE_HEAD_GAP * height <= box.bottom <= table.top + height / 2
                spread = _spread(line)  # labels side by side, set apart
                if not (within and over and (spread or len(line.words) <= _TABLE_HEAD_WORDS)):
                    continue
                alone = not spread and not any(
                    _shares_line(box, p.box) for p in paragraphs if p is not paragraph
                )
                if box.left - table.left <= height or (alone and top == table.top):
                    continue
                heads.add(id(paragraph))
                top, found = min(top, box.top), True
    return heads


def _running_pieces(items: list[Item]) -> list[Item]:
    """The pieces of a running head or foot as one: a line of text on the row of a header
    (an author's name beside the date, the date read as the head's number) is the header's."""
    marginal = [i for i in items if i.kind in (HEADER, FOOTER)]
    result = []
    for item in items:
        one_line = item.paragraph is not None and len(item.paragraph.lines) == 1
        if item.kind in (TEXT, TITLE) and one_line:
            partner = next((m for m in marginal if _shares_line(item.box, m.box)), None)
            if partner is not None:
                item = Item(partner.kind, item.box, paragraph=item.paragraph)
        result.append(item)
    return result


def _one_heading(
    previous: Item,
    paragraph: Paragraph,
    kind: str,
    kind_of: Callable[[Paragraph], tuple[str, int]],
) -> Item | None:
    """The title that the previous item and the paragraph (of type `kind`) make together,
    if they do: two title lines of one size, or a heading's line that does not read as one
    alone ("5.14 I have a wireless card which doesn't work with Linux." over "What should I
    do?") set with the other in the same size and weight."""
    above = previous.paragraph
    if above is None or not _set_as_one(above, paragraph):
        return None
    joined = Paragraph([*above.lines, *paragraph.lines])
    if kind == TITLE and previous.kind == TITLE:
        return Item(TITLE, joined.box, paragraph=joined, level=previous.level)
    if {kind, previous.kind} != {TITLE, TEXT} or _mostly_bold(above) != _mostly_bold(paragraph):
        return None
    whole, level = kind_of(joined)
    return Item(TITLE, joined.box, paragraph=joined, level=level) if whole == TITLE else None


def _kind(
    paragraph: Paragraph,
    paragraphs: list[Paragraph],
    body: tuple[float, float],
    page_height: int,
) -> tuple[str, int]:
    """The paragraph's type and heading level; `body` the body text's line height and its
    type size."""
    height, size = body
    if _is_code(paragraph):
        return CODE, 0
    margin = _margin(paragraph, paragraphs, height, page_height)
    if margin is not None:
        return margin, 0
    level = _heading_level(paragraph, size)
    if _list_marker(paragraph.lines[0]) is not None and not (level and _larger(paragraph, size)):
        return LIST, 0  # a numbered heading is set larger than the body: "4. Usage"
    return (TITLE, level) if level else (TEXT, 0)


def _heading_level(paragraph: Paragraph, size: float) -> int:
    """1..3 for a heading, by its size against the body text's; 0 for none.

    Size alone makes headings of chart labels, formulas and line numbers: a heading also
    reads as one (short, no sentence end, mostly letters, capitalised or numbered). Bold at
    the body's size makes the lowest level.
    """
    text = " ".join(line.text for line in paragraph.lines)
    if not size or len(paragraph.lines) > _HEADING_LINES:
        return 0
    ratio = _size_ratio(paragraph, size)
    # A document's title, set far larger than its text, may run longer than a section's
    # heading ("Row and Column Access Control Support in IBM DB2 for i").
    most = _HEADING_WORDS if ratio >= _TITLE_RATIO else _HEADING_WORDS_UNNUMBERED
    # A question of a FAQ, numbered, large and bold, may fill its three lines ("11.10 How
    # can I have my locally-built package included in the list of available packages ...").
    bold = _mostly_bold(paragraph)
    longest = _HEADING_WORDS_LARGE if bold and ratio >= _LARGER else _HEADING_WORDS
    if not _reads_as_heading(text, bold=bold, most=most, longest=longest):
        return 0
    if _numbered(paragraph.lines[0]):
        return 0  # a numbered line of a transcript, not a numbered section
    if _read_with(paragraph) < _HEADING_CONFIDENCE:
        return 0  # a displayed formula read as words ("Vassie"): a heading reads clearly
    if any(_spread(line) for line in paragraph.lines):
        return 0  # labels side by side, as under a chart's bars or in a table's head
    if any(_sideways(w) for w in paragraph.words):
        return 0  # a chart's axis label set up its side: its height is its length
    if ratio >= _TITLE_RATIO:
        return 1
    if ratio >= 1.45:
        return 2
    if ratio >= _LARGER or _mostly_bold(paragraph) or _subsection(paragraph):
        return 3
    return 0


def _in_sequence(paragraphs: list[Paragraph]) -> set[int]:
    """The ids of the one-line paragraphs that a section number of two levels or more
    begins, where another such line on the page shares its first level ("5.4 wheel
    (diameter, angle)" and "5.5 weight.s (height)"): a manual's sections, one after
    another."""
    chapters: dict[int, str] = {}
    for paragraph in paragraphs:
        words = paragraph.lines[0].words
        if len(paragraph.lines) == 1 and len(words) > 1 and _SUBSECTION_NUMBER.match(words[0].text):
            chapters[id(paragraph)] = words[0].text.split(".")[0]
    counts = Counter(chapters.values())
    return {key for key, chapter in chapters.items() if counts[chapter] > 1}


def _section_heading(paragraph: Paragraph, size: float) -> bool:
    """Whether a numbered line of a sequence of sections (`_in_sequence`) is their heading
    though no bold the strokes tell marks it (a bold that measures a hair under bold at a
    larger size): set larger than the body, it reads as a heading after its number, in
    lower case too ("5.4 wheel (diameter, angle)", a macro's name), and no page number ends
    it, as one ends a contents' entry."""
    (line,) = paragraph.lines
    return (
        bool(size)
        and _size_ratio(paragraph, size) >= _SECTION_LARGER
        and not line.words[-1].text.isdigit()
        and not _numbered(line)
        and _read_with(paragraph) >= _HEADING_CONFIDENCE
        and not _spread(line)
        and _reads_as_heading(line.text, bold=True)
    )


def _subsection(paragraph: Paragraph) -> bool:
    """A line of its own that a section number of two levels or more begins ("4.2.5 Concrete
    Math Extension") and no page number ends: a subsection's heading, though set at the
    body's size in a bold the strokes do not tell (the bold of a light face)."""
    words = paragraph.lines[0].words
    if len(paragraph.lines) != 1 or len(words) < 2:
        return False
    return bool(_SUBSECTION_NUMBER.match(words[0].text)) and not words[-1].text.isdigit()


def _read_with(paragraph: Paragraph) -> float:
    """The confidence the paragraph's characters were read with, on average."""
    chars = sum(len(w.text) for w in paragraph.words)
    return sum(w.confidence * len(w.text) for w in paragraph.words) / max(1, chars)


def _size_ratio(paragraph: Paragraph, size: float) -> float:
    return statistics.median(_type_size(line) for line in paragraph.lines) / size


def _larger(paragraph: Paragraph, size: float) -> bool:
    """Whether the paragraph's type is larger than the body's `size`, as a heading's is."""
    return _size_ratio(paragraph, size) >= _LARGER


def _type_size(line: Line) -> float:
    """The height of the line's capitals and ascenders, from its words that reach that high
    and no lower ("for", "Added"; not "package", "(not"): lines differ in how many of their
    words have descenders, the type's size does not. The line's height where none does."""
    tall = [
        w.box.height
        for w in line.words
        if _ASCENDING.intersection(w.text) and not DESCENDING.intersection(w.text)
    ]
    return statistics.median(tall) if tall else line.height


def _sideways(word: Word) -> bool:
    """Whether a word of a few letters is set turned a quarter, its box taller than wide."""
    return len(word.text) >= _SIDEWAYS_CHARS and word.box.height > word.box.width


def _spread(line: Line) -> bool:
    """Whether words of the line stand further apart than the words of a sentence do; a
    section's number is set a quad or more apart from its title ("2    Usage")."""
    words = line.words
    if len(words) > 1 and _SECTION_NUMBER.match(f"{words[0].text} {words[1].text}"):
        words = words[1:]
    gaps = (b.box.left - a.box.right for a, b in itertools.pairwise(words))
    return any(gap > _WIDE_GAP * line.height for gap in gaps)


def split_at_gaps(lines: list[Line], *, page_height: int) -> list[Line]:
    """Lines cut where a gap much wider than the line's other spaces separates columns.

    Tesseract reads a line across a narrow gutter, the more so when specks bridge it. A
    justified line's spaces are all wide alike, code keeps its gaps, which align its
    comments, a contents entry with a dot leader its number, title and page, and a running
    head keeps the gap before its page number. A gutter runs down
    the page: where a line of running text just above or below has words across it, and no
    line beside has a gap there too, the gap is a blank inside one line (a word in a frame
    Tesseract did not read), no gutter.
    """
    wide = {id(line): _wide_gaps(line) for line in lines}
    result = []
    for line in lines:
        if not any(wide[id(line)]):
            result.append(line)
            continue
        beside = [other for other in lines if other is not line and _next_to(line, other)]
        running = [other for other in beside if not any(wide[id(other)])]
        gapped = [
            (a.box.right, b.box.left)
            for other in beside
            for (a, b), gap in zip(itertools.pairwise(other.words), wide[id(other)], strict=True)
            if gap
        ]
        pieces = [[line.words[0]]]
        pairs = zip(itertools.pairwise(line.words), wide[id(line)], strict=True)
        for (previous, word), wide_gap in pairs:
            # With no line beside it reaching the gap, only its width tells a gutter from
            # a justified line's space stretched beside a change of type.
            reached = any(other.box.right > previous.box.right for other in beside)
            gap = wide_gap and (reached or _lone_gutter(previous, word, line.height))
            blank = gap and any(_across(other, word.box.left, line.height) for other in running)
            # A heading's number stands a quad before its title ("1.21    Migration to").
            blank = blank or (
                previous is line.words[0] and bool(_NUMBER_ALONE.match(previous.text))
            )
            # ... unless a line beside it has a gap there too: the columns go on.
            aligned = any(a < word.box.left and previous.box.right < b for a, b in gapped)
            if gap and (aligned or not blank):
                pieces.append([])
            pieces[-1].append(word)
        if len(pieces) == 1 or _running_head(line, pieces, page_height):
            result.append(line)
        else:
            result.extend(Line(words) for words in pieces)
    return result


def join_section_numbers(lines: list[Line]) -> list[Line]:
    """A section's number that Tesseract read apart from its title, a quad or more before
    it on its baseline ("3.5.1.    Purpose"), put back at the title's start: the heading
    keeps its number. Numbers one under the other (a table's column, a list's) stay."""
    numbers = [line for line in lines if _lone_number(line)]
    if not numbers:
        return lines
    joined: dict[int, Line] = {}  # id of a title -> the title with its number
    taken: set[int] = set()
    for number in numbers:
        height = number.height
        if any(
            other is not number and abs(other.box.top - number.box.top) <= _NUMBER_COLUMN * height
            for other in numbers
        ):
            continue
        title = min(
            (
                line
                for line in lines
                if id(line) not in joined
                and not _lone_number(line)
                and 0 < line.box.left - number.box.right <= _NUMBER_GAP * height
                and on_baseline(line.box, number.box, max(height, line.height))
            ),
            key=lambda line: line.box.left,
            default=None,
        )
        if title is not None:
            joined[id(title)] = Line([*number.words, *title.words])
            taken.add(id(number))
    return [joined.get(id(line), line) for line in lines if id(line) not in taken]


def _lone_number(line: Line) -> bool:
    return len(line.words) == 1 and bool(_NUMBER_ALONE.match(line.words[0].text))


def _lone_gutter(previous: Word, word: Word, height: float) -> bool:
    return word.box.left - previous.box.right > _LONE_GUTTER * height


def _wide_gaps(line: Line) -> list[bool]:
    """For each gap between the line's words, whether it is wide enough for a gutter."""
    gaps = [b.box.left - a.box.right for a, b in itertools.pairwise(line.words)]
    if monospace.is_code(line) or leaders.leader_dots(line.words) or len(gaps) < 2:
        return [False] * len(gaps)  # code's gaps align it; a leader leads to its page number
    usual = statistics.median(gaps)
    return [gap > _WIDE_GAP * line.height and gap > _GUTTER_SPACES * usual for gap in gaps]


def _next_to(line: Line, other: Line) -> bool:
    """Whether `other` is the line just above or below `line`, at the usual spacing."""
    above, below = sorted((line.box, other.box), key=lambda b: b.top)
    overlap = min(line.box.right, other.box.right) - max(line.box.left, other.box.left)
    return overlap > 0 and -0.5 * line.height < below.top - above.bottom <= _NEXT_LINE * line.height


def _across(other: Line, start: int, height: float) -> bool:
    """Whether a word of `other` lies across the place just before `start`, where the
    column after a gutter would start: a line of a column has only white there."""
    left, right = start - height, start - height / 3
    return any(w.box.left < right and w.box.right > left for w in other.words)


def _running_head(line: Line, pieces: list[list[Word]], page_height: int) -> bool:
    """A line in the margin with a page number apart at one end: "Chapter 8 ... 41"."""
    top, bottom = _PAGE_NUMBER_ZONE * page_height, (1 - _PAGE_NUMBER_ZONE) * page_height
    margin = line.box.bottom <= top or line.box.top >= bottom
    ends = (" ".join(w.text for w in pieces[0]), " ".join(w.text for w in pieces[-1]))
    return margin and any(_PAGE_NUMBER.match(end) for end in ends)


def _reads_as_heading(
    text: str,
    *,
    bold: bool = False,
    most: int = _HEADING_WORDS_UNNUMBERED,
    longest: int = _HEADING_WORDS,
) -> bool:
    """Whether the text reads as a heading, set in `bold` or not, of `most` words unless it
    is numbered, and of `longest` words if it is."""
    text = text.rstrip(_FOOTNOTE_MARKS)  # "The eso-pic package*": its footnote's mark
    words = text.split()
    # Mostly letters, the section's number aside ("2.1.6 Spínače").
    title = text[number.start(3) :] if (number := _SECTION_NUMBER.match(text)) else text
    letters = sum(c.isalpha() for c in title)
    visible = sum(not c.isspace() for c in title)
    if len(words) > longest or letters < 3 or letters < _HEADING_LETTERS * visible:
        return False
    # In bold after a number of two levels or more, a title may name a command or a path
    # and end in a full stop ("8.2.2 \UseVerb from fancyvrb package.", "11.2.2 Installed in
    # (/usr/local/)"): the number and the weight say what it is.
    named = bold and len(words) > 1 and _SUBSECTION_NUMBER.match(words[0]) is not None
    ends = text.endswith(_HEADING_ENDS) and not (named and text.endswith("."))
    if ends or (not named and _FORMULA_SIGNS.search(_WORD_SLASH.sub("", text))):
        return False
    if words[0].endswith(":") or (len(words) == 1 and any(c.isdigit() for c in text)):
        return False  # a label ("Name: expat") or a code ("B2EDPCT")
    if _CAPTION.match(text) or _PAGE_OF.search(text) or _LEADER.search(text):
        return False  # "Chart 5" and "Table ES-1" name a figure; "Page 8 of 11" is a
        # running head, and "6.3 Urgency ........ 76" an entry of a table of contents
    if words[0][0].isdigit() or (len(words[0]) > 1 and words[0][1] == "."):
        # The number, then a capital, of any alphabet ("2.1 Économie"); in bold, a name in
        # lower case or a command too ("3.2.3 repeat", "8.2.2 \UseVerb"). Not in plain type,
        # however large: "2.1 millions" is a figure and its unit.
        opens = number is not None and (number[3].isupper() or number[3] in _TITLE_OPENERS)
        return opens or named or (bold and number is not None and number[3].isalpha())
    initial = text.lstrip(_QUOTES)[:1]
    return len(words) <= most and initial.isupper()


def _set_as_one(above: Paragraph, paragraph: Paragraph) -> bool:
    """Whether a paragraph may go on from the one just above in the same type: same size,
    close, overlapping."""
    box = paragraph.box
    small, large = sorted((above.height, paragraph.height))
    gap = box.top - above.box.bottom
    overlap = min(above.box.right, box.right) - max(above.box.left, box.left)
    return large <= 1.15 * small and -0.5 * large <= gap <= large and overlap > 0


def _mostly_bold(paragraph: Paragraph) -> bool:
    bold = sum(len(w.text) for w in paragraph.words if w.bold)
    return bold >= _HEADING_BOLD * sum(len(w.text) for w in paragraph.words)


def _by_characters(paragraphs: list[Paragraph], measure: Callable[[Line], float]) -> float:
    """The median of a measure of the page's lines, each line counted once per character:
    the body text's, of most of the page's characters."""
    sizes: list[float] = []
    for paragraph in paragraphs:
        for line in paragraph.lines:
            sizes.extend([measure(line)] * sum(len(w.text) for w in line.words))
    return statistics.median(sizes) if sizes else 0.0


def _margin(
    paragraph: Paragraph, paragraphs: list[Paragraph], body: float, page_height: int
) -> str | None:
    """HEADER or FOOTER for a running head or foot: the page's first or last line, in the
    margin, short, and a page number or set apart from the body by a clear gap. A page has
    no neighbours to show what repeats, so a short line in the margin alone (an address, a
    line number) stays text."""
    box = paragraph.box
    text = " ".join(line.text for line in paragraph.lines)
    if page_height <= 0 or len(paragraph.lines) > 1 or len(text.split()) > _RUNNING_WORDS:
        return None  # an address or a letterhead has more lines, a running head one
    others = [p.box for p in paragraphs if p is not paragraph]
    if any(_beside_body(box, other, page_height) for other in others):
        return None  # a line number beside the body's lines
    tokens = text.split()
    # "41" after a chapter's title, but not "555 0100" after "Telephone".
    numbered = bool(_PAGE_NUMBER.match(text) or _PAGE_OF.search(text)) or any(
        _PAGE_NUMBER.match(t) and not _PAGE_NUMBER.match(beside)
        for t, beside in ((tokens[0], "".join(tokens[1:2])), (tokens[-1], "".join(tokens[-2:-1])))
    )
    # "Chapter 4: Relational databases" with its page number read apart at the line's end.
    numbered = numbered or any(
        len(p.lines) == 1 and _shares_line(box, p.box) and _PAGE_NUMBER.match(p.lines[0].text)
        for p in paragraphs
        if p is not paragraph
    )
    gap = _RUNNING_GAP * body
    top_share, bottom_share = box.bottom / page_height, box.top / page_height
    # A line above or below this one may reach a little into it (a title's second line, its
    # capitals up into the first's descenders); neither is then the page's first line.
    reach = _REACH_INTO * box.height
    if top_share <= _PAGE_NUMBER_ZONE and not any(o.bottom <= box.top + reach for o in others):
        # The page's first line: under a title, "Spring 2026, Issue 41" is the title's.
        under = min((o.top for o in others if o.top >= box.bottom - reach), default=page_height)
        if numbered or (top_share <= _MARGIN_ZONE and under - box.bottom >= gap):
            return HEADER
    if bottom_share >= 1 - _PAGE_NUMBER_ZONE and not any(
        o.top >= box.bottom - reach for o in others
    ):
        over = max((o.bottom for o in others if o.bottom <= box.top + reach), default=0)
        if numbered or (bottom_share >= 1 - _MARGIN_ZONE and box.top - over >= gap):
            return FOOTER
    return None


def _shares_line(box: Box, other: Box) -> bool:
    return min(box.bottom, other.bottom) - max(box.top, other.top) > 0


def _beside_body(box: Box, other: Box, page_height: int) -> bool:
    """Whether `other` shares a line with `box` and reaches out of the page's margins."""
    shared = _shares_line(box, other)
    inner = (
        other.bottom > _PAGE_NUMBER_ZONE * page_height
        and other.top < (1 - _PAGE_NUMBER_ZONE) * page_height
    )
    return shared and inner


_MIN_SIDE_HEADS = 2
_SIDE_HEAD_WIDTH = 0.4  # of the width of the column beside
_SIDE_HEADS_LEVEL = 0.75  # share of side heads level with an item beside them
_MAX_PEELED = 3  # items at the top or bottom edge set apart so that a region can be cut
_MAX_ORDERED = 300  # items ordered by Breuel's rules at most; more are read top to bottom


def reading_order(items: list[Item], *, dpi: int) -> list[Item]:
    """Headers, then the body by recursive XY-cut (columns before rows), then footers."""
    heads = _by_rows([i for i in items if i.kind == HEADER])
    feet = _by_rows([i for i in items if i.kind == FOOTER])
    body = [i for i in items if i.kind not in (HEADER, FOOTER)]
    return [*heads, *_xy_cut(body, max(1, int(_COLUMN_GAP_INCHES * dpi))), *feet]


def _by_rows(items: list[Item]) -> list[Item]:
    """Items read row by row, left to right within a row: the pieces of a running head
    stand on one baseline though a parenthesis or a capital lifts one piece's top."""
    rows: list[list[Item]] = []
    for item in sorted(items, key=lambda i: i.box.top):
        middle = (item.box.top + item.box.bottom) / 2
        row = rows[-1] if rows else []
        if row and min(i.box.top for i in row) <= middle <= max(i.box.bottom for i in row):
            rows[-1].append(item)
        else:
            rows.append([item])
    return [item for row in rows for item in sorted(row, key=lambda i: i.box.left)]


def _xy_cut(items: list[Item], column_gap: int) -> list[Item]:
    if len(items) <= 1:
        return items
    columns = _split(items, column_gap, vertical=True)
    rows = _split(items, 1, vertical=False)
    if len(columns) > 1 and len(rows) > 1 and (_side_heads(columns) or _stacked(columns)):
        # Side heads (a margin of labels, each level with the paragraph it names) are read
        # with their paragraphs, row by row, not as a column of their own; so are "columns"
        # that stand one wholly above the other (a chapter's number set at the right over
        # its title at the left): nothing in them is side by side.
        return [item for group in rows for item in _xy_cut(group, column_gap)]
    if len(columns) > 1:
        return [item for group in columns for item in _xy_cut(group, column_gap)]
    bands = _join_column_bands(rows, column_gap)
    if len(bands) > 1:
        return [item for group in bands for item in _xy_cut(group, column_gap)]
    peeled = _peeled(items, column_gap)
    if peeled is not None:
        first, rest, last = peeled
        return [*first, *_xy_cut(rest, column_gap), *last]
    return _in_column_order(items)


def _in_column_order(items: list[Item]) -> list[Item]:
    """Items that no cut divides, in the order of the rules of Breuel's layout analysis: of
    two items one above the other, the upper first; of two side by side, the left one
    first, unless an item between them in height spans both (a title across the columns).

    Figures that straddle the gutter under two columns of text leave no gap down the page
    and none across it; read top to bottom, the columns would interleave. These rules read
    each column down to the figures first. Ties go by position from the top; in a cycle
    (boxes that overlap), the item with the fewest unread items before it goes first.
    """
    by_place = sorted(items, key=lambda i: (i.box.top, i.box.left))
    if len(by_place) > _MAX_ORDERED:
        return by_place
    lefts = np.array([i.box.left for i in by_place])
    rights = np.array([i.box.right for i in by_place])
    middles = np.array([(i.box.top + i.box.bottom) / 2 for i in by_place])
    tops = np.array([i.box.top for i in by_place])
    # overlap[a, b]: the two share some width, one above the other.
    overlap = np.minimum.outer(rights, rights) > np.maximum.outer(lefts, lefts)
    before: list[set[int]] = [set() for _ in by_place]
    for a, b in itertools.permutations(range(len(by_place)), 2):
        if overlap[a, b]:
            precedes = bool((middles[a], tops[a]) < (middles[b], tops[b]))
        elif rights[a] <= lefts[b]:
            low, high = sorted((middles[a], middles[b]))
            between = (middles > low) & (middles < high)
            precedes = not bool((between & overlap[a] & overlap[b]).any())
        else:
            precedes = False
        if precedes:
            before[b].add(a)
    done: set[int] = set()
    order: list[int] = []
    remaining = list(range(len(by_place)))
    while remaining:
        # In a cycle (boxes that overlap), the item with the fewest unread before it.
        ready = min(remaining, key=lambda k: (len(before[k] - done), k))
        order.append(ready)
        done.add(ready)
        remaining.remove(ready)
    return [by_place[k] for k in order]


def _peeled(items: list[Item], column_gap: int) -> tuple[list[Item], list[Item], list[Item]] | None:
    """The few items at the top or the bottom edge that alone keep the rest from being cut,
    the rest, and those at the bottom edge: (first, rest, last), or None.

    A line across the foot of the page (a printer's slug, a full-width table) that a column
    reaches by a pixel, or a stamp printed up the margin beside the last lines, leaves no
    gap across the region; read top to bottom, its columns would interleave line by line.
    Set apart, such items are read before or after what they stand above or below.
    """
    by_bottom = sorted(items, key=lambda i: (i.box.bottom, i.box.top))
    by_top = sorted(items, key=lambda i: (i.box.top, i.box.bottom))
    for count in range(1, min(_MAX_PEELED, len(items) - 2) + 1):
        if _can_cut(by_bottom[:-count], column_gap):
            return [], by_bottom[:-count], _by_rows(by_bottom[-count:])
        if _can_cut(by_top[count:], column_gap):
            return _by_rows(by_top[:count]), by_top[count:], []
    return None


def _can_cut(items: list[Item], column_gap: int) -> bool:
    return (
        len(_split(items, column_gap, vertical=True)) > 1
        or len(_split(items, 1, vertical=False)) > 1
    )


def _side_heads(columns: list[list[Item]]) -> bool:
    """Whether a column is a margin of side heads beside the next one: narrow items, most
    of them level with a line of that column."""
    for group, beside in [
        *itertools.pairwise(columns),
        *((b, a) for a, b in itertools.pairwise(columns)),
    ]:
        if len(group) < _MIN_SIDE_HEADS:
            continue
        width = max(i.box.right for i in beside) - min(i.box.left for i in beside)
        if any(i.box.width > _SIDE_HEAD_WIDTH * width for i in group):
            continue
        tops = [top for j in beside for top in _line_tops(j)]
        starts = [j.box.top for j in beside]
        level = sum(
            any(abs(i.box.top - top) <= _level_slack(i) for top in tops) or _just_above(i, starts)
            for i in group
        )
        if level >= _SIDE_HEADS_LEVEL * len(group):
            return True
    return False


def _just_above(item: Item, starts: list[int]) -> bool:
    """Whether a side head stands over the start of an item of the column beside, within
    a line or so of it: a documented macro's name in the margin, level with the blank line
    over its code (LaTeX's doc package)."""
    height = 2 * _level_slack(item)  # its line's height
    return any(0 <= top - item.box.bottom <= _ABOVE_START * height for top in starts)


def _stacked(columns: list[list[Item]]) -> bool:
    """Whether each column lies wholly above or below every other: no two side by side."""
    spans = sorted(
        (min(i.box.top for i in group), max(i.box.bottom for i in group)) for group in columns
    )
    return all(bottom <= top for (_, bottom), (top, _) in itertools.pairwise(spans))


def _line_tops(item: Item) -> list[int]:
    """The tops of the item's lines: a side head stands level with a paragraph's first line,
    or with a line inside a listing that its label names."""
    if item.paragraph is None:
        return [item.box.top]
    return [line.box.top for line in item.paragraph.lines]


def _level_slack(item: Item) -> float:
    """How far apart the tops of a side head and its paragraph may be: half a line."""
    lines = item.paragraph.lines if item.paragraph is not None else []
    return 0.5 * (lines[0].height if lines else item.box.height)


def _join_column_bands(bands: list[list[Item]], column_gap: int) -> list[list[Item]]:
    """Rejoin horizontal bands that continue the columns above them.

    Cutting a two-column page across where one column's paragraph ends would read the
    columns' pieces in turn; a band that falls within the columns of the band above is
    part of them. Columns of text are cut across only where both have a paragraph's gap at
    once: blocks set further apart (a letter's addresses, its date at the right, the
    sender's name beside them) are read in turn, top to bottom.

    Only the text of the band's head, what starts within that gap of its top, need fall
    within the columns: a figure or a table may straddle the gutter. A band of headings
    alone heads the band under it where that one runs across the columns: a section that
    follows them across the page.
    """
    joined = [bands[0]]
    for k, band in enumerate(bands[1:], start=1):
        above = joined[-1]
        if _continues_columns(above, band, column_gap) and not (
            all(i.kind == TITLE for i in band)
            and k + 1 < len(bands)
            and not _continues_columns(above + band, bands[k + 1], column_gap)
        ):
            joined[-1] = above + band
        else:
            joined.append(band)
    return joined


def _continues_columns(above: list[Item], band: list[Item], column_gap: int) -> bool:
    """Whether `band` starts just under `above`, set in its columns (see _join_column_bands)."""
    top = min(i.box.top for i in band)
    gap = top - max(i.box.bottom for i in above)
    reach = _BAND_GAP_LINES * _line_height(above + band)
    head = [i for i in band if i.box.top <= top + reach and i.kind not in (IMAGE, TABLE)]
    return (
        gap <= reach
        and len(_split(above, column_gap, vertical=True)) > 1
        and bool(head)
        and len(_split(above + head, column_gap, vertical=True)) > 1
    )


def _line_height(items: list[Item]) -> float:
    """The median height of the items' lines (of the items themselves, where none have
    lines)."""
    heights = [ln.height for i in items if i.paragraph is not None for ln in i.paragraph.lines]
    return statistics.median(heights or [i.box.height for i in items])


def _split(items: list[Item], min_gap: int, *, vertical: bool) -> list[list[Item]]:
    """Groups separated by a gap of at least `min_gap` across the whole region."""

    def span(item: Item) -> tuple[int, int]:
        b = item.box
        return (b.left, b.right) if vertical else (b.top, b.bottom)

    ordered = sorted(items, key=span)
    groups = [[ordered[0]]]
    end = span(ordered[0])[1]
    for item in ordered[1:]:
        start, stop = span(item)
        if start - end >= min_gap:
            groups.append([item])
        else:
            groups[-1].append(item)
        end = max(end, stop)
    return groups
