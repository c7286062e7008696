"""The searchable PDF's text layer on pages that were read turned or straightened.

The engine reads real pages from the evaluation corpus (scanned sideways, upside down, skewed
by a few degrees) and a page whose PDF turns it with /Rotate; `pdftotext -bbox` must find
every OCR word whole, inside the OCR word's box mapped back onto the page as it is shown, and
`pdftotext -raw` the words in reading order.
"""

from __future__ import annotations

import asyncio
import io
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pikepdf
import pytest
from lxml import etree
from PIL import Image, ImageOps

from ocr_engine import EngineConfig, OCREngine, OCROptions
from ocr_engine.model import OCR, Page
from ocr_engine.render import RenderedDocument, render, searchable
from tests.conftest import REPO
from tools import corpus

pytestmark = pytest.mark.ocr

CORPUS = REPO / "tools" / "eval-corpus"
WORD = "{http://www.w3.org/1999/xhtml}word"


@pytest.fixture(scope="module")
def engine(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[OCREngine, asyncio.AbstractEventLoop]]:
    loop = asyncio.new_event_loop()
    ocr = OCREngine(EngineConfig(workers=2, work_dir=tmp_path_factory.mktemp("engine")))
    loop.run_until_complete(ocr.start())
    yield ocr, loop
    loop.run_until_complete(ocr.close())
    loop.close()


def _searchable(
    engine: tuple[OCREngine, asyncio.AbstractEventLoop], source: Path, out: Path
) -> list[Page]:
    ocr, loop = engine
    result = loop.run_until_complete(ocr.run(source, OCROptions(), key=source.name))
    with open(out, "wb") as f:
        render("pdf", RenderedDocument(result.pages, source, result.kind), f)
    return result.pages


def _shown_box(
    page: Page, box: tuple[int, int, int, int], scale: tuple[float, float]
) -> tuple[float, ...]:
    """A word's box read upright, on the page as shown, in points: the box around its corners."""
    left, top, right, bottom = box
    corners = [page.map_to_source(x, y) for x in (left, right) for y in (top, bottom)]
    xs = [x * scale[0] for x, _ in corners]
    ys = [y * scale[1] for _, y in corners]
    return min(xs), min(ys), max(xs), max(ys)


