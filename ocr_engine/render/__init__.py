"""Output formats: each renders a document's page models to one file.

A format is one module with a `write(document, out)` function and one entry in `FORMATS`;
the module is imported when its format is first written, so a worker that only reads pages
never loads a PDF library.
The Mistral JSON (`render.mistral`) is not among them: it is the response itself, always
there; these are the files a request asks for beside it with `output_formats`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from ..model import Page


@dataclass(frozen=True)
class RenderedDocument:
    """What a renderer reads: the pages read, in page order, and the document they came from."""

    pages: list[Page]
    path: Path  # the document as it was sent
    kind: str  # "pdf" | "image"


Writer = Callable[[RenderedDocument, BinaryIO], None]


@dataclass(frozen=True)
class Format:
    name: str
    content_type: str
    suffix: str  # of a file of this format, as the service names it
    module: str  # the module in this package that writes it

    @property
    def write(self) -> Writer:
        writer: Writer = importlib.import_module(f"{__name__}.{self.module}").write
        return writer


FORMATS: dict[str, Format] = {
    f.name: f
    for f in (
        Format("pdf", "application/pdf", ".pdf", "searchable"),
        Format("hocr", "text/html; charset=utf-8", ".hocr", "hocr"),
        Format("alto", "application/xml", ".xml", "alto"),
        Format("txt", "text/plain; charset=utf-8", ".txt", "text"),
    )
}
NAMES = tuple(FORMATS)


def render(name: str, document: RenderedDocument, out: BinaryIO) -> None:
    """Write `document` in format `name` to `out`."""
    FORMATS[name].write(document, out)
