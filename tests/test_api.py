"""The wire contract (the README's "The API by example"), checked against the running service."""

from __future__ import annotations

import json
import shutil
import sqlite3
import time
from datetime import datetime
from typing import Any

import httpx
import pytest

from ocr_engine.languages import find_system_tessdata
from tests.conftest import Server, data_url, ocr_body, wait_until
from tools import corpus


def _ts(value: str) -> float:
    assert value.endswith("Z"), value
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def assert_bifrost_error(
    response: httpx.Response, status: int, *, param: str | None = None, contains: str = ""
) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["is_bifrost_error"] is False
    assert body["status_code"] == status
    assert set(body["error"]) == {"type", "code", "message", "param"}
    assert body["error"]["message"]
    assert contains.lower() in body["error"]["message"].lower()
    if param is not None:
        assert body["error"]["param"] == param
    assert body["extra_fields"]["provider"] == "tessera"
    assert body["extra_fields"]["request_type"] == "ocr"
    assert "Traceback" not in response.text
    return body


# -- /v1/ocr ----------------------------------------------------------------------------------


def test_sync_image_on_each_backend(any_server: Server, hello_png: bytes) -> None:
    with any_server.client() as client:
        response = client.post(
            "/v1/ocr", json=ocr_body(hello_png, kind="image_url", mime="image/png")
        )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["model"] == "tesseract"
    [page] = body["pages"]
    assert page["index"] == 0
    assert "Hello Tessera world" in page["markdown"]
    assert "Second line here" in page["markdown"]
    assert page["images"] == []
    assert set(page["dimensions"]) == {"dpi", "height", "width"}
    assert body["usage_info"] == {"pages_processed": 1, "doc_size_bytes": len(hello_png)}
    assert body["document_annotation"] is None
    extra = body["extra_fields"]
    assert extra["provider"] == "tessera" and extra["request_type"] == "ocr"
    assert extra["model_requested"] == "tesseract"
    assert isinstance(extra["latency"], int) and extra["latency"] > 0


def test_sync_pdf_selected_pages(client: httpx.Client, three_page_pdf: bytes) -> None:
    response = client.post(
        "/v1/ocr", json=ocr_body(three_page_pdf, pages="1-2", model="tesseract/eng")
    )
    body = response.json()
    assert [p["index"] for p in body["pages"]] == [1, 2]
    assert "bravo" in body["pages"][0]["markdown"]
    assert "charlie" in body["pages"][1]["markdown"]
    assert body["usage_info"]["pages_processed"] == 2
    assert body["model"] == "tesseract/eng"
    listed = client.post("/v1/ocr", json=ocr_body(three_page_pdf, pages=[2, 0])).json()
    assert [p["index"] for p in listed["pages"]] == [0, 2]


def test_types_are_sniffed_not_trusted(
    client: httpx.Client, hello_png: bytes, three_page_pdf: bytes
) -> None:
    png_as_document = client.post("/v1/ocr", json=ocr_body(hello_png, mime="application/pdf"))
    assert "Hello Tessera world" in png_as_document.json()["pages"][0]["markdown"]
    pdf_as_image = client.post(
        "/v1/ocr",
        json={
            "model": "tesseract",
            "document": {
                "type": "image_url",
                "image_url": {"url": data_url(three_page_pdf, "image/png")},
            },
            "pages": [0],
        },
    )
    assert "alpha" in pdf_as_image.json()["pages"][0]["markdown"]


def test_word_scores_and_blocks(client: httpx.Client, hello_png: bytes) -> None:
    response = client.post(
        "/v1/ocr",
        json=ocr_body(
            hello_png,
            confidence_scores_granularity="word",
            include_blocks=True,
            gateway_extra={"ignored": True},
        ),
    )
    page = response.json()["pages"][0]
    scores = page["confidence_scores"]
    assert 0.5 < scores["average_page_confidence_score"] <= 1
    assert 0 <= scores["minimum_page_confidence_score"] <= scores["average_page_confidence_score"]
    words = scores["word_confidence_scores"]
    assert [w["text"] for w in words][:3] == ["Hello", "Tessera", "world"]
    for word in words:
        assert page["markdown"][word["start_index"] :].startswith(word["text"])
        assert 0 <= word["confidence"] <= 1
    [block] = page["blocks"]
    assert block["type"] == "text"
    assert block["content"] == "Hello Tessera world Second line here"
    assert block["top_left_x"] < block["bottom_right_x"] <= page["dimensions"]["width"]
    assert block["top_left_y"] < block["bottom_right_y"] <= page["dimensions"]["height"]
    assert 0 < block["confidence_scores"]["average_content_confidence_score"] <= 1


