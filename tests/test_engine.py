"""The OCR core on its real worker pool: formats, both backends, faults, fairness."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from ocr_engine import (
    DocumentResult,
    EngineConfig,
    OCREngine,
    OCROptions,
    PageOptions,
    PageSelection,
    pool,
)
from ocr_engine.errors import (
    InternalError,
    PageTimeout,
    UnprocessableDocument,
    UnsupportedDocument,
)
from ocr_engine.pdf import POPPLER, render
from ocr_engine.render.mistral import page_json
from tools import corpus

pytestmark = pytest.mark.ocr  # runs Tesseract

LINES = ["Tessera reads pages", "Warm workers answer"]


class Read:
    """An engine's result with its pages as Mistral page objects (`pages`) and as the model
    (`model`)."""

    def __init__(self, result: DocumentResult, options: OCROptions) -> None:
        self.model = result.pages
        self.pages = [page_json(p, options.page) for p in result.pages]
        self.document_size = result.document_size
        self.warnings = result.warnings


class EngineHarness:
    """An engine on its own event loop, for synchronous tests."""

    def __init__(self, tmp: Path, **config: Any) -> None:
        self.loop = asyncio.new_event_loop()
        self.engine = OCREngine(EngineConfig(work_dir=tmp, **{"workers": 2, **config}))
        self.loop.run_until_complete(self.engine.start())

    def run(
        self, path: Path, key: str = "job", pages: tuple[int, ...] | None = None, **options: Any
    ) -> Read:
        selection = PageSelection.of(pages) if pages is not None else None
        chosen = OCROptions(pages=selection, **options)
        return Read(self.loop.run_until_complete(self.engine.run(path, chosen, key=key)), chosen)

    def close(self) -> None:
        self.loop.run_until_complete(self.engine.close())
        self.loop.close()


@pytest.fixture(scope="module", params=["tesserocr", "pytesseract"])
def engine(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[EngineHarness]:
    harness = EngineHarness(tmp_path_factory.mktemp("engine"), backend=request.param)
    yield harness
    harness.close()


def _text(result: Read) -> str:
    return " ".join(p["markdown"] for p in result.pages)


def _save(tmp_path: Path, image: Image.Image, name: str, **params: Any) -> Path:
    path = tmp_path / name
    image.save(path, **params)
    return path


def test_reads_a_png(engine: EngineHarness, tmp_path: Path) -> None:
    path = _save(tmp_path, corpus.text_image(LINES), "a.png")
    result = engine.run(path)
    assert "Tessera reads pages" in _text(result)
    assert "Warm workers answer" in _text(result)
    page = result.pages[0]
    assert page["dimensions"]["width"] == Image.open(path).width
    assert (len(result.pages), result.document_size) == (1, path.stat().st_size)


def test_every_tiff_frame_is_a_page(engine: EngineHarness, tmp_path: Path) -> None:
    frames = [corpus.text_image([f"Frame number {word}"]) for word in ("one", "two", "three")]
    path = _save(tmp_path, frames[0], "multi.tif", save_all=True, append_images=frames[1:])
    result = engine.run(path, pages=(0, 2))
    assert [p["index"] for p in result.pages] == [0, 2]
    assert "one" in result.pages[0]["markdown"]
    assert "three" in result.pages[1]["markdown"]


def test_pdf_pages_render_at_the_configured_dpi(engine: EngineHarness, tmp_path: Path) -> None:
    path = corpus.text_pdf(
        tmp_path / "t.pdf", [["First page text"], ["Second page text"]], font_size=20
    )
    result = engine.run(path, page=PageOptions(confidence="word", include_blocks=True))
    assert [p["index"] for p in result.pages] == [0, 1]
    first = result.pages[0]
    assert "First page text" in first["markdown"]
    # Letter at 300 dpi; PDFium rounds the float scale up, so a pixel more is fine.
    assert first["dimensions"]["dpi"] == 300
    assert abs(first["dimensions"]["width"] - 2550) <= 1
    assert abs(first["dimensions"]["height"] - 3300) <= 1
    assert 0.5 < first["confidence_scores"]["average_page_confidence_score"] <= 1
    assert first["blocks"][0]["content"] == "First page text"


@pytest.mark.parametrize(
    "variant",
    [
        "exif_rotated",
        "palette_transparent",
        "rgba_transparent",
        "rgba_light_on_transparent",
        "cmyk_jpeg",
        "deep_16bit",
        "bilevel",
        "webp",
        "gif",
    ],
)
def test_image_modes_and_orientation(engine: EngineHarness, tmp_path: Path, variant: str) -> None:
    upright = corpus.text_image(LINES, mode="RGB")
    if variant == "exif_rotated":
        # Stored turned a quarter; the EXIF tag says how to turn it back.
        exif = Image.Exif()
        exif[0x0112] = 6  # rotate 90 CW to display
        path = _save(
            tmp_path, upright.transpose(Image.Transpose.ROTATE_90), "r.jpg", exif=exif, quality=95
        )
    elif variant == "palette_transparent":
        image = upright.convert("P", palette=Image.Palette.ADAPTIVE, colors=8)
        image.info["transparency"] = image.getpixel((0, 0))
        path = _save(tmp_path, image, "p.png", transparency=image.getpixel((0, 0)))
    elif variant == "rgba_transparent":
        # Black text on a fully transparent background: wrongly flattened it would be black.
        alpha = upright.convert("L").point(lambda v: 255 - v)
        image = Image.new("RGBA", upright.size, (0, 0, 0, 0))
        image.putalpha(alpha)
        path = _save(tmp_path, image, "t.png")
    elif variant == "rgba_light_on_transparent":
        # White text on transparency, drawn for a dark backdrop: on white it would vanish.
        alpha = upright.convert("L").point(lambda v: 255 - v)
        image = Image.new("RGBA", upright.size, (255, 255, 255, 0))
        image.putalpha(alpha)
        path = _save(tmp_path, image, "w.png")
    elif variant == "cmyk_jpeg":
        path = _save(tmp_path, upright.convert("CMYK"), "c.jpg", quality=95)
    elif variant == "deep_16bit":
        path = _save(
            tmp_path,
            upright.convert("L").point(lambda v: v * 257, mode="I").convert("I;16"),
            "d.png",
        )
    elif variant == "webp":
        path = _save(tmp_path, upright, "w.webp", quality=90)
    elif variant == "gif":
        path = _save(tmp_path, upright.convert("P"), "g.gif")
    else:
        path = _save(tmp_path, upright.convert("1"), "b.bmp")
    assert "Tessera reads pages" in _text(engine.run(path)), variant


def test_workers_run_single_threaded(engine: EngineHarness, tmp_path: Path) -> None:
    # Parallelism is the pool's: a library's thread per core in each worker would fight the
    # other workers for cores and, on a large host, eat the worker's address-space limit.
    path = _save(tmp_path, corpus.text_image(LINES, mode="RGB"), "p.png")
    assert "Tessera reads pages" in _text(engine.run(path))
    for pid in engine.engine.pool.pids:
        status = Path(f"/proc/{pid}/status").read_text()
        assert "\nThreads:\t1\n" in status, pid


def test_encrypted_pdf_is_unprocessable(engine: EngineHarness, tmp_path: Path) -> None:
    path = corpus.text_pdf(tmp_path / "e.pdf", [["secret"]], password="hunter2")
    with pytest.raises(UnprocessableDocument, match="encrypted"):
        engine.run(path)


def test_damaged_files(engine: EngineHarness, tmp_path: Path) -> None:
    pdf = tmp_path / "broken.pdf"
    pdf.write_bytes(b"%PDF-1.7\n1 0 obj << /Type /Catalog >> garbage")
    with pytest.raises(UnprocessableDocument):
        engine.run(pdf)
    png = tmp_path / "broken.png"
    png.write_bytes(corpus.image_bytes(corpus.text_image(LINES))[:200])
    with pytest.raises((UnprocessableDocument, UnsupportedDocument)):
        engine.run(png)
    text = tmp_path / "notes.txt"
    text.write_bytes(b"just words")
    with pytest.raises(UnsupportedDocument):
        engine.run(text)
    # The workers are still there for the next document.
    assert "Tessera" in _text(engine.run(_save(tmp_path, corpus.text_image(LINES), "ok.png")))


def test_poppler_renders_when_pdfium_cannot(tmp_path: Path) -> None:
    path = corpus.text_pdf(tmp_path / "t.pdf", [["x"], ["y"]])
    image, dpi = render(str(path), 1, renderer=POPPLER, dpi=100, max_pixels=10**8)
    assert (image.width, image.height, image.mode, dpi) == (850, 1100, "L", 100)


def test_huge_pages_are_rendered_at_a_lower_dpi(tmp_path: Path) -> None:
    from reportlab.pdfgen import canvas

    path = tmp_path / "poster.pdf"
    poster = canvas.Canvas(str(path), pagesize=(72 * 100, 72 * 100))  # 100 x 100 inches
    poster.drawString(72, 72, "poster")
    poster.save()
    image, dpi = render(str(path), 0, renderer="pdfium", dpi=300, max_pixels=25_000_000)
    assert dpi == 50 and image.width * image.height <= 25_000_000


@pytest.fixture
def lone_engine(tmp_path: Path) -> Iterator[EngineHarness]:
    harness = EngineHarness(tmp_path, backend="tesserocr")
    yield harness
    harness.close()


def test_a_killed_worker_costs_nothing_but_a_retry(
    lone_engine: EngineHarness, tmp_path: Path
) -> None:
    source = corpus.dense_pdf(tmp_path / "dense.pdf", min_pages=2)
    scan = corpus.image_only_pdf(source, tmp_path / "scan.pdf", pages=2)
    engine = lone_engine.engine

    async def kill_one_then_run() -> DocumentResult:
        job = asyncio.ensure_future(engine.run(scan, OCROptions(), key="k"))
        deadline = time.monotonic() + 30
        while engine.pool.busy < 1 and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.3)  # the workers are inside Tesseract now
        os.kill(engine.pool.pids[0], signal.SIGKILL)
        return await job

    result = Read(lone_engine.loop.run_until_complete(kill_one_then_run()), OCROptions())
    assert len(result.pages) == 2
    assert all("GNU" in p["markdown"] or "License" in p["markdown"] for p in result.pages)
    assert engine.pool.restarts == 1
    assert len(engine.pool.pids) == 2


def test_a_reply_lost_between_the_processes_fails_the_page_and_the_pool_recovers(
    lone_engine: EngineHarness, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Anything but a timeout or a dead pipe between the server and a worker (a reply that
    # cannot be unpickled, a wait the pipe cannot make) left the page's future unsettled:
    # the request hung for good. The page fails; the worker is replaced.
    call = pool._Worker.call
    calls = {"n": 0}

    def failing_once(self: Any, task: Any, timeout: float) -> tuple[Any, ...]:
        calls["n"] += 1
        if calls["n"] == 1:
            raise OverflowError("timeout value is too large")
        return call(self, task, timeout)

    monkeypatch.setattr(pool._Worker, "call", failing_once)
    image = _save(tmp_path, corpus.text_image(["ok"], font_size=30), "ok.png")
    engine = lone_engine.engine
    run = engine.run(image, OCROptions(), key="lost")
    with pytest.raises(InternalError, match="reply was lost"):
        lone_engine.loop.run_until_complete(asyncio.wait_for(run, 60))
    assert "ok" in _text(lone_engine.run(image)).lower()
    deadline = time.monotonic() + 60
    while engine.pool.restarts < 1 and time.monotonic() < deadline:
        lone_engine.loop.run_until_complete(asyncio.sleep(0.1))
    assert engine.pool.restarts == 1
    assert len(engine.pool.pids) == 2


def test_a_page_past_its_timeout_fails_and_the_pool_recovers(tmp_path: Path) -> None:
    harness = EngineHarness(tmp_path, backend="tesserocr", page_timeout=0.2)
    try:
        source = corpus.dense_pdf(tmp_path / "dense.pdf")
        scan = corpus.image_only_pdf(source, tmp_path / "scan.pdf", pages=1)
        with pytest.raises(PageTimeout, match="per-page timeout"):
            harness.run(scan)
        # A small page fits the timeout, on the replacement worker or the other one.
        small = _save(tmp_path, corpus.text_image(["ok"], font_size=30), "s.png")
        for _ in range(3):
            assert "ok" in _text(harness.run(small)).lower()
        # Tried twice, on two workers, both replaced.
        deadline = time.monotonic() + 60
        while harness.engine.pool.restarts < 2 and time.monotonic() < deadline:
            harness.loop.run_until_complete(asyncio.sleep(0.1))
        assert harness.engine.pool.restarts == 2
        assert len(harness.engine.pool.pids) == 2
    finally:
        harness.close()


def test_small_jobs_are_not_stuck_behind_a_large_one(
    lone_engine: EngineHarness, tmp_path: Path
) -> None:
    # Large enough to take seconds: right-sized, eight pages of big type read in under one.
    large = corpus.text_pdf(tmp_path / "large.pdf", [[f"Page {i}"] * 20 for i in range(40)])
    small = _save(tmp_path, corpus.text_image(["small"]), "small.png")
    engine = lone_engine.engine
    finished: list[str] = []

    async def both() -> None:
        async def run(path: Path, key: str) -> None:
            await engine.run(path, OCROptions(page=PageOptions(mode="force")), key=key)
            finished.append(key)

        big = asyncio.ensure_future(run(large, "large"))
        await asyncio.sleep(0.5)
        await asyncio.gather(big, run(small, "small"))

    lone_engine.loop.run_until_complete(both())
    assert finished == ["small", "large"]
