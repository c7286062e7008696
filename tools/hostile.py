"""Hostile documents: broken, adversarial and odd PDFs and images, built on the spot.

Every builder is deterministic (fixed seeds, no timestamps), so a case that misbehaves can be
written out and replayed by hand: `python -m tools.hostile OUT_DIR` writes every document,
named after its case, with the extension of the type it is declared as (not what it is).
PDFs are mostly assembled byte by byte, since the point is to write what no sane library would.
"""

from __future__ import annotations

import io
import random
import struct
import sys
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from PIL import Image, TiffImagePlugin
from reportlab.lib.pagesizes import letter
from reportlab.lib.pdfencrypt import StandardEncryption
from reportlab.pdfgen import canvas

from tools import corpus

# Words every readable case carries, so a completed result can be checked for them.
WORDS = "Hostile corpus survives"
PAGE_WORDS = ["Page alpha survives", "Page bravo survives", "Page charlie survives"]
BOMB_BYTES = 400 * 1024 * 1024  # what the Flate bomb's content stream inflates to
MANY_PAGES = 5000


@dataclass(frozen=True)
class Hostile:
    """One hostile document: its bytes come from `build`, its declared type from `mime`."""

    name: str
    what: str
    build: Callable[[], bytes]
    mime: str = "application/pdf"
    kind: str = "document_url"

    def data(self) -> bytes:
        """The document's bytes (built once per process)."""
        return _built(self.name)


# -- PDF assembly -------------------------------------------------------------------------------


def pdf_file(objects: Iterable[bytes], *, root: int = 1, xref_shift: int = 0) -> bytes:
    """A PDF whose object i + 1 is `objects[i]`, with a classic xref table; `xref_shift` moves
    every offset recorded in it, as a careless editor would."""
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    bodies = list(objects)
    for number, body in enumerate(bodies, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(bodies) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % (offset + xref_shift)
    out += b"trailer\n<< /Size %d /Root %d 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(bodies) + 1,
        root,
        xref,
    )
    return bytes(out)


def compact_pdf(objects: list[bytes]) -> bytes:
    """As `pdf_file`, but every object that is not a stream is packed into one compressed
    object stream, indexed by a compressed cross-reference stream (PDF 1.5)."""
    objstm, xref_number = len(objects) + 1, len(objects) + 2
    packed = [
        n for n, body in enumerate(objects, start=1) if not body.rstrip().endswith(b"endstream")
    ]
    bodies, header, position = [], [], 0
    for n in packed:
        header.append(b"%d %d" % (n, position))
        bodies.append(objects[n - 1])
        position += len(objects[n - 1]) + 1
    first = b" ".join(header) + b"\n"
    packed_data = zlib.compress(first + b"\n".join(bodies) + b"\n", 9)
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    entries = {0: (0, 0, 65535)}
    entries.update({n: (2, objstm, i) for i, n in enumerate(packed)})
    for n, body in [
        *enumerate(objects, start=1),
        (
            objstm,
            stream(
                packed_data,
                b"/Type /ObjStm /N %d /First %d /Filter /FlateDecode" % (len(packed), len(first)),
            ),
        ),
    ]:
        if n in entries:
            continue
        entries[n] = (1, len(out), 0)
        out += b"%d 0 obj\n%s\nendobj\n" % (n, body)
    entries[xref_number] = (1, len(out), 0)
    table = b"".join(struct.pack(">BIH", *entries[n]) for n in range(xref_number + 1))
    out += b"%d 0 obj\n%s\nendobj\n" % (
        xref_number,
        stream(
            zlib.compress(table, 9),
            b"/Type /XRef /Size %d /W [1 4 2] /Root 1 0 R /Filter /FlateDecode" % (xref_number + 1),
        ),
    )
    out += b"startxref\n%d\n%%%%EOF\n" % entries[xref_number][1]
    return bytes(out)


def stream(data: bytes, entries: bytes = b"") -> bytes:
    """A stream object's body: its dictionary `entries`, its length and its bytes."""
    return b"<< %s /Length %d >>\nstream\n%s\nendstream" % (entries, len(data), data)


def text_ops(text: str, *, x: float = 72, y: float = 700, size: float = 24) -> bytes:
    """Content-stream operators that show `text` in Helvetica (font resource /F1)."""
    return b"BT /F1 %g Tf %g %g Td (%s) Tj ET\n" % (size, x, y, text.encode("latin-1"))


