"""A scanned PDF page is read from its image as stored, pixel for pixel what rendering it
would give; every other page is rendered."""

from __future__ import annotations

import io
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pikepdf
import pytest
from PIL import Image

from ocr_engine import pdf
from tools import corpus

DPI = 100
WIDTH, HEIGHT = 850, 1100  # letter at 100 dpi


@pytest.fixture(scope="module")
def page_image() -> Image.Image:
    text = corpus.text_image(["Scanned pages are read as they were stored"] * 12, font_size=18)
    page = Image.new("L", (WIDTH, HEIGHT), 255)
    page.paste(text, (40, 60))
    page.paste(90, (600, 700, 800, 900))  # a gray patch, so gray levels are compared too
    return page


def _pdf(
    path: Path,
    data: bytes,
    *,
    content: bytes = b"q 612 0 0 792 0 0 cm /Im0 Do Q",
    rotate: int = 0,
    extra: dict[str, Any] | None = None,
    **image: Any,
) -> Path:
    """A one-page letter PDF drawing one image XObject with `image`'s dictionary entries."""
    document = pikepdf.new()
    stream = pikepdf.Stream(
        document, data, Type=pikepdf.Name.XObject, Subtype=pikepdf.Name.Image, **image
    )
    page = document.add_blank_page(page_size=(612, 792))
    page.Resources = pikepdf.Dictionary(XObject=pikepdf.Dictionary(Im0=stream), **(extra or {}))
    page.Contents = document.make_stream(content)
    if rotate:
        page.Rotate = rotate
    document.save(path)
    return path


def _gray(image: Image.Image, **entries: Any) -> dict[str, Any]:
    """An 8-bit gray Flate image's dictionary entries, with `entries` in their place."""
    return {
        "Width": image.width,
        "Height": image.height,
        "ColorSpace": pikepdf.Name.DeviceGray,
        "BitsPerComponent": 8,
        "Filter": pikepdf.Name.FlateDecode,
        **entries,
    }


def _bits(image: Image.Image) -> Image.Image:
    return image.convert("1", dither=Image.Dither.NONE)


def _pillow(image: Image.Image) -> Callable[[Path], Path]:
    def write(path: Path) -> Path:
        image.save(path, resolution=DPI)
        return path

    return write


