"""A PDF page's own text layer, read with PDFium: exact text in milliseconds, where it is usable.

A layer is unusable when its glyphs have no mapping to Unicode, when it is invisible (the
OCR layer of an earlier scan, of unknown quality), or when a page is essentially a picture
with a few stray characters; such pages are OCRed instead.
"""

from __future__ import annotations

import ctypes
import functools
import math
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any, NamedTuple

import numpy as np
import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_raw

from . import pdf
from .errors import UnprocessableDocument
from .words import Box, Line, Word

_MAX_BAD_SHARE = 0.1  # unmapped or replacement characters
_MAX_INVISIBLE_SHARE = 0.5
_SCAN_MIN_CHARS = 50  # fewer visible characters on a page mostly covered by images: a scan
_SCAN_IMAGE_SHARE = 0.3
# PDFium marks a hyphen that ends a line, within a word it runs on to the next line, as
# U+FFFE and gives no line break: the word's two parts are one token without this.
_LINE_END_HYPHEN = "\ufffe"
_TOKENS = re.compile(r"[\r\n]+|[^\s\x00\ufffe]+\ufffe?|\ufffe")
_BAD_CHARS = re.compile("[\ufffd\ue000-\uf8ff\x01-\x1f]")
# Left out of a word's text: control characters and a noncharacter, which a layer's
# ToUnicode map may give a glyph but no output format can show or (XML) hold.
_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f\uffff]")
# Fonts of pictures set as characters, whose codes mean nothing as text.
_DINGBAT_FONTS = ("wingding", "webding", "dingbat")
_GAP_HEIGHTS = 1.5
# Text that may not show is looked for on the page rendered at this resolution: a word
# whose box spans fewer tones than this is not drawn (its box is too small to tell below
# `_MIN_PATCH` pixels). Text lighter than `_LIGHT_TEXT` (of 255) may be white on white.
_VISIBLE_DPI = 100
_MIN_CONTRAST = 32
_MIN_PATCH = 4
_LIGHT_TEXT = 200
_LUMA = (0.299, 0.587, 0.114)
_UPRIGHT_SHARE = 0.5  # of the characters, running one way other than upright: a turned page
_RULE_MIN_POINTS = 20.0  # a path this long (or a box this big) may rule a table
_RULE_MAX_POINTS = 3.0  # a gap wider than this many text heights splits a line
_FONT_NAME_BYTES = 128
_FIXED_PITCH = 1  # PDF font descriptor flag FixedPitch
# Font names of monospaced faces whose descriptor does not say so (TeX's cmtt, for one).
_MONO_HINTS = ("mono", "courier", "cmtt", "cmsltt", "typewriter", "consol", "code", "lmtt")
_BOLD_HINTS = ("bold", "cmbx", "cmb10", "black", "heavy", "-bd", "semibold", "demi")
_BOLD_WEIGHT = 600


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
    # Degrees the page was turned counter-clockwise so that its text reads upright; `lines`,
    # `figures`, `width` and `height` are of the turned page.
    rotation: int = 0


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
        self.width, self.height = width, height

    def shows(self, box: Box) -> bool:
        """Whether the middle of `box` lies on the page as rendered (inside its crop box)."""
        x, y = box.center
        return 0 <= x < self.width and 0 <= y < self.height

    def offset(self, dx: float, dy: float) -> tuple[float, float]:
        """An offset in page space, in device pixels."""
        a, b, _, d, e, _ = self.m
        return a * dx + b * dy, d * dx + e * dy

    def box(self, left: float, bottom: float, right: float, top: float) -> Box:
        a, b, c, d, e, f = self.m
        if b == 0 and d == 0:  # an unrotated page: scale and flip only
            x0, x1, y0, y1 = a * left + c, a * right + c, e * top + f, e * bottom + f
            return Box(
                round(min(x0, x1)), round(min(y0, y1)), round(max(x0, x1)), round(max(y0, y1))
            )
        xs = [a * x + b * y + c for x, y in ((left, bottom), (right, top))]
        ys = [d * x + e * y + f for x, y in ((left, bottom), (right, top))]
        return Box(round(min(xs)), round(min(ys)), round(max(xs)), round(max(ys)))


