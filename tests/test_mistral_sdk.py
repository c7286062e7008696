"""The `mistralai` SDK, pointed at Tessera, works unchanged."""

from __future__ import annotations

import pytest
from mistralai.client import Mistral
from mistralai.client.errors import MistralError
from mistralai.client.models import OCRResponse

from tests.conftest import Server, data_url


@pytest.fixture
def mistral(server: Server) -> Mistral:
    return Mistral(api_key="any-key", server_url=server.url, timeout_ms=120_000)


def test_pdf_with_every_option(mistral: Mistral, three_page_pdf: bytes) -> None:
    response = mistral.ocr.process(
        model="mistral-ocr-latest",
        document={
            "type": "document_url",
            "document_url": data_url(three_page_pdf),
            "document_name": "three.pdf",
        },
        pages=[0, 2],
        include_image_base64=True,
        image_limit=5,
        image_min_size=32,
        table_format="markdown",
        extract_header=True,
        extract_footer=True,
        include_blocks=True,
        confidence_scores_granularity="word",
    )
    assert isinstance(response, OCRResponse)
    assert response.model == "mistral-ocr-latest"
    assert [p.index for p in response.pages] == [0, 2]
    first = response.pages[0]
    assert "alpha" in first.markdown
    assert first.images == []
    assert first.dimensions is not None and first.dimensions.dpi == 300
    assert first.confidence_scores is not None
    words = first.confidence_scores.word_confidence_scores or []
    assert words and first.markdown[words[0].start_index :].startswith(words[0].text)
    assert first.blocks and first.blocks[0].type == "text"
    assert response.usage_info.pages_processed == 2
    assert response.usage_info.doc_size_bytes == len(three_page_pdf)


def test_image_chunk(mistral: Mistral, hello_png: bytes) -> None:
    response = mistral.ocr.process(
        model="tesseract-eng",
        document={"type": "image_url", "image_url": data_url(hello_png, "image/png")},
    )
    assert "Hello Tessera world" in response.pages[0].markdown
    assert response.pages[0].dimensions is not None


def test_errors_reach_the_sdk_with_their_status(mistral: Mistral, hello_png: bytes) -> None:
    with pytest.raises(MistralError) as raised:
        mistral.ocr.process(
            model="tesseract-klingon",
            document={"type": "image_url", "image_url": data_url(hello_png, "image/png")},
        )
    assert raised.value.status_code == 400
    assert "klingon" in raised.value.body
