"""Where a document's bytes come from, and what they are.

Declared types and mime types are never trusted: a `document_url` may hold a PNG and an
`image_url` a PDF, so every document is identified by its leading bytes.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass

from .errors import DocumentTooLarge, InvalidRequest, UnsupportedDocument

# Some writers put a BOM, whitespace or junk before the header; PDF readers look a little way in.
_PDF_HEADER_WINDOW = 1024

_IMAGE_MAGIC: tuple[tuple[bytes, int, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", 0, "image/png"),
    (b"\xff\xd8\xff", 0, "image/jpeg"),
    (b"II*\x00", 0, "image/tiff"),
    (b"MM\x00*", 0, "image/tiff"),
    (b"GIF87a", 0, "image/gif"),
    (b"GIF89a", 0, "image/gif"),
    (b"BM", 0, "image/bmp"),
    (b"WEBP", 8, "image/webp"),
)

_URLSAFE_B64 = re.compile(r"[A-Za-z0-9+/_-]*={0,2}")
_URLSAFE_TO_STANDARD = str.maketrans("-_", "+/")
_DATA_URL = re.compile(r"^data:(?P<mime>[^;,]*)(?P<params>(;[^;,]*)*?),", re.IGNORECASE)


@dataclass(frozen=True)
class DocumentKind:
    """What a document's bytes turned out to be."""

    kind: str  # "pdf" | "image"
    mime: str


def sniff(head: bytes) -> DocumentKind:
    """Identify a document from its first bytes, or raise UnsupportedDocument.

    An image's signature in its place wins over a PDF header further in: an image's
    metadata (a PNG's text, a TIFF's description, a JPEG's comment) may mention "%PDF-".
    """
    if head.startswith(b"%PDF-"):
        return DocumentKind("pdf", "application/pdf")
    for magic, offset, mime in _IMAGE_MAGIC:
        if head[offset : offset + len(magic)] == magic:
            if mime == "image/webp" and head[:4] != b"RIFF":
                continue
            return DocumentKind("image", mime)
    if b"%PDF-" in head[:_PDF_HEADER_WINDOW]:
        return DocumentKind("pdf", "application/pdf")
    raise UnsupportedDocument(
        "The document is neither a PDF nor a supported image (PNG, JPEG, TIFF, WebP, BMP, GIF).",
        param="document",
    )


def is_data_url(url: str) -> bool:
    return url[:5].lower() == "data:"


def decode_data_url(
    url: str, *, max_bytes: int, param: str, payload: bytes | memoryview | str | None = None
) -> bytes:
    """Decode a `data:<mime>;base64,<payload>` URL, enforcing the size limit.

    `payload`, when given, is the URL's base64 part, lifted out of a large request body so
    that it never becomes a Python string; `url` then holds only the header.
    """
    match = _DATA_URL.match(url)
    if match is None:
        raise InvalidRequest(
            "The data URL has no ',' separating its header from its payload.", param=param
        )
    if ";base64" not in match.group("params").lower():
        raise InvalidRequest(
            "Only base64 data URLs are accepted ('data:<mime>;base64,...').", param=param
        )
    return _decode_base64(
        payload if payload is not None else url[match.end() :], max_bytes=max_bytes, param=param
    )


def _decode_base64(payload: str | bytes | memoryview, *, max_bytes: int, param: str) -> bytes:
    # base64 grows data by 4/3; refuse before decoding what is certainly too large.
    if len(payload) * 3 // 4 > max_bytes + 3:
        raise DocumentTooLarge(
            f"The document is larger than the limit of {max_bytes} bytes.", param=param
        )
    try:
        data = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        data = _decode_lenient(payload, param=param)
    if not data:
        raise InvalidRequest("The data URL's payload is empty.", param=param)
    if len(data) > max_bytes:
        raise DocumentTooLarge(
            f"The document is larger than the limit of {max_bytes} bytes.", param=param
        )
    return data


def _decode_lenient(payload: str | bytes | memoryview, *, param: str) -> bytes:
    """Base64 with line breaks, URL-safe letters or no padding, as browsers and SDKs send it."""
    text = payload if isinstance(payload, str) else bytes(payload).decode("ascii", "replace")
    compact = "".join(text.split())
    invalid = InvalidRequest("The data URL's payload is not valid base64.", param=param)
    if not _URLSAFE_B64.fullmatch(compact):
        raise invalid
    standard = compact.rstrip("=").translate(_URLSAFE_TO_STANDARD)
    try:
        return base64.b64decode(standard + "=" * (-len(standard) % 4))
    except (binascii.Error, ValueError):
        raise invalid from None
