"""The searchable PDF: the document as it was sent, with an invisible text layer on the pages
that were read by OCR.

A PDF keeps its pages as they are: content, images and fonts are not re-rendered or
re-encoded (streams are copied undecoded); an OCRed page gets one more content stream, after
its own, that draws each word in rendering mode 3 (invisible) on the word's box, and loses
the glyphs of its own invisible text (an earlier OCR's, which was not read). An image
becomes a PDF by img2pdf, which embeds it losslessly (a JPEG as it is), one page per frame.

Each word is one run of a glyphless font (Tesseract's `pdf.ttf`: every character is an empty
glyph half an em wide) whose text matrix stretches it over the word's box, so that a viewer
selects exactly the word and `pdftotext` reads the words in order. Boxes are mapped from the
page as read (turned upright and straightened) back to the page as it is shown, so the text
lies under the words on a turned or skewed scan too.
"""

from __future__ import annotations

import contextlib
import io
import math
import statistics
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import BinaryIO

import img2pdf
import pikepdf
from PIL import Image, ImageOps

from .. import images
from ..errors import InternalError, UnprocessableDocument
from ..languages import SYSTEM_TESSDATA
from ..model import OCR, Page
from ..words import Box, Word
from . import RenderedDocument

_FONT_NAME = "GlyphLessFont"
_GLYPH_ADVANCE = 0.5  # of an em: the font's every glyph is 500 units wide
_FONT_FILE = "pdf.ttf"
_WORD_GAP = 0.3  # of a glyph's height, kept clear at each word's end
# The glyphs' height, of the type size. Extractors group lines into blocks by the type size
# and the distance between baselines; drawn inside the words' boxes (x-height high, for a
# line of "on" and "a"), glyphs a whole em high would be set so small that every line looked
# like a block of its own.
_ASCENT = 0.5
_MAX_TREE_DEPTH = 64
_MIN_PAGE, _MAX_PAGE = 3.0, 14400.0  # PDF units: the sides a PDF page may have
_LETTER = (0.0, 0.0, 612.0, 792.0)  # the media box PDFium gives a page without one
Matrix = tuple[float, float, float, float, float, float]


def write(document: RenderedDocument, out: BinaryIO) -> None:
    """Write the document as a searchable PDF: its own pages, the OCRed ones with text."""
    pdf = _open(document)
    with pdf:
        font = _glyphless_font(pdf)
        pages = {p.index: p for p in document.pages if p.source == OCR}
        for index, pdf_page in enumerate(pdf.pages):
            page = pages.get(index)
            if page is not None and page.words:
                _add_text_layer(pdf, pdf_page, page, font)
        # Streams are copied as they are: not decoded, not compressed again (ours are
        # compressed already).
        pdf.save(
            out,
            compress_streams=False,
            stream_decode_level=pikepdf.StreamDecodeLevel.none,
            object_stream_mode=pikepdf.ObjectStreamMode.preserve,
        )


# -- the document's pages -------------------------------------------------------------------


def _open(document: RenderedDocument) -> pikepdf.Pdf:
    try:
        if document.kind == "pdf":
            return pikepdf.open(document.path)
        return _image_pdf(document.path)
    except pikepdf.PdfError as e:
        raise UnprocessableDocument(
            "The document could not be rewritten as a searchable PDF.", param="document"
        ) from e