def test_page_scores_only_when_asked(client: httpx.Client, hello_png: bytes) -> None:
    page = client.post(
        "/v1/ocr", json=ocr_body(hello_png, confidence_scores_granularity="page")
    ).json()["pages"][0]
    assert "word_confidence_scores" not in page["confidence_scores"]
    plain = client.post("/v1/ocr", json=ocr_body(hello_png)).json()["pages"][0]
    assert plain["confidence_scores"] is None and plain["blocks"] is None


@pytest.mark.parametrize(
    ("body", "param", "contains"),
    [
        (
            {"model": "tesseract", "document": {"document_url": "data:x;base64,AAAA"}},
            "document.type",
            "required",
        ),
        (
            {"model": "tesseract", "document": {"type": "document_url"}},
            "document.document_url",
            "needs",
        ),
        (
            {"model": "tesseract", "document": {"type": "image_url", "document_url": "x"}},
            "document.image_url",
            "needs",
        ),
        (
            {
                "model": "tesseract",
                "document": {
                    "type": "document_url",
                    "document_url": "data:application/pdf;base64,@@@",
                },
            },
            "document.document_url",
            "base64",
        ),
        (
            {"model": "tesseract", "document": {"type": "document_url", "document_url": 42}},
            "document.document_url",
            "",
        ),
        (
            {
                "model": "tesseract-klingon",
                "document": {"type": "document_url", "document_url": "data:x;base64,JVBERi0="},
            },
            "model",
            "not installed: klingon. Installed: ",
        ),
        (
            {
                "model": "tesseract",
                "pages": [-1],
                "document": {"type": "document_url", "document_url": "data:x;base64,JVBERi0="},
            },
            "pages",
            "negative",
        ),
        (
            {
                "model": "tesseract",
                "document": {"type": "document_url", "document_url": "ftp://host/a.pdf"},
            },
            "document.document_url",
            "http",
        ),
        (
            {
                "model": "tesseract",
                "document_annotation_prompt": "summarise",
                "document": {"type": "document_url", "document_url": "data:x;base64,JVBERi0="},
            },
            "document_annotation_prompt",
            "not supported by this provider",
        ),
    ],
)
@pytest.mark.parametrize("endpoint", ["/v1/ocr", "/v1/async/ocr"])
def test_invalid_requests_answer_400_before_any_job(
    server: Server,
    client: httpx.Client,
    endpoint: str,
    body: dict[str, Any],
    param: str,
    contains: str,
) -> None:
    response = client.post(endpoint, json=body)
    error = assert_bifrost_error(response, 400, param=param, contains=contains)
    assert error["error"]["type"] == "invalid_request_error"
    if isinstance(body.get("model"), str):
        assert error["extra_fields"]["model_requested"] == body["model"]


def test_no_job_is_created_by_an_invalid_request(server: Server, client: httpx.Client) -> None:
    before = _job_count(server)
    client.post("/v1/async/ocr", json={"model": "tesseract", "document": {"type": "image_url"}})
    assert _job_count(server) == before


def _job_count(server: Server) -> int:
    with sqlite3.connect(server.data_dir / "tessera.db") as db:
        return db.execute("SELECT count(*) FROM jobs").fetchone()[0]


@pytest.mark.parametrize("raw", [b"", b"{not json", b"[1, 2]", b'"a string"'])
def test_bodies_that_are_not_a_json_object(client: httpx.Client, raw: bytes) -> None:
    assert_bifrost_error(client.post("/v1/ocr", content=raw), 400)


