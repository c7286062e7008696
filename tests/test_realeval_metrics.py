"""The real-document evaluation's pure parts: code lines, headings and table cells."""

from __future__ import annotations

from tools.eval import normalise
from tools.realcorpus import whole_characters
from tools.realeval import (
    CORPUS,
    cells_placed,
    fenced_lines,
    grid,
    heading_matches,
    lines_kept,
    load,
    markdown_headings,
    without_fences,
)

MARKDOWN = """# 1 Introduction

Some prose with `code`.

```
> x <- c(1, 2)
>   mean(x)
```

## 1.1 \\#include files
"""


def test_fenced_lines_are_those_between_fences() -> None:
    assert fenced_lines(MARKDOWN) == ["> x <- c(1, 2)", ">   mean(x)"]
    assert "```" not in without_fences(MARKDOWN)


def test_a_line_is_kept_whole_once_whatever_its_inner_spacing() -> None:
    truth = [">   mean(x)", "> x <- c(1, 2)", "> x <- c(1, 2)"]
    assert lines_kept(truth, fenced_lines(MARKDOWN)) == 2
    assert lines_kept(["> mean(x) extra"], fenced_lines(MARKDOWN)) == 0


def test_headings_are_read_outside_code_and_unescaped() -> None:
    assert markdown_headings(MARKDOWN) == ["1 Introduction", "1.1 #include files"]


def test_headings_match_one_to_one_by_similarity() -> None:
    found = ["1 Introduction", "1 Introduction", "Figure 3"]
    assert heading_matches(found, ["1 Introductlon", "2 Scope"]) == 1


def test_spans_are_laid_out_in_the_grid() -> None:
    table = (
        "<table><tr><td colspan='2'>Head</td><td rowspan='2'>Side</td></tr>"
        "<tr><td>a</td><td>b<br>c</td></tr></table>"
    )
    assert grid(table) == {(0, 0): "Head", (0, 2): "Side", (1, 0): "a", (1, 1): "b c"}


def test_cells_count_at_the_best_shift_of_the_whole_table() -> None:
    truth = [
        {"row": 0, "col": 0, "text": "Name"},
        {"row": 0, "col": 1, "text": "Total"},
        {"row": 1, "col": 0, "text": "Salaries"},
        {"row": 1, "col": 1, "text": "1,314,000"},
        {"row": 1, "col": 2, "text": ""},
    ]
    # A title row read into the table pushes every row down by one.
    shifted = (
        "<table><tr><td>Sample</td><td></td></tr><tr><td>Name</td><td>Total</td></tr>"
        "<tr><td>Salaries</td><td>1,314,00</td></tr></table>"
    )
    assert cells_placed(truth, [shifted]) == 4
    assert cells_placed(truth, []) == 0


def test_text_like_a_tag_in_a_code_sample_is_kept() -> None:
    assert normalise("data: <A and B\n> t.test(A, B)") == "data: <A and B > t.test(A, B)"


def test_the_committed_corpus_loads_with_every_kind_of_truth() -> None:
    entries = load(CORPUS)
    assert {e.cls for e in entries} == {"manual", "noisy", "table", "reference"}
    assert all(e.pdf.exists() and e.truth["text"] for e in entries)
    assert sum(len(e.truth["mono_lines"]) for e in entries if e.cls == "manual") >= 139
    assert sum(len(e.truth["headings"]) for e in entries) >= 20
    tables = [t for e in entries for t in e.truth["tables"]]
    assert {t["ruled"] for t in tables} == {True, False}
    # The reference pages' bold lines bound headings but are not all headings to find.
    reference = [e for e in entries if e.cls == "reference"]
    assert len(reference) >= 30 and all(not e.truth["headings"] for e in reference)
    assert sum(bool(e.truth["heading_like"]) for e in reference) >= 20


def test_a_character_beyond_the_basic_plane_is_one_character_of_the_truth() -> None:
    # PDFium gives "𝔸" as its two UTF-16 halves, one character index each.
    halves = "The set " + chr(0xD835) + chr(0xDD38) + " of all points"
    assert whole_characters(halves) == "The set \U0001d538 of all points"
    assert whole_characters("lone " + chr(0xD835)) == "lone \ufffd"
