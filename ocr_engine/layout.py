"""Tesseract's TSV to the page of the wire format: Markdown, blocks, confidence scores.

Pure functions over plain data; the worker calls them right after recognition.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .options import PageOptions

_WORD_LEVEL = 5
_TSV_COLUMNS = 12


@dataclass(frozen=True, slots=True)
class Box:
    left: int
    top: int
    right: int
    bottom: int

    def union(self, other: Box) -> Box:
        return Box(min(self.left, other.left), min(self.top, other.top),
                   max(self.right, other.right), max(self.bottom, other.bottom))

    def as_corners(self) -> dict[str, int]:
        return {"top_left_x": self.left, "top_left_y": self.top,
                "bottom_right_x": self.right, "bottom_right_y": self.bottom}


@dataclass(slots=True)
class Word:
    text: str
    confidence: float  # 0..1
    box: Box


@dataclass(slots=True)
class Line:
    words: list[Word] = field(default_factory=list)


@dataclass(slots=True)
class Paragraph:
    lines: list[Line] = field(default_factory=list)

    @property
    def words(self) -> list[Word]:
        return [w for line in self.lines for w in line.words]

    @property
    def box(self) -> Box:
        words = self.words
        box = words[0].box
        for word in words[1:]:
            box = box.union(word.box)
        return box


def parse_tsv(tsv: str) -> list[Paragraph]:
    """Group TSV word rows into paragraphs and lines, in Tesseract's reading order."""
    paragraphs: dict[tuple[int, int, int], Paragraph] = {}
    lines: dict[tuple[int, int, int, int], Line] = {}
    for row in tsv.splitlines():
        cols = row.split("\t")
        if len(cols) < _TSV_COLUMNS or cols[0] != str(_WORD_LEVEL):
            continue
        text = cols[11].strip()
        if not text:
            continue
        page, block, par, line = (int(c) for c in cols[1:5])
        left, top, width, height = (int(c) for c in cols[6:10])
        confidence = max(0.0, min(1.0, float(cols[10]) / 100.0))
        word = Word(text, confidence, Box(left, top, left + width, top + height))
        paragraph = paragraphs.get((page, block, par))
        if paragraph is None:
            paragraph = paragraphs[(page, block, par)] = Paragraph()
        key = (page, block, par, line)
        if key not in lines:
            lines[key] = Line()
            paragraph.lines.append(lines[key])
        lines[key].words.append(word)
    return list(paragraphs.values())


class _MarkdownWriter:
    """Accumulates Markdown and remembers where each word starts in it."""

    def __init__(self) -> None:
        self._parts: list[str] = []
        self._length = 0
        self.word_starts: list[tuple[Word, int]] = []

    def write(self, text: str) -> None:
        self._parts.append(text)
        self._length += len(text)

    def word(self, word: Word, text: str) -> None:
        self.word_starts.append((word, self._length))
        self.write(text)

    def paragraph(self, paragraph: Paragraph) -> str:
        """Write one paragraph, its lines joined; returns the paragraph's text."""
        first_part = len(self._parts)
        previous: str | None = None
        for line in paragraph.lines:
            for i, word in enumerate(line.words):
                if previous is not None:
                    if i == 0 and _joins_hyphenated(previous, word.text):
                        # "exam-" + "ple": drop the hyphen the line break put there.
                        self._parts[-1] = self._parts[-1][:-1]
                        self._length -= 1
                    else:
                        self.write(" ")
                self.word(word, word.text)
                previous = word.text
        return "".join(self._parts[first_part:])

    def text(self) -> str:
        return "".join(self._parts)


def _joins_hyphenated(previous: str, following: str) -> bool:
    return (len(previous) > 2 and previous.endswith("-") and previous[-2].isalpha()
            and following[:1].islower())


def _scores(words: list[Word]) -> tuple[float, float]:
    if not words:
        return 0.0, 0.0
    values = [w.confidence for w in words]
    return round(sum(values) / len(values), 4), round(min(values), 4)


def build_page(paragraphs: list[Paragraph], *, index: int, width: int, height: int, dpi: int,
               options: PageOptions) -> dict[str, Any]:
    """The wire-format page for recognised paragraphs."""
    writer = _MarkdownWriter()
    blocks: list[dict[str, Any]] = []
    for paragraph in paragraphs:
        if blocks:
            writer.write("\n\n")
        content = writer.paragraph(paragraph)
        average, minimum = _scores(paragraph.words)
        blocks.append({
            "type": "text",
            **paragraph.box.as_corners(),
            "content": content,
            "confidence_scores": {"average_content_confidence_score": average,
                                  "minimum_content_confidence_score": minimum},
        })
    markdown = writer.text()
    if markdown:
        markdown += "\n"

    page: dict[str, Any] = {
        "index": index,
        "markdown": markdown,
        "images": [],
        "tables": [],
        "header": None,
        "footer": None,
        "dimensions": {"dpi": dpi, "height": height, "width": width},
        "confidence_scores": None,
        "blocks": blocks if options.include_blocks else None,
    }
    if options.confidence is not None:
        average, minimum = _scores([w for w, _ in writer.word_starts])
        scores: dict[str, Any] = {"average_page_confidence_score": average,
                                  "minimum_page_confidence_score": minimum}
        if options.confidence == "word":
            scores["word_confidence_scores"] = [
                {"text": w.text, "confidence": round(w.confidence, 4), "start_index": start}
                for w, start in writer.word_starts
            ]
        page["confidence_scores"] = scores
    return page
