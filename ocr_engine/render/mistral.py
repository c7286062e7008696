"""A page as Mistral's OCR page object: Markdown, tables, images, blocks and scores.

Pure functions of the page model and the request's page options.
"""

from __future__ import annotations

import html
import itertools
import re
from typing import Any

from .. import monospace
from ..model import CODE, FOOTER, HEADER, IMAGE, LIST, TABLE, TITLE, Block, Page, cell_words
from ..options import PageOptions
from ..structure import list_items
from ..words import Box, Line, Paragraph, Word

_ORDERED = re.compile(r"^\d{1,3}[.)]$")
_LINK_BRACKETS = re.compile(r"\]\s*[(\[:]")
_BACKSLASH = re.compile(r"\\(?=[!-/:-@\[-`{-~]|$)")
# Underscores inside a word ("GPVAL_X") never emphasise; at its edges they may.
_EDGE_UNDERSCORE = re.compile(r"(?<![A-Za-z0-9])_+|_+(?![A-Za-z0-9])")
_TAG_OPEN = re.compile(r"<(?=[A-Za-z/!?])")
_ENTITY = re.compile(r"&(?=#?\w+;)")
_RULE = re.compile(r"^([-_*=])\1{2,}$")
_ORDERED_START = re.compile(r"^(\d{1,9})([.)])$")
_LINE_PITCH = 1.2  # a line of code takes about this many times its text height
_STEPS_TO_TELL = 3  # steps between lines of a block, at least, to measure its own step
_SUFFIXES = (
    "tion",
    "sion",
    "ment",
    "ness",
    "ing",
    "ity",
    "ance",
    "ence",
    "able",
    "ible",
    "ical",
    "ally",
    "ture",
    "ous",
    "ive",
    "ary",
    "ory",
    "ism",
    "ist",
    "ize",
    "ise",
    "ated",
    "ies",
    "ers",
    "est",
    "ful",
    "less",
    "ship",
    "ward",
    "ogy",
    "ics",
)


class _MarkdownWriter:
    """Accumulates Markdown and remembers where each word starts in it."""

    def __init__(self) -> None:
        self._parts: list[str] = []
        self.length = 0
        self.word_starts: list[tuple[Word, int]] = []

    def write(self, text: str) -> None:
        self._parts.append(text)
        self.length += len(text)

    def word(self, word: Word, text: str) -> None:
        self.word_starts.append((word, self.length))
        self.write(text)

    def lines(self, lines: list[Line], *, at_start: bool = True) -> None:
        """Lines joined into one run of prose, de-hyphenating where a word was split.

        Words are escaped where CommonMark would read them as markup; `at_start` says the
        first word opens a Markdown block, where "#", "-" or "1." would open a heading or a
        list.
        """
        words = [w for line in lines for w in line.words]
        links = _LINK_BRACKETS.search(" ".join(w.text for w in words)) is not None
        previous: str | None = None
        for line in lines:
            for i, word in enumerate(line.words):
                if previous is not None:
                    if i == 0 and _joins_hyphenated(previous, word.text):
                        # "exam-" + "ple": drop the hyphen the line break put there.
                        self._parts[-1] = self._parts[-1][:-1]
                        self.length -= 1
                    elif not (i == 0 and _compound(previous, word.text)):
                        self.write(" ")
                first = at_start and previous is None
                self.word(word, escape(word.text, block_start=first, brackets=links))
                previous = word.text

    def code(self, lines: list[Line]) -> None:
        """Lines of code in a fenced block, each word at its column; nothing escaped."""
        fence = "`" * max(3, _longest_backtick_run(lines) + 1)
        self.write(fence + "\n")
        placed = monospace.columns(lines)
        blanks = _blank_lines(lines)
        for i, words in enumerate(placed):
            if i:
                self.write("\n" * (1 + blanks[i - 1]))
            cursor = 0
            for column, word in words:
                self.write(" " * (column - cursor))
                self.word(word, word.text)
                cursor = column + len(word.text)
        self.write("\n" + fence)

    def text(self) -> str:
        return "".join(self._parts)


def _longest_backtick_run(lines: list[Line]) -> int:
    runs = [len(run) for line in lines for run in re.findall(r"`+", line.text)]
    return max(runs, default=0)