def _has_rules(page: pdfium.PdfPage) -> bool:
    """Whether the page draws lines or boxes that could rule a table (then it is rendered
    small to look for grids)."""
    rules = 0
    for obj in page.get_objects(filter=(pdfium_raw.FPDF_PAGEOBJ_PATH,), max_depth=4):
        left, bottom, right, top = obj.get_bounds()
        thin, long = sorted((right - left, top - bottom))
        if long >= _RULE_MIN_POINTS and (thin <= _RULE_MAX_POINTS or thin >= _RULE_MIN_POINTS):
            rules += 1
            if rules >= 2:
                return True
    return False


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
    figures = [
        transform.box(*obj.get_bounds())
        for obj in page.get_objects(filter=(pdfium_raw.FPDF_PAGEOBJ_IMAGE,), max_depth=4)
    ]
    has_paths = _has_rules(page)
    may_hide = not keep_invisible and _may_hide_text(page)
    textpage = page.get_textpage()
    try:
        runs, visible, bad, invisible, directions = _runs(
            page, textpage, transform, keep_invisible=keep_invisible, by_tone=may_hide
        )
    finally:
        textpage.close()
    if may_hide:
        runs, hidden = _shown(page, runs, width, height, min(_VISIBLE_DPI, dpi))
        visible, invisible = visible - hidden, invisible + hidden

    total = visible + invisible
    covered = sum(f.overlap(Box(0, 0, width, height)) for f in figures) / max(1, width * height)
    usable, reason = True, "text layer"
    if total and bad > _MAX_BAD_SHARE * total:
        usable, reason = False, "text layer has no Unicode mapping"
    elif total and invisible > _MAX_INVISIBLE_SHARE * total:
        usable, reason = False, "text layer is invisible (an earlier OCR)"
    elif visible < _SCAN_MIN_CHARS and covered >= _SCAN_IMAGE_SHARE:
        usable, reason = False, "page is a scanned image"
    rotation = _upright_turn(directions)
    if rotation:
        runs = [[replace(w, box=_turned(w.box, rotation, width, height)) for w in r] for r in runs]
        # PDFium orders a sideways page's lines as they run across it; top to bottom once
        # turned is the order they are read in.
        runs.sort(key=lambda run: min(w.box.top for w in run))
        figures = [_turned(f, rotation, width, height) for f in figures]
        if rotation != 180:
            width, height = height, width
    lines = [line for run in runs for line in _split_at_gaps(run)]
    return TextLayer(lines, figures, has_paths, width, height, usable, reason, rotation)


def _may_hide_text(page: pdfium.PdfPage) -> bool:
    """Whether some text on the page may not show: drawn in a light colour (white on white),
    or under a filled shape or a picture drawn after it (a redaction's black box)."""
    red, green, blue, alpha = (ctypes.c_uint() for _ in range(4))
    fill, stroke = ctypes.c_int(), ctypes.c_int()
    text_seen = False
    for obj in page.get_objects(max_depth=4):
        kind = pdfium_raw.FPDFPageObj_GetType(obj.raw)
        if kind == pdfium_raw.FPDF_PAGEOBJ_TEXT:
            text_seen = True
            if pdfium_raw.FPDFPageObj_GetFillColor(obj.raw, red, green, blue, alpha) and (
                _luma(red.value, green.value, blue.value) >= _LIGHT_TEXT
            ):
                return True
        elif (text_seen and kind == pdfium_raw.FPDF_PAGEOBJ_IMAGE) or (
            text_seen
            and kind == pdfium_raw.FPDF_PAGEOBJ_PATH
            and pdfium_raw.FPDFPath_GetDrawMode(obj.raw, fill, stroke)
            and fill.value != pdfium_raw.FPDF_FILLMODE_NONE
        ):
            return True
    return False