def _image_pdf(path: Path) -> pikepdf.Pdf:
    """The image's pages as PDF pages, without loss, shown as they were read; frames img2pdf
    cannot embed as they are (transparency, unusual modes) are flattened onto white first.

    The pages are those the image was read as: a TIFF's frames, but only the first frame of
    an animation (GIF, WebP), which img2pdf would otherwise make a page each.
    """
    frames = images.declared(str(path))
    try:
        data = img2pdf.convert(
            str(path),
            rotation=img2pdf.Rotation.none,
            first_frame_only=len(frames) == 1,
            layout_fun=_page_layout(frames),
        )
    except (img2pdf.ImageOpenError, img2pdf.AlphaChannelError, ValueError, OverflowError, OSError):
        # OverflowError, ValueError: also a resolution img2pdf cannot round (a TIFF's inf, nan).
        return pikepdf.open(io.BytesIO(_flattened_pdf(path, frames)))
    pdf = pikepdf.open(io.BytesIO(bytes(data)))
    for pdf_page, frame in zip(pdf.pages, frames, strict=False):
        if frame.orientation in _TURNED:
            pdf_page.obj.Rotate = _TURNED[frame.orientation]
        elif frame.orientation in _MIRRORED:
            _mirror(pdf, pdf_page, frame.orientation)
    return pdf


def _flattened_pdf(path: Path, declared: list[images.Declared]) -> bytes:
    """The image's pages as PDF pages, each decoded, turned upright and flattened onto
    white as it was read, and embedded without further loss."""
    frames: list[bytes] = []
    with Image.open(path) as image:
        for index in range(len(declared)):
            try:
                image.seek(index)
                frame = ImageOps.exif_transpose(image.copy())
            except (OSError, ValueError, EOFError) as e:
                raise UnprocessableDocument(
                    f"Frame {index} of the image cannot be decoded, and a PDF of the image "
                    "needs every frame.",
                    param="document",
                ) from e
            # Not the file's own where it is not plausible: a PNG cannot hold a TIFF's inf.
            dpi = _laid_out_at(image.info.get("dpi"), declared[index].dpi)
            buffer = io.BytesIO()
            images.flatten(frame).save(buffer, format="PNG", dpi=dpi)
            frames.append(buffer.getvalue())
    return bytes(img2pdf.convert(frames, layout_fun=_page_layout(declared)))


# The page turns of EXIF orientations that turn the image, made here by the orientation as
# the image was read (`images.exif_orientation`), not by img2pdf, which reads it again its
# own way and fails to log one that is not a number (text, bytes) with a traceback.
_TURNED = {3: 180, 6: 90, 8: 270}
# EXIF orientations that mirror the image, which img2pdf leaves as stored: where the image
# (a unit square) goes on a page `w` by `h` as shown, as Pillow's `exif_transpose` shows
# it, and so as it was read.
_MIRRORED: dict[int, Callable[[float, float], Matrix]] = {
    2: lambda w, h: (-w, 0.0, 0.0, h, w, 0.0),  # flipped left to right
    4: lambda w, h: (w, 0.0, 0.0, -h, 0.0, h),  # flipped top to bottom
    5: lambda w, h: (0.0, -h, -w, 0.0, w, h),  # transposed
    7: lambda w, h: (0.0, h, w, 0.0, 0.0, 0.0),  # transversed
}


def _mirror(pdf: pikepdf.Pdf, pdf_page: pikepdf.Page, orientation: int) -> None:
    """Draw img2pdf's one image on the page as its EXIF orientation shows it."""
    x0, y0, x1, y1 = (float(v) for v in pdf_page.mediabox)
    w, h = x1 - x0, y1 - y0
    if orientation in (5, 7):  # a quarter turn as well
        w, h = h, w
        pdf_page.obj.MediaBox = pikepdf.Array([0, 0, w, h])
    (name,) = pdf_page.Resources.XObject.keys()
    content = b"q\n" + _num(_MIRRORED[orientation](w, h)) + f" cm\n{name} Do\nQ\n".encode()
    pdf_page.obj.Contents = pdf.make_indirect(pikepdf.Stream(pdf, content))


Layout = Callable[[int, int, tuple[float, float]], tuple[float, float, float, float]]


