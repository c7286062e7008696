"""Sniffing and data URLs: declared types are never trusted."""

from __future__ import annotations

import base64

import pytest
from PIL import PngImagePlugin

from ocr_engine.errors import DocumentTooLarge, InvalidRequest, UnsupportedDocument
from ocr_engine.sources import DocumentKind, decode_data_url, sniff
from tools import corpus


@pytest.mark.parametrize(
    ("fmt", "mime"),
    [
        ("PNG", "image/png"),
        ("JPEG", "image/jpeg"),
        ("TIFF", "image/tiff"),
        ("GIF", "image/gif"),
        ("BMP", "image/bmp"),
        ("WEBP", "image/webp"),
    ],
)
def test_sniffs_images_by_their_bytes(fmt: str, mime: str) -> None:
    data = corpus.image_bytes(corpus.text_image(["x"]).convert("RGB"), fmt)
    assert sniff(data[:1024]).mime == mime
    assert sniff(data[:1024]).kind == "image"


def test_sniffs_pdf_even_after_leading_junk() -> None:
    assert sniff(b"\xef\xbb\xbf\n%PDF-1.7\n...").kind == "pdf"


_PNG_TEXT = PngImagePlugin.PngInfo()
_PNG_TEXT.add_text("Comment", "Rendered from a %PDF-1.7 page")


@pytest.mark.parametrize(
    ("fmt", "mime", "params"),
    [
        ("PNG", "image/png", {"pnginfo": _PNG_TEXT}),
        ("TIFF", "image/tiff", {"description": "Converted from %PDF-1.4 by a scanner"}),
        ("JPEG", "image/jpeg", {"comment": b"Source: %PDF-1.5 export"}),
    ],
)
def test_an_image_that_mentions_a_pdf_header_is_an_image(
    fmt: str, mime: str, params: dict[str, object]
) -> None:
    data = corpus.image_bytes(corpus.text_image(["x"]).convert("RGB"), fmt, **params)
    assert b"%PDF-" in data[:1024]
    assert sniff(data[:1024]) == DocumentKind("image", mime)


def test_refuses_other_bytes() -> None:
    with pytest.raises(UnsupportedDocument) as e:
        sniff(b"PK\x03\x04 a zip file")
    assert e.value.status == 415


def test_decodes_base64_whatever_the_declared_mime() -> None:
    url = "data:text/plain;base64," + base64.b64encode(b"%PDF-1.4 body").decode()
    assert decode_data_url(url, max_bytes=100, param="p") == b"%PDF-1.4 body"


def test_decodes_urlsafe_and_unpadded_base64() -> None:
    raw = bytes(range(250, 256)) * 3
    url = "data:image/png;base64," + base64.urlsafe_b64encode(raw).decode().rstrip("=")
    assert decode_data_url(url, max_bytes=100, param="p") == raw


@pytest.mark.parametrize(
    "url",
    [
        "data:image/png;base64,!!!not base64!!!",
        "data:image/png;base64,",
        "data:image/png,plain-not-base64",
        "data:image/png;base64",
    ],
)
def test_bad_data_urls_are_400(url: str) -> None:
    with pytest.raises(InvalidRequest) as e:
        decode_data_url(url, max_bytes=100, param="document.document_url")
    assert e.value.status == 400
    assert e.value.param == "document.document_url"


def test_too_large_is_413_before_decoding() -> None:
    url = "data:application/pdf;base64," + "A" * 4000
    with pytest.raises(DocumentTooLarge) as e:
        decode_data_url(url, max_bytes=1000, param="p")
    assert e.value.status == 413
