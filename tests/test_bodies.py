"""Request bodies read as they stream: the document's data URL decoded to disk, the rest JSON."""

from __future__ import annotations

import asyncio
import base64
import json
import random
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from ocr_engine.errors import DocumentTooLarge, InvalidRequest, UnsupportedDocument
from server.bodies import MAX_ENVELOPE, SpooledDocument, read_json

PDF = b"%PDF-1.7\n" + bytes(random.Random(1).randrange(256) for _ in range(300_000))


async def _chunks(data: bytes, sizes: random.Random) -> AsyncIterator[bytes]:
    position = 0
    while position < len(data):
        step = sizes.randrange(1, 70_000)
        yield data[position : position + step]
        position += step


def _read(raw: bytes, tmp_path: Path, seed: int = 0) -> tuple[Any, SpooledDocument | None]:
    return asyncio.run(
        read_json(_chunks(raw, random.Random(seed)), temp=tmp_path, max_document=10**7)
    )


def _body(url: str, **extra: Any) -> dict[str, Any]:
    return {"model": "m", "document": {"type": "document_url", "document_url": url}, **extra}


@pytest.mark.parametrize("seed", range(6))
def test_a_large_data_url_is_decoded_to_disk_and_the_rest_parsed(seed: int, tmp_path: Path) -> None:
    encoded = base64.b64encode(PDF).decode()
    if seed % 2:
        encoded = base64.urlsafe_b64encode(PDF).decode().rstrip("=")  # URL-safe, unpadded
    if seed % 3 == 2:
        encoded = "\n".join(encoded[i : i + 76] for i in range(0, len(encoded), 76))
    raw = json.dumps(_body(f"data:application/pdf;base64,{encoded}", pages="0-1"))
    if seed >= 3:
        raw = raw.replace("/", "\\/")  # encoders that escape every slash
    body, spooled = _read(raw.encode(), tmp_path, seed)
    assert spooled is not None
    assert spooled.path.read_bytes() == PDF and spooled.size == len(PDF)
    assert body["document"]["document_url"] == spooled.header == "data:application/pdf;base64,"
    assert body["pages"] == "0-1" and body["model"] == "m"


@pytest.mark.parametrize("seed", range(8))
def test_a_large_data_url_with_unicode_escapes_is_read_as_json_reads_it(
    seed: int, tmp_path: Path
) -> None:
    # .NET's System.Text.Json escapes "+" as \u002B; any character may be written so. The
    # chunks are cut at random, so escapes are cut across them.
    encoded = base64.b64encode(PDF).decode()
    wrapped = "\n".join(encoded[i : i + 1000] for i in range(0, len(encoded), 1000))
    raw = json.dumps(_body(f"data:application/pdf;base64,{wrapped}"))
    escaped = raw.replace("A", "\\u0041").replace("+", "\\u002B").replace("/", "\\u002f")
    escaped = escaped.replace("\\n", "\\u000a")
    assert json.loads(escaped) == json.loads(raw)
    body, spooled = _read(escaped.encode(), tmp_path, seed)
    assert spooled is not None and spooled.path.read_bytes() == PDF
    assert body["document"]["document_url"] == "data:application/pdf;base64,"
    refused = tmp_path / "refused"
    refused.mkdir()
    middle = raw.index("base64,") + 200_000
    for bad in ("\\u00e9", "\\u002", "\\u0022"):  # past ASCII; cut short; a quote
        with pytest.raises(InvalidRequest):
            _read((raw[:middle] + bad + raw[middle:]).encode(), refused, seed)
    assert list(refused.iterdir()) == []


