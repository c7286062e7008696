"""PDF pages to images: PDFium (pypdfium2) first, poppler (pdf2image) where PDFium gives up.

Runs inside worker processes only. Each call renders one page, so memory is bounded by the
page in hand, never by the document.
"""

from __future__ import annotations

import logging
import math
import re

import pikepdf
import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_raw
from PIL import Image

from .errors import InvalidRequest, UnprocessableDocument

log = logging.getLogger(__name__)

PDFIUM = "pdfium"
POPPLER = "poppler"

_POINTS_PER_INCH = 72
_POPPLER_TIMEOUT_S = 120
_MIN_DPI = 20
_EMPTY_SCAN_BYTES = 1024 * 1024

# One open document per worker: consecutive pages of a job usually land on the same worker,
# and reopening a large PDF per page re-parses its cross-reference table every time.
_open: dict[str, pdfium.PdfDocument] = {}
# The same document's objects as qpdf reads them, for what PDFium does not tell (image masks).
_objects: dict[str, pikepdf.Pdf | None] = {}


def _document(path: str) -> pdfium.PdfDocument:
    doc = _open.get(path)
    if doc is None:
        release()
        doc = _open[path] = pdfium.PdfDocument(path)
        # A form's fields drawn as a viewer draws them, appearances made where a filled form
        # left that to the viewer (NeedAppearances): see `page`.
        doc.init_forms()
    return doc


def _object_tree(path: str) -> pikepdf.Pdf | None:
    if path not in _objects:
        try:
            _objects[path] = pikepdf.open(path)
        except (pikepdf.PdfError, pikepdf.PasswordError, OSError):
            _objects[path] = None
    return _objects[path]


def release() -> None:
    """Close the cached document, so a deleted file's space is freed."""
    for doc in _open.values():
        doc.close()
    _open.clear()
    for tree in _objects.values():
        if tree is not None:
            tree.close()
    _objects.clear()


def _encrypted(error: pdfium.PdfiumError) -> bool:
    return bool(getattr(error, "err_code", None) == pdfium_raw.FPDF_ERR_PASSWORD)


def inspect(path: str) -> tuple[str, int]:
    """The renderer that can open the PDF and its page count."""
    try:
        return PDFIUM, len(_document(path))
    except pdfium.PdfiumError as e:
        if _encrypted(e):
            raise UnprocessableDocument(
                "The PDF is encrypted with a password; send it decrypted.", param="document"
            ) from e
        log.info("PDFium cannot open the PDF (%s); trying poppler", e)
    return POPPLER, _poppler_page_count(path)


def _poppler_page_count(path: str) -> int:
    from pdf2image import pdfinfo_from_path
    from pdf2image.exceptions import PDFInfoNotInstalledError

    try:
        info = pdfinfo_from_path(path, timeout=_POPPLER_TIMEOUT_S)
        return int(info["Pages"])
    except PDFInfoNotInstalledError as e:
        raise UnprocessableDocument(
            "PDFium cannot read this PDF and poppler is not installed.", param="document"
        ) from e
    except Exception as e:  # pdf2image raises a variety of errors for damaged files
        if _has_no_pages(path):
            raise InvalidRequest("The document has no pages.", param="document") from e
        raise UnprocessableDocument(
            "The PDF is damaged beyond repair: neither PDFium nor poppler can read it.",
            param="document",
        ) from e


def _has_no_pages(path: str) -> bool:
    """Whether an unreadable PDF is simply empty: a page tree that counts 0 and no page."""
    with open(path, "rb") as f:
        data = f.read(_EMPTY_SCAN_BYTES)
    return (
        re.search(rb"/Count\s+0\b", data) is not None
        and re.search(rb"/Type\s*/Page(?!s)", data) is None
    )


