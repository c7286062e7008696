"""Tessera's OCR core: documents to Markdown on a pool of warm Tesseract workers. No HTTP."""

from .engine import EngineConfig, OCREngine
from .errors import TesseraError
from .options import OCROptions, PageOptions, PageSelection, parse_pages

__all__ = ["EngineConfig", "OCREngine", "OCROptions", "PageOptions", "PageSelection",
           "TesseraError", "parse_pages"]
