"""From words and regions to the page's structure: what each part is, and the order to read it.

Pure functions over words, paragraphs and boxes, shared by OCR and text-layer pages.
"""

from __future__ import annotations

import itertools
import re
import statistics
from dataclasses import dataclass, field

from .model import FOOTER, HEADER, LIST, TEXT, TITLE, Block
from .regions import Grid
from .words import Box, Line, Paragraph, Word

# A line this much taller or shorter than the last starts a new paragraph; glyph boxes of
# "several" and "keeps going" differ by a third at one type size.
_SIZE_STEP = 1.4
_MARGIN_ZONE = 0.075  # share of the page height at top and bottom for running heads and feet
_PAGE_NUMBER_ZONE = 0.12
_COLUMN_GAP_INCHES = 0.08
_SENTENCE_ENDS = (".", ":", "!", "?", ";")
_BULLETS = set("•·▪‣◦●○■□➢►–-*+»")
_GLUED_BULLETS = "•▪●■"
# How Tesseract tends to read a round bullet.
_OCR_BULLETS = {"e", "°", "«", "©", "¢", "o", "@", "®", "»"}
_ENUMERATOR = re.compile(r"^(\(?\d{1,3}[.)]|\(?[a-zA-Z][.)]|\(?[ivxIVX]{1,5}[.)])$")
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
    page's usual line spacing, and the line above ran to the full width.
    """
    pairs = [(a, b) for a, b in itertools.pairwise(lines) if _adjacent(a, b)]
    usual = statistics.median(b.box.top - a.box.bottom for a, b in pairs) if pairs else 0.0
    paragraphs: list[Paragraph] = []
    for line in lines:
        if paragraphs and _continues(paragraphs[-1].lines[-1], line, usual):
            paragraphs[-1].lines.append(line)
        else:
            paragraphs.append(Paragraph([line]))
    return paragraphs


def _adjacent(previous: Line, line: Line) -> bool:
    """Same size, overlapping, and close: lines that could belong to one paragraph."""
    a, b = previous.box, line.box
    small, large = sorted((previous.height, line.height))
    gap = b.top - a.bottom
    return (
        min(a.right, b.right) > max(a.left, b.left)
        and large <= _SIZE_STEP * small
        and -0.5 * large <= gap <= 1.5 * large
    )


def _continues(previous: Line, line: Line, usual_gap: float) -> bool:
    if not _adjacent(previous, line) or _list_marker(line) is not None:
        return False
    height = max(previous.height, line.height)
    if line.box.top - previous.box.bottom > usual_gap + 0.3 * height:
        return False  # more space than between the lines of a paragraph
    # A line that stops short of the next one's end, after a full stop, closed its paragraph;
    # ragged-right lines stop short too, but rarely at a sentence's end.
    previous_end, end = previous.box.right, line.box.right
    if previous_end < line.box.left + (end - line.box.left) / 2:
        return False
    return previous_end >= end - 3 * height or not previous.text.endswith(_SENTENCE_ENDS)


def _list_marker(line: Line) -> str | None:
    """The bullet ("•") or enumerator ("1.", "a)") a line starts with, if it opens an item."""
    if len(line.words) < 2:
        return None
    first, second = line.words[0], line.words[1]
    token = first.text
    if _ENUMERATOR.match(token):
        return token
    small = first.box.width <= 0.8 * line.height
    spaced = second.box.left - first.box.right >= 0.25 * line.height
    if token in _BULLETS or (token in _OCR_BULLETS and small and spaced):
        return "•"
    if len(token) > 1 and token[0] in _GLUED_BULLETS and token[1:].isalnum():
        return "•"
    return None


def list_items(paragraph: Paragraph) -> list[tuple[str, list[Line]]]:
    """A list paragraph as (marker, lines) per item, bullets taken off the item's words.

    A line with a marker opens an item; an enumerator stays the item's first word.
    """
    items: list[tuple[str, list[Line]]] = []
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
        items.append((marker or "•", [Line(words)]))
    return items


def drop_inside(paragraphs: list[Paragraph], figures: list[Box]) -> list[Paragraph]:
    """Paragraphs without the words read inside figures (a photo's speckle is not text)."""
    if not figures:
        return paragraphs
    result = []
    for paragraph in paragraphs:
        lines = []
        for line in paragraph.lines:
            words = [w for w in line.words if not any(f.contains(*w.box.center) for f in figures)]
            if words:
                lines.append(Line(words))
        if lines:
            result.append(Paragraph(lines))
    return result


def classify(paragraphs: list[Paragraph], *, page_height: int) -> list[Item]:
    """Type each paragraph: title (by size), list, header or footer (by place), or text."""
    body = _body_height(paragraphs)
    items = []
    for paragraph in paragraphs:
        box = paragraph.box
        text = " ".join(line.text for line in paragraph.lines)
        kind, level = TEXT, 0
        margin = _margin(box, page_height, len(paragraph.lines), text)
        if margin is not None:
            kind = margin
        elif _list_marker(paragraph.lines[0]) is not None:
            kind = LIST
        elif body and len(paragraph.lines) <= 3 and len(text) <= 200:
            ratio = paragraph.height / body
            if ratio >= 1.9:
                kind, level = TITLE, 1
            elif ratio >= 1.45:
                kind, level = TITLE, 2
            elif ratio >= 1.25:
                kind, level = TITLE, 3
        items.append(Item(kind, box, paragraph=paragraph, level=level))
    return items


def _body_height(paragraphs: list[Paragraph]) -> float:
    """The text size of most of the page's characters."""
    sizes: list[float] = []
    for paragraph in paragraphs:
        for line in paragraph.lines:
            sizes.extend([line.height] * sum(len(w.text) for w in line.words))
    return statistics.median(sizes) if sizes else 0.0


def _margin(box: Box, page_height: int, lines: int, text: str) -> str | None:
    if page_height <= 0 or lines > 2:
        return None
    top_share, bottom_share = box.bottom / page_height, box.top / page_height
    if top_share <= _MARGIN_ZONE or (top_share <= _PAGE_NUMBER_ZONE and _PAGE_NUMBER.match(text)):
        return HEADER
    if bottom_share >= 1 - _MARGIN_ZONE or (
        bottom_share >= 1 - _PAGE_NUMBER_ZONE and _PAGE_NUMBER.match(text)
    ):
        return FOOTER
    return None


def reading_order(items: list[Item], *, dpi: int) -> list[Item]:
    """Headers, then the body by recursive XY-cut (columns before rows), then footers."""
    heads = sorted((i for i in items if i.kind == HEADER), key=lambda i: (i.box.top, i.box.left))
    feet = sorted((i for i in items if i.kind == FOOTER), key=lambda i: (i.box.top, i.box.left))
    body = [i for i in items if i.kind not in (HEADER, FOOTER)]
    return [*heads, *_xy_cut(body, max(1, int(_COLUMN_GAP_INCHES * dpi))), *feet]


def _xy_cut(items: list[Item], column_gap: int) -> list[Item]:
    if len(items) <= 1:
        return items
    columns = _split(items, column_gap, vertical=True)
    if len(columns) > 1:
        return [item for group in columns for item in _xy_cut(group, column_gap)]
    bands = _join_column_bands(_split(items, 1, vertical=False), column_gap)
    if len(bands) > 1:
        return [item for group in bands for item in _xy_cut(group, column_gap)]
    return sorted(items, key=lambda i: (i.box.top, i.box.left))


def _join_column_bands(bands: list[list[Item]], column_gap: int) -> list[list[Item]]:
    """Rejoin horizontal bands that continue the columns above them.

    Cutting a two-column page across where one column's paragraph ends would read the
    columns' pieces in turn; a band that falls within the columns of the band above is
    part of them.
    """
    joined = [bands[0]]
    for band in bands[1:]:
        above = joined[-1]
        if (
            len(_split(above, column_gap, vertical=True)) > 1
            and len(_split(above + band, column_gap, vertical=True)) > 1
        ):
            joined[-1] = above + band
        else:
            joined.append(band)
    return joined


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