def page(path: str, index: int) -> pdfium.PdfPage:
    """Page `index` of a PDF PDFium can open, its annotations and form fields drawn into it as
    a viewer shows them (a filled form's answers are no annotations to the reader); the
    caller closes it."""
    try:
        document = _document(path)
        pdf_page = document[index]
        if pdfium_raw.FPDFPage_GetAnnotCount(pdf_page) and (
            pdfium_raw.FPDFPage_Flatten(pdf_page, pdfium_raw.FLAT_NORMALDISPLAY)
            == pdfium_raw.FLATTEN_SUCCESS
        ):
            # PDFium reads what was drawn into the page when it loads the page again.
            pdf_page.close()
            pdf_page = document[index]
        width, height = pdf_page.get_size()
        if width <= 0 or height <= 0:
            # A crop box wholly off the media box: viewers (Poppler, pdf.js) show the media
            # box, where PDFium would show nothing and its words would be lost.
            pdf_page.set_cropbox(*pdf_page.get_mediabox())
        return pdf_page
    except pdfium.PdfiumError as e:
        raise UnprocessableDocument(
            f"Page {index} of the PDF cannot be read: {e}", param="document"
        ) from e


def fitted_dpi(
    pdf_page: pdfium.PdfPage, dpi: int, max_pixels: int, *, for_rendering: bool = True
) -> int:
    """`dpi`, lowered where the page would render to more than `max_pixels`.

    Below 20 dpi a rendered page is too coarse to read and is refused; a page read from its
    text layer is never rendered, so any resolution will do for its coordinates.
    """
    width, height = pdf_page.get_size()
    return _fit_dpi(width, height, dpi, max_pixels, minimum=_MIN_DPI if for_rendering else 1)


_MASKS = ("/SMask", "/Mask", "/SMaskInData")


def _masked(path: str, index: int) -> bool:
    """Whether an image on the page is seen through a mask (PDFium decodes an image without
    its mask, so what is under the transparent parts would show), or the page cannot be
    told."""
    tree = _object_tree(path)
    if tree is None:
        return True
    try:
        images = pikepdf.Page(tree.pages[index]).get_images().values()
        return any(key in image.stream_dict for image in images for key in _MASKS)
    except (pikepdf.PdfError, IndexError, KeyError, TypeError, ValueError):
        return True


def render_page(pdf_page: pdfium.PdfPage, dpi: int, *, grayscale: bool = True) -> Image.Image:
    """The page as an image at `dpi`."""
    try:
        bitmap = pdf_page.render(scale=dpi / _POINTS_PER_INCH, grayscale=grayscale)
    except pdfium.PdfiumError as e:
        raise UnprocessableDocument(
            f"A page of the PDF cannot be rendered: {e}", param="document"
        ) from e
    # to_pil() shares PDFium's buffer; copy so the bitmap can be freed now.
    image: Image.Image = bitmap.to_pil().copy()
    bitmap.close()
    return image


def render(
    path: str, index: int, *, renderer: str, dpi: int, max_pixels: int
) -> tuple[Image.Image, int]:
    """Render page `index` in grayscale; the DPI is lowered if the page would pass `max_pixels`."""
    if renderer == POPPLER:
        return _render_poppler(path, index, dpi=dpi, max_pixels=max_pixels)
    pdf_page = page(path, index)
    try:
        dpi = fitted_dpi(pdf_page, dpi, max_pixels)
        return _scan(pdf_page, dpi, path, index) or render_page(pdf_page, dpi), dpi
    finally:
        pdf_page.close()


# Colour spaces whose images PDFium decodes to the pixels it would render (Decode arrays and
# palettes applied); a stencil mask (no colour space) takes its colour from the page instead.
_PLAIN_SPACES = frozenset(
    (
        pdfium_raw.FPDF_COLORSPACE_DEVICEGRAY,
        pdfium_raw.FPDF_COLORSPACE_DEVICERGB,
        pdfium_raw.FPDF_COLORSPACE_DEVICECMYK,
        pdfium_raw.FPDF_COLORSPACE_CALGRAY,
        pdfium_raw.FPDF_COLORSPACE_CALRGB,
        pdfium_raw.FPDF_COLORSPACE_ICCBASED,
        pdfium_raw.FPDF_COLORSPACE_INDEXED,
    )
)
_COVER_PT = 0.5  # the image's edges within this of the page's