def test_not_a_document_is_415(client: httpx.Client) -> None:
    body = ocr_body(b"PK\x03\x04 this is a zip archive", mime="application/pdf")
    assert_bifrost_error(client.post("/v1/ocr", json=body), 415, contains="neither a PDF")
    assert_bifrost_error(client.post("/v1/async/ocr", json=body), 415)


def test_page_out_of_range(client: httpx.Client, three_page_pdf: bytes) -> None:
    response = client.post("/v1/ocr", json=ocr_body(three_page_pdf, pages=[7]))
    assert_bifrost_error(response, 400, param="pages", contains="has 3 page")


def test_encrypted_pdf_is_422(client: httpx.Client, tmp_path: Any) -> None:
    path = corpus.text_pdf(tmp_path / "e.pdf", [["secret"]], password="pw")
    response = client.post("/v1/ocr", json=ocr_body(path.read_bytes()))
    assert_bifrost_error(response, 422, contains="encrypted")


def test_unknown_routes_and_methods(client: httpx.Client) -> None:
    assert_bifrost_error(client.get("/v2/nothing"), 404)
    assert_bifrost_error(client.get("/v1/ocr"), 405)
    # RFC 9110: a 405 names the methods the route answers; the error shape had dropped it.
    assert client.put("/v1/ocr").headers["Allow"] == "POST"
    allowed = client.patch("/v1/async/ocr/some-job").headers["Allow"]
    assert set(allowed.split(",")) == {"DELETE", "GET", "HEAD"}


def test_models_and_health(client: httpx.Client) -> None:
    models = client.get("/v1/models").json()
    assert models["object"] == "list"
    ids = [m["id"] for m in models["data"]]
    assert {"tesseract", "tesseract-eng", "mistral-ocr-latest"} <= set(ids)
    assert "tesseract-osd" not in ids
    assert all(m["object"] == "model" and m["owned_by"] == "tessera" for m in models["data"])
    assert client.get("/health").json()["status"] == "ok"


def test_aliases_select_the_default_languages(client: httpx.Client, hello_png: bytes) -> None:
    response = client.post("/v1/ocr", json=ocr_body(hello_png, model="mistral-ocr-latest"))
    assert response.json()["model"] == "mistral-ocr-latest"
    assert "Hello" in response.json()["pages"][0]["markdown"]


# -- /v1/async/ocr ----------------------------------------------------------------------------


def test_async_job_lifecycle(server: Server, client: httpx.Client, three_page_pdf: bytes) -> None:
    created = client.post("/v1/async/ocr", json=ocr_body(three_page_pdf))
    assert created.status_code == 202, created.text
    job = created.json()
    assert set(job) == {"id", "status", "created_at"}
    assert job["status"] == "pending"
    _ts(job["created_at"])
    # The document is on disk before the job is accepted, until the job ends: a fast job
    # may have ended (and its document gone) by the time this looks.
    if not (server.data_dir / "documents" / job["id"]).exists():
        assert client.get(f"/v1/async/ocr/{job['id']}").status_code == 200

    done = server.wait_job(client, job["id"])
    assert done.status_code == 200
    body = done.json()
    assert body["status"] == "completed" and body["status_code"] == 200
    assert body["id"] == job["id"] and body["created_at"] == job["created_at"]
    assert _ts(body["expires_at"]) - _ts(body["completed_at"]) == 3600
    assert "error" not in body and None not in body.values()
    assert [p["index"] for p in body["result"]["pages"]] == [0, 1, 2]
    assert "alpha" in body["result"]["pages"][0]["markdown"]
    assert body["result"]["usage_info"]["pages_processed"] == 3
    # The document is deleted once its job ends; the result stays.
    assert not (server.data_dir / "documents" / job["id"]).exists()
    assert client.get(f"/v1/async/ocr/{job['id']}").json() == body