def _shown(
    page: pdfium.PdfPage, runs: list[list[Word]], width: int, height: int, dpi: int
) -> tuple[list[list[Word]], int]:
    """The runs without the words a viewer does not show, and how many characters those
    held: where the page, rendered at `dpi`, is one flat tone across a word's box, nothing
    of the word is drawn there (white on white, under a black box or a picture)."""
    try:
        gray = np.asarray(pdf.render_page(page, dpi).convert("L"))
    except UnprocessableDocument:
        return runs, 0  # nothing to tell by
    sx, sy = gray.shape[1] / width, gray.shape[0] / height
    shown = []
    hidden = 0
    for run in runs:
        kept = []
        for word in run:
            box = word.box
            left, right = int(box.left * sx), math.ceil(box.right * sx)
            top, bottom = int(box.top * sy), math.ceil(box.bottom * sy)
            patch = gray[max(0, top) : max(0, bottom), max(0, left) : max(0, right)]
            if patch.size < _MIN_PATCH or int(patch.max()) - int(patch.min()) >= _MIN_CONTRAST:
                kept.append(word)
            else:
                hidden += len(word.text)
        if kept:
            shown.append(kept)
    return shown, hidden


def _upright_turn(directions: dict[int, int]) -> int:
    """The quarter turns (in degrees, counter-clockwise) that set most of the page's text
    upright, from the characters running each way: 0 unless most run one other way (a page
    set sideways, read as a viewer shows it)."""
    way, count = max(directions.items(), key=lambda item: item[1], default=(0, 0))
    return way if count > _UPRIGHT_SHARE * sum(directions.values()) else 0


def _turned(box: Box, rotation: int, width: int, height: int) -> Box:
    """`box` on a `width` x `height` page turned `rotation` degrees counter-clockwise."""
    if rotation == 90:
        return Box(box.top, width - box.right, box.bottom, width - box.left)
    if rotation == 180:
        return Box(width - box.right, height - box.bottom, width - box.left, height - box.top)
    if rotation == 270:
        return Box(height - box.bottom, box.left, height - box.top, box.right)
    return box


def _direction(dx: float, dy: float) -> int:
    """Which way a word runs on the page, from its last character's offset from its first
    (in device pixels, y down), as the quarter turn counter-clockwise that sets it upright."""
    if abs(dx) >= abs(dy):
        return 0 if dx >= 0 else 180
    return 90 if dy > 0 else 270


def _invisible_objects(page: pdfium.PdfPage) -> bool:
    """Whether any text object on the page is drawn invisibly (render mode 3)."""
    return any(
        pdfium_raw.FPDFTextObj_GetTextRenderMode(obj.raw)
        == pdfium_raw.FPDF_TEXTRENDERMODE_INVISIBLE
        for obj in page.get_objects(filter=(pdfium_raw.FPDF_PAGEOBJ_TEXT,), max_depth=4)
    )


