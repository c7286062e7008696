"""A form's check boxes read as boxes, ticked or not, and letters and table cells not."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont
from reportlab.lib.pagesizes import letter
from reportlab.pdfgen import canvas

from ocr_engine import checkboxes, structure, tasks
from ocr_engine.model import LIST, Page
from ocr_engine.options import PageOptions
from ocr_engine.recognize import TesserocrRecognizer
from ocr_engine.render.mistral import page_json
from ocr_engine.words import Box, Line, Word

_, PAGE_HEIGHT = letter


def _box(pdf: canvas.Canvas, x: float, y: float, *, ticked: bool) -> None:
    """A 9 pt check box whose bottom left corner is at (x, y), crossed if ticked."""
    pdf.setLineWidth(0.6)
    pdf.rect(x, y, 9, 9)
    if ticked:
        pdf.line(x + 1, y + 1, x + 8, y + 8)
        pdf.line(x + 1, y + 8, x + 8, y + 1)


def _form_pdf(path: Path) -> Path:
    pdf = canvas.Canvas(str(path), pagesize=letter)
    top = PAGE_HEIGHT - 90
    pdf.setFont("Helvetica-Bold", 11)
    pdf.drawString(72, top, "Description of the OHC placement and the date of the incident:")
    pdf.setFont("Helvetica", 11)
    rows = [
        (True, "Screening of Access report", False, "Attempted or successful reunification"),
        (False, "Protective plan implemented", False, "Referral to services"),
        (True, "Initial assessment conducted", True, "Collaboration with law enforcement"),
    ]
    for i, (left, left_text, right, right_text) in enumerate(rows):
        y = top - 40 - 18 * i
        _box(pdf, 72, y - 1, ticked=left)
        pdf.drawString(90, y, left_text)
        _box(pdf, 320, y - 1, ticked=right)
        pdf.drawString(338, y, right_text)
    y = top - 120
    pdf.drawString(72, y, "Gender:")
    _box(pdf, 130, y - 1, ticked=False)
    pdf.drawString(144, y, "Female")
    _box(pdf, 200, y - 1, ticked=True)
    pdf.drawString(214, y, "Male")
    # A ruled table of square cells, each holding a figure: cells, not boxes.
    y = top - 170
    pdf.drawString(72, y + 20, "Scores by round:")
    for column in range(6):
        x = 72 + 16 * column
        pdf.rect(x, y - 4, 16, 16)
        pdf.drawString(x + 5, y, str(column + 3))
    pdf.save()
    return path


def test_check_boxes_are_read_ticked_or_not(
    recognizer: TesserocrRecognizer, tmp_path: Path
) -> None:
    options = PageOptions(mode="force")
    task = tasks.PageTask(
        str(_form_pdf(tmp_path / "form.pdf")), "pdf", None, 0, "eng", 300, 50_000_000, 120, options
    )
    page = tasks.recognize_page(task, recognizer)
    markdown = str(page_json(page, PageOptions())["markdown"])
    for expected in [
        "☒ Screening of Access report",
        "☐ Attempted or successful reunification",
        "☐ Protective plan implemented",
        "☐ Referral to services",
        "☒ Initial assessment conducted",
        "☒ Collaboration with law enforcement",
        "☐ Female",
        "☒ Male",
    ]:
        assert expected in markdown.replace(" | ", " "), (expected, markdown)
    assert markdown.count("☐") + markdown.count("☒") == 8, markdown
    assert "Description of the OHC placement and the date of the incident:" in markdown
    assert "3" in markdown and "8" in markdown  # the cells' figures, not boxes


def _drawn(text: str, face: str = "DejaVuSans-Bold.ttf") -> tuple[np.ndarray, Line]:
    """A word drawn 40 px high, and how Tesseract would box it."""
    font = ImageFont.truetype(f"/usr/share/fonts/truetype/dejavu/{face}", 40)
    image = Image.new("L", (400, 100), 255)
    ImageDraw.Draw(image).text((50, 30), text, font=font, fill=0)
    left, top, right, bottom = font.getbbox(text)
    word = Word(text, 0.9, Box(50 + left, 30 + top, 50 + right, 30 + bottom))
    return np.asarray(image), Line([word])


def test_letters_with_straight_sides_are_no_boxes() -> None:
    # Heavy letters whose walls are nearly straight, letters set close that make a square
    # between them ("EM" in "DEM"), brackets.
    for face in ["DejaVuSans-Bold.ttf", "DejaVuSans.ttf", "DejaVuSerif.ttf"]:
        for text in ["date", "OHC", "DONE", "DEM", "HEM", "[]", "N/A", "[ ]"]:
            gray, line = _drawn(text, face)
            box = line.words[0].box
            assert checkboxes.find_box(gray, box, 48, start=box.left - 60) is None, (face, text)


def test_a_box_glued_to_its_word_is_read_apart_from_it() -> None:
    image = Image.new("L", (500, 100), 255)
    draw = ImageDraw.Draw(image)
    draw.rectangle((50, 30, 86, 66), outline=0, width=3)
    draw.line((56, 36, 80, 60), fill=0, width=3)
    draw.line((56, 60, 80, 36), fill=0, width=3)
    # Tesseract read the box and the word after it as one word, "KXNo".
    glued = Line([Word("KXNo", 0.6, Box(50, 30, 160, 66))])

    def reread(box: Box) -> list[Line]:
        assert box.left > 86  # only what stands right of the box
        return [Line([Word("No", 0.95, Box(100, 32, 160, 64))])]

    [line] = checkboxes.mark([glued], np.asarray(image), reread)
    assert [w.text for w in line.words] == [checkboxes.CHECKED, "No"]
    assert line.words[0].box.left == 50 and line.words[0].box.right in (86, 87)


def test_lines_that_start_with_a_box_are_a_checklist() -> None:
    def line(box: str, text: str, top: int) -> Line:
        words = [Word(box, 1.0, Box(100, top, 140, top + 40))]
        for i, token in enumerate(text.split()):
            words.append(Word(token, 0.95, Box(170 + 120 * i, top, 270 + 120 * i, top + 40)))
        return Line(words)

    lines = [
        line(checkboxes.CHECKED, "Screening of Access report", 300),
        line(checkboxes.UNCHECKED, "Referral to services", 360),
    ]
    items = structure.classify(structure.group_lines(lines), page_height=3300)
    assert [item.kind for item in items] == [LIST, LIST]
    page = Page(0, 2550, 3300, 300, "ocr", "eng", [item.block() for item in items])
    assert page_json(page, PageOptions())["markdown"] == (
        "- ☒ Screening of Access report\n- ☐ Referral to services\n"
    )
