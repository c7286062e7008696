"""Tesseract TSV to wire-format pages."""

from __future__ import annotations

from ocr_engine.layout import build_page, parse_tsv
from ocr_engine.options import PageOptions


def _row(block: int, par: int, line: int, word: int, box: tuple[int, int, int, int],
         conf: float, text: str) -> str:
    return "\t".join(map(str, (5, 1, block, par, line, word, *box, conf, text)))


TSV = "\n".join([
    "1\t1\t0\t0\t0\t0\t0\t0\t1000\t800\t-1\t",  # page row, no text
    _row(1, 1, 1, 1, (10, 10, 100, 30), 96.0, "Quarterly"),
    _row(1, 1, 1, 2, (120, 10, 80, 30), 90.0, "exam-"),
    _row(1, 1, 2, 1, (10, 50, 60, 30), 80.0, "ination"),
    _row(1, 1, 2, 2, (80, 50, 60, 30), 70.0, "results"),
    _row(1, 2, 1, 1, (10, 120, 90, 30), 50.0, "Second"),
    _row(1, 2, 1, 2, (110, 120, 40, 30), -1, " "),  # blank word rows are dropped
    _row(2, 1, 1, 1, (500, 400, 90, 40), 100.0, "Well-known"),
    _row(2, 1, 2, 1, (500, 450, 90, 40), 100.0, "Tail"),
])


def _page(**options: object) -> dict:
    return build_page(parse_tsv(TSV), index=4, width=1000, height=800, dpi=300,
                      options=PageOptions(**options))  # type: ignore[arg-type]


def test_paragraphs_lines_and_hyphenation() -> None:
    page = _page()
    assert page["markdown"] == (
        "Quarterly examination results\n\nSecond\n\nWell-known Tail\n")
    assert page["index"] == 4
    assert page["dimensions"] == {"dpi": 300, "height": 800, "width": 1000}
    assert page["images"] == [] and page["tables"] == []
    assert page["confidence_scores"] is None and page["blocks"] is None


def test_word_scores_point_into_the_markdown() -> None:
    page = _page(confidence="word")
    markdown = page["markdown"]
    words = page["confidence_scores"]["word_confidence_scores"]
    assert [w["text"] for w in words] == [
        "Quarterly", "exam-", "ination", "results", "Second", "Well-known", "Tail"]
    for word in words:
        start = word["start_index"]
        assert markdown[start:start + len(word["text"].rstrip("-"))] == word["text"].rstrip("-")
    assert words[0]["confidence"] == 0.96
    scores = page["confidence_scores"]
    assert scores["minimum_page_confidence_score"] == 0.5
    assert abs(scores["average_page_confidence_score"] - 586 / 700) < 1e-3


def test_page_scores_without_words() -> None:
    page = _page(confidence="page")
    assert "word_confidence_scores" not in page["confidence_scores"]
    empty = build_page([], index=0, width=10, height=10, dpi=72,
                       options=PageOptions(confidence="page"))
    assert empty["markdown"] == ""
    assert empty["confidence_scores"]["average_page_confidence_score"] == 0.0


def test_blocks_have_boxes_content_and_scores() -> None:
    blocks = _page(include_blocks=True)["blocks"]
    assert [b["type"] for b in blocks] == ["text", "text", "text"]
    first = blocks[0]
    assert first["content"] == "Quarterly examination results"
    assert (first["top_left_x"], first["top_left_y"]) == (10, 10)
    assert (first["bottom_right_x"], first["bottom_right_y"]) == (200, 80)
    assert first["confidence_scores"] == {"average_content_confidence_score": 0.84,
                                          "minimum_content_confidence_score": 0.7}
