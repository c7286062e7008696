"""Words to structure to wire-format pages: the pure parts, on hand-made words and pixels."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from PIL import Image, ImageDraw

from ocr_engine import structure, tasks
from ocr_engine.deskew import skew_angle
from ocr_engine.model import CODE, FOOTER, HEADER, IMAGE, LIST, TEXT, TITLE, Page
from ocr_engine.options import PageOptions
from ocr_engine.regions import Grid, coarse, find_figures, find_grids
from ocr_engine.render.mistral import kept_figures, page_json
from ocr_engine.structure import (
    Item,
    classify,
    drop_inside,
    group_lines,
    reading_order,
)
from ocr_engine.tables import fill
from ocr_engine.words import Box, Line, Paragraph, Word, boxed_as_line, fit_to_ink, parse_tsv
from tools import corpus

PAGE_W, PAGE_H = 2550, 3300


def _row(
    block: int, par: int, line: int, box: tuple[int, int, int, int], conf: float, text: str
) -> str:
    return "\t".join(map(str, (5, 1, block, par, line, 1, *box, conf, text)))


def test_parse_tsv_groups_words_and_drops_blanks() -> None:
    tsv = "\n".join(
        [
            "1\t1\t0\t0\t0\t0\t0\t0\t1000\t800\t-1\t",
            _row(1, 1, 1, (10, 10, 100, 30), 96.0, "Quarterly"),
            _row(1, 1, 1, (120, 10, 80, 30), 90.0, "report"),
            _row(1, 1, 2, (10, 50, 60, 30), 80.0, "second"),
            _row(1, 2, 1, (10, 120, 90, 30), -1, " "),
            _row(2, 1, 1, (500, 400, 90, 40), 100.0, "Tail"),
        ]
    )
    paragraphs = parse_tsv(tsv)
    assert [[line.text for line in p.lines] for p in paragraphs] == [
        ["Quarterly report", "second"],
        ["Tail"],
    ]
    first = paragraphs[0].lines[0].words[0]
    assert first.confidence == 0.96 and first.box == Box(10, 10, 110, 40)


def line(
    text: str, left: int, top: int, *, size: int = 40, conf: float = 0.9, gap: int | None = None
) -> Line:
    """A line of words laid out left to right, each letter `size * 0.5` wide."""
    words, x = [], left
    for token in text.split():
        width = max(1, int(len(token) * size * 0.5))
        words.append(Word(token, conf, Box(x, top, x + width, top + size)))
        x += width + (gap or size // 2)
    return Line(words)


def column(lines: list[str], left: int, top: int, *, size: int = 40, pitch: int = 56) -> list[Line]:
    return [line(text, left, top + i * pitch, size=size) for i, text in enumerate(lines)]


def _prose(n: int, width: int = 60) -> list[str]:
    words = [
        "lorem",
        "ipsum",
        "dolor",
        "sit",
        "amet",
        "consectetur",
        "adipiscing",
        "elit",
        "sed",
        "do",
        "eiusmod",
        "tempor",
        "incididunt",
        "ut",
        "labore",
        "et",
        "dolore",
    ]
    out, current = [], ""
    i = 0
    while len(out) < n:
        token = words[i % len(words)]
        i += 1
        if len(current) + len(token) + 1 > width:
            out.append(current)
            current = token
        else:
            current = f"{current} {token}".strip()
    return out


def test_group_lines_breaks_at_spacing_short_lines_and_size() -> None:
    body = _prose(4)
    lines = [
        *column(body[:3], 300, 400),
        line("short end.", 300, 400 + 3 * 56),  # the paragraph's short last line, a sentence ended
        *column(body[:2], 300, 400 + 4 * 56),  # next paragraph, same spacing
        line("Big heading", 300, 800, size=80),  # a size change
        *column(body[:2], 300, 920),
        *column(body[:2], 300, 920 + 2 * 56 + 60),  # a wider gap
    ]
    paragraphs = group_lines(lines)
    assert [len(p.lines) for p in paragraphs] == [4, 2, 1, 2, 2]


def test_classify_titles_lists_headers_and_footers() -> None:
    body = [Paragraph(column(_prose(6), 300, 1000 + i * 500)) for i in range(3)]
    title = Paragraph([line("Annual Results", 300, 500, size=90)])
    subtitle = Paragraph([line("Outlook", 300, 800, size=62)])
    bullets = Paragraph([line("• Opened plants", 300, 2600), line("• Hired staff", 300, 2656)])
    numbered = Paragraph([line("1. First step", 300, 2800)])
    header = Paragraph([line("ACME Corporation Report", 300, 100, size=30)])
    footer = Paragraph([line("Page 3 of 9", 1200, 3150, size=30)])
    items = classify(
        [header, title, subtitle, *body, bullets, numbered, footer], page_height=PAGE_H
    )
    kinds = [(i.kind, i.level) for i in items]
    assert kinds == [
        (HEADER, 0),
        (TITLE, 1),
        (TITLE, 2),
        (TEXT, 0),
        (TEXT, 0),
        (TEXT, 0),
        (LIST, 0),
        (LIST, 0),
        (FOOTER, 0),
    ]


def test_a_title_of_two_lines_at_the_top_of_a_page_is_no_running_head() -> None:
    # A product sheet's title in large type, two lines close together at the page's top:
    # the second's capitals reach up into the first's descenders. Neither is the page's
    # first line alone, so neither is a running head set apart from the body.
    first = Paragraph([line("The LinnSequencer", 880, 130, size=88)])
    second = Paragraph([line("Track MIDI Sequence Recorder", 580, 212, size=88)])
    body = [Paragraph(column(_prose(4), 340, 380 + i * 300)) for i in range(3)]
    items = classify([first, second, *body], page_height=PAGE_H)
    assert [(i.kind, i.level) for i in items] == [(TITLE, 1), (TEXT, 0), (TEXT, 0), (TEXT, 0)]
    assert items[0].paragraph is not None and len(items[0].paragraph.lines) == 2
    # A running head in the margin, set apart, beside a logo that reaches a little above it.
    head = Paragraph([line("Hot topics", 1100, 60, size=40)])
    logo = Paragraph([line("europe", 2000, 40, size=50)])
    items = classify([head, logo, *body], page_height=PAGE_H)
    assert [i.kind for i in items][:2] == [HEADER, HEADER]


def _items(*boxes: tuple[int, int, int, int]) -> list[Item]:
    return [Item(TEXT, Box(*b)) for b in boxes]


def _piece(left: int, top: int, *texts: str, height: int = 70) -> Line:
    """A line of words 40 px wide each with 20 px between them, from `left`."""
    words = [
        Word(text, 0.9, Box(left + 60 * k, top, left + 60 * k + 40, top + height))
        for k, text in enumerate(texts)
    ]
    return Line(words)


def test_a_title_cut_inside_a_word_is_one_line_again() -> None:
    # Tesseract's layout found a column's edge between the kerned "o" and "f" of a title in
    # large type: "Table o" and "f Contents", four pixels apart on one baseline.
    first, second = _piece(240, 238, "Table", "o"), _piece(344, 236, "f", "Contents")
    body = _piece(240, 375, "Our", "Team", "Story", height=35)
    joined = structure.join_cut_words([first, body, second])
    assert [line.text for line in joined] == ["Table of Contents", "Our Team Story"]
    # A word's space apart, lines of another size, figures, or a gutter: left as they are.
    for apart in (
        [_piece(240, 238, "Table", "of"), _piece(364, 238, "Contents")],
        [_piece(240, 238, "Table", "o"), _piece(344, 238, "f", "Contents", height=35)],
        [_piece(240, 238, "Page", "1"), _piece(344, 238, "2", "more")],
        [_piece(240, 238, "left", "column"), _piece(500, 238, "right", "column")],
    ):
        assert structure.join_cut_words(apart) == apart


def test_a_list_of_commands_cut_by_a_column_s_edge_is_read_again_whole() -> None:
    # A paragraph set in from a list of commands made Tesseract find a column's edge
    # through the commands: "dvilualate:" (the x's half read as a colon) and "x-dev", and
    # "uplatex-de" beside its "v", as high as the letters' core, read "Vv".
    def read_as(text: str, left: int, top: int, right: int, bottom: int) -> Line:
        return Line([Word(text, 0.9, Box(left, top, right, bottom))])

    first, rest = (
        read_as("dvilualate:", 376, 2503, 610, 2531),
        read_as("x-dev", 613, 2503, 732, 2531),
    )
    upla, vee = read_as("uplatex-de", 376, 2778, 612, 2817), read_as("Vv", 615, 2787, 636, 2806)
    asked: list[Box] = []

    def reread(box: Box) -> list[Line]:
        asked.append(box)
        text = "dvilualatex-dev" if box.top < 2600 else "uplatex-dev"
        return [Line([Word(text, 0.9, box)])]

    joined = structure.join_cut_words([first, upla, rest, vee], reread)
    assert [line.text for line in joined] == ["dvilualatex-dev", "uplatex-dev"]
    assert asked[0].left < first.box.left and asked[0].right > rest.box.right
    # Without a reader, the pieces are glued; a piece of many letters in smaller type, or
    # one starting with a figure, is no piece of the line.
    glued = structure.join_cut_words([upla, vee])
    assert [line.text for line in glued] == ["uplatex-deVv"]
    small = read_as("version", 615, 2787, 760, 2806)
    figure = read_as("2019", 615, 2778, 700, 2817)
    for apart in ([upla, small], [upla, figure]):
        assert structure.join_cut_words(apart, reread) == apart


def test_reading_order_follows_columns() -> None:
    title, left_a, right, left_b, full = _items(
        (300, 200, 2200, 300),  # full-width title
        (300, 400, 1200, 1000),  # left column, first paragraph
        (1350, 400, 2200, 1000),  # right column, as tall
        (300, 1050, 1200, 1200),  # left column continues below the right's end
        (300, 1400, 2200, 1600),  # full width again
    )
    ordered = reading_order([full, left_b, right, title, left_a], dpi=300)
    assert ordered == [title, left_a, left_b, right, full]


def test_columns_are_read_in_turn_above_a_slug_and_beside_a_margin_stamp() -> None:
    # A Federal Register page: three columns, a printer's slug across the foot, and a stamp
    # printed up the left margin beside the columns' last lines. The slug leaves no gap
    # down the page and the stamp none across it.
    a1, a2, b1, b2, c1, c2 = _items(
        (190, 250, 885, 870),
        (190, 880, 885, 3087),
        (925, 250, 1624, 1150),
        (925, 1160, 1624, 3087),
        (1663, 250, 2360, 1030),
        (1663, 1040, 2360, 3087),
    )
    slug, stamp = _items((104, 3198, 1876, 3224), (76, 2781, 96, 3226))
    ordered = reading_order([c2, slug, b1, a2, stamp, c1, a1, b2], dpi=300)
    assert ordered == [a1, a2, b1, b2, c1, c2, slug, stamp]


def test_columns_are_read_in_turn_above_a_table_that_reaches_into_them_by_a_pixel() -> None:
    a1, a2, b1, b2, table, notes = _items(
        (190, 250, 880, 1200),
        (190, 1210, 880, 2619),
        (925, 250, 1620, 1100),
        (925, 1110, 1620, 2600),
        (190, 2618, 2340, 2770),
        (190, 2800, 2360, 3080),
    )
    ordered = reading_order([table, b2, a2, notes, b1, a1], dpi=300)
    assert ordered == [a1, a2, b1, b2, table, notes]


def test_columns_are_read_in_turn_above_figures_that_straddle_the_gutter() -> None:
    # A handbook page: two columns whose paragraphs happen to end level with each other
    # (a gap across the page), then each column goes on down to drawings that straddle
    # the gutter, so that below that gap no cut runs down the page.
    a1 = _lines_item(TEXT, 300, 1290, list(range(180, 1500, 60)))
    b1 = _lines_item(TEXT, 1337, 2325, list(range(180, 1450, 60)))
    a2 = _lines_item(TEXT, 300, 1290, list(range(1597, 2120, 60)))
    b2 = _lines_item(TITLE, 1337, 1610, [1546])
    b3 = _lines_item(TEXT, 1337, 2325, [1605, 1665])
    drawing, figure, caption = _items(
        (1672, 1820, 2547, 2290), (846, 2260, 1421, 2530), (300, 2930, 760, 2970)
    )
    for item in (drawing, figure):
        item.kind = IMAGE
    ordered = reading_order([figure, b3, a2, caption, b1, drawing, a1, b2], dpi=300)
    assert ordered == [a1, a2, b1, b2, b3, drawing, figure, caption]


def test_a_figure_over_a_column_s_last_lines_does_not_interleave_the_columns() -> None:
    # A figure's outline reaches up over the last two lines of the left column: the upper
    # of the two overlapping boxes is the one whose middle is higher, and the cycle that a
    # top edge alone made (line before the next column, that column before the figure, the
    # figure before the line) no longer reads the columns line by line in turn.
    left = _items(*((300, 100 + 60 * k, 1200, 150 + 60 * k) for k in range(20)))
    right = _items(*((1300, 100 + 60 * k, 2200, 150 + 60 * k) for k in range(20)))
    [figure] = _items((800, 1190, 1800, 1600))
    figure.kind = IMAGE
    ordered = reading_order([figure, *right, *left], dpi=300)
    assert ordered == [*left, *right, figure]


def test_boxes_that_overlap_make_no_cycle_that_interleaves_the_columns() -> None:
    # No cut divides these: a figure straddles the first two columns' gutter and its
    # outline reaches up over the first column's last two lines. By top edges alone those
    # lines came after the figure, the figure after the second column, and that column
    # after them: a cycle, broken by position, read the columns line by line in turn.
    columns = [
        _items(*((100 + 800 * c, 100 + 30 * k, 800 + 800 * c, 125 + 30 * k) for k in range(10)))
        for c in range(3)
    ]
    [figure] = _items((500, 360, 1700, 600))
    figure.kind = IMAGE
    first, second, third = columns
    ordered = structure._in_column_order([figure, *third, *second, *first])
    assert ordered == [*first, *second, figure, *third]


def test_side_heads_are_read_with_the_paragraphs_they_name() -> None:
    # A margin of labels, each level with the first line of its paragraph, as a class's
    # documentation or a manual's option list sets them: label, paragraph, label, paragraph.
    label_a, body_a, code_a, label_b, body_b, label_c, body_c = _items(
        (300, 500, 560, 540),
        (650, 500, 2200, 640),
        (650, 660, 1800, 760),
        (350, 800, 560, 840),
        (650, 800, 2200, 900),
        (320, 950, 560, 990),
        (650, 950, 2200, 1150),
    )
    items = [body_c, label_a, code_a, body_b, label_c, body_a, label_b]
    ordered = reading_order(items, dpi=300)
    assert ordered == [label_a, body_a, code_a, label_b, body_b, label_c, body_c]


def test_blocks_one_wholly_above_the_other_are_read_top_to_bottom() -> None:
    # A chapter's opening page: its number set at the right, its title at the left under
    # it, a paragraph at the left under that. Nothing stands side by side, so no column is
    # read before what stands above it.
    number, title, body = _items(
        (1850, 500, 2250, 620),
        (300, 800, 800, 880),
        (300, 1000, 1200, 1400),
    )
    assert reading_order([body, title, number], dpi=300) == [number, title, body]
    # Side by side for part of their height, the two are columns, left first.
    left, right = _items((300, 800, 1200, 1400), (1850, 500, 2250, 900))
    assert reading_order([right, left], dpi=300) == [left, right]


def _lines_item(kind: str, left: int, right: int, tops: list[int]) -> Item:
    """An item of one-word lines 40 px tall at `tops`."""
    lines = [Line([Word("x", 0.9, Box(left, top, right, top + 40))]) for top in tops]
    paragraph = Paragraph(lines)
    return Item(kind, paragraph.box, paragraph=paragraph)


def test_a_heading_under_a_column_heads_the_section_that_runs_across_the_page() -> None:
    # A product sheet (the LinnSequencer flyer): two columns end level, then a heading set
    # at the left, under the left column, and a list that runs across the page under it.
    # The heading falls within the left column, but it is the list's, not that column's.
    a = _lines_item(TEXT, 346, 1228, list(range(1340, 2242, 55)))
    b = _lines_item(TEXT, 1296, 2216, list(range(1288, 2242, 55)))
    heading = _lines_item(TITLE, 346, 705, [2294])
    bullets = _lines_item(LIST, 346, 2170, [2343, 2398, 2453])
    ordered = reading_order([bullets, heading, b, a], dpi=300)
    assert ordered == [a, b, heading, bullets]
    # A heading ending a column whose section goes on under it in that column stays.
    tail = _lines_item(TEXT, 346, 1228, [2343, 2398])
    ordered = reading_order([tail, heading, b, a], dpi=300)
    assert ordered == [a, heading, tail, b]


def test_a_side_head_level_with_a_line_inside_a_listing_is_read_beside_it() -> None:
    # A dtx page: a macro's name in the margin stands level with the line of the listing
    # where its definition starts, the listing having begun with the last macro's end.
    listing = _lines_item(CODE, 650, 2000, [500, 560, 620, 680, 740])
    paragraph = _lines_item(TEXT, 650, 2200, [900, 960])
    second = _lines_item(CODE, 650, 2000, [1040, 1100, 1160])
    label_a = _lines_item(CODE, 300, 560, [620])
    label_b = _lines_item(CODE, 300, 560, [900])
    ordered = reading_order([label_a, label_b, listing, paragraph, second], dpi=300)
    assert ordered == [label_a, listing, label_b, paragraph, second]


def test_reading_order_puts_headers_first_and_footers_last() -> None:
    body, head, foot = _items((300, 400, 2200, 600), (300, 50, 900, 90), (1200, 3200, 1300, 3240))
    head.kind, foot.kind = HEADER, FOOTER
    assert reading_order([foot, body, head], dpi=300) == [head, body, foot]


def test_pieces_of_a_running_head_are_read_left_to_right() -> None:
    # "CHAPTER 5. SOFTWARE ...    5.11. WHERE IS A PLAYER FOR FLASH (SWF)?": the right
    # piece's parentheses reach higher than the left piece's capitals.
    left, right, below = _items((300, 160, 1100, 200), (1250, 154, 2200, 204), (300, 230, 900, 260))
    for item in (left, right, below):
        item.kind = HEADER
    assert reading_order([below, right, left], dpi=300) == [left, right, below]


def _page(items: list[Item], **options: Any) -> dict[str, Any]:
    page = Page(2, PAGE_W, PAGE_H, 300, "ocr", "eng", [item.block() for item in items])
    chosen = PageOptions(**options)
    if chosen.include_image_base64:
        for block in kept_figures(page.blocks, chosen):
            block.image = f"data:image/jpeg;base64,{block.box.width}"
    return page_json(page, chosen)


def _text(kind: str, *lines: Line, level: int = 0) -> Item:
    paragraph = Paragraph(list(lines))
    return Item(kind, paragraph.box, paragraph=paragraph, level=level)


def _table() -> Item:
    grid = Grid(Box(300, 1000, 1500, 1200), rows=(1000, 1100, 1200), columns=(300, 900, 1500))
    words = [
        line("Region", 320, 1020),
        line("Sales", 920, 1020),
        line("North", 320, 1120),
        line("12|0", 920, 1120),
    ]
    _, [table] = fill([Paragraph(words)], [grid])
    return table


def _document() -> list[Item]:
    return [
        _text(HEADER, line("ACME Report", 300, 50)),
        _text(TITLE, line("Annual Results", 300, 200, size=90), level=1),
        _text(TEXT, line("Revenue grew in every re-", 300, 400), line("gion this year.", 300, 456)),
        _text(LIST, line("• First item", 300, 600), line("• Second item", 300, 656)),
        _text(LIST, line("3. Third item", 300, 712)),
        _table(),
        Item(IMAGE, Box(300, 1300, 900, 1700)),
        Item(IMAGE, Box(1000, 1300, 1040, 1340)),
        _text(FOOTER, line("Page 3", 1200, 3200)),
    ]


def test_markdown_of_a_structured_page() -> None:
    page = _page(_document())
    assert page["markdown"] == (
        "ACME Report\n\n"
        "# Annual Results\n\n"
        "Revenue grew in every region this year.\n\n"
        "- First item\n- Second item\n3. Third item\n\n"
        "| Region | Sales |\n|---|---|\n| North | 12\\|0 |\n\n"
        "![img-0.jpeg](img-0.jpeg)\n\n![img-1.jpeg](img-1.jpeg)\n\n"
        "Page 3\n"
    )
    assert page["index"] == 2 and page["source"] == "ocr"
    assert page["dimensions"] == {"dpi": 300, "height": PAGE_H, "width": PAGE_W}
    assert page["header"] is None and page["footer"] is None
    assert page["tables"] == []
    assert [i["id"] for i in page["images"]] == ["img-0.jpeg", "img-1.jpeg"]
    assert "image_base64" not in page["images"][0]
    assert page["confidence_scores"] is None and page["blocks"] is None


def test_items_indented_under_an_item_are_a_nested_list() -> None:
    # Bullets, dashes indented under them (read as em dashes), a numbered list's sub-item,
    # and the outer list going on; each item its own paragraph, as lines with a marker are.
    items = [
        _text(LIST, line("• The shell splits a line", 300, 600)),
        _text(LIST, line("— Whitespace: space tab", 360, 656)),
        _text(LIST, line("— Metacharacters: | ; &", 360, 712)),
        _text(LIST, line("• It expands aliases", 300, 768)),
        _text(TEXT, line("Then it runs the command.", 300, 900)),
        _text(LIST, line("10. Read the line", 300, 1000)),
        _text(LIST, line("a) split it", 380, 1056)),
        _text(LIST, line("11. Run it", 300, 1112)),
    ]
    assert _page(items)["markdown"] == (
        "- The shell splits a line\n"
        "  - Whitespace: space tab\n"
        "  - Metacharacters: | ; &\n"
        "- It expands aliases\n\n"
        "Then it runs the command.\n\n"
        "10. Read the line\n"
        "    - a) split it\n"
        "11. Run it\n"
    )


def test_a_list_set_in_two_columns_is_one_list_not_nested() -> None:
    # A list of packages set in two columns: the second column's items stand right of the
    # first's, but start again at the top, beside them; a sub-item starts under its item.
    items = [
        _text(LIST, line("— the class book;", 300, 600)),
        _text(LIST, line("— subfig;", 300, 656)),
        _text(LIST, line("— graphicx;", 300, 712)),
        _text(LIST, line("— xcolor;", 1300, 600)),
        _text(LIST, line("— multicol;", 1300, 656)),
        _text(LIST, line("— its options", 1360, 712)),
    ]
    assert _page(items)["markdown"] == (
        "- the class book;\n- subfig;\n- graphicx;\n- xcolor;\n- multicol;\n  - its options\n"
    )


def test_tables_images_headers_and_footers_on_request() -> None:
    page = _page(
        _document(),
        table_format="html",
        include_image_base64=True,
        image_limit=1,
        image_min_size=100,
        extract_header=True,
        extract_footer=True,
    )
    assert page["header"] == "ACME Report" and page["footer"] == "Page 3"
    assert "ACME Report" not in page["markdown"] and "Page 3" not in page["markdown"]
    assert page["markdown"].startswith("# Annual Results\n\n")
    assert "[tbl-0.html](tbl-0.html)" in page["markdown"]
    [table] = page["tables"]
    assert table == {
        "id": "tbl-0.html",
        "format": "html",
        "content": "<table><tr><td>Region</td><td>Sales</td></tr>"
        "<tr><td>North</td><td>12|0</td></tr></table>",
    }
    [image] = page["images"]
    assert image["image_base64"] == "data:image/jpeg;base64,600"
    assert (image["top_left_x"], image["bottom_right_y"]) == (300, 1700)
    markdown_table = _page(_document(), table_format="markdown")["tables"][0]
    assert markdown_table["id"] == "tbl-0.md"
    assert markdown_table["content"] == "| Region | Sales |\n|---|---|\n| North | 12\\|0 |"


def test_blocks_and_word_offsets() -> None:
    page = _page(_document(), include_blocks=True, confidence="word", table_format="markdown")
    types = [b["type"] for b in page["blocks"]]
    assert types == ["header", "title", "text", "list", "list", "table", "image", "image", "footer"]
    table_block = page["blocks"][5]
    assert table_block["table_id"] == "tbl-0.md"
    assert page["blocks"][6]["image_id"] == "img-0.jpeg"
    assert page["blocks"][1]["content"] == "# Annual Results"
    assert page["blocks"][1]["confidence_scores"]["average_content_confidence_score"] == 0.9
    markdown = page["markdown"]
    for word in page["confidence_scores"]["word_confidence_scores"]:
        start = word["start_index"]
        text = word["text"].rstrip("-")
        assert markdown[start : start + len(text)] == text, word


def test_empty_page() -> None:
    page = page_json(Page(0, 10, 10, 72, "ocr", "eng"), PageOptions(confidence="page"))
    assert page["markdown"] == ""
    assert page["confidence_scores"]["average_page_confidence_score"] == 0.0


def _drawn(draw_on: Any) -> Image.Image:
    image = Image.new("L", (PAGE_W, PAGE_H), 255)
    draw_on(ImageDraw.Draw(image))
    return image


def test_find_grids_reads_rows_and_columns() -> None:
    def table(draw: ImageDraw.ImageDraw) -> None:
        for y in (600, 700, 800, 900):
            draw.line((300, y, 1800, y), fill=0, width=4)
        for x in (300, 800, 1800):
            draw.line((x, 600, x, 900), fill=0, width=4)
        draw.line((300, 2000, 1800, 2000), fill=0, width=4)  # a lone rule is no table

    gray, factor = coarse(_drawn(table), 300)
    [grid] = find_grids(gray, factor)
    assert len(grid.rows) == 4 and len(grid.columns) == 3
    assert abs(grid.box.left - 300) <= 6 and abs(grid.box.bottom - 900) <= 6
    assert len(grid.cells()) == 3 and len(grid.cells()[0]) == 2


def test_find_figures_skips_words_and_specks() -> None:
    image = _drawn(lambda d: d.rectangle((1400, 100, 1420, 120), fill=0))  # a speck
    image.paste(corpus.photo(900, 600).convert("L"), (300, 1200))
    text = corpus.text_image(["words are not pictures"], font_size=60)
    image.paste(text, (300, 300))
    word_box = Box(300, 300, 300 + text.width, 300 + text.height)
    gray, factor = coarse(image, 300)
    [figure] = find_figures(gray, factor, exclude=[word_box], min_size=0)
    assert abs(figure.left - 300) <= 16 and abs(figure.right - 1200) <= 16
    assert abs(figure.top - 1200) <= 16 and abs(figure.bottom - 1800) <= 16
    assert find_figures(gray, factor, exclude=[word_box], min_size=1000) == []


def _words_line(left: int, top: int, *texts: str, confidence: float = 0.95) -> Line:
    """One line of words 40 px tall, each 150 px wide with 20 px between them."""
    return Line(
        [
            Word(text, confidence, Box(left + 170 * i, top, left + 170 * i + 150, top + 40))
            for i, text in enumerate(texts)
        ]
    )


def test_text_beside_a_figure_inside_its_outline_is_kept_and_speckle_is_not() -> None:
    # A report's cover: a globe with a swoosh round it, whose outline takes in the authors'
    # names set flush right beside it, and a bullet's last word under the swoosh's start.
    figure = Box(770, 1300, 2420, 2760)
    names = [_words_line(2100, 2400 + 60 * i, "Jim", "Denton") for i in range(3)]
    bullet = _words_line(300, 1460, "Leverage", "row", "permissions", "on")  # "on" at 810
    tick = _words_line(650, 1600, "100", "+")  # a scale's figure, a tick mark past the edge
    speckle = _words_line(1200, 1800, "ee", "Lo", confidence=0.4)
    legend = _words_line(1000, 2000, "Excellent", "Unrated")  # a chart's key, mid-figure
    paragraphs = [Paragraph([line]) for line in [*names, bullet, tick, speckle, legend]]
    kept = [line.text for p in drop_inside(paragraphs, [figure]) for line in p.lines]
    assert kept == ["Jim Denton"] * 3 + ["Leverage row permissions on", "100"]


def test_a_drop_cap_beside_a_drawing_stays_with_its_line() -> None:
    # A novel's chapter opens with a drop cap ("We" of "We went tip-toeing") beside a
    # drawing whose outline takes it in; it is read less surely than the body's type. A
    # word a space from the line's words outside is text; one read as poorly as speckle,
    # or farther off inside the drawing, is not.
    figure = Box(100, 60, 800, 1600)
    line = _words_line(640, 400, "We", "went", "tip-toeing", "along")  # "We" at 640-790
    line.words[0].confidence = 0.75
    kept = [ln.text for p in drop_inside([Paragraph([line])], [figure]) for ln in p.lines]
    assert kept == ["We went tip-toeing along"]
    line.words[0].confidence = 0.4
    kept = [ln.text for p in drop_inside([Paragraph([line])], [figure]) for ln in p.lines]
    assert kept == ["went tip-toeing along"]
    far = _words_line(300, 400, "We", "xx", "went", "tip-toeing", "along")  # "We" at 300
    far.words[0].confidence = 0.75
    far.words[1].confidence = 0.3
    kept = [ln.text for p in drop_inside([Paragraph([far])], [figure]) for ln in p.lines]
    assert kept == ["went tip-toeing along"]


def test_a_framed_listing_under_its_title_bar_is_no_figure() -> None:
    # A tcolorbox: a dark title bar across the top, a thin frame round a line of code read
    # as words (blanked) and a comment read with no confidence (left as ink); beside it, a
    # photo. Bar, frame and comment fill as much of the box as a picture fills its own.
    def listing(draw: ImageDraw.ImageDraw) -> None:
        draw.rectangle((300, 300, 2200, 400), fill=60)
        draw.rectangle((300, 300, 2200, 640), outline=60, width=6)
        for i in range(3):
            draw.text((1240, 430 + 50 * i), "% comment read with no confidence", fill=0)

    image = _drawn(listing)
    code = corpus.text_image(["\\usepackage{build}"], font_size=40)
    image.paste(code, (340, 440))
    image.paste(corpus.photo(900, 600).convert("L"), (300, 1200))
    words = Box(340, 440, 340 + code.width, 440 + code.height)
    gray, factor = coarse(image, 300)
    [figure] = find_figures(gray, factor, exclude=[words], min_size=0)
    assert abs(figure.top - 1200) <= 16 and abs(figure.left - 300) <= 16


def test_skew_angle() -> None:
    page = corpus.text_image(_prose(30, 70), font_size=36)
    assert skew_angle(page, 300) == 0.0
    for angle in (2.0, -3.5):
        skewed = page.rotate(angle, expand=True, fillcolor=255)
        assert abs(skew_angle(skewed, 300) + angle) <= 0.2
    assert skew_angle(Image.new("L", (400, 400), 255), 300) == 0.0
    assert np.asarray(page).shape == (page.height, page.width)


@pytest.mark.parametrize(
    "lines",
    [
        ["Hello Tessera world", "Second line here"],
        ["Invoice 2041 total 318.40"],
        [f"a snippet of text, line {i}" for i in range(4)],
    ],
)
def test_a_small_level_image_is_left_level_and_a_skewed_one_found(lines: list[str]) -> None:
    """A snippet or a screenshot (no declared DPI, so taken for 300 dpi) is measured at a
    resolution its few lines survive: no false degree, and a real one still found."""
    snippet = corpus.text_image(lines)
    assert skew_angle(snippet, 300) == 0.0
    skewed = snippet.rotate(2.0, expand=True, fillcolor=255)
    assert abs(skew_angle(skewed, 300) + 2.0) <= 0.3


def _nothing(box: Box, **_: object) -> list[Line]:
    """A page's reader that finds nothing to read again."""
    return []


