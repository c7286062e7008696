"""The Files API through the `mistralai` SDK: upload, list, show, download, signed URLs,
documents named by file, delete; owner scope and limits over plain HTTP."""

from __future__ import annotations

import base64
import email.message
import gzip
import json
import os
import re
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import httpx
import pytest
from mistralai.client import Mistral
from mistralai.client.errors import MistralError

from tests.conftest import Server, ServerFactory, wait_until

KEY, OTHER = "sk-files-alpha", "sk-files-beta"
MiB = 1024 * 1024


@pytest.fixture(scope="module")
def keyed(start_module_server: ServerFactory) -> Server:
    return start_module_server(
        {"TESSERA_API_KEYS": f"{KEY},{OTHER}", "TESSERA_MAX_FILE_BYTES": str(2 * 1024 * 1024)},
        workers=1,
    )


def _sdk(server: Server, key: str = KEY) -> Mistral:
    return Mistral(api_key=key, server_url=server.url, timeout_ms=120_000)


def _headers(key: str = KEY) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_a_file_uploaded_with_the_sdk_is_read_by_id_and_by_signed_url(
    keyed: Server, three_page_pdf: bytes
) -> None:
    mistral = _sdk(keyed)
    uploaded = mistral.files.upload(
        file={"file_name": "three.pdf", "content": three_page_pdf}, purpose="ocr"
    )
    assert uploaded.filename == "three.pdf" and uploaded.size_bytes == len(three_page_pdf)
    assert uploaded.purpose == "ocr" and uploaded.mimetype == "application/pdf"
    shown = mistral.files.retrieve(file_id=uploaded.id)
    assert shown.id == uploaded.id and shown.size_bytes == len(three_page_pdf)
    listed = mistral.files.list(purpose="ocr")
    assert uploaded.id in [f.id for f in listed.data] and (listed.total or 0) >= 1
    downloaded = mistral.files.download(file_id=uploaded.id)
    assert downloaded.read() == three_page_pdf

    # The SDK's documented large-file path: a file chunk, and a signed URL.
    by_id = mistral.ocr.process(
        model="mistral-ocr-latest", document={"type": "file", "file_id": uploaded.id}, pages=[1]
    )
    assert [p.index for p in by_id.pages] == [1] and "bravo" in by_id.pages[0].markdown
    signed = mistral.files.get_signed_url(file_id=uploaded.id, expiry=1)
    assert signed.url.startswith(keyed.url) and "signature=" in signed.url
    by_url = mistral.ocr.process(
        model="mistral-ocr-latest",
        document={"type": "document_url", "document_url": signed.url},
        pages=[0],
    )
    assert "alpha" in by_url.pages[0].markdown
    # Usable without a key, for that file only, until it expires.
    assert httpx.get(signed.url).content == three_page_pdf
    forged = signed.url.replace("signature=", "signature=0")
    assert httpx.get(forged).status_code == 404
    past = signed.url.split("?")[0] + "?expires=1&" + signed.url.split("&")[1]
    assert httpx.get(past).status_code == 404

    # An async job reads the file where it is kept.
    with httpx.Client(base_url=keyed.url, headers=_headers()) as client:
        created = client.post(
            "/v1/async/ocr",
            json={"model": "tesseract", "document": {"type": "file", "file_id": uploaded.id}},
        )
        assert created.status_code == 202, created.text
        job = keyed.wait_job(client, created.json()["id"]).json()
        assert job["status"] == "completed" and len(job["result"]["pages"]) == 3

    deleted = mistral.files.delete(file_id=uploaded.id)
    assert deleted.deleted and deleted.id == uploaded.id
    with pytest.raises(MistralError) as gone:
        mistral.files.retrieve(file_id=uploaded.id)
    assert gone.value.status_code == 404
    assert httpx.get(signed.url).status_code == 404  # a signed URL dies with its file


def test_files_belong_to_their_key(keyed: Server, hello_png: bytes) -> None:
    mine = _sdk(keyed).files.upload(
        file={"file_name": "hello.png", "content": hello_png}, purpose="ocr"
    )
    theirs = _sdk(keyed, OTHER)
    assert mine.id not in [f.id for f in theirs.files.list().data]
    for call in (
        lambda: theirs.files.retrieve(file_id=mine.id),
        lambda: theirs.files.delete(file_id=mine.id),
        lambda: theirs.files.get_signed_url(file_id=mine.id),
        lambda: theirs.ocr.process(
            model="tesseract", document={"type": "file", "file_id": mine.id}
        ),
    ):
        with pytest.raises(MistralError) as refused:
            call()
        assert refused.value.status_code == 404
    anonymous = httpx.get(f"{keyed.url}/v1/files/{mine.id}/content")
    assert anonymous.status_code == 401


