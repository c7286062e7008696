"""A PDF page's own text layer, read with PDFium: exact text in milliseconds, where it is usable.

A layer is unusable when its glyphs have no mapping to Unicode, when it is invisible (the
OCR layer of an earlier scan, of unknown quality), or when a page is essentially a picture
with a few stray characters; such pages are OCRed instead.
"""

from __future__ import annotations

import ctypes
import math
from dataclasses import dataclass

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_raw

from .words import Box, Line, Word

_MAX_BAD_SHARE = 0.1  # unmapped or replacement characters
_MAX_INVISIBLE_SHARE = 0.5
_SCAN_MIN_CHARS = 50  # fewer visible characters on a page mostly covered by images: a scan
_SCAN_IMAGE_SHARE = 0.3
_LINE_BREAKS = {0x0A, 0x0D}
_GAP_HEIGHTS = 1.5  # a gap wider than this many text heights splits a line


@dataclass
class TextLayer:
    """A page's text, in page pixels at the requested DPI."""

    lines: list[Line]
    figures: list[Box]
    has_paths: bool
    width: int
    height: int
    usable: bool
    reason: str


class _Transform:
    """PDF page space to device pixels, the page's /Rotate included."""

    def __init__(self, page: pdfium.PdfPage, width: int, height: int) -> None:
        def device(x: float, y: float) -> tuple[int, int]:
            dx, dy = ctypes.c_int(), ctypes.c_int()
            pdfium_raw.FPDF_PageToDevice(page.raw, 0, 0, width, height, 0, x, y, dx, dy)
            return dx.value, dy.value

        # An affine map from three points, taken far apart for integer precision.
        span = 10_000.0
        x0, y0 = device(0, 0)
        xa, ya = device(span, 0)
        xb, yb = device(0, span)
        self.m = ((xa - x0) / span, (xb - x0) / span, x0, (ya - y0) / span, (yb - y0) / span, y0)

    def box(self, left: float, bottom: float, right: float, top: float) -> Box:
        a, b, c, d, e, f = self.m
        xs = [a * x + b * y + c for x, y in ((left, bottom), (right, top))]
        ys = [d * x + e * y + f for x, y in ((left, bottom), (right, top))]
        return Box(round(min(xs)), round(min(ys)), round(max(xs)), round(max(ys)))


def page_pixels(page: pdfium.PdfPage, dpi: int) -> tuple[int, int]:
    """The size of the page rendered at `dpi`, as PDFium renders it."""
    width, height = page.get_size()
    scale = dpi / 72
    return math.ceil(width * scale), math.ceil(height * scale)


def read(page: pdfium.PdfPage, *, dpi: int, keep_invisible: bool = False) -> TextLayer:
    """The page's text layer, and whether it can stand in for OCR.

    Invisible text is counted but left out, unless the caller trusts the layer as it is.
    """
    width, height = page_pixels(page, dpi)
    transform = _Transform(page, width, height)
    figures = [transform.box(*obj.get_bounds())
               for obj in page.get_objects(filter=(pdfium_raw.FPDF_PAGEOBJ_IMAGE,), max_depth=4)]
    has_paths = any(True for _ in page.get_objects(filter=(pdfium_raw.FPDF_PAGEOBJ_PATH,),
                                                   max_depth=4))
    textpage = page.get_textpage()
    try:
        lines, visible, bad, invisible = _lines(page, textpage, transform, keep_invisible)
    finally:
        textpage.close()

    total = visible + invisible
    covered = sum(f.overlap(Box(0, 0, width, height)) for f in figures) / max(1, width * height)
    usable, reason = True, "text layer"
    if total and bad > _MAX_BAD_SHARE * total:
        usable, reason = False, "text layer has no Unicode mapping"
    elif total and invisible > _MAX_INVISIBLE_SHARE * total:
        usable, reason = False, "text layer is invisible (an earlier OCR)"
    elif visible < _SCAN_MIN_CHARS and covered >= _SCAN_IMAGE_SHARE:
        usable, reason = False, "page is a scanned image"
    return TextLayer(lines, figures, has_paths, width, height, usable, reason)


def _invisible_objects(page: pdfium.PdfPage) -> bool:
    """Whether any text object on the page is drawn invisibly (render mode 3)."""
    return any(pdfium_raw.FPDFTextObj_GetTextRenderMode(obj.raw)
               == pdfium_raw.FPDF_TEXTRENDERMODE_INVISIBLE
               for obj in page.get_objects(filter=(pdfium_raw.FPDF_PAGEOBJ_TEXT,), max_depth=4))


def _lines(page: pdfium.PdfPage, textpage: pdfium.PdfTextPage, transform: _Transform,
           keep_invisible: bool) -> tuple[list[Line], int, int, int]:
    """Lines of words from the page's characters; counts of visible, bad and invisible ones."""
    handle = textpage.raw
    text = textpage.get_text_range()
    # Render modes are looked up per character only on pages that draw some text invisibly.
    check_modes = _invisible_objects(page)
    rect = pdfium_raw.FS_RECTF()
    lines: list[Line] = []
    words: list[Word] = []
    chars: list[str] = []
    left = bottom = right = top = 0.0
    visible = bad = invisible = 0

    def end_word() -> None:
        if chars:
            words.append(Word("".join(chars), 1.0, transform.box(left, bottom, right, top)))
            chars.clear()

    def end_line() -> None:
        end_word()
        if words:
            lines.extend(_split_at_gaps(words))
            words.clear()

    for i, char in enumerate(text):
        code = ord(char)
        if code in _LINE_BREAKS:
            end_line()
            continue
        if char.isspace() or code == 0:
            end_word()
            continue
        if check_modes and pdfium_raw.FPDFTextObj_GetTextRenderMode(
                pdfium_raw.FPDFText_GetTextObject(handle, i)
        ) == pdfium_raw.FPDF_TEXTRENDERMODE_INVISIBLE:
            invisible += 1
            if not keep_invisible:
                continue
        else:
            visible += 1
        if (char == "\ufffd" or 0xE000 <= code <= 0xF8FF or code < 0x20
                or pdfium_raw.FPDFText_HasUnicodeMapError(handle, i)):
            bad += 1
        # Loose boxes span the font's ascent to descent, so line heights compare as text sizes.
        pdfium_raw.FPDFText_GetLooseCharBox(handle, i, rect)
        if chars:
            left, bottom = min(left, rect.left), min(bottom, rect.bottom)
            right, top = max(right, rect.right), max(top, rect.top)
        else:
            left, bottom, right, top = rect.left, rect.bottom, rect.right, rect.top
        chars.append(char)
    end_line()
    return lines, visible, bad, invisible


def _split_at_gaps(words: list[Word]) -> list[Line]:
    """One line per run of words; a wide gap on a baseline separates columns or cells."""
    height = sorted(w.box.height for w in words)[len(words) // 2]
    lines = [Line([words[0]])]
    for word in words[1:]:
        if word.box.left - lines[-1].words[-1].box.right > _GAP_HEIGHTS * height:
            lines.append(Line([word]))
        else:
            lines[-1].words.append(word)
    return lines
