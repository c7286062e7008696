"""The service attacked as an outsider would, class by class, against the running process.

- The fetch fence: IP literals in any spelling the URL library or the resolver accepts, IPv6
  forms that carry IPv4, redirects, and the socket check beneath them all. A listener on
  every loopback address records each request: a refused URL must never reach it.
- Amplification: page selections that multiply; deep JSON.
- Client faults that must be 4xx in the error shape, never 500 or plain text.
- Rejected work leaves nothing behind; orphans of a crash are swept at start-up.
- The queue bound is atomic; a FIFO cannot hang a reader.
"""

from __future__ import annotations

import asyncio
import base64
import gzip
import http.server
import io
import json
import math
import os
import re
import socket
import sqlite3
import struct
import threading
import time
import uuid
import zlib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import aiohttp
import httpx
import pytest
from lxml import etree
from PIL import Image, TiffImagePlugin, TiffTags
from reportlab.lib.pagesizes import letter
from reportlab.pdfgen import canvas

from server.fetch import AddressRefused, FetchPolicy, client_session
from server.metrics import resident_bytes
from tests.conftest import Server, data_url, ocr_body, refused_start
from tests.test_api import assert_bifrost_error
from tools import corpus, hostile

# -- a listener on every loopback address, and a host that redirects to it ---------------------


class Recorder:
    """An HTTP server on 0.0.0.0: reachable as 127.0.0.1, 127.0.0.2, ::ffff:127.0.0.1 ..."""

    def __init__(self, png: bytes) -> None:
        self.paths: list[str] = []
        recorder = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                recorder.paths.append(self.path)
                if self.path.startswith("/to/"):  # /to/<url>: a redirect there, sent as UTF-8
                    location = unquote(self.path[len("/to/") :]).encode()
                    self.wfile.write(
                        b"HTTP/1.1 302 Found\r\nLocation: "
                        + location
                        + b"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                    )
                    self.close_connection = True
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(png)))
                self.end_headers()
                self.wfile.write(png)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("0.0.0.0", 0), Handler)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def secrets(self) -> list[str]:
        """Requests that reached a path only a refused URL names."""
        return [p for p in self.paths if p.startswith("/secret")]

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def recorder(hello_png: bytes) -> Iterator[Recorder]:
    r = Recorder(hello_png)
    yield r
    r.close()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again when the block ends


def _document(url: str, kind: str) -> dict[str, Any]:
    if kind == "image_url_object":
        return {"type": "image_url", "image_url": {"url": url, "detail": "auto"}}
    return {"type": kind, kind: url}


# Spellings of loopback and private addresses that a look at the URL's ASCII text misses.
UNICODE_HOSTS = [
    "１２７.０.０.１",  # fullwidth digits and full stops
    "127。0。0。1",  # ideographic full stop
    "127｡0｡0｡1",  # halfwidth ideographic full stop
    "127．0．0．1",  # fullwidth full stop only
    "①②⑦.0.0.1",  # circled digits
    "𝟏𝟐𝟕.𝟎.𝟎.𝟏",  # mathematical bold digits
    "１２７.１",  # short form, fullwidth
    "１０.０.０.１",  # private, fullwidth
    "１６９.２５４.１６９.２５４",  # the metadata service, fullwidth
]
LITERAL_HOSTS = [
    "127.1",
    "0x7f.0.0.1",
    "0x7f000001",
    "2130706433",
    "017700000001",
    "0177.0.0.01",
    "[::127.0.0.1]",
    "[::ffff:127.0.0.1]",
    "[::ffff:7f00:1]",
    "[0:0:0:0:0:ffff:127.0.0.1]",
    "[::ffff:0:7f00:1]",
    "[64:ff9b::7f00:1]",
    "[64:ff9b::a9fe:a9fe]",
    "[2002:7f00:1::1]",
    "[2002:a9fe:a9fe::]",
    "[64:ff9b:1::a00:1]",
    "[::ffff:169.254.169.254]",
    "[::]",
    "0",
    "[fe80::1%25lo]",
    "[fc00::1]",
    "100.64.0.1",
    "198.18.0.1",
    "[::1]",
    # Not globally reachable, though some Pythons' tables say so.
    "192.0.0.100",
    "192.88.99.1",
    "[::ffff:192.0.0.8]",
    "[fec0::1]",
    "[3fff::1]",
    "[5f00::1]",
    "[100:0:0:1::1]",
]


@pytest.mark.parametrize("host", UNICODE_HOSTS + LITERAL_HOSTS)
def test_refused_hosts_are_refused_before_any_job(
    server: Server, recorder: Recorder, host: str
) -> None:
    url = f"http://{host}:{recorder.port}/secret/{uuid.uuid4().hex}"
    with server.client() as client:
        for kind in ("document_url", "image_url", "image_url_object"):
            for endpoint in ("/v1/ocr", "/v1/async/ocr"):
                body = {"model": "tesseract", "document": _document(url, kind)}
                response = client.post(endpoint, json=body)
                error = assert_bifrost_error(response, 400, contains="is not allowed")
                assert error["error"]["code"] == "document_url_refused"
    assert recorder.secrets() == []


def test_unicode_hosts_are_named_as_they_would_be_reached(
    server: Server, recorder: Recorder
) -> None:
    with server.client() as client:
        response = client.post(
            "/v1/ocr",
            json={
                "model": "tesseract",
                "document": _document(
                    f"http://１２７.０.０.１:{recorder.port}/secret", "document_url"
                ),
            },
        )
    assert_bifrost_error(response, 400, contains="from 127.0.0.1 is not allowed")


def test_open_and_closed_ports_answer_alike(server: Server, recorder: Recorder) -> None:
    """No port-scan oracle: a refused address is never connected to."""
    answers = []
    with server.client() as client:
        for port in (recorder.port, closed_port()):
            for host in ("１２７.０.０.１", "[::ffff:127.0.0.1]", "localhost"):
                response = client.post(
                    "/v1/ocr",
                    json={
                        "model": "tesseract",
                        "document": _document(f"http://{host}:{port}/secret", "image_url"),
                    },
                )
                answers.append((host, response.status_code, response.json()["error"]))
    for host, status, error in answers:
        same_host = [a for a in answers if a[0] == host]
        assert all(a[1:] == (status, error) for a in same_host), same_host
        assert status == 400 and error["code"] == "document_url_refused"
    assert recorder.secrets() == []