def _page_layout(declared: list[images.Declared]) -> Layout:
    """img2pdf's page for each frame in turn, at the resolution the page was read at: its
    own, or `images.DEFAULT_DPI` where it declares none that is plausible (img2pdf would take
    96 dpi), so that the page's pixels are the points the other outputs measure them in.
    Two resolutions (a fax's 204 x 98) are kept where both are plausible; where only the
    first is, the page is square at that one (img2pdf rounds a second of 0.001 to 0)."""
    resolutions = iter(frame.dpi for frame in declared)

    def layout(
        width_px: int, height_px: int, dpi: tuple[float, float]
    ) -> tuple[float, float, float, float]:
        return _fitted_page(width_px, height_px, _laid_out_at(dpi, next(resolutions, None)))

    return layout


def _laid_out_at(dpi: tuple[float, float] | None, read_at: int | None) -> tuple[float, float]:
    """A frame's resolution on its page: `dpi` as the file gives it where both are plausible,
    else the one it was read at, else `images.DEFAULT_DPI`."""
    if read_at is None:
        return images.DEFAULT_DPI, images.DEFAULT_DPI
    if dpi is not None and all(images.plausible_dpi(d) for d in dpi):
        return dpi
    return read_at, read_at


def _fitted_page(
    width_px: int, height_px: int, dpi: tuple[float, float]
) -> tuple[float, float, float, float]:
    """img2pdf's page for a frame at `dpi`, made larger or smaller as a whole where it would
    not be a PDF page: 3 to 14400 units a side (a tiny image, a scroll of hundreds of
    inches)."""
    page_w, page_h, image_w, image_h = img2pdf.default_layout_fun(width_px, height_px, dpi)
    scale = 1.0
    if max(page_w, page_h) > _MAX_PAGE:
        scale = _MAX_PAGE / max(page_w, page_h)
    if min(page_w, page_h) * scale < _MIN_PAGE:
        scale = _MIN_PAGE / min(page_w, page_h)
    if max(page_w, page_h) * scale > _MAX_PAGE * (1 + 1e-9):
        raise UnprocessableDocument(
            f"The image is {width_px} x {height_px} pixels: too long and narrow for a PDF "
            f"page, which may be at most {_MAX_PAGE / _MIN_PAGE:.0f} times as long as it is "
            "wide.",
            param="output_formats",
        )
    return page_w * scale, page_h * scale, image_w * scale, image_h * scale


# -- the font -------------------------------------------------------------------------------


@cache
def _font_file() -> bytes:
    """Tesseract's glyphless font, installed with it beside its language data."""
    for directory in SYSTEM_TESSDATA:
        path = Path(directory) / _FONT_FILE
        if path.is_file():
            return path.read_bytes()
    raise InternalError(
        f"Tesseract's {_FONT_FILE} is not installed, so no text layer can be written; "
        "install the tesseract-ocr package."
    )


def _to_unicode() -> bytes:
    """A ToUnicode CMap: each two-byte code is the UTF-16 code unit it stands for."""
    ranges = [f"<{high:02X}00> <{high:02X}FF> <{high:02X}00>" for high in range(256)]
    blocks = []
    for start in range(0, len(ranges), 100):
        chunk = ranges[start : start + 100]
        blocks.append(f"{len(chunk)} beginbfrange\n" + "\n".join(chunk) + "\nendbfrange")
    return (
        "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n"
        "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n"
        "/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n"
        "1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n"
        + "\n".join(blocks)
        + "\nendcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n"
    ).encode()


def _stream(pdf: pikepdf.Pdf, data: bytes, **extra: int) -> pikepdf.Stream:
    stream = pikepdf.Stream(pdf, zlib.compress(data))
    stream.Filter = pikepdf.Name.FlateDecode
    for key, value in extra.items():
        stream[pikepdf.Name("/" + key)] = value
    return stream


