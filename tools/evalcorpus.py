"""The labelled accuracy corpus in tools/eval-corpus/: documents whose exact text we drew ourselves.

`python -m tools.evalcorpus` rewrites tools/eval-corpus/ from a fixed seed. Each document is drawn
with reportlab from the license texts in /usr/share/common-licenses, line by line with our
own word wrap, so the truth is the lines we drew; scans are those PDFs rendered at 300 dpi
with PDFium, then turned, skewed or degraded with Pillow. For each document the folder holds
its file, `<name>.truth.txt` (pages separated by a form feed, paragraphs by a blank line) and
an entry of `manifest.json`: {name, file, class, pages, note}.
"""

from __future__ import annotations

import argparse
import functools
import io
import json
import random
import re
import shutil
import sys
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pypdfium2 as pdfium
from PIL import Image, ImageChops, ImageDraw, ImageFilter
from reportlab.lib.pagesizes import letter
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen import canvas

SEED = 20261125
OUT = Path(__file__).resolve().parent / "eval-corpus"
LICENSES = Path("/usr/share/common-licenses")
DPI = 300
PAGE_WIDTH, PAGE_HEIGHT = letter
MARGIN = 72.0
PAGE_BREAK = "\f"
# Fixed, so that regenerating the corpus gives byte-identical PDFs.
PDF_DATE = time.strptime("2026-01-01", "%Y-%m-%d")
NOISY_JPEG_QUALITY = 40
NOISE_SIGMA = 16.0
NOISY_BLUR = 0.9  # pixels at 300 dpi
# Photos stay grayscale; JPEG at this quality keeps the text around them crisp.
FIGURE_JPEG_QUALITY = 90
TITLES = {
    "GPL-3": "GNU General Public License 3",
    "GPL-2": "GNU General Public License 2",
    "Apache-2.0": "Apache License 2.0",
    "MPL-2.0": "Mozilla Public License 2.0",
    "MPL-1.1": "Mozilla Public License 1.1",
    "LGPL-2.1": "GNU Lesser General Public License",
    "LGPL-3": "GNU Lesser General Public License 3",
    "Artistic": "The Artistic License",
    "GFDL-1.3": "GNU Free Documentation License",
}
# Prose only: no rulers of '*' or '=', no URLs in angle brackets, nothing that reads as
# Markdown once it stands at the start of a line.
_PROSE = re.compile(r"^[A-Za-z0-9 .,;:'\"()/?!%&$-]+$")
_MARKER = re.compile(r"^(?:[-*+#]|\d+[.)])$")


@dataclass(frozen=True)
class Style:
    """A font, its size and the distance between baselines, in points."""

    font: str
    size: float
    leading: float


@dataclass(frozen=True)
class Frame:
    """A rectangle of the page that text flows into, in points from the bottom left."""

    x: float
    top: float
    width: float
    bottom: float


HEADING = Style("Helvetica-Bold", 16, 22)
SANS = Style("Helvetica", 10, 12.5)
SERIF = Style("Times-Roman", 11, 13.5)
SANS_11 = Style("Helvetica", 11, 13.5)
CELL = Style("Helvetica", 10, 12)
CELL_HEAD = Style("Helvetica-Bold", 10, 12)


@dataclass(frozen=True)
class Drawn:
    """A born-digital PDF and the text of each of its pages."""

    pdf: bytes
    truths: tuple[str, ...]


@dataclass(frozen=True)
class Entry:
    """One line of the manifest."""

    name: str
    file: str
    cls: str
    pages: int
    note: str

    def as_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "file": self.file,
            "class": self.cls,
            "pages": self.pages,
            "note": self.note,
        }


# --- text ----------------------------------------------------------------------------------


def license_paragraphs(name: str) -> list[str]:
    """The prose paragraphs of a license, each on one line."""
    text = (LICENSES / name).read_text(encoding="utf-8")
    paragraphs = (" ".join(block.split()) for block in re.split(r"\n\s*\n", text))
    return [p for p in paragraphs if len(p) >= 60 and _PROSE.match(p)]


def excerpt(rng: random.Random, name: str, count: int) -> deque[str]:
    """`count` consecutive prose paragraphs of a license, from a random place in it."""
    paragraphs = license_paragraphs(name)
    start = rng.randrange(0, max(1, len(paragraphs) - count))
    return deque(paragraphs[start : start + count])


def heading(rng: random.Random, name: str) -> str:
    return f"{TITLES[name]}, section {rng.randint(1, 9)}"


# --- drawing -------------------------------------------------------------------------------


