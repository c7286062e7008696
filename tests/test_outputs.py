"""Output files against the running service: a searchable PDF, hOCR, ALTO and text.

The PDF is read back with poppler's own tools (`pdftotext`, `pdfimages`), as an archive's
indexer would: its words must be the OCR's, in order, each on its word.
"""

from __future__ import annotations

import base64
import io
import re
import struct
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pikepdf
import pytest
from lxml import etree
from PIL import Image

from tests.conftest import Server, ServerFactory, ocr_body, wait_until
from tools import corpus, hostile

ALL = ["pdf", "hocr", "alto", "txt"]
HTML = "{http://www.w3.org/1999/xhtml}"
ALTO = "{http://www.loc.gov/standards/alto/ns-v4#}"
BORN_DIGITAL = ["Born digital page", "Its own text stays as it is"]
SCANNED = ["Scanned page reads", "Tessera writes text"]
# Enough text for orientation detection to be sure of the page's turn.
TURNED = [
    "Turned page upright again",
    "Words placed under words",
    "Searching finds each one",
    "where the reader sees it",
    "on the sideways scan",
]
Box = tuple[float, float, float, float]


@pytest.fixture(scope="module")
def served(start_module_server: ServerFactory) -> Server:
    return start_module_server(workers=2)


def _job(server: Server, body: dict[str, Any], **headers: str) -> dict[str, Any]:
    with server.client() as client:
        created = client.post("/v1/async/ocr", json=body, headers=headers)
        assert created.status_code == 202, created.text
        done = server.wait_job(client, created.json()["id"], timeout=180).json()
    assert done["status"] == "completed", done
    return dict(done)


def _download(server: Server, job: dict[str, Any], directory: Path) -> dict[str, Path]:
    """Every output the job lists, fetched; each matches its listing."""
    files = {}
    with server.client() as client:
        for entry in job["outputs"]:
            response = client.get(entry["url"])
            assert response.status_code == 200, response.text
            assert response.headers["content-type"].startswith(entry["content_type"])
            assert len(response.content) == entry["bytes"]
            files[entry["format"]] = directory / entry["format"]
            files[entry["format"]].write_bytes(response.content)
    return files


def _poppler(*args: str) -> str:
    return subprocess.run(args, check=True, capture_output=True, text=True).stdout


def _pdf_words(path: Path, page: int) -> list[tuple[str, Box]]:
    """The words `pdftotext -bbox` finds on a page (1-based), with their boxes in points."""
    html = _poppler("pdftotext", "-bbox", "-f", str(page), "-l", str(page), str(path), "-")
    root = etree.fromstring(html.encode())
    return [
        (w.text, tuple(float(w.get(k)) for k in ("xMin", "yMin", "xMax", "yMax")))
        for w in root.iter(f"{HTML}word")
    ]


def _hocr_pages(path: Path) -> list[tuple[int, list[tuple[str, Box]]]]:
    """Each hOCR page's resolution and its words with their boxes in pixels."""
    root = etree.parse(str(path)).getroot()
    pages = []
    for page in root.iter(f"{HTML}div"):
        if page.get("class") != "ocr_page":
            continue
        dpi = int(re.search(r"scan_res (\d+)", page.get("title")).group(1))
        words = []
        for word in page.iter(f"{HTML}span"):
            if word.get("class") == "ocrx_word":
                box = re.search(r"bbox (\d+) (\d+) (\d+) (\d+)", word.get("title")).groups()
                words.append(("".join(word.itertext()), tuple(float(v) for v in box)))
        pages.append((dpi, words))
    return pages


def _image_rows(path: Path) -> list[list[str]]:
    """`pdfimages -list`, without the object numbers a rewrite may change."""
    lines = _poppler("pdfimages", "-list", str(path)).splitlines()[2:]
    return [[c for i, c in enumerate(line.split()) if i not in (10, 11)] for line in lines]


def _within(inner: Box, outer: Box, slack: float) -> bool:
    return (
        inner[0] >= outer[0] - slack
        and inner[1] >= outer[1] - slack
        and inner[2] <= outer[2] + slack
        and inner[3] <= outer[3] + slack
    )


