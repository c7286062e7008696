"""Tessera's OCR core: documents to Markdown on a pool of warm Tesseract workers. No HTTP."""

from .engine import DocumentResult, EngineConfig, EngineObserver, OCREngine, PageWarning
from .errors import TesseraError
from .options import OCROptions, PageOptions, PageSelection, parse_pages

__all__ = [
    "DocumentResult",
    "EngineConfig",
    "EngineObserver",
    "OCREngine",
    "OCROptions",
    "PageOptions",
    "PageSelection",
    "PageWarning",
    "TesseraError",
    "parse_pages",
]
