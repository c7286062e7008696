"""The work a worker process does, and the small frozen descriptions of it that cross over.

Only these dataclasses travel to the workers: a path, a page number, languages, options.
The document itself stays on disk; each worker renders its own page from it.
"""

from __future__ import annotations

import base64
import io
import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from . import (
    blankcells,
    checkboxes,
    decimals,
    deskew,
    illumination,
    images,
    largeprint,
    leaders,
    linenumbers,
    listings,
    margins,
    monospace,
    orientation,
    pageimage,
    pdf,
    regions,
    render,
    rows,
    structure,
    textlayer,
    textsize,
    unread,
)
from .errors import TesseraError, UnprocessableDocument
from .model import IMAGE, OCR, TEXT, TEXT_LAYER, Block, Page, turned_and_straightened
from .options import PageOptions
from .recognize import Recognizer
from .render.mistral import kept_figures
from .sources import sniff
from .tables import find_tables
from .words import (
    Box,
    Line,
    Paragraph,
    boxed_as_line,
    fit_to_ink,
    mark_bold,
    parse_tsv,
    raised_dashes,
)

log = logging.getLogger(__name__)

_SNIFF_BYTES = 1024
# Without a declared resolution, regions are measured as if the image were a 300 dpi scan.
_ASSUMED_DPI = 300
_BACKGROUND_SHARE = 0.6
_SPECKLED_SHARE = 0.0005  # of pixels unlike all their neighbours: salt-and-pepper noise
_MAX_JPEG_SIDE = 65_500  # pixels on a side: libjpeg's JPEG_MAX_DIMENSION
_REMOVED = "The document was removed while it was read: its job was cancelled or has expired."


@dataclass(frozen=True)
class DocumentInfo:
    """What a document is and how many pages it has."""

    kind: str  # "pdf" | "image"
    mime: str
    renderer: str | None  # for PDFs: "pdfium" | "poppler"
    page_count: int


@dataclass(frozen=True)
class InspectTask:
    path: str


@dataclass(frozen=True)
class PageTask:
    path: str
    kind: str
    renderer: str | None
    index: int
    languages: str
    dpi: int
    max_pixels: int
    timeout: float
    options: PageOptions


@dataclass(frozen=True)
class RenderTask:
    """Write a document's pages in some output formats, each to `<out_dir>/<format>`."""

    path: str
    kind: str
    pages: list[Page] = field(repr=False)
    formats: tuple[str, ...] = ()
    out_dir: str = ""


@dataclass(frozen=True)
class PageImagesTask:
    """Write a picture of each page as read to `<out_dir>/page-<index>.jpeg`."""

    path: str
    kind: str
    pages: list[Page] = field(repr=False)
    out_dir: str = ""


Task = InspectTask | PageTask | RenderTask | PageImagesTask


def run_task(task: Task, recognizer: Recognizer) -> Any:
    """Carry out one task in a worker process."""
    try:
        if isinstance(task, InspectTask):
            return inspect(task.path)
        if isinstance(task, RenderTask):
            return render_outputs(task)
        if isinstance(task, PageImagesTask):
            return pageimage.write_all(task.path, task.kind, task.pages, task.out_dir)
        return recognize_page(task, recognizer)
    except FileNotFoundError as e:
        if e.filename != task.path:
            raise
        # Its job was cancelled (or expired) as a worker started on it, and its files went
        # with it: no fault of the document's or of Tessera's, where a traceback was logged.
        raise UnprocessableDocument(_REMOVED, param="document") from None


def render_outputs(task: RenderTask) -> dict[str, int | str]:
    """Each format written (its size in bytes) or why it could not be (a message).

    A file appears under its name only once it is whole.
    """
    document = render.RenderedDocument(task.pages, Path(task.path), task.kind)
    written: dict[str, int | str] = {}
    for name in task.formats:
        target = Path(task.out_dir) / name
        partial = target.with_name(f".{name}.part")
        try:
            with open(partial, "wb") as out:
                render.render(name, document, out)
            os.replace(partial, target)
            written[name] = target.stat().st_size
        except TesseraError as e:
            partial.unlink(missing_ok=True)
            written[name] = e.message
        except Exception as e:
            partial.unlink(missing_ok=True)
            if isinstance(e, FileNotFoundError) and e.filename in (task.path, str(partial)):
                written[name] = _REMOVED  # the job was cancelled as its files were written
                continue
            # A library met something in this document it could not handle: this format is
            # lost, not the others, and the traceback is in the log for a bug report.
            log.exception("%s: writing %s failed", task.path, name)
            written[name] = (
                f"The {name} output could not be written: an unexpected error occurred "
                "(recorded in Tessera's log)."
            )
    return written