def _jpeg(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


SCANS: dict[str, Callable[[Image.Image, Path], Path]] = {
    "JPEG gray": lambda im, p: _pillow(im)(p),
    "JPEG colour": lambda im, p: _pillow(im.convert("RGB"))(p),
    "CCITT bilevel": lambda im, p: _pillow(_bits(im))(p),
    "palette": lambda im, p: _pillow(im.convert("P"))(p),
    "Flate gray, inverted by its Decode array": lambda im, p: _pdf(
        p,
        zlib.compress(Image.eval(im, lambda v: 255 - v).tobytes()),
        **_gray(im, Decode=pikepdf.Array([1, 0])),
    ),
    "Flate 1-bit": lambda im, p: _pdf(
        p, zlib.compress(_bits(im).tobytes()), **_gray(im, BitsPerComponent=1)
    ),
    "CMYK JPEG": lambda im, p: _pdf(
        p,
        _jpeg(im.convert("CMYK")),
        **_gray(im, ColorSpace=pikepdf.Name.DeviceCMYK, Filter=pikepdf.Name.DCTDecode),
    ),
}


def _pixels(image: Image.Image) -> np.ndarray:
    return np.asarray(image.convert("L"), dtype=np.int16)


@pytest.mark.parametrize("kind", list(SCANS))
def test_a_scan_is_its_image_as_rendering_would_give_it(
    page_image: Image.Image, tmp_path: Path, kind: str
) -> None:
    path = SCANS[kind](page_image, tmp_path / "scan.pdf")
    pdf_page = pdf.page(str(path), 0)
    try:
        scanned = pdf._scan(pdf_page, DPI, str(path), 0)
        rendered = pdf.render_page(pdf_page, DPI)
    finally:
        pdf_page.close()
        pdf.release()
    assert scanned is not None, f"{kind}: the image was not taken as the page"
    assert scanned.mode == "L" and scanned.size == rendered.size
    # PDFium converts CMYK a level apart from its own rendering; everything else is exact.
    assert np.abs(_pixels(scanned) - _pixels(rendered)).max() <= 1
    image, dpi = pdf.render(str(path), 0, renderer=pdf.PDFIUM, dpi=DPI, max_pixels=10**8)
    assert dpi == DPI and image.tobytes() == scanned.tobytes()
    pdf.release()


NOT_SCANS: dict[str, Callable[[Image.Image, Path], Path]] = {
    # A stencil mask is painted in the page's fill colour, not its own.
    "a stencil mask": lambda im, p: _pdf(
        p,
        zlib.compress(_bits(im).tobytes()),
        Width=im.width,
        Height=im.height,
        ImageMask=True,
        Filter=pikepdf.Name.FlateDecode,
    ),
    "a turned page": lambda im, p: _pdf(p, zlib.compress(im.tobytes()), rotate=90, **_gray(im)),
    "an image on half the page": lambda im, p: _pdf(
        p,
        zlib.compress(im.tobytes()),
        content=b"q 306 0 0 396 0 396 cm /Im0 Do Q",
        **_gray(im),
    ),
    "a mirrored image": lambda im, p: _pdf(
        p,
        zlib.compress(im.tobytes()),
        content=b"q 612 0 0 -792 0 792 cm /Im0 Do Q",
        **_gray(im),
    ),
    "an image of another resolution": lambda im, p: _pdf(
        p, zlib.compress(im.resize((425, 550)).tobytes()), **_gray(im.resize((425, 550)))
    ),
    "an image seen through a soft mask": lambda im, p: _soft_masked(im, p),
    "an image with words drawn over it": lambda im, p: _pdf(
        p,
        zlib.compress(im.tobytes()),
        content=b"q 612 0 0 792 0 0 cm /Im0 Do Q BT /F1 24 Tf 72 72 Td (over) Tj ET",
        extra={
            "Font": pikepdf.Dictionary(
                F1=pikepdf.Dictionary(
                    Type=pikepdf.Name.Font,
                    Subtype=pikepdf.Name.Type1,
                    BaseFont=pikepdf.Name.Helvetica,
                )
            )
        },
        **_gray(im),
    ),
}


def _soft_masked(image: Image.Image, path: Path) -> Path:
    document = pikepdf.new()
    image_type = {"Type": pikepdf.Name.XObject, "Subtype": pikepdf.Name.Image, **_gray(image)}
    half = zlib.compress(bytes([128]) * image.width * image.height)
    mask = pikepdf.Stream(document, half, **image_type)
    stream = pikepdf.Stream(document, zlib.compress(image.tobytes()), SMask=mask, **image_type)
    page = document.add_blank_page(page_size=(612, 792))
    page.Resources = pikepdf.Dictionary(XObject=pikepdf.Dictionary(Im0=stream))
    page.Contents = document.make_stream(b"q 612 0 0 792 0 0 cm /Im0 Do Q")
    document.save(path)
    return path


@pytest.mark.parametrize("kind", list(NOT_SCANS))
def test_any_other_page_is_rendered(page_image: Image.Image, tmp_path: Path, kind: str) -> None:
    path = NOT_SCANS[kind](page_image, tmp_path / "page.pdf")
    pdf_page = pdf.page(str(path), 0)
    try:
        assert pdf._scan(pdf_page, DPI, str(path), 0) is None, kind
        rendered = pdf.render_page(pdf_page, DPI)
    finally:
        pdf_page.close()
    image, _ = pdf.render(str(path), 0, renderer=pdf.PDFIUM, dpi=DPI, max_pixels=10**8)
    assert image.tobytes() == rendered.tobytes()
    pdf.release()