def _glyphless_font(pdf: pikepdf.Pdf) -> pikepdf.Object:
    """A Type0 font with Identity-H encoding over the glyphless TrueType font."""
    font_file = _font_file()
    descriptor = pikepdf.Dictionary(
        Type=pikepdf.Name.FontDescriptor,
        FontName=pikepdf.Name("/" + _FONT_NAME),
        Flags=5,
        FontBBox=pikepdf.Array([0, 0, 500, int(_ASCENT * 1000)]),
        ItalicAngle=0,
        Ascent=int(_ASCENT * 1000),
        Descent=-1,  # not 0, which readers take for "unknown" and replace
        CapHeight=int(_ASCENT * 1000),
        StemV=80,
        FontFile2=_stream(pdf, font_file, Length1=len(font_file)),
    )
    # Every code to glyph 1, the font's one empty glyph.
    cid_to_gid = _stream(pdf, b"\x00\x01" * 65536)
    cid_font = pikepdf.Dictionary(
        Type=pikepdf.Name.Font,
        Subtype=pikepdf.Name.CIDFontType2,
        BaseFont=pikepdf.Name("/" + _FONT_NAME),
        CIDSystemInfo=pikepdf.Dictionary(
            Registry=pikepdf.String("Adobe"), Ordering=pikepdf.String("Identity"), Supplement=0
        ),
        FontDescriptor=pdf.make_indirect(descriptor),
        DW=int(_GLYPH_ADVANCE * 1000),
        CIDToGIDMap=cid_to_gid,
    )
    font = pikepdf.Dictionary(
        Type=pikepdf.Name.Font,
        Subtype=pikepdf.Name.Type0,
        BaseFont=pikepdf.Name("/" + _FONT_NAME),
        Encoding=pikepdf.Name("/Identity-H"),
        DescendantFonts=pikepdf.Array([pdf.make_indirect(cid_font)]),
        ToUnicode=_stream(pdf, _to_unicode()),
    )
    return pdf.make_indirect(font)


# -- the text layer -------------------------------------------------------------------------


def _add_text_layer(
    pdf: pikepdf.Pdf, pdf_page: pikepdf.Page, page: Page, font: pikepdf.Object
) -> None:
    resources = _own_resources(pdf_page)
    fonts = resources.get(pikepdf.Name.Font)
    if not isinstance(fonts, pikepdf.Dictionary):
        fonts = resources[pikepdf.Name.Font] = pikepdf.Dictionary()
    name = pikepdf.Name.random(prefix="TesseraText")
    fonts[name] = font
    _keep_content_streams(pdf_page)
    _drop_invisible_text(pdf, pdf_page)
    # The page's own content in a saved graphics state, so its changes do not reach ours.
    pdf_page.contents_add(_stream(pdf, b"q\n"), prepend=True)
    pdf_page.contents_add(_stream(pdf, b"\nQ\n" + _text_layer(pdf_page, page, str(name))))


def _keep_content_streams(pdf_page: pikepdf.Page) -> None:
    """Keep only the streams among the page's contents, as viewers draw it: PDFium skips a
    reference to nothing, a string or a dictionary where a content stream should be, and
    qpdf refuses to add to such contents, which failed the whole searchable PDF."""
    contents = pdf_page.obj.get(pikepdf.Name.Contents)
    if contents is None or isinstance(contents, pikepdf.Stream):
        return
    items = list(contents) if isinstance(contents, pikepdf.Array) else [contents]
    streams = [item for item in items if isinstance(item, pikepdf.Stream)]
    if isinstance(contents, pikepdf.Array) and len(streams) == len(items):
        return
    if streams:
        pdf_page.obj[pikepdf.Name.Contents] = pikepdf.Array(streams)
    else:
        del pdf_page.obj[pikepdf.Name.Contents]


_SHOWS = frozenset(("Tj", "TJ", "'", '"'))
_INVISIBLE = 3  # text rendering mode: neither filled nor stroked nor clipped to