def _blank_lines(lines: list[Line]) -> list[int]:
    """Blank lines between each two lines of code, from the space between them.

    A listing's lines follow at its own step: a double-spaced transcript's at twice a
    single-spaced listing's. Where a block has steps enough to tell, its shorter steps (the
    lower quartile) are a line, and a step twice as long holds a blank line; a short block
    is measured against its lines' height.
    """
    middles = [(line.box.top + line.box.bottom) / 2 for line in lines]
    steps = [b - a for a, b in itertools.pairwise(middles)]
    height = max(1.0, *(line.height for line in lines))
    unit = sorted(steps)[len(steps) // 4] if len(steps) >= _STEPS_TO_TELL else 0.0
    if unit < _LINE_PITCH * height:
        return [_blank_lines_between(a, b) for a, b in itertools.pairwise(lines)]
    return [max(0, round(step / unit) - 1) for step in steps]


def _blank_lines_between(previous: Line, line: Line) -> int:
    height = max(previous.height, line.height, 1.0)
    return max(0, round((line.box.top - previous.box.bottom) / (_LINE_PITCH * height) - 0.3))


def escape(text: str, *, block_start: bool = False, brackets: bool = False) -> str:
    """A word of prose as Markdown that shows it as it is, with as few escapes as will do.

    Everywhere: backslashes before punctuation, backticks, asterisks, underscores at a
    word's edges, "<" where it would open an HTML tag or autolink, "&" where it would
    open an entity; brackets only where the text has link syntax. At a block's start also
    "#", ">", "+", "=", list markers and rules.
    """
    text = _BACKSLASH.sub(r"\\\\", text)
    text = text.replace("`", "\\`").replace("*", "\\*")
    text = _EDGE_UNDERSCORE.sub(lambda m: "\\_" * len(m.group()), text)
    text = _TAG_OPEN.sub(r"\\<", text)
    text = _ENTITY.sub(r"\\&", text)
    if brackets:
        text = text.replace("[", "\\[").replace("]", "\\]")
    if block_start and (text[:1] in ("#", ">") or text in ("-", "+") or _RULE.match(text)):
        text = "\\" + text
    elif block_start:
        text = _ORDERED_START.sub(r"\1\\\2", text)
    return text


def _compound(previous: str, following: str) -> bool:
    """A hyphen kept at a line's end joins its two words: "machine-" + "encoded"."""
    return (
        len(previous) > 1
        and previous.endswith("-")
        and previous[-2].isalpha()
        and following[:1].isalpha()
    )


def _joins_hyphenated(previous: str, following: str) -> bool:
    """Whether a hyphen at a line's end split a word, rather than joined two.

    Only a lowercase letter on both sides: "Jean-" + "Paul" and "1990-" + "2000" keep theirs.
    Without a dictionary, a hyphen is kept where both sides could be words of their own
    ("machine-" + "encoded": four letters or more before, five or more after) unless what
    follows starts like a suffix ("informa-" + "tion"). A split word that looks like two
    keeps a hyphen it should lose, one character; joining a compound would lose a hyphen
    that belongs, one character too, and make a word that is not one.
    """
    if not (
        len(previous) > 2
        and previous.endswith("-")
        and previous[-2].islower()
        and following[:1].islower()
    ):
        return False
    head = previous[:-1]
    tail = re.sub(r"[^a-z].*$", "", following)
    whole_words = len(head) >= 4 and head.isalpha() and len(tail) >= 5
    return not whole_words or tail.startswith(_SUFFIXES)


def _escape_cell(text: str) -> str:
    # A pipe would end the cell; a line break would end the row.
    return text.replace("|", "\\|").replace("\n", " ")


def _scores(words: list[Word]) -> tuple[float, float]:
    if not words:
        return 0.0, 0.0
    values = [w.confidence for w in words]
    return round(sum(values) / len(values), 4), round(min(values), 4)


def cell_text(words: list[Word]) -> str:
    """A cell's text: its lines top to bottom, joined by spaces as the cell wraps them."""
    return " ".join(w.text for w in cell_words(words))


def _covered(item: Block) -> set[tuple[int, int]]:
    """The cells a merged cell covers besides its own top left one."""
    return {
        (s.row + r, s.column + c)
        for s in item.spans
        for r in range(s.rows)
        for c in range(s.columns)
        if r or c
    }


def table_content(item: Block, fmt: str) -> str:
    """A table's rows as Markdown (first row as the header row) or HTML.

    HTML gives merged cells their rowspan and colspan; Markdown has no merged cells, so
    the cells a merged cell covers are left empty and its text stays in its top left cell.
    """
    rows = [[cell_text(cell) for cell in row] for row in item.cells]
    if fmt == "html":
        return f"<table>{_html_rows(item, rows)}</table>"
    lines = ["| " + " | ".join(_escape_cell(c) for c in row) + " |" for row in rows]
    lines.insert(1, "|" + "---|" * len(rows[0]))
    return "\n".join(lines)


def _html_rows(item: Block, rows: list[list[str]]) -> str:
    spans = {(s.row, s.column): s for s in item.spans}
    covered = _covered(item)
    body = []
    for r, row in enumerate(rows):
        cells = []
        for c, text in enumerate(row):
            if (r, c) in covered:
                continue
            span = spans.get((r, c))
            attributes = ""
            if span is not None and span.rows > 1:
                attributes += f' rowspan="{span.rows}"'
            if span is not None and span.columns > 1:
                attributes += f' colspan="{span.columns}"'
            cells.append(f"<td{attributes}>{html.escape(text)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return "".join(body)


def _write_table(writer: _MarkdownWriter, item: Block) -> None:
    """An inline Markdown table, its words' offsets recorded; a cell's lines are joined by
    spaces, and the cells a merged cell covers are left empty."""
    for r, row in enumerate(item.cells):
        writer.write("|")
        for cell in row:
            writer.write(" ")
            for i, word in enumerate(cell_words(cell)):
                if i:
                    writer.write(" ")
                writer.word(word, _escape_cell(word.text))
            writer.write(" |")
        if r == 0:
            writer.write("\n|" + "---|" * len(row))
        if r < len(item.cells) - 1:
            writer.write("\n")


def _plain(item: Block) -> str:
    return "\n".join(line.text for line in item.lines)


def page_json(page: Page, options: PageOptions) -> dict[str, Any]:
    """The Mistral OCR page object for a page."""
    writer = _MarkdownWriter()
    nesting = _Nesting()
    images: list[dict[str, Any]] = []
    tables: list[dict[str, Any]] = []
    blocks: list[dict[str, Any]] = []
    headers: list[str] = []
    footers: list[str] = []
    previous: Block | None = None
    kept = kept_figures(page.blocks, options)

    for item in page.blocks:
        block: dict[str, Any] = {"type": item.kind, **item.box.as_corners()}
        written = True
        if item.kind == IMAGE:
            if not any(item is k for k in kept):
                continue
            image_id = f"img-{len(images)}.jpeg"
            entry: dict[str, Any] = {"id": image_id, **item.box.as_corners()}
            if options.include_image_base64 and item.image is not None:
                entry["image_base64"] = item.image
            images.append(entry)
            block.update(content=image_id, image_id=image_id)
            _separate(writer, previous, item, nesting)
            writer.write(f"![{image_id}]({image_id})")
        elif item.kind == TABLE:
            _separate(writer, previous, item, nesting)
            if options.table_format:
                extension = "html" if options.table_format == "html" else "md"
                table_id = f"tbl-{len(tables)}.{extension}"
                content = table_content(item, options.table_format)
                tables.append({"id": table_id, "content": content, "format": options.table_format})
                writer.write(f"[{table_id}]({table_id})")
                block.update(content=content, table_id=table_id)
            else:
                start = writer.length
                _write_table(writer, item)
                block["content"] = writer.text()[start:]
        elif (item.kind == HEADER and options.extract_header) or (
            item.kind == FOOTER and options.extract_footer
        ):
            (headers if item.kind == HEADER else footers).append(_plain(item))
            block["content"] = _plain(item)
            written = False
        else:
            _separate(writer, previous, item, nesting)
            start = writer.length
            _write_text(writer, item, nesting)
            block["content"] = writer.text()[start:]
        words = item.words
        if words:
            average, minimum = _scores(words)
            block["confidence_scores"] = {
                "average_content_confidence_score": average,
                "minimum_content_confidence_score": minimum,
            }
        blocks.append(block)
        if written:
            previous = item
    markdown = writer.text().rstrip("\n")
    if markdown:
        markdown += "\n"

    result: dict[str, Any] = {
        "index": page.index,
        "markdown": markdown,
        "images": images,
        "tables": tables,
        "header": "\n".join(headers) if options.extract_header and headers else None,
        "footer": "\n".join(footers) if options.extract_footer and footers else None,
        "dimensions": {"dpi": page.dpi, "height": page.height, "width": page.width},
        "confidence_scores": None,
        "blocks": blocks if options.include_blocks else None,
        "source": page.source,
    }
    if options.confidence is not None:
        result["confidence_scores"] = _page_scores(writer, page.blocks, options.confidence)
    return result


def _page_scores(writer: _MarkdownWriter, items: list[Block], granularity: str) -> dict[str, Any]:
    average, minimum = _scores([w for item in items for w in item.words])
    scores: dict[str, Any] = {
        "average_page_confidence_score": average,
        "minimum_page_confidence_score": minimum,
    }
    if granularity == "word":
        scores["word_confidence_scores"] = [
            {"text": w.text, "confidence": round(w.confidence, 4), "start_index": start}
            for w, start in writer.word_starts
        ]
    return scores


def kept_figures(blocks: list[Block], options: PageOptions) -> list[Block]:
    """The figures the page object lists: large enough, up to the limit, in reading order."""
    kept: list[Block] = []
    for block in blocks:
        if block.kind == IMAGE and _keep_image(block.box, len(kept), options):
            kept.append(block)
    return kept


def _keep_image(box: Box, count: int, options: PageOptions) -> bool:
    if options.image_limit is not None and count >= options.image_limit:
        return False
    minimum = options.image_min_size or 0
    return box.width >= minimum and box.height >= minimum


class _Nesting:
    """How far to indent each item of a run of lists: an item whose marker stands right of
    the one above it by half its height or more is nested in that one, and starts where
    that one's text does (CommonMark's sub-list). An item set higher on the page than the
    one before starts a column of the list: it is nested in nothing."""

    def __init__(self) -> None:
        self._open: list[tuple[int, int]] = []  # (marker's x, indent) of each level's item
        self._child_indent = 0  # where the text of the item last placed starts
        self._last_top: int | None = None  # the top of the marker last placed

    def reset(self) -> None:
        self._open.clear()
        self._last_top = None

    def indent(self, marker: Box, width: int) -> int:
        """The indent of an item with this marker, `width` its marker and space."""
        if self._last_top is not None and marker.bottom <= self._last_top:
            self._open.clear()
        self._last_top = marker.top
        step = marker.height / 2
        while self._open and marker.left < self._open[-1][0] - step:
            self._open.pop()
        if self._open and marker.left <= self._open[-1][0] + step:
            indent = self._open.pop()[1]  # a sibling
        elif self._open:
            indent = self._child_indent
        else:
            indent = 0
        self._open.append((marker.left, indent))
        self._child_indent = indent + width
        return indent


def _separate(
    writer: _MarkdownWriter, previous: Block | None, item: Block, nesting: _Nesting
) -> None:
    if item.kind != LIST:
        nesting.reset()
    if previous is None:
        return
    # Items of one list stay one Markdown list.
    writer.write("\n" if previous.kind == LIST and item.kind == LIST else "\n\n")


def _write_text(writer: _MarkdownWriter, item: Block, nesting: _Nesting) -> None:
    if item.kind == CODE:
        writer.code(item.lines)
    elif item.kind == TITLE:
        writer.write("#" * item.level + " ")
        writer.lines(item.lines, at_start=False)
    elif item.kind == LIST:
        for i, (marker, lines, box) in enumerate(list_items(Paragraph(item.lines))):
            if i:
                writer.write("\n")
            ordered = _ORDERED.match(marker) is not None
            writer.write(" " * nesting.indent(box, len(marker) + 1 if ordered else 2))
            # "1." and "1)" open a Markdown ordered list as they stand; others need a dash.
            if ordered:
                writer.word(lines[0].words[0], marker)
                rest = [Line(lines[0].words[1:]), *lines[1:]]
                writer.write(" ")
                writer.lines([line for line in rest if line.words], at_start=False)
            else:
                writer.write("- ")
                writer.lines(lines)
    else:
        writer.lines(item.lines)