def _check_words_on_their_boxes(
    pdf: Path, page: int, ocr_words: list[tuple[str, Box]], to_points: Callable[[Box], Box]
) -> None:
    """The PDF page's words are the OCR's, each inside its own OCR box (in whatever order
    poppler lays out the page; `pdftotext -raw` checks the order)."""
    found = _pdf_words(pdf, page)
    assert sorted(t for t, _ in found) == sorted(t for t, _ in ocr_words)
    unused = list(ocr_words)
    for text, box in found:
        match = next(
            (w for w in unused if w[0] == text and _within(box, to_points(w[1]), slack=0.5)), None
        )
        assert match is not None, (text, box, [to_points(b) for t, b in ocr_words if t == text])
        unused.remove(match)


def _raw_words(pdf: Path, page: int) -> list[str]:
    """The page's words in the order the PDF draws them: the reading order a viewer's search
    and text selection follow."""
    return _poppler("pdftotext", "-raw", "-f", str(page), "-l", str(page), str(pdf), "-").split()


def _scaled(dpi: int) -> Callable[[Box], Box]:
    def to_points(box: Box) -> Box:
        left, top, right, bottom = (v * 72 / dpi for v in box)
        return left, top, right, bottom

    return to_points


# -- a PDF with a born-digital page and a scanned one -------------------------------------


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("mixed") / "mixed.pdf"
    return corpus.scanned_pages_pdf(path, [BORN_DIGITAL, corpus.letter_page(SCANNED)])


@pytest.fixture(scope="module")
def mixed_outputs(
    served: Server, mixed: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Path]:
    job = _job(served, ocr_body(mixed.read_bytes(), output_formats=ALL))
    assert [e["format"] for e in job["outputs"]] == ALL
    assert [p["source"] for p in job["result"]["pages"]] == ["text_layer", "ocr"]
    return _download(served, job, tmp_path_factory.mktemp("mixed-out"))


def test_searchable_pdf_keeps_the_pages_and_adds_the_ocr_text(
    mixed: Path, mixed_outputs: dict[str, Path]
) -> None:
    pdf = mixed_outputs["pdf"]
    assert _image_rows(pdf) == _image_rows(mixed)  # the scan as it was: not re-encoded
    with pikepdf.open(mixed) as before, pikepdf.open(pdf) as after:
        assert len(after.pages) == len(before.pages) == 2
        # The born-digital page, read from its own text layer, is left exactly as it was.
        assert after.pages[0].obj.Contents.read_bytes() == before.pages[0].obj.Contents.read_bytes()
    assert pdf.stat().st_size < mixed.stat().st_size * 1.1 + 20_000
    assert _poppler("pdftotext", "-l", "1", str(pdf), "-") == _poppler(
        "pdftotext", "-l", "1", str(mixed), "-"
    )
    scanned = _poppler("pdftotext", "-f", "2", "-l", "2", str(pdf), "-").split()
    assert " ".join(scanned) == " ".join(SCANNED)


def test_every_pdf_word_lies_on_its_ocr_word(mixed_outputs: dict[str, Path]) -> None:
    dpi, words = _hocr_pages(mixed_outputs["hocr"])[1]
    assert [t for t, _ in words] == " ".join(SCANNED).split()
    _check_words_on_their_boxes(mixed_outputs["pdf"], 2, words, _scaled(dpi))
    assert _raw_words(mixed_outputs["pdf"], 2) == [t for t, _ in words]


def test_hocr_alto_and_text_hold_the_same_words(mixed_outputs: dict[str, Path]) -> None:
    hocr = [[t for t, _ in words] for _, words in _hocr_pages(mixed_outputs["hocr"])]
    alto = etree.parse(str(mixed_outputs["alto"])).getroot()
    alto_words = [
        [s.get("CONTENT") for s in page.iter(f"{ALTO}String")] for page in alto.iter(f"{ALTO}Page")
    ]
    text = mixed_outputs["txt"].read_text()
    assert text.count("\f") == 2 and text.endswith("\f")
    text_words = [page.split() for page in text.split("\f")[:-1]]
    assert hocr == alto_words == text_words
    assert hocr == [" ".join(BORN_DIGITAL).split(), " ".join(SCANNED).split()]
    assert [p.get("PHYSICAL_IMG_NR") for p in alto.iter(f"{ALTO}Page")] == ["1", "2"]