FONT = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"
CATALOG = b"<< /Type /Catalog /Pages 2 0 R >>"


def one_page(
    content: bytes,
    *,
    box: tuple[float, float, float, float] = (0, 0, 612, 792),
    xobjects: bytes = b"",
    extra: Iterable[bytes] = (),
    xref_shift: int = 0,
    contents: bytes = b"5 0 R",
) -> bytes:
    """A one-page PDF: objects 1-5 are catalog, pages, page, font and content; `extra` follow
    from object 6 on, for `xobjects` (a /XObject dictionary's entries) to refer to."""
    resources = b"<< /Font << /F1 4 0 R >> /XObject << %s >> >>" % xobjects
    page = b"<< /Type /Page /Parent 2 0 R /MediaBox [%g %g %g %g] /Resources %s /Contents %s >>" % (
        *box,
        resources,
        contents,
    )
    return pdf_file(
        [
            CATALOG,
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            page,
            FONT,
            stream(content),
            *extra,
        ],
        xref_shift=xref_shift,
    )


def mapped_text_page(
    mapping: dict[int, str], rows: Iterable[bytes], font: bytes = b"Helvetica"
) -> bytes:
    """A one-page PDF whose text, in the font named `font`, is read through a ToUnicode map:
    each byte of `rows` (a row a line) stands for the text `mapping` gives it, UTF-16BE in
    hex ("0041", "D835DC65"), whatever that is: a control character, a lone surrogate."""
    pairs = b"".join(b"<%02X> <%s>\n" % (code, text.encode()) for code, text in mapping.items())
    cmap = (
        b"/CIDInit /ProcSet findresource begin 12 dict begin begincmap /CMapName /M def "
        b"1 begincodespacerange <00> <FF> endcodespacerange %d beginbfchar\n%sendbfchar "
        b"endcmap CMapName currentdict /CMap defineresource pop end end" % (len(mapping), pairs)
    )
    content = b"".join(
        b"BT /F1 24 Tf 72 %d Td <%s> Tj ET\n" % (700 - 40 * i, row.hex().encode())
        for i, row in enumerate(rows)
    )
    font_dict = b"<< /Type /Font /Subtype /Type1 /BaseFont /%s /ToUnicode 6 0 R >>" % font
    page = (
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
        b"/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>"
    )
    pages = b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>"
    return pdf_file([CATALOG, pages, page, font_dict, stream(content), stream(cmap)])


def image_page(image: bytes, entries: bytes, *, width: int, height: int) -> bytes:
    """A letter page covered by one image XObject: a scan, as far as the service can tell."""
    xobject = stream(
        image, b"/Type /XObject /Subtype /Image /Width %d /Height %d %s" % (width, height, entries)
    )
    return one_page(b"q 612 0 0 792 0 0 cm /Im1 Do Q\n", xobjects=b"/Im1 6 0 R", extra=[xobject])


def reportlab_pdf(
    pages: list[list[str]], *, encrypt: StandardEncryption | None = None, font_size: int = 20
) -> bytes:
    """A born-digital PDF from reportlab, its dates and ids pinned so the bytes repeat."""
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=letter, invariant=1, encrypt=encrypt)
    for lines in pages:
        pdf.setFont("Helvetica", font_size)
        for i, line in enumerate(lines):
            pdf.drawString(72, 680 - i * font_size * 1.6, line)
        pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def pillow_pdf(image: Image.Image, *, dpi: int = 200) -> bytes:
    """`image` as a one-page PDF by Pillow's own writer (no dates, so the bytes repeat)."""
    buffer = io.BytesIO()
    image.save(buffer, format="PDF", resolution=dpi, creationDate=None, modDate=None)
    return buffer.getvalue()


# -- raster helpers -----------------------------------------------------------------------------


def text_picture(mode: str = "L", *, font_size: int = 48) -> Image.Image:
    """`WORDS` in black on white, in `mode`."""
    return corpus.text_image([WORDS], font_size=font_size, margin=60).convert(mode)


def scan_page(mode: str = "L") -> Image.Image:
    """A letter page at 200 dpi with `WORDS` near its top, in `mode`."""
    page = Image.new("L", (1700, 2200), 255)
    page.paste(text_picture(), (150, 200))
    return page.convert(mode)