def test_words_boxed_as_their_line_are_fitted_to_their_ink() -> None:
    # A blurred scan of a novel: Tesseract boxes most words of one line as the line, "there"
    # ending as low as the "g" of "king" and lower still, 72 px tall where its neighbours'
    # lines are 44. Taken for a change of type size, it cut the paragraph in three.
    gray = np.full((500, 1400), 255, dtype=np.uint8)
    texts = ["there", "were", "a", "king", "with", "a", "large", "jaw"]
    words = []
    for i, text in enumerate(texts):
        left = 120 + 150 * i
        low = 575 - 400 if set(text) & set("gjpqy") else 560 - 400
        top = 138 if text == "a" else 116
        gray[top:low, left : left + 100] = 0
        shared = text not in ("a", "jaw")
        box = Box(left, 116, left + 100, 188) if shared else Box(left, top, left + 100, low)
        words.append(Word(text, 0.96, box))
    line = Line(words)
    assert boxed_as_line(line)
    image = Image.fromarray(gray)
    coarse = (gray, 1.0)
    [fitted] = tasks._marked_lines(image, gray, [Paragraph([line])], _nothing, _nothing, coarse)
    assert [w.box.bottom for w in fitted.words] == [160, 160, 160, 175, 160, 160, 175, 175]
    assert fitted.height < 1.4 * 44
    # Boxed to their own ink, words end where their letters do: no line box among them.
    assert not boxed_as_line(fitted)
    crisp = Line([Word(t, 0.9, Box(0, 0, 10, 40 if t == "the" else 48)) for t in ["the"] * 5])
    assert not boxed_as_line(crisp)  # alike, but none reaches below the line


