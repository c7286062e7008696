"""The page model: what one reading of a page found, before any output format is chosen.

A worker reads a page into a `Page`; renderers (`ocr_engine.render`) turn pages into the
Mistral JSON and Markdown, a searchable PDF, hOCR, ALTO or plain text. Pages are plain
dataclasses: they cross from the workers by pickle, and are stored between the page ranges of
a large job as JSON (`to_dict`/`from_dict`).

Coordinates are pixels of the page as it was read: turned upright and straightened. Where that
image came from is kept as an affine map (`to_source`) to the pixels of the page as rendered
or decoded (`source_width` x `source_height`), so a text layer can be laid on the original.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from .words import Box, Line, Word

TEXT, TITLE, LIST, HEADER, FOOTER, TABLE, IMAGE = (
    "text",
    "title",
    "list",
    "header",
    "footer",
    "table",
    "image",
)
# Code or other preformatted text, kept line by line with its indentation.
CODE = "code"
OCR, TEXT_LAYER = "ocr", "text_layer"

# x' = a*x + b*y + c, y' = d*x + e*y + f
Affine = tuple[float, float, float, float, float, float]
IDENTITY: Affine = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0)


@dataclass(frozen=True)
class Span:
    """A table's merged cell: its top left cell and how many rows and columns it covers."""

    row: int
    column: int
    rows: int
    columns: int


@dataclass
class Block:
    """One part of the page: a paragraph, title, list, code, running head or foot, table or
    figure.

    Text blocks have `lines`; a table has `cells` (rows of cells, each the words read in it);
    a figure has neither, and `image` holds its crop as a data URL when one was asked for.
    A table's merged cells are listed in `spans`; their words are in their top left cell,
    the other cells they cover are empty.
    """

    kind: str
    box: Box
    lines: list[Line] = field(default_factory=list)
    level: int = 0  # a title's heading level, 1..3
    cells: list[list[list[Word]]] = field(default_factory=list)
    image: str | None = None
    spans: list[Span] = field(default_factory=list)

    @property
    def words(self) -> list[Word]:
        """The block's words in reading order."""
        return [w for line in self.text_lines() for w in line.words]

    def text_lines(self) -> list[Line]:
        """The block's lines of text in reading order; a table's, cell by cell, row by row."""
        if self.kind != TABLE:
            return self.lines
        return [Line(cell_words(cell)) for row in self.cells for cell in row if cell]


def cell_words(words: list[Word]) -> list[Word]:
    """A cell's words in reading order: line by line, each left to right."""
    return [w for line in cell_lines(words) for w in line]


def cell_lines(words: list[Word]) -> list[list[Word]]:
    """A cell's words as lines, top to bottom, each left to right.

    Words share a line when they overlap vertically by half the smaller height: rounding
    centres to a grid of word heights splits a line whose words straddle a grid step.
    """
    lines: list[tuple[int, int, list[Word]]] = []  # top, bottom, words
    for word in sorted(words, key=lambda w: (w.box.top, w.box.left)):
        best, most = -1, 0.0
        for i, (top, bottom, _) in enumerate(lines):
            overlap = min(bottom, word.box.bottom) - max(top, word.box.top)
            if overlap >= 0.5 * max(1, min(bottom - top, word.box.height)) and overlap > most:
                best, most = i, overlap
        if best < 0:
            lines.append((word.box.top, word.box.bottom, [word]))
        else:
            top, bottom, members = lines[best]
            members.append(word)
            lines[best] = (min(top, word.box.top), max(bottom, word.box.bottom), members)
    lines.sort(key=lambda line: line[0])
    return [sorted(members, key=lambda w: w.box.left) for _, _, members in lines]