# -- images ------------------------------------------------------------------------------


def test_a_turned_scan_gets_its_text_where_the_words_are(served: Server, tmp_path: Path) -> None:
    upright = corpus.letter_page(TURNED)
    # Turned a quarter counter-clockwise, as a sheet fed sideways; Tessera reads it upright.
    (tmp_path / "turned.png").write_bytes(corpus.image_bytes(upright.rotate(90, expand=True)))
    body = ocr_body((tmp_path / "turned.png").read_bytes(), mime="image/png", output_formats=ALL)
    files = _download(served, _job(served, body), tmp_path)
    _, words = _hocr_pages(files["hocr"])[0]
    assert [t for t, _ in words] == " ".join(TURNED).split()
    width = upright.width
    with pikepdf.open(files["pdf"]) as pdf:
        shown_width = float(pdf.pages[0].mediabox[2])
    scale = shown_width / upright.height  # points per pixel of the image as it was sent

    def to_points(box: Box) -> Box:
        # A point (x, y) of the upright page is at (y, width - x) on the turned one.
        left, top, right, bottom = box
        return top * scale, (width - right) * scale, bottom * scale, (width - left) * scale

    _check_words_on_their_boxes(files["pdf"], 1, words, to_points)
    assert _raw_words(files["pdf"], 1) == " ".join(TURNED).split()


def test_a_multi_frame_tiff_is_one_page_per_frame(served: Server, tmp_path: Path) -> None:
    frames = [corpus.text_image([f"Frame number {w}"]) for w in ("one", "two", "three")]
    frames[1] = frames[1].resize((frames[1].width * 2, frames[1].height * 2))
    buffer = io.BytesIO()
    frames[0].save(buffer, format="TIFF", save_all=True, append_images=frames[1:])
    body = ocr_body(buffer.getvalue(), mime="image/tiff", output_formats=["pdf", "txt"])
    body["pages"] = [0, 2]
    files = _download(served, _job(served, body), tmp_path)
    rows = _image_rows(files["pdf"])
    assert [(int(r[3]), int(r[4])) for r in rows] == [f.size for f in frames]
    assert {r[8] for r in rows} != {"jpeg"}  # lossless
    pages = [
        _poppler("pdftotext", "-f", str(n), "-l", str(n), str(files["pdf"]), "-") for n in (1, 2, 3)
    ]
    assert " ".join(pages[0].split()) == "Frame number one"
    assert pages[1].strip() == ""  # not selected: in the file, without text
    assert " ".join(pages[2].split()) == "Frame number three"
    assert files["txt"].read_text().split("\f")[:-1] == [
        "Frame number one\n",
        "Frame number three\n",
    ]


def test_a_jpeg_goes_into_the_pdf_as_it_is(served: Server, tmp_path: Path) -> None:
    jpeg = corpus.image_bytes(corpus.letter_page(SCANNED).convert("RGB"), "JPEG", quality=80)
    body = ocr_body(jpeg, kind="image_url", mime="image/jpeg", output_formats=["pdf"])
    files = _download(served, _job(served, body), tmp_path)
    with pikepdf.open(files["pdf"]) as pdf:
        (image,) = pdf.pages[0].get_images().values()
        assert image.Filter == pikepdf.Name.DCTDecode
        assert image.read_raw_bytes() == jpeg
    assert _poppler("pdftotext", str(files["pdf"]), "-").split() == " ".join(SCANNED).split()


def test_a_synchronous_request_gets_its_files_inline(served: Server) -> None:
    before = served.metric("tessera_outputs_total", format="txt", result="written")
    body = ocr_body(
        corpus.image_bytes(corpus.letter_page(SCANNED)),
        mime="image/png",
        output_formats=["pdf", "txt"],
    )
    with served.client() as client:
        response = client.post("/v1/ocr", json=body)
    assert response.status_code == 200, response.text
    outputs = {o["format"]: o for o in response.json()["outputs"]}
    pdf = base64.b64decode(outputs["pdf"]["data"])
    assert pdf.startswith(b"%PDF") and len(pdf) == outputs["pdf"]["bytes"]
    assert outputs["pdf"]["content_type"] == "application/pdf"
    assert base64.b64decode(outputs["txt"]["data"]).decode().split() == " ".join(SCANNED).split()
    assert served.metric("tessera_outputs_total", format="txt", result="written") == before + 1


