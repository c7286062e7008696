"""Tables: the words of a page put into rows and columns.

Three kinds are found, in this order:

- ruled grids (`regions.grids`): each word goes to the cell its centre falls in, merged
  cells to their top left cell; Tesseract's readings of the rules themselves (`|`, `I`,
  `[`, `_`...) are dropped;
- tables ruled only across (a rule above, one below the header, one at the foot), and
  frames of one row or one column: the words between the rules, if their columns are
  separated by gutters;
- unruled tables: runs of at least three lines of words that share gutters, x ranges
  with no ink on any of the lines.

Whatever is not found to be a table stays prose. Columns by gutters are judged
conservatively: two columns of prose, a numbered list and a table of contents line up
as well as a table does.
"""

from __future__ import annotations

import bisect
import dataclasses
import itertools
import re
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from . import leaders
from .model import TABLE, Span, cell_lines
from .regions import Grid, Rules, grids
from .structure import SENTENCE_ENDS, Item, misread_bullet
from .words import Box, Line, Paragraph, Word, union_all

Cells = list[list[list[Word]]]
_DASHES = "—–-_"  # what the white after a bullet reads as

_TOUCH_INCHES = 0.04  # rules this close meet
_SLIVER = 4  # touches: an empty column or row this narrow lies between a double rule's two
_VERTICAL_GLYPHS = frozenset("|Il[]!")  # how Tesseract reads a vertical rule
_HORIZONTAL_GLYPHS = frozenset("_-–—=~")  # and a horizontal one
# A rule read at a word's start or end, where it meets the rule across: a bar or a bracket,
# the junction's strokes beside it ("_|", "—}", "{"); an end's strokes alone ("2015_").
# A minus or a hyphen alone is the word's own.
_BARS = "|"
_RULE_AT_START = re.compile(r"^[_–—=~-]*[|\[\]{}]")
_RULE_AT_END = re.compile(r"[|\[\]{}][_–—=~]*$|[_–—~]+$")
_GUTTER = 1.2  # the narrowest gutter between columns, in word heights (about an em)
_HEADER_LINES = 6  # a header's lines at most: cells of a word or two a line, wrapped
_TIGHT = 0.3  # of a gutter: the white a row of figures set tighter may leave there
# A text layer's word boxes span the font's whole height, OCR's only the ink: about a
# third more for the same type.
_LAYER_BOXES = 0.7
_MIN_ROWS = 3
_PAGE_DIGITS = 9  # a table of contents' page number, at most
_PROSE_WORDS = 5  # a line of a cell with this many words reads as prose
_MARKER_CHARS = 3  # a list's number or bullet, as read
_ROW_BREAK = 2.5  # a gap of this many line heights ends a table
_TABLE_GUTTERS = 2  # a run of rows with this many gutters is a table's, not prose beside one
_CLOSER = 0.7  # a line this much closer than rows are continues the row above
_BEARING = 0.2  # of a character: the white beside a word's first and last glyphs
_PITCH_WORDS = 8
_PITCH_MISFIT = 0.15  # mean distance, in characters, of words' widths from a fixed pitch
_LINED_ROW = 3  # lines across columns in one ruled row that make it rows of their own
_UNMERGED_COLUMNS = 3  # a merged cell's columns holding words apart that make it unmerged
_SPACED = 0.8  # of a line's height: the white of a blank line above a row of a ruled row
_SPANNING_WORDS = 12  # a heading over a table's columns, at most
_EVEN_SPACES = 1.6  # the widest space between words of prose, in its median spaces
_TITLE_WORDS = 8  # a table's title: a phrase of this many words, evenly spaced
_PART_WAY = 0.9  # of a table's width: a rule across less is drawn under a heading
_UNDERLINE_REACH = 1.5  # line heights below a heading its rule may be drawn
_NUMBER = re.compile(r"^[-+−(]?[$€£¥]?\d[\d.,'’]*[%)]?$")
# A figure, a rate or an interval as a table prints it: "1,144", "193.5", "(182.2–204.8)".
_FIGURE = re.compile(r"^[-+−(\[]?[$€£¥]?\d[\d.,'’%\-–—]*[)\]%]?$")
_THOUSANDS = re.compile(r"^\d{3}$")
_SHARE = re.compile(r"^\(\d[\d.,]*%\)$")  # "38 (24.7%)": a count and its share, one entry
_ALIGNED_ROWS = 0.8  # of a table's rows with figures either side of a tight gap
_FLUSH = 0.3  # of a figure's height: how far a column's flush edge may wander
_CLOSE = 2.0  # gutters: figures set tight stand closer than this either side of their gap
_LONG_LABELS = 0.2  # of a gutter's rows: labels that may run up to their figures
_FIGURE_SHARE = 3  # a row of figures has one word in this many a figure, at least
_ENUMERATOR = re.compile(r"^(\(?\d{1,3}[.)]|\(?[a-zA-Z][.)]|\(?[ivxIVX]{1,5}[.)]|[•·▪‣◦●○■□–*-])$")
_CODE_SIGNS = re.compile(r'[{};"\\]|<-|==|#')
_MACRO = re.compile(r"\\[A-Za-z@]+\*?")  # a TeX macro's name: \kilogram, \section*
_CODE_SHARE = 0.3  # of a table's cells with signs of code make it code
_MISREAD_SHARE = 0.1  # of a column's numbers that may be misread
_TERM_WORDS = 3  # a term beside its meaning, at most
_ENTRY_SHARE = 0.8  # of a table of terms' lines that start with a term
_LEADERS = re.compile(r"^[.·…_ ]{3,}")


# Reads the cells of a grid that hold no words (rows of cells, each its words) again from
# the page, adding what it reads to them.
ReadBlank = Callable[[Grid, Cells], None]


@dataclass
class _Table:
    grid: Grid
    cells: Cells
    words: list[Word] = field(default_factory=list)  # the page's words it took
    contents: bool = False  # a table of contents: its rows are lines of text, not a table

    def __post_init__(self) -> None:
        if not self.words:
            self.words = [w for row in self.cells for cell in row for w in cell]

    def item(self) -> Item:
        return Item(TABLE, self.grid.box, grid=self.grid, cells=self.cells)


def find_tables(
    paragraphs: list[Paragraph],
    rules: Rules,
    *,
    dpi: int,
    code: list[Paragraph] | None = None,
    layer: bool = False,
    read_blank: ReadBlank | None = None,
) -> tuple[list[Paragraph], list[Paragraph], list[Item]]:
    """The page's tables, ruled, ruled across or unruled; the paragraphs and the `code`
    that remain. Code only goes into ruled grids, and into frames and tables ruled across
    where prose stands level with it (a column of macro names beside their meanings): its
    rules, not its spacing, make it one. `layer` for words from a text layer. `read_blank`
    reads the cells of a ruled grid that no words fell in, as drawn, adding to them what
    their print reads as."""
    code = code or []
    scale = _LAYER_BOXES if layer else 1.0
    touch = max(2, round(_TOUCH_INCHES * dpi))
    words = [w for p in paragraphs for w in p.words]
    found, frames = _ruled(words + [w for p in code for w in p.words], rules, touch, read_blank)
    taken = {id(w) for t in found for w in t.words}
    drawn = [*frames, *(t.grid for t in found)]
    code_lines = [line for p in code for line in p.lines]
    across = _ruled_across(rules, touch, drawn)
    if across:
        columns = _page_columns(words, scale)
        across = [_with_labels(box, words, taken, columns, rules) for box in across]
    for box in [*(f.box for f in frames), *across]:
        inside = [w for w in _inside(box, words) if id(w) not in taken]
        inside += _code_cells(box, code_lines, inside, taken)
        kept = _without_rule_glyphs(inside, rules, touch)
        # A table's title set between the page's rule above and the table's own top rule is
        # a paragraph over the table, none of its header.
        title = _title(kept, scale)
        if title:
            kept = [w for w in kept if id(w) not in title]
            inside = [w for w in inside if id(w) not in title]
            top = max(w.box.bottom for w in words if id(w) in title)
            box = Box(box.left, top, box.right, box.bottom)
        # Rules part-way across, under a heading: the columns it heads (booktabs' cmidrule).
        under = [
            (y, x0, x1)
            for y, x0, x1 in rules.horizontal
            if box.top + touch < y < box.bottom - touch
            and box.left - touch <= x0
            and x1 <= box.right + touch
            and x1 - x0 < _PART_WAY * box.width
        ]
        table = _by_gutters(kept, box=box, strict=False, scale=scale, underlines=under)
        if table is not None:
            found.append(table)
            taken.update(id(w) for w in inside)
    # Rules that make no grid still show where rule glyphs are: columns ruled only down.
    left = [w for w in words if id(w) not in taken]
    rest = _without_rule_glyphs(left, rules, touch)
    # Rule glyphs, and words a glyph was cut off (their cut copies are in `rest`).
    glyphs = {id(w) for w in left} - {id(w) for w in rest}
    contents = []
    for found_table in _unruled(rest, scale):
        table = _without_sliced_paragraphs(found_table, paragraphs, scale)
        if table is None:
            continue
        if table.contents:
            # Each entry one line, its number, title and page in that order, as printed;
            # left to the layout, the column of numbers would be read apart from the titles.
            rows = [
                row for row in ([w for cell in row for w in cell] for row in table.cells) if row
            ]
            # Its title ("Contents") stands over the entries, unnumbered, no page of its own.
            while (
                len(rows) > 1
                and not rows[0][-1].text.isdigit()
                and not rows[0][0].text[:1].isdigit()
            ):
                contents.append(Paragraph([Line(rows.pop(0))]))
            # Each entry a paragraph: one line each, as printed, not one run of text.
            contents.extend(Paragraph([Line(row)]) for row in rows)
            taken.update(id(w) for w in table.words)
            continue
        found.append(table)
        # Its words and the rule glyphs among them; a word that stands within its box but
        # in none of its rows (beside a tall misreading that stretched the box) stays text.
        taken.update(id(w) for w in table.words)
        taken.update(id(w) for w in _inside(table.grid.box, words) if id(w) in glyphs)
    if not layer:
        for table in found:
            _read_bullets(table.cells)
    items = [t.item() for t in found]
    return [*_remaining(paragraphs, taken), *contents], _remaining(code, taken), items


