"""The OpenAPI document: served without a key, complete, and true to the running service.

The fuzzing half drives schemathesis from pytest: for each operation, cases generated from the
document (valid and invalid) go to the real service, and every answer must be free of 5xx,
conform to the document, and, when it is an error, be a Bifrost error.
"""

from __future__ import annotations

import io
import json
from typing import Any

import httpx
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image
from schemathesis import Case, CheckContext, GenerationMode, Response
from schemathesis.checks import not_a_server_error
from schemathesis.schemas import APIOperation, BaseSchema
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from server import openapi
from server.responses import JobFinished, ModelList, OCRResponse
from server.schema import OCRRequestBody
from tests.conftest import Server, ocr_body
from tools import corpus

# Every operation and the statuses it documents: its successes, then its Bifrost errors.
STATUSES = {
    ("POST", "/v1/ocr"): {200, 400, 401, 413, 415, 422, 429, 500, 503, 507},
    ("POST", "/v1/async/ocr"): {202, 400, 401, 413, 415, 429, 500, 503, 507},
    ("GET", "/v1/async/ocr/{job_id}"): {200, 202, 400, 401, 404, 500, 503},
    ("DELETE", "/v1/async/ocr/{job_id}"): {200, 401, 404, 500, 503},
    ("GET", "/v1/async/ocr/{job_id}/outputs/{format}"): {200, 401, 404, 500, 503},
    ("GET", "/v1/async/ocr/{job_id}/pages/{index}/image"): {200, 400, 401, 404, 500, 503},
    ("POST", "/v1/files"): {200, 400, 401, 413, 500, 503, 507},
    ("GET", "/v1/files"): {200, 400, 401, 500, 503},
    ("GET", "/v1/files/{file_id}"): {200, 401, 404, 500, 503},
    ("DELETE", "/v1/files/{file_id}"): {200, 401, 404, 500, 503},
    ("GET", "/v1/files/{file_id}/content"): {200, 401, 404, 500, 503},
    ("GET", "/v1/files/{file_id}/url"): {200, 400, 401, 404, 500, 503},
    ("POST", "/v1/batch/jobs"): {200, 400, 401, 404, 413, 500, 503, 507},
    ("GET", "/v1/batch/jobs"): {200, 400, 401, 500, 503},
    ("GET", "/v1/batch/jobs/{job_id}"): {200, 401, 404, 500, 503},
    ("POST", "/v1/batch/jobs/{job_id}/cancel"): {200, 401, 404, 500, 503},
    ("GET", "/v1/models"): {200, 401, 500, 503},
    ("GET", "/health"): {200, 500, 503},
    ("GET", "/ready"): {200, 500, 503},
    ("GET", "/metrics"): {200, 500},
    ("GET", "/openapi.json"): {200, 500},
}
OPERATIONS = list(STATUSES)
REFS = "#/components/schemas/"
BIFROST_ERROR = REFS + "BifrostError"
MAX_EXAMPLES = 50
KEY = "sk-bf-openapi"


@pytest.fixture(scope="module")
def keyed(start_module_server: Any) -> Server:
    """A service that requires keys, to show the document is not behind one."""
    return start_module_server({"TESSERA_API_KEYS": KEY}, workers=1)


@pytest.fixture(scope="module")
def document(server: Server) -> dict[str, Any]:
    return httpx.get(f"{server.url}/openapi.json").raise_for_status().json()


@pytest.fixture(scope="module")
def api_schema(server: Server) -> BaseSchema:
    """The document as the running service serves it, loaded by schemathesis."""
    return schemathesis.openapi.from_url(f"{server.url}/openapi.json")