def g4_strip(image: Image.Image) -> bytes:
    """The CCITT Group 4 (T.6) coding of a bilevel image, taken from the strip of a TIFF."""
    tiff = corpus.image_bytes(
        image, "TIFF", compression="group4", strip_size=(image.width + 7) // 8 * image.height
    )
    with Image.open(io.BytesIO(tiff)) as decoded:
        assert isinstance(decoded, TiffImagePlugin.TiffImageFile)
        [offset] = decoded.tag_v2[273]
        [length] = decoded.tag_v2[279]
    return tiff[offset : offset + length]


def png_chunk(kind: bytes, data: bytes) -> bytes:
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))


def png_declaring(width: int, height: int) -> bytes:
    """A PNG header declaring `width` x `height` 8-bit gray pixels, with almost no data."""
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", zlib.compress(b"\0" * 4096, 9))
        + png_chunk(b"IEND", b"")
    )


def cut(data: bytes, percent: int) -> bytes:
    """The first `percent` % of `data`, as an interrupted upload would leave it."""
    return data[: len(data) * percent // 100]


# -- the PDFs -----------------------------------------------------------------------------------


@cache
def three_pages() -> bytes:
    """The intact document the truncated cases are cut from."""
    return reportlab_pdf([[line, "The quick brown fox jumps"] for line in PAGE_WORDS])


def garbage_after_header() -> bytes:
    return b"%PDF-1.7\n" + random.Random(17).randbytes(16 * 1024)


def zero_pages() -> bytes:
    return pdf_file([CATALOG, b"<< /Type /Pages /Kids [] /Count 0 >>"])


def encrypted_user() -> bytes:
    return reportlab_pdf(
        [[WORDS]], encrypt=StandardEncryption("user-secret", "owner-secret", strength=128)
    )


def encrypted_owner_only() -> bytes:
    # No user password: any reader opens it; the owner password only guards the permissions.
    return reportlab_pdf(
        [[WORDS]],
        encrypt=StandardEncryption(
            "", "owner-secret", canPrint=0, canModify=0, canCopy=0, canAnnotate=0, strength=128
        ),
    )


def huge_page(points: float) -> bytes:
    """A square page `points` wide (PDF caps user space at 14,400) with one line of text,
    drawn large enough to read at the low resolution such a page must be rendered at."""
    size = points / 25
    return one_page(
        text_ops(WORDS, x=points / 20, y=points / 2, size=size), box=(0, 0, points, points)
    )


def huge_ruled_page(points: float) -> bytes:
    """`huge_page` with rules across it and a line of white text: a page read from its text
    layer that is rendered all the same, to look for rules and for words it does not show."""
    size = points / 25
    rules = b"".join(
        b"%g w %g %g m %g %g l S\n" % (size / 20, points / 20, y, points * 0.9, y)
        for y in (points * 0.6, points * 0.4)
    )
    white = b"1 g " + text_ops("hidden", x=points / 20, y=points / 3, size=size) + b"0 g "
    return one_page(
        text_ops(WORDS, x=points / 20, y=points / 2, size=size) + rules + white,
        box=(0, 0, points, points),
    )


def zero_size_page() -> bytes:
    return one_page(text_ops(WORDS), box=(0, 0, 0, 0))


def jbig2_invalid() -> bytes:
    junk = b"\x97JB2\r\n\x1a\n" + random.Random(2).randbytes(2048)
    return image_page(
        junk,
        b"/ColorSpace /DeviceGray /BitsPerComponent 1 /Filter /JBIG2Decode",
        width=1700,
        height=2200,
    )


def _jbig2_segment(number: int, kind: int, data: bytes) -> bytes:
    # Header: number, flags (type; 1-byte page association), no referred-to segments, page 1.
    return struct.pack(">IBBBI", number, kind, 0, 1, len(data)) + data


def jbig2_mmr() -> bytes:
    """A valid embedded JBIG2 stream: a page information segment, then an immediate lossless
    generic region coded with MMR, i.e. the T.6 coding Pillow's TIFF writer makes."""
    page = scan_page("1")
    width, height = page.size
    info = struct.pack(">IIIIBH", width, height, 0, 0, 0, 0)
    # JBIG2 bitmaps say 1 for black; T.6 codes runs of "white" (0) first, so invert.
    mmr = g4_strip(Image.eval(page.convert("L"), lambda v: 255 - v).convert("1"))
    region = struct.pack(">IIIIB", width, height, 0, 0, 0) + b"\x01" + mmr
    data = _jbig2_segment(0, 48, info) + _jbig2_segment(1, 39, region)
    return image_page(
        data,
        b"/ColorSpace /DeviceGray /BitsPerComponent 1 /Filter /JBIG2Decode",
        width=width,
        height=height,
    )


def ccitt_g4() -> bytes:
    """Pillow's PDF writer stores a mode "1" image with /CCITTFaxDecode (K -1: Group 4)."""
    data = pillow_pdf(scan_page("1"))
    assert b"/CCITTFaxDecode" in data and b"/K -1" in data
    return data


def cmyk_jpeg_pdf() -> bytes:
    data = pillow_pdf(scan_page("CMYK"))
    assert b"/DeviceCMYK" in data and b"/DCTDecode" in data
    return data


def cyclic_page_tree() -> bytes:
    """The root's second kid is a node whose own /Kids holds the root again."""
    page = (
        b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 612 792] "
        b"/Resources << /Font << /F1 6 0 R >> >> /Contents %d 0 R >>"
    )
    return pdf_file(
        [
            CATALOG,
            b"<< /Type /Pages /Kids [3 0 R 4 0 R] /Count 3 >>",
            page % (2, 7),
            b"<< /Type /Pages /Parent 2 0 R /Kids [2 0 R 5 0 R] /Count 2 >>",
            page % (4, 8),
            FONT,
            stream(text_ops(PAGE_WORDS[0])),
            stream(text_ops(PAGE_WORDS[1])),
        ]
    )