def inspect(path: str) -> DocumentInfo:
    """Identify a document and count its pages."""
    with open(path, "rb") as f:
        head = f.read(_SNIFF_BYTES)
    kind = sniff(head)
    if kind.kind == "pdf":
        renderer, count = pdf.inspect(path)
        return DocumentInfo(kind.kind, kind.mime, renderer, count)
    return DocumentInfo(kind.kind, kind.mime, None, images.frame_count(path))


def recognize_page(task: PageTask, recognizer: Recognizer) -> Page:
    """Read one page, from its text layer or by OCR, into the page model."""
    mode = task.options.mode
    if task.kind == "pdf" and (task.renderer or pdf.PDFIUM) == pdf.PDFIUM and mode != "force":
        pdf_page = pdf.page(task.path, task.index)
        try:
            dpi = pdf.fitted_dpi(pdf_page, task.dpi, task.max_pixels, for_rendering=False)
            layer = textlayer.read(pdf_page, dpi=dpi, keep_invisible=mode == "text_layer")
            if layer.usable or mode == "text_layer":
                try:
                    return _from_layer(task, pdf_page, layer, dpi)
                except Exception:  # layout is best effort: see _plain
                    log.exception("page %d: its layout failed; lines kept as text", task.index)
                    page = Page(task.index, layer.width, layer.height, dpi, TEXT_LAYER, "")
                    # Lines as they are: grouping them is layout too, and may be what failed.
                    return _plain(page, task, [Paragraph([ln]) for ln in layer.lines if ln.words])
            log.debug("page %d: %s; reading it by OCR", task.index, layer.reason)
        finally:
            pdf_page.close()
    if task.kind == "pdf":
        image, dpi = pdf.render(
            task.path,
            task.index,
            renderer=task.renderer or pdf.PDFIUM,
            dpi=task.dpi,
            max_pixels=task.max_pixels,
        )
        declared_dpi: int | None = dpi
    else:
        image, declared_dpi = images.load_frame(task.path, task.index)
        dpi = declared_dpi or images.DEFAULT_DPI
    size = image.size
    analysis_dpi = declared_dpi or _ASSUMED_DPI
    image, skew = deskew.straighten(image, analysis_dpi)
    image = illumination.unshaded(illumination.even(image, analysis_dpi))
    image = _despeckled(image)
    straightened = image.size
    # The page at analysis resolution: measured for right-sizing, and, unless the page is
    # turned, analysed for rules and figures after it is read.
    coarse = regions.coarse(image, analysis_dpi)
    reader = _right_sized(recognizer, coarse, analysis_dpi)
    image, rotation, paragraphs = orientation.recognize_upright(
        image, reader, languages=task.languages, dpi=declared_dpi, timeout=task.timeout
    )
    if rotation:
        coarse = regions.coarse(image, analysis_dpi)
    fine = _region_reader(task, image, recognizer, declared_dpi)
    if reader is not recognizer:
        textsize.reread_doubtful(paragraphs, fine)
    try:
        reread = _region_reader(task, image, reader, declared_dpi)
        numbers = _region_reader(task, image, reader, declared_dpi, digits=True)
        page = _from_image(
            task,
            image,
            paragraphs,
            dpi,
            coarse=coarse,
            analysis_dpi=analysis_dpi,
            reread=reread,
            reread_numbers=numbers,
            reread_fine=fine,
            read_fine=_image_reader(task, recognizer, declared_dpi),
        )
    except Exception:  # layout is best effort: see _plain
        log.exception("page %d: its layout failed; lines kept as text", task.index)
        blank = Page(task.index, image.width, image.height, dpi, OCR, "")
        page = _plain(blank, task, paragraphs)
    page.rotation, page.skew = rotation, skew
    page.source_width, page.source_height = size
    page.to_source = turned_and_straightened(
        rotation=rotation, skew=skew, size=size, straightened=straightened
    )
    return page