# -- the interface's edges ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("formats", "message"),
    [
        (["pdf", "docx"], "'docx', which is not an output format"),
        ("pdf", "should be a valid list"),
        ([1], "should be a valid string"),
    ],
)
@pytest.mark.parametrize("path", ["/v1/ocr", "/v1/async/ocr"])
def test_unknown_formats_are_refused(served: Server, path: str, formats: Any, message: str) -> None:
    body = ocr_body(corpus.image_bytes(corpus.text_image(["x"])), mime="image/png")
    body["output_formats"] = formats
    with served.client() as client:
        response = client.post(path, json=body)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["param"].startswith("output_formats") and message in error["message"], error


def test_a_job_without_formats_lists_none(served: Server) -> None:
    job = _job(served, ocr_body(corpus.image_bytes(corpus.text_image(["x y z"])), mime="image/png"))
    assert "outputs" not in job
    with served.client() as client:
        response = client.get(f"/v1/async/ocr/{job['id']}/outputs/pdf")
        unknown = client.get(f"/v1/async/ocr/{job['id']}/outputs/{'x' * 6000}")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "output_not_found"
    assert "'pdf'" in response.json()["error"]["message"]
    # A name the service writes no output under is the client's text: not echoed back.
    assert unknown.status_code == 404
    assert len(unknown.json()["error"]["message"]) < 200


def test_outputs_follow_the_jobs_owner_and_ttl(start_server: ServerFactory) -> None:
    server = start_server(
        {"TESSERA_API_KEYS": "alpha,beta", "TESSERA_CLEANUP_INTERVAL": "1"}, workers=1
    )
    body = ocr_body(corpus.image_bytes(corpus.letter_page(SCANNED)), mime="image/png")
    body["output_formats"] = ["txt"]
    with server.client("alpha") as alpha, server.client("beta") as beta:
        created = alpha.post("/v1/async/ocr", json=body, headers={"x-bf-async-job-result-ttl": "3"})
        job_id = created.json()["id"]
        job = server.wait_job(alpha, job_id).json()
        url = job["outputs"][0]["url"]
        assert alpha.get(url).status_code == 200
        assert (server.data_dir / "outputs" / job_id / "txt").is_file()
        assert beta.get(url).status_code == 404
        assert alpha.get(url.replace("/txt", "/pdf")).status_code == 404
        deadline = time.monotonic() + 10
        while alpha.get(url).status_code == 200 and time.monotonic() < deadline:
            time.sleep(0.2)
        expired = alpha.get(url)
    assert expired.status_code == 404
    assert expired.json()["error"]["code"] == "job_not_found"
    # The cleaner deletes the files with the job.
    folder = server.data_dir / "outputs" / job_id
    wait_until(lambda: not folder.exists(), timeout=20, what="the job's files to be deleted")


def test_an_image_with_transparency_is_flattened_not_refused(
    served: Server, tmp_path: Path
) -> None:
    page = corpus.letter_page(SCANNED).convert("RGBA")
    page.putalpha(Image.new("L", page.size, 200))
    body = ocr_body(corpus.image_bytes(page), mime="image/png", output_formats=["pdf"])
    files = _download(served, _job(served, body), tmp_path)
    assert _poppler("pdftotext", str(files["pdf"]), "-").split() == " ".join(SCANNED).split()


def test_a_file_that_cannot_be_written_is_listed_with_its_error(served: Server) -> None:
    # The second frame is damaged: its page is lost, the first is read, and no PDF can hold
    # the image whole; the job completes with what it has.
    data = hostile.CASES["tiff_broken_second_frame"].data()
    job = _job(served, ocr_body(data, mime="image/tiff", output_formats=["pdf", "txt"]))
    pdf, txt = job["outputs"]
    assert pdf["format"] == "pdf" and "url" not in pdf
    assert pdf["error"]["code"] == "output_failed"
    assert served.metric("tessera_outputs_total", format="pdf", result="failed") >= 1
    assert "Frame 1" in pdf["error"]["message"]
    assert txt["format"] == "txt" and txt["bytes"] > 0
    assert [w["page"] for w in job["result"]["warnings"]] == [1]
    with served.client() as client:
        assert client.get(f"/v1/async/ocr/{job['id']}/outputs/pdf").status_code == 404
        assert client.get(txt["url"]).status_code == 200