@pytest.fixture(scope="module")
def report_pdf(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """A page with a header, a footer, a table and a photo: most of what a page can carry."""
    return corpus.structured_pdf(tmp_path_factory.mktemp("openapi") / "report.pdf").read_bytes()


def _operations(document: dict[str, Any]) -> set[tuple[str, str]]:
    return {
        (method.upper(), path)
        for path, item in document["paths"].items()
        for method in item
        if method != "parameters"
    }


# -- the document -----------------------------------------------------------------------------


def test_document_is_served_without_a_key(keyed: Server) -> None:
    with keyed.client() as anonymous:
        response = anonymous.get("/openapi.json")
        assert anonymous.get("/v1/models").status_code == 401
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    document = response.json()
    assert document["openapi"].startswith("3.1")
    assert _operations(document) == set(OPERATIONS)
    bearer = document["components"]["securitySchemes"]["bearer"]
    assert (bearer["type"], bearer["scheme"]) == ("http", "bearer")
    assert document["security"] == [{"bearer": []}]
    assert document["paths"]["/health"]["get"]["security"] == []


def test_every_error_is_a_bifrost_error(document: dict[str, Any]) -> None:
    for (method, path), statuses in STATUSES.items():
        responses = document["paths"][path][method.lower()]["responses"]
        assert {int(status) for status in responses} == statuses, (method, path)
        for status in (s for s in statuses if s >= 400):
            assert responses[str(status)] == {"$ref": f"#/components/responses/Error{status}"}
    for name, response in document["components"]["responses"].items():
        assert response["content"]["application/json"]["schema"] == {"$ref": BIFROST_ERROR}, name
    bifrost = document["components"]["schemas"]["BifrostError"]
    assert set(bifrost["required"]) == {"is_bifrost_error", "status_code", "error", "extra_fields"}


def test_request_body_is_the_pydantic_model(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    expected = OCRRequestBody.model_json_schema(ref_template="#/components/schemas/{model}")
    for name, nested in expected.pop("$defs").items():
        assert schemas[name] == nested
    served = {k: v for k, v in schemas["OCRRequestBody"].items() if k != "description"}
    assert served == expected
    for path in ("/v1/ocr", "/v1/async/ocr"):
        body = document["paths"][path]["post"]["requestBody"]
        assert body["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/OCRRequestBody"
        }


def test_answers_are_the_response_models(document: dict[str, Any]) -> None:
    """Each answer's schema is its pydantic model's JSON Schema, models inside it included."""
    schemas = document["components"]["schemas"]
    for route in openapi.ROUTES:
        operation = document["paths"][route.path][route.method]
        for status, answer in route.answers.items():
            content = operation["responses"][str(status)]["content"]
            if answer.model is None:
                assert "application/json" not in content or route.path == "/openapi.json"
                continue
            name = answer.model.__name__
            assert content["application/json"]["schema"] == {"$ref": REFS + name}
            expected = answer.model.model_json_schema(ref_template=REFS + "{model}")
            for nested, schema in expected.pop("$defs", {}).items():
                assert schemas[nested] == schema, nested
            assert schemas[name] == expected, name


def test_real_answers_match_the_document(
    server: Server, api_schema: BaseSchema, hello_png: bytes, report_pdf: bytes
) -> None:
    ocr, create = api_schema["/v1/ocr"]["POST"], api_schema["/v1/async/ocr"]["POST"]
    job, cancel = (api_schema["/v1/async/ocr/{job_id}"][m] for m in ("GET", "DELETE"))
    full = ocr_body(
        report_pdf,
        confidence_scores_granularity="word",
        include_blocks=True,
        table_format="html",
        extract_header=True,
        extract_footer=True,
        include_image_base64=True,
    )
    with server.client() as client:
        rich = client.post("/v1/ocr", json=full)
        ocr.validate_response(rich)
        OCRResponse.model_validate(rich.json())
        page = rich.json()["pages"][0]
        # So that the schemas of each part were put to the test, not skipped over.
        assert page["tables"] and page["images"] and page["header"] and page["footer"]
        assert page["blocks"] and page["confidence_scores"]["word_confidence_scores"]
        ocr.validate_response(client.post("/v1/ocr", json={"model": "tesseract"}))
        created = client.post("/v1/async/ocr", json=ocr_body(hello_png))
        create.validate_response(created)
        cancel.validate_response(client.delete(f"/v1/async/ocr/{created.json()['id']}"))
        finished = client.post("/v1/async/ocr", json=ocr_body(hello_png)).json()["id"]
        job.validate_response(done := server.wait_job(client, finished))
        assert JobFinished.model_validate(done.json()).root.status == "completed"
        cancel.validate_response(client.delete(f"/v1/async/ocr/{finished}"))
        job.validate_response(client.get("/v1/async/ocr/no-such-job"))
        api_schema["/v1/models"]["GET"].validate_response(models := client.get("/v1/models"))
        ModelList.model_validate(models.json())
        api_schema["/health"]["GET"].validate_response(client.get("/health"))


# -- fuzzing ----------------------------------------------------------------------------------


def assert_bifrost_error(body: Any, status: int) -> None:
    """`body` is a Bifrost error that names `status`."""
    assert isinstance(body, dict), f"error body is not a JSON object: {body!r:.200}"
    assert body.get("is_bifrost_error") is False, "is_bifrost_error is not false"
    assert body.get("status_code") == status, f"status_code is not {status}"
    error = body.get("error")
    assert isinstance(error, dict), "error is not an object"
    assert set(error) == {"type", "code", "message", "param"}, f"error fields: {sorted(error)}"
    assert isinstance(error["message"], str) and error["message"], "error.message is empty"
    extra = body.get("extra_fields")
    assert isinstance(extra, dict) and extra.get("provider") == "tessera", "extra_fields"


@schemathesis.check
def bifrost_error_shape(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    """Every error answer is a Bifrost error naming its own status, and never a traceback."""
    if response.status_code < 400:
        return None
    assert "Traceback" not in response.text, "a stack trace in the body"
    try:
        body = response.json()
    except ValueError:
        raise AssertionError(f"error body is not JSON: {response.text[:200]!r}") from None
    assert_bifrost_error(body, response.status_code)
    return None


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    bifrost_error_shape,
]


def _budget(examples: int) -> settings:
    """A fixed, repeatable budget: the same cases on every run, however long each one takes."""
    # Health checks judge generation speed and filtering; here the time goes to the service.
    return settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )


def _cases(operation: APIOperation) -> st.SearchStrategy[Case]:
    """Valid and invalid requests to one operation."""
    return st.one_of(
        operation.as_strategy(GenerationMode.POSITIVE),
        operation.as_strategy(GenerationMode.NEGATIVE),
    )


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_fuzz(server: Server, api_schema: BaseSchema, method: str, path: str) -> None:
    operation = api_schema[path][method]
    session = requests.Session()

    @_budget(MAX_EXAMPLES)
    @given(case=_cases(operation))
    def run(case: Case) -> None:
        case.call_and_validate(base_url=server.url, session=session, checks=CHECKS, timeout=60)

    with session:
        run()


SIGNED = {("GET", "/v1/files/{file_id}/content")}
PUBLIC = {("GET", "/health"), ("GET", "/ready"), ("GET", "/metrics"), ("GET", "/openapi.json")}


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_fuzz_without_a_valid_key(keyed: Server, method: str, path: str) -> None:
    operation = schemathesis.openapi.from_url(f"{keyed.url}/openapi.json")[path][method]
    session = requests.Session()

    @_budget(MAX_EXAMPLES // 2)
    @given(case=_cases(operation))
    def run(case: Case) -> None:
        response = case.call_and_validate(
            base_url=keyed.url, session=session, checks=CHECKS, timeout=60
        )
        if (method, path) in SIGNED and "signature" in (case.query or {}):
            # A signed URL is its own proof: a bad signature is a file not found.
            assert response.status_code == 404, "a bad signature served a file"
        elif (method, path) not in PUBLIC:
            assert response.status_code == 401, "answered without a valid key"

    with session:
        run()


# -- fuzzing the documents --------------------------------------------------------------------

# Magic numbers of the formats Tessera sniffs, so random tails reach each decoder.
PREFIXES = [
    b"%PDF-1.4\n",
    b"\x89PNG\r\n\x1a\n",
    b"\xff\xd8\xff\xe0",
    b"GIF89a",
    b"II*\x00",
    b"MM\x00*",
    b"BM",
    b"RIFF\x00\x10\x00\x00WEBPVP8 ",
]
DOCUMENT_EXAMPLES = 50


def _patch(original: bytes, edits: list[tuple[int, int]]) -> bytes:
    data = bytearray(original)
    for offset, value in edits:
        data[offset % len(data)] = value
    return bytes(data)


def _damaged(original: bytes) -> st.SearchStrategy[bytes]:
    """A real document cut short, or with a few bytes overwritten."""
    cut = st.integers(0, len(original) - 1).map(lambda n: original[:n])
    edits = st.lists(
        st.tuples(st.integers(0, len(original) - 1), st.integers(0, 255)), min_size=1, max_size=8
    )
    return st.one_of(cut, edits.map(lambda e: _patch(original, e)))


def _documents(samples: list[bytes]) -> st.SearchStrategy[bytes]:
    headed = st.tuples(st.sampled_from(PREFIXES), st.binary(max_size=2048)).map(b"".join)
    return st.one_of(st.binary(max_size=2048), headed, *(_damaged(s) for s in samples))


def _bodies(samples: list[bytes]) -> st.SearchStrategy[dict[str, Any]]:
    """Valid requests whose documents are random, truncated or damaged bytes."""
    pages = st.one_of(
        st.none(),
        st.lists(st.integers(0, 3), max_size=3),
        st.sampled_from(["0", "0-1", "1,0", "2-"]),
    )
    return st.builds(
        ocr_body,
        _documents(samples),
        kind=st.sampled_from(["document_url", "image_url"]),
        mime=st.sampled_from(["application/pdf", "image/png", "application/octet-stream"]),
        pages=pages,
    )


def _check_finished_job(server: Server, operation: APIOperation, job_id: str) -> None:
    """The job ends, as the document says, and a failure carries a Bifrost error."""
    with server.client() as client:
        response = server.wait_job(client, job_id, timeout=120)
    operation.validate_response(response)
    job = response.json()
    if job["status"] == "failed":
        assert_bifrost_error(job["error"], job["status_code"])
        # The job's status is the one a synchronous request would have answered.
        assert job["status_code"] < 500, f"job failed with a server error: {job['error']}"


@pytest.mark.parametrize("path", ["/v1/ocr", "/v1/async/ocr"])
def test_fuzz_documents(
    server: Server, api_schema: BaseSchema, hello_png: bytes, three_page_pdf: bytes, path: str
) -> None:
    operation = api_schema[path]["POST"]
    poll = api_schema["/v1/async/ocr/{job_id}"]["GET"]
    session = requests.Session()

    @_budget(DOCUMENT_EXAMPLES)
    @given(body=_bodies([hello_png, three_page_pdf]))
    def run(body: dict[str, Any]) -> None:
        case = operation.Case(body=body, media_type="application/json")
        response = case.call_and_validate(
            base_url=server.url, session=session, checks=CHECKS, timeout=120
        )
        if response.status_code == 202:
            _check_finished_job(server, poll, response.json()["id"])

    with session:
        run()


# Images cut inside their header, where Pillow's Image.open raises a bare OSError. Found by the
# document fuzzing above: they answered 500 "Recognition failed: OSError." instead of 422.
TRUNCATED_IMAGES = [("PNG", 20), ("JPEG", 64), ("WEBP", 32), ("BMP", 30)]


def _truncated(hello_png: bytes, fmt: str, length: int) -> bytes:
    image = Image.open(io.BytesIO(hello_png)).convert("RGB")
    return corpus.image_bytes(image, fmt)[:length]


@pytest.mark.parametrize("path", ["/v1/ocr", "/v1/async/ocr"])
@pytest.mark.parametrize(("fmt", "length"), TRUNCATED_IMAGES)
def test_truncated_image_headers(
    server: Server, api_schema: BaseSchema, hello_png: bytes, fmt: str, length: int, path: str
) -> None:
    body = ocr_body(_truncated(hello_png, fmt, length), mime="application/octet-stream")
    case = api_schema[path]["POST"].Case(body=body, media_type="application/json")
    response = case.call_and_validate(base_url=server.url, checks=CHECKS, timeout=60)
    if response.status_code == 202:
        _check_finished_job(
            server, api_schema["/v1/async/ocr/{job_id}"]["GET"], response.json()["id"]
        )


def _canned(status: int, body: Any) -> Response:
    """A response as schemathesis sees one, without a server."""
    content = body.encode() if isinstance(body, str) else json.dumps(body).encode()
    request = requests.Request("GET", "http://tessera.invalid/v1/models").prepare()
    return Response(
        status, {"content-type": ["application/json"]}, content, request, elapsed=0.0, verify=True
    )


def test_the_checks_can_fail(api_schema: BaseSchema) -> None:
    with pytest.raises(AssertionError, match="violates schema"):
        api_schema["/v1/ocr"]["POST"].validate_response(_canned(200, {"model": "tesseract"}))
    case = api_schema["/v1/models"]["GET"].Case()
    good = {
        "is_bifrost_error": False,
        "status_code": 404,
        "extra_fields": {"provider": "tessera"},
        "error": {"type": "not_found_error", "code": "x", "message": "Gone.", "param": None},
    }
    ctx: Any = None  # the check reads nothing from its context
    assert bifrost_error_shape(ctx, _canned(404, good), case) is None
    assert bifrost_error_shape(ctx, _canned(200, {"object": "list"}), case) is None
    for status, body in [
        (404, "404: Not Found"),
        (404, {**good, "status_code": 400}),
        (400, {**good, "status_code": 400, "error": {"message": "x"}}),
        (500, "Traceback (most recent call last):"),
    ]:
        with pytest.raises(AssertionError):
            bifrost_error_shape(ctx, _canned(status, body), case)