def _drop_invisible_text(pdf: pikepdf.Pdf, pdf_page: pikepdf.Page) -> None:
    """Take out the glyphs of the page's own invisible text: an earlier OCR's layer, which
    was not read (see `textlayer`), would otherwise be found beside the words read now, in
    an extractor's text and a viewer's search.

    Only text objects all of whose text is invisible lose their glyphs, so that no visible
    text moves; every other operator stays, as text state outlives its text object. The
    page's content is rewritten only where something was taken out.
    """
    try:
        instructions = pikepdf.parse_content_stream(pdf_page)
    except pikepdf.PdfError:
        return  # drawn as it is: a viewer makes what it can of it, and so do extractors
    hidden = _invisible_shows(instructions)
    if not hidden:
        return
    kept: list[pikepdf.ContentStreamInstruction | pikepdf.ContentStreamInlineImage] = []
    for index, instruction in enumerate(instructions):
        if index not in hidden:
            kept.append(instruction)
            continue
        operator = str(instruction.operator)
        # What a show does besides drawing: ' and " move to the next line, " sets spacing.
        if operator == '"':
            word, char, _ = instruction.operands
            kept.append(pikepdf.ContentStreamInstruction([word], pikepdf.Operator("Tw")))
            kept.append(pikepdf.ContentStreamInstruction([char], pikepdf.Operator("Tc")))
        if operator in ("'", '"'):
            kept.append(pikepdf.ContentStreamInstruction([], pikepdf.Operator("T*")))
    pdf_page.obj.Contents = _stream(pdf, pikepdf.unparse_content_stream(kept))


def _invisible_shows(
    instructions: list[pikepdf.ContentStreamInstruction | pikepdf.ContentStreamInlineImage],
) -> set[int]:
    """The indexes of the text shows in text objects that show only invisible text."""
    mode, saved = 0, []
    hidden: set[int] = set()
    shows: list[int] = []
    visible = False
    for index, instruction in enumerate(instructions):
        if isinstance(instruction, pikepdf.ContentStreamInlineImage):
            continue
        operator = str(instruction.operator)
        if operator == "q":
            saved.append(mode)
        elif operator == "Q" and saved:
            mode = saved.pop()
        elif operator == "Tr" and instruction.operands:
            # A broken operand leaves the mode as it was, as viewers do.
            with contextlib.suppress(TypeError, ValueError):
                mode = int(instruction.operands[0])
        elif operator == "BT":
            shows, visible = [], False
        elif operator in _SHOWS:
            shows.append(index)
            visible = visible or mode != _INVISIBLE
        elif operator == "ET":
            if not visible:
                hidden.update(shows)
            shows = []
    return hidden


def _own_resources(pdf_page: pikepdf.Page) -> pikepdf.Dictionary:
    """The page's resource dictionary, made its own if it was inherited from the page tree."""
    resources = pdf_page.obj.get(pikepdf.Name.Resources)
    if isinstance(resources, pikepdf.Dictionary):
        return resources
    node = pdf_page.obj.get(pikepdf.Name.Parent)
    inherited = pikepdf.Dictionary()
    for _ in range(_MAX_TREE_DEPTH):  # a damaged tree may loop
        if not isinstance(node, pikepdf.Dictionary):
            break
        found = node.get(pikepdf.Name.Resources)
        if isinstance(found, pikepdf.Dictionary):
            inherited = pikepdf.Dictionary({k: v for k, v in found.items()})
            break
        node = node.get(pikepdf.Name.Parent)
    pdf_page.obj[pikepdf.Name.Resources] = inherited
    return inherited


