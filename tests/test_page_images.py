"""Pictures of pages as read (`page_images`), against the running service: they show the page
the boxes were measured on, belong to the job's key and go with the job."""

from __future__ import annotations

import io
import time
from typing import Any

import httpx
import numpy as np
import pytest
from PIL import Image

from ocr_engine.pageimage import MAX_SIDE
from tests.conftest import Server, ServerFactory, ocr_body, wait_until
from tools import corpus

# Enough text for orientation detection to be sure of the page's turn.
TURNED = [
    "Turned page upright again",
    "Words placed under words",
    "Pictures show the page",
    "as Tessera read it",
    "on the sideways scan",
]
SKEW_DEGREES = 2.0


@pytest.fixture(scope="module")
def served(start_module_server: ServerFactory) -> Server:
    return start_module_server(workers=2)


def _finished(server: Server, client: httpx.Client, body: dict[str, Any], **headers: str) -> Any:
    created = client.post("/v1/async/ocr", json=body, headers=headers)
    assert created.status_code == 202, created.text
    job = server.wait_job(client, created.json()["id"], timeout=180).json()
    assert job["status"] == "completed", job
    return job


def _picture(client: httpx.Client, job_id: str, index: int) -> Image.Image:
    response = client.get(f"/v1/async/ocr/{job_id}/pages/{index}/image")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/jpeg"
    return Image.open(io.BytesIO(response.content))


def _error_code(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["is_bifrost_error"] is False and body["status_code"] == status
    return str(body["error"]["code"])


def test_a_turned_and_skewed_scan_is_pictured_upright_under_its_words(served: Server) -> None:
    upright = corpus.letter_page(TURNED)
    skewed = upright.rotate(SKEW_DEGREES, expand=True, fillcolor=255)
    sideways = skewed.rotate(90, expand=True)  # fed sideways, and a little askew
    body = ocr_body(
        corpus.image_bytes(sideways),
        mime="image/png",
        include_blocks=True,
        page_images=True,
        confidence_scores_granularity="word",
    )
    with served.client() as client:
        job = _finished(served, client, body)
        picture = _picture(client, job["id"], 0)
    page = job["result"]["pages"][0]
    width, height = page["dimensions"]["width"], page["dimensions"]["height"]
    assert height > width, "the page was not read upright"
    assert max(picture.size) <= MAX_SIDE
    assert abs(picture.width / picture.height - width / height) < 0.01
    # The ink of the picture lies inside the blocks' boxes, scaled to it: a picture of the
    # page as sent, turned or askew, would put most of it elsewhere.
    ink = np.asarray(picture.convert("L")) < 128
    inside = np.zeros_like(ink)
    sx, sy = picture.width / width, picture.height / height
    for block in page["blocks"]:
        inside[
            int(block["top_left_y"] * sy) - 2 : int(block["bottom_right_y"] * sy) + 3,
            int(block["top_left_x"] * sx) - 2 : int(block["bottom_right_x"] * sx) + 3,
        ] = True
    assert ink.sum() > 500, "the picture shows no text"
    assert (ink & inside).sum() / ink.sum() > 0.95


def test_pictures_are_kept_for_the_pages_read_when_asked(
    served: Server, three_page_pdf: bytes
) -> None:
    with served.client() as client:
        asked = _finished(served, client, ocr_body(three_page_pdf, pages=[1], page_images=True))
        unasked = _finished(served, client, ocr_body(three_page_pdf, pages=[1]))
        picture = _picture(client, asked["id"], 1)
        not_read = client.get(f"/v1/async/ocr/{asked['id']}/pages/0/image")
        not_asked = client.get(f"/v1/async/ocr/{unasked['id']}/pages/1/image")
        not_a_page = client.get(f"/v1/async/ocr/{asked['id']}/pages/first/image")
        past_the_end = client.get(f"/v1/async/ocr/{asked['id']}/pages/{'9' * 12}/image")
        too_long = client.get(f"/v1/async/ocr/{asked['id']}/pages/{'9' * 40}/image")
    dimensions = asked["result"]["pages"][0]["dimensions"]
    assert abs(picture.width / picture.height - dimensions["width"] / dimensions["height"]) < 0.01
    # A born-digital page is drawn from the PDF: its text is there, dark on white.
    gray = np.asarray(picture.convert("L"))
    assert gray.min() < 64 and np.median(gray) > 240
    assert _error_code(not_read, 404) == "page_image_not_found"
    assert _error_code(not_asked, 404) == "page_image_not_found"
    assert _error_code(not_a_page, 400) == "invalid_request"
    assert _error_code(past_the_end, 404) == "page_image_not_found"
    assert _error_code(too_long, 400) == "invalid_request"


def test_pictures_belong_to_the_jobs_key_and_go_with_the_job(start_server: ServerFactory) -> None:
    server = start_server(
        {"TESSERA_API_KEYS": "alpha,beta", "TESSERA_CLEANUP_INTERVAL": "1"}, workers=1
    )
    body = ocr_body(
        corpus.image_bytes(corpus.letter_page(["Only its owner sees it"])),
        mime="image/png",
        page_images=True,
    )
    with server.client("alpha") as alpha, server.client("beta") as beta:
        job = _finished(server, alpha, body, **{"x-bf-async-job-result-ttl": "3"})
        url = f"/v1/async/ocr/{job['id']}/pages/0/image"
        _picture(alpha, job["id"], 0)
        assert (server.data_dir / "outputs" / job["id"] / "page-0.jpeg").is_file()
        assert _error_code(beta.get(url), 404) == "job_not_found"
        assert _error_code(httpx.get(server.url + url), 401) == "invalid_api_key"
        deadline = time.monotonic() + 10
        while alpha.get(url).status_code == 200 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _error_code(alpha.get(url), 404) == "job_not_found"
    folder = server.data_dir / "outputs" / job["id"]
    wait_until(lambda: not folder.exists(), timeout=20, what="the job's pictures to be deleted")