def test_a_word_given_its_line_s_height_is_fitted_to_its_ink() -> None:
    # "Nimmerland" read in one line with a logo twice its size: Tesseract gives it the
    # logo's height, reaching up to the descenders of the line above.
    gray = np.full((400, 600), 255, dtype=np.uint8)
    gray[100:104, 50:300] = 0  # the line above's descenders
    gray[140:178, 50:300] = 0  # the word's own ink, 38 px
    gray[132:136, 60:70] = 0  # an accent, close over it
    word = Word("Nimmerländ", 0.9, Box(50, 96, 300, 180))
    line = fit_to_ink(Line([word]), gray)
    assert line.words[0].box == Box(50, 132, 300, 178)
    assert line.height == 46


def test_labels_over_a_table_are_its_head_not_titles() -> None:
    # A report's table whose column groups are labelled in large type above it: "Race"
    # over "American Indian", "Black" and "White", over the table's own first row. The
    # section's title set just over the second table, at its left edge, stays a title.
    body = [Paragraph(column(_prose(6), 300, 400)), Paragraph(column(_prose(6), 300, 3000))]
    caption = Paragraph([line("Table 4. Deaths by age group and race in the States", 300, 1240)])
    race = Paragraph([line("Race", 1150, 1340, size=62)])
    groups = [
        Paragraph([line(t, x, 1420, size=62)])
        for t, x in (("American Indian", 500), ("Black", 1200), ("White", 1800))
    ]
    results = Paragraph([line("Results", 300, 2500, size=62)])
    tables = [Box(300, 1500, 2200, 2400), Box(300, 2580, 2200, 2900)]
    paragraphs = [body[0], caption, race, *groups, results, body[1]]

    def kinds(found: list[Item]) -> dict[str, str]:
        return {i.paragraph.lines[0].text: i.kind for i in found if i.paragraph is not None}

    alone = kinds(classify(paragraphs, page_height=PAGE_H))
    assert [alone[t] for t in ("Race", "American Indian", "Black", "White", "Results")] == [
        TITLE
    ] * 5
    found = kinds(classify(paragraphs, page_height=PAGE_H, tables=tables))
    assert [found[t] for t in ("Race", "American Indian", "Black", "White")] == [TEXT] * 4
    assert found["Results"] == TITLE
    assert found[caption.lines[0].text] == TEXT
    # The labels read as one line, set apart; "Race" a little higher over them.
    row = Paragraph(
        [line("American Indian Asian Islander Black White", 400, 1420, size=62, gap=130)]
    )
    race = Paragraph([line("Race", 1150, 1290, size=62)])
    assert classify([body[0], caption, race, row], page_height=PAGE_H)[2].kind == TITLE
    found = kinds(classify([body[0], caption, race, row], page_height=PAGE_H, tables=tables))
    assert found["Race"] == TEXT


