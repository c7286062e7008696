"""Hostile documents against the running service: every one ends as a result or a clear error.

Each case of `tests/hostile.py` goes to `/v1/ocr` and to `/v1/async/ocr` (polled to the end).
The contract: a completed result, or a Bifrost error with the status the case calls for and a
sentence for a message; never a 5xx, never a stack trace, never a job left running; and the
service still answers a normal request afterwards.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from tests.conftest import Server, ocr_body, wait_until
from tools import corpus, hostile

JOB_TIMEOUT_S = 60.0
COMPLETED = 200
DEFAULT_DPI = 300
# A message names no exception class, carries no traceback and no path of Tessera's own.
_NOT_A_SENTENCE = re.compile(r"Traceback|\b[A-Z]\w*(Error|Exception)\b|\.py\b|/tmp/|\n")


@dataclass(frozen=True)
class Expect:
    """What the contract requires of one hostile case."""

    case: str  # a key of hostile.CASES
    status: int | tuple[int, ...]  # COMPLETED, or the error's HTTP status (or either of several)
    phrase: str = ""  # a regex: in the Markdown if completed, in error.message otherwise
    pages: tuple[int, ...] | None = None  # the page indices a completed result holds
    warned: tuple[int, ...] = ()  # the pages a completed result lists in `warnings`
    below_dpi: int | None = None  # a completed page was rendered at less than this
    fields: dict[str, Any] = field(default_factory=dict)  # more request fields
    bug: str | None = None  # a fault of the service today: the case is a strict xfail

    @property
    def statuses(self) -> tuple[int, ...]:
        return self.status if isinstance(self.status, tuple) else (self.status,)


W = hostile.WORDS
EXPECTATIONS: dict[str, Expect] = {
    "pdf_truncated_50": Expect("pdf_truncated_50", 422, "damaged"),
    "pdf_truncated_90": Expect("pdf_truncated_90", 422, "damaged"),
    "pdf_truncated_tail": Expect(
        "pdf_truncated_tail", COMPLETED, "Page charlie survives", pages=(0, 1, 2)
    ),
    "pdf_garbage_after_header": Expect("pdf_garbage_after_header", 422, "damaged"),
    # Either status fits the contract (400 for a page that does not exist, 422 for a document
    # that cannot be processed); what matters is that the message says why.
    "pdf_zero_pages": Expect("pdf_zero_pages", (400, 422), "no pages"),
    "pdf_encrypted_user": Expect("pdf_encrypted_user", 422, "encrypted"),
    "pdf_encrypted_owner_only": Expect("pdf_encrypted_owner_only", COMPLETED, W, pages=(0,)),
    "pdf_page_14400": Expect("pdf_page_14400", COMPLETED, W, pages=(0,), below_dpi=DEFAULT_DPI),
    "pdf_page_14400_ruled": Expect("pdf_page_14400_ruled", COMPLETED, W, pages=(0,)),
    "pdf_page_14400-force_ocr": Expect(
        "pdf_page_14400",
        COMPLETED,
        W,
        pages=(0,),
        below_dpi=DEFAULT_DPI,
        fields={"ocr_mode": "force"},
    ),
    "pdf_page_35000": Expect("pdf_page_35000", COMPLETED, W, pages=(0,), below_dpi=DEFAULT_DPI),
    "pdf_page_zero_size": Expect("pdf_page_zero_size", COMPLETED, W, pages=(0,)),
    "pdf_jbig2_invalid": Expect("pdf_jbig2_invalid", COMPLETED, pages=(0,)),
    "pdf_jbig2_mmr": Expect("pdf_jbig2_mmr", COMPLETED, W, pages=(0,)),
    "pdf_ccitt_g4": Expect("pdf_ccitt_g4", COMPLETED, W, pages=(0,)),
    "pdf_cmyk_jpeg": Expect("pdf_cmyk_jpeg", COMPLETED, W, pages=(0,)),
    # PDFium walks the loop once and shows the root's first page again; any page count will do.
    "pdf_cyclic_page_tree": Expect("pdf_cyclic_page_tree", COMPLETED, "Page alpha survives"),
    "pdf_self_drawing_form": Expect("pdf_self_drawing_form", COMPLETED, W, pages=(0,)),
    "pdf_flate_bomb": Expect("pdf_flate_bomb", COMPLETED, W, pages=(0,)),
    "pdf_wrong_xref_offsets": Expect("pdf_wrong_xref_offsets", COMPLETED, W, pages=(0,)),
    "pdf_count_overstated": Expect(
        "pdf_count_overstated", COMPLETED, W, pages=(0,), warned=(1, 2, 3, 4)
    ),
    "pdf_image_bomb": Expect("pdf_image_bomb", COMPLETED, pages=(0,)),
    "pdf_deep_nesting": Expect("pdf_deep_nesting", COMPLETED, W, pages=(0,)),
    "pdf_many_pages": Expect("pdf_many_pages", 413, "limit is 1000"),
    "pdf_many_pages-selected": Expect(
        "pdf_many_pages",
        COMPLETED,
        "Tiny page",
        pages=(4000, 4001, 4999),
        fields={"pages": "4000-4001,4999"},
    ),
    "pdf_many_pages-past_the_end": Expect(
        "pdf_many_pages", 400, "has 5000 page", fields={"pages": [5000]}
    ),
    "png_bomb": Expect("png_bomb", 422, "more pixels than the limit"),
    "png_bomb_warning_band": Expect("png_bomb_warning_band", 422, "more pixels than the limit"),
    "jpeg_bomb": Expect("jpeg_bomb", 422, "more pixels than the limit"),
    "png_truncated": Expect("png_truncated", 422, "cannot be decoded"),
    "jpeg_truncated": Expect("jpeg_truncated", 422, "cannot be decoded"),
    "webp_truncated": Expect("webp_truncated", 422, "damaged|cannot be decoded"),
    "tiff_broken_second_frame": Expect(
        "tiff_broken_second_frame", COMPLETED, W, pages=(0,), warned=(1,)
    ),
    "tiff_broken_second_frame-only_it": Expect(
        "tiff_broken_second_frame", 422, "cannot be decoded", fields={"pages": [1]}
    ),
    "tiff_second_frame_without_width": Expect(
        "tiff_second_frame_without_width", 422, "damaged|cannot be"
    ),
    "tiff_second_frame_unknown_compression": Expect(
        "tiff_second_frame_unknown_compression", 422, "compression scheme 16389"
    ),
    "tiff_ifd_loop": Expect("tiff_ifd_loop", COMPLETED, W, pages=(0, 1)),
    "tiff_g4": Expect("tiff_g4", COMPLETED, W, pages=(0,)),
    "jpeg_cmyk": Expect("jpeg_cmyk", COMPLETED, W, pages=(0,)),
    # Damaged files of a supported format are 422; only foreign bytes are 415.
    "gif_zero_size": Expect("gif_zero_size", 422, "damaged"),
    "jpeg_declared_png": Expect("jpeg_declared_png", COMPLETED, W, pages=(0,)),
    "tiff_declared_pdf": Expect("tiff_declared_pdf", COMPLETED, W, pages=(0,)),
    "random_bytes": Expect("random_bytes", 415, "neither a PDF nor a supported image"),
    "png_magic_then_noise": Expect("png_magic_then_noise", 422, "damaged"),
    "empty": Expect("empty", 400, "empty"),
}
# The operator bomb is left to its own test: it is stopped only by the per-page timeout.
SLOW_CASES = {"pdf_operator_bomb"}


def _params() -> Iterator[Any]:
    for key, expect in EXPECTATIONS.items():
        marks = [pytest.mark.xfail(strict=True, reason=expect.bug)] if expect.bug else []
        for endpoint in ("sync", "async"):
            yield pytest.param(expect, endpoint, id=f"{key}-{endpoint}", marks=marks)


def assert_sentence(message: str) -> None:
    """A message a person can act on: one or more sentences, no Python internals."""
    assert message[:1].isupper() and message.rstrip().endswith("."), message
    assert not _NOT_A_SENTENCE.search(message), message


def assert_error(body: dict[str, Any], status: int, expect: Expect) -> None:
    """A Bifrost error body with the expected status and a message with the expected phrase."""
    assert status in expect.statuses, body
    assert body["is_bifrost_error"] is False
    assert body["status_code"] == status
    assert set(body["error"]) == {"type", "code", "message", "param"}
    assert body["extra_fields"]["provider"] == "tessera"
    assert body["extra_fields"]["request_type"] == "ocr"
    message = body["error"]["message"]
    assert_sentence(message)
    assert re.search(expect.phrase, message, re.IGNORECASE), message


def assert_result(result: dict[str, Any], expect: Expect) -> None:
    """A completed OCR result holding the expected pages, text and warnings."""
    assert COMPLETED in expect.statuses, f"completed, but the case must fail: {result}"
    pages = result["pages"]
    assert pages, result
    if expect.pages is not None:
        assert [p["index"] for p in pages] == list(expect.pages)
    for page in pages:
        assert isinstance(page["markdown"], str) and isinstance(page["images"], list)
        assert set(page["dimensions"]) == {"dpi", "height", "width"}
        if expect.below_dpi is not None:
            assert page["dimensions"]["dpi"] < expect.below_dpi, page["dimensions"]
    markdown = "\n".join(p["markdown"] for p in pages)
    assert re.search(expect.phrase, markdown), markdown
    assert result["usage_info"]["pages_processed"] == len(pages)
    warnings = result.get("warnings") or []
    assert [w["page"] for w in warnings] == list(expect.warned), warnings
    for warning in warnings:
        assert_sentence(warning["message"])


def sync_outcome(client: httpx.Client, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """The status and body `/v1/ocr` answers."""
    response = client.post("/v1/ocr", json=body)
    assert "Traceback" not in response.text
    assert response.headers["content-type"].startswith("application/json"), response.text
    return response.status_code, response.json()


def async_outcome(
    server: Server, client: httpx.Client, body: dict[str, Any]
) -> tuple[int, dict[str, Any]]:
    """The status and body a job ends with: its result, or its error (at create or later)."""
    created = client.post("/v1/async/ocr", json=body)
    assert "Traceback" not in created.text
    if created.status_code != 202:
        return created.status_code, created.json()
    job = server.wait_job(client, created.json()["id"], timeout=JOB_TIMEOUT_S)
    assert "Traceback" not in job.text
    assert job.status_code == 200, job.text
    final = job.json()
    if final["status"] == "completed":
        assert final["status_code"] == COMPLETED
        return COMPLETED, final["result"]
    assert final["status"] == "failed", final
    assert final["error"]["status_code"] == final["status_code"]
    return final["status_code"], final["error"]


@pytest.fixture(scope="module")
def hostile_client(server: Server) -> Iterator[httpx.Client]:
    with server.client(timeout=JOB_TIMEOUT_S) as client:
        yield client


def test_every_case_has_an_expectation() -> None:
    covered = {e.case for e in EXPECTATIONS.values()} | SLOW_CASES
    assert covered == set(hostile.CASES)


@pytest.mark.parametrize(("expect", "endpoint"), list(_params()))
def test_hostile_document(
    server: Server, hostile_client: httpx.Client, expect: Expect, endpoint: str
) -> None:
    case = hostile.CASES[expect.case]
    body = ocr_body(case.data(), kind=case.kind, mime=case.mime, **expect.fields)
    if endpoint == "sync":
        status, answer = sync_outcome(hostile_client, body)
    else:
        status, answer = async_outcome(server, hostile_client, body)
    assert status < 500, answer
    if status == COMPLETED:
        assert_result(answer, expect)
    else:
        assert_error(answer, status, expect)
    assert hostile_client.get("/health", timeout=5).json()["status"] == "ok"


def test_operator_bomb_is_stopped_by_the_page_timeout(start_server: Any, hello_png: bytes) -> None:
    # 25 M path operators take PDFium minutes and gigabytes to parse; a short per-page timeout
    # keeps the test quick, and one worker shows that the service answers while it is stuck.
    server = start_server({"TESSERA_PAGE_TIMEOUT": "4"}, workers=1)
    expect = Expect("pdf_operator_bomb", 422, "timeout")
    case = hostile.CASES[expect.case]
    with server.client(timeout=JOB_TIMEOUT_S) as client:
        created = client.post("/v1/async/ocr", json=ocr_body(case.data(), mime=case.mime))
        assert created.status_code == 202, created.text
        wait_until(
            lambda: server.metric("tessera_workers_busy") == 1, what="the worker taking the bomb"
        )
        started = time.monotonic()
        assert client.get("/health", timeout=5).json()["status"] == "ok"
        assert time.monotonic() - started < 1
        job = server.wait_job(client, created.json()["id"], timeout=JOB_TIMEOUT_S).json()
        assert job["status"] == "failed", job
        assert_error(job["error"], job["status_code"], expect)
        after = client.post("/v1/ocr", json=ocr_body(hello_png, kind="image_url", mime="image/png"))
        assert "Hello Tessera world" in after.json()["pages"][0]["markdown"]


def test_service_still_serves_after_the_hostile_corpus(
    server: Server, hostile_client: httpx.Client
) -> None:
    assert server.process is not None and server.process.poll() is None, server.log()
    health = hostile_client.get("/health")
    assert health.status_code == 200 and health.json()["status"] == "ok"
    png = corpus.image_bytes(corpus.text_image(["After the storm", "All is calm"]))
    response = hostile_client.post(
        "/v1/ocr", json=ocr_body(png, kind="image_url", mime="image/png")
    )
    assert response.status_code == 200, response.text
    assert "After the storm" in response.json()["pages"][0]["markdown"]
    job = hostile_client.post("/v1/async/ocr", json=ocr_body(png)).json()
    final = server.wait_job(hostile_client, job["id"], timeout=JOB_TIMEOUT_S).json()
    assert "All is calm" in final["result"]["pages"][0]["markdown"]