def test_async_jobs_with_names_that_resolve_to_loopback_fail_unfetched(
    server: Server, recorder: Recorder
) -> None:
    with server.client() as client:
        created = client.post(
            "/v1/async/ocr",
            json={
                "model": "tesseract",
                "document": _document(f"http://localhost:{recorder.port}/secret", "image_url"),
            },
        )
        assert created.status_code == 202
        body = server.wait_job(client, created.json()["id"]).json()
    assert body["status"] == "failed" and body["status_code"] == 400
    assert body["error"]["error"]["code"] == "document_url_refused"
    assert recorder.secrets() == []


@pytest.fixture(scope="module")
def allowing(start_module_server: Any) -> Server:
    """A service whose operator allows one loopback address, 127.0.0.1, and nothing else."""
    return start_module_server({"TESSERA_FETCH_ALLOW": "127.0.0.1/32"}, workers=1)


@pytest.mark.parametrize(
    "target",
    [
        "http://１２７.０.０.２:{port}/secret",
        "http://127。0。0。2:{port}/secret",
        "http://[::ffff:127.0.0.2]:{port}/secret",
        "http://0x7f000002:{port}/secret",
        "http://[::1]:{port}/secret",
    ],
)
def test_redirects_from_an_allowed_host_are_judged_the_same(
    allowing: Server, recorder: Recorder, target: str
) -> None:
    url = f"http://127.0.0.1:{recorder.port}/to/{target.format(port=recorder.port)}"
    with allowing.client() as client:
        sync = client.post(
            "/v1/ocr", json={"model": "tesseract", "document": _document(url, "image_url")}
        )
        assert_bifrost_error(sync, 400, contains="not allowed")
        created = client.post(
            "/v1/async/ocr", json={"model": "tesseract", "document": _document(url, "image_url")}
        )
        job = allowing.wait_job(client, created.json()["id"]).json()
    assert job["status"] == "failed" and job["error"]["error"]["code"] == "document_url_refused"
    assert recorder.secrets() == []


def test_a_redirect_to_an_unreadable_url_is_a_plain_400(
    allowing: Server, recorder: Recorder
) -> None:
    with allowing.client() as client:
        for location in ("http://[::1:80/x", "http://a b/", "http://x:99999/"):
            url = f"http://127.0.0.1:{recorder.port}/to/{location}"
            response = client.post(
                "/v1/ocr", json={"model": "tesseract", "document": _document(url, "image_url")}
            )
            body = assert_bifrost_error(response, 400, contains="redirected")
            assert "Error" not in body["error"]["message"]  # no class names


def test_the_socket_check_stands_without_the_url_check(recorder: Recorder) -> None:
    """The HTTP client itself refuses: a literal address (which aiohttp never resolves) and a
    name that resolves to loopback, with no check of the URL in front."""

    async def attempt(url: str) -> BaseException | None:
        async with client_session(FetchPolicy()) as session:
            try:
                async with session.get(url) as response:
                    await response.read()
            except aiohttp.ClientConnectorError as e:
                return e.os_error
        return None

    for host in ("127.0.0.1", "localhost", "[::ffff:127.0.0.1]", "[::ffff:7f00:1]"):
        refused = asyncio.run(attempt(f"http://{host}:{recorder.port}/secret/direct"))
        assert isinstance(refused, AddressRefused), (host, refused)
    assert recorder.secrets() == []


# -- amplification ----------------------------------------------------------------------------


def _rss_kb(pid: int) -> int:
    resident = resident_bytes(pid)
    assert resident is not None
    return resident // 1024


def test_page_ranges_that_multiply_cost_nothing(server: Server, three_page_pdf: bytes) -> None:
    assert server.process is not None
    before = _rss_kb(server.process.pid)
    selections = [
        ",".join(["0-99999"] * 300),
        ",".join(["0-999999"] * 1000),
        ",".join(f"{i}-{i + 99999}" for i in range(0, 600, 2)),
        list(range(10_000)),
    ]
    with server.client() as client:
        for pages in selections:
            sync = client.post("/v1/ocr", json=ocr_body(three_page_pdf, pages=pages))
            assert_bifrost_error(sync, 400, param="pages", contains="does not exist")
            created = client.post("/v1/async/ocr", json=ocr_body(three_page_pdf, pages=pages))
            job = server.wait_job(client, created.json()["id"]).json()
            assert job["status"] == "failed" and job["status_code"] == 400
        health = client.get("/health")
    assert health.status_code == 200
    assert _rss_kb(server.process.pid) - before < 64 * 1024  # no list of every index


def test_deep_json_is_a_400(server: Server) -> None:
    with server.client() as client:
        for depth in (10_000, 200_000):  # a small body parsed at once, a large one in a thread
            for endpoint in ("/v1/ocr", "/v1/async/ocr"):
                for raw in (
                    "[" * depth,
                    '{"a":' * depth,
                    '{"model": "tesseract", "fallbacks": ' + "[" * depth + "]" * depth + "}",
                ):
                    response = client.post(endpoint, content=raw.encode())
                    assert_bifrost_error(response, 400)


def test_deep_json_in_a_query_is_a_400(server: Server) -> None:
    """The batch listing's `metadata` filter is JSON too, nested past the parser's depth."""
    with server.client() as client:
        deep = "[" * 1200 + "]" * 1200  # short enough for a request line
        response = client.get("/v1/batch/jobs", params={"metadata": deep})
    assert_bifrost_error(response, 400, param="metadata")


