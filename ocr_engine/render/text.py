"""Plain text: the words of each page in reading order, UTF-8.

A line's words are joined by single spaces (code keeps its indentation and alignment), lines
by newlines, blocks by a blank line. A table
gives one line per row with its cells separated by tabs (empty cells keep their place, rows
with no words are left out); figures give nothing. As in Tesseract's own text output every page
ends with a form feed: a page's text ends with "\\n\\f", and a page with no text is "\\f".
"""

from __future__ import annotations

from typing import BinaryIO

from .. import monospace
from ..model import CODE, IMAGE, TABLE, Block, Page, cell_words
from ..words import Word
from . import RenderedDocument

PAGE_END = "\f"


def write(document: RenderedDocument, out: BinaryIO) -> None:
    """Write the document's text, page by page."""
    for page in document.pages:
        # "replace": a lone surrogate from a damaged text layer must not lose the whole file.
        out.write(page_text(page).encode("utf-8", "replace"))


def page_text(page: Page) -> str:
    """One page's text, its form feed included."""
    parts = [text for text in (block_text(block) for block in page.blocks) if text]
    if not parts:
        return PAGE_END
    return "\n\n".join(parts) + "\n" + PAGE_END


def block_text(block: Block) -> str:
    """A block's text without a trailing newline; empty for a figure or a block with no words."""
    if block.kind == IMAGE:
        return ""
    if block.kind == TABLE:
        rows = ([_words(cell_words(cell)) for cell in row] for row in block.cells)
        return "\n".join("\t".join(cells) for cells in rows if any(cells))
    if block.kind == CODE:
        return "\n".join(monospace.text_lines([line for line in block.lines if line.words]))
    return "\n".join(_words(line.words) for line in block.lines if line.words)


def _words(words: list[Word]) -> str:
    return " ".join(word.text for word in words)
