"""Layout on arbitrary pages: whatever words and rules a page holds, the structure functions
return blocks and the renderers write them, without raising.

The pages are random (seeded): columns, sizes, gaps, overlaps, rule glyphs, code, numbers,
enumerators and stray rules, the kinds of input the heuristics branch on; a listing read
again gives back random lines of its region.
"""

from __future__ import annotations

import functools
import random
from collections.abc import Sequence

import numpy as np
import pytest

from ocr_engine import listings, monospace, regions, structure
from ocr_engine.model import OCR, Page
from ocr_engine.options import PageOptions
from ocr_engine.render import text as plain_text
from ocr_engine.render.mistral import page_json
from ocr_engine.tables import find_tables
from ocr_engine.words import Box, Line, Word, mark_bold

WIDTH, HEIGHT = 2550, 3300
VOCABULARY = [
    "the",
    "a",
    "Total",
    "1,234",
    "|",
    "I",
    "-",
    "—",
    "#include",
    "<stdio.h>",
    "x=1;",
    "{",
    "}",
    "def",
    "foo()",
    "12.",
    "•",
    "Chapter",
    "3.1",
    "Page",
    "8",
    "of",
    "11",
    "machine-",
    "encoded",
    "(1)",
    "$",
    "%",
    "A",
    "[",
    "]",
    "_",
    "l",
]


def random_lines(rng: random.Random) -> list[Line]:
    lines: list[Line] = []
    columns = rng.choice([1, 1, 2, 3])
    width = WIDTH // columns
    y = rng.randint(0, 200)
    wanted = rng.randint(1, 120)
    while y < HEIGHT - 50 and len(lines) < wanted:
        height = rng.choice([20, 30, 40, 60, 90, rng.randint(2, 150)])
        for column in range(columns):
            x = column * width + rng.randint(0, 300)
            words = []
            for _ in range(rng.randint(1, 12)):
                text = rng.choice(VOCABULARY)
                w = max(1, int(len(text) * height * rng.uniform(0.3, 0.7)))
                if x + w > (column + 1) * width:
                    break
                bottom = y + height + rng.randint(-5, 5)
                words.append(Word(text, rng.random(), Box(x, y, x + w, bottom)))
                x += w + rng.randint(0, 3 * height)
            if words:
                lines.append(Line(words))
        y += height + rng.randint(-10, 3 * height)
    return lines


def random_rules(rng: random.Random) -> regions.Rules:
    def rule(across: int, along: int) -> tuple[int, int, int]:
        start = rng.randint(0, along)
        return rng.randint(0, across), start, start + rng.randint(1, 2000)

    return regions.Rules(
        [rule(HEIGHT, WIDTH) for _ in range(rng.randint(0, 12))],
        [rule(WIDTH, HEIGHT) for _ in range(rng.randint(0, 12))],
    )


def _lines_in(box: Box, rng: random.Random, blank: Sequence[Box] = ()) -> list[Line]:
    """What a second reading of a region might give: a few random lines inside it."""
    return [
        line.moved(box.left, box.top)
        for line in random_lines(rng)[: rng.randint(0, 4)]
        if line.box.right <= box.width and line.box.bottom <= box.height
    ]


@pytest.mark.parametrize("seed", range(0, 200, 20))
@pytest.mark.parametrize("layer", [False, True])
def test_any_page_is_laid_out_and_written(seed: int, layer: bool) -> None:
    for case in range(seed, seed + 20):
        rng = random.Random(case)
        lines = structure.drop_noise(random_lines(rng))
        monospace.mark_measured(lines)
        if rng.random() < 0.5:  # runs of code, which random words seldom measure as
            for line in lines:
                if rng.random() < 0.6:
                    for word in line.words:
                        word.monospace = True
        lines = listings.rejoin_margin_column(lines)
        lines = structure.split_at_gaps(lines, page_height=HEIGHT)
        mark_bold(lines, np.full((HEIGHT, WIDTH), 255, np.uint8))
        lines = listings.reread_listings(lines, functools.partial(_lines_in, rng=rng))
        code, paragraphs = structure.split_code(structure.group_lines(lines))
        paragraphs, code, tables = find_tables(
            paragraphs, random_rules(rng), dpi=100, code=code, layer=layer
        )
        items = [*structure.classify([*paragraphs, *code], page_height=HEIGHT), *tables]
        page = Page(0, WIDTH, HEIGHT, 300, OCR, "eng")
        page.blocks = [item.block() for item in structure.reading_order(items, dpi=100)]
        words_in = sum(len(line.words) for line in lines)
        assert len(page.words) <= words_in
        full = PageOptions(table_format="html", confidence="word", include_blocks=True)
        assert isinstance(page_json(page, full)["markdown"], str)
        assert isinstance(page_json(page, PageOptions())["markdown"], str)
        assert isinstance(plain_text.page_text(page), str)