def _scan(pdf_page: pdfium.PdfPage, dpi: int, path: str, index: int) -> Image.Image | None:
    """A scanned page's image as it is stored, when rendering the page at `dpi` would only
    copy it; None for any other page.

    A scan is a page with one image on it, upright, covering the page, at the resolution the
    page is rendered at. Decoding the image alone gives the same pixels at a fifth of the cost
    of rendering the page (13 against 60 ms for a 300 dpi letter page), which is a twentieth
    of reading it.
    """
    if pdf_page.get_rotation() or pdfium_raw.FPDFPage_CountObjects(pdf_page) != 1:
        return None
    if pdfium_raw.FPDFPage_HasTransparency(pdf_page):
        return None
    image = next(pdf_page.get_objects(max_depth=1), None)
    if not isinstance(image, pdfium.PdfImage):
        return None
    a, b, c, d, _, _ = image.get_matrix().get()
    if b or c or a <= 0 or d <= 0:  # turned, sheared or mirrored
        return None
    left, bottom, right, top = image.get_bounds()
    edges = zip((left, bottom, right, top), pdf_page.get_cropbox(), strict=True)
    if any(abs(edge - page_edge) > _COVER_PT for edge, page_edge in edges):
        return None
    if image.get_metadata().colorspace not in _PLAIN_SPACES or _masked(path, index):
        return None
    width, height = image.get_px_size()
    scale = dpi / _POINTS_PER_INCH
    rendered = math.ceil(pdf_page.get_width() * scale), math.ceil(pdf_page.get_height() * scale)
    if abs(width - rendered[0]) > 1 or abs(height - rendered[1]) > 1:
        return None
    try:
        bitmap = image.get_bitmap(render=False)
    except pdfium.PdfiumError:
        return None  # the page's own rendering says what is wrong with it
    # to_pil() shares PDFium's buffer, freed with the bitmap when this returns: copy it.
    decoded: Image.Image = bitmap.to_pil()
    return decoded.convert("L") if decoded.mode != "L" else decoded.copy()


def _fit_dpi(
    width_pt: float, height_pt: float, dpi: int, max_pixels: int, *, minimum: int = 20
) -> int:
    pixels = (width_pt * dpi / _POINTS_PER_INCH) * (height_pt * dpi / _POINTS_PER_INCH)
    if pixels <= max_pixels:
        return dpi
    fitted = max(1, int(dpi * math.sqrt(max_pixels / pixels)))
    if fitted < minimum:
        raise UnprocessableDocument(
            f"A page measures {width_pt / 72:.0f} x {height_pt / 72:.0f} inches, too large to "
            f"render within {max_pixels} pixels.",
            param="document",
        )
    return fitted


def _render_poppler(path: str, index: int, *, dpi: int, max_pixels: int) -> tuple[Image.Image, int]:
    from pdf2image import convert_from_path, pdfinfo_from_path

    try:
        info = pdfinfo_from_path(
            path, first_page=index + 1, last_page=index + 1, timeout=_POPPLER_TIMEOUT_S
        )
        size = str(info.get("Page size", ""))
        parts = size.split()
        if len(parts) >= 3 and parts[1] == "x":
            dpi = _fit_dpi(float(parts[0]), float(parts[2]), dpi, max_pixels)
        images = convert_from_path(
            path,
            dpi=dpi,
            first_page=index + 1,
            last_page=index + 1,
            grayscale=True,
            timeout=_POPPLER_TIMEOUT_S,
        )
    except UnprocessableDocument:
        raise
    except Exception as e:
        raise UnprocessableDocument(
            f"Page {index} of the PDF cannot be rendered by poppler.", param="document"
        ) from e
    if not images:
        raise UnprocessableDocument(
            f"Page {index} of the PDF rendered to nothing.", param="document"
        )
    return images[0], dpi