def test_only_a_download_is_open_to_a_signed_url(keyed: Server, hello_png: bytes) -> None:
    # "/v1/files/{id}%2Fcontent" decodes to a download's path but is routed to the file's own
    # routes: taken for a signed download, it went without its key and answered 500.
    file_id = _upload(keyed, hello_png, "ocr").json()["id"]
    lookalike = f"{keyed.url}/v1/files/{file_id}%2Fcontent?expires=1&signature=0"
    for method in ("GET", "DELETE"):
        _error(httpx.request(method, lookalike), 401)
        _error(httpx.request(method, lookalike, headers=_headers()), 404)
    kept = httpx.get(f"{keyed.url}/v1/files/{file_id}/content", headers=_headers())
    assert kept.status_code == 200 and kept.content == hello_png


@pytest.mark.parametrize("name", ["résumé 2026.png", "naïve; v2.png", "報告.png", "plain.png"])
def test_a_download_is_named_as_uploaded(keyed: Server, hello_png: bytes, name: str) -> None:
    uploaded = _upload(keyed, hello_png, "ocr", name=name)
    assert uploaded.status_code == 200, uploaded.text
    file_id = uploaded.json()["id"]
    answer = httpx.get(f"{keyed.url}/v1/files/{file_id}/content", headers=_headers())
    assert answer.status_code == 200 and answer.content == hello_png
    disposition = answer.headers["content-disposition"]
    assert disposition.isascii(), disposition  # a header's bytes are Latin-1 to most clients
    # RFC 6266: `filename*` (RFC 8187's UTF-8, percent-encoded) wins over `filename`, the
    # name for clients that know no better.
    message = email.message.Message()
    message["Content-Disposition"] = disposition
    fallback = message.get_param("filename", header="content-disposition")
    extended = re.search(r"filename\*=UTF-8''([^;\s]+)", disposition)
    assert (unquote(extended[1], errors="strict") if extended else fallback) == name
    assert fallback and '"' not in str(fallback)


def test_a_file_name_too_long_for_a_header_is_told(keyed: Server, hello_png: bytes) -> None:
    error = _error(_upload(keyed, hello_png, "ocr", name="n" * 20_000 + ".png"), 400)
    assert "a file's name must be shorter" in error["message"] and error["param"] == "file"


def _upload(server: Server, data: bytes, purpose: str, name: str = "f") -> httpx.Response:
    return httpx.post(
        f"{server.url}/v1/files",
        headers=_headers(),
        files={"file": (name, data)},
        data={"purpose": purpose},
        timeout=60,
    )