def wrap(text: str, style: Style, width: float) -> list[str]:
    """Greedy word wrap; no line but the first starts with a token that reads as a list marker."""
    lines: list[list[str]] = [[]]
    for word in text.split():
        line = lines[-1]
        candidate = " ".join([*line, word])
        if not line or stringWidth(candidate, style.font, style.size) <= width:
            line.append(word)
        elif _MARKER.match(word) and len(line) > 1:
            # "... section\n4. of" would read as a numbered list: carry a word down with it.
            lines.append([line.pop(), word])
        else:
            lines.append([word])
    return [" ".join(line) for line in lines if line]


def fill(pdf: canvas.Canvas, paragraphs: deque[str], frame: Frame, style: Style) -> list[str]:
    """Draw paragraphs into `frame` while lines fit; the drawn paragraphs' text, line-broken."""
    drawn: list[str] = []
    y = frame.top - style.size
    pdf.setFont(style.font, style.size)
    while paragraphs and y >= frame.bottom:
        lines = wrap(paragraphs.popleft(), style, frame.width)
        room = int((y - frame.bottom) // style.leading) + 1
        for line in lines[:room]:
            pdf.drawString(frame.x, y, line)
            y -= style.leading
        drawn.append("\n".join(lines[:room]))
        if room < len(lines):
            paragraphs.appendleft(" ".join(lines[room:]))
            break
        y -= style.leading / 2
    return drawn


def draw_heading(pdf: canvas.Canvas, text: str, top: float) -> float:
    """Draw a heading line at `top`; the top of what follows it."""
    pdf.setFont(HEADING.font, HEADING.size)
    pdf.drawString(MARGIN, top - HEADING.size, text)
    return top - HEADING.leading - 8


def body_frame(top: float, *, fraction: float = 1.0) -> Frame:
    """The page's text area below `top`, cut to `fraction` of its height."""
    bottom = MARGIN + (top - MARGIN) * (1 - fraction)
    return Frame(MARGIN, top, PAGE_WIDTH - 2 * MARGIN, bottom)


def new_canvas() -> tuple[canvas.Canvas, io.BytesIO]:
    buffer = io.BytesIO()
    # invariant: no timestamp or random document id, so the bytes are reproducible.
    return canvas.Canvas(buffer, pagesize=letter, invariant=1), buffer


def page_text(blocks: Iterable[str]) -> str:
    return "\n\n".join(blocks)


def article(
    rng: random.Random,
    license_name: str,
    style: Style,
    *,
    pages: int = 1,
    last_fraction: float = 1.0,
) -> Drawn:
    """A heading, then the license's prose flowing over `pages` pages."""
    pdf, buffer = new_canvas()
    paragraphs = excerpt(rng, license_name, 40)
    truths = []
    for number in range(pages):
        top = PAGE_HEIGHT - MARGIN
        blocks = []
        if number == 0:
            title = heading(rng, license_name)
            top = draw_heading(pdf, title, top)
            blocks.append(title)
        fraction = last_fraction if number == pages - 1 else 1.0
        blocks += fill(pdf, paragraphs, body_frame(top, fraction=fraction), style)
        truths.append(page_text(blocks))
        pdf.showPage()
    pdf.save()
    return Drawn(buffer.getvalue(), tuple(truths))


def two_column(rng: random.Random, license_name: str, style: Style) -> Drawn:
    """A heading across the page over two columns; the truth reads the left one first."""
    pdf, buffer = new_canvas()
    title = heading(rng, license_name)
    top = draw_heading(pdf, title, PAGE_HEIGHT - MARGIN)
    gutter = 24.0
    width = (PAGE_WIDTH - 2 * MARGIN - gutter) / 2
    bottom = MARGIN + 90
    paragraphs = excerpt(rng, license_name, 30)
    left = fill(pdf, paragraphs, Frame(MARGIN, top, width, bottom), style)
    right = fill(pdf, paragraphs, Frame(MARGIN + width + gutter, top, width, bottom), style)
    pdf.showPage()
    pdf.save()
    return Drawn(buffer.getvalue(), (page_text([title, *left, *right]),))


def table_rows(rng: random.Random, license_name: str, rows: int) -> list[list[str]]:
    """A header row and `rows` rows of words, codes, counts and amounts."""
    words = sorted(
        {
            w.strip(".,;:()\"'").capitalize()
            for p in license_paragraphs(license_name)
            for w in p.split()
            if w.strip(".,;:()\"'").isalpha() and 5 <= len(w.strip(".,;:()\"'")) <= 11
        }
    )
    body = [
        [
            rng.choice(words),
            f"{rng.choice('ABCDEFGH')}-{rng.randint(100, 9999)}",
            str(rng.randint(1, 480)),
            f"{rng.randint(2, 9999)}.{rng.randint(0, 99):02d}",
        ]
        for _ in range(rows)
    ]
    return [["Term", "Code", "Count", "Amount"], *body]


def draw_table(pdf: canvas.Canvas, rows: Sequence[Sequence[str]], top: float) -> None:
    """A grid with a line around every cell, its text left-aligned with padding."""
    padding = 6.0
    widths = [
        max(stringWidth(row[i], CELL_HEAD.font, CELL_HEAD.size) for row in rows) + 2 * padding + 24
        for i in range(len(rows[0]))
    ]
    height = CELL.leading + 2 * padding
    pdf.setLineWidth(0.8)
    for r, row in enumerate(rows):
        style = CELL_HEAD if r == 0 else CELL
        pdf.setFont(style.font, style.size)
        y = top - (r + 1) * height
        x = MARGIN
        for width, cell in zip(widths, row, strict=True):
            pdf.rect(x, y, width, height, stroke=1, fill=0)
            pdf.drawString(x + padding, y + padding + 2, cell)
            x += width


def table_page(rng: random.Random, license_name: str, style: Style) -> Drawn:
    """A heading, a paragraph and a ruled table; the truth reads the cells row by row."""
    pdf, buffer = new_canvas()
    title = heading(rng, license_name)
    top = draw_heading(pdf, title, PAGE_HEIGHT - MARGIN)
    paragraph = fill(pdf, excerpt(rng, license_name, 1), body_frame(top, fraction=0.3), style)
    used = len(paragraph[0].splitlines()) * style.leading
    rows = table_rows(rng, license_name, rng.randint(7, 10))
    draw_table(pdf, rows, top - used - 30)
    pdf.showPage()
    pdf.save()
    cells = "\n".join(" ".join(row) for row in rows)
    return Drawn(buffer.getvalue(), (page_text([title, *paragraph, cells]),))


def photo(rng: random.Random, size: tuple[int, int]) -> Image.Image:
    """A photo-like picture without text: gradients, soft shapes and grain."""
    width, height = size
    sky = Image.linear_gradient("L").resize(size)
    base = Image.merge("RGB", (sky, sky.point(lambda v: 60 + v // 2), sky.point(lambda v: 255 - v)))
    draw = ImageDraw.Draw(base)
    for _ in range(14):
        x, y = rng.randrange(width), rng.randrange(height)
        r = rng.randint(width // 20, width // 5)
        colour = tuple(rng.randint(20, 235) for _ in range(3))
        if rng.random() < 0.5:
            draw.ellipse((x - r, y - r, x + r, y + r), fill=colour)
        else:
            points = [(x + rng.randint(-r, r), y + rng.randint(-r, r)) for _ in range(5)]
            draw.polygon(points, fill=colour)
    base = base.filter(ImageFilter.GaussianBlur(6))
    grain = Image.frombytes("L", size, rng.randbytes(width * height)).convert("RGB")
    return Image.blend(base, grain, 0.12)


def figure_page(rng: random.Random, license_name: str, style: Style) -> Drawn:
    """Text above and below a photo; the truth is the text only."""
    pdf, buffer = new_canvas()
    title = heading(rng, license_name)
    top = draw_heading(pdf, title, PAGE_HEIGHT - MARGIN)
    paragraphs = excerpt(rng, license_name, 20)
    above = fill(pdf, paragraphs, Frame(MARGIN, top, PAGE_WIDTH - 2 * MARGIN, 520), style)
    picture = photo(rng, (900, 600))
    pdf.drawImage(ImageReader(picture), MARGIN + 54, 290, width=360, height=216)
    below = fill(pdf, paragraphs, Frame(MARGIN, 270, PAGE_WIDTH - 2 * MARGIN, MARGIN + 60), style)
    pdf.showPage()
    pdf.save()
    return Drawn(buffer.getvalue(), (page_text([title, *above, *below]),))


# --- scanning ------------------------------------------------------------------------------


def rasterise(pdf: bytes) -> list[Image.Image]:
    """Each page of a PDF at 300 dpi in 8-bit grayscale, as a flatbed scanner would see it."""
    document = pdfium.PdfDocument(pdf)
    try:
        return [
            document[i].render(scale=DPI / 72, grayscale=True).to_pil().convert("L")
            for i in range(len(document))
        ]
    finally:
        document.close()


def bilevel(image: Image.Image) -> Image.Image:
    """Black and white at the middle threshold, without dithering (a clean office scan)."""
    return image.convert("1", dither=Image.Dither.NONE)


def turn(image: Image.Image, degrees: int) -> Image.Image:
    """The page's pixels turned clockwise by a multiple of 90 degrees."""
    steps = {
        90: Image.Transpose.ROTATE_270,
        180: Image.Transpose.ROTATE_180,
        270: Image.Transpose.ROTATE_90,
    }
    return image.transpose(steps[degrees])


def skew(image: Image.Image, degrees: float) -> Image.Image:
    """The page turned counter-clockwise by a small angle, corners filled with white paper."""
    return image.rotate(degrees, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=255)


def gaussian_noise(rng: random.Random, size: tuple[int, int], sigma: float) -> Image.Image:
    """Near-gaussian noise around 128: the mean of four uniform draws, scaled to `sigma`."""
    width, height = size

    def uniform() -> Image.Image:
        return Image.frombytes("L", size, rng.randbytes(width * height))

    mean = ImageChops.add(
        ImageChops.add(uniform(), uniform(), scale=2.0),
        ImageChops.add(uniform(), uniform(), scale=2.0),
        scale=2.0,
    )
    spread = sigma / (255 / 12**0.5 / 2)  # the mean of four uniforms has sd 255/sqrt(12)/2
    return mean.point(lambda v: max(0, min(255, round(128 + (v - 128) * spread))))


def bad_scan(rng: random.Random, image: Image.Image) -> Image.Image:
    """Grey paper, faded ink, soft focus, then sensor noise: a scanner on a bad day."""
    faded = image.point(lambda v: 35 + v * 200 // 255).filter(ImageFilter.GaussianBlur(NOISY_BLUR))
    return ImageChops.add(faded, gaussian_noise(rng, image.size, NOISE_SIGMA), offset=-128)


# --- storing -------------------------------------------------------------------------------


def encode(images: Sequence[Image.Image], fmt: str, **params: object) -> bytes:
    """The images in one file of format `fmt` at 300 dpi; several pages only as a PDF."""
    buffer = io.BytesIO()
    if fmt == "PDF":
        images[0].save(
            buffer,
            format="PDF",
            save_all=True,
            append_images=list(images[1:]),
            resolution=DPI,
            creationDate=PDF_DATE,
            modDate=PDF_DATE,
            title="Tessera eval",
            **params,
        )
    else:
        if len(images) != 1:
            raise ValueError(f"{fmt} holds one page, not {len(images)}")
        images[0].save(buffer, format=fmt, dpi=(DPI, DPI), **params)
    return buffer.getvalue()


def smallest(images: Sequence[Image.Image], fmt: str, **params: object) -> tuple[str, bytes]:
    """The smaller of an image-only PDF and a `fmt` file (one page only); its suffix and bytes."""
    candidates = [(".pdf", encode(images, "PDF", **params))]
    if len(images) == 1:
        candidates.append((f".{fmt.lower()}", encode(images, fmt, **params)))
    return min(candidates, key=lambda c: len(c[1]))


def write(
    out: Path, entry_name: str, cls: str, suffix: str, data: bytes, truths: Sequence[str], note: str
) -> Entry:
    """A document, its truth file; its manifest entry."""
    (out / f"{entry_name}{suffix}").write_bytes(data)
    (out / f"{entry_name}.truth.txt").write_text(PAGE_BREAK.join(truths) + "\n", encoding="utf-8")
    return Entry(entry_name, f"{entry_name}{suffix}", cls, len(truths), note)


def scan(
    out: Path,
    entry_name: str,
    cls: str,
    drawn: Drawn,
    note: str,
    transform: Callable[[Image.Image], Image.Image] = bilevel,
    fmt: str = "PNG",
    **params: object,
) -> Entry:
    """Rasterise a drawn document, transform each page, and store the smallest encoding."""
    images = [transform(page) for page in rasterise(drawn.pdf)]
    suffix, data = smallest(images, fmt, **params)
    return write(out, entry_name, cls, suffix, data, drawn.truths, note)


# --- the corpus ----------------------------------------------------------------------------


def build(out: Path) -> list[Entry]:
    """Every document of every class, drawn from one seeded generator in a fixed order."""
    rng = random.Random(SEED)
    return [
        *upright_and_turned(out, rng),
        *skewed(out, rng),
        *layouts(out, rng),
        *noisy(out, rng),
        *born_digital(out, rng),
    ]


def upright_and_turned(out: Path, rng: random.Random) -> list[Entry]:
    """Two clean scans, and the same page images turned by 90, 180 and 270 degrees."""
    entries = []
    uprights = [
        (article(rng, "GPL-3", SANS, pages=2, last_fraction=0.6), "GPL-3, Helvetica 10 pt"),
        (article(rng, "Apache-2.0", SERIF), "Apache-2.0, Times 11 pt"),
    ]
    for n, (drawn, note) in enumerate(uprights, 1):
        entries.append(scan(out, f"upright-{n}", "upright", drawn, f"{note}, bilevel 300 dpi"))
        for degrees in (90, 180, 270):
            entries.append(
                scan(
                    out,
                    f"rot{degrees}-{n}",
                    f"rot{degrees}",
                    drawn,
                    f"upright-{n} turned {degrees} degrees clockwise",
                    functools.partial(_turned_bilevel, degrees=degrees),
                )
            )
    return entries


def _turned_bilevel(page: Image.Image, degrees: int) -> Image.Image:
    return bilevel(turn(page, degrees))


def _skewed_bilevel(page: Image.Image, degrees: float) -> Image.Image:
    return bilevel(skew(page, degrees))


def skewed(out: Path, rng: random.Random) -> list[Entry]:
    """Clean scans fed in at a slant."""
    entries = []
    for n, (license_name, degrees) in enumerate([("MPL-2.0", 2.5), ("LGPL-2.1", -3.5)], 1):
        drawn = article(rng, license_name, SANS_11, last_fraction=0.85)
        entries.append(
            scan(
                out,
                f"skewed-{n}",
                "skewed",
                drawn,
                f"{license_name}, turned {degrees:+g} degrees (counter-clockwise +)",
                functools.partial(_skewed_bilevel, degrees=degrees),
            )
        )
    return entries


def layouts(out: Path, rng: random.Random) -> list[Entry]:
    """Two columns, ruled tables and text around photos."""
    entries = []
    for n, (license_name, style) in enumerate([("GPL-2", SANS), ("Artistic", SERIF)], 1):
        entries.append(
            scan(
                out,
                f"two_column-{n}",
                "two_column",
                two_column(rng, license_name, style),
                f"{license_name}, two columns",
            )
        )
    for n, (license_name, style) in enumerate([("LGPL-3", SANS), ("MPL-1.1", SERIF)], 1):
        entries.append(
            scan(
                out,
                f"table-{n}",
                "table",
                table_page(rng, license_name, style),
                f"{license_name}, a paragraph and a ruled table",
            )
        )
    for n, (license_name, style) in enumerate([("GFDL-1.3", SANS), ("Apache-2.0", SERIF)], 1):
        entries.append(
            scan(
                out,
                f"figure-{n}",
                "figure",
                figure_page(rng, license_name, style),
                f"{license_name}, text around a photo, grayscale",
                transform=_same,
                quality=FIGURE_JPEG_QUALITY,
            )
        )
    return entries


def noisy(out: Path, rng: random.Random) -> list[Entry]:
    """Grayscale scans with noise, blur and heavy JPEG compression."""
    entries = []
    for n, (license_name, style) in enumerate([("GPL-3", SANS_11), ("MPL-2.0", SERIF)], 1):
        drawn = article(rng, license_name, style, last_fraction=0.8)
        entries.append(
            scan(
                out,
                f"noisy-{n}",
                "noisy",
                drawn,
                f"{license_name}, noise, blur, JPEG quality {NOISY_JPEG_QUALITY}",
                lambda page: bad_scan(rng, page),
                fmt="JPEG",
                quality=NOISY_JPEG_QUALITY,
            )
        )
    return entries


def born_digital(out: Path, rng: random.Random) -> list[Entry]:
    """PDFs as reportlab wrote them, text layer and all."""
    born = [
        (article(rng, "LGPL-2.1", SERIF, pages=2, last_fraction=0.5), "LGPL-2.1, Times 11"),
        (article(rng, "Artistic", SANS), "Artistic, Helvetica 10"),
    ]
    return [
        write(
            out,
            f"born_digital-{n}",
            "born_digital",
            ".pdf",
            drawn.pdf,
            drawn.truths,
            f"{note} pt, text layer kept",
        )
        for n, (drawn, note) in enumerate(born, 1)
    ]


def _same(image: Image.Image) -> Image.Image:
    return image


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m tools.evalcorpus",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--out", type=Path, default=OUT, help=f"folder (default {OUT})")
    args = parser.parse_args(argv)
    shutil.rmtree(args.out, ignore_errors=True)
    args.out.mkdir(parents=True)
    entries = build(args.out)
    manifest = [e.as_json() for e in entries]
    (args.out / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    size = sum(p.stat().st_size for p in args.out.iterdir())
    print(
        f"evalcorpus: {len(entries)} documents, {sum(e.pages for e in entries)} pages, "
        f"{size / 1e6:.1f} MB in {args.out}",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