def _peak_kb(pid: int) -> int:
    """The process's peak resident memory so far (VmHWM)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError("no VmHWM")


def test_a_batch_of_small_values_is_refused_before_it_is_parsed(start_server: Any) -> None:
    """A batch's body and each line of a batch file are parsed whole: 20 MB of "{}," would
    take half a gigabyte as Python objects. Both are refused by their count of values."""
    node = start_server(workers=1)
    assert node.process is not None
    before = _peak_kb(node.process.pid)
    small = b"{}," * 7_000_000
    with node.client() as client:
        body = b'{"endpoint": "/v1/ocr", "requests": [' + small + b'{"body": {}}]}'
        assert_bifrost_error(client.post("/v1/batch/jobs", content=body), 413, param="requests")
        line = b'{"body": {"x": [' + small + b"{}]}}\n"
        upload = client.post(
            "/v1/files", files={"file": ("b.jsonl", line)}, data={"purpose": "batch"}
        )
        assert_bifrost_error(upload, 413, param="file", contains="Line 1")
    assert _peak_kb(node.process.pid) - before < 200 * 1024


def test_only_the_document_may_make_a_body_large(server: Server, hello_png: bytes) -> None:
    """Past 256 KB a body is parsed apart from its document's base64; the JSON around it
    is refused past 1 MiB before it is parsed (parsing holds the interpreter's lock)."""
    document = {"type": "image_url", "image_url": data_url(hello_png, "image/png")}
    bulky = [
        {"model": "tesseract", "document": document, "pages": [0] * 3_000_000},
        {"model": "tesseract", "document": document, "fallbacks": [{"a": 1}] * 300_000},
        {"model": "tesseract", "document": document, "gateway": "x" * 3_000_000},
        {
            "model": "tesseract",
            "document": {**document, "document_name": "data:a;base64," + "QUFB" * 700_000},
        },
        {
            "model": "tesseract",
            "document": {"type": "document_url", "document_url": "https://example.invalid/a.pdf"},
            "pad": [1] * 10**6,
        },
    ]
    assert server.process is not None
    before = _rss_kb(server.process.pid)
    with server.client() as client:
        for body in bulky:
            for endpoint in ("/v1/ocr", "/v1/async/ocr"):
                response = client.post(endpoint, content=json.dumps(body).encode())
                assert_bifrost_error(response, 413, contains="data URL")
        # A document sent by an encoder that escapes "/" (and wraps its base64) is still read.
        wrapped = "\\n".join(
            document["image_url"][i : i + 76] for i in range(0, len(document["image_url"]), 76)
        )
        raw = json.dumps(
            {"model": "tesseract", "document": {"type": "image_url", "image_url": "WRAPPED"}}
        ).replace("WRAPPED", wrapped + "\\n" * 200_000)
        response = client.post("/v1/ocr", content=raw.replace("/", "\\/").encode())
        assert response.status_code == 200, response.text
        assert "Hello" in response.json()["pages"][0]["markdown"]
    assert _rss_kb(server.process.pid) - before < 128 * 1024


# -- client faults that must be 4xx in the error shape -----------------------------------------


def _raw(server: Server, request: bytes) -> tuple[int, dict[str, Any]]:
    """Send bytes as they are; the status and the JSON body of the answer."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as s:
        s.sendall(request)
        data = b""
        while chunk := s.recv(65536):
            data += chunk
            if b"\r\n\r\n" in data:
                head, _, body = data.partition(b"\r\n\r\n")
                length = [
                    int(line.split(b":")[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length:")
                ]
                if length and len(body) >= length[0]:
                    break
    head, _, body = data.partition(b"\r\n\r\n")
    status = int(head.split(b" ")[1])
    assert b"application/json" in head.lower(), head
    return status, json.loads(body)


def _post(path: str, body: bytes, *headers: bytes) -> bytes:
    extra = b"".join(h + b"\r\n" for h in headers)
    return (
        b"POST "
        + path.encode()
        + b" HTTP/1.1\r\nHost: tessera\r\nConnection: close\r\n"
        + extra
        + b"Content-Length: "
        + str(len(body)).encode()
        + b"\r\n\r\n"
        + body
    )


@pytest.mark.parametrize(
    ("name", "request_bytes", "status"),
    [
        ("brotli body", _post("/v1/ocr", b"{}", b"Content-Encoding: br"), 415),
        ("zstd body", _post("/v1/ocr", b"{}", b"Content-Encoding: zstd"), 415),
        # Codings aiohttp does not decode would be read as if there were none.
        ("compress body", _post("/v1/ocr", b"{}", b"Content-Encoding: compress"), 415),
        ("x-gzip body", _post("/v1/ocr", b"{}", b"Content-Encoding: x-gzip"), 415),
        ("unknown coding", _post("/v1/async/ocr", b"{}", b"Content-Encoding: foo"), 415),
        (
            "two codings",
            _post("/v1/ocr", gzip.compress(gzip.compress(b"{}")), b"Content-Encoding: gzip, gzip"),
            415,
        ),
        ("identity coding", _post("/v1/ocr", b"{}", b"Content-Encoding: identity"), 400),
        (
            "corrupt gzip",
            _post("/v1/ocr", b"\x1f\x8b not gzip at all", b"Content-Encoding: gzip"),
            400,
        ),
        (
            "corrupt deflate",
            _post("/v1/async/ocr", b"definitely not deflate", b"Content-Encoding: deflate"),
            400,
        ),
        (
            "truncated gzip",
            _post(
                "/v1/ocr", gzip.compress(b'{"model": "tesseract"}')[:12], b"Content-Encoding: gzip"
            ),
            400,
        ),
        (
            "bad chunk size",
            b"POST /v1/ocr HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n"
            b"Connection: close\r\n\r\nzz\r\nabc\r\n0\r\n\r\n",
            400,
        ),
        (
            "bad content length",
            b"GET /health HTTP/1.1\r\nHost: t\r\nContent-Length: x\r\n\r\n",
            400,
        ),
        (
            "huge header",
            b"GET /v1/models HTTP/1.1\r\nHost: t\r\nX-Pad: " + b"a" * 20_000 + b"\r\n\r\n",
            400,
        ),
        # aiohttp answers an Expect header before any middleware runs.
        ("unknown expectation", _post("/v1/ocr", b"{}", b"Expect: 200-ok"), 417),
        ("unknown expectation, no route", _post("/nowhere", b"{}", b"Expect: x"), 417),
        (
            "bytes that are not UTF-8 in the key",
            b"GET /v1/models HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer \xff\xfe\r\n"
            b"Connection: close\r\n\r\n",
            200,
        ),
        (
            "bytes that are not UTF-8 in the idempotency key",
            _post(
                "/v1/async/ocr",
                b'{"model": "tesseract", "document": {"type": "document_url", '
                b'"document_url": "https://example.invalid/a.pdf"}}',
                b"Idempotency-Key: \xff\xfe",
            ),
            400,
        ),
    ],
)
def test_malformed_requests_are_answered_in_the_error_shape(
    server: Server, name: str, request_bytes: bytes, status: int
) -> None:
    answered, body = _raw(server, request_bytes)
    assert answered == status, (name, body)
    if status >= 400:
        assert body["is_bifrost_error"] is False and body["status_code"] == status
        assert body["error"]["message"] and "Traceback" not in json.dumps(body)


def test_malformed_requests_are_logged_in_a_line_not_a_traceback(start_server: Any) -> None:
    # Each would log aiohttp's stack at ERROR: a client could fill the log with them.
    server = start_server(workers=1)
    for request in (
        b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: t\r\n\r\n",
        b"GET /v1/models HTTP/1.1\r\nHost: t\r\nX-Pad: " + b"a" * 20_000 + b"\r\n\r\n",
        b"GET /health HTTP/1.1\r\nHost: t\r\nContent-Length: x\r\n\r\n",
        _post("/v1/ocr", b"{}", b"Content-Encoding: br"),
    ):
        assert 400 <= _raw(server, request)[0] < 500
    log = server.log()
    assert "Traceback" not in log and " ERROR " not in log, log
    assert log.count("refused a request from 127.0.0.1: The request line or its headers") == 2


def test_bad_bytes_in_a_key_are_401_on_a_keyed_service(start_server: Any) -> None:
    keyed = start_server({"TESSERA_API_KEYS": "sk-bf-right"}, workers=1)
    for key in (b"\xff\xfe", b"sk-bf-right\xc3", b"\x80"):
        status, body = _raw(
            keyed,
            b"GET /v1/models HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer "
            + key
            + b"\r\nConnection: close\r\n\r\n",
        )
        assert status == 401 and body["error"]["code"] == "invalid_api_key"


@pytest.mark.parametrize(
    ("document", "param", "says"),
    [
        (
            {"type": "document_url", "document_url": "http://[::1:80/x"},
            "document.document_url",
            "not a valid URL",
        ),
        (
            {"type": "image_url", "image_url": "http://[::1"},
            "document.image_url",
            "not a valid URL",
        ),
        (
            {"type": "document_url", "document_url": "http://host:99999/a.pdf"},
            "document.document_url",
            "not a valid URL",
        ),
        (
            {"type": "document_url", "document_url": "http://a\x00b/x"},
            "document.document_url",
            "not a valid URL",
        ),
        (
            {"type": "document_url", "document_url": "http://" + "a" * 20_000 + ".com/"},
            "document.document_url",
            "longer than",
        ),
        (
            {"type": "document_url", "document_url": "http://" + "a" * 64 + ".example.com/"},
            "document.document_url",
            "not a valid URL",
        ),
        (
            {"type": "image_url", "image_url": "https://files..example.com/a.png"},
            "document.image_url",
            "not a valid URL",
        ),
        (
            {"type": "image_url", "image_url": {"url": "https://example.com/a.png", "detail": 5}},
            "document.image_url.detail",
            "string",
        ),
        (
            {"type": "image_url", "image_url": {"detail": "high"}},
            "document.image_url.url",
            "required",
        ),
    ],
)
def test_bad_urls_and_fields_are_400s_that_name_the_field(
    server: Server, document: Any, param: str, says: str
) -> None:
    with server.client() as client:
        for endpoint in ("/v1/ocr", "/v1/async/ocr"):
            response = client.post(endpoint, json={"model": "tesseract", "document": document})
            assert_bifrost_error(response, 400, param=param, contains=says)


@pytest.mark.parametrize("kind", [[], {}, ["image_url"], 5, None, "pdf"])
def test_a_bad_document_type_beside_a_large_document_is_a_400(
    server: Server, hello_png: bytes, kind: Any
) -> None:
    # Past 64 KB the data URL streams to disk, and is checked to be the document's before the
    # body is validated; a type that is a list or an object was looked up as a key (500).
    large = hello_png + b"\0" * 100_000
    document = {"type": kind, "image_url": data_url(large, "image/png")}
    with server.client() as client:
        for endpoint in ("/v1/ocr", "/v1/async/ocr"):
            response = client.post(endpoint, json={"model": "tesseract", "document": document})
            assert_bifrost_error(response, 400, param="document.type")
    assert not list((server.data_dir / "documents" / "tmp").iterdir())


def test_downloads_refuse_ranges_and_preconditions_in_the_error_shape(
    server: Server, hello_png: bytes
) -> None:
    """aiohttp answers a bad Range (416) or a failed precondition (412) by itself, after the
    routes: every route that sends a file must still answer in the error shape."""
    with server.client() as client:
        created = client.post(
            "/v1/async/ocr",
            json=ocr_body(hello_png, kind="image_url", output_formats=["txt"], page_images=True),
        )
        job_id = created.json()["id"]
        assert server.wait_job(client, job_id).json()["status"] == "completed"
        upload = client.post("/v1/files", files={"file": ("h.png", hello_png)})
        paths = [
            f"/v1/async/ocr/{job_id}/outputs/txt",
            f"/v1/async/ocr/{job_id}/pages/0/image",
            f"/v1/files/{upload.json()['id']}/content",
            "/",
            "/web/app.js",
        ]
        for path in paths:
            whole = client.get(path).content
            part = client.get(path, headers={"Range": "bytes=1-3"})
            assert part.status_code == 206 and part.content == whole[1:4]
            # RFC 9110: a unit the server does not know is ignored, and so may several
            # ranges be; a unit's name is not case-sensitive.
            for ignored in ("items=0-1", "bytes=0-1,3-4"):
                answer = client.get(path, headers={"Range": ignored})
                assert answer.status_code == 200 and answer.content == whole, (path, ignored)
            capitals = client.get(path, headers={"Range": "BYTES=1-3"})
            assert capitals.status_code == 206 and capitals.content == whole[1:4]
            # If-Range: a part only while the validator holds (RFC 9110, 13.1.5), else the
            # whole file; aiohttp read it as a date only and sent the part for any tag.
            etag = part.headers["ETag"]
            for validator, status in (
                (etag, 206),
                ('"another-version"', 200),
                (f"W/{etag}", 200),
                ("not a validator", 200),
            ):
                answer = client.get(path, headers={"Range": "bytes=1-3", "If-Range": validator})
                assert answer.status_code == status, (path, validator)
                assert answer.content == (whole[1:4] if status == 206 else whole)
            for header, status in (
                ({"Range": "bytes=999999999-"}, 416),
                ({"Range": "bytes=abc"}, 416),
                ({"Range": "bytes=-0"}, 416),  # the last no bytes: RFC 9110, unsatisfiable
                # Digits to str.isdigit() that int() refuses (500s): a superscript two, and
                # more digits than int() reads.
                ({"Range": "bytes=-²".encode()}, 416),
                ({"Range": "bytes=-" + "0" * 5000}, 416),
                ({"Range": "bytes=-" + "1" * 5000}, 416),
                ({"If-Unmodified-Since": "Mon, 01 Jan 1990 00:00:00 GMT"}, 412),
            ):
                answer = client.get(path, headers=header)
                assert answer.status_code == status, (path, header)
                assert_bifrost_error(answer, status)


# Text a database cannot hold, reaching a query as an id or a stored field: PostgreSQL's text
# has no NUL, and neither store can encode an unpaired surrogate.
SURROGATE_IN_A_SIGNED_URL = (
    b'{"model": "tesseract", "document": {"type": "document_url", "document_url": '
    b'"http://h/v1/files/\\ud800/content?expires=1&signature=a"}}'
)
UNSTORABLE = [
    ("GET", "/v1/async/ocr/%00", None),
    ("DELETE", "/v1/async/ocr/%00", None),
    ("GET", "/v1/files/%00", None),
    ("GET", "/v1/batch/jobs/%00", None),
    ("GET", "/v1/batch/jobs?model=%00", None),
    ("GET", "/v1/webhooks/deliveries?job_id=%00", None),
    (
        "POST",
        "/v1/ocr",
        b'{"model": "tesseract", "document": {"type": "file", "file_id": "a\\u0000"}}',
    ),
    ("POST", "/v1/async/ocr", SURROGATE_IN_A_SIGNED_URL),
    (
        "POST",
        "/v1/batch/jobs",
        b'{"endpoint": "/v1/ocr", "model": "a\\u0000", "requests": [{"body": {}}]}',
    ),
]


def _answers_unstorable_text(node: Server) -> None:
    with node.client() as client:
        for method, path, body in UNSTORABLE:
            response = client.request(method, path, content=body)
            assert response.status_code < 500, (method, path, response.text)
            if response.status_code >= 400:
                assert_bifrost_error(response, response.status_code)
        signed = client.post("/v1/async/ocr", content=SURROGATE_IN_A_SIGNED_URL)
        assert_bifrost_error(signed, 400, contains="cannot be stored")


def test_text_no_store_can_hold_is_a_client_error(server: Server) -> None:
    _answers_unstorable_text(server)


def test_text_postgresql_cannot_hold_is_a_client_error(
    start_server: Any, postgres_url: str
) -> None:
    _answers_unstorable_text(start_server({"TESSERA_DATABASE_URL": postgres_url}, workers=1))


@pytest.fixture(scope="module")
def structured_scan(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """A scanned page with a heading, a list and a table: what layout finds."""
    directory = tmp_path_factory.mktemp("structured")
    pdf = corpus.structured_pdf(directory / "structured.pdf")
    (directory / "pages").mkdir()
    return corpus.render_pages(pdf, directory / "pages", dpi=150)[0].read_bytes()


@pytest.mark.parametrize("field", ["image_min_size", "image_limit"])
def test_numbers_past_any_image_cost_a_page_nothing(
    server: Server, structured_scan: bytes, field: str
) -> None:
    # JSON integers have no bound; one past a float's range must still mean "no image this
    # large" (or "any number of images"), not break the page's layout into plain lines.
    with server.client() as client:
        body = ocr_body(structured_scan, kind="image_url", mime="image/png", **{field: 10**400})
        response = client.post("/v1/ocr", json=body)
    assert response.status_code == 200, response.text
    markdown = response.json()["pages"][0]["markdown"]
    assert "# Annual Results" in markdown and "| Region |" in markdown, markdown


_ENTRIES = ("Introduction", "Background", "Methods of the study", "Results in detail", "Summary")


def _contents_pdf(path: Path, pages: list[str]) -> bytes:
    """A born-digital table of contents: each entry at the left, its page number flush right."""
    pdf = canvas.Canvas(str(path), pagesize=letter)
    _, height = letter
    pdf.setFont("Helvetica", 14)
    pdf.drawString(72, height - 80, "Contents")
    for i, (entry, page) in enumerate(zip(_ENTRIES, pages, strict=True)):
        pdf.drawString(72, height - 120 - i * 26, entry)
        pdf.drawRightString(520, height - 120 - i * 26, page)
    pdf.showPage()
    pdf.save()
    return path.read_bytes()


def test_page_numbers_int_cannot_read_cost_a_page_nothing(server: Server, tmp_path: Path) -> None:
    # Superscript digits are digits to str.isdigit(), not to int().
    pages = ["\u00b9", "\u00b2", "\u00b3", "4", "5"]
    document = _contents_pdf(tmp_path / "contents.pdf", pages)
    with server.client() as client:
        response = client.post("/v1/ocr", json=ocr_body(document))
    assert response.status_code == 200, response.text
    markdown = response.json()["pages"][0]["markdown"]
    # Read as a table or as a table of contents, an entry keeps its page number beside it;
    # a layout that failed leaves each on a line of its own.
    assert any("Results in detail" in line and "4" in line for line in markdown.splitlines()), (
        markdown
    )


@pytest.mark.parametrize("mode", ["L", "RGBA"])  # RGBA: img2pdf refuses it as it is
@pytest.mark.parametrize("resolution", [(math.inf, math.inf), (math.nan, math.nan), (300, 0.001)])
def test_resolutions_no_scanner_writes_cost_an_image_nothing(
    server: Server, hello_png: bytes, resolution: tuple[float, float], mode: str
) -> None:
    # A TIFF may declare its resolution as a double, and each axis apart: whatever it says,
    # the image is readable, and so is its searchable PDF.
    tags = TiffImagePlugin.ImageFileDirectory_v2()
    for tag, value in zip((282, 283), resolution, strict=True):  # XResolution, YResolution
        tags[tag] = value
        tags.tagtype[tag] = TiffTags.DOUBLE
    buffer = io.BytesIO()
    Image.open(io.BytesIO(hello_png)).convert(mode).save(buffer, format="TIFF", tiffinfo=tags)
    tiff = buffer.getvalue()
    with server.client() as client:
        read = client.post("/v1/ocr", json=ocr_body(tiff, kind="image_url", mime="image/tiff"))
        assert read.status_code == 200, read.text
        assert "Hello" in read.json()["pages"][0]["markdown"]
        created = client.post(
            "/v1/async/ocr",
            json=ocr_body(tiff, kind="image_url", mime="image/tiff", output_formats=["pdf"]),
        )
        job = server.wait_job(client, created.json()["id"]).json()
        assert job["status"] == "completed", job
        (output,) = job["outputs"]
        assert "url" in output, output
        assert client.get(output["url"]).content.startswith(b"%PDF")


@pytest.mark.service
def test_a_damaged_job_store_ends_start_up_in_one_line(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "tessera.db").write_bytes(os.urandom(8192))
    process = refused_start("--data-dir", str(data), timeout=120)
    assert "Traceback" not in process.stderr
    last = process.stderr.strip().splitlines()[-1]
    assert last.startswith("tessera: cannot use the job store") and "move it aside" in last


# -- rejected work leaves nothing; orphans are swept ------------------------------------------


def _stored(server: Server) -> tuple[list[str], list[str], int]:
    documents = server.data_dir / "documents"
    files = sorted(p.name for p in documents.iterdir() if p.is_file())
    temp = sorted(p.name for p in (documents / "tmp").iterdir())
    with sqlite3.connect(server.data_dir / "tessera.db") as db:
        jobs = db.execute("SELECT count(*) FROM jobs").fetchone()[0]
    return files, temp, jobs


@pytest.fixture(scope="module")
def quiet(start_module_server: Any) -> Server:
    """A service of its own, so that what is stored is only what these tests sent."""
    return start_module_server({"TESSERA_MAX_QUEUED_JOBS": "1000"}, workers=1)


def test_refused_creates_leave_nothing(quiet: Server, hello_png: bytes) -> None:
    body = ocr_body(hello_png, kind="image_url", mime="image/png")
    refused = [
        ({"x-bf-async-webhook": "nowhere"}, body, 400),
        ({"Idempotency-Key": "k" * 300}, body, 400),
        ({}, {**body, "id": "bad\x00key"}, 400),
        ({}, {**body, "id": "bad\u0007bell"}, 400),
        ({}, {**body, "pages": "0-9999999"}, 400),
        ({}, {**body, "bbox_annotation_format": {"type": "json_schema"}}, 400),
        ({}, {**body, "model": "tesseract-klingon"}, 400),
    ]
    before = _stored(quiet)
    with quiet.client() as client:
        for headers, request, status in refused:
            response = client.post("/v1/async/ocr", json=request, headers=headers)
            assert_bifrost_error(response, status)
    assert _stored(quiet) == before


def test_orphans_of_a_crash_are_swept_at_start(
    start_server: Any, tmp_path_factory: pytest.TempPathFactory, hello_png: bytes
) -> None:
    data = tmp_path_factory.mktemp("orphans") / "data"
    (data / "documents" / "tmp").mkdir(parents=True)
    orphan = data / "documents" / str(uuid.uuid4())
    orphan.write_bytes(hello_png)
    partial = data / "documents" / "tmp" / f"{uuid.uuid4()}.part"
    partial.write_bytes(hello_png[:100])
    node = start_server(data_dir=data, workers=1)
    deadline = time.monotonic() + 30
    while (orphan.exists() or partial.exists()) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not orphan.exists() and not partial.exists()
    with node.client() as client:  # and the node works
        created = client.post("/v1/async/ocr", json=ocr_body(hello_png, kind="image_url"))
        assert node.wait_job(client, created.json()["id"]).json()["status"] == "completed"


# -- the queue bound under a burst ------------------------------------------------------------


@pytest.fixture(scope="module")
def dense_scan(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    directory = tmp_path_factory.mktemp("burst")
    source = corpus.dense_pdf(directory / "dense.pdf", min_pages=3)
    return corpus.image_only_pdf(source, directory / "scan.pdf", pages=3, dpi=200).read_bytes()


def _burst(node: Server, dense_scan: bytes, hello_png: bytes, limit: int) -> None:
    with node.client() as client:
        busy = client.post("/v1/async/ocr", json=ocr_body(dense_scan)).json()["id"]
        deadline = time.monotonic() + 60
        while client.get(f"/v1/async/ocr/{busy}").json()["status"] == "pending":
            assert time.monotonic() < deadline
            time.sleep(0.05)

        def create(_: int) -> httpx.Response:
            with node.client() as own:
                return own.post("/v1/async/ocr", json=ocr_body(hello_png, kind="image_url"))

        with ThreadPoolExecutor(30) as pool:
            answers = list(pool.map(create, range(30)))
        statuses = sorted(a.status_code for a in answers)
        assert statuses.count(202) == limit, statuses
        assert statuses.count(429) == 30 - limit, statuses
        for answer in answers:
            if answer.status_code == 429:
                assert answer.headers["Retry-After"].isdigit()
                assert answer.json()["error"]["code"] == "queue_full"
        client.delete(f"/v1/async/ocr/{busy}")


def test_the_queue_bound_holds_under_a_burst(
    start_server: Any, dense_scan: bytes, hello_png: bytes
) -> None:
    node = start_server({"TESSERA_MAX_QUEUED_JOBS": "3", "TESSERA_RUNNING_JOBS": "1"}, workers=1)
    _burst(node, dense_scan, hello_png, limit=3)


def test_the_queue_bound_holds_across_a_fleet_store(
    start_server: Any, postgres_url: str, dense_scan: bytes, hello_png: bytes
) -> None:
    node = start_server(
        {
            "TESSERA_MAX_QUEUED_JOBS": "3",
            "TESSERA_RUNNING_JOBS": "1",
            "TESSERA_DATABASE_URL": postgres_url,
        },
        workers=1,
    )
    _burst(node, dense_scan, hello_png, limit=3)


def test_long_ttls_are_clamped_on_postgresql_too(
    start_server: Any, postgres_url: str, hello_png: bytes
) -> None:
    """No integer overflow in the fleet's store, no date out of range in the answer."""
    node = start_server({"TESSERA_DATABASE_URL": postgres_url}, workers=1)
    with node.client() as client:
        for header in ("9" * 400, "99999999999", "2147483648"):
            created = client.post(
                "/v1/async/ocr",
                json=ocr_body(hello_png, kind="image_url"),
                headers={"x-bf-async-job-result-ttl": header},
            )
            assert created.status_code == 202, created.text
            job = node.wait_job(client, created.json()["id"]).json()
            assert job["status"] == "completed"
            kept = datetime.fromisoformat(
                job["expires_at"].replace("Z", "+00:00")
            ) - datetime.fromisoformat(job["completed_at"].replace("Z", "+00:00"))
            assert kept.total_seconds() == 7 * 24 * 3600


# -- file:// roots ----------------------------------------------------------------------------


def test_only_regular_files_are_read_from_file_roots(
    start_server: Any, hello_png: bytes, tmp_path_factory: pytest.TempPathFactory
) -> None:
    root = tmp_path_factory.mktemp("root")
    (root / "scan.png").write_bytes(hello_png)
    os.mkfifo(root / "pipe")
    (root / "folder").mkdir()
    (root / "zero").symlink_to("/dev/zero")
    node = start_server(
        {"TESSERA_FILE_ROOTS": str(root), "TESSERA_SYNC_CONCURRENCY": "8"}, workers=1
    )

    def fetch(url: str) -> httpx.Response:
        with node.client(timeout=30) as client:
            return client.post(
                "/v1/ocr", json={"model": "tesseract", "document": _document(url, "image_url")}
            )

    with ThreadPoolExecutor(8) as pool:  # eight FIFOs at once: none may hang a thread
        answers = list(pool.map(fetch, [f"file://{root}/pipe"] * 8))
    for answer in answers:
        assert_bifrost_error(answer, 400, contains="regular file")
    with node.client() as client:
        created = [
            client.post(
                "/v1/async/ocr",
                json={
                    "model": "tesseract",
                    "document": _document(f"file://{root}/pipe", "image_url"),
                },
            ).json()["id"]
            for _ in range(8)
        ]
        for job_id in created:
            job = node.wait_job(client, job_id, timeout=60).json()
            assert job["status"] == "failed" and "regular file" in job["error"]["error"]["message"]
    assert_bifrost_error(fetch(f"file://{root}/folder"), 400, contains="regular file")
    assert_bifrost_error(fetch(f"file://{root}/zero"), 400, contains="outside")
    assert_bifrost_error(fetch(f"file://{root}/sc%00an.png"), 400, contains="valid path")
    assert_bifrost_error(fetch(f"file://elsewhere{root}/scan.png"), 400, contains="no host")
    ok = fetch(f"file://{root}/scan.png")
    assert ok.status_code == 200 and "Hello" in ok.json()["pages"][0]["markdown"]


def test_data_urls_still_work_beside_all_this(server: Server, hello_png: bytes) -> None:
    with server.client() as client:
        response = client.post(
            "/v1/ocr",
            json={
                "model": "tesseract",
                "document": {"type": "image_url", "image_url": data_url(hello_png, "image/png")},
            },
        )
    assert response.status_code == 200 and "Hello" in response.json()["pages"][0]["markdown"]


def _strip(width: int, height: int) -> bytes:
    """A strip of print longer than Tesseract takes on a side: words at both of its ends."""
    strip = Image.new("L", (width, height), 255)
    strip.paste(corpus.text_image(["Hello Tessera world"]), (20, 20))
    strip.paste(corpus.text_image(["Far end words"]), (width - 700, 20))
    if height > width:
        strip = strip.transpose(Image.Transpose.ROTATE_90)
    return corpus.image_bytes(strip)


@pytest.mark.parametrize(("width", "height"), [(40_000, 200), (200, 40_000)])
def test_pages_longer_than_tesseract_takes_are_read(
    any_server: Server, width: int, height: int
) -> None:
    # Tesseract refuses a page over 32767 pixels on a side: a scroll, a banner, a receipt roll
    # is read at the size it can take, its boxes in the page's own pixels.
    image = _strip(max(width, height), min(width, height))
    with any_server.client() as client:
        response = client.post(
            "/v1/ocr",
            json=ocr_body(image, kind="image_url", mime="image/png", include_blocks=True),
        )
    assert response.status_code == 200, response.text
    (page,) = response.json()["pages"]
    assert "Hello Tessera world" in page["markdown"] and "Far end words" in page["markdown"]
    # A strip of print set up its side is read turned upright, as any sideways page is.
    assert sorted((page["dimensions"]["width"], page["dimensions"]["height"])) == [200, 40_000]
    far = max(max(b["bottom_right_x"], b["bottom_right_y"]) for b in page["blocks"])
    assert 39_000 < far <= 40_000, page["blocks"]


def test_a_sideways_line_too_short_to_turn_is_read_on_every_backend(any_server: Server) -> None:
    # Its words read badly, so the page's orientation is asked for; Tesseract's OSD finds
    # too few characters to tell, which the tesseract command reports as an error, not a
    # timeout: the page is read as it stands.
    image = corpus.image_bytes(corpus.text_image(["Hello Tessera world"]).rotate(90, expand=True))
    with any_server.client() as client:
        response = client.post("/v1/ocr", json=ocr_body(image, kind="image_url", mime="image/png"))
    assert response.status_code == 200, response.text
    assert "warnings" not in response.json()


def _tiff_of_frames(count: int) -> bytes:
    """A TIFF of `count` one-pixel frames sharing one strip: 102 bytes a frame."""
    entries = 8
    size = 2 + entries * 12 + 4
    strip = 8 + count * size
    out = bytearray(b"II*\x00" + struct.pack("<I", 8))
    for i in range(count):
        following = 8 + (i + 1) * size if i < count - 1 else 0
        tags = [(256, 3, 1, 1), (257, 3, 1, 1), (258, 3, 1, 8), (259, 3, 1, 1), (262, 3, 1, 1)]
        tags += [(273, 4, 1, strip), (278, 3, 1, 1), (279, 4, 1, 1)]
        out += struct.pack("<H", entries)
        out += b"".join(struct.pack("<HHII", *tag) for tag in tags)
        out += struct.pack("<I", following)
    return bytes(out + b"\xff")


def test_a_tiff_of_countless_frames_is_refused_at_once(server: Server) -> None:
    # Pillow counts frames in time that grows with the square of their number: 80,000 frames
    # (8 MB) held a worker more than a minute to count, and as long again for each page
    # selected near the end.
    tiff = _tiff_of_frames(80_000)
    with server.client(timeout=120) as client:
        for fields in ({}, {"pages": [79_999]}):
            body = ocr_body(tiff, kind="image_url", mime="image/tiff", **fields)
            started = time.monotonic()
            response = client.post("/v1/ocr", json=body)
            assert_bifrost_error(response, 413, contains="more than 10000 frames")
            created = client.post("/v1/async/ocr", json=body)
            job = server.wait_job(client, created.json()["id"]).json()
            assert job["status"] == "failed" and job["status_code"] == 413, job
            assert time.monotonic() - started < 15
        # A TIFF within the bound is read to its last page, and counted right.
        five = _tiff_of_frames(5_000)
        within = client.post(
            "/v1/ocr", json=ocr_body(five, kind="image_url", mime="image/tiff", pages=[4_999])
        )
        past = client.post(
            "/v1/ocr", json=ocr_body(five, kind="image_url", mime="image/tiff", pages=[5_000])
        )
    assert_bifrost_error(past, 400, contains="has 5000 page")
    assert within.status_code == 200, within.text
    assert [page["index"] for page in within.json()["pages"]] == [4_999]


def test_a_figure_wider_than_a_jpeg_holds_keeps_the_page_whole(server: Server) -> None:
    # A 20,000-point strip renders 83,334 pixels wide at 300 dpi, past libjpeg's 65,500: the
    # figure across it failed its picture, and with it the page's layout (no figure, lines
    # kept as plain text).
    gradient = Image.radial_gradient("L").resize((400, 40))
    picture = hostile.stream(
        zlib.compress(gradient.tobytes()),
        b"/Type /XObject /Subtype /Image /Width 400 /Height 40 /ColorSpace /DeviceGray "
        b"/BitsPerComponent 8 /Filter /FlateDecode",
    )
    content = b"q 20000 0 0 60 0 20 cm /Im1 Do Q\n" + hostile.text_ops(
        "Hello Tessera world", x=72, y=5, size=10
    )
    strip = hostile.one_page(
        content, box=(0, 0, 20_000, 100), xobjects=b"/Im1 6 0 R", extra=[picture]
    )
    with server.client() as client:
        response = client.post("/v1/ocr", json=ocr_body(strip, include_image_base64=True))
    assert response.status_code == 200, response.text
    (page,) = response.json()["pages"]
    assert page["dimensions"]["width"] > 65_500
    (figure,) = page["images"]
    assert figure["bottom_right_x"] - figure["top_left_x"] > 65_500
    jpeg = base64.b64decode(figure["image_base64"].split(",", 1)[1])
    assert max(Image.open(io.BytesIO(jpeg)).size) <= 65_500
    assert "![img-0.jpeg](img-0.jpeg)" in page["markdown"] and "Hello" in page["markdown"]


def test_a_batch_listing_reads_the_page_it_answers(start_server: Any, hello_png: bytes) -> None:
    # The listing read every batch its key ever made, metadata and all, for a page of one:
    # 5,000 batches with 20 kB of metadata each raised the server's peak by 200 MB a call.
    node = start_server(workers=1)
    assert node.process is not None
    batch = {"endpoint": "/v1/ocr", "model": "tesseract", "metadata": {"run": "first"}}
    body = {"document": {"type": "image_url", "image_url": data_url(hello_png, "image/png")}}
    with node.client() as client:
        created = client.post("/v1/batch/jobs", json={**batch, "requests": [{"body": body}]})
        assert created.status_code == 200, created.text
    with sqlite3.connect(node.data_dir / "tessera.db") as db:
        db.row_factory = sqlite3.Row
        (row,) = db.execute("SELECT * FROM batches").fetchall()
        copies = [
            {
                **dict(row),
                "id": str(uuid.uuid4()),
                "status": "SUCCESS",
                "created_at": row["created_at"] - 1 - i,
                "metadata": json.dumps({"run": "old", "notes": "x" * 20_000}),
            }
            for i in range(5_000)
        ]
        names = row.keys()  # a Row iterates over its values
        columns, marks = ", ".join(names), ", ".join(f":{k}" for k in names)
        db.executemany(f"INSERT INTO batches ({columns}) VALUES ({marks})", copies)
    before = _peak_kb(node.process.pid)
    with node.client() as client:
        newest = client.get("/v1/batch/jobs", params={"page_size": 1}).json()
        assert newest["total"] == 5_001 and newest["data"][0]["id"] == created.json()["id"]
        oldest = client.get("/v1/batch/jobs", params={"page_size": 2, "order_by": "created"})
        assert [b["metadata"]["run"] for b in oldest.json()["data"]] == ["old", "old"]
        found = client.get(
            "/v1/batch/jobs", params={"metadata": '{"run": "first"}', "page_size": 1}
        ).json()
        assert found["total"] == 1 and found["data"][0]["id"] == created.json()["id"]
        none = client.get("/v1/batch/jobs", params={"metadata": '{"run": "first"}', "page": 1})
        assert none.json() == {"data": [], "object": "list", "total": 1}
    assert _peak_kb(node.process.pid) - before < 40 * 1024


# A text layer's ToUnicode map may give a glyph any text at all: 'B' the math italic x
# (beyond the BMP), the others characters no output format can carry.
_MAPPED = {
    ord("A"): "0041",
    ord("B"): "D835DC65",
    ord("C"): "0043",
    ord("D"): "0001",
    ord("E"): "0008",
    ord("F"): "007F",
    ord("G"): "009B",
    ord("H"): "DC00",
    ord("J"): "005D",
    ord("K"): "003E",
    ord("L"): "003C",
    ord("M"): "0026",
}
_UNCARRIABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


def _hocr_words(hocr: bytes) -> dict[str, list[tuple[int, ...]]]:
    boxes: dict[str, list[tuple[int, ...]]] = {}
    for word in etree.fromstring(hocr).iter("{*}span"):
        if word.get("class") == "ocrx_word":
            box = tuple(int(v) for v in word.get("title", "").split(";")[0].split()[1:])
            boxes.setdefault("".join(word.itertext()), []).append(box)
    return boxes


def test_a_text_layer_of_any_characters_reads_into_every_format(server: Server) -> None:
    # PDFium counts a character beyond the BMP as two, and decoded whole the layer's text
    # counted it as one: every later word on the page took the box of the characters before
    # it (here the second "AAA" spanned two lines). Control characters and noncharacters went
    # into the Markdown, the JSON's words and the text file.
    pdf = hostile.mapped_text_page(_MAPPED, [b"ABA CCC", b"AAA CCC", b"ADEA AFGA AHA AJJK ALM"])
    body = ocr_body(
        pdf,
        ocr_mode="text_layer",
        output_formats=["hocr", "alto", "txt"],
        confidence_scores_granularity="word",
        include_blocks=True,
    )
    with server.client() as client:
        response = client.post("/v1/ocr", json=body)
    assert response.status_code == 200, response.text
    (page,) = response.json()["pages"]
    assert page["source"] == "text_layer"
    outputs = {o["format"]: base64.b64decode(o["data"]) for o in response.json()["outputs"]}
    texts = [
        page["markdown"],
        outputs["txt"].decode().replace("\f", ""),
        *(w["text"] for w in page["confidence_scores"]["word_confidence_scores"]),
        *(b["content"] for b in page["blocks"]),
    ]
    assert not [t for t in texts if _UNCARRIABLE.search(t)]
    assert "A\U0001d465A" in page["markdown"] and "AA A\ufffdA A]]> A<&" in page["markdown"]
    assert etree.fromstring(outputs["alto"]) is not None
    words = _hocr_words(outputs["hocr"])
    (first, second) = words["CCC"]
    assert first[0::2] == second[0::2] and first[3] < second[1]  # one column, two lines
    (above,), (below,) = words["A\U0001d465A"], words["AAA"]
    assert above[0] == below[0] and above[3] < below[1] < second[3]


def test_a_dingbat_font_s_bullets_open_list_items(server: Server) -> None:
    # Wingdings' ❖ has no Unicode of its own: a ToUnicode map may give it a control code
    # (\x99) or none give it the letter it is set at ("v"). Left out, the items ran into one
    # paragraph; kept, they were junk at each line's start.
    # A bullet hung in the margin, far left of its item's text, opens the item all the same.
    mapping = {ord("A"): "0041", ord("C"): "0043", ord("V"): "0099", ord("W"): "0076"}
    mapping[ord(" ")] = "0020"
    hung = b"V" + b" " * 12 + b"AAA CCC"
    pdf = hostile.mapped_text_page(
        mapping, [hung, b"W CCC AAA", b"AAA W CCC"], font=b"Wingdings-Regular"
    )
    with server.client() as client:
        response = client.post("/v1/ocr", json=ocr_body(pdf, ocr_mode="text_layer"))
    assert response.status_code == 200, response.text
    markdown = response.json()["pages"][0]["markdown"]
    assert markdown.startswith("- AAA CCC\n- CCC AAA"), markdown
    assert "AAA v CCC" in markdown  # within a line, a glyph is left as it reads
