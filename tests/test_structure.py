"""Document understanding against the running service: structure, orientation, text layers."""

from __future__ import annotations

import base64
import difflib
import io
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from tests.conftest import ocr_body
from tools import corpus

RUNNING_HEAD = "ACME Corporation - Annual Report"


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """The structured report as born-digital PDF, as a scan, and as scans turned and skewed."""
    directory = tmp_path_factory.mktemp("report")
    born = corpus.structured_pdf(directory / "report.pdf")
    scan = corpus.image_only_pdf(born, directory / "scan.pdf")
    upright = Image.open(io.BytesIO(_render(scan)))
    documents = {"born_digital": born.read_bytes(), "scan": scan.read_bytes()}
    for angle in (90, 180, 270):
        documents[f"turned_{angle}"] = corpus.image_bytes(
            upright.rotate(angle, expand=True), "PNG", dpi=(300, 300)
        )
    documents["skewed"] = corpus.image_bytes(
        upright.rotate(-2.5, expand=True, fillcolor=255, resample=Image.Resampling.BICUBIC),
        "PNG",
        dpi=(300, 300),
    )
    return documents


def _render(pdf: Path) -> bytes:
    import pypdfium2 as pdfium

    page = pdfium.PdfDocument(str(pdf))[0]
    return corpus.image_bytes(page.render(scale=300 / 72, grayscale=True).to_pil())


def _page(client: httpx.Client, data: bytes, **fields: Any) -> dict[str, Any]:
    response = client.post("/v1/ocr", json=ocr_body(data, **fields))
    assert response.status_code == 200, response.text
    return response.json()["pages"][0]


@pytest.mark.parametrize(("document", "source"), [("born_digital", "text_layer"), ("scan", "ocr")])
def test_structured_markdown(
    client: httpx.Client, report: dict[str, bytes], document: str, source: str
) -> None:
    page = _page(client, report[document])
    assert page["source"] == source
    markdown = page["markdown"]
    assert markdown.startswith(RUNNING_HEAD + "\n\n# Annual Results\n\n")
    assert (
        "Revenue grew in every region this year. The board thanks all staff for their "
        "work and proposes a dividend.\n\n" in markdown
    )
    assert "- Opened two new plants\n- Hired forty engineers\n- Cut waste by half\n\n" in markdown
    assert (
        "| Region | Sales | Growth |\n|---|---|---|\n| North | 1200 | 12% |\n"
        "| South | 950 | 8% |\n\n![img-0.jpeg](img-0.jpeg)\n\n"
    ) in markdown
    # The columns are read one after the other, not line by line across.
    assert (
        "The left column starts here and keeps going for several lines until it ends.\n\n"
        "The right column follows after the left one and closes the page."
    ) in markdown
    [image] = page["images"]
    assert abs(image["top_left_x"] - 300) <= 20 and abs(image["bottom_right_x"] - 1238) <= 20
    assert abs(image["top_left_y"] - 1708) <= 20 and abs(image["bottom_right_y"] - 2333) <= 20


def test_blocks_are_typed(client: httpx.Client, report: dict[str, bytes]) -> None:
    page = _page(
        client, report["born_digital"], include_blocks=True, confidence_scores_granularity="block"
    )
    assert [b["type"] for b in page["blocks"]] == [
        "header",
        "title",
        "text",
        "list",
        "list",
        "list",
        "table",
        "image",
        "text",
        "text",
        "footer",
    ]
    title = page["blocks"][1]
    assert title["content"] == "# Annual Results"
    assert title["confidence_scores"]["average_content_confidence_score"] == 1.0
    assert page["blocks"][7]["image_id"] == "img-0.jpeg"
    assert "word_confidence_scores" not in page["confidence_scores"]


def test_tables_images_header_and_footer_on_request(
    client: httpx.Client, report: dict[str, bytes]
) -> None:
    page = _page(
        client,
        report["born_digital"],
        table_format="html",
        include_image_base64=True,
        extract_header=True,
        extract_footer=True,
        include_blocks=True,
    )
    assert page["header"] == RUNNING_HEAD and page["footer"] == "Page 1"
    assert RUNNING_HEAD not in page["markdown"] and "Page 1" not in page["markdown"]
    assert "[tbl-0.html](tbl-0.html)" in page["markdown"]
    [table] = page["tables"]
    assert table["id"] == "tbl-0.html" and table["format"] == "html"
    assert "<tr><td>North</td><td>1200</td><td>12%</td></tr>" in table["content"]
    [image] = page["images"]
    jpeg = base64.b64decode(image["image_base64"].removeprefix("data:image/jpeg;base64,"))
    picture = Image.open(io.BytesIO(jpeg))
    assert picture.format == "JPEG"
    assert picture.size == (
        image["bottom_right_x"] - image["top_left_x"],
        image["bottom_right_y"] - image["top_left_y"],
    )
    assert picture.mode == "RGB"  # the photo keeps its colours
    none = _page(client, report["born_digital"], image_limit=1, image_min_size=5000)
    assert none["images"] == [] and "![img" not in none["markdown"]


