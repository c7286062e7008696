"""Behind the Bifrost gateway: the request its Mistral provider sends, byte for byte, is answered
with JSON that decodes into the structs it reads.

The gateway marshals a struct with the JSON tags `model`, `id`, `document` (`type`,
`document_url`, `image_url`, both plain strings), `include_image_base64`, `pages` (a list of
integers), `image_limit`, `image_min_size`, `table_format`, `extract_header`, `extract_footer`,
..., each left out when unset, compactly and in that order. It sets `Content-Type:
application/json`, and `Authorization: Bearer <key>` only when its key has a value. It decodes
the answer into `model`, `pages` (`index`, `markdown`, `images`, `dimensions`), `usage_info`
and `document_annotation`; anything else is not in its structs and is dropped. A non-200 answer
is decoded as Mistral's error: `message`, `type`, `code` at the top, or a nested `error`.
"""

from __future__ import annotations

import http.client
import json
from io import BytesIO
from typing import Any
from urllib.parse import urlsplit

import pytest
from PIL import Image
from pydantic import BaseModel, ConfigDict

from tests.conftest import Server, ServerFactory, data_url
from tools import corpus

KEY = "sk-bf-gateway"


# -- the structs the gateway decodes into ------------------------------------------------------
# Strict: a JSON type Go would refuse (a string for an int, 300.0 for an int, null for a
# string) fails here too. Unknown fields are ignored, as Go ignores them.


