"""A JSON request body read as it streams in, its document's data URL decoded to disk.

A client that sends a 50 MB scan as a base64 data URL inside the JSON of an OCR request
would otherwise have the server hold the body (67 MB), the decoded document and, while
parsing, a string of it. Here the body is scanned chunk by chunk: everything but the one
large data URL (the "envelope", at most `MAX_ENVELOPE` bytes) is kept and parsed as JSON
afterwards, with that URL's payload left empty, while the payload itself is unescaped,
base64-decoded and written to a file as it arrives. Memory stays flat whatever the size.

Only a base64 data URL string longer than `_STREAM_AFTER` is streamed, and only one: the
envelope limit refuses any other large content.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import os
import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from ocr_engine.errors import DocumentTooLarge, InvalidRequest
from ocr_engine.sources import sniff

from .config import MB
from .errors import InsufficientStorage, is_disk_full

MAX_ENVELOPE = MB  # the JSON of a request, apart from its document's data URL
_STREAM_AFTER = 64 * 1024  # a data URL string this long goes to disk, not into the envelope
_SNIFF_BYTES = 1024
_IN_THREAD = 256 * 1024
_SPECIAL = re.compile(rb'["\\]')
_WHITESPACE = b" \t\r\n"
_URLSAFE = bytes.maketrans(b"-_", b"+/")
_TOO_DEEP = "The request body is nested too deeply to be an OCR request."
# JSON escapes that can stand in a base64 payload: an escaped slash, and line breaks.
_PAYLOAD_ESCAPES = {ord("/"): b"/", ord("n"): b"", ord("r"): b"", ord("t"): b""}
_HEX4 = re.compile(rb"[0-9A-Fa-f]{4}")
# JSON parsed whole (a batch's body, a line of a batch file) costs Python tens of bytes a
# value: "[{},{},...]" takes 25 times its size. Real requests carry their bulk in data URLs,
# whose base64 holds no separator, so counting separators bounds what parsing can cost.
MAX_JSON_VALUES = 1_000_000
_SEPARATORS = (b",", b":", b"[", b"{")
_DOCUMENT_TYPES = ("document_url", "image_url", "file")  # `document.type`, as the schema has it


@dataclass(frozen=True)
class SpooledDocument:
    """A data URL's document decoded to a file, which the caller moves or removes."""

    path: Path
    size: int
    header: str  # the URL without its payload: "data:application/pdf;base64,"


def _invalid_payload() -> InvalidRequest:
    return InvalidRequest("The data URL's payload is not valid base64.", param="document")


def loads(raw: bytes) -> Any:
    """JSON, with the service's own errors for what is not JSON."""
    try:
        return json.loads(raw)
    except RecursionError:
        raise InvalidRequest(_TOO_DEEP) from None
    except ValueError:
        raise InvalidRequest("The request body is not valid JSON.") from None


def check_values(raw: bytes, *, what: str, param: str | None = None) -> None:
    """Refuse JSON with more values than any real request holds, before it is parsed."""
    if sum(raw.count(mark) for mark in _SEPARATORS) > MAX_JSON_VALUES:
        raise DocumentTooLarge(
            f"{what} holds more than {MAX_JSON_VALUES} JSON values; send documents as data "
            "URLs or files, not as many small values.",
            param=param,
        )


class _Decoder:
    """Base64 (standard or URL-safe, with line breaks, padded or not) decoded into a file."""

    def __init__(self, out: IO[bytes], *, max_bytes: int, param: str) -> None:
        self._out = out
        self._pending = b""
        self._max = max_bytes
        self._param = param
        self.size = 0
        self.head = b""

    def feed(self, text: bytes) -> None:
        text = self._pending + text.translate(_URLSAFE, _WHITESPACE)
        padding = text.find(b"=")
        if padding < 0:
            whole = len(text) - len(text) % 4
            self._pending = text[whole:]
        else:
            # Padding ends the payload: only more padding may follow, and what waits for
            # `close` is the last group, not the rest of the body (kept, it was copied again
            # with every chunk: 20 s of the server's time for a 60 MB body).
            if text[padding:].strip(b"="):
                raise self._invalid()
            whole = padding // 4 * 4
            self._pending = text[whole:padding] + b"="
        if whole:
            self._write(self._decode(text[:whole]))

    def close(self) -> None:
        rest = self._pending.rstrip(b"=")
        if rest:
            if b"=" in rest:
                raise self._invalid()
            self._write(self._decode(rest + b"=" * (-len(rest) % 4)))
        if not self.size:
            raise InvalidRequest("The data URL's payload is empty.", param=self._param)

    def _decode(self, text: bytes) -> bytes:
        try:
            return base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            raise self._invalid() from None

    def _invalid(self) -> InvalidRequest:
        return InvalidRequest("The data URL's payload is not valid base64.", param=self._param)

    def _write(self, data: bytes) -> None:
        self.size += len(data)
        if self.size > self._max:
            raise DocumentTooLarge(
                f"The document is larger than the limit of {self._max} bytes.", param=self._param
            )
        if len(self.head) < _SNIFF_BYTES:
            self.head += data[: _SNIFF_BYTES - len(self.head)]
        self._out.write(data)


