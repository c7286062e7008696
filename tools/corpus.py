"""Documents with known text, made on the spot for the tests and the benchmark.

Text is drawn with the Vera font that ships inside reportlab, so nothing depends on the
machine's fonts.
"""

from __future__ import annotations

import io
from pathlib import Path

import pypdfium2 as pdfium
import reportlab
from PIL import Image, ImageDraw, ImageFont
from reportlab.lib.pagesizes import letter
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.pdfgen import canvas
from reportlab.platypus import Paragraph, SimpleDocTemplate

FONT = Path(reportlab.__file__).parent / "fonts" / "Vera.ttf"
LICENSE_TEXT = Path("/usr/share/common-licenses/GPL-3")


def text_image(
    lines: list[str],
    *,
    font_size: int = 40,
    margin: int = 40,
    width: int | None = None,
    mode: str = "L",
) -> Image.Image:
    """Black text on white, one entry of `lines` per line."""
    font = ImageFont.truetype(str(FONT), font_size)
    line_height = int(font_size * 1.5)
    text_width = max(int(font.getlength(line)) for line in lines)
    size = (width or text_width + 2 * margin, len(lines) * line_height + 2 * margin)
    image = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(image)
    for i, line in enumerate(lines):
        draw.text((margin, margin + i * line_height), line, font=font, fill="black")
    return image.convert(mode)


def image_bytes(image: Image.Image, fmt: str = "PNG", **params: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **params)
    return buffer.getvalue()


def text_pdf(
    path: Path, pages: list[list[str]], *, font_size: int = 14, password: str | None = None
) -> Path:
    """A born-digital PDF: each entry of `pages` is that page's lines."""
    pdf = canvas.Canvas(str(path), pagesize=letter, encrypt=password)
    _, height = letter
    for lines in pages:
        pdf.setFont("Helvetica", font_size)
        for i, line in enumerate(lines):
            pdf.drawString(72, height - 96 - i * font_size * 1.6, line)
        pdf.showPage()
    pdf.save()
    return path