def _error(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert "Traceback" not in response.text
    return dict(body["error"])


def test_uploads_are_checked_for_their_purpose_and_size(keyed: Server, hello_png: bytes) -> None:
    assert "PDF or an image" in _error(_upload(keyed, b"plain text", "ocr"), 400)["message"]
    assert "purpose" in _error(_upload(keyed, hello_png, "fine-tune"), 400)["message"]
    assert "Line 2" in _error(_upload(keyed, b'{"body": {}}\nnot json\n', "batch"), 400)["message"]
    big = b"%PDF-1.7\n" + b"0" * (2 * 1024 * 1024)
    assert _error(_upload(keyed, big, "ocr"), 413)["code"] == "document_too_large"
    no_file = httpx.post(
        f"{keyed.url}/v1/files", headers=_headers(), data={"purpose": "ocr"}, timeout=60
    )
    assert "'file'" in _error(no_file, 400)["message"]
    batch = _upload(keyed, b'{"custom_id": "a", "body": {"x": 1}}\n\n{"body": {}}\n', "batch")
    assert batch.status_code == 200 and batch.json()["num_lines"] == 2
    # Nothing refused was kept.
    leftovers = [p for p in (keyed.data_dir / "files" / "tmp").iterdir()]
    assert leftovers == []


def test_a_batch_file_is_no_document_to_read(keyed: Server, hello_png: bytes) -> None:
    # A batch's JSONL named as a job's document was accepted (202) and the job failed when
    # it ran; /v1/ocr refused it at once. Both refuse it before any job exists.
    line = {"custom_id": "a", "body": {"document": {"type": "document_url", "document_url": "x"}}}
    batch = _upload(keyed, json.dumps(line).encode() + b"\n", "batch").json()
    signed = httpx.get(
        f"{keyed.url}/v1/files/{batch['id']}/url", headers=_headers(), timeout=60
    ).json()["url"]
    for document, param in (
        ({"type": "file", "file_id": batch["id"]}, "document.file_id"),
        ({"type": "document_url", "document_url": signed}, "document.document_url"),
    ):
        for path in ("/v1/async/ocr", "/v1/ocr"):
            response = httpx.post(
                f"{keyed.url}{path}",
                headers=_headers(),
                json={"model": "tesseract", "document": document},
                timeout=60,
            )
            assert _error(response, 415)["param"] == param, path
            assert "purpose 'batch'" in response.json()["error"]["message"]


def test_an_upload_is_bounded_in_all_its_parts(keyed: Server, hello_png: bytes) -> None:
    # The file's limit (2 MiB here) bounded the file part only: a field Tessera does not read
    # and the text before the first boundary were read to their end, however long; gzip
    # makes gigabytes of them out of a few MB. The body is bounded beside the file too.
    file_part = (
        b'--X\r\nContent-Disposition: form-data; name="file"; filename="h.png"\r\n\r\n'
        + hello_png
        + b"\r\n--X--\r\n"
    )
    junk = b'--X\r\nContent-Disposition: form-data; name="junk"\r\n\r\n' + b"\0" * (64 * MiB)
    for body in (junk + b"\r\n" + file_part, b"\n" * 20_000 + file_part):
        answer = httpx.post(
            f"{keyed.url}/v1/files",
            headers={
                **_headers(),
                "Content-Type": "multipart/form-data; boundary=X",
                "Content-Encoding": "gzip",
            },
            content=gzip.compress(body, compresslevel=1),
            timeout=60,
        )
        assert _error(answer, 413)["param"] == "file"
    listed = httpx.get(f"{keyed.url}/v1/files", headers=_headers()).json()["data"]
    assert not [f for f in listed if f["filename"] == "h.png"]


def test_broken_uploads_and_odd_numbers_are_400s(keyed: Server, hello_png: bytes) -> None:
    url = f"{keyed.url}/v1/files"
    multipart = "multipart/form-data; boundary="
    for content_type, body in [
        (multipart + "X", b"not multipart at all"),  # its boundary never met
        (multipart + "X", b""),
        ("multipart/form-data", b"x"),  # no boundary
        (multipart + "X" * 80, b"--" + b"X" * 80 + b"\r\n"),  # a boundary too long
        (multipart + "X", b'--X\r\nContent-Disposition: form-data; name="file"\r\n\r\nab'),
    ]:
        answer = httpx.post(url, headers={**_headers(), "Content-Type": content_type}, content=body)
        assert "multipart" in _error(answer, 400)["message"], (content_type, body)
    # A first field '_charset_' longer than a charset's name: aiohttp's RuntimeError, a 500.
    charset = b'--X\r\nContent-Disposition: form-data; name="_charset_"\r\n\r\n' + b"u" * 40
    answer = httpx.post(
        url,
        headers={**_headers(), "Content-Type": multipart + "X"},
        content=charset + b"\r\n--X--\r\n",
    )
    assert _error(answer, 400)["param"] == "_charset_"
    # Digits to Python that are not digits to HTTP, and numbers too long to read.
    files = {"file": ("f.png", hello_png)}
    for expiry in ("²", "５", "9" * 5000):
        answer = httpx.post(url, headers=_headers(), files=files, data={"expiry": expiry})
        assert _error(answer, 400)["param"] == "expiry"
    for query in ("page=%C2%B9", "page_size=%D9%A3", "page=" + "9" * 5000):
        assert _error(httpx.get(f"{url}?{query}", headers=_headers()), 400)["param"]
    uploaded = _upload(keyed, hello_png, "ocr").json()["id"]
    for expiry in ("%C2%B2", "9" * 5000):
        answer = httpx.get(f"{url}/{uploaded}/url?expiry={expiry}", headers=_headers())
        assert _error(answer, 400)["param"] == "expiry"
    # A signed URL with such an expiry or a signature that is not ASCII is not valid: 404.
    for query in ("expires=%C2%B2&signature=x", "expires=99999999999&signature=%C3%A9"):
        answer = httpx.get(f"{url}/{uploaded}/content?{query}")
        assert _error(answer, 404)["code"] == "file_not_found", query
    # A batch line nested past any request's depth is a line that is not a request.
    deep = b'{"body": {}, "x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}\n"
    assert "Line 1" in _error(_upload(keyed, deep, "batch"), 400)["message"]
    answer = httpx.post(
        f"{keyed.url}/v1/batch/jobs",
        headers=_headers(),
        json={"endpoint": "/v1/ocr", "input_files": [uploaded] * 101},
    )
    assert _error(answer, 400)["param"] == "input_files"


def test_a_file_that_expires_is_gone(start_server: ServerFactory, hello_png: bytes) -> None:
    server = start_server({"TESSERA_FILE_TTL": "60", "TESSERA_CLEANUP_INTERVAL": "0.5"}, workers=1)
    response = httpx.post(
        f"{server.url}/v1/files",
        files={"file": ("hello.png", hello_png)},
        data={"purpose": "ocr"},
    )
    assert response.status_code == 200, response.text
    record = response.json()
    assert record["expires_at"] - record["created_at"] == 60
    path = server.data_dir / "files" / record["id"]
    assert path.exists()
    # Made to expire now, as time would: the housekeeper deletes row and bytes.
    import sqlite3

    with sqlite3.connect(server.data_dir / "tessera.db") as db:
        db.execute("UPDATE files SET expires_at = ? WHERE id = ?", (time.time() - 1, record["id"]))
    assert httpx.get(f"{server.url}/v1/files/{record['id']}").status_code == 404
    deadline = time.monotonic() + 10
    while path.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not path.exists()
    assert json.loads(httpx.get(f"{server.url}/v1/files").text)["total"] == 0


def test_an_upload_expiry_never_outlasts_the_file_ttl(
    start_server: ServerFactory, hello_png: bytes
) -> None:
    # `expiry` is in whole hours; below an hour of TESSERA_FILE_TTL, "expiry=1" kept the
    # file an hour, past the operator's limit.
    server = start_server({"TESSERA_FILE_TTL": "600"}, workers=1)
    for form in ({"purpose": "ocr", "expiry": "1"}, {"purpose": "ocr"}):
        response = httpx.post(
            f"{server.url}/v1/files", files={"file": ("hello.png", hello_png)}, data=form
        )
        assert response.status_code == 200, response.text
        record = response.json()
        assert record["expires_at"] - record["created_at"] == 600, form


def test_a_node_holding_many_files_goes_on_sweeping(
    start_server: ServerFactory, postgres_url: str, tmp_path: Path
) -> None:
    # The files a node holds were looked up in one statement with a value for each: on a
    # fleet, past 9,999 of them the statement could not be written, and the housekeeper
    # stopped for good (no job, document or file expired on that node again).
    folder = tmp_path / "data" / "files"
    folder.mkdir(parents=True)

    def left_behind(first: int, count: int) -> None:
        old = time.time() - 3600  # past the age at which a copy without a row is a leftover
        for i in range(first, first + count):
            path = folder / f"gone-{i}"
            path.touch()
            os.utime(path, (old, old))

    def held() -> list[Path]:
        return [p for p in folder.iterdir() if p.is_file()]

    left_behind(0, 12_000)
    server = start_server(
        {"TESSERA_DATABASE_URL": postgres_url, "TESSERA_CLEANUP_INTERVAL": "0.5"},
        workers=1,
        data_dir=tmp_path / "data",
    )
    wait_until(lambda: not held(), timeout=60, what="the leftover copies' deletion")
    left_behind(12_000, 10)  # and it goes on sweeping
    wait_until(lambda: not held(), timeout=30, what="a later round")
    assert "Traceback" not in server.log()


def _rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def test_large_bodies_do_not_grow_the_servers_memory(
    start_server: ServerFactory, tmp_path: Path
) -> None:
    """A 150 MB upload and a 45 MB document in a data URL both go to disk as they arrive."""
    server = start_server(workers=1)
    assert server.process is not None
    pid = server.process.pid
    scan = tmp_path / "large.pdf"
    with open(scan, "wb") as f:
        f.write(b"%PDF-1.7\n")
        for _ in range(150):
            f.write(os.urandom(1024 * 1024))
    document = tmp_path / "body.json"
    with open(document, "wb") as f:
        f.write(b'{"model": "tesseract", "document": {"type": "document_url", "document_url": "')
        f.write(b"data:application/pdf;base64,")
        f.write(base64.b64encode(b"%PDF-1.7\n" + os.urandom(45 * 1024 * 1024)))
        f.write(b'"}}')
    peak = before = _rss(pid)
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, _rss(pid))
            time.sleep(0.01)

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        with open(scan, "rb") as f:
            uploaded = httpx.post(
                f"{server.url}/v1/files",
                files={"file": ("large.pdf", f)},
                data={"purpose": "ocr"},
                timeout=120,
            )
        with open(document, "rb") as f:
            created = httpx.post(
                f"{server.url}/v1/async/ocr",
                content=iter(lambda: f.read(1024 * 1024), b""),
                headers={"Content-Type": "application/json"},
                timeout=120,
            )
    finally:
        done.set()
        sampler.join()
    assert uploaded.status_code == 200, uploaded.text
    assert uploaded.json()["bytes"] == scan.stat().st_size
    assert created.status_code == 202, created.text
    assert peak - before < 32 * 1024 * 1024, (before, peak)
