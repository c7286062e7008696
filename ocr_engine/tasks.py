"""The work a worker process does, and the small frozen descriptions of it that cross over.

Only these dataclasses travel to the workers: a path, a page number, languages, options.
The document itself stays on disk; each worker renders its own page from it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from . import images, layout, pdf
from .options import PageOptions
from .recognize import Recognizer
from .sources import sniff

# Without a declared resolution an image is reported at the PDF/Pillow convention.
_DEFAULT_IMAGE_DPI = 72
_SNIFF_BYTES = 1024


@dataclass(frozen=True)
class DocumentInfo:
    """What a document is and how many pages it has."""

    kind: str  # "pdf" | "image"
    mime: str
    renderer: str | None  # for PDFs: "pdfium" | "poppler"
    page_count: int


@dataclass(frozen=True)
class InspectTask:
    path: str


@dataclass(frozen=True)
class PageTask:
    path: str
    kind: str
    renderer: str | None
    index: int
    languages: str
    dpi: int
    max_pixels: int
    timeout: float
    options: PageOptions


Task = InspectTask | PageTask


def run_task(task: Task, recognizer: Recognizer) -> Any:
    """Carry out one task in a worker process."""
    if isinstance(task, InspectTask):
        return inspect(task.path)
    return recognize_page(task, recognizer)


def inspect(path: str) -> DocumentInfo:
    """Identify a document and count its pages."""
    with open(path, "rb") as f:
        head = f.read(_SNIFF_BYTES)
    kind = sniff(head)
    if kind.kind == "pdf":
        renderer, count = pdf.inspect(path)
        return DocumentInfo(kind.kind, kind.mime, renderer, count)
    return DocumentInfo(kind.kind, kind.mime, None, images.frame_count(path))


def recognize_page(task: PageTask, recognizer: Recognizer) -> dict[str, Any]:
    """Render or load one page, recognise it and lay it out as a wire-format page."""
    if task.kind == "pdf":
        image, dpi = pdf.render(task.path, task.index, renderer=task.renderer or pdf.PDFIUM,
                                dpi=task.dpi, max_pixels=task.max_pixels)
        declared_dpi: int | None = dpi
    else:
        image, declared_dpi = images.load_frame(task.path, task.index)
        dpi = declared_dpi or _DEFAULT_IMAGE_DPI
    tsv = recognizer.tsv(image, languages=task.languages, dpi=declared_dpi, timeout=task.timeout)
    paragraphs = layout.parse_tsv(tsv)
    return layout.build_page(paragraphs, index=task.index, width=image.width,
                             height=image.height, dpi=dpi, options=task.options)