def _without_sliced_paragraphs(
    table: _Table, paragraphs: list[Paragraph], scale: float
) -> _Table | None:
    """The table without the lines of prose it took from a paragraph that runs on above or
    below it (an article's text beside its infobox, level with the box's rows, shares their
    gutters): the rest as a table, if it still is one."""
    box, taken = table.grid.box, {id(w) for w in table.words}
    cell_of = {
        id(w): (r, c)
        for r, row in enumerate(table.cells)
        for c, cell in enumerate(row)
        for w in cell
    }
    sliced: set[int] = set()
    for paragraph in paragraphs:
        inside = [ln for ln in paragraph.lines if any(id(w) in taken for w in ln.words)]
        outside = [
            ln for ln in paragraph.lines if ln.box.bottom <= box.top or ln.box.top >= box.bottom
        ]
        if inside and outside and any(_prose_line(ln) for ln in inside):
            sliced.update(id(w) for ln in inside for w in ln.words)
        else:
            sliced.update(
                id(w) for ln in _run_on(paragraph, inside, box, cell_of) for w in ln.words
            )
    if not sliced:
        return table
    rest = [w for w in table.words if id(w) not in sliced]
    if len(rest) < _MIN_ROWS:
        return None
    return _by_gutters(rest, box=union_all([w.box for w in rest]), strict=True, scale=scale)


def _run_on(
    paragraph: Paragraph, inside: list[Line], box: Box, cell_of: dict[int, tuple[int, int]]
) -> list[Line]:
    """The paragraph's lines inside a table's box that its sentence runs on into from above
    ("Table 2 lists all token classes and their" over "corresponding numbers."): a line of
    one cell that ends the sentence, under a line of prose that stands over the table and
    ends none. A column's label of two lines ("Age" over "group") is no prose."""
    found = []
    for line in inside:
        i = paragraph.lines.index(line)
        above = paragraph.lines[i - 1] if i else None
        cells = {cell_of.get(id(w)) for w in line.words}
        if (
            above is not None
            and above.box.bottom <= box.top
            and _prose_line(above)
            and not above.text.rstrip().endswith(SENTENCE_ENDS)
            and line.text.rstrip().endswith(SENTENCE_ENDS)
            and len(cells) == 1
            and None not in cells
        ):
            found.append(line)
    return found


def _prose_line(line: Line) -> bool:
    """Whether a line is a run of words, as prose's are; a row of figures is none."""
    return sum(_has_letters(w) for w in line.words) >= _PROSE_WORDS


def _read_bullets(cells: Cells) -> None:
    """A cell's lines opened by a bullet Tesseract read as a letter or a sign ("e Time period
    of assessment", "© Effect size") open with the bullet, as items in prose do. The white
    after such a bullet is often read as a dash, alone or before the first word ("e —
    Intercorrelation", "e _Intraclass"): it is the bullet's, not the item's."""
    for row in cells:
        for cell in row:
            for words in cell_lines(cell):
                if len(words) > 2 and not words[1].text.strip(_DASHES):
                    if misread_bullet([words[0], *words[2:]]):
                        cell.remove(words[1])
                        words[0].text = "•"
                    continue
                if len(words) < 2:
                    continue
                item = words[1].text.lstrip(_DASHES)
                if misread_bullet([words[0], dataclasses.replace(words[1], text=item), *words[2:]]):
                    words[0].text, words[1].text = "•", item


def _title(words: list[Word], scale: float) -> set[int]:
    """The ids of the words of the lines of prose that open a table ruled across: a line
    holding a phrase of `_TITLE_WORDS` or more evenly spaced words, and the lines that go on
    from it flush with it."""
    if not words:
        return set()
    gap = _min_gutter(words, scale)
    title: set[int] = set()
    start: int | None = None
    for line in _visual_rows(words):
        phrases = _phrases(line, gap)
        if any(len(p) >= _TITLE_WORDS and _prose_phrase(p) for p in phrases):
            start = max(phrases, key=len)[0].box.left
        elif not (start is not None and len(phrases) == 1 and abs(line[0].box.left - start) <= gap):
            break
        title.update(id(w) for w in line)
    return title


def _code_cells(box: Box, code: list[Line], prose: list[Word], taken: set[int]) -> list[Word]:
    """The words of the code lines inside `box` that have a word of `prose` level with
    them: cells of a table's column in a fixed-pitch font. A listing between two rules, with
    no prose beside its lines, stays a listing."""
    found = []
    for line in code:
        words = [w for w in _inside(box, line.words) if id(w) not in taken]
        top, bottom = line.box.top, line.box.bottom
        if words and any(top <= w.box.center[1] <= bottom for w in prose):
            found.extend(words)
    return found


def _ruled(
    words: list[Word], rules: Rules, touch: int, read_blank: ReadBlank | None = None
) -> tuple[list[_Table], list[Grid]]:
    """Tables from ruled grids, and the other grids: frames round text (one row or column
    of boxes, or a grid with words in only one of its rows or columns)."""
    found: list[_Table] = []
    frames: list[Grid] = []
    taken: set[int] = set()
    for grid in grids(rules, touch=touch):
        if len(grid.rows) < 3 or len(grid.columns) < 3:
            frames.append(grid)  # a box or a strip of boxes: maybe a table ruled across
            continue
        inside = [w for w in _inside(grid.box, words) if id(w) not in taken]
        table = _fill(grid, inside, rules, touch, read_blank)
        if table is None:
            frames.append(grid)  # words in one row or column: a frame round them after all
            continue
        table.words = inside  # its rule glyphs too
        found.append(table)
        taken.update(id(w) for w in inside)
    return found, frames


def fill(paragraphs: list[Paragraph], found: list[Grid]) -> tuple[list[Paragraph], list[Item]]:
    """Move the words inside the given grids into their cells; the paragraphs that remain."""
    words = [w for p in paragraphs for w in p.words]
    tables = [_assign(grid, words) for grid in found]
    taken = {id(w) for t in tables for row in t.cells for cell in row for w in cell}
    return _remaining(paragraphs, taken), [t.item() for t in tables]


def _remaining(paragraphs: list[Paragraph], taken: set[int]) -> list[Paragraph]:
    remaining = []
    for paragraph in paragraphs:
        lines = [Line(kept) for ln in paragraph.lines if (kept := _kept(ln.words, taken))]
        if lines:
            remaining.append(Paragraph(lines))
    return remaining


def _kept(words: list[Word], taken: set[int]) -> list[Word]:
    return [w for w in words if id(w) not in taken]


def _inside(box: Box, words: list[Word]) -> list[Word]:
    return [w for w in words if box.contains(*w.box.center)]


# Ruled grids ------------------------------------------------------------------------------


def _fill(
    grid: Grid, words: list[Word], rules: Rules, touch: int, read_blank: ReadBlank | None = None
) -> _Table | None:
    """The grid's cells filled with the words inside it, rule glyphs left out; None when
    only one row or one column holds any words (a frame round text, not a table)."""
    inside = _without_rule_glyphs(_inside(grid.box, words), rules, touch)
    table = _assign(dataclasses.replace(grid, spans=_real_spans(grid, inside, touch)), inside)
    table = _without_slivers(table, touch)
    filled_rows = sum(any(row) for row in table.cells)
    filled_columns = sum(
        any(row[c] for row in table.cells) for c in range(len(table.grid.columns) - 1)
    )
    if filled_rows < 2 or filled_columns < 2:
        return None
    if read_blank is not None:
        # The cells as drawn, before any is parted: a shaded header's "2007" over its "N"
        # and "% Pos" is read whole.
        read_blank(table.grid, table.cells)
        table = _Table(table.grid, table.cells)
    return _split_rows(_split_columns(_cut_across_rules(table)), ruled=table.grid.columns)