def _check(pdf: Path, pages: list[Page], *, cropbox: bool = True) -> None:
    html = subprocess.run(
        ["pdftotext", *(["-cropbox"] if cropbox else []), "-bbox", str(pdf), "-"],
        capture_output=True,
        check=True,
    )
    shown = list(etree.fromstring(html.stdout).iter("{http://www.w3.org/1999/xhtml}page"))
    for page in pages:
        pdf_page = shown[page.index]
        # Pages were rendered at page.dpi; poppler's boxes are in points on the page as shown.
        scale = (72 / page.dpi, 72 / page.dpi)
        ocr = [
            (w.text, _shown_box(page, (w.box.left, w.box.top, w.box.right, w.box.bottom), scale))
            for w in page.words
        ]
        found = [
            (w.text, tuple(float(w.get(k)) for k in ("xMin", "yMin", "xMax", "yMax")))
            for w in pdf_page.iter(WORD)
        ]
        assert sorted(t for t, _ in found) == sorted(t for t, _ in ocr), page.index
        unused = list(ocr)
        for text, box in found:
            match = next(
                (
                    w
                    for w in unused
                    if w[0] == text
                    and box[0] >= w[1][0] - 0.5
                    and box[1] >= w[1][1] - 0.5
                    and box[2] <= w[1][2] + 0.5
                    and box[3] <= w[1][3] + 0.5
                ),
                None,
            )
            assert match is not None, (page.index, text, box)
            unused.remove(match)
        raw = subprocess.run(
            [
                "pdftotext",
                "-raw",
                "-f",
                str(page.index + 1),
                "-l",
                str(page.index + 1),
                str(pdf),
                "-",
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        assert raw == [w.text for w in page.words]


@pytest.mark.parametrize("name", ["rot90-1", "rot180-1", "rot270-2", "skewed-1", "skewed-2"])
def test_turned_and_skewed_scans(
    engine: tuple[OCREngine, asyncio.AbstractEventLoop], tmp_path: Path, name: str
) -> None:
    pages = _searchable(engine, CORPUS / f"{name}.pdf", tmp_path / "out.pdf")
    turned = any(p.rotation for p in pages)
    skewed = any(p.skew for p in pages)
    assert turned if name.startswith("rot") else skewed, [(p.rotation, p.skew) for p in pages]
    _check(tmp_path / "out.pdf", pages)


def test_a_page_the_pdf_itself_turns(
    engine: tuple[OCREngine, asyncio.AbstractEventLoop], tmp_path: Path
) -> None:
    source = tmp_path / "rotated.pdf"
    with pikepdf.open(CORPUS / "upright-1.pdf") as pdf:
        pdf.pages[0].obj.Rotate = 90
        pdf.save(source)
    pages = _searchable(engine, source, tmp_path / "out.pdf")
    assert pages[0].rotation in (90, 270)  # shown sideways, read upright
    _check(tmp_path / "out.pdf", pages[:1])


def _upright_edited(tmp_path: Path, edit: Callable[[pikepdf.Dictionary], None]) -> Path:
    """The upright scan with its page's dictionary changed by `edit`."""
    source = tmp_path / "edited.pdf"
    with pikepdf.open(CORPUS / "upright-1.pdf") as pdf:
        edit(pdf.pages[0].obj)
        pdf.save(source)
    return source


@pytest.mark.parametrize("rotate", [pikepdf.Name("/Landscape"), pikepdf.String("90")])
def test_a_rotate_that_is_not_a_number_is_no_turn(
    engine: tuple[OCREngine, asyncio.AbstractEventLoop], tmp_path: Path, rotate: pikepdf.Object
) -> None:
    # Viewers (and PDFium, which reads the page) take a /Rotate that is not a number as none;
    # the writer raised on it and the job's PDF was listed as failed.
    source = _upright_edited(tmp_path, lambda page: setattr(page, "Rotate", rotate))
    pages = _searchable(engine, source, tmp_path / "out.pdf")
    assert pages[0].words and pages[0].rotation == 0
    _check(tmp_path / "out.pdf", pages[:1])


def test_contents_that_are_not_all_streams_keep_their_streams(
    engine: tuple[OCREngine, asyncio.AbstractEventLoop], tmp_path: Path
) -> None:
    # PDFium draws a page's content streams and skips what else its /Contents holds (null,
    # as a reference to a missing object reads, a string, a dictionary); qpdf refused to add
    # the text layer beside a null, and the job's PDF was listed as failed.
    def mixed(page: pikepdf.Dictionary) -> None:
        page.Contents = pikepdf.Array([page.Contents, None, pikepdf.String("x"), {}])

    pages = _searchable(engine, _upright_edited(tmp_path, mixed), tmp_path / "out.pdf")
    assert pages[0].words
    _check(tmp_path / "out.pdf", pages[:1])
    # The scan is drawn as before (Poppler drew nothing of such a page; now it draws it).
    listed = [
        subprocess.run(["pdfimages", "-list", str(pdf)], capture_output=True, text=True).stdout
        for pdf in (CORPUS / "upright-1.pdf", tmp_path / "out.pdf")
    ]
    assert [line.split()[:10] for line in listed[0].splitlines()] == [
        line.split()[:10] for line in listed[1].splitlines()
    ]


@pytest.mark.parametrize(
    "crop",
    [
        pikepdf.String("x"),
        pikepdf.Array([0, 0]),
        pikepdf.Array([36, 60, 580, 760, 1]),
        pikepdf.Array([0, 0, pikepdf.Name("/Width"), 792]),
    ],
)
def test_a_crop_box_that_is_no_rectangle_is_the_media_box(
    engine: tuple[OCREngine, asyncio.AbstractEventLoop], tmp_path: Path, crop: pikepdf.Object
) -> None:
    # PDFium and Poppler take a crop box that is not four numbers enclosing an area for none:
    # the page is read whole. The writer raised on it, and the job's PDF was listed as failed.
    source = _upright_edited(tmp_path, lambda page: setattr(page, "CropBox", crop))
    pages = _searchable(engine, source, tmp_path / "out.pdf")
    assert pages[0].words
    _check(tmp_path / "out.pdf", pages[:1])


def test_a_page_that_inherits_its_resources(
    engine: tuple[OCREngine, asyncio.AbstractEventLoop], tmp_path: Path
) -> None:
    # The scan's image is named in the page tree's resources, not the page's own.
    source = tmp_path / "inherited.pdf"
    with pikepdf.open(REPO / "samples" / "scan.pdf") as pdf:
        page = pdf.pages[0].obj
        pdf.Root.Pages.Resources = page.Resources
        del page["/Resources"]
        pdf.save(source)
    pages = _searchable(engine, source, tmp_path / "out.pdf")
    _check(tmp_path / "out.pdf", pages)
    listed = subprocess.run(
        ["pdfimages", "-list", str(tmp_path / "out.pdf")], capture_output=True, text=True
    ).stdout.splitlines()
    assert len(listed) == 3  # the header, its rule and the scan's one image


@pytest.mark.parametrize(
    ("rotate", "crop"),
    [
        (0, [36, 60, 580, 760]),
        (270, [36, 60, 580, 760]),
        # Reaching past the media box: a viewer shows where the two meet.
        (0, [-100, 300, 400, 1000]),
        # Wholly off it: PDFium showed nothing (a 0 x 0 page, its words lost), as Poppler
        # does with its crop box; pdf.js shows the media box, and so does the reading.
        (0, [700, 900, 800, 1000]),
        (90, [1000, 900, 700, 800]),
    ],
)
def test_a_page_cropped_off_its_origin(
    engine: tuple[OCREngine, asyncio.AbstractEventLoop],
    tmp_path: Path,
    rotate: int,
    crop: list[int],
) -> None:
    # The page shows only part of its media box, from an origin that is not (0, 0).
    source = tmp_path / "cropped.pdf"
    with pikepdf.open(CORPUS / "upright-1.pdf") as pdf:
        page = pdf.pages[0].obj
        page.CropBox = pikepdf.Array(crop)
        if rotate:
            page.Rotate = rotate
        pdf.save(source)
    pages = _searchable(engine, source, tmp_path / "out.pdf")
    assert pages[0].words
    (left, right), (bottom, top) = sorted(crop[0::2]), sorted(crop[1::2])
    meets = left < 612 and right > 0 and bottom < 792 and top > 0  # the media box
    _check(tmp_path / "out.pdf", pages[:1], cropbox=meets)


@pytest.mark.parametrize("suffix", [".gif", ".webp"])
def test_an_animation_is_the_one_page_it_was_read_as(
    engine: tuple[OCREngine, asyncio.AbstractEventLoop], tmp_path: Path, suffix: str
) -> None:
    # A GIF's or WebP's frames are an animation: the image is read as its first frame, and
    # the PDF has that one page, as the other outputs do.
    first, second = (corpus.letter_page([f"Frame {n} of the loop"]) for n in ("one", "two"))
    source = tmp_path / f"animated{suffix}"
    first.save(source, save_all=True, append_images=[second], duration=100, loop=0)
    pages = _searchable(engine, source, tmp_path / "out.pdf")
    assert len(pages) == 1
    with pikepdf.open(tmp_path / "out.pdf") as pdf:
        assert len(pdf.pages) == 1
    found = subprocess.run(
        ["pdftotext", str(tmp_path / "out.pdf"), "-"], capture_output=True, text=True, check=True
    )
    assert found.stdout.split() == [w.text for w in pages[0].words]


@pytest.mark.parametrize("dpi", [None, (20, 20)])
def test_an_image_without_a_plausible_resolution_is_laid_out_at_the_one_reported(
    engine: tuple[OCREngine, asyncio.AbstractEventLoop],
    tmp_path: Path,
    dpi: tuple[int, int] | None,
) -> None:
    # hOCR, ALTO and the JSON give such a page's pixels at 72 dpi; a PDF page at another
    # resolution (img2pdf takes 96 dpi) puts every word off its OCR box in points.
    page = corpus.letter_page(["Screenshots declare", "no resolution at all"])
    source = tmp_path / "page.png"
    page.save(source, **({"dpi": dpi} if dpi else {}))
    pages = _searchable(engine, source, tmp_path / "out.pdf")
    assert pages[0].dpi == 72
    with pikepdf.open(tmp_path / "out.pdf") as pdf:
        assert [float(v) for v in pdf.pages[0].mediabox] == [0, 0, page.width, page.height]
    _check(tmp_path / "out.pdf", pages)


@pytest.mark.parametrize("orientation", [2, 3, 4, 5, 6, 7, 8])
def test_a_mirrored_or_turned_photo_is_shown_as_it_was_read(
    engine: tuple[OCREngine, asyncio.AbstractEventLoop], tmp_path: Path, orientation: int
) -> None:
    # EXIF orientations 2, 4, 5 and 7 mirror the stored image (a phone's front camera), 3,
    # 6 and 8 turn it; it is read as a viewer shows it, and the PDF must show it so, the
    # JPEG as it is.
    upright = corpus.letter_page(["Seen in a mirror", "and read the right way"]).convert("RGB")
    undo = {
        2: Image.Transpose.FLIP_LEFT_RIGHT,
        3: Image.Transpose.ROTATE_180,
        4: Image.Transpose.FLIP_TOP_BOTTOM,
        5: Image.Transpose.TRANSPOSE,
        6: Image.Transpose.ROTATE_90,
        7: Image.Transpose.TRANSVERSE,
        8: Image.Transpose.ROTATE_270,
    }[orientation]
    exif = Image.Exif()
    exif[0x0112] = orientation
    source = tmp_path / "photo.jpeg"
    upright.transpose(undo).save(source, "JPEG", dpi=(200, 200), exif=exif, quality=90)
    pages = _searchable(engine, source, tmp_path / "out.pdf")
    with pikepdf.open(tmp_path / "out.pdf") as pdf:
        (image,) = pdf.pages[0].get_images().values()
        assert image.read_raw_bytes() == source.read_bytes()
    shown = subprocess.run(
        ["pdftoppm", "-r", "50", "-gray", "-png", str(tmp_path / "out.pdf")],
        capture_output=True,
        check=True,
    )
    with Image.open(io.BytesIO(shown.stdout)) as rendered:
        expected = upright.convert("L").resize(rendered.size)
        ink, expected_ink = (
            ImageOps.invert(i.point(lambda v: 255 * (v > 128))).getbbox()
            for i in (rendered.convert("L"), expected)
        )
    assert rendered.size == (425, 550)
    assert ink is not None and expected_ink is not None
    assert all(abs(a - b) <= 3 for a, b in zip(ink, expected_ink, strict=True)), (ink, expected_ink)
    _check(tmp_path / "out.pdf", pages)


def test_an_earlier_ocr_layer_gives_way_to_the_words_read_now(
    engine: tuple[OCREngine, asyncio.AbstractEventLoop], tmp_path: Path
) -> None:
    # A scan OCRed before carries that reading as invisible text, which is not read: the
    # page is read again, and the PDF's text must be the new reading alone, not both.
    lines = ["Read again today", "by the engine"]
    source = corpus.scanned_pages_pdf(
        tmp_path / "old.pdf", [corpus.letter_page(lines)], hidden_text="Stale earlier reading"
    )
    pages = _searchable(engine, source, tmp_path / "out.pdf")
    assert pages[0].source == OCR
    _check(tmp_path / "out.pdf", pages)
    listed = [
        subprocess.run(["pdfimages", "-list", str(pdf)], capture_output=True, text=True).stdout
        for pdf in (source, tmp_path / "out.pdf")
    ]
    assert [line.split()[:10] for line in listed[0].splitlines()] == [
        line.split()[:10] for line in listed[1].splitlines()
    ]


def test_only_text_objects_wholly_invisible_lose_their_glyphs() -> None:
    pdf = pikepdf.new()
    pdf.add_blank_page()
    page = pdf.pages[0]
    page.obj.Contents = pdf.make_stream(
        b'BT /F1 12 Tf 3 Tr 72 700 Td (stale) Tj 0 4 (old) " [(layer)] TJ ET '
        b"q 0 Tr BT 72 600 Td (shown) Tj 3 Tr (hidden) Tj ET Q "
        b"BT (after) Tj ET"
    )
    searchable._drop_invisible_text(pdf, page)
    kept = [
        (str(i.operator), [str(o) for o in i.operands]) for i in pikepdf.parse_content_stream(page)
    ]
    assert kept == [
        ("BT", []),
        ("Tf", ["/F1", "12"]),
        ("Tr", ["3"]),
        ("Td", ["72", "700"]),
        ("Tw", ["0"]),
        ("Tc", ["4"]),
        ("T*", []),
        ("ET", []),
        ("q", []),
        ("Tr", ["0"]),
        ("BT", []),
        ("Td", ["72", "600"]),
        ("Tj", ["shown"]),
        ("Tr", ["3"]),
        ("Tj", ["hidden"]),
        ("ET", []),
        ("Q", []),
        ("BT", []),
        ("ET", []),
    ]