def _text_layer(pdf_page: pikepdf.Page, page: Page, font: str) -> bytes:
    """The content stream that draws the page's words invisibly, each on its box."""
    # Operators written as bytes, not by pikepdf.unparse_content_stream: only numbers and hex
    # strings go in, which need no escaping, and the library takes half as long again.
    width, height = _shown_size(pdf_page)
    sx, sy = width / page.source_width, height / page.source_height

    def shown(x: float, y: float) -> tuple[float, float]:
        px, py = page.map_to_source(x, y)
        return px * sx, height - py * sy

    out = [b"q\n", _num(_displayed_to_user(pdf_page)) + b" cm\n", b"BT\n3 Tr\n"]
    out.append(f"{font} 1 Tf\n".encode())
    for block in page.blocks:
        lines = [[w for w in line.words if w.text] for line in block.text_lines()]
        for words, boxes in zip(lines, _written_boxes(lines), strict=True):
            for word, box in zip(words, boxes, strict=True):
                corners = [shown(x, y) for x, y in _corners(box)]
                span = _span(corners)
                # The height written, measured upright: on a skewed page the box around the
                # word on the page is taller.
                size = math.dist(corners[0], corners[2])
                # A space after every word, the line's last too: extractors then never run
                # the end of one line into the start of the next.
                text = word.text + " "
                units = len(word.text.encode("utf-16-be")) // 2
                matrix = span.matrix(size, _GLYPH_ADVANCE * units)
                out.append(_num(matrix) + b" Tm <" + text.encode("utf-16-be").hex().encode())
                out.append(b"> Tj\n")
    out.append(b"ET\nQ\n")
    return b"".join(out)


def _written_boxes(lines: list[list[Word]]) -> list[list[Box]]:
    """Where the words of a block's lines are written: each inside its own box, on its line's
    baseline, and all as high as the block's short words.

    Extractors rebuild lines and blocks from the glyphs' baselines and sizes: words written
    each over its whole box (a descender lower, a capital taller) fall into lines and blocks
    of their own and are read out of order. A word off the baseline (a dash, a quote, a
    superscript) and one shorter than the rest keep to their own box.
    """
    bottoms = [_line_bottoms(words) for words in lines]
    rooms = sorted(
        b - w.box.top
        for words, bs in zip(lines, bottoms, strict=True)
        for w, b in zip(words, bs, strict=True)
    )
    height = rooms[len(rooms) // 10] if rooms else 0
    written = []
    for words, bs in zip(lines, bottoms, strict=True):
        boxes = []
        for word, bottom in zip(words, bs, strict=True):
            box = word.box
            top = max(box.top, bottom - height)
            boxes.append(Box(box.left, top, box.right, bottom) if bottom > top else box)
        written.append(boxes)
    return written


def _line_bottoms(words: list[Word]) -> list[int]:
    """Each word's bottom on its line's baseline (most words' bottom), or its own if it is
    above it."""
    if not words:
        return []
    baseline = round(statistics.median(w.box.bottom for w in words))
    return [min(baseline, w.box.bottom) for w in words]


def _corners(box: Box) -> list[tuple[int, int]]:
    """Bottom left, bottom right, then the top corners: the baseline first."""
    return [
        (box.left, box.bottom),
        (box.right, box.bottom),
        (box.left, box.top),
        (box.right, box.top),
    ]


@dataclass(frozen=True)
class _Span:
    """Where a word goes on the page as shown: its extent along and across the nearest
    upright writing direction, (ux, uy) a unit vector along it."""

    ux: int
    uy: int
    start: float
    end: float
    bottom: float
    top: float

    def matrix(self, size: float, advance: float) -> Matrix:
        """The text matrix that writes `advance` ems of glyphs `size` high over the span's
        extent, centred across it.

        The glyphs stop a little short of the span's end: extractors tell words apart by the
        gap between them (they ignore the space glyph), and OCR boxes of words set close
        together may leave less than they need.
        """
        vx, vy = -self.uy, self.ux
        bottom = (self.bottom + self.top - size) / 2
        extent = self.end - self.start
        length = (extent - min(_WORD_GAP * size, extent / 4)) / advance
        x = self.start * self.ux + bottom * vx
        y = self.start * self.uy + bottom * vy
        em = size / _ASCENT
        return (length * self.ux, length * self.uy, em * vx, em * vy, x, y)


def _span(corners: list[tuple[float, float]]) -> _Span:
    """A word's span from its corners on the page as shown, written along the quarter turn
    nearest to its baseline.

    A word written at a slant (on a skewed scan) is broken into pieces by text extractors,
    which follow only the four upright directions; written level over the box around it, it
    stays one word and still covers the word on the page.
    """
    (x0, y0), (x1, y1) = corners[0], corners[1]
    quarter = round(math.atan2(y1 - y0, x1 - x0) / (math.pi / 2)) * (math.pi / 2)
    ux, uy = round(math.cos(quarter)), round(math.sin(quarter))
    along = [x * ux + y * uy for x, y in corners]
    across = [y * ux - x * uy for x, y in corners]
    return _Span(ux, uy, min(along), max(along), min(across), max(across))


def _crop(pdf_page: pikepdf.Page) -> tuple[float, float, float, float]:
    """The part of the page a viewer shows, as the page was read: its crop box within its
    media box, or the media box where the two do not meet. Its lower-left corner, width and
    height in user space. As PDFium reads them, a box that is not four numbers enclosing
    some area is no box: the crop box is then the media box, and the media box a letter page."""
    mx0, my0, mx1, my1 = _ordered(pdf_page.mediabox) or _LETTER
    cx0, cy0, cx1, cy1 = _ordered(pdf_page.cropbox) or (mx0, my0, mx1, my1)
    x0, y0, x1, y1 = max(cx0, mx0), max(cy0, my0), min(cx1, mx1), min(cy1, my1)
    if x1 <= x0 or y1 <= y0:
        x0, y0, x1, y1 = mx0, my0, mx1, my1
    return x0, y0, x1 - x0, y1 - y0


def _ordered(box: object) -> tuple[float, float, float, float] | None:
    """A PDF rectangle as left, bottom, right, top, whichever corners it names; None where,
    as PDFium reads it, it encloses nothing: not an array of four (a string, two numbers), or
    no area once an entry that is not a number counts as 0."""
    if not isinstance(box, pikepdf.Array) or len(box) != 4:
        return None
    x0, y0, x1, y1 = (
        float(v) if isinstance(v, int | float | Decimal) and not isinstance(v, bool) else 0.0
        for v in box
    )
    if not all(math.isfinite(v) for v in (x0, y0, x1, y1)) or x0 == x1 or y0 == y1:
        return None
    return min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)