def self_drawing_form() -> bytes:
    """A form XObject that draws itself, beside text on the page."""
    form = stream(
        b"/Fm1 Do\n0 0 m 100 100 l S\n",
        b"/Type /XObject /Subtype /Form /BBox [0 0 612 792] "
        b"/Resources << /XObject << /Fm1 6 0 R >> >>",
    )
    return one_page(text_ops(WORDS) + b"/Fm1 Do\n", xobjects=b"/Fm1 6 0 R", extra=[form])


@cache
def _bomb_stream() -> bytes:
    # Twice deflated: the first pass turns 400 MB of blanks into ~400 KB of repeats, the
    # second squeezes those repeats to a few KB. PDF readers undo filter arrays in order.
    inner = zlib.compressobj(9)
    chunk = b" " * (1 << 20)
    parts = [inner.compress(chunk) for _ in range(BOMB_BYTES // len(chunk))]
    once = b"".join(parts) + inner.flush()
    return zlib.compress(once, 9)


def flate_bomb() -> bytes:
    content = stream(_bomb_stream(), b"/Filter [/FlateDecode /FlateDecode]")
    resources = b"<< /Font << /F1 4 0 R >> >>"
    page = (
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources %s "
        b"/Contents [6 0 R 5 0 R] >>" % resources
    )
    return pdf_file(
        [
            CATALOG,
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            page,
            FONT,
            content,
            stream(text_ops(WORDS)),
        ]
    )


def count_overstated() -> bytes:
    """A page tree that claims five pages and holds one."""
    page = (
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
        b"/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>"
    )
    return pdf_file(
        [CATALOG, b"<< /Type /Pages /Kids [3 0 R] /Count 5 >>", page, FONT, stream(text_ops(WORDS))]
    )


def image_bomb() -> bytes:
    """A full-page image declaring 60,000 x 60,000 gray pixels (3.6 GB), with 100 KB of data."""
    return image_page(
        zlib.compress(b"\0" * 100_000, 9),
        b"/ColorSpace /DeviceGray /BitsPerComponent 8 /Filter /FlateDecode",
        width=60_000,
        height=60_000,
    )


def deep_nesting() -> bytes:
    """A page dictionary holding an array nested 100,000 deep, for recursive parsers."""
    depth = 100_000
    page = (
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Deep %s%s "
        b"/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>" % (b"[" * depth, b"]" * depth)
    )
    return pdf_file(
        [CATALOG, b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>", page, FONT, stream(text_ops(WORDS))]
    )


@cache
def operator_bomb() -> bytes:
    """A page of a few KB whose content inflates to 25 million path operators: parsing it
    takes minutes and gigabytes, so only the per-page timeout stops it."""
    ops = b"0 0 m 10 10 l S\n"
    inner = zlib.compressobj(9)
    chunk = ops * (1 << 16)
    parts = [inner.compress(chunk) for _ in range(BOMB_BYTES // len(chunk))]
    twice = zlib.compress(b"".join(parts) + inner.flush(), 9)
    return one_page(
        b"",
        extra=[stream(twice, b"/Filter [/FlateDecode /FlateDecode]")],
        contents=b"[5 0 R 6 0 R]",
    )


def wrong_xref_offsets() -> bytes:
    return one_page(text_ops(WORDS), xref_shift=37)


def many_pages() -> bytes:
    """`MANY_PAGES` pages sharing one content stream and inheriting everything else, packed
    in an object stream so that the file stays small."""
    kids = b" ".join(b"%d 0 R" % (5 + i) for i in range(MANY_PAGES))
    pages = (
        b"<< /Type /Pages /Kids [%s] /Count %d /MediaBox [0 0 200 100] "
        b"/Resources << /Font << /F1 3 0 R >> >> >>" % (kids, MANY_PAGES)
    )
    page = b"<< /Type /Page /Parent 2 0 R /Contents 4 0 R >>"
    content = stream(text_ops("Tiny page", x=10, y=40, size=18))
    return compact_pdf([CATALOG, pages, FONT, content, *([page] * MANY_PAGES)])


# -- the images ---------------------------------------------------------------------------------


def png_bomb() -> bytes:
    return png_declaring(100_000, 100_000)


def png_bomb_warning_band() -> bytes:
    # 225 M pixels: past the service's 180 M, but short of the 2x where Pillow itself errors.
    return png_declaring(15_000, 15_000)


def png_truncated() -> bytes:
    return cut(corpus.image_bytes(scan_page()), 50)


def jpeg_truncated() -> bytes:
    return cut(corpus.image_bytes(scan_page(), "JPEG", quality=90), 50)


def tiff_broken_second_frame() -> bytes:
    """Two deflated frames; the second frame's compressed strip is overwritten with noise."""
    first, second = scan_page(), scan_page()
    data = bytearray(
        corpus.image_bytes(
            first, "TIFF", compression="tiff_adobe_deflate", save_all=True, append_images=[second]
        )
    )
    with Image.open(io.BytesIO(bytes(data))) as tiff:
        assert isinstance(tiff, TiffImagePlugin.TiffImageFile)
        tiff.seek(1)
        offsets, lengths = tiff.tag_v2[273], tiff.tag_v2[279]
    noise = random.Random(3)
    for offset, length in zip(offsets, lengths, strict=True):
        data[offset : offset + length] = noise.randbytes(length)
    return bytes(data)


def tiff_ifd_loop() -> bytes:
    """A 2-frame TIFF whose last IFD names the first as the next: an endless frame chain."""
    data = bytearray(
        corpus.image_bytes(text_picture(), "TIFF", save_all=True, append_images=[text_picture()])
    )
    first, last = _ifds(bytes(data))[0], _ifds(bytes(data))[-1]
    struct.pack_into("<I", data, last + 2 + 12 * struct.unpack_from("<H", data, last)[0], first)
    return bytes(data)


def _ifds(data: bytes) -> list[int]:
    """The offsets of a little-endian TIFF's image file directories, in chain order."""
    found, position = [], struct.unpack_from("<I", data, 4)[0]
    while position and position not in found:
        found.append(position)
        count = struct.unpack_from("<H", data, position)[0]
        position = struct.unpack_from("<I", data, position + 2 + 12 * count)[0]
    return found


def _retag_second_frame(tag: int, new_tag: int, new_value: int | None = None) -> bytes:
    """A 2-frame TIFF whose second directory has entry `tag` renamed, or its value replaced."""
    data = bytearray(
        corpus.image_bytes(text_picture(), "TIFF", save_all=True, append_images=[text_picture()])
    )
    second = _ifds(bytes(data))[1]
    for entry in range(struct.unpack_from("<H", data, second)[0]):
        at = second + 2 + 12 * entry
        if struct.unpack_from("<H", data, at)[0] == tag:
            struct.pack_into("<H", data, at, new_tag)
            if new_value is not None:
                struct.pack_into("<H", data, at + 8, new_value)  # a SHORT, stored inline
    return bytes(data)


def tiff_second_frame_without_width() -> bytes:
    # ImageWidth (256) becomes a private tag, which readers skip.
    return _retag_second_frame(256, 65000)


def tiff_second_frame_unknown_compression() -> bytes:
    # Compression (259) 16389 is no scheme anybody knows.
    return _retag_second_frame(259, 259, 16389)


def jpeg_bomb() -> bytes:
    """A JPEG whose frame header declares 65,500 x 65,500 pixels."""
    data = bytearray(jpeg_bytes())
    frame = data.find(b"\xff\xc0")
    struct.pack_into(">HH", data, frame + 5, 65_500, 65_500)
    return bytes(data)


def webp_truncated() -> bytes:
    return cut(corpus.image_bytes(scan_page(), "WEBP"), 50)


def tiff_g4() -> bytes:
    return corpus.image_bytes(scan_page("1"), "TIFF", compression="group4")


def cmyk_jpeg() -> bytes:
    return corpus.image_bytes(scan_page("CMYK"), "JPEG", quality=90)


def gif_zero_size() -> bytes:
    """A GIF whose screen and only frame are 0 x 0 (Pillow refuses to write one)."""
    screen = b"GIF89a" + struct.pack("<HHBBB", 0, 0, 0x80, 0, 0) + b"\0\0\0\xff\xff\xff"
    frame = b"," + struct.pack("<HHHHB", 0, 0, 0, 0, 0) + b"\x02\x02\x4c\x01\x00"
    return screen + frame + b";"


def jpeg_bytes() -> bytes:
    return corpus.image_bytes(text_picture(), "JPEG", quality=90)


def tiff_bytes() -> bytes:
    return corpus.image_bytes(text_picture(), "TIFF")


def random_bytes() -> bytes:
    data = random.Random(11).randbytes(8192)
    assert b"%PDF-" not in data
    return b"\x00" + data[1:]  # no image's magic starts with a NUL


def png_magic_then_noise() -> bytes:
    return b"\x89PNG\r\n\x1a\n" + random.Random(5).randbytes(4096)


def empty() -> bytes:
    return b""


CASES: dict[str, Hostile] = {
    case.name: case
    for case in [
        Hostile(
            "pdf_truncated_50",
            "a 3-page PDF cut at half its length",
            lambda: cut(three_pages(), 50),
        ),
        Hostile(
            "pdf_truncated_90",
            "a 3-page PDF cut at 90 % (no xref, no trailer)",
            lambda: cut(three_pages(), 90),
        ),
        Hostile(
            "pdf_truncated_tail",
            "a PDF without its last 30 bytes (startxref, %%EOF)",
            lambda: three_pages()[:-30],
        ),
        Hostile("pdf_garbage_after_header", "%PDF-1.7 and 16 KiB of noise", garbage_after_header),
        Hostile("pdf_zero_pages", "a page tree with /Count 0 and no kids", zero_pages),
        Hostile("pdf_encrypted_user", "RC4-128, user and owner passwords", encrypted_user),
        Hostile(
            "pdf_encrypted_owner_only",
            "RC4-128, owner password only: opens without one",
            encrypted_owner_only,
        ),
        Hostile(
            "pdf_page_14400",
            "a 14,400 pt square page (the PDF maximum) with a line of text",
            lambda: huge_page(14_400),
        ),
        Hostile(
            "pdf_page_14400_ruled",
            "a 14,400 pt square page with a line of text, rules and a line of white text",
            lambda: huge_ruled_page(14_400),
        ),
        Hostile(
            "pdf_page_35000",
            "a 35,000 pt square page with a line of text",
            lambda: huge_page(35_000),
        ),
        Hostile("pdf_page_zero_size", "a page whose MediaBox is [0 0 0 0]", zero_size_page),
        Hostile(
            "pdf_jbig2_invalid", "a full-page image of noise declared /JBIG2Decode", jbig2_invalid
        ),
        Hostile(
            "pdf_jbig2_mmr", "a full-page valid JBIG2 (MMR generic region) image of text", jbig2_mmr
        ),
        Hostile("pdf_ccitt_g4", "a full-page /CCITTFaxDecode Group 4 image of text", ccitt_g4),
        Hostile("pdf_cmyk_jpeg", "a full-page CMYK /DCTDecode image of text", cmyk_jpeg_pdf),
        Hostile(
            "pdf_cyclic_page_tree", "a /Kids entry pointing back at the root", cyclic_page_tree
        ),
        Hostile("pdf_self_drawing_form", "a form XObject that draws itself", self_drawing_form),
        Hostile(
            "pdf_flate_bomb", "a content stream of a few KB that inflates to 400 MB", flate_bomb
        ),
        Hostile(
            "pdf_wrong_xref_offsets",
            "every xref offset 37 bytes off (repairable)",
            wrong_xref_offsets,
        ),
        Hostile(
            "pdf_count_overstated", "a page tree saying /Count 5 over one page", count_overstated
        ),
        Hostile("pdf_image_bomb", "a full-page image declaring 60,000 x 60,000 pixels", image_bomb),
        Hostile(
            "pdf_deep_nesting", "an array nested 100,000 deep in the page dictionary", deep_nesting
        ),
        Hostile(
            "pdf_operator_bomb",
            "a content stream of a few KB that inflates to 25 M paths",
            operator_bomb,
        ),
        Hostile("pdf_many_pages", f"{MANY_PAGES} tiny pages in a small file", many_pages),
        Hostile(
            "png_bomb",
            "a PNG declaring 100,000 x 100,000 pixels",
            png_bomb,
            "image/png",
            "image_url",
        ),
        Hostile(
            "png_bomb_warning_band",
            "a PNG declaring 15,000 x 15,000 pixels",
            png_bomb_warning_band,
            "image/png",
            "image_url",
        ),
        Hostile(
            "png_truncated", "a PNG cut at half its length", png_truncated, "image/png", "image_url"
        ),
        Hostile(
            "jpeg_truncated",
            "a JPEG cut at half its length",
            jpeg_truncated,
            "image/jpeg",
            "image_url",
        ),
        Hostile(
            "tiff_broken_second_frame",
            "a 2-frame TIFF whose second strip is noise",
            tiff_broken_second_frame,
            "image/tiff",
        ),
        Hostile(
            "tiff_ifd_loop",
            "a 2-frame TIFF whose IFD chain loops back to the first",
            tiff_ifd_loop,
            "image/tiff",
            "image_url",
        ),
        Hostile(
            "tiff_second_frame_without_width",
            "a 2-frame TIFF whose second IFD lacks a width",
            tiff_second_frame_without_width,
            "image/tiff",
            "image_url",
        ),
        Hostile(
            "tiff_second_frame_unknown_compression",
            "a 2-frame TIFF whose second IFD names compression 16389",
            tiff_second_frame_unknown_compression,
            "image/tiff",
            "image_url",
        ),
        Hostile(
            "jpeg_bomb",
            "a JPEG declaring 65,500 x 65,500 pixels",
            jpeg_bomb,
            "image/jpeg",
            "image_url",
        ),
        Hostile(
            "webp_truncated",
            "a WebP cut at half its length",
            webp_truncated,
            "image/webp",
            "image_url",
        ),
        Hostile("tiff_g4", "a CCITT Group 4 TIFF of text", tiff_g4, "image/tiff", "image_url"),
        Hostile("jpeg_cmyk", "a CMYK JPEG of text", cmyk_jpeg, "image/jpeg", "image_url"),
        Hostile("gif_zero_size", "a GIF of 0 x 0 pixels", gif_zero_size, "image/gif", "image_url"),
        Hostile(
            "jpeg_declared_png", "a JPEG sent as image/png", jpeg_bytes, "image/png", "image_url"
        ),
        Hostile("tiff_declared_pdf", "a TIFF sent as application/pdf", tiff_bytes),
        Hostile("random_bytes", "8 KiB of noise", random_bytes, "application/octet-stream"),
        Hostile(
            "png_magic_then_noise",
            "a PNG signature and then noise",
            png_magic_then_noise,
            "image/png",
            "image_url",
        ),
        Hostile("empty", "a zero-byte file", empty, "image/png", "image_url"),
    ]
}


@cache
def _built(name: str) -> bytes:
    return CASES[name].build()


def main(argv: list[str]) -> int:
    """Write every hostile document into the directory named by `argv[0]`."""
    if len(argv) != 1:
        sys.exit("usage: python -m tools.hostile OUT_DIR")
    out = Path(argv[0])
    out.mkdir(parents=True, exist_ok=True)
    for case in CASES.values():
        suffix = case.mime.split("/")[-1].replace("octet-stream", "bin")
        (out / f"{case.name}.{suffix}").write_bytes(case.data())
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