class _Scanner:
    """The body's bytes sorted into the envelope and, once, a streamed data URL payload."""

    def __init__(self, temp: Path, *, max_document: int) -> None:
        self.envelope = bytearray()
        self._temp = temp
        self._max_document = max_document
        self._in_string = False
        self._escape = False  # the last byte seen inside a string was an unescaped backslash
        self._hex: bytearray | None = None  # the digits of a \uXXXX escape being read
        self._string = bytearray()  # the string being read, while it is short
        self._decoder: _Decoder | None = None
        self._file: IO[bytes] | None = None
        self.path: Path | None = None
        self.header = ""
        self.head = b""  # the document's first bytes, to tell what it is
        self.done = False  # the streamed string has ended

    def feed(self, chunk: bytes) -> None:
        position = 0
        while position < len(chunk):
            if not self._in_string:
                quote = chunk.find(b'"', position)
                stop = len(chunk) if quote < 0 else quote + 1
                self._keep(chunk[position:stop])
                position = stop
                if quote >= 0:
                    self._in_string = True
                continue
            if self._decoder is not None:
                position = self._stream(chunk, position)
            else:
                position = self._short(chunk, position)

    def _keep(self, data: bytes) -> None:
        self.envelope += data
        if len(self.envelope) > MAX_ENVELOPE:
            raise DocumentTooLarge(
                f"Apart from the document's data URL, the request body may be at "
                f"most {MAX_ENVELOPE // MB} MiB of JSON."
            )

    def _short(self, chunk: bytes, position: int) -> int:
        """Read a string into `_string`; start streaming it if it is a long data URL."""
        end = position
        while end < len(chunk):
            if self._escape:
                self._escape = False
                end += 1
                continue
            found = _SPECIAL.search(chunk, end)
            if found is None:
                end = len(chunk)
                break
            end = found.start()
            if chunk[end] == 0x5C:  # a backslash: the next byte is escaped
                self._escape = True
                end += 1
                continue
            # The closing quote.
            self._string += chunk[position:end]
            self._close_short()
            return end + 1
        self._string += chunk[position:end]
        if len(self._string) > _STREAM_AFTER and not self.done:
            self._begin_stream()
        if len(self._string) > MAX_ENVELOPE:
            self._keep(bytes(self._string))  # refused there, with the envelope's message
        return len(chunk)

    def _close_short(self) -> None:
        self._keep(bytes(self._string) + b'"')
        self._string.clear()
        self._in_string = False

    def _begin_stream(self) -> None:
        """Turn the string read so far into a streamed data URL, if it is one."""
        text = bytes(self._string)
        comma = text.find(b",", 0, 512)
        if text[:5].lower() != b"data:" or comma < 0 or b";base64" not in text[:comma].lower():
            return
        self.header = loads(b'"' + text[: comma + 1] + b'"')
        self.path = self._temp / f"{uuid.uuid4().hex}.part"
        self._file = open(self.path, "wb")  # noqa: SIM115 (closed by _end_stream or discard)
        self._decoder = _Decoder(self._file, max_bytes=self._max_document, param="document")
        self._string.clear()
        # The payload read so far, escapes and all: a backslash at its end (or a \u escape
        # cut short) leaves the escape to finish in the next chunk.
        self._escape = False
        self._payload(text, comma + 1, len(text))

    def _stream(self, chunk: bytes, position: int) -> int:
        """Feed a streamed payload until its closing quote.

        The payload is found with `bytes.find` (memchr: milliseconds for 15 MB, where a
        regular expression's character class takes a tenth of a second). Base64 holds no
        quote, so the chunk's first quote ends the payload (or makes it invalid, if escaped).
        """
        quote = chunk.find(b'"', position)
        stop = len(chunk) if quote < 0 else quote
        self._payload(chunk, position, stop)
        if quote < 0:
            return len(chunk)
        if self._escape or self._hex is not None:  # an escaped quote, or one inside \uXXXX
            raise _invalid_payload()
        self._end_stream()
        return quote + 1

    def _payload(self, data: bytes, position: int, stop: int) -> None:
        """Feed `data[position:stop]`, a piece of the payload, unescaped, to the decoder.

        Each search for a backslash is one `bytes.find`, however many escapes there are; the
        pieces between them go to the decoder together. An escape may be cut by the end of
        a chunk: its state carries over to the next.
        """
        assert self._decoder is not None
        pieces: list[bytes] = []
        while position < stop:
            if self._escape or self._hex is not None:
                position = self._escaped(data, position, stop, pieces)
                continue
            backslash = data.find(b"\\", position, stop)
            pieces.append(data[position : stop if backslash < 0 else backslash])
            if backslash < 0:
                break
            self._escape = True
            position = backslash + 1
        if pieces:
            self._decoder.feed(b"".join(pieces))

    def _escaped(self, data: bytes, position: int, stop: int, pieces: list[bytes]) -> int:
        """Read (part of) an escape: the byte after a backslash, or a \\uXXXX's digits."""
        if self._hex is None:
            self._escape = False
            if data[position] == ord("u"):
                self._hex = bytearray()
                return position + 1
            replacement = _PAYLOAD_ESCAPES.get(data[position])
            if replacement is None:
                raise _invalid_payload()
            pieces.append(replacement)
            return position + 1
        take = min(4 - len(self._hex), stop - position)
        self._hex += data[position : position + take]
        if len(self._hex) == 4:
            # JSON encoders escape characters base64 uses (.NET's escapes "+" as \u002B): the
            # character itself, for the decoder to judge; nothing past ASCII is base64.
            if not _HEX4.fullmatch(self._hex) or int(self._hex, 16) >= 0x80:
                raise _invalid_payload()
            pieces.append(bytes([int(self._hex, 16)]))
            self._hex = None
        return position + take

    def _end_stream(self) -> None:
        assert self._decoder is not None and self._file is not None
        self._decoder.close()
        self.head = self._decoder.head
        self._file.close()
        self._keep(json.dumps(self.header).encode()[1:])  # the header and the closing quote
        self._decoder = None
        self._in_string = False
        self.done = True

    def discard(self) -> None:
        if self._file is not None:
            self._file.close()
        if self.path is not None:
            self.path.unlink(missing_ok=True)