def _runs(
    page: pdfium.PdfPage,
    textpage: pdfium.PdfTextPage,
    transform: _Transform,
    *,
    keep_invisible: bool,
    by_tone: bool,
) -> tuple[list[list[Word]], int, int, int, dict[int, int]]:
    """Runs of words between PDFium's line breaks; counts of visible, bad and invisible
    characters; and how many characters run each way (`_direction`). With `by_tone`, a word
    is also parted where its letters turn from light to dark, so that the part a page hides
    (white letters set to indent the line's visible ones) can be left out alone.

    A word's box comes from its first and last characters' boxes, and its checks from its
    first character: per-character calls into PDFium would cost more than all the rest.
    """
    handle = textpage.raw
    text = _page_text(textpage)
    # Render modes are looked up only on pages that draw some text invisibly.
    check_modes = _invisible_objects(page)
    first, last = pdfium_raw.FS_RECTF(), pdfium_raw.FS_RECTF()
    font_name = ctypes.create_string_buffer(_FONT_NAME_BYTES)
    runs: list[list[Word]] = []
    words: list[Word] = []
    directions: dict[int, int] = {}
    visible = bad = invisible = 0
    for token, start in _tokens(handle, text, by_tone):
        if token[0] in "\r\n":
            if words:
                runs.append(words)
                words = []
            continue
        end = start + len(token) - 1
        # Loose boxes span the font's ascent to descent, so line heights compare as text sizes.
        pdfium_raw.FPDFText_GetLooseCharBox(handle, start, first)
        pdfium_raw.FPDFText_GetLooseCharBox(handle, end, last)
        box = transform.box(
            min(first.left, last.left),
            min(first.bottom, last.bottom),
            max(first.right, last.right),
            max(first.top, last.top),
        )
        if box.width <= 0 or box.height <= 0:
            box = _drawn_box(handle, start, len(token), transform)
        if not transform.shows(box):
            continue  # outside the crop box: no viewer shows it, and OCR would not see it
        if (
            check_modes
            and pdfium_raw.FPDFTextObj_GetTextRenderMode(
                pdfium_raw.FPDFText_GetTextObject(handle, start)
            )
            == pdfium_raw.FPDF_TEXTRENDERMODE_INVISIBLE
        ):
            invisible += len(token)
            if not keep_invisible:
                continue
        else:
            visible += len(token)
        text = _word_text(token)
        bad += _bad_chars(handle, start, token, text)
        font = _font(handle, start, font_name)
        shown = _as_shown(text, dingbat=font.dingbat, opens=not words)
        if not shown:
            continue
        if len(token) > 1:
            way = _direction(
                *transform.offset(
                    (last.left + last.right - first.left - first.right) / 2,
                    (last.bottom + last.top - first.bottom - first.top) / 2,
                )
            )
            directions[way] = directions.get(way, 0) + len(token)
        words.append(Word(shown, 1.0, box, font.monospaced, font.bold))
        if token.endswith(_LINE_END_HYPHEN):
            runs.append(words)
            words = []
    if words:
        runs.append(words)
    return runs, visible, bad, invisible, directions


def _page_text(textpage: pdfium.PdfTextPage) -> str:
    """The page's text, one character per PDFium character index, as the calls that take an
    index count them: a character beyond the BMP is its two surrogates, as PDFium lists it.

    PDFium's text leaves out some characters of its list (U+FFFE mapped by a ToUnicode map),
    and decoding it whole joins surrogates into one character (or drops a lone one), either
    way putting every later word's box on other characters; such a page's text is read
    character by character.
    """
    handle = textpage.raw
    count = pdfium_raw.FPDFText_CountChars(handle)
    units = textpage.get_text_range(errors="surrogatepass").encode("utf-16-le", "surrogatepass")
    if len(units) == 2 * count:
        wide = np.frombuffer(units, dtype="<u2").astype("<u4").tobytes()
        return wide.decode("utf-32-le", "surrogatepass")
    return "".join(chr(pdfium_raw.FPDFText_GetUnicode(handle, i)) for i in range(count))


def _word_text(token: str) -> str:
    """A token's text: surrogate pairs joined, a lone surrogate U+FFFD, a line-end hyphen "-"."""
    text = token.replace(_LINE_END_HYPHEN, "-").encode("utf-16-le", "surrogatepass")
    return text.decode("utf-16-le", "replace")


def _bad_chars(handle: Any, start: int, token: str, shown: str) -> int:
    """How many of a word's characters have no usable mapping to Unicode."""
    unmapped = len(token) if pdfium_raw.FPDFText_HasUnicodeMapError(handle, start) else 0
    return unmapped + len(_BAD_CHARS.findall(shown))


def _tokens(handle: Any, text: str, by_tone: bool) -> Iterator[tuple[str, int]]:
    """The text's words and line breaks, each with the index of its first character; with
    `by_tone`, words parted where their letters turn from light to dark or back."""
    for match in _TOKENS.finditer(text):
        token, start = match.group(), match.start()
        end = start + len(token) - 1
        if not by_tone or token[0] in "\r\n" or _light(handle, start) == _light(handle, end):
            yield token, start
            continue
        piece = 0
        for i in range(1, len(token)):
            if _light(handle, start + i) != _light(handle, start + i - 1):
                yield token[piece:i], start + piece
                piece = i
        yield token[piece:], start + piece


def _light(handle: Any, index: int) -> bool:
    """Whether the character at `index` is drawn in a light colour."""
    red, green, blue, alpha = (ctypes.c_uint() for _ in range(4))
    if not pdfium_raw.FPDFText_GetFillColor(handle, index, red, green, blue, alpha):
        return False
    return _luma(red.value, green.value, blue.value) >= _LIGHT_TEXT


