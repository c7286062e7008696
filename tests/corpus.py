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


def text_image(lines: list[str], *, font_size: int = 40, margin: int = 40,
               width: int | None = None, mode: str = "L") -> Image.Image:
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


def text_pdf(path: Path, pages: list[list[str]], *, font_size: int = 14,
             password: str | None = None) -> Path:
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
    paragraphs = [p.replace("&", "&amp;").replace("<", "&lt;").replace("\n", " ")
                  for p in text.split("\n\n") if p.strip()]
    # The GPL fills about nine pages at this size.
    copies = max(1, -(-min_pages // 9))
    story = [Paragraph(p, style) for _ in range(copies) for p in paragraphs]
    SimpleDocTemplate(str(path), pagesize=letter).build(story)
    return path


def image_only_pdf(source: Path, path: Path, *, dpi: int = 300,
                   pages: int | None = None) -> Path:
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