async def read_json(
    chunks: AsyncIterator[bytes], *, temp: Path, max_document: int
) -> tuple[Any, SpooledDocument | None]:
    """The body's JSON, with its document's base64 data URL (if long) decoded to a file in
    `temp` instead: the URL is left in the JSON as its header alone."""
    scanner = _Scanner(temp, max_document=max_document)
    try:
        async for chunk in chunks:
            scanner.feed(chunk)
        if scanner._in_string:
            raise InvalidRequest("The request body is not valid JSON.")
        envelope = bytes(scanner.envelope)
        if not envelope.strip():
            raise InvalidRequest("The request body is empty; send the OCR request as JSON.")
        # Parsing holds the interpreter's lock either way; off the loop, a large envelope
        # at least does not hold up the loop's own bookkeeping.
        body = (
            loads(envelope)
            if len(envelope) < _IN_THREAD
            else await asyncio.to_thread(loads, envelope)
        )
        if scanner.path is None:
            return body, None
        _check_document_field(body, scanner.header)
        sniff(scanner.head)
        size = os.path.getsize(scanner.path)
        return body, SpooledDocument(scanner.path, size, scanner.header)
    except OSError as e:
        scanner.discard()
        if is_disk_full(e):
            raise InsufficientStorage() from None
        raise
    except BaseException:
        scanner.discard()
        raise


def _check_document_field(body: Any, header: str) -> None:
    """The streamed data URL must be the request's document, not some other field."""
    document = body.get("document") if isinstance(body, dict) else None
    if isinstance(document, dict) and document.get("type") not in _DOCUMENT_TYPES:
        return  # a type that names no field (a list, a typo): validation names it, as a 400
    url = document.get(document["type"]) if isinstance(document, dict) else None
    if isinstance(url, dict):
        url = url.get("url")
    if url != header:
        raise DocumentTooLarge(
            "Only the document's data URL may make a request body large; "
            "this one is large elsewhere."
        )
