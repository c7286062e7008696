"""Pictures of pages as they were read: turned upright and straightened, so that the boxes of
the page model lie on them.

They are for people to look at (the service's web page draws blocks and words over them), so
a page is drawn small, at most `MAX_SIDE` pixels on its longer side, and in grayscale, as
Tesseract saw it; coloured boxes stand out on it. The page is rendered again from the
document at the size it will be shown, never at the resolution it was read at and then
shrunk, and laid out by the page's own map to its source (`Page.to_source`).
"""

from __future__ import annotations

import os
from pathlib import Path

from PIL import Image

from . import images, pdf
from .errors import TesseraError
from .model import Affine, Page, compose

MAX_SIDE = 1600
_JPEG_QUALITY = 80
_WHITE = 255


def file_name(index: int) -> str:
    """The name under which the picture of page `index` (0-based, in the document) is kept."""
    return f"page-{index}.jpeg"


def write_all(path: str, kind: str, pages: list[Page], out_dir: str) -> dict[str, int | str]:
    """Each page's picture written to `out_dir` (its size in bytes), or why it could not be
    (a message). A file appears under its name only once it is whole."""
    renderer = pdf.inspect(path)[0] if kind == "pdf" else None
    written: dict[str, int | str] = {}
    for page in pages:
        name = file_name(page.index)
        target = Path(out_dir) / name
        partial = target.with_name(f".{name}.part")
        try:
            picture(path, kind, renderer, page).save(
                partial, format="JPEG", quality=_JPEG_QUALITY, optimize=True
            )
            os.replace(partial, target)
            written[name] = target.stat().st_size
        except TesseraError as e:
            partial.unlink(missing_ok=True)
            written[name] = e.message
    return written


def picture(path: str, kind: str, renderer: str | None, page: Page) -> Image.Image:
    """The page as read, in grayscale, at most `MAX_SIDE` pixels on its longer side."""
    scale = min(1.0, MAX_SIDE / max(page.width, page.height, 1))
    size = (max(1, round(page.width * scale)), max(1, round(page.height * scale)))
    source = _source(path, kind, renderer, page, scale)
    # Pillow's affine transform maps each pixel of the output to the input: the picture's
    # pixel to the page as read, to the page as rendered, to the smaller rendering in hand.
    shown: Affine = (page.width / size[0], 0.0, 0.0, 0.0, page.height / size[1], 0.0)
    rendered: Affine = (
        source.width / page.source_width,
        0.0,
        0.0,
        0.0,
        source.height / page.source_height,
        0.0,
    )
    data = compose(rendered, compose(page.to_source, shown))
    return source.transform(
        size,
        Image.Transform.AFFINE,
        data,
        resample=Image.Resampling.BILINEAR,
        fillcolor=_WHITE,
    )


def _source(path: str, kind: str, renderer: str | None, page: Page, scale: float) -> Image.Image:
    """The page as rendered or decoded, before any turn, about `scale` times the size it was
    read at: a PDF rendered at that resolution, an image shrunk smoothly."""
    if kind == "pdf":
        dpi = max(1, round(page.dpi * scale))
        image, _ = pdf.render(
            path, page.index, renderer=renderer or pdf.PDFIUM, dpi=dpi, max_pixels=2**31
        )
        return images.to_gray(image)
    image, _ = images.load_frame(path, page.index)
    if scale < 1.0:
        small = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
        image = image.resize(small, Image.Resampling.LANCZOS)
    return image