def _without_slivers(table: _Table, touch: int) -> _Table:
    """The table without its slivers: the empty columns and rows, narrower than
    `_SLIVER` touches, between the two rules of a double rule. A grid with merged cells is
    left as it is."""
    grid, cells = table.grid, table.cells
    if grid.spans:
        return table

    def slivers(bounds: tuple[int, ...], empty: Callable[[int], bool]) -> set[int]:
        return {
            i
            for i in range(len(bounds) - 1)
            if bounds[i + 1] - bounds[i] < _SLIVER * touch and empty(i)
        }

    columns = slivers(grid.columns, lambda c: not any(row[c] for row in cells))
    rows = slivers(grid.rows, lambda r: not any(cells[r]))
    if not (columns or rows):
        return table
    if len(columns) >= len(grid.columns) - 2 or len(rows) >= len(grid.rows) - 2:
        return table

    def kept(bounds: tuple[int, ...], gone: set[int]) -> tuple[int, ...]:
        # Each sliver goes to the cell before it (the first, to the one after).
        drop = {i if i > 0 else 1 for i in gone}
        return tuple(b for i, b in enumerate(bounds) if i not in drop)

    new_cells = [
        [cell for c, cell in enumerate(row) if c not in columns]
        for r, row in enumerate(cells)
        if r not in rows
    ]
    new_grid = Grid(grid.box, kept(grid.rows, rows), kept(grid.columns, columns), ())
    return _Table(new_grid, new_cells)


def _cut_across_rules(table: _Table) -> _Table:
    """The table with each word read across one of its column rules cut there, each part
    in its own cell. Only a table's words are cut: the table takes them all, so nothing of
    a word is lost, as it could be from a word that goes back to prose."""
    grid = table.grid
    words: list[Word] = []
    for word in table.words:
        near = word.box.height // 2
        inner = [x for x in grid.columns[1:-1] if word.box.left + near < x < word.box.right - near]
        right = _cut_at_rule(word, inner[0], near) if len(inner) == 1 else None
        words += [word] if right is None else [word, right]
    return table if len(words) == len(table.words) else _assign(grid, words)