def test_a_small_body_is_parsed_whole(tmp_path: Path) -> None:
    url = "data:image/png;base64," + base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"0" * 100).decode()
    raw = json.dumps(_body(url, note='a "quoted" \\ string')).encode()
    body, spooled = _read(raw, tmp_path)
    assert spooled is None and body == json.loads(raw)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        (
            json.dumps(_body("data:application/pdf;base64," + "A" * 200_000 + "!")),
            InvalidRequest,
        ),
        (json.dumps(_body("data:application/pdf;base64," + "QUJD" * 50_000)), UnsupportedDocument),
        (json.dumps(_body("https://x/" + "a" * (MAX_ENVELOPE + 10))), DocumentTooLarge),
        (
            json.dumps(
                {
                    **_body("data:application/pdf;base64,AAAA"),
                    "other": "data:application/pdf;base64," + base64.b64encode(PDF).decode(),
                }
            ),
            DocumentTooLarge,
        ),
        (
            json.dumps(_body("data:application/pdf;base64," + base64.b64encode(PDF).decode()))[:-5],
            InvalidRequest,
        ),
        ("", InvalidRequest),
    ],
)
def test_bad_bodies_are_refused_and_leave_nothing(
    raw: str, error: type[Exception], tmp_path: Path
) -> None:
    with pytest.raises(error):
        _read(raw.encode(), tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_a_document_over_the_limit_is_refused_as_it_streams(tmp_path: Path) -> None:
    raw = json.dumps(_body("data:application/pdf;base64," + base64.b64encode(PDF).decode()))

    async def run() -> None:
        await read_json(
            _chunks(raw.encode(), random.Random(0)), temp=tmp_path, max_document=len(PDF) - 1
        )

    with pytest.raises(DocumentTooLarge):
        asyncio.run(run())
    assert list(tmp_path.iterdir()) == []


def test_an_image_url_object_and_a_bare_header_are_streamed_too(tmp_path: Path) -> None:
    encoded = base64.b64encode(PDF).decode()
    for document in (
        {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{encoded}"}},
        {"type": "document_url", "document_url": f"data:;base64,{encoded}"},
    ):
        raw = json.dumps({"model": "m", "document": document}).replace("/", "\\/").encode()
        body, spooled = _read(raw, tmp_path)
        assert spooled is not None and spooled.path.read_bytes() == PDF
        spooled.path.unlink()
        kept = body["document"][document["type"]]
        assert (kept["url"] if isinstance(kept, dict) else kept) == spooled.header


@pytest.mark.parametrize("after", [b"A", b"\\n A"])
def test_data_after_the_padding_is_refused_at_once(after: bytes, tmp_path: Path) -> None:
    # Base64's padding ends the payload. What followed it was kept for the end of the body
    # and copied again with every chunk: a 60 MB body of it took the server 20 s, not 1.
    read = 0

    async def chunks() -> AsyncIterator[bytes]:
        nonlocal read
        yield (
            b'{"document": {"type": "document_url", "document_url": "data:;base64,' + b"A" * 70_000
        )
        yield b"AA=="
        for _ in range(64):
            read += 1
            yield after * (65_536 // len(after))
        yield b'"}}'

    with pytest.raises(InvalidRequest, match="not valid base64"):
        asyncio.run(read_json(chunks(), temp=tmp_path, max_document=10**8))
    assert read == 1
    assert list(tmp_path.iterdir()) == []


def test_padding_may_come_in_pieces_and_twice(tmp_path: Path) -> None:
    encoded = base64.b64encode(PDF + b"x").decode()
    assert encoded.endswith("==")
    head, padding = encoded[:-2], encoded[-2:]

    async def chunks() -> AsyncIterator[bytes]:
        yield json.dumps(_body("data:application/pdf;base64," + head))[:-3].encode()
        for piece in (padding[0], padding[1], "=" * 100_000):
            yield piece.encode()
        yield b'"}}'

    async def run() -> tuple[Any, SpooledDocument | None]:
        return await read_json(chunks(), temp=tmp_path, max_document=10**8)

    _, spooled = asyncio.run(run())
    assert spooled is not None and spooled.path.read_bytes() == PDF + b"x"