def test_a_running_job_answers_202_with_progress(
    server: Server, client: httpx.Client, tmp_path: Any
) -> None:
    source = corpus.dense_pdf(tmp_path / "d.pdf", min_pages=4)
    scan = corpus.image_only_pdf(source, tmp_path / "s.pdf", pages=4, dpi=200)
    job_id = client.post("/v1/async/ocr", json=ocr_body(scan.read_bytes())).json()["id"]
    seen: set[str] = set()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        response = client.get(f"/v1/async/ocr/{job_id}")
        body = response.json()
        seen.add(body["status"])
        if response.status_code == 200:
            break
        assert response.status_code == 202
        assert body["status"] in ("pending", "processing")
        assert "result" not in body and "completed_at" not in body
        if body["status"] == "processing" and "pages_total" in body:
            assert body["pages_total"] == 4 and 0 <= body["pages_done"] <= 4
        time.sleep(0.05)
    assert "processing" in seen
    assert body["status"] == "completed" and len(body["result"]["pages"]) == 4


def test_failed_job_carries_a_bifrost_error(
    server: Server, client: httpx.Client, tmp_path: Any
) -> None:
    path = corpus.text_pdf(tmp_path / "e.pdf", [["secret"]], password="pw")
    job_id = client.post("/v1/async/ocr", json=ocr_body(path.read_bytes())).json()["id"]
    done = server.wait_job(client, job_id)
    assert done.status_code == 200
    body = done.json()
    assert body["status"] == "failed" and body["status_code"] == 422
    assert "result" not in body
    assert body["error"]["is_bifrost_error"] is False
    assert body["error"]["status_code"] == 422
    assert "encrypted" in body["error"]["error"]["message"]
    assert body["error"]["extra_fields"]["model_requested"] == "tesseract"


WEEK = 7 * 24 * 3600


@pytest.mark.parametrize(
    ("header", "ttl"),
    [
        ("5", 5),
        ("+5", 5),
        ("007", 7),
        ("0", 3600),
        ("-0", 3600),
        ("abc", 3600),
        ("-3", 3600),
        (None, 3600),
        ("", 3600),
        ("5s", 3600),
        ("1e3", 3600),
        ("²", 3600),
        ("٣", 3600),
        ("３", 3600),
        ("9" * 400, WEEK),
        ("99999999999", WEEK),
        ("604801", WEEK),
        ("2147483648", WEEK),
    ],
)
def test_result_ttl_header(
    server: Server, client: httpx.Client, hello_png: bytes, header: str | None, ttl: int
) -> None:
    """As the gateway does: missing, non-numeric, zero or negative means the default;
    anything above the maximum (a week by default) is clamped to it."""
    headers = {"x-bf-async-job-result-ttl": header} if header is not None else {}
    created = client.post(
        "/v1/async/ocr",
        json=ocr_body(hello_png),
        headers={k: v.encode() for k, v in headers.items()},
    )
    assert created.status_code == 202, created.text
    job_id = created.json()["id"]
    body = server.wait_job(client, job_id).json()
    assert _ts(body["expires_at"]) - _ts(body["completed_at"]) == ttl


def test_expired_jobs_are_404_then_deleted(start_server: Any, hello_png: bytes) -> None:
    server = start_server({"TESSERA_CLEANUP_INTERVAL": "0.5"}, workers=1)
    with server.client() as client:
        job_id = client.post(
            "/v1/async/ocr", json=ocr_body(hello_png), headers={"x-bf-async-job-result-ttl": "1"}
        ).json()["id"]
        assert server.wait_job(client, job_id).json()["status"] == "completed"
        expired = wait_until(
            lambda: (r := client.get(f"/v1/async/ocr/{job_id}")).status_code == 404 and r,
            timeout=10,
            what="the job expiring",
        )
        assert_bifrost_error(expired, 404, contains="job not found or expired")
        deadline = time.monotonic() + 10
        while _job_count(server) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _job_count(server) == 0


def test_unknown_job_is_404(client: httpx.Client) -> None:
    for job_id in ("00000000-0000-0000-0000-000000000000", "not-a-uuid"):
        body = assert_bifrost_error(client.get(f"/v1/async/ocr/{job_id}"), 404)
        assert body["error"]["message"] == "job not found or expired"


def test_unknown_webhook_endpoint_is_400(
    server: Server, client: httpx.Client, hello_png: bytes
) -> None:
    before = _job_count(server)
    response = client.post(
        "/v1/async/ocr", json=ocr_body(hello_png), headers={"x-bf-async-webhook": "nowhere"}
    )
    assert_bifrost_error(response, 400, param="x-bf-async-webhook", contains="nowhere")
    assert _job_count(server) == before


