"""Documents by URL: what may be fetched, and how, with local servers standing in for hosts."""

from __future__ import annotations

import http.server
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import Server
from tests.test_api import assert_bifrost_error

BIG = 3_000_000


@pytest.fixture(scope="module")
def remote(hello_png: bytes) -> Iterator[str]:
    """A local HTTP server standing in for the host a document URL points at."""
    files = {"/scan.png": hello_png, "/big.png": hello_png + b"\0" * BIG, "/empty": b""}
    redirects = {
        "/moved": "/scan.png",
        "/loop-1": "/loop-2",
        "/loop-2": "/loop-3",
        "/loop-3": "/loop-4",
        "/loop-4": "/scan.png",
        "/to-file": "file:///etc/hostname",
    }

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path.startswith("/away"):
                port = self.path.split("/")[-1]
                self._redirect(f"http://127.0.0.2:{port}/scan.png")
            elif self.path in redirects:
                self._redirect(redirects[self.path])
            elif self.path == "/slow":
                time.sleep(3)
                self._send(200, hello_png)
            else:
                data = files.get(self.path)
                self._send(200 if data is not None else 404, data or b"")

        def _redirect(self, location: str) -> None:
            self.send_response(302)
            self.send_header("Location", location)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def _send(self, status: int, data: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


@pytest.fixture(scope="module")
def allowing(start_module_server: Any) -> Server:
    """A service whose operator allows the loopback host the test server runs on."""
    return start_module_server(
        {
            "TESSERA_FETCH_ALLOW": "127.0.0.1/32",
            "TESSERA_MAX_DOCUMENT_BYTES": "1000000",
            "TESSERA_FETCH_TIMEOUT": "1.5",
        },
        workers=1,
    )


def _url_body(url: str) -> dict[str, Any]:
    return {"model": "tesseract", "document": {"type": "image_url", "image_url": url}}


def _sync(server: Server, url: str) -> httpx.Response:
    with server.client() as client:
        return client.post("/v1/ocr", json=_url_body(url))


def _async(server: Server, url: str) -> dict[str, Any]:
    with server.client() as client:
        created = client.post("/v1/async/ocr", json=_url_body(url))
        assert created.status_code == 202, created.text
        return server.wait_job(client, created.json()["id"]).json()


def test_allowed_hosts_are_fetched_through_redirects(allowing: Server, remote: str) -> None:
    sync = _sync(allowing, f"{remote}/moved")
    assert "Hello Tessera world" in sync.json()["pages"][0]["markdown"]
    body = _async(allowing, f"{remote}/scan.png")
    assert "Hello" in body["result"]["pages"][0]["markdown"]


@pytest.mark.parametrize(
    "host", ["127.0.0.1", "[::1]", "169.254.169.254", "10.1.2.3", "192.168.0.10", "0.0.0.0"]
)
def test_private_addresses_are_refused_before_any_job(server: Server, host: str) -> None:
    for endpoint in ("/v1/ocr", "/v1/async/ocr"):
        with server.client() as client:
            response = client.post(endpoint, json=_url_body(f"http://{host}/latest/meta-data"))
        body = assert_bifrost_error(
            response, 400, param="document.image_url", contains="not allowed"
        )
        assert body["error"]["code"] == "document_url_refused"


def test_names_are_checked_where_they_resolve(server: Server, remote: str) -> None:
    """`localhost` passes a look at the URL; the resolver refuses it at connect time."""
    url = remote.replace("127.0.0.1", "localhost") + "/scan.png"
    assert_bifrost_error(_sync(server, url), 400, contains="resolves to a loopback")
    body = _async(server, url)
    assert body["status"] == "failed" and body["status_code"] == 400
    assert body["error"]["error"]["code"] == "document_url_refused"


def test_each_redirect_is_checked(allowing: Server, remote: str) -> None:
    port = remote.rsplit(":", 1)[1]
    away = _sync(allowing, f"{remote}/away/{port}")  # to 127.0.0.2, not allowed
    assert_bifrost_error(away, 400, contains="127.0.0.2 is not allowed")
    assert_bifrost_error(_sync(allowing, f"{remote}/loop-1"), 400, contains="3 redirects")
    assert_bifrost_error(_sync(allowing, f"{remote}/to-file"), 400, contains="file://")


def test_size_time_and_status_limits(allowing: Server, remote: str) -> None:
    assert_bifrost_error(_sync(allowing, f"{remote}/big.png"), 413, contains="larger")
    assert_bifrost_error(_sync(allowing, f"{remote}/slow"), 400, contains="longer than")
    assert_bifrost_error(_sync(allowing, f"{remote}/missing.png"), 400, contains="HTTP 404")
    assert_bifrost_error(_sync(allowing, f"{remote}/empty"), 400, contains="no content")
    body = _async(allowing, f"{remote}/missing.png")
    assert body["status"] == "failed" and body["error"]["error"]["code"] == "document_fetch_failed"
    # The service is still serving.
    assert _sync(allowing, f"{remote}/scan.png").status_code == 200


def test_file_urls_only_under_configured_roots(
    start_server: Any, server: Server, tmp_path_factory: pytest.TempPathFactory, hello_png: bytes
) -> None:
    root = tmp_path_factory.mktemp("shared")
    (root / "scan.png").write_bytes(hello_png)
    assert_bifrost_error(_sync(server, f"file://{root}/scan.png"), 400, contains="not enabled")
    reading = start_server({"TESSERA_FILE_ROOTS": str(root)}, workers=1)
    assert "Hello" in _sync(reading, f"file://{root}/scan.png").json()["pages"][0]["markdown"]
    for outside in ("file:///etc/hostname", f"file://{root}/../../etc/hostname"):
        assert_bifrost_error(_sync(reading, outside), 400, contains="outside")
    assert Path("/etc/hostname").exists()
