"""The accuracy harness's pure parts: normalisation, CER and WER, and the targets' verdicts."""

from __future__ import annotations

from pathlib import Path

import pytest

from tools.eval import (
    ClassScore,
    Document,
    Errors,
    PageComparison,
    Reading,
    cer,
    char_errors,
    normalise,
    target_text_layer,
    target_turned,
    target_upright,
    wer,
    word_errors,
)


def test_normalise_collapses_whitespace() -> None:
    assert normalise("  one\ttwo\n\nthree \f four  ") == "one two three four"


def test_normalise_joins_a_hyphen_at_a_line_end() -> None:
    assert normalise("an exam-\nple of hyphen-\n  ation") == "an example of hyphenation"


def test_normalise_keeps_a_hyphen_inside_a_line() -> None:
    assert normalise("royalty-free and non-\nexclusive") == "royalty-free and nonexclusive"


def test_normalise_strips_headings_and_bullets_not_enumerators() -> None:
    markdown = "# Title\n\n## Part 2\n\n- first\n* second\n12. third\n"
    assert normalise(markdown) == "Title Part 2 first second 12. third"


def test_normalise_keeps_numbers_and_hashes_inside_lines() -> None:
    assert normalise("Section 4. applies to item #2 - see 3. below") == (
        "Section 4. applies to item #2 - see 3. below"
    )


def test_normalise_reads_a_markdown_table_as_cells_row_by_row() -> None:
    table = "| Term | Code |\n|---|:---:|\n| Single | E-811 |\n"
    assert normalise(table) == "Term Code Single E-811"


def test_normalise_drops_placeholders_and_html() -> None:
    markdown = (
        "Above.\n\n![img-0.jpeg](img-0.jpeg)\n\n[tbl-0.md](tbl-0.md)\n\n"
        "<table><tr><td>A &amp; B</td></tr></table> <b>bold</b> **strong**"
    )
    assert normalise(markdown) == "Above. A & B bold strong"


def test_normalise_unescapes_before_stripping_markers() -> None:
    assert normalise("\\- item and 3\\. and \\#hash") == "item and 3. and #hash"


def test_normalise_folds_ligatures_and_typographic_quotes() -> None:
    assert normalise("“ﬁle” isn’t a ‘word’ — ok") == "\"file\" isn't a 'word' - ok"


def test_cer_counts_character_edits_against_the_truth_length() -> None:
    assert cer("abc", "abc") == 0.0
    assert cer("abd", "abc") == pytest.approx(1 / 3)
    assert cer("", "abcd") == 1.0
    assert char_errors("ab cd", "abcd") == Errors(1, 4)


def test_cer_ignores_markup_and_layout() -> None:
    assert cer("# Heading\n\nsome long-\nword here", "Heading some longword\nhere") == 0.0


def test_wer_counts_word_edits() -> None:
    assert wer("the quick brown fox", "the quick brown fox") == 0.0
    assert wer("the quack brown", "the quick brown fox") == pytest.approx(2 / 4)
    assert word_errors("a b c", "a x c") == Errors(1, 3)


def test_errors_add_up_and_an_empty_truth_is_all_or_nothing() -> None:
    assert Errors(1, 10) + Errors(3, 30) == Errors(4, 40)
    assert (Errors(1, 10) + Errors(3, 30)).rate == pytest.approx(0.1)
    assert Errors(0, 0).rate == 0.0
    assert Errors(5, 0).rate == 1.0


def _score(cls: str, tessera: Errors, cli: Errors) -> ClassScore:
    return ClassScore(cls, 1, 1, tessera, cli, tessera, cli, 1.0, 1.0)


def test_upright_target_needs_both_rates_no_worse() -> None:
    better = {"upright": _score("upright", Errors(1, 100), Errors(2, 100))}
    worse = {"upright": _score("upright", Errors(3, 100), Errors(2, 100))}
    assert target_upright(better).met is True
    assert target_upright(worse).met is False
    assert target_upright({}).met is None


def test_turned_target_allows_one_point_above_upright() -> None:
    upright = _score("upright", Errors(10, 1000), Errors(10, 1000))
    near = {c: _score(c, Errors(19, 1000), Errors(0, 1000)) for c in ("rot90", "rot180", "rot270")}
    far = {**near, "rot180": _score("rot180", Errors(21, 1000), Errors(0, 1000))}
    assert target_turned({"upright": upright, **near}).met is True
    assert target_turned({"upright": upright, **far}).met is False
    assert target_turned({"upright": upright, "rot90": near["rot90"]}).met is False


def _page(text: str, source: str | None, auto_s: float, force_s: float) -> PageComparison:
    doc = Document("born", "born_digital", Path("born.pdf"), ("The exact text.",))
    return PageComparison(
        doc, 0, Reading(text, auto_s, (source,)), Reading("The exact text.", force_s, ("ocr",))
    )


def test_text_layer_target_needs_the_layer_exact_text_and_speed() -> None:
    assert target_text_layer([_page("The exact text.", "text_layer", 0.01, 1.0)]).met is True
    assert target_text_layer([_page("The exact text.", None, 0.01, 1.0)]).met is False
    assert target_text_layer([_page("The exact test.", "text_layer", 0.01, 1.0)]).met is False
    assert target_text_layer([_page("The exact text.", "text_layer", 0.05, 1.0)]).met is False
    assert target_text_layer([]).met is None