# -- limits -------------------------------------------------------------------------------------


def test_size_and_page_limits(start_server: Any, hello_png: bytes, three_page_pdf: bytes) -> None:
    limit = max(len(hello_png), len(three_page_pdf)) + 10
    server = start_server(
        {"TESSERA_MAX_DOCUMENT_BYTES": str(limit), "TESSERA_MAX_PAGES": "2"}, workers=1
    )
    big = hello_png + b"\0" * limit
    with server.client() as client:
        assert client.post("/v1/ocr", json=ocr_body(hello_png)).status_code == 200
        for endpoint in ("/v1/ocr", "/v1/async/ocr"):
            assert_bifrost_error(
                client.post(endpoint, json=ocr_body(big)), 413, contains="larger than the limit"
            )
        # A body far past the limit is refused while it is read.
        huge = json.dumps(ocr_body(big * 100))
        assert_bifrost_error(client.post("/v1/ocr", content=huge), 413)
        assert_bifrost_error(
            client.post("/v1/ocr", json=ocr_body(three_page_pdf)),
            413,
            param="pages",
            contains="limit is 2",
        )
        two = client.post("/v1/ocr", json=ocr_body(three_page_pdf, pages="0-1"))
        assert [p["index"] for p in two.json()["pages"]] == [0, 1]


# -- keys ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def keyed(start_module_server: Any) -> Server:
    return start_module_server({"TESSERA_API_KEYS": "sk-bf-alpha, beta-key"}, workers=1)


def test_keys_are_required_everywhere_but_health(keyed: Server) -> None:
    with keyed.client() as anonymous, keyed.client("wrong") as wrong:
        for client in (anonymous, wrong):
            for method, path in (
                ("GET", "/v1/models"),
                ("POST", "/v1/ocr"),
                ("POST", "/v1/async/ocr"),
                ("GET", "/v1/async/ocr/x"),
                ("GET", "/v2/unknown"),
            ):
                response = client.request(method, path, json={})
                body = assert_bifrost_error(response, 401)
                assert body["error"]["type"] == "authentication_error"
                # RFC 9110: a 401 names the scheme to authenticate with.
                assert response.headers["WWW-Authenticate"].startswith("Bearer ")
        assert anonymous.get("/health").status_code == 200
    with keyed.client("sk-bf-alpha") as alpha:
        assert alpha.get("/v1/models").status_code == 200


def test_jobs_belong_to_their_key(keyed: Server, hello_png: bytes) -> None:
    with keyed.client("sk-bf-alpha") as alpha, keyed.client("beta-key") as beta:
        job_id = alpha.post("/v1/async/ocr", json=ocr_body(hello_png)).json()["id"]
        assert keyed.wait_job(alpha, job_id).json()["status"] == "completed"
        foreign = beta.get(f"/v1/async/ocr/{job_id}")
        unknown = beta.get("/v1/async/ocr/00000000-0000-0000-0000-000000000000")
        assert_bifrost_error(foreign, 404)
        assert foreign.json() == unknown.json()  # nothing tells the two apart


# -- models -------------------------------------------------------------------------------------


def test_operator_models_directory(
    start_server: Any, tmp_path_factory: pytest.TempPathFactory, hello_png: bytes
) -> None:
    models = tmp_path_factory.mktemp("models")
    # Stands in for a fine-tuned model copied in offline.
    shutil.copy(find_system_tessdata() / "eng.traineddata", models / "engfine.traineddata")
    server = start_server({"TESSERA_MODELS_DIR": str(models)}, workers=1)
    with server.client() as client:
        ids = [m["id"] for m in client.get("/v1/models").json()["data"]]
        assert {"tesseract-eng", "tesseract-engfine"} <= set(ids)
        for model in ("tesseract-engfine", "eng+engfine"):
            response = client.post("/v1/ocr", json=ocr_body(hello_png, model=model))
            assert "Hello Tessera world" in response.json()["pages"][0]["markdown"], model
