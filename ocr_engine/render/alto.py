"""ALTO v4 (schema 4.2): the pages as one `alto` document, in pixels of the pages as read.

Mapping of the page model:

- a page is `Page` (`ID="page_N"`, `PHYSICAL_IMG_NR` N = index + 1, the page's size);
- running heads go in `TopMargin` and running feet in `BottomMargin`, everything else in
  `PrintSpace`, as the schema has it; the three are full-width bands that together cover the
  page: the top margin ends at the lowest head's bottom, the bottom margin starts at the
  highest foot's top (with neither, the print space is the whole page);
- text, title and list blocks are `TextBlock`s (with `LANG`) of `TextLine`s of `String`s, an
  `SP` between two strings; `WC` is the word's confidence rounded to 4 places;
- a table is a `ComposedBlock TYPE="table"` holding one `TextBlock` per non-empty cell, row by
  row, each one `TextLine` with the cell's words in reading order;
- a figure is an `Illustration`.

Ids are `block_P_B` (a table cell's block `block_P_B_C`), `line_P_B_L` and `word_P_B_L_W`, P the
page number and the others 1-based, so they are unique in the document.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import BinaryIO

from ..model import FOOTER, HEADER, IMAGE, TABLE, Block, Page
from ..words import Box, Line
from . import RenderedDocument
from .hocr import language_tag, serialize, xml_text

NAMESPACE = "http://www.loc.gov/standards/alto/ns-v4#"
SCHEMA_LOCATION = f"{NAMESPACE} http://www.loc.gov/standards/alto/v4/alto-4-2.xsd"
SOFTWARE = "Tessera"

_PROLOGUE = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    f'<alto xmlns="{NAMESPACE}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
    f' xsi:schemaLocation="{SCHEMA_LOCATION}">\n'
)


def write(document: RenderedDocument, out: BinaryIO) -> None:
    """Write the document as ALTO, one page at a time."""
    out.write(_PROLOGUE.encode())
    out.write(serialize(_description(document), 1))
    out.write(b" <Layout>\n")
    for page in document.pages:
        out.write(serialize(page_element(page), 2))
    out.write(b" </Layout>\n</alto>\n")


def _description(document: RenderedDocument) -> ET.Element:
    description = ET.Element("Description")
    ET.SubElement(description, "MeasurementUnit").text = "pixel"
    source = ET.SubElement(description, "sourceImageInformation")
    ET.SubElement(source, "fileName").text = xml_text(document.path.name)
    processing = ET.SubElement(description, "OCRProcessing", {"ID": "ocr_processing"})
    step = ET.SubElement(processing, "ocrProcessingStep")
    software = ET.SubElement(step, "processingSoftware")
    ET.SubElement(software, "softwareName").text = SOFTWARE
    return description


def page_element(page: Page) -> ET.Element:
    """One page as an ALTO `Page`, its margins before its print space as the schema orders."""
    number = page.index + 1
    element = ET.Element(
        "Page",
        {
            "ID": f"page_{number}",
            "PHYSICAL_IMG_NR": str(number),
            "WIDTH": str(page.width),
            "HEIGHT": str(page.height),
        },
    )
    top, bottom = print_band(page)
    spaces = {
        HEADER: _space("TopMargin", Box(0, 0, page.width, top)),
        FOOTER: _space("BottomMargin", Box(0, bottom, page.width, page.height)),
    }
    print_space = _space("PrintSpace", Box(0, top, page.width, bottom))
    lang = language_tag(page.languages)
    for b, block in enumerate(page.blocks, 1):
        spaces.get(block.kind, print_space).append(_block(block, f"{number}_{b}", lang))
    element.extend(space for space in (spaces[HEADER], spaces[FOOTER]) if len(space))
    element.append(print_space)
    return element


def print_band(page: Page) -> tuple[int, int]:
    """Where the print space starts and ends: below the running heads, above the feet."""
    heads = [block.box.bottom for block in page.blocks if block.kind == HEADER]
    feet = [block.box.top for block in page.blocks if block.kind == FOOTER]
    top = max(0, min(max(heads, default=0), page.height))
    bottom = max(top, min(min(feet, default=page.height), page.height))
    return top, bottom


def _space(tag: str, box: Box) -> ET.Element:
    return ET.Element(tag, _position(box))


def _position(box: Box) -> dict[str, str]:
    return {
        "HPOS": str(box.left),
        "VPOS": str(box.top),
        "WIDTH": str(box.width),
        "HEIGHT": str(box.height),
    }


def _block(block: Block, key: str, lang: str) -> ET.Element:
    lines = [line for line in block.text_lines() if line.words]
    if block.kind == IMAGE:
        return ET.Element("Illustration", {"ID": f"block_{key}", **_position(block.box)})
    if block.kind != TABLE:
        keyed = [(f"{key}_{n}", line) for n, line in enumerate(lines, 1)]
        return _text_block(f"block_{key}", block.box, lang, keyed)
    attributes = {"ID": f"block_{key}", **_position(block.box), "TYPE": "table"}
    table = ET.Element("ComposedBlock", attributes)
    for n, line in enumerate(lines, 1):
        table.append(_text_block(f"block_{key}_{n}", line.box, lang, [(f"{key}_{n}", line)]))
    return table


def _text_block(block_id: str, box: Box, lang: str, lines: list[tuple[str, Line]]) -> ET.Element:
    element = ET.Element("TextBlock", {"ID": block_id, **_position(box), "LANG": lang})
    for key, line in lines:
        element.append(_text_line(line, key))
    return element


def _text_line(line: Line, key: str) -> ET.Element:
    element = ET.Element("TextLine", {"ID": f"line_{key}", **_position(line.box)})
    previous: Box | None = None
    for n, word in enumerate(line.words, 1):
        if previous is not None:
            gap = max(0, word.box.left - previous.right)
            space = {"WIDTH": str(gap), "HPOS": str(previous.right), "VPOS": str(line.box.top)}
            ET.SubElement(element, "SP", space)
        confidence = min(1.0, max(0.0, word.confidence))
        string = {
            "ID": f"word_{key}_{n}",
            "CONTENT": xml_text(word.text),
            **_position(word.box),
            "WC": f"{round(confidence, 4):g}",
        }
        ET.SubElement(element, "String", string)
        previous = word.box
    return element