def test_word_scores_point_into_structured_markdown(
    client: httpx.Client, report: dict[str, bytes]
) -> None:
    page = _page(client, report["scan"], confidence_scores_granularity="word")
    markdown = page["markdown"]
    words = page["confidence_scores"]["word_confidence_scores"]
    assert len(words) > 40
    for word in words:
        text = word["text"].rstrip("-")
        assert markdown[word["start_index"] : word["start_index"] + len(text)] == text


def _words(markdown: str) -> list[str]:
    return re.findall(r"\w+", markdown)


@pytest.mark.parametrize("variant", ["turned_90", "turned_180", "turned_270", "skewed"])
def test_turned_and_skewed_scans_read_like_the_upright_one(
    client: httpx.Client, report: dict[str, bytes], variant: str
) -> None:
    upright = _page(client, report["scan"])
    turned = _page(client, report[variant], include_blocks=True)
    similarity = difflib.SequenceMatcher(
        None, _words(upright["markdown"]), _words(turned["markdown"])
    ).ratio()
    assert similarity >= 0.97, turned["markdown"]
    # Boxes refer to the upright page that `dimensions` describes.
    width, height = turned["dimensions"]["width"], turned["dimensions"]["height"]
    assert height > width
    title = next(b for b in turned["blocks"] if b["type"] == "title")
    assert title["top_left_y"] < height / 5
    assert (
        title["bottom_right_x"] - title["top_left_x"]
        > title["bottom_right_y"] - title["top_left_y"]
    )


def test_ocr_mode(client: httpx.Client, report: dict[str, bytes]) -> None:
    forced = _page(client, report["born_digital"], ocr_mode="force")
    assert forced["source"] == "ocr" and "# Annual Results" in forced["markdown"]
    layer_only = _page(client, report["scan"], ocr_mode="text_layer")
    assert layer_only["source"] == "text_layer" and layer_only["markdown"] == ""
    response = client.post("/v1/ocr", json=ocr_body(report["scan"], ocr_mode="sometimes"))
    assert response.status_code == 400 and response.json()["error"]["param"] == "ocr_mode"


def test_each_page_is_read_the_way_it_needs(client: httpx.Client, tmp_path: Path) -> None:
    scan = corpus.letter_page(["Scanned page inside", "a digital document"])
    path = corpus.scanned_pages_pdf(
        tmp_path / "mixed.pdf", [["A born digital page", "with its own text"], scan]
    )
    response = client.post("/v1/ocr", json=ocr_body(path.read_bytes()))
    pages = response.json()["pages"]
    assert [p["source"] for p in pages] == ["text_layer", "ocr"]
    assert pages[0]["markdown"] == "A born digital page with its own text\n"
    assert "Scanned page inside a digital document" in pages[1]["markdown"]


def test_an_invisible_text_layer_is_not_trusted(client: httpx.Client, tmp_path: Path) -> None:
    scan = corpus.letter_page(["What the scan shows"])
    path = corpus.scanned_pages_pdf(
        tmp_path / "ocred.pdf", [scan], hidden_text="Junk from an earlier OCR"
    )
    auto = _page(client, path.read_bytes())
    assert auto["source"] == "ocr"
    assert "What the scan shows" in auto["markdown"] and "Junk" not in auto["markdown"]
    trusted = _page(client, path.read_bytes(), ocr_mode="text_layer")
    assert "Junk from an earlier OCR" in trusted["markdown"]


def test_the_sdk_parses_every_option_on_a_structured_page(
    server: Any, report: dict[str, bytes]
) -> None:
    from mistralai.client import Mistral

    from tests.conftest import data_url

    client = Mistral(api_key="k", server_url=server.url, timeout_ms=120_000)
    for document in ("born_digital", "scan"):
        response = client.ocr.process(
            model="tesseract",
            document={"type": "document_url", "document_url": data_url(report[document])},
            include_image_base64=True,
            table_format="html",
            extract_header=True,
            extract_footer=True,
            include_blocks=True,
            confidence_scores_granularity="word",
            image_limit=3,
            image_min_size=10,
        )
        page = response.pages[0]
        assert page.header == RUNNING_HEAD
        assert page.tables and page.tables[0].format_ == "html"
        assert page.images and page.images[0].image_base64
        assert {b.type for b in page.blocks or []} >= {"title", "text", "list", "table", "image"}