def _despeckled(image: Image.Image) -> Image.Image:
    """The page without salt-and-pepper noise, if it has any.

    Tesseract reads specks as points and commas glued to words ("state."), and as words
    that bridge the gutters between columns. A speck is a pixel unlike all eight around it;
    a clean page has next to none, and a 3x3 median takes them out, keeping strokes two
    pixels wide or more.
    """
    gray = regions.gray_array(image)
    height, width = gray.shape
    # The middle of the page tells, at a quarter of the cost.
    dark = gray[height // 4 : 3 * height // 4, width // 4 : 3 * width // 4] < 128
    padded = np.pad(dark, 1).astype(np.uint8)
    rows, columns = dark.shape
    neighbours = sum(
        padded[1 + dy : 1 + dy + rows, 1 + dx : 1 + dx + columns]
        for dy in (-1, 0, 1)
        for dx in (-1, 0, 1)
        if dy or dx
    )
    specks = np.count_nonzero(dark & (neighbours == 0)) + np.count_nonzero(
        ~dark & (neighbours == 8)
    )
    if specks < _SPECKLED_SHARE * dark.size:
        return image
    log.debug("page despeckled (%.2f %% specks)", 100 * specks / dark.size)
    return image.filter(ImageFilter.MedianFilter(3))


def _right_sized(recognizer: Recognizer, coarse: tuple[np.ndarray, float], dpi: int) -> Recognizer:
    """The recognizer that reads the page at the resolution its text needs (`textsize`);
    `coarse` is the page at analysis resolution (`regions.coarse`), the page's at `dpi`."""
    gray, factor = coarse
    scale = textsize.recognition_scale(gray, factor, dpi / factor)
    if scale >= 1.0:
        return recognizer
    log.debug("page read at %.0f %% of its resolution", scale * 100)
    return textsize.ScaledRecognizer(recognizer, scale)


def _from_layer(task: PageTask, pdf_page: Any, layer: textlayer.TextLayer, dpi: int) -> Page:
    # A text layer holds every line number already: none to read again.
    lines = linenumbers.attach_line_numbers(layer.lines, _nothing_to_reread)
    paragraphs = structure.group_lines(lines)
    rules = regions.Rules([], [])
    if layer.has_paths:
        # Rendered finer than the analysis needs, so that hairline rules come out dark; no
        # finer than the page's own resolution, which keeps a huge page within its pixels.
        fine = min(2 * regions.ANALYSIS_DPI, dpi)
        small = orientation.turn(pdf.render_page(pdf_page, fine), layer.rotation)
        gray, factor = regions.darkest(small, fine)
        rules = regions.find_rules(gray, factor * layer.width / small.width)
        rules = regions.with_light_rules(rules, small, fine, gray, scale=layer.width / small.width)
    code, paragraphs = structure.split_code(paragraphs)
    paragraphs, code, tables = find_tables(paragraphs, rules, dpi=dpi, code=code, layer=True)
    paragraphs = [*paragraphs, *code]
    page_area = layer.width * layer.height
    # An image under most of the page is a background or letterhead, not a figure.
    figures = [
        f
        for f in layer.figures
        if f.width > 1 and f.height > 1 and f.area < _BACKGROUND_SHARE * page_area
    ]
    items = [
        *structure.classify(paragraphs, page_height=layer.height, tables=[t.box for t in tables]),
        *tables,
        *(structure.Item(IMAGE, f) for f in figures),
    ]
    rendered: list[Image.Image] = []

    def encode(box: Box) -> str:
        if not rendered:
            whole = pdf.render_page(pdf_page, dpi, grayscale=False)
            rendered.append(orientation.turn(whole, layer.rotation))
        return _jpeg_data_url(rendered[0], box)

    page = Page(task.index, layer.width, layer.height, dpi, TEXT_LAYER, task.languages)
    if layer.rotation:
        # Set sideways: read as turned upright, as a scan of it would be.
        source = (
            (layer.width, layer.height) if layer.rotation == 180 else (layer.height, layer.width)
        )
        page.rotation = layer.rotation
        page.source_width, page.source_height = source
        page.to_source = turned_and_straightened(
            rotation=layer.rotation, skew=0.0, size=source, straightened=source
        )
    return _with_blocks(page, structure.reading_order(items, dpi=dpi), task.options, encode)


def _nothing_to_reread(box: Box, *, blank: Sequence[Box] = ()) -> list[Line]:
    return []


def _from_image(
    task: PageTask,
    image: Image.Image,
    paragraphs: list[Paragraph],
    dpi: int,
    *,
    coarse: tuple[np.ndarray, float],
    analysis_dpi: int,
    reread: listings.Reread,
    reread_numbers: listings.Reread,
    reread_fine: listings.Reread,
    read_fine: blankcells.Read,
) -> Page:
    pixels = regions.gray_array(image)
    darkest, step = regions.darkest(image, analysis_dpi)
    rules = regions.find_rules(darkest, step)
    ruled = regions.rule_ink(pixels, rules, step)
    lines = listings.reread_listings(
        _marked_lines(image, pixels, paragraphs, reread, reread_fine, coarse), reread, rules=ruled
    )
    lines = linenumbers.cut_glued_numbers(lines)
    # A frame's rule is no glyph of the code beside it.
    lines = monospace.snap_to_grid(lines, regions.without(pixels, ruled), reread_fine)
    lines = linenumbers.attach_line_numbers(lines, reread_numbers)
    lines = linenumbers.mend_listing_numbers(lines, reread_numbers, blank=ruled)
    gray, factor = coarse
    lines = margins.reread_margins(lines, gray, factor, image.height, reread)
    lines = checkboxes.mark(lines, pixels, reread)
    # Weighed last: lines read again (a listing's block, a margin) are new words, and a
    # line taken for code at first and found to be prose (a heading in bold under a
    # listing) is measured only once it is no longer code.
    mark_bold(lines, pixels)
    paragraphs = structure.group_lines(lines)
    code, paragraphs = structure.split_code(paragraphs)
    read_blank = blankcells.BlankCellReader(pixels, read_fine)
    paragraphs, code, tables = find_tables(
        paragraphs,
        regions.with_light_rules(rules, image, analysis_dpi, darkest),
        dpi=analysis_dpi,
        code=code,
        read_blank=read_blank,
    )
    decimals.mend([t.cells for t in tables], pixels)
    paragraphs = [*paragraphs, *code]
    # Words read with confidence are text, and so are lines measured in a fixed pitch (code
    # is read with little confidence); a photo's speckle read as "words" is neither.
    text_boxes = [
        w.box
        for p in paragraphs
        for line in p.lines
        for code in [monospace.is_code(line)]
        for w in line.words
        if code or w.confidence >= 0.5
    ]
    figures = regions.find_figures(
        gray,
        factor,
        exclude=[*text_boxes, *(t.box for t in tables)],
        min_size=task.options.image_min_size or 0,
    )
    large, figures = largeprint.read_large_print(pixels, figures, read_fine, dpi=analysis_dpi)
    paragraphs = structure.drop_inside(paragraphs, figures)
    paragraphs += [Paragraph([line]) for line in large]
    items = [
        *structure.classify(paragraphs, page_height=image.height, tables=[t.box for t in tables]),
        *tables,
        *(structure.Item(IMAGE, f) for f in figures),
    ]
    page = Page(task.index, image.width, image.height, dpi, OCR, task.languages)
    return _with_blocks(
        page,
        structure.reading_order(items, dpi=analysis_dpi),
        task.options,
        lambda box: _jpeg_data_url(image, box),
    )


def _region_reader(
    task: PageTask, image: Image.Image, reader: Recognizer, dpi: int | None, *, digits: bool = False
) -> listings.Reread:
    """What reads a region of the page again as one block of lines, in page pixels; with
    `digits`, as holding nothing else."""
    read = _image_reader(task, reader, dpi, digits=digits)

    def reread(box: Box, *, blank: Sequence[Box] = ()) -> list[Line]:
        left, top = max(0, box.left), max(0, box.top)
        right, bottom = min(image.width, box.right), min(image.height, box.bottom)
        if right - left < 2 or bottom - top < 2:
            return []
        region = image.crop((left, top, right, bottom))
        if blank:
            draw = ImageDraw.Draw(region)
            white = 255 if region.mode == "L" else (255,) * len(region.getbands())
            for b in blank:
                draw.rectangle((b.left - left, b.top - top, b.right - left, b.bottom - top), white)
        return [line.moved(left, top) for line in read(region)]

    return reread


def _image_reader(
    task: PageTask, reader: Recognizer, dpi: int | None, *, digits: bool = False
) -> blankcells.Read:
    """What reads an image (a piece of the page) as one block of lines, in its pixels."""

    def read(region: Image.Image) -> list[Line]:
        tsv = reader.tsv(
            region,
            languages=task.languages,
            dpi=dpi,
            timeout=task.timeout,
            block=True,
            digits=digits,
        )
        return [line for p in parse_tsv(tsv) for line in p.lines]

    return read


def _marked_lines(
    image: Image.Image,
    gray: np.ndarray,
    paragraphs: list[Paragraph],
    reread: listings.Reread,
    reread_fine: listings.Reread,
    coarse: tuple[np.ndarray, float],
) -> list[Line]:
    """Tesseract's lines without its specks, where it ran lines together read apart again
    (a column read down the page, small lines beside a large one), dot leaders as their
    dots, their words marked where they are set in a fixed-pitch font: what tells code
    apart from prose."""
    lines = structure.join_cut_words(
        raised_dashes(structure.drop_noise([line for p in paragraphs for line in p.lines])),
        reread,
    )
    lines = linenumbers.reread_stacked(lines, reread)
    lines = rows.reread_merged(lines, reread)
    lines = leaders.mend_leaders(lines, gray, reread)
    lines = unread.read_unread(lines, coarse, reread_fine)
    monospace.mark_measured(lines, gray)
    lines = listings.rejoin_margin_column(lines)
    whole = {id(line) for line in lines if not boxed_as_line(line)}
    lines = [
        line if id(line) in whole else fit_to_ink(line, gray)
        for line in structure.split_at_gaps(lines, page_height=image.height)
    ]
    return structure.join_section_numbers(lines)


def _plain(page: Page, task: PageTask, paragraphs: list[Paragraph]) -> Page:
    """The page's paragraphs as plain text blocks, in the order they were read.

    Layout is a reader's best effort over heuristics; when one of them fails on a page no one
    foresaw, the words read must still reach the user (the failure is logged with its
    traceback), not fail the page that Tesseract read.
    """
    page.languages = task.languages
    page.blocks = [Block(TEXT, p.box, p.lines) for p in paragraphs if p.lines]
    return page


def _with_blocks(
    page: Page,
    items: list[structure.Item],
    options: PageOptions,
    encode: Callable[[Box], str],
) -> Page:
    """The page with its parts as blocks; the figures it will list cropped, if asked for."""
    page.blocks = [item.block() for item in items]
    if options.include_image_base64:
        for block in kept_figures(page.blocks, options):
            block.image = encode(block.box)
    return page


def _jpeg_data_url(image: Image.Image, box: Box) -> str:
    crop = image.crop((box.left, box.top, box.right, box.bottom))
    if crop.mode not in ("L", "RGB"):
        crop = crop.convert("RGB")
    if max(crop.size) > _MAX_JPEG_SIDE:
        # A figure across a page rendered wider than JPEG can hold (a 20,000-point strip is
        # 83,334 pixels at 300 dpi): its picture is drawn smaller, its box stays as it is.
        scale = _MAX_JPEG_SIDE / max(crop.size)
        size = (max(1, int(crop.width * scale)), max(1, int(crop.height * scale)))
        crop = crop.resize(size, Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    crop.save(buffer, format="JPEG", quality=85)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode()
