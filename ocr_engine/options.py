"""What a caller asks of one OCR run, independent of how the request arrived."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import DocumentTooLarge, InvalidRequest

_MAX_RANGE = 100_000
_RANGE = re.compile(r"^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$")


@dataclass(frozen=True)
class PageOptions:
    """The per-page output options; small and picklable, it travels to the workers."""

    confidence: str | None = None  # None | "page" | "word" | "block"
    include_blocks: bool = False
    include_image_base64: bool = False
    image_limit: int | None = None
    image_min_size: int | None = None
    table_format: str | None = None  # None | "markdown" | "html"
    extract_header: bool = False
    extract_footer: bool = False
    mode: str = "auto"  # "auto" | "force" (always OCR) | "text_layer" (never OCR a PDF page)


@dataclass(frozen=True)
class OCROptions:
    """One OCR run: languages, pages and output options."""

    languages: str = "eng"
    pages: tuple[int, ...] | None = None  # 0-based; None means every page
    page: PageOptions = PageOptions()


def parse_pages(value: list[int] | str | None, *, param: str = "pages") -> tuple[int, ...] | None:
    """Parse a page selection: a list of 0-based indices, or a string such as "0,2-4"."""
    if value is None:
        return None
    if isinstance(value, str):
        indices: list[int] = []
        for part in value.split(","):
            if not part.strip():
                continue
            match = _RANGE.match(part)
            if match is None:
                raise InvalidRequest(
                    f"'{part.strip()}' is not a page or a range; write pages as \"0,2-4\" "
                    "(0-based, no negative numbers).", param=param)
            first = int(match.group(1))
            last = int(match.group(2)) if match.group(2) is not None else first
            if last < first:
                raise InvalidRequest(f"The range '{part.strip()}' ends before it starts.",
                                     param=param)
            if last - first >= _MAX_RANGE:
                raise InvalidRequest(f"The range '{part.strip()}' is longer than any document.",
                                     param=param)
            indices.extend(range(first, last + 1))
    else:
        indices = list(value)
        for index in indices:
            if index < 0:
                raise InvalidRequest(f"Page indices are 0-based and cannot be negative ({index}).",
                                     param=param)
    if not indices:
        raise InvalidRequest("The page selection is empty.", param=param)
    return tuple(sorted(set(indices)))


def select_pages(requested: tuple[int, ...] | None, page_count: int, *,
                 max_pages: int) -> list[int]:
    """The pages to read from a document of `page_count` pages, checked against the limits."""
    if page_count == 0:
        raise InvalidRequest("The document has no pages.", param="document")
    if requested is None:
        selected = list(range(page_count))
    else:
        missing = [p for p in requested if p >= page_count]
        if missing:
            raise InvalidRequest(
                f"Page {missing[0]} does not exist: the document has {page_count} page(s), "
                f"numbered 0 to {page_count - 1}.", param="pages")
        selected = list(requested)
    if len(selected) > max_pages:
        raise DocumentTooLarge(
            f"The request selects {len(selected)} pages; the limit is {max_pages}. "
            "Select fewer with 'pages'.", param="pages")
    return selected