def _shown_size(pdf_page: pikepdf.Page) -> tuple[float, float]:
    """The page's width and height as a viewer shows it, turned by its /Rotate."""
    _, _, w, h = _crop(pdf_page)
    return (h, w) if _rotation(pdf_page) in (90, 270) else (w, h)


def _rotation(pdf_page: pikepdf.Page) -> int:
    """The page's /Rotate, as viewers take it (a value not a multiple of 90, or not a number,
    is ignored)."""
    value = pdf_page.obj.get(pikepdf.Name.Rotate, 0)
    if not isinstance(value, int | float | Decimal):  # a name, a string: no turn to PDFium
        return 0
    rotation = int(value) % 360
    return rotation if rotation % 90 == 0 else 0


def _displayed_to_user(pdf_page: pikepdf.Page) -> Matrix:
    """The map from the page as shown (origin bottom left, in points) to its user space."""
    x0, y0, w, h = _crop(pdf_page)
    return {
        0: (1.0, 0.0, 0.0, 1.0, x0, y0),
        90: (0.0, 1.0, -1.0, 0.0, x0 + w, y0),
        180: (-1.0, 0.0, 0.0, -1.0, x0 + w, y0 + h),
        270: (0.0, -1.0, 1.0, 0.0, x0, y0 + h),
    }[_rotation(pdf_page)]


def _num(values: Matrix) -> bytes:
    return " ".join(f"{v:.4f}".rstrip("0").rstrip(".") or "0" for v in values).encode()