def dense_pdf(path: Path, *, min_pages: int = 1) -> Path:
    """A text-heavy born-digital PDF (the GPL, 10 pt), repeated to at least `min_pages`."""
    style = getSampleStyleSheet()["BodyText"]
    style.fontSize, style.leading = 10, 12
    text = LICENSE_TEXT.read_text()
    paragraphs = [
        p.replace("&", "&amp;").replace("<", "&lt;").replace("\n", " ")
        for p in text.split("\n\n")
        if p.strip()
    ]
    # The GPL fills about nine pages at this size.
    copies = max(1, -(-min_pages // 9))
    story = [Paragraph(p, style) for _ in range(copies) for p in paragraphs]
    SimpleDocTemplate(str(path), pagesize=letter).build(story)
    return path


def image_only_pdf(source: Path, path: Path, *, dpi: int = 300, pages: int | None = None) -> Path:
    """A scan-like PDF: `source`'s pages rendered to grayscale images, no text layer."""
    document = pdfium.PdfDocument(str(source))
    count = len(document) if pages is None else min(pages, len(document))
    images = [document[i].render(scale=dpi / 72, grayscale=True).to_pil() for i in range(count)]
    images[0].save(path, format="PDF", save_all=True, append_images=images[1:], resolution=dpi)
    document.close()
    return path


def render_pages(source: Path, directory: Path, *, dpi: int = 300) -> list[Path]:
    """Each page of `source` as a grayscale PNG, as a scanner would hand them over."""
    document = pdfium.PdfDocument(str(source))
    paths = []
    for i in range(len(document)):
        out = directory / f"page-{i:04d}.png"
        document[i].render(scale=dpi / 72, grayscale=True).to_pil().save(out, dpi=(dpi, dpi))
        paths.append(out)
    document.close()
    return paths


def photo(width: int = 600, height: int = 400, seed: int = 7) -> Image.Image:
    """A photo-like picture: gradients, shapes and grain, no text."""
    import random

    rng = random.Random(seed)
    image = Image.new("RGB", (width, height))
    pixels = image.load()
    assert pixels is not None
    for y in range(height):
        for x in range(width):
            pixels[x, y] = (x * 255 // width, y * 255 // height, 140)
    draw = ImageDraw.Draw(image)
    for _ in range(12):
        x, y, r = rng.randrange(width), rng.randrange(height), rng.randrange(20, 90)
        colour = tuple(rng.randrange(30, 220) for _ in range(3))
        draw.ellipse((x - r, y - r, x + r, y + r), fill=colour)
    return image


STRUCTURED_TITLE = "Annual Results"
STRUCTURED_BODY = (
    "Revenue grew in every region this year. The board thanks all staff "
    "for their work and proposes a dividend."
)
STRUCTURED_ITEMS = ["Opened two new plants", "Hired forty engineers", "Cut waste by half"]
STRUCTURED_TABLE = [["Region", "Sales", "Growth"], ["North", "1200", "12%"], ["South", "950", "8%"]]
COLUMN_LEFT = [
    "The left column starts",
    "here and keeps going",
    "for several lines",
    "until it ends.",
]
COLUMN_RIGHT = ["The right column follows", "after the left one", "and closes the page."]


def structured_pdf(path: Path) -> Path:
    """A born-digital report page: running header and footer, a title, a paragraph, a bullet
    list, a ruled table, a photo, and two columns of text below."""
    pdf = canvas.Canvas(str(path), pagesize=letter)
    width, height = letter
    pdf.setFont("Helvetica", 9)
    pdf.drawString(72, height - 36, "ACME Corporation - Annual Report")
    pdf.drawCentredString(width / 2, 30, "Page 1")
    pdf.setFont("Helvetica-Bold", 26)
    pdf.drawString(72, height - 100, STRUCTURED_TITLE)
    pdf.setFont("Helvetica", 12)
    text = pdf.beginText(72, height - 135)
    text.setLeading(15)
    for line in (STRUCTURED_BODY[:70], STRUCTURED_BODY[70:].strip()):
        text.textLine(line)
    pdf.drawText(text)
    for i, item in enumerate(STRUCTURED_ITEMS):
        y = height - 190 - i * 18
        pdf.drawString(76, y, "\u2022")
        pdf.drawString(92, y, item)
    top = height - 270
    for r, row in enumerate(STRUCTURED_TABLE):
        for c, cell in enumerate(row):
            pdf.drawString(82 + c * 120, top - 18 - r * 24, cell)
    for r in range(len(STRUCTURED_TABLE) + 1):
        pdf.line(72, top - r * 24, 72 + 3 * 120, top - r * 24)
    for c in range(4):
        pdf.line(72 + c * 120, top, 72 + c * 120, top - 3 * 24)
    picture = path.with_suffix(".photo.png")
    photo(300, 200).save(picture)
    pdf.drawImage(str(picture), 72, height - 560, width=225, height=150)
    picture.unlink()
    for x, lines in ((72, COLUMN_LEFT), (320, COLUMN_RIGHT)):
        for i, line in enumerate(lines):
            pdf.drawString(x, height - 610 - i * 15, line)
    pdf.showPage()
    pdf.save()
    return path


def scanned_pages_pdf(
    path: Path, pages: list[Image.Image | list[str]], *, hidden_text: str | None = None
) -> Path:
    """A PDF mixing born-digital pages (lists of lines) and scanned ones (images drawn over
    the whole page); `hidden_text` puts an invisible text layer, as an earlier OCR would, on
    each scanned page."""
    pdf = canvas.Canvas(str(path), pagesize=letter)
    width, height = letter
    for number, content in enumerate(pages):
        if isinstance(content, Image.Image):
            picture = path.with_suffix(f".{number}.png")
            content.save(picture)
            pdf.drawImage(str(picture), 0, 0, width=width, height=height)
            picture.unlink()
            if hidden_text is not None:
                text = pdf.beginText(72, height - 100)
                text.setTextRenderMode(3)
                text.setFont("Helvetica", 14)
                text.textLine(hidden_text)
                pdf.drawText(text)
        else:
            pdf.setFont("Helvetica", 16)
            for i, line in enumerate(content):
                pdf.drawString(72, height - 100 - i * 24, line)
        pdf.showPage()
    pdf.save()
    return path


def letter_page(lines: list[str], *, font_size: int = 44) -> Image.Image:
    """A scanned letter-size page at 200 dpi with `lines` near its top."""
    page = Image.new("L", (1700, 2200), 255)
    page.paste(text_image(lines, font_size=font_size), (150, 200))
    return page