class _Go(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore")


class GoPageImage(_Go):
    id: str
    top_left_x: float
    top_left_y: float
    bottom_right_x: float
    bottom_right_y: float
    image_base64: str | None = None


class GoPageDimensions(_Go):
    dpi: int
    height: int
    width: int


class GoPage(_Go):
    index: int
    markdown: str
    images: list[GoPageImage] | None = None
    dimensions: GoPageDimensions | None = None


class GoUsageInfo(_Go):
    pages_processed: int
    doc_size_bytes: int


class GoOCRResponse(_Go):
    model: str
    pages: list[GoPage]
    usage_info: GoUsageInfo | None = None
    document_annotation: str | None = None


class GoErrorField(_Go):
    type: str | None = None
    code: str | int | float | None = None  # the gateway turns a number into its string
    message: str = ""
    error: str | None = None
    param: Any = None
    event_id: str | None = None


class GoMistralError(_Go):
    object: str = ""
    message: str = ""
    type: str = ""
    code: str = ""
    error: GoErrorField | None = None


def gateway_message(decoded: GoMistralError, status: int) -> str:
    """The message the gateway reports: the top-level one, else the nested one, else a stock
    sentence with the status."""
    if decoded.message.strip():
        return decoded.message
    if decoded.error is not None and decoded.error.message.strip():
        return decoded.error.message
    return f"provider API error (status {status})"


# -- the request, as the gateway encodes and sends it -------------------------------------------


def gateway_body(
    model: str,
    kind: str,
    url: str,
    *,
    include_image_base64: bool | None = None,
    pages: list[int] | None = None,
    table_format: str | None = None,
    extract_header: bool | None = None,
    extract_footer: bool | None = None,
) -> bytes:
    """The body as the gateway marshals it: its field order, unset fields left out, no spaces."""
    fields: dict[str, Any] = {"model": model, "document": {"type": kind, kind: url}}
    optional = {
        "include_image_base64": include_image_base64,
        "pages": pages,
        "table_format": table_format,
        "extract_header": extract_header,
        "extract_footer": extract_footer,
    }
    fields.update({name: value for name, value in optional.items() if value is not None})
    return json.dumps(fields, separators=(",", ":"), ensure_ascii=False).encode()


def send_as_gateway(server: Server, body: bytes, key: str | None) -> tuple[int, bytes]:
    """POST {base_url}/v1/ocr with the gateway's headers and no others."""
    address = urlsplit(server.url)
    connection = http.client.HTTPConnection(address.hostname or "", address.port, timeout=120)
    try:
        connection.putrequest("POST", "/v1/ocr", skip_accept_encoding=True)
        connection.putheader("User-Agent", "fasthttp")
        connection.putheader("Content-Type", "application/json")
        if key:
            connection.putheader("Authorization", f"Bearer {key}")
        connection.putheader("Content-Length", str(len(body)))
        connection.endheaders(body)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


@pytest.fixture(scope="module")
def keyed_server(start_module_server: ServerFactory) -> Server:
    return start_module_server({"TESSERA_API_KEYS": KEY}, workers=1)


@pytest.fixture(scope="module")
def structured_pdf(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    path = tmp_path_factory.mktemp("bifrost") / "report.pdf"
    return corpus.structured_pdf(path).read_bytes()


def test_the_body_is_encoded_as_the_gateway_encodes_it() -> None:
    body = gateway_body(
        "mistral-ocr-latest", "document_url", "data:application/pdf;base64,QUJD", pages=[0, 2]
    )
    assert body == (
        b'{"model":"mistral-ocr-latest",'
        b'"document":{"type":"document_url","document_url":"data:application/pdf;base64,QUJD"},'
        b'"pages":[0,2]}'
    )


@pytest.mark.parametrize("key", [None, "sk-bf-anything"])
def test_a_pdf_by_document_url_on_an_open_service(
    server: Server, three_page_pdf: bytes, key: str | None
) -> None:
    body = gateway_body(
        "mistral-ocr-latest",
        "document_url",
        data_url(three_page_pdf, "application/pdf"),
        pages=[0, 2],
    )
    status, raw = send_as_gateway(server, body, key=key)
    assert status == 200, raw[:500]
    decoded = GoOCRResponse.model_validate_json(raw)
    assert decoded.model == "mistral-ocr-latest"
    assert [page.index for page in decoded.pages] == [0, 2]
    assert "alpha" in decoded.pages[0].markdown and "quick brown fox" in decoded.pages[0].markdown
    assert "charlie" in decoded.pages[1].markdown and "bravo" not in decoded.pages[1].markdown
    for page in decoded.pages:
        assert page.images == []
        assert page.dimensions is not None
        assert page.dimensions.dpi == 300
        assert page.dimensions.width == 2550 and page.dimensions.height == 3301
    assert decoded.usage_info == GoUsageInfo(pages_processed=2, doc_size_bytes=len(three_page_pdf))
    assert decoded.document_annotation is None


def test_an_image_by_image_url_with_a_key(keyed_server: Server, hello_png: bytes) -> None:
    body = gateway_body("tesseract-eng", "image_url", data_url(hello_png, "image/png"))
    assert b'"image_url":"data:image/png;base64,' in body  # a plain string, not an object
    status, raw = send_as_gateway(keyed_server, body, key=KEY)
    assert status == 200, raw[:500]
    decoded = GoOCRResponse.model_validate_json(raw)
    assert decoded.model == "tesseract-eng"
    assert [page.index for page in decoded.pages] == [0]
    assert "Hello Tessera world" in decoded.pages[0].markdown
    assert "Second line here" in decoded.pages[0].markdown
    width, height = Image.open(BytesIO(hello_png)).size
    dimensions = decoded.pages[0].dimensions
    assert dimensions is not None
    # A level picture is read as it is: its own size.
    assert (dimensions.width, dimensions.height) == (width, height)
    assert dimensions.dpi > 0
    assert decoded.usage_info is not None and decoded.usage_info.pages_processed == 1


@pytest.mark.parametrize("key", [None, "sk-bf-not-configured"])
def test_a_keyed_service_refuses_the_gateway_without_its_key(
    keyed_server: Server, hello_png: bytes, key: str | None
) -> None:
    body = gateway_body("tesseract", "image_url", data_url(hello_png, "image/png"))
    status, raw = send_as_gateway(keyed_server, body, key=key)
    assert status == 401
    decoded = GoMistralError.model_validate_json(raw)
    assert decoded.error is not None and decoded.error.message
    assert gateway_message(decoded, status) == decoded.error.message


def test_what_the_gateway_keeps_and_what_it_drops(server: Server, structured_pdf: bytes) -> None:
    body = gateway_body(
        "tesseract",
        "document_url",
        data_url(structured_pdf, "application/pdf"),
        include_image_base64=True,
        table_format="html",
        extract_header=True,
        extract_footer=True,
    )
    status, raw = send_as_gateway(server, body, key=None)
    assert status == 200, raw[:500]
    page = json.loads(raw)["pages"][0]
    # Tessera answers everything asked for ...
    assert "ACME Corporation" in (page["header"] or "")
    assert "Page 1" in (page["footer"] or "")
    assert page["tables"] and "<table>" in page["tables"][0]["content"]
    # ... and the gateway keeps the page's index, Markdown, figures and size.
    decoded = GoOCRResponse.model_validate_json(raw).pages[0]
    assert "Annual Results" in decoded.markdown
    assert decoded.images
    figure = decoded.images[0]
    assert figure.id == "img-0.jpeg"
    assert 0 <= figure.top_left_x < figure.bottom_right_x <= 2550
    assert 0 <= figure.top_left_y < figure.bottom_right_y <= 3301
    assert (figure.image_base64 or "").startswith("data:image/jpeg;base64,")
    assert set(decoded.model_dump()) == {"index", "markdown", "images", "dimensions"}
    assert not {"header", "footer", "tables"} & set(decoded.model_dump())


@pytest.mark.parametrize(
    ("body", "param"),
    [
        # The gateway always sends `document` with its `type`, even when empty.
        (b'{"model":"tesseract","document":{"type":""}}', "document.type"),
        (
            b'{"model":"tesseract","document":{"type":"document_url","document_url":""}}',
            "document.document_url",
        ),
        (None, "model"),
    ],
    ids=["no document type", "no document", "unknown model"],
)
def test_errors_decode_as_the_gateway_reads_them(
    server: Server, hello_png: bytes, body: bytes | None, param: str
) -> None:
    if body is None:
        body = gateway_body("tesseract-xx", "image_url", data_url(hello_png, "image/png"))
    status, raw = send_as_gateway(server, body, key=None)
    assert status == 400, raw[:500]
    decoded = GoMistralError.model_validate_json(raw)
    assert decoded.error is not None
    assert decoded.error.type == "invalid_request_error"
    assert decoded.error.code == "invalid_request"
    assert decoded.error.message.strip()
    assert gateway_message(decoded, status) == decoded.error.message
    assert decoded.error.param == param


def test_the_structs_refuse_what_go_would_refuse() -> None:
    """The mirror is strict where Go is: a float where Go has an int fails to decode."""
    good = {
        "model": "m",
        "pages": [
            {"index": 0, "markdown": "x", "dimensions": {"dpi": 300, "height": 1, "width": 1}}
        ],
    }
    GoOCRResponse.model_validate_json(json.dumps(good))
    bad = json.loads(json.dumps(good))
    bad["pages"][0]["dimensions"]["dpi"] = 300.5
    with pytest.raises(ValueError):
        GoOCRResponse.model_validate_json(json.dumps(bad))
    bad["pages"][0]["dimensions"]["dpi"] = "300"
    with pytest.raises(ValueError):
        GoOCRResponse.model_validate_json(json.dumps(bad))