def test_a_title_alone_over_a_table_stays_a_title() -> None:
    # "Greenhouse gases" centred over its table of thresholds names it: no labels beside.
    body = Paragraph(column(_prose(6), 300, 400))
    title = Paragraph([line("Greenhouse gases", 1000, 1400, size=62)])
    found = classify([body, title], page_height=PAGE_H, tables=[Box(500, 1480, 2000, 2400)])
    assert [i.kind for i in found] == [TEXT, TITLE]
    # A section's heading at the table's left edge, level with its columns' labels.
    heading = Paragraph([line("World Production Capacity", 300, 1400, size=62)])
    labels = [Paragraph([line(t, x, 1400, size=62)]) for t, x in (("Fused", 1300), ("Sic", 1900))]
    found = classify(
        [body, heading, *labels], page_height=PAGE_H, tables=[Box(300, 1480, 2200, 2400)]
    )
    assert [i.kind for i in found] == [TEXT, TITLE, TEXT, TEXT]


def test_a_list_item_s_dash_is_no_measure_of_its_line_s_size() -> None:
    # "— pBendLine": the dash's box is two pixels high, and with the 80th percentile of two
    # words' heights taken as the line's, the line was two pixels high; a page of such
    # items measured its body text that small, and read its other lines as headings.
    item = Line([Word("—", 0.9, Box(0, 20, 24, 22)), Word("pBendLine", 0.9, Box(34, 0, 220, 35))])
    assert item.height == 35
    leader = Line([Word("Intro", 0.9, Box(0, 0, 80, 30)), Word(".....", 0.9, Box(90, 26, 200, 30))])
    assert leader.height == 30
    assert Line([Word("—", 0.9, Box(0, 20, 24, 22))]).height == 2