def _luma(red: int, green: int, blue: int) -> float:
    return _LUMA[0] * red + _LUMA[1] * green + _LUMA[2] * blue


def _drawn_box(handle: Any, start: int, length: int, transform: _Transform) -> Box:
    """A word's box from where its first character is drawn and the font's size, for a word
    whose characters PDFium gives no box (glyphs of a Type 3 font in a typeset formula):
    text half an em a character, an em high above its baseline, never empty."""
    x, y = ctypes.c_double(), ctypes.c_double()
    pdfium_raw.FPDFText_GetCharOrigin(handle, start, ctypes.byref(x), ctypes.byref(y))
    size = max(pdfium_raw.FPDFText_GetFontSize(handle, start), 1.0)
    box = transform.box(
        x.value, y.value - 0.2 * size, x.value + 0.5 * size * length, y.value + 0.8 * size
    )
    return Box(box.left, box.top, max(box.right, box.left + 1), max(box.bottom, box.top + 1))


def _as_shown(text: str, *, dingbat: bool, opens: bool) -> str:
    """A word's text as shown, control characters left out (no format shows them, and XML
    cannot hold them). One character of a `dingbat` font that `opens` its line is a list's
    bullet when it has no Unicode of its own: the control code, private-use code or letter
    the font sets it at (Wingdings' ❖ is "v", or \x99 through a ToUnicode map); a dingbat
    mapped to its own symbol ("❖", "✓") is shown as it is."""
    if opens and dingbat and len(text) == 1 and unicodedata.category(text) != "So":
        return "•"
    return _CONTROLS.sub("", text)


class _FontKind(NamedTuple):
    monospaced: bool  # fixed pitch
    bold: bool
    dingbat: bool  # pictures set as characters (Wingdings)


def _font(handle: Any, index: int, name: ctypes.Array[ctypes.c_char]) -> _FontKind:
    """What the font of the character at `index` is."""
    flags = ctypes.c_int()
    pdfium_raw.FPDFText_GetFontInfo(handle, index, name, len(name), ctypes.byref(flags))
    return _font_kind(name.value, flags.value, pdfium_raw.FPDFText_GetFontWeight(handle, index))


@functools.lru_cache(maxsize=256)
def _font_kind(name: bytes, flags: int, weight: int) -> _FontKind:
    """A font's kind from its name, flags and weight; a page has a few fonts and hundreds of
    words, so each font is looked at once."""
    font = name.decode("latin-1").lower()
    return _FontKind(
        monospaced=bool(flags & _FIXED_PITCH) or any(h in font for h in _MONO_HINTS),
        bold=weight >= _BOLD_WEIGHT or any(h in font for h in _BOLD_HINTS),
        dingbat=any(h in font for h in _DINGBAT_FONTS),
    )


def _split_at_gaps(words: list[Word]) -> list[Line]:
    """One line per run of words; a wide gap on a baseline separates columns or cells, and a
    word more than a line's height above or below the last starts another (PDFium may give
    no break between text drawn far apart, such as a form's fields).

    Not in code: its gaps align comments and values, within one line.
    """
    height = sorted(w.box.height for w in words)[len(words) // 2]
    lines = [Line([words[0]])]
    for word in words[1:]:
        previous = lines[-1].words[-1]
        if _far_apart(previous.box, word.box):
            lines.append(Line([word]))
        elif word.monospace and previous.monospace:
            lines[-1].words.append(word)
        elif word.box.left - previous.box.right > _GAP_HEIGHTS * height and not (
            len(lines[-1].words) == 1 and previous.text == "•"
        ):  # a bullet hung in the margin opens its item's line, however far
            lines.append(Line([word]))
        else:
            lines[-1].words.append(word)
    return lines


def _far_apart(previous: Box, word: Box) -> bool:
    """Whether more than a line's height of white lies between two words, one above the other:
    no line of a paragraph, nor a superscript or a formula's parts, is set so far off."""
    white = max(word.top - previous.bottom, previous.top - word.bottom)
    return white > max(previous.height, word.height)
