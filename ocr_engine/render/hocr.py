"""hOCR 1.2: the pages as a well-formed XHTML document, one `ocr_page` per page read.

Mapping of the page model:

- a page is `div.ocr_page` (`id="page_N"`, N = index + 1; `ppageno` is the 0-based index);
- body blocks (text, title, list, table) are `div.ocr_carea`; running heads and feet are the
  spec's floats `div.ocr_header` and `div.ocr_footer`, figures `div.ocr_photo` (no text);
- every block with words holds one `p.ocr_par` (with `lang`), whose `span.ocr_line`s hold the
  `span.ocrx_word`s; a table's paragraph has one line per non-empty cell, row by row, the
  cell's words in reading order (hOCR has no cell markup);
- ids are `block_P_B`, `par_P_B`, `line_P_B_L` and `word_P_B_L_W` (P the page number,
  the others 1-based), so they are unique in the document.

Languages are Tesseract codes mapped to ISO 639-1 where one exists (`language_tag`). Non-void
elements are never written self-closed, so the file also reads right as text/html.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import BinaryIO

from ..model import FOOTER, HEADER, IMAGE, Block, Page
from ..words import Box, Line, union_all
from . import RenderedDocument

XHTML = "http://www.w3.org/1999/xhtml"
CAPABILITIES = (
    "ocr_page ocr_carea ocr_par ocr_line ocrx_word ocrp_wconf ocrp_lang "
    "ocr_header ocr_footer ocr_photo"
)
_AREA_CLASS = {HEADER: "ocr_header", FOOTER: "ocr_footer", IMAGE: "ocr_photo"}

_PROLOGUE = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN"\n'
    '    "http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">\n'
)

# Tesseract's language codes and their ISO 639-1 (or BCP 47) tags.
_ISO_LANGUAGES = {
    "afr": "af", "ara": "ar", "bul": "bg", "cat": "ca", "ces": "cs", "chi_sim": "zh-Hans",
    "chi_tra": "zh-Hant", "cym": "cy", "dan": "da", "deu": "de", "ell": "el", "eng": "en",
    "est": "et", "eus": "eu", "fas": "fa", "fin": "fi", "fra": "fr", "gle": "ga", "glg": "gl",
    "heb": "he", "hin": "hi", "hrv": "hr", "hun": "hu", "ind": "id", "isl": "is", "ita": "it",
    "jpn": "ja", "kor": "ko", "lat": "la", "lav": "lv", "lit": "lt", "nld": "nl", "nor": "no",
    "pol": "pl", "por": "pt", "ron": "ro", "rus": "ru", "slk": "sk", "slv": "sl", "spa": "es",
    "srp": "sr", "swe": "sv", "tha": "th", "tur": "tr", "ukr": "uk", "vie": "vi",
}  # fmt: skip
_LANGUAGE_TAG = re.compile(r"[a-zA-Z]{1,8}(-[a-zA-Z0-9]{1,8})*")
UNDETERMINED = "und"
# Characters XML 1.0 cannot carry (and lone surrogates, which UTF-8 cannot).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def write(document: RenderedDocument, out: BinaryIO) -> None:
    """Write the document as hOCR, one page at a time."""
    languages = document_languages(document.pages)
    lang = languages[0] if languages else UNDETERMINED
    out.write(_PROLOGUE.encode())
    out.write(f'<html xmlns="{XHTML}" xml:lang="{lang}" lang="{lang}">\n'.encode())
    out.write(_head(document, languages))
    out.write(b" <body>\n")
    for page in document.pages:
        out.write(serialize(page_element(page), 2, short_empty_elements=False))
    out.write(b" </body>\n</html>\n")


def _head(document: RenderedDocument, languages: list[str]) -> bytes:
    title = ET.Element("title")
    title.text = xml_text(document.path.name)
    metas = [
        {"http-equiv": "Content-Type", "content": "text/html;charset=utf-8"},
        {"name": "ocr-system", "content": "tessera"},
        {"name": "ocr-capabilities", "content": CAPABILITIES},
        {"name": "ocr-number-of-pages", "content": str(len(document.pages))},
        {"name": "ocr-langs", "content": " ".join(languages) or "unknown"},
    ]
    parts = [serialize(title, 2, short_empty_elements=False)]
    parts += [serialize(ET.Element("meta", meta), 2) for meta in metas]
    return b" <head>\n" + b"".join(parts) + b" </head>\n"


def page_element(page: Page) -> ET.Element:
    """One page as a `div.ocr_page`."""
    number = page.index + 1
    title = (
        f"bbox 0 0 {page.width} {page.height}; ppageno {page.index}; scan_res {page.dpi} {page.dpi}"
    )
    element = ET.Element("div", {"class": "ocr_page", "id": f"page_{number}", "title": title})
    lang = language_tag(page.languages)
    for b, block in enumerate(page.blocks, 1):
        element.append(_block(block, f"{number}_{b}", lang))
    return element


def _block(block: Block, key: str, lang: str) -> ET.Element:
    area_class = _AREA_CLASS.get(block.kind, "ocr_carea")
    area = ET.Element("div", {"class": area_class, "id": f"block_{key}", "title": bbox(block.box)})
    lines = [line for line in block.text_lines() if line.words]
    if not lines:
        return area
    paragraph_box = union_all([line.box for line in lines])
    paragraph = ET.SubElement(
        area,
        "p",
        {"class": "ocr_par", "id": f"par_{key}", "lang": lang, "title": bbox(paragraph_box)},
    )
    for n, line in enumerate(lines, 1):
        paragraph.append(_line(line, f"{key}_{n}"))
    return area


def _line(line: Line, key: str) -> ET.Element:
    element = ET.Element(
        "span", {"class": "ocr_line", "id": f"line_{key}", "title": bbox(line.box)}
    )
    for n, word in enumerate(line.words, 1):
        confidence = round(100 * min(1.0, max(0.0, word.confidence)))
        title = f"{bbox(word.box)}; x_wconf {confidence}"
        span = ET.SubElement(
            element, "span", {"class": "ocrx_word", "id": f"word_{key}_{n}", "title": title}
        )
        span.text = xml_text(word.text)
    return element


def bbox(box: Box) -> str:
    """The hOCR `bbox` property; its grammar allows no negative coordinates."""
    return "bbox " + " ".join(str(max(0, v)) for v in (box.left, box.top, box.right, box.bottom))


def language_tag(languages: str) -> str:
    """The first of Tesseract's languages ("eng+deu") as an xsd:language tag ("en").

    ISO 639-1 where one exists; otherwise Tesseract's own code, "_" made "-" ("deu_latf" is
    "deu-latf"); "und" for none or for one that cannot be a language tag at all.
    """
    first = languages.split("+")[0].strip()
    tag = _ISO_LANGUAGES.get(first, first.replace("_", "-"))
    return tag if _LANGUAGE_TAG.fullmatch(tag) else UNDETERMINED


def document_languages(pages: list[Page]) -> list[str]:
    """Every language of the pages as a tag, once each, in the order they first appear."""
    tags = (language_tag(code) for page in pages for code in page.languages.split("+"))
    return list(dict.fromkeys(tag for tag in tags if tag != UNDETERMINED))


def xml_text(text: str) -> str:
    """`text` without the characters an XML 1.0 document cannot hold."""
    return _NOT_XML.sub("", text)


def serialize(element: ET.Element, level: int, *, short_empty_elements: bool = True) -> bytes:
    """One element as indented UTF-8, at `level` in the document, with its newline."""
    ET.indent(element, space=" ", level=level)
    text = ET.tostring(element, encoding="unicode", short_empty_elements=short_empty_elements)
    return (" " * level + text + "\n").encode("utf-8")