@dataclass
class Page:
    """One page as it was read."""

    index: int  # 0-based, in the document
    width: int  # pixels of the page as read
    height: int
    dpi: int
    source: str  # OCR or TEXT_LAYER
    languages: str  # Tesseract's "eng+deu"; a text layer's are those asked for
    blocks: list[Block] = field(default_factory=list)  # in reading order
    rotation: int = 0  # degrees the page was turned (counter-clockwise) to read it upright
    skew: float = 0.0  # degrees it was straightened by (counter-clockwise)
    source_width: int = 0  # pixels of the page as rendered or decoded, before any turn
    source_height: int = 0
    to_source: Affine = IDENTITY

    def __post_init__(self) -> None:
        if not self.source_width:
            self.source_width, self.source_height = self.width, self.height

    @property
    def words(self) -> list[Word]:
        return [w for block in self.blocks for w in block.words]

    def map_to_source(self, x: float, y: float) -> tuple[float, float]:
        """A point of the page as read, on the page as rendered or decoded."""
        a, b, c, d, e, f = self.to_source
        return a * x + b * y + c, d * x + e * y + f

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "width": self.width,
            "height": self.height,
            "dpi": self.dpi,
            "source": self.source,
            "languages": self.languages,
            "rotation": self.rotation,
            "skew": self.skew,
            "source_width": self.source_width,
            "source_height": self.source_height,
            "to_source": list(self.to_source),
            "blocks": [_block_dict(b) for b in self.blocks],
        }

    @classmethod
    def from_dict(cls, value: dict[str, Any]) -> Page:
        a, b, c, d, e, f = (float(v) for v in value["to_source"])
        return cls(
            index=value["index"],
            width=value["width"],
            height=value["height"],
            dpi=value["dpi"],
            source=value["source"],
            languages=value["languages"],
            rotation=value["rotation"],
            skew=value["skew"],
            source_width=value["source_width"],
            source_height=value["source_height"],
            to_source=(a, b, c, d, e, f),
            blocks=[_block_from(b) for b in value["blocks"]],
        )


def turned_and_straightened(
    *, rotation: int, skew: float, size: tuple[int, int], straightened: tuple[int, int]
) -> Affine:
    """The map from a page turned by `rotation` after being straightened by `skew` back to the
    page before both: `size` is the page's before, `straightened` its size after straightening.

    Straightening is Pillow's `rotate(skew, expand=True)` about the centre; turning is its
    `transpose` by a quarter turn counter-clockwise per 90 degrees.
    """
    sw, sh = straightened
    # Undo the turn: a point of the turned page on the straightened one.
    turn: Affine = {
        0: IDENTITY,
        90: (0.0, -1.0, float(sw), 1.0, 0.0, 0.0),
        180: (-1.0, 0.0, float(sw), 0.0, -1.0, float(sh)),
        270: (0.0, 1.0, 0.0, -1.0, 0.0, float(sh)),
    }[rotation % 360]
    # Undo the straightening: Pillow's own inverse map, centre to centre.
    radians = -math.radians(skew)
    cos, sin = math.cos(radians), math.sin(radians)
    w, h = size
    cx, cy, ox, oy = w / 2, h / 2, sw / 2, sh / 2
    level: Affine = (cos, sin, cx - cos * ox - sin * oy, -sin, cos, cy + sin * ox - cos * oy)
    return compose(level, turn)


def compose(outer: Affine, inner: Affine) -> Affine:
    """The map that applies `inner`, then `outer`."""
    a1, b1, c1, d1, e1, f1 = outer
    a2, b2, c2, d2, e2, f2 = inner
    return (
        a1 * a2 + b1 * d2,
        a1 * b2 + b1 * e2,
        a1 * c2 + b1 * f2 + c1,
        d1 * a2 + e1 * d2,
        d1 * b2 + e1 * e2,
        d1 * c2 + e1 * f2 + f1,
    )


def _box_list(box: Box) -> list[int]:
    return [box.left, box.top, box.right, box.bottom]


def _word_dict(word: Word) -> list[Any]:
    return [word.text, word.confidence, *_box_list(word.box)]


def _word_from(value: list[Any]) -> Word:
    text, confidence, left, top, right, bottom = value
    return Word(text, confidence, Box(left, top, right, bottom))


def _block_dict(block: Block) -> dict[str, Any]:
    value: dict[str, Any] = {"kind": block.kind, "box": _box_list(block.box)}
    if block.lines:
        value["lines"] = [[_word_dict(w) for w in line.words] for line in block.lines]
    if block.level:
        value["level"] = block.level
    if block.cells:
        value["cells"] = [[[_word_dict(w) for w in cell] for cell in row] for row in block.cells]
    if block.image is not None:
        value["image"] = block.image
    if block.spans:
        value["spans"] = [[s.row, s.column, s.rows, s.columns] for s in block.spans]
    return value


def _block_from(value: dict[str, Any]) -> Block:
    return Block(
        kind=value["kind"],
        box=Box(*value["box"]),
        lines=[Line([_word_from(w) for w in line]) for line in value.get("lines", [])],
        level=value.get("level", 0),
        cells=[[[_word_from(w) for w in cell] for cell in row] for row in value.get("cells", [])],
        image=value.get("image"),
        spans=[Span(*span) for span in value.get("spans", [])],
    )