def _split_columns(table: _Table) -> _Table:
    """The table with each ruled column that holds columns of its own (a ruled group's
    "Male" and "Female" under one heading) cut at the gutters its lines share below their
    header, where most of those lines have words either side."""
    grid = table.grid
    cuts: dict[int, list[int]] = {}
    for c in range(len(grid.columns) - 1):
        words = [w for row in table.cells for w in row[c]]
        if len(words) < 2 * _MIN_ROWS:
            continue
        lines = _visual_rows(words)
        gap = _min_gutter(words, 1.0)
        body = lines[_header_lines(lines, gap) :]
        if len(body) < _MIN_ROWS:
            continue
        apart = [g for g in _gutters(body, gap) if _parts(body, g)]
        # Only gutters within the column: a merged cell's words reach into the next ones.
        inner = [x for a, b in apart if grid.columns[c] < (x := (a + b) // 2) < grid.columns[c + 1]]
        if inner:
            cuts[c] = _without_thin_parts(inner, body)
    if not cuts:
        return table
    columns: list[int] = []
    first: list[int] = []  # the new index of each ruled column's first part
    for c in range(len(grid.columns) - 1):
        first.append(len(columns))
        columns += [grid.columns[c], *cuts.get(c, [])]
    first.append(len(columns))
    spans = [
        Span(s.row, first[s.column], s.rows, first[s.column + s.columns] - first[s.column])
        for s in grid.spans
    ]
    # A heading over the parts ("2007" over its "N" and "% Pos") spans them: a ruled row
    # whose every line runs across a cut (not the body of a table ruled only round its
    # rows, nor a heading over its "Male" and "Female" in one ruled row).
    spanned = {(s.row, s.column) for s in grid.spans}
    for c, xs in cuts.items():
        for r, row in enumerate(table.cells):
            lines = _visual_rows(row[c])
            if (
                (r, c) not in spanned
                and lines
                and all(
                    any(w.box.left < x < w.box.right for w in line for x in xs) for line in lines
                )
            ):
                spans.append(Span(r, first[c], 1, first[c + 1] - first[c]))
    grid = Grid(grid.box, grid.rows, (*columns, grid.columns[-1]), tuple(spans))
    return _assign(grid, table.words)


def _without_thin_parts(cuts: list[int], lines: list[list[Word]]) -> list[int]:
    """Cuts into a column's parts, the two round a part that fewer than `_MIN_ROWS` of the
    lines have words in made one between its neighbours: a heading centred over the gutter
    of the two columns below it ("2007" over "N" and "% Pos") is no column of its own."""
    cuts = list(cuts)
    i = 1
    while i < len(cuts):
        left, right = cuts[i - 1], cuts[i]
        holding = sum(any(left < w.box.center[0] < right for w in line) for line in lines)
        if holding < _MIN_ROWS:
            cuts[i - 1 : i + 1] = [(left + right) // 2]
        else:
            i += 1
    return cuts


def _parts(lines: list[list[Word]], gutter: tuple[int, int]) -> bool:
    """Whether most of the lines have words on both sides of the gutter."""
    return 2 * sum(_either_side(line, gutter) is not None for line in lines) >= len(lines)


def _either_side(row: list[Word], gap: tuple[int, int]) -> tuple[Word, Word] | None:
    """The row's words nearest the gap on its left and on its right; None unless it has
    words on both sides."""
    before = [w for w in row if w.box.right <= gap[0]]
    after = [w for w in row if w.box.left >= gap[1]]
    if not before or not after:
        return None
    return max(before, key=lambda w: w.box.right), min(after, key=lambda w: w.box.left)


def _split_rows(table: _Table, *, ruled: Sequence[int]) -> _Table:
    """The table with each ruled row that holds several lines across its columns split into
    a row per line: tables often rule their columns but not their rows. Rows that a merged
    cell one column wide ties together are split as one where one of them holds such lines:
    a rule drawn across some columns only (over a "Total" in the last) merges the cells of
    the others, and their lines are rows all the same. `ruled` are the column rules, before
    any column was parted."""
    grid = table.grid
    cells: Cells = []
    bounds = [grid.rows[0]]
    moved: dict[int, int] = {}
    spans: list[Span] = []
    for start, stop, open_ in _bands(grid, ruled):
        rows = table.cells[start:stop]
        if stop - start == 1:
            parts = _lines_across(rows[0]) if open_ else []
        elif open_ and any(_lines_across(row) for row in rows):
            # A merged cell's words are all in its first cell: each goes to its own column.
            words = [w for row in rows for cell in row for w in cell]
            parts = _lines_across(_split(words, list(grid.columns)))
        else:
            parts = []
        if not parts:
            for r, row in enumerate(rows, start):
                moved[r] = len(cells)
                cells.append(row)
                bounds.append(grid.rows[r + 1])
            spans += [s for s in grid.spans if start <= s.row < stop]
            continue
        for part, (_, line) in enumerate(parts[:-1]):
            cells.append(parts[part][0])
            following = parts[part + 1][1]
            bottom = max(w.box.bottom for w in line)
            bounds.append((bottom + min(w.box.top for w in following)) // 2)
        cells.append(parts[-1][0])
        bounds.append(grid.rows[stop])
    if len(cells) == len(table.cells):
        return table
    moved_spans = tuple(Span(moved[s.row], s.column, s.rows, s.columns) for s in spans)
    return _Table(Grid(grid.box, tuple(bounds), grid.columns, moved_spans), cells)


def _bands(grid: Grid, ruled: Sequence[int]) -> list[tuple[int, int, bool]]:
    """The grid's rows in bands that no merged cell crosses, each as (first, past last,
    open): a band is open to splitting unless a merged cell wider than a ruled column lies
    in it, or a heading over a ruled column's parts (no run of rows)."""
    tied = [False] * (len(grid.rows) - 1)  # each row to the row below it
    wide: set[int] = set()
    for s in grid.spans:
        tied[s.row : s.row + s.rows - 1] = [True] * (s.rows - 1)
        left, right = grid.columns[s.column], grid.columns[s.column + s.columns]
        tall = s.rows > 1 and not any(left < x < right for x in ruled)
        if s.columns > 1 and not tall:
            wide.update(range(s.row, s.row + s.rows))
    bands = []
    start = 0
    for r, on in enumerate(tied):
        if not on:
            bands.append((start, r + 1, not wide & set(range(start, r + 1))))
            start = r + 1
    return bands


def _lines_across(row: list[list[Word]]) -> list[tuple[list[list[Word]], list[Word]]]:
    """A ruled row's lines as rows of their own, if at least `_LINED_ROW` of them have words
    in the first column and another; else nothing."""
    column = {id(w): c for c, cell in enumerate(row) for w in cell}
    lines = _visual_rows([w for cell in row for w in cell])
    split: list[list[list[Word]]] = []
    for line in lines:
        cells: list[list[Word]] = [[] for _ in row]
        for word in line:
            cells[column[id(word)]].append(word)
        split.append(cells)
    # Lines that start in the first column and go on in others are rows; a header whose
    # cells all wrap has lines across its columns too, but not in the first. Two such lines
    # are rows too where white sets each apart from the line above (rows of cells of several
    # lines each, a blank line between them); a row whose cells wrap has none.
    across = [i for i, cells in enumerate(split) if cells[0] and any(cells[1:])]
    if len(across) < _LINED_ROW and not (len(across) >= 2 and _spaced(lines, across)):
        return []
    return _join_continuations(split, lines)


def _spaced(lines: list[list[Word]], starts: list[int]) -> bool:
    """Whether each of the lines at `starts` (but a first) follows the line above it with a
    blank line's white: more than most of a line's height."""
    height = statistics.median(_height(line) for line in lines)
    return all(i == 0 or _vertical_gap(lines[i - 1], lines[i]) > _SPACED * height for i in starts)


def _real_spans(grid: Grid, words: list[Word], touch: int) -> tuple[Span, ...]:
    """The grid's merged cells, but for those tall ones whose lines sit one to a row, and
    wide ones whose words sit in three of its columns or more, none across a column's edge:
    there the rules were left out of the body (or shaded away, or drawn in the header
    only), not the cells merged."""
    spans = []
    for span in grid.spans:
        inside = _inside(grid.span_box(span), words)
        if _in_columns(grid, span, inside, touch):
            continue  # its cells are the grid's own
        rows = {bisect.bisect(grid.rows, w.box.center[1]) for w in inside}
        if span.rows < _LINED_ROW or len(rows) < span.rows / 2:
            spans.append(span)
        elif span.columns > 1:
            spans.extend(Span(span.row + r, span.column, 1, span.columns) for r in range(span.rows))
    return tuple(spans)


def _in_columns(grid: Grid, span: Span, words: list[Word], touch: int) -> bool:
    """Whether a merged cell's words sit in `_UNMERGED_COLUMNS` of its columns or more,
    each word within one of them, and a gutter's width apart where a line goes on past a
    column's edge (a heading that runs on over the columns is one cell)."""
    edges = grid.columns[span.column + 1 : span.column + span.columns]
    if len(edges) < _UNMERGED_COLUMNS - 1 or not words:
        return False
    if any(w.box.left + touch < x < w.box.right - touch for w in words for x in edges):
        return False
    if len({bisect.bisect(edges, w.box.center[0]) for w in words}) < _UNMERGED_COLUMNS:
        return False
    gutter = _min_gutter(words, 1.0)
    for line in _visual_rows(words):
        for before, after in itertools.pairwise(line):
            across = any(before.box.center[0] < x < after.box.center[0] for x in edges)
            if across and after.box.left - before.box.right < gutter:
                return False
    return True


def _assign(grid: Grid, words: list[Word]) -> _Table:
    """Each word to the cell its centre is in; a merged cell's words to its top left cell."""
    cells: Cells = [[[] for _ in range(len(grid.columns) - 1)] for _ in range(len(grid.rows) - 1)]
    owner = {cell: (s.row, s.column) for cell, s in grid.merged().items()}
    for word in words:
        x, y = word.box.center
        if not grid.box.contains(x, y):
            continue
        r = min(max(bisect.bisect(grid.rows, y) - 1, 0), len(cells) - 1)
        c = min(max(bisect.bisect(grid.columns, x) - 1, 0), len(cells[0]) - 1)
        r, c = owner.get((r, c), (r, c))
        cells[r][c].append(word)
    return _Table(grid, cells)


def _without_rule_glyphs(words: list[Word], rules: Rules, touch: int) -> list[Word]:
    """The words that are not a rule read as a letter; brackets glued to a word by a rule
    it touches are cut off the word."""
    slack = max(2, touch // 3)  # a rule's position is its centre at analysis resolution
    kept = []
    for word in words:
        box, text = word.box, word.text
        beside = [x for x, y0, y1 in rules.vertical if y0 <= box.center[1] <= y1]
        on_vertical = [x for x in beside if box.left - slack <= x <= box.right + slack]
        # A rule read as a letter lies across it, and is narrow for a letter.
        thin = box.width <= 2 * touch + box.height / 3
        if on_vertical and thin and set(text) <= _VERTICAL_GLYPHS:
            continue
        on_horizontal = any(
            x0 <= box.center[0] <= x1 and box.top - slack <= y <= box.bottom + slack
            for y, x0, x1 in rules.horizontal
        )
        if on_horizontal and box.height <= 2 * slack + 1 and set(text) <= _HORIZONTAL_GLYPHS:
            continue
        # A bracket read from a rule beside the word: the rule's place is its analysis
        # pixel's, a few page pixels either way, and Tesseract's box of the word may stop
        # short of the bracket's ink; within half the word's height it is the rule's. A
        # bar is no letter a word starts or ends with: up to a height away (the gap a
        # justified cell leaves before its rule), it is the rule's too.
        if len(text) > 1 and beside:
            start = _RULE_AT_START.match(text)
            if start and any(abs(x - box.left) <= _reach(start[0], box, slack) for x in beside):
                if start.end() == len(text):
                    continue  # nothing but the rule and the strokes where it meets another
                text = text[start.end() :]
            end = _RULE_AT_END.search(text)
            if end and any(abs(x - box.right) <= _reach(end[0], box, slack) for x in beside):
                text = text[: end.start()]
            # The word's own reading, wherever it ends up: in a cell or back in prose.
            word.text = text or word.text
        kept.append(word)
    return kept


def _reach(glyphs: str, box: Box, slack: int) -> int:
    """How far from a word's end a rule may stand for the `glyphs` there to be the rule
    read: a bracket within half the word's height; a bar, or a run of glyphs where a rule
    meets another ("_|", "—}"), within a height for each glyph."""
    if len(glyphs) == 1 and glyphs not in _BARS:
        return max(slack, box.height // 2)
    return max(slack, box.height) * len(glyphs)


def _cut_at_rule(word: Word, x: int, near: int) -> Word | None:
    """A word Tesseract read across a rule at `x` ("2,218,406]1,180,160", two cells'
    figures and the rule between) cut at the rule's glyph: the word keeps the part left of
    it, and the part right of it is returned as a word of its own. None where no such glyph
    stands about where the rule does."""
    text, box = word.text, word.box
    at = [
        i
        for i, c in enumerate(text)
        if c in "|[]"  # not a letter ("I", "l"): a word's own may stand beside a rule
        and 0 < i < len(text) - 1
        and abs(box.left + box.width * (i + 0.5) / len(text) - x) <= near
    ]
    if len(at) != 1:
        return None
    i = at[0]
    word.text, word.box = text[:i], Box(box.left, box.top, x, box.bottom)
    return dataclasses.replace(word, text=text[i + 1 :], box=Box(x, box.top, box.right, box.bottom))


def _ruled_across(rules: Rules, touch: int, drawn: list[Grid]) -> list[Box]:
    """Outlines of tables ruled only across: two or more horizontal rules of one width,
    stacked without a vertical rule joining them. The rules of `drawn` grids are theirs, and
    a grid between two rules parts them: a page's head and foot rules, or the title bars
    between a document's boxed tables, do not make the page one table."""
    loose = sorted(
        h
        for h in rules.horizontal
        if not any(
            g.box.left - touch <= h[1]
            and h[2] <= g.box.right + touch
            and g.box.top - touch <= h[0] <= g.box.bottom + touch
            for g in drawn
        )
    )
    boxes = []
    used: set[int] = set()
    for i, (_, x0, x1) in enumerate(loose):
        if i in used:
            continue
        stack = [
            j
            for j, (_, a, b) in enumerate(loose)
            if j not in used and abs(a - x0) <= 3 * touch and abs(b - x1) <= 3 * touch
        ]
        used.update(stack)
        for run in _unparted([loose[j][0] for j in stack], x0, x1, drawn):
            if len(run) >= 2:
                boxes.append(Box(x0, run[0], x1, run[-1]))
    return boxes


def _with_labels(
    box: Box, words: list[Word], taken: set[int], columns: list[list[Word]], rules: Rules
) -> Box:
    """The outline of a table ruled across its figures only (a rule over each subtotal, as
    statements draw them) widened to its rows' labels: the words left of it in line with
    its rows and under none of the rules across them (those of a table beside it), where
    most rows have them and they stand in the same column of the page."""
    inside = [w for w in _inside(box, words) if id(w) not in taken]
    if not inside:
        return box
    ids = {id(w) for w in inside}
    column = next((c for c in columns if {id(w) for w in c} >= ids), None)
    if column is None:
        return box
    rows = _visual_rows([w for w in column if box.top <= w.box.center[1] <= box.bottom])
    ruled = [(x0, x1) for y, x0, x1 in rules.horizontal if box.top <= y <= box.bottom]
    labels = [
        [
            w
            for w in row
            if w.box.right <= box.left
            and id(w) not in taken
            and not any(x0 <= w.box.center[0] <= x1 for x0, x1 in ruled)
        ]
        for row in rows
        if any(id(w) in ids for w in row)
    ]
    if 2 * sum(bool(row) for row in labels) <= len(labels):
        return box
    return Box(min(w.box.left for row in labels for w in row), box.top, box.right, box.bottom)


def _unparted(ys: list[int], x0: int, x1: int, drawn: list[Grid]) -> list[list[int]]:
    """Rules at `ys` (in order, from `x0` to `x1`) in runs that no drawn grid comes between."""
    runs: list[list[int]] = []
    for y in ys:
        between = runs and any(
            g.box.left < x1 and x0 < g.box.right and runs[-1][-1] <= g.box.top and g.box.bottom <= y
            for g in drawn
        )
        if not runs or between:
            runs.append([y])
        else:
            runs[-1].append(y)
    return runs


# Tables by gutters ------------------------------------------------------------------------


def _unruled(words: list[Word], scale: float) -> list[_Table]:
    """Tables among words with no rules: runs of lines whose gutters agree, looked for in
    each of the page's columns of prose apart."""
    return [table for column in _page_columns(words, scale) for table in _unruled_in(column, scale)]


def _page_columns(words: list[Word], scale: float) -> list[list[Word]]:
    """The words split at the gaps no word crosses on the whole page, where there is prose
    on both sides: a page's columns. A table's own gutters have no prose beside them."""
    if not words:
        return []
    gutter = _min_gutter(words, scale)
    # A running head and a printer's slug run across the page's columns: the gaps are
    # those of the lines between them, and their words go to the column they start in.
    rows = _visual_rows(words)
    edges = {id(w) for row in (rows[0], rows[-1]) for w in row} if len(rows) > 2 else set()
    ordered = sorted((w for w in words if id(w) not in edges), key=lambda w: w.box.left)
    groups = [[ordered[0]]]
    right = ordered[0].box.right
    for word in ordered[1:]:
        if word.box.left - right >= gutter:
            groups.append([])
        groups[-1].append(word)
        right = max(right, word.box.right)
    columns = [groups[0]]
    for group in groups[1:]:
        if _has_prose(columns[-1]) and _has_prose(group):
            columns.append(group)
        else:
            columns[-1] = columns[-1] + group
    starts = [min(w.box.left for w in column) for column in columns]
    for word in (w for w in words if id(w) in edges):
        at = max((i for i, left in enumerate(starts) if left <= word.box.left), default=0)
        columns[at].append(word)
    return columns


def _has_prose(words: list[Word]) -> bool:
    """Whether at least `_MIN_ROWS` rows are runs of words; figures are no words of prose:
    a block of them beside their rows' labels is no column of the page of its own."""
    rows = _visual_rows(words)
    return sum(sum(_has_letters(w) for w in row) >= _PROSE_WORDS for row in rows) >= _MIN_ROWS


def _has_letters(word: Word) -> bool:
    return any(ch.isalpha() for ch in word.text)


def _unruled_in(words: list[Word], scale: float) -> list[_Table]:
    rows = _visual_rows(words)
    spanning = _spanning_rows(rows, scale)
    found = []
    start = 0
    while start < len(rows):
        end = _run_end(rows, start, scale, spanning)
        if end - start >= _MIN_ROWS:
            block = [w for row in rows[start:end] for w in row]
            box = union_all([w.box for w in block])
            heads = frozenset(id(w) for i in spanning if start <= i < end for w in rows[i])
            table = _by_gutters(block, box=box, strict=True, scale=scale, spanning=heads)
            if table is not None:
                if len(table.cells[0]) == 2 and _terms(table.cells):
                    start, end, table = _with_flush_terms(rows, start, end, table, scale)
                found.append(table)
                start = end
                continue
        start += 1
    return found


def _with_flush_terms(
    rows: list[list[Word]], start: int, end: int, table: _Table, scale: float
) -> tuple[int, int, _Table]:
    """A table of terms (`_terms`) with the rows next to it whose meaning starts flush
    with the others': a long term ("<> v, != v") runs up to its meaning, closer than a
    gutter, and so does a header's first cell; such rows cut the run of rows in two.
    Returns the rows the table spans, start and end, and the table."""
    meanings = [sorted(row[1], key=lambda w: w.box.left)[0] for row in table.cells]
    flush = statistics.median(w.box.left for w in meanings)
    slack = _FLUSH * statistics.median(w.box.height for w in table.words)

    def flush_row(i: int) -> bool:
        row = rows[i]
        term = [w for w in row if w.box.left < flush - slack]
        meaning = [w for w in row if w.box.left >= flush - slack]
        return (
            bool(meaning)
            and abs(meaning[0].box.left - flush) <= slack
            and all(w.box.right < flush for w in term)
            and 0 < _words_of(term) <= _TERM_WORDS
        )

    first, last = start, end
    while first > 0 and not _apart(rows[first - 1], rows[first]) and flush_row(first - 1):
        first -= 1
    while last < len(rows) and not _apart(rows[last - 1], rows[last]) and flush_row(last):
        last += 1
    if (first, last) == (start, end):
        return start, end, table
    block = [w for row in rows[first:last] for w in row]
    box = union_all([w.box for w in block])
    columns = (box.left, round(flush - slack), box.right)
    wider = _by_gutters(block, box=box, strict=True, scale=scale, bounds=columns)
    return (first, last, wider) if wider is not None else (start, end, table)


def _spanning_rows(rows: list[list[Word]], scale: float) -> set[int]:
    """The rows that are one phrase over a table's columns, not in its first: a heading
    over a group of columns ("Year of data") or over the rows below it ("Enrollment, in
    thousands"). It crosses the gutters of the table's rows beside it, so it would end the
    run of rows it stands in."""
    found = set()
    for i, row in enumerate(rows[:-1]):
        gap = _min_gutter(row, scale)
        if len(row) > _SPANNING_WORDS or len(_phrases(row, gap)) != 1:
            continue
        near = [
            rows[j]
            for j in (i - 1, i + 1, i + 2)
            if 0 <= j < len(rows)
            and not _apart(*((rows[j], row) if j < i else (row, rows[j])))
            and len(_phrases(rows[j], gap)) > 2
        ]
        if not near or rows[i + 1] not in near:
            continue
        gutters = _gutters(near, gap)
        left, right = row[0].box.left, max(w.box.right for w in row)
        if (
            len(gutters) >= 2
            and left > gutters[0][0]
            and any(left < (a + b) / 2 < right for a, b in gutters[1:])
        ):
            found.add(i)
    return found


def _visual_rows(words: list[Word]) -> list[list[Word]]:
    """Words grouped into rows across the whole page by vertical overlap, top to bottom."""
    rows: list[tuple[int, int, list[Word]]] = []
    for word in sorted(words, key=lambda w: w.box.center[1]):
        if rows:
            top, bottom, members = rows[-1]
            overlap = min(bottom, word.box.bottom) - max(top, word.box.top)
            if overlap >= 0.5 * min(bottom - top, word.box.height):
                rows[-1] = (min(top, word.box.top), max(bottom, word.box.bottom), members)
                members.append(word)
                continue
        rows.append((word.box.top, word.box.bottom, [word]))
    return [sorted(members, key=lambda w: w.box.left) for _, _, members in rows]


def _run_end(
    rows: list[list[Word]], start: int, scale: float, spanning: set[int] | None = None
) -> int:
    """The end of the run of rows from `start` that keep the gutters of its first rows;
    the `spanning` rows (`_spanning_rows`) stand in it without closing them.

    The run also ends where a line with more gutters starts a run of its own: prose beside
    a table shares the page's column gap with it, not the table's gutters.
    """
    spanning = spanning or set()

    def plain(first: int, stop: int) -> list[list[Word]]:
        return [rows[i] for i in range(first, min(stop, len(rows))) if i not in spanning]

    gap = _min_gutter(rows[start], scale)
    head = start + 1 if start in spanning else start
    if head + 1 >= len(rows) or any(_apart(rows[i], rows[i + 1]) for i in range(start, head + 1)):
        return start + 1
    gutters = _gutters(plain(head, head + 2), gap)
    if not gutters:
        return start + 1
    end = head + 2
    # Where lines ahead kept every gutter of a table's and added one (numbers parted from
    # their labels in some rows, not in those above), the run went on: it ends there after
    # all unless those lines went on with it.
    went_on: int | None = None
    while end < len(rows):
        if _apart(rows[end - 1], rows[end]):
            break
        if end in spanning:
            end += 1
            continue
        joined = _gutters(plain(start, end + 1), gap)
        if len(joined) != len(gutters):
            break
        ahead = _gutters(plain(end, end + _MIN_ROWS), gap)
        if end + _MIN_ROWS <= len(rows) and len(ahead) > len(gutters):
            if len(gutters) < _TABLE_GUTTERS or not _kept_gutters(gutters, ahead):
                break
            went_on = end if went_on is None else went_on
        gutters, end = joined, end + 1
    if went_on is not None and end < went_on + _MIN_ROWS:
        end = went_on
    while end - 1 > start and end - 1 in spanning:
        end -= 1  # a heading with no rows under it is none of the table's
    return end


def _kept_gutters(gutters: list[tuple[int, int]], ahead: list[tuple[int, int]]) -> bool:
    """Whether each of `gutters` lies within one of `ahead`: the same columns, apart as
    they were."""
    return all(any(a <= left and right <= b for a, b in ahead) for left, right in gutters)


def _apart(above: list[Word], below: list[Word]) -> bool:
    """Whether two rows are too far apart to be rows of one table."""
    return _vertical_gap(above, below) > _ROW_BREAK * _height(above)


def _height(row: list[Word]) -> float:
    return statistics.median(w.box.height for w in row)


def _min_gutter(words: list[Word], scale: float) -> float:
    """The narrowest gap between columns: about an em, from the words' heights times
    `scale`, the share of the type's height their boxes span."""
    return _GUTTER * scale * statistics.median(w.box.height for w in words)


def _vertical_gap(above: list[Word], below: list[Word]) -> int:
    return min(w.box.top for w in below) - max(w.box.bottom for w in above)


def _gutters(rows: list[list[Word]], min_width: float) -> list[tuple[int, int]]:
    """The x ranges with no ink on any of the rows, between the rows' leftmost and rightmost
    ink, at least `min_width` wide, or narrower where row by row it is a gutter all the
    same: the longest words of a column may reach past where the next column's widest
    start, and a total's figures set tighter than the rest narrow a gutter without closing
    it. Words of prose with a space there close it; a mark alone in a row of figures ("—",
    or "=" read for it) in the white between two columns does not part it in two."""
    words = [w for row in rows for w in (_without_marks(row) or row)]
    boxes = sorted((w.box for w in words), key=lambda b: b.left)
    gutters = []
    right = boxes[0].right
    for box in boxes[1:]:
        white = box.left - right
        if white >= min_width or (
            white >= _TIGHT * min_width
            and (
                _wide_in_rows(rows, (right, box.left), min_width)
                or _aligned_figures(rows, (right, box.left), min_width)
            )
        ):
            gutters.append((right, box.left))
        right = max(right, box.right)
    return gutters


def _without_marks(row: list[Word]) -> list[Word]:
    """A row without its dot leaders, and a row of figures (two or more, a third of its
    words) without the marks before a figure or at its end too ("—" for a figure not
    given, or "=" read for it); an "=" in prose is a word of it."""
    row = [w for w in row if w.text.strip(".·…")]  # dot leaders run into the gutter
    words = [w for w in row if any(ch.isalnum() for ch in w.text)]
    figures = sum(bool(_FIGURE.match(w.text)) for w in words)
    if figures < 2 or _FIGURE_SHARE * figures < len(words):
        return row  # mostly words: prose, or a label with a figure
    # A mark before a figure, or last, stands for one; before a word it is a dash of the
    # text ("Q2 2006 — Q1 2010").
    kept = {id(w) for w in words}
    return [
        w
        for i, w in enumerate(row)
        if id(w) in kept or (i + 1 < len(row) and not _FIGURE.match(row[i + 1].text))
    ]


def _wide_in_rows(rows: list[list[Word]], gap: tuple[int, int], min_width: float) -> bool:
    """Whether a gap narrower than a gutter in all the rows together is one row by row:
    most rows have words either side of it, each with `min_width` of white between them,
    but for fewer than half with figures either side, set tighter, and a few whose long
    label runs up to a figure in line with the column's. (A column whose longest words
    reach past where the next column's widest start is such a gutter; a contents page's
    numbers indented by level, on rows of their own, are not.)"""
    across = tight = 0
    wide: list[Word] = []  # the first words right of the gap on rows with white enough
    labels: list[Word] = []  # figures a long label runs up to
    for row in rows:
        sides = _either_side(row, gap)
        if sides is None:
            continue
        across += 1
        last, first = sides
        if first.box.left - last.box.right >= min_width:
            wide.append(first)
        elif _NUMBER.match(last.text) and _NUMBER.match(first.text):
            tight += 1
        elif _NUMBER.match(first.text):
            labels.append(first)
        else:
            return False
    if labels and (
        len(labels) > _LONG_LABELS * across
        or not wide
        or not _in_line(labels, wide, 1.0, _FLUSH * statistics.median(w.box.height for w in wide))
    ):
        return False
    return 2 * across >= len(rows) and 2 * tight < len(rows)


def _in_line(words: list[Word], column: list[Word], share: float, slack: float) -> bool:
    """Whether `share` of `words` or more stand flush with, or centred as, most of `column`
    (its left edges, right edges or middles), within `slack` px."""
    if not words or not column:
        return False
    edges: list[Callable[[Word], float]] = [
        lambda w: w.box.left,
        lambda w: w.box.right,
        lambda w: w.box.center[0],
    ]
    for edge in edges:
        middle = statistics.median(edge(w) for w in column)
        if sum(abs(edge(w) - middle) <= slack for w in words) >= share * len(words):
            return True
    return False


def _over_columns(
    lines: list[list[Word]], head: int, gap: float, *, spanning: frozenset[int], ruled: bool
) -> set[int]:
    """The indices of the lines that stand over the columns, not in them: headings of words
    in `spanning` (ids), and, between rules, headings of groups of rows (`_sections`)."""
    over = {i for i, line in enumerate(lines) if all(id(w) in spanning for w in line)}
    return over | _sections(lines[head:], gap, offset=head) if ruled else over


def _sections(lines: list[list[Word]], gap: float, *, offset: int) -> set[int]:
    """The indices (from `offset`) of the lines that head a group of rows between rules: one
    phrase from the table's left edge between two rows of cells, where leaving such lines
    out opens gutters the other lines share ("Highest enrollment after bachelor's degree by
    2003" reaching over the first column of figures)."""
    if not lines:
        return set()
    left = min(line[0].box.left for line in lines)
    apart = [len(_phrases(line, gap)) > 1 for line in lines]  # rows of cells
    found = {
        i
        for i, line in enumerate(lines[1:-1], 1)
        if not apart[i] and apart[i - 1] and apart[i + 1] and line[0].box.left <= left + gap
    }
    rest = [line for i, line in enumerate(lines) if i not in found]
    if len(rest) < _MIN_ROWS or len(_gutters(rest, gap)) <= len(_gutters(lines, gap)):
        return set()
    return {offset + i for i in found}


def _aligned_figures(rows: list[list[Word]], gap: tuple[int, int], min_width: float) -> bool:
    """Whether a gap narrower than `min_width` parts two columns of figures set tight ("No.",
    "Rate" and "(95% CI)" a space apart): nearly every row with words near it has words
    either side of it, figures both but for a misread one (a figure on one side still),
    nearly all closer than `_CLOSE` gutters; most of each side's flush on one edge or
    centred, and those on the right no group of three digits (a thousands group set off by
    a space, "4 330", is one figure) nor a share in brackets ("38 (24.7%)" is one entry).
    A header's words set close in a wide gutter between figures ("2008-09 to 2015-16" over
    two columns) part no columns."""
    # A row with a mark in the gap ("=" read for a dash) holds an entry there: it tells
    # nothing of the columns either side.
    plain = [row for row in rows if not any(gap[0] < w.box.center[0] < gap[1] for w in row)]
    pairs = [sides for sides in (_either_side(row, gap) for row in plain) if sides is not None]
    # Rows with nothing near the gap (a group's heading, at the left) tell nothing either.
    reach = _CLOSE * min_width
    near = [
        row
        for row in plain
        if any(gap[0] - reach < w.box.right and w.box.left < gap[1] + reach for w in row)
    ]
    if len(pairs) < 2 or len(pairs) < _ALIGNED_ROWS * len(near):
        return False

    def figures(a: Word, b: Word) -> bool:
        return bool(_FIGURE.match(a.text) and _FIGURE.match(b.text))

    if not all(_FIGURE.match(a.text) or _FIGURE.match(b.text) for a, b in pairs):
        return False
    close = sum(b.box.left - a.box.right < _CLOSE * min_width for a, b in pairs)
    if close < _ALIGNED_ROWS * len(pairs):
        return False  # columns far apart but for a few lines' words in the white between
    kept = [(a, b) for a, b in pairs if figures(a, b)]  # a misread mark is no column's edge
    if len(kept) < (1 - _MISREAD_SHARE) * len(pairs):
        return False
    one_entry = sum(bool(_THOUSANDS.match(b.text) or _SHARE.match(b.text)) for _, b in kept)
    if 2 * one_entry >= len(kept):
        return False
    lefts, rights = [a for a, _ in kept], [b for _, b in kept]
    slack = _FLUSH * statistics.median(a.box.height for a in lefts)
    return _in_line(lefts, lefts, _ALIGNED_ROWS, slack) and _in_line(
        rights, rights, _ALIGNED_ROWS, slack
    )


def _by_gutters(
    words: list[Word],
    *,
    box: Box,
    strict: bool,
    scale: float,
    spanning: frozenset[int] = frozenset(),
    underlines: Sequence[tuple[int, int, int]] = (),
    bounds: Sequence[int] | None = None,
) -> _Table | None:
    """The words as a table whose columns are split by the gutters all their lines share,
    one row per line (a cell's continuation lines joined to its row); None unless it reads
    as a table. `strict` for words with no rules round them. The lines of words in
    `spanning` (ids) are headings over columns: they share no gutter, and span columns; a
    heading over one of `underlines` (rules as y, x0, x1) spans the columns it is drawn
    over. `bounds`, the columns' bounds left to right, are taken as given."""
    if len(words) < _MIN_ROWS or _preformatted(words):
        return None
    lines = _visual_rows(words)
    gap = _min_gutter(words, scale)
    # Between rules, a header may span columns; without them it would end the run of rows.
    head = 0 if strict else _header_lines(lines, gap)
    over = _over_columns(lines, head, gap, spanning=spanning, ruled=not strict)
    body_lines = [line for i, line in enumerate(lines) if i >= head and i not in over]
    columns = _column_bounds(body_lines, gap, box, bounds)
    if columns is None or len(body_lines) < (_MIN_ROWS if strict else 2):
        return None
    entries = _entries(body_lines, columns)
    headers = _headers(lines[:head], columns, gap, entries, underlines)
    rows = [(cells, words) for cells, _, words in headers]
    spans = [span for _, row_spans, _ in headers for span in row_spans]
    body = range(head, len(lines))
    for heading, run in itertools.groupby(body, key=lambda i: i in over):
        part = [lines[i] for i in run]
        if heading:
            for line in part:
                [(across, row_spans, _)] = _headers([line], columns, gap, entries)
                spans += [dataclasses.replace(s, row=len(rows)) for s in row_spans]
                rows.append((across, line))
        else:
            rows += _join_continuations([_split(line, columns) for line in part], part)
    if strict:
        kept = _without_prose_ends(rows)
        if not kept:
            return None  # every row reads as the end of a paragraph: prose, not a table
        if len(kept) < len(rows):
            # The end of a paragraph or a caption: the gutters are the rest's to say.
            rest = [w for _, line in kept for w in line]
            return _by_gutters(
                rest,
                box=union_all([w.box for w in rest]),
                strict=True,
                scale=scale,
                spanning=spanning,
            )
    cells = [cells for cells, _ in rows]
    contents = False
    if not _reads_as_table(cells, strict=strict):
        if not (strict and _reads_as_table(cells, strict=False)):
            return None
        contents = _contents(
            cells, [_numeric([row[c] for row in cells]) for c in range(len(cells[0]))]
        )
        if not contents:
            return None
    # Row boundaries halfway between one row's lowest ink and the next one's highest.
    bottoms = [max(w.box.bottom for w in line) for _, line in rows]
    tops = [min(w.box.top for w in line) for _, line in rows]
    bounds = [(a + b) // 2 for a, b in zip(bottoms[:-1], tops[1:], strict=True)]
    grid = Grid(box, (box.top, *bounds, box.bottom), tuple(columns), tuple(spans))
    return _Table(grid, cells, contents=contents)


def _column_bounds(
    lines: list[list[Word]], gap: float, box: Box, given: Sequence[int] | None
) -> list[int] | None:
    """The columns' bounds left to right: `given`, or halfway across the gutters the lines
    share, from the box's left to its right; None where they share none."""
    if given is not None:
        return list(given)
    gutters = _gutters(lines, gap)
    if not gutters:
        return None
    return [box.left, *((a + b) // 2 for a, b in gutters), box.right]


def _header_lines(lines: list[list[Word]], gap: float) -> int:
    """How many of the first lines are a header whose cells span columns: leaving them out
    opens gutters the lines below all share."""
    best, most = 0, len(_gutters(lines, gap))
    for head in range(1, min(_HEADER_LINES, len(lines) - 2) + 1):
        if head > 2 and any(_prose_phrase(p) for p in _phrases(lines[head - 1], gap)):
            break  # a header's lines beyond two hold cells of a few words, not prose
        below = len(_gutters(lines[head:], gap))
        if below > most:
            best, most = head, below
    # A heading set in the white between two columns ("Control" over "Public" and
    # "Private") parts their gutter in two, and so adds one: it is a header line too.
    while best < min(_HEADER_LINES, len(lines) - 2) and _in_gutters(
        lines[best], lines[best + 1 :], gap
    ):
        best += 1
    return best


def _prose_phrase(phrase: list[Word]) -> bool:
    """Whether a phrase reads as prose: many words, evenly spaced. Neighbouring cells of a
    header set close together read as one phrase too, but the white between two cells is
    wider than the spaces within each."""
    if len(phrase) < _PROSE_WORDS:
        return False
    spaces = [b.box.left - a.box.right for a, b in itertools.pairwise(phrase)]
    return max(spaces) <= _EVEN_SPACES * max(1.0, statistics.median(spaces))


def _in_gutters(line: list[Word], lines: list[list[Word]], gap: float) -> bool:
    """Whether every word of `line` stands in the white of a gutter `lines` share."""
    gutters = _gutters(lines, gap)
    return all(any(a < w.box.left and w.box.right < b for a, b in gutters) for w in line)


def _headers(
    lines: list[list[Word]],
    columns: list[int],
    gap: float,
    entries: list[tuple[int, int]],
    underlines: Sequence[tuple[int, int, int]] = (),
) -> list[tuple[list[list[Word]], list[Span], list[Word]]]:
    """Header lines as rows of cells, each with its spans and words: each run of words
    closer than a gutter is one cell, spanning the columns it reaches over. Lines whose
    cells each stand over one column are one row: a header's cells wrapped over lines
    ("Weighted school / participation rate / before substitution")."""
    rows: list[tuple[list[list[Word]], list[tuple[int, int]], list[Word]]] = []
    for line in lines:
        cells: list[list[Word]] = [[] for _ in range(len(columns) - 1)]
        wide = []
        for piece in _cell_phrases(line, columns, gap, entries):
            first, last = _columns_under(piece, columns, entries, underlines)
            cells[first].extend(piece)
            if last > first:
                wide.append((first, last))
        if rows and not wide and not rows[-1][1]:
            above, _, words = rows[-1]
            rows[-1] = ([a + b for a, b in zip(above, cells, strict=True)], [], words + line)
        else:
            rows.append((cells, wide, list(line)))
    return [
        (cells, [Span(r, first, 1, last - first + 1) for first, last in wide], words)
        for r, (cells, wide, words) in enumerate(rows)
    ]


def _cell_phrases(
    line: list[Word], columns: list[int], gap: float, entries: list[tuple[int, int]]
) -> list[list[Word]]:
    """A header line's phrases (`_phrases`), each that reaches over a column's edge parted
    where the white between its words is wider than its spaces: neighbouring cells of a
    header set closer than a gutter ("exclusion rate before substitution")."""
    pieces = []
    for phrase in _phrases(line, gap):
        spaces = [b.box.left - a.box.right for a, b in itertools.pairwise(phrase)]
        first, last = _columns_under(phrase, columns, entries)
        if len(spaces) < 2 or last == first:
            pieces.append(phrase)
            continue
        space = max(1.0, statistics.median_low(spaces))
        pieces.append([phrase[0]])
        for word, white in zip(phrase[1:], spaces, strict=True):
            if white > _EVEN_SPACES * space:
                pieces.append([])
            pieces[-1].append(word)
    return pieces


def _columns_under(
    words: list[Word],
    columns: list[int],
    entries: list[tuple[int, int]],
    underlines: Sequence[tuple[int, int, int]] = (),
) -> tuple[int, int]:
    """The first and last of the columns a run of words stands over: those whose entries'
    middle it covers (`entries`, each column's from its leftmost to its rightmost), or the
    rule drawn under it covers; else the one whose entries it stands nearest. A header cell
    wider than its column's figures reaches over the gutter beside them, not over the next
    column's."""
    left, right = words[0].box.left, max(w.box.right for w in words)
    rule = _underline(words, underlines)
    if rule is not None:
        left, right = min(left, rule[1]), max(right, rule[2])
    under = [c for c, (a, b) in enumerate(entries) if left <= (a + b) / 2 <= right]
    if under:
        return under[0], under[-1]
    nearest = min(
        range(len(entries)), key=lambda c: max(entries[c][0] - right, left - entries[c][1], 0)
    )
    return nearest, nearest


def _underline(
    words: list[Word], underlines: Sequence[tuple[int, int, int]]
) -> tuple[int, int, int] | None:
    """The rule drawn just under a run of words and across its middle, if any."""
    bottom = max(w.box.bottom for w in words)
    height = statistics.median(w.box.height for w in words)
    middle = (words[0].box.left + max(w.box.right for w in words)) / 2
    below = [
        rule
        for rule in underlines
        if bottom - height / 2 <= rule[0] <= bottom + _UNDERLINE_REACH * height
        and rule[1] <= middle <= rule[2]
    ]
    return min(below, default=None)


def _entries(lines: list[list[Word]], columns: list[int]) -> list[tuple[int, int]]:
    """Where each column's entries on the lines reach, left and right; the column itself
    where it has none."""
    split = [_split(line, columns) for line in lines]
    cells = [[w for row in split for w in row[c]] for c in range(len(columns) - 1)]
    return [
        (min(w.box.left for w in cell), max(w.box.right for w in cell))
        if cell
        else (columns[c], columns[c + 1])
        for c, cell in enumerate(cells)
    ]


def _phrases(line: list[Word], gap: float) -> list[list[Word]]:
    phrases = [[line[0]]]
    for word in line[1:]:
        if word.box.left - phrases[-1][-1].box.right >= gap:
            phrases.append([])
        phrases[-1].append(word)
    return phrases


def _without_prose_ends(
    rows: list[tuple[list[list[Word]], list[Word]]],
) -> list[tuple[list[list[Word]], list[Word]]]:
    """The rows without those at either end that are one cell of prose."""

    def prose(row: tuple[list[list[Word]], list[Word]]) -> bool:
        filled = [cell for cell in row[0] if cell]
        return len(filled) == 1 and len(filled[0]) >= _PROSE_WORDS

    start, end = 0, len(rows)
    while start < end and prose(rows[start]):
        start += 1
    while end > start and prose(rows[end - 1]):
        end -= 1
    return rows[start:end]


def _preformatted(words: list[Word]) -> bool:
    """Set in a fixed-pitch font: code or program output aligned by spaces, which reads as
    the code it is, not as a table. In a proportional font "ill" and "MWM" differ in width
    per character by far more than one pitch allows."""
    # Only words with letters count: figures are of one width in most proportional fonts,
    # so a column of numbers fits a pitch in any font.
    lettered = [w for w in words if len(w.text) >= 3 and any(ch.isalpha() for ch in w.text)]
    if len(lettered) < _PITCH_WORDS:
        return False
    advance = sum(w.box.width for w in lettered) / sum(len(w.text) - _BEARING for w in lettered)
    misses = [abs(w.box.width - advance * (len(w.text) - _BEARING)) for w in lettered]
    return statistics.fmean(misses) / advance <= _PITCH_MISFIT


def _split(line: list[Word], columns: list[int]) -> list[list[Word]]:
    cells: list[list[Word]] = [[] for _ in range(len(columns) - 1)]
    for word in line:
        c = min(max(bisect.bisect(columns, word.box.center[0]) - 1, 0), len(cells) - 1)
        cells[c].append(word)
    return cells


def _join_continuations(
    split: list[list[list[Word]]], lines: list[list[Word]]
) -> list[tuple[list[list[Word]], list[Word]]]:
    """Rows of cells, a line that only continues cells of the row above joined to it.

    A line continues the row above when its first column is empty and the row's is not, and
    it follows no further than lines usually do; or when it fills fewer cells than a full
    row and follows clearly closer than full rows follow one another (the cell's own
    line spacing, not the table's).
    """
    gaps = [_vertical_gap(a, b) for a, b in itertools.pairwise(lines)]
    usual = statistics.median(gaps) if gaps else 0
    filled = [sum(bool(cell) for cell in cells) for cells in split]
    full = [gaps[i - 1] for i in range(1, len(lines)) if filled[i] == max(filled)]
    row_gap = statistics.median(full) if full else usual
    rows: list[tuple[list[list[Word]], list[Word]]] = []
    for i, (cells, line) in enumerate(zip(split, lines, strict=True)):
        above = rows[-1][0] if rows else None
        continues = (
            above is not None
            and not _second_number(above, cells)
            and (
                (not cells[0] and bool(above[0]) and gaps[i - 1] <= usual)
                or (filled[i] < max(filled) and gaps[i - 1] < _CLOSER * row_gap)
            )
        )
        if above is not None and continues:
            rows[-1] = ([a + b for a, b in zip(above, cells, strict=True)], rows[-1][1] + line)
        else:
            rows.append((cells, line))
    return rows


def _second_number(above: list[list[Word]], cells: list[list[Word]]) -> bool:
    """Whether a line has a number where the row above has one: a number does not wrap
    onto a second line, so the line is a row of its own (the next entry of a table of
    contents, its number indented into the next column)."""
    return any(
        a and b and _NUMBER.match(_text(a)) and _NUMBER.match(_text(b))
        for a, b in zip(above, cells, strict=True)
    )


def _text(cell: list[Word]) -> str:
    return " ".join(w.text for w in cell)


def _reads_as_table(cells: Cells, *, strict: bool) -> bool:
    """Whether rows of cells are a table rather than prose columns, a list or contents."""
    count = len(cells[0])
    filled = [sum(bool(row[c]) for row in cells) for c in range(count)]
    if sum(f >= len(cells) / 2 for f in filled) < 2:
        return False
    if strict and len(cells) < _MIN_ROWS:
        return False
    first = [_text(row[0]) for row in cells if row[0]]
    if first and all(_ENUMERATOR.match(t) for t in first):
        return False  # a numbered or bulleted list with a hanging indent
    numeric = [_numeric([row[c] for row in cells]) for c in range(count)]
    if count == 2 and not numeric[1] and all(len(t) <= _MARKER_CHARS for t in first):
        return False  # the same, its numbers or bullets misread
    texts = [_text(cell) for row in cells for cell in row if cell]
    if any(_LEADERS.search(t) for t in texts):
        return False  # dot leaders: a table of contents
    if _code_aligned(cells):
        return False  # code aligned by spaces
    prose = sum(_prose([row[c] for row in cells]) for c in range(count))
    if prose >= 2:
        return False
    terms = count == 2 and _terms(cells)
    if (
        prose
        and count == 2
        and not any(numeric)
        and (strict or not _entry_per_line(cells))
        and not terms
    ):
        return False  # a side head beside its paragraph
    # Two columns of words and no rules are as often a page's two columns of short lines
    # as a table; figures tell a table, and so do terms beside their meanings.
    if strict and count == 2 and not any(numeric) and not terms:
        return False
    return not (strict and _contents(cells, numeric))


def _entry_per_line(cells: Cells) -> bool:
    """Whether nearly every line of the table starts with an entry of its own: terms and
    their meanings between a table's rules, each meaning a line. A side head stands beside
    a paragraph of several lines."""
    lines = sum(len(_visual_rows([w for cell in row for w in cell])) for row in cells)
    entries = sum(bool(row[0]) for row in cells)
    return entries >= _MIN_ROWS and entries >= _ENTRY_SHARE * lines


def _terms(cells: Cells) -> bool:
    """Whether two columns are terms of a few words beside their meanings, each one line,
    the meanings mostly longer: a list of options or operators and what they do. A page's
    two columns are lines of prose side by side; a side head stands beside a paragraph; a
    label that ends in a colon runs in to its line (a table's notes: "Source: Eurostat")."""
    if len(cells) < _MIN_ROWS:
        return False
    for term, meaning in cells:
        if not term or not meaning or _words_of(term) > _TERM_WORDS:
            return False
        if term[-1].text.endswith(":"):
            return False
        if len(_visual_rows(term)) > 1 or len(_visual_rows(meaning)) > 1:
            return False
    longer = sum(_words_of(meaning) > _words_of(term) for term, meaning in cells)
    return 2 * longer >= len(cells)


def _words_of(cell: list[Word]) -> int:
    """The cell's words with a letter or a figure: a stray mark read in the white beside it
    ("|", "—") is none."""
    return sum(any(ch.isalnum() for ch in w.text) for w in cell)


def _code_aligned(cells: Cells) -> bool:
    """Whether the cells hold code aligned by spaces: signs of code in many of them, many of
    more than one column's or of the last's (its comments). A column of commands or macro
    names before the words that explain them is a table, a sign in a meaning or two too."""
    count = len(cells[0])
    filled = [sum(bool(row[c]) for row in cells) for c in range(count)]
    marked = [
        sum(bool(row[c]) and _code_signs(_text(row[c])) for row in cells) for c in range(count)
    ]
    columns = {c for c in range(count) if marked[c] >= _CODE_SHARE * filled[c] > 0}
    return sum(marked) >= _CODE_SHARE * sum(filled) and (len(columns) > 1 or count - 1 in columns)


def _code_signs(text: str) -> bool:
    """Whether a cell holds signs of code; a macro's name alone ("\\kilogram") names it, as
    a command's name does, in a table of names and what they stand for."""
    return bool(_CODE_SIGNS.search(text)) and not _MACRO.fullmatch(text)


def _numeric(column: list[list[Word]]) -> bool:
    texts = [_text(cell).replace(" ", "") for cell in column if cell]
    return bool(texts) and sum(bool(_NUMBER.match(t)) for t in texts) >= 0.6 * len(texts)


def _prose(column: list[list[Word]]) -> bool:
    lines = [line for cell in column if cell for line in _visual_rows(cell)]
    return bool(lines) and sum(len(line) >= _PROSE_WORDS for line in lines) >= len(lines) / 2


def _page_number(text: str) -> bool:
    """Whether a cell reads as a page number: ASCII digits, since str.isdigit() also takes
    "①" and "²", which int() refuses, and a run of them int() can read."""
    return text.isascii() and text.isdigit() and len(text) <= _PAGE_DIGITS


def _contents(cells: Cells, numeric: list[bool]) -> bool:
    """A table of contents: entries, then page numbers that only go up; or entries that
    most of them lead to their page with dots (a page number read as "i" or "S")."""
    led = sum(any(leaders.leader_dots(cell) for cell in row[:-1]) for row in cells)
    if 2 * led >= len(cells):
        return True
    pages = [_text(row[-1]) for row in cells if row[-1]]
    if len(pages) < len(cells) - 1 or not all(_page_number(p) for p in pages):
        return False
    values = [int(p) for p in pages]
    # A misread page number ("715" for "75") may step back once in a while.
    descents = sum(b < a for a, b in itertools.pairwise(values))
    return descents <= _MISREAD_SHARE * len(values) and not all(numeric)
