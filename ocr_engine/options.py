"""What a caller asks of one OCR run, independent of how the request arrived."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from .errors import DocumentTooLarge, InvalidRequest

# No document has this many pages: an index past it is a mistake, not a page. Selections are
# kept as ranges, so even the widest one costs a few integers, never a list of every index.
MAX_PAGE_INDEX = 1_000_000
# Parts of a selection string or entries of a list; a JSON body cannot hold more usefully.
_MAX_PARTS = 10_000
_RANGE = re.compile(r"^\s*(\d{1,12})\s*(?:-\s*(\d{1,12})\s*)?$", re.ASCII)


@dataclass(frozen=True)
class PageSelection:
    """0-based pages as sorted, disjoint, half-open ranges [first, end)."""

    ranges: tuple[tuple[int, int], ...]

    @classmethod
    def of(cls, indices: Iterable[int]) -> PageSelection:
        """The selection of these page indices."""
        return cls(_merge((i, i + 1) for i in indices))

    @property
    def last(self) -> int:
        return self.ranges[-1][1] - 1

    def __len__(self) -> int:
        return sum(end - first for first, end in self.ranges)

    def __iter__(self) -> Iterator[int]:
        for first, end in self.ranges:
            yield from range(first, end)


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
    pages: PageSelection | None = None  # None means every page
    page: PageOptions = PageOptions()


def parse_pages(value: list[int] | str | None, *, param: str = "pages") -> PageSelection | None:
    """Parse a page selection: a list of 0-based indices, or a string such as "0,2-4"."""
    if value is None:
        return None
    if isinstance(value, str):
        ranges = _parse_ranges(value, param)
    else:
        if len(value) > _MAX_PARTS:
            raise InvalidRequest(
                f"The page list has more than {_MAX_PARTS} entries; select "
                'ranges with a string such as "0-499".',
                param=param,
            )
        for index in value:
            if index < 0:
                raise InvalidRequest(
                    f"Page indices are 0-based and cannot be negative ({index}).", param=param
                )
            _check_index(index, param)
        ranges = [(i, i + 1) for i in value]
    if not ranges:
        raise InvalidRequest("The page selection is empty.", param=param)
    return PageSelection(_merge(ranges))


def _parse_ranges(value: str, param: str) -> list[tuple[int, int]]:
    parts = value.split(",", _MAX_PARTS)
    if len(parts) > _MAX_PARTS:
        raise InvalidRequest(f"The page selection has more than {_MAX_PARTS} parts.", param=param)
    ranges: list[tuple[int, int]] = []
    for part in parts:
        if not part.strip():
            continue
        match = _RANGE.match(part)
        if match is None:
            shown = part.strip()[:40]
            raise InvalidRequest(
                f"'{shown}' is not a page or a range; write pages as \"0,2-4\" "
                "(0-based, no negative numbers).",
                param=param,
            )
        first = int(match.group(1))
        last = int(match.group(2)) if match.group(2) is not None else first
        if last < first:
            raise InvalidRequest(f"The range '{part.strip()}' ends before it starts.", param=param)
        _check_index(last, param)
        ranges.append((first, last + 1))
    return ranges


def _check_index(index: int, param: str) -> None:
    if index > MAX_PAGE_INDEX:
        raise InvalidRequest(
            f"Page {index} is past the last page any document can have ({MAX_PAGE_INDEX}).",
            param=param,
        )


def _merge(ranges: Iterable[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    merged: list[tuple[int, int]] = []
    for first, end in sorted(ranges):
        if merged and first <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((first, end))
    return tuple(merged)


def select_pages(requested: PageSelection | None, page_count: int, *, max_pages: int) -> list[int]:
    """The pages to read from a document of `page_count` pages, checked against the limits.

    Counted before any list is made, so a wide selection or a huge page count costs nothing.
    """
    if page_count == 0:
        raise InvalidRequest("The document has no pages.", param="document")
    if requested is not None and requested.last >= page_count:
        missing = next(
            max(first, page_count) for first, end in requested.ranges if end > page_count
        )
        raise InvalidRequest(
            f"Page {missing} does not exist: the document has {page_count} page(s), "
            f"numbered 0 to {page_count - 1}.",
            param="pages",
        )
    count = page_count if requested is None else len(requested)
    if count > max_pages:
        raise DocumentTooLarge(
            f"The request selects {count} pages; the limit is {max_pages}. "
            "Select fewer with 'pages'.",
            param="pages",
        )
    return list(range(page_count)) if requested is None else list(requested)