def test_images_of_any_declared_size_become_pdf_pages(served: Server, tmp_path: Path) -> None:
    # A page at the image's own resolution would be smaller than a PDF page may be (a tiny
    # image; one that declares 5000 dpi) or larger (one that declares 1 dpi): the page is
    # made larger or smaller as a whole, its words still on their boxes. Only a shape no
    # page can have is refused, and the reading is kept.
    page = corpus.letter_page(SCANNED)

    def pdf_job(image: Image.Image, **params: object) -> dict[str, Any]:
        data = corpus.image_bytes(image, **params)
        return _job(served, ocr_body(data, mime="image/png", output_formats=["pdf"]))

    for dpi in [(5000, 5000), (1, 1)]:
        files = _download(served, pdf_job(page, dpi=dpi), tmp_path)
        assert _poppler("pdftotext", str(files["pdf"]), "-").split() == " ".join(SCANNED).split()
    [listed] = pdf_job(Image.new("L", (1, 1), 255))["outputs"]
    assert "url" in listed, listed
    job = pdf_job(Image.new("L", (1, 30_000), 255))
    [listed] = job["outputs"]
    assert job["status"] == "completed"
    assert "url" not in listed and "too long and narrow" in listed["error"]["message"]


def _with_orientation_entry(jpeg: bytes, kind: int, count: int, value: bytes) -> bytes:
    """The JPEG with its EXIF orientation rewritten as an entry of another TIFF type."""
    start = jpeg.index(b"Exif\x00\x00") + 6
    order = "<" if jpeg[start : start + 2] == b"II" else ">"
    (ifd,) = struct.unpack(order + "I", jpeg[start + 4 : start + 8])
    (entries,) = struct.unpack(order + "H", jpeg[start + ifd : start + ifd + 2])
    for n in range(entries):
        at = start + ifd + 2 + 12 * n
        if struct.unpack(order + "H", jpeg[at : at + 2])[0] == 0x0112:
            entry = struct.pack(order + "HHI", 0x0112, kind, count) + value.ljust(4, b"\x00")
            return jpeg[:at] + entry + jpeg[at + 12 :]
    raise AssertionError("no orientation entry")


def test_an_orientation_that_is_no_number_leaves_the_page_as_stored(
    served: Server, tmp_path: Path
) -> None:
    # A camera's or an editor's EXIF orientation written as text ("5") or bytes is none to
    # Pillow, which reads the page as stored. The PDF was mirrored by the text's digit (its
    # words off the page shown) or laid out at 72 dpi (the bytes hid its resolution), and
    # img2pdf's own reading of it logged a traceback ("--- Logging error ---").
    page = corpus.letter_page(SCANNED).convert("RGB").resize((850, 1100))
    exif = Image.Exif()
    exif[0x0112] = 1
    buffer = io.BytesIO()
    page.save(buffer, "JPEG", dpi=(100, 100), exif=exif, quality=90)
    for kind, count, value in [(2, 2, b"5\x00"), (7, 4, b"\x06\x00\x00\x00")]:
        jpeg = _with_orientation_entry(buffer.getvalue(), kind, count, value)
        body = ocr_body(jpeg, kind="image_url", mime="image/jpeg", output_formats=["pdf"])
        job = _job(served, body)
        assert job["result"]["pages"][0]["dimensions"] == {"dpi": 100, "height": 1100, "width": 850}
        files = _download(served, job, tmp_path)
        with pikepdf.open(files["pdf"]) as pdf:
            assert [float(v) for v in pdf.pages[0].mediabox] == [0, 0, 612, 792]
            assert "/Rotate" not in pdf.pages[0].obj
            (image,) = pdf.pages[0].get_images().values()
            assert image.read_raw_bytes() == jpeg
        assert _poppler("pdftotext", str(files["pdf"]), "-").split() == " ".join(SCANNED).split()
    assert "Logging error" not in served.log()
