"""The txt, hOCR and ALTO renderers on page models built by hand: no service, no Tesseract."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from lxml import etree

from ocr_engine.engine import DocumentResult, PageWarning
from ocr_engine.errors import InternalError
from ocr_engine.model import FOOTER, HEADER, IMAGE, TABLE, TEXT, TITLE, Block, Page
from ocr_engine.render import FORMATS, RenderedDocument, Writer, alto, hocr, text
from ocr_engine.words import Box, Line, Word

XHTML = "{http://www.w3.org/1999/xhtml}"
ALTO = "{http://www.loc.gov/standards/alto/ns-v4#}"
XSI = "{http://www.w3.org/2001/XMLSchema-instance}"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
LANGUAGE_TAG = re.compile(r"[a-zA-Z]{1,8}(-[a-zA-Z0-9]{1,8})*")
PAGE_SPACES = ["TopMargin", "LeftMargin", "RightMargin", "BottomMargin", "PrintSpace"]


def word(text: str, left: int, top: int, right: int, bottom: int, confidence: float = 0.9) -> Word:
    return Word(text, confidence, Box(left, top, right, bottom))


def line(*words: Word) -> Line:
    return Line(list(words))


def first_page() -> Page:
    """A page with a running head, a title, a paragraph, a table, a figure and a running foot."""
    head = line(word("Annual", 100, 20, 220, 50), word("Report", 230, 20, 350, 50))
    title = line(word("Große", 100, 100, 300, 160, 0.97), word("Überschrift", 320, 100, 700, 160))
    body = [
        line(word("a<b", 100, 200, 180, 230, 0.87654), word("&", 190, 200, 210, 230, 0.5)),
        line(word('"quoted"', 100, 240, 260, 270, 1.0), word("end.", 270, 240, 340, 270, 0.0)),
    ]
    cells: list[list[list[Word]]] = [
        [[word("Name", 100, 400, 200, 430)], [word("Value", 500, 400, 600, 430)]],
        # The cell's words out of order: the renderers read them by line, then left to right.
        [[word("bar", 170, 450, 230, 480), word("foo", 100, 450, 160, 480)], []],
        [[], []],
    ]
    return Page(
        index=0,
        width=1000,
        height=1400,
        dpi=300,
        source="ocr",
        languages="eng+deu",
        blocks=[
            Block(HEADER, Box(100, 20, 350, 50), lines=[head]),
            Block(TITLE, Box(100, 100, 700, 160), lines=[title], level=1),
            Block(TEXT, Box(100, 200, 340, 270), lines=body),
            Block(TABLE, Box(90, 390, 700, 490), cells=cells),
            Block(IMAGE, Box(100, 600, 900, 1200)),
            Block(FOOTER, Box(480, 1350, 520, 1380), lines=[line(word("1", 480, 1350, 520, 1380))]),
        ],
    )


def second_page() -> Page:
    bonjour = line(word("Bonjour", 50, 60, 200, 90, 0.75), word("monde", 210, 60, 330, 90))
    return Page(
        index=3,
        width=800,
        height=600,
        dpi=150,
        source="text_layer",
        languages="fra",
        blocks=[Block(TEXT, Box(50, 60, 330, 90), lines=[bonjour])],
    )


def empty_page() -> Page:
    return Page(index=5, width=800, height=600, dpi=150, source="ocr", languages="eng")


@pytest.fixture
def document() -> RenderedDocument:
    pages = [first_page(), second_page(), empty_page()]
    return RenderedDocument(pages=pages, path=Path("/tmp/report & co.pdf"), kind="pdf")


def render(write: Writer, document: RenderedDocument) -> bytes:
    out = io.BytesIO()
    write(document, out)
    return out.getvalue()


def test_the_registry_names_these_writers() -> None:
    assert FORMATS["txt"].write is text.write
    assert FORMATS["hocr"].write is hocr.write
    assert FORMATS["alto"].write is alto.write


# txt


def test_text_is_the_words_in_reading_order_with_a_form_feed_after_each_page(
    document: RenderedDocument,
) -> None:
    assert render(text.write, document).decode("utf-8") == (
        "Annual Report\n\n"
        "Große Überschrift\n\n"
        'a<b &\n"quoted" end.\n\n'
        "Name\tValue\nfoo bar\t\n\n"
        "1\n\f"
        "Bonjour monde\n\f"
        "\f"
    )


def test_text_follows_the_blocks_order_not_their_position() -> None:
    lower = Block(TEXT, Box(0, 500, 100, 530), lines=[line(word("first", 0, 500, 100, 530))])
    upper = Block(TEXT, Box(0, 10, 100, 40), lines=[line(word("second", 0, 10, 100, 40))])
    page = Page(index=0, width=200, height=600, dpi=72, source="ocr", languages="eng")
    page.blocks = [lower, upper]
    assert text.page_text(page) == "first\n\nsecond\n\f"


def test_text_of_a_page_with_only_a_figure_is_a_form_feed() -> None:
    page = empty_page()
    page.blocks = [Block(IMAGE, Box(0, 0, 100, 100))]
    assert text.page_text(page) == "\f"
    assert text.page_text(empty_page()) == "\f"


def test_text_table_rows_are_tab_separated_cells() -> None:
    cells = [
        [[word("A", 0, 0, 10, 10)], [word("B", 50, 0, 60, 10)], [word("C", 90, 0, 99, 10)]],
        [[], [word("y", 60, 20, 70, 30), word("x", 50, 20, 58, 30)], [word("z", 90, 20, 99, 30)]],
    ]
    block = Block(TABLE, Box(0, 0, 100, 30), cells=cells)
    assert text.block_text(block) == "A\tB\tC\n\tx y\tz"


# hOCR


@pytest.fixture
def hocr_bytes(document: RenderedDocument) -> bytes:
    return render(hocr.write, document)


@pytest.fixture
def hocr_root(hocr_bytes: bytes) -> etree._Element:
    return etree.fromstring(hocr_bytes)


def by_class(root: etree._Element, name: str) -> list[etree._Element]:
    return list(root.iterfind(f".//*[@class='{name}']"))


def hocr_box(element: etree._Element) -> tuple[int, ...]:
    match = re.match(r"bbox (\d+) (\d+) (\d+) (\d+)", element.get("title", ""))
    assert match, element.get("title")
    return tuple(int(v) for v in match.groups())


def test_hocr_is_xhtml_with_the_required_head(hocr_bytes: bytes, hocr_root: etree._Element) -> None:
    assert hocr_bytes.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE html')
    assert hocr_root.tag == f"{XHTML}html"
    assert hocr_root.get(XML_LANG) == "en"
    assert hocr_root.get("lang") == "en"
    metas = {
        m.get("name") or m.get("http-equiv"): m.get("content")
        for m in hocr_root.iterfind(f"{XHTML}head/{XHTML}meta")
    }
    assert metas["Content-Type"] == "text/html;charset=utf-8"
    assert metas["ocr-system"] == "tessera"
    assert metas["ocr-number-of-pages"] == "3"
    assert metas["ocr-langs"] == "en de fr"
    capabilities = set(metas["ocr-capabilities"].split())
    assert {"ocr_page", "ocr_carea", "ocr_par", "ocr_line", "ocrx_word"} <= capabilities
    assert {"ocrp_wconf", "ocrp_lang"} <= capabilities
    used = {e.get("class") for e in hocr_root.iter() if e.get("class")}
    assert used <= capabilities
    assert hocr_root.findtext(f"{XHTML}head/{XHTML}title") == "report & co.pdf"


def test_hocr_pages_keep_their_document_index(hocr_root: etree._Element) -> None:
    pages = by_class(hocr_root, "ocr_page")
    assert [p.get("id") for p in pages] == ["page_1", "page_4", "page_6"]
    assert [p.get("title") for p in pages] == [
        "bbox 0 0 1000 1400; ppageno 0; scan_res 300 300",
        "bbox 0 0 800 600; ppageno 3; scan_res 150 150",
        "bbox 0 0 800 600; ppageno 5; scan_res 150 150",
    ]
    assert len(pages[2]) == 0


def test_hocr_blocks_map_to_the_spec_classes(hocr_root: etree._Element) -> None:
    first = by_class(hocr_root, "ocr_page")[0]
    assert [(b.tag, b.get("class"), b.get("id")) for b in first] == [
        (f"{XHTML}div", "ocr_header", "block_1_1"),
        (f"{XHTML}div", "ocr_carea", "block_1_2"),
        (f"{XHTML}div", "ocr_carea", "block_1_3"),
        (f"{XHTML}div", "ocr_carea", "block_1_4"),
        (f"{XHTML}div", "ocr_photo", "block_1_5"),
        (f"{XHTML}div", "ocr_footer", "block_1_6"),
    ]
    assert hocr_box(first[3]) == (90, 390, 700, 490)
    assert len(first[4]) == 0  # a figure has no text
    table_lines = [
        " ".join(w.text for w in line.iterfind(f"{XHTML}span"))
        for line in by_class(first[3], "ocr_line")
    ]
    assert table_lines == ["Name", "Value", "foo bar"]


def test_hocr_nesting_and_languages(hocr_root: etree._Element) -> None:
    for w in by_class(hocr_root, "ocrx_word"):
        assert w.getparent().get("class") == "ocr_line"
    for ln in by_class(hocr_root, "ocr_line"):
        assert ln.getparent().get("class") == "ocr_par"
        assert ln.getparent().tag == f"{XHTML}p"
    blocks = {"ocr_carea", "ocr_header", "ocr_footer", "ocr_photo"}
    for par in by_class(hocr_root, "ocr_par"):
        assert par.getparent().get("class") in blocks
    for block in hocr_root.iterfind(f".//{XHTML}div"):
        if block.get("class") in blocks:
            assert block.getparent().get("class") == "ocr_page"
    langs = [(p.get("id"), p.get("lang")) for p in by_class(hocr_root, "ocr_par")]
    assert langs[0] == ("par_1_1", "en")
    assert langs[-1] == ("par_4_1", "fr")


def test_hocr_words_carry_box_and_confidence(hocr_root: etree._Element) -> None:
    words = {w.get("id"): w for w in by_class(hocr_root, "ocrx_word")}
    assert words["word_1_3_1_1"].text == "a<b"
    assert words["word_1_3_1_1"].get("title") == "bbox 100 200 180 230; x_wconf 88"
    assert words["word_1_3_1_2"].text == "&"
    assert words["word_1_3_1_2"].get("title") == "bbox 190 200 210 230; x_wconf 50"
    assert words["word_1_3_2_1"].text == '"quoted"'
    assert words["word_1_3_2_1"].get("title") == "bbox 100 240 260 270; x_wconf 100"
    assert words["word_1_3_2_2"].get("title").endswith("; x_wconf 0")
    assert words["word_4_1_1_1"].text == "Bonjour"
    assert words["word_1_4_3_1"].text == "foo"  # the table's third non-empty cell
    for w in words.values():
        left, top, right, bottom = hocr_box(w)
        l_left, l_top, l_right, l_bottom = hocr_box(w.getparent())
        assert l_left <= left <= right <= l_right
        assert l_top <= top <= bottom <= l_bottom


def test_hocr_escapes_text_and_ids_are_unique(hocr_bytes: bytes, hocr_root: etree._Element) -> None:
    assert b">a&lt;b<" in hocr_bytes
    assert b">&amp;<" in hocr_bytes
    assert b"report &amp; co.pdf" in hocr_bytes
    ids = [e.get("id") for e in hocr_root.iter() if e.get("id")]
    assert len(ids) == len(set(ids))
    assert len([i for i in ids if i.startswith("word_")]) == 15


def test_hocr_reads_as_html_too(hocr_bytes: bytes) -> None:
    """No non-void element is written self-closed: an HTML parser would leave it open."""
    assert not re.search(rb"<(?!meta\b)\w+[^<>]*/>", hocr_bytes)
    assert b'<div class="ocr_photo" id="block_1_5" title="bbox 100 600 900 1200"></div>' in (
        hocr_bytes
    )


def test_hocr_and_alto_are_deterministic(document: RenderedDocument) -> None:
    assert render(hocr.write, document) == render(hocr.write, document)
    assert render(alto.write, document) == render(alto.write, document)


@pytest.mark.parametrize(
    ("languages", "tag"),
    [
        ("eng+deu", "en"),
        ("deu", "de"),
        ("fra", "fr"),
        ("spa", "es"),
        ("ita", "it"),
        ("por", "pt"),
        ("nld", "nl"),
        ("chi_sim", "zh-Hans"),
        ("deu_latf", "deu-latf"),
        ("xyz", "xyz"),
        ("", "und"),
        ("script/Latin", "und"),
    ],
)
def test_language_tags(languages: str, tag: str) -> None:
    assert hocr.language_tag(languages) == tag


def test_characters_xml_cannot_carry_are_dropped() -> None:
    page = second_page()
    page.blocks[0].lines[0].words[0].text = "Bon\x0cjour\x00"
    document = RenderedDocument(pages=[page], path=Path("x.png"), kind="image")
    assert etree.fromstring(render(hocr.write, document)).xpath(
        "//*[@class='ocrx_word']/text()"
    ) == ["Bonjour", "monde"]
    strings = etree.fromstring(render(alto.write, document)).iter(f"{ALTO}String")
    assert [s.get("CONTENT") for s in strings] == ["Bonjour", "monde"]


# ALTO


@pytest.fixture
def alto_bytes(document: RenderedDocument) -> bytes:
    return render(alto.write, document)


@pytest.fixture
def alto_root(alto_bytes: bytes) -> etree._Element:
    return etree.fromstring(alto_bytes)


def local(element: etree._Element) -> str:
    return etree.QName(element).localname


def alto_box(element: etree._Element) -> tuple[float, float, float, float]:
    left, top = float(element.get("HPOS")), float(element.get("VPOS"))
    return left, top, left + float(element.get("WIDTH")), top + float(element.get("HEIGHT"))


def test_alto_root_and_description(alto_bytes: bytes, alto_root: etree._Element) -> None:
    assert alto_bytes.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<alto ')
    assert alto_root.tag == f"{ALTO}alto"
    namespace, schema = alto_root.get(f"{XSI}schemaLocation").split()
    assert namespace == "http://www.loc.gov/standards/alto/ns-v4#"
    assert schema == "http://www.loc.gov/standards/alto/v4/alto-4-2.xsd"
    assert [local(e) for e in alto_root] == ["Description", "Layout"]
    description = alto_root.find(f"{ALTO}Description")
    assert [local(e) for e in description] == [
        "MeasurementUnit",
        "sourceImageInformation",
        "OCRProcessing",
    ]
    assert description.findtext(f"{ALTO}MeasurementUnit") == "pixel"
    assert description.findtext(f"{ALTO}sourceImageInformation/{ALTO}fileName") == "report & co.pdf"
    software = description.find(f".//{ALTO}ocrProcessingStep/{ALTO}processingSoftware")
    assert software.findtext(f"{ALTO}softwareName") == "Tessera"


def test_alto_pages_and_their_spaces(alto_root: etree._Element) -> None:
    pages = alto_root.findall(f"{ALTO}Layout/{ALTO}Page")
    assert [(p.get("ID"), p.get("PHYSICAL_IMG_NR")) for p in pages] == [
        ("page_1", "1"),
        ("page_4", "4"),
        ("page_6", "6"),
    ]
    assert [(p.get("WIDTH"), p.get("HEIGHT")) for p in pages] == [
        ("1000", "1400"),
        ("800", "600"),
        ("800", "600"),
    ]
    for page in pages:
        order = [local(e) for e in page]
        assert order == sorted(order, key=PAGE_SPACES.index)
        assert len(order) == len(set(order))
        # The bands cover the page, full width, top to bottom without a gap.
        bottom = 0.0
        for space in sorted(page, key=lambda e: float(e.get("VPOS"))):
            assert alto_box(space) == (0, bottom, float(page.get("WIDTH")), alto_box(space)[3])
            bottom = alto_box(space)[3]
        assert bottom == float(page.get("HEIGHT"))
    first = pages[0]
    assert [local(e) for e in first] == ["TopMargin", "BottomMargin", "PrintSpace"]
    assert alto_box(first[0]) == (0, 0, 1000, 50)
    assert alto_box(first[2]) == (0, 50, 1000, 1350)
    assert [b.get("ID") for b in first[0]] == ["block_1_1"]
    assert [b.get("ID") for b in first[1]] == ["block_1_6"]
    assert [(local(b), b.get("ID")) for b in first[2]] == [
        ("TextBlock", "block_1_2"),
        ("TextBlock", "block_1_3"),
        ("ComposedBlock", "block_1_4"),
        ("Illustration", "block_1_5"),
    ]
    assert [local(e) for e in pages[1]] == ["PrintSpace"]
    assert alto_box(pages[2][0]) == (0, 0, 800, 600)
    assert len(pages[2][0]) == 0


def test_alto_table_is_a_composed_block_of_cells(alto_root: etree._Element) -> None:
    table = alto_root.find(f".//{ALTO}ComposedBlock")
    assert table.get("TYPE") == "table"
    assert alto_box(table) == (90, 390, 700, 490)
    cells = [
        [[s.get("CONTENT") for s in ln.iter(f"{ALTO}String")] for ln in cell] for cell in table
    ]
    assert all(local(cell) == "TextBlock" for cell in table)
    assert cells == [[["Name"]], [["Value"]], [["foo", "bar"]]]
    assert [cell.get("ID") for cell in table] == ["block_1_4_1", "block_1_4_2", "block_1_4_3"]
    assert alto_box(table[2]) == (100, 450, 230, 480)


def test_alto_required_attributes_and_unique_ids(alto_root: etree._Element) -> None:
    required = {
        "Page": {"ID", "PHYSICAL_IMG_NR", "WIDTH", "HEIGHT"},
        "TextBlock": {"ID", "HPOS", "VPOS", "WIDTH", "HEIGHT", "LANG"},
        "ComposedBlock": {"ID", "HPOS", "VPOS", "WIDTH", "HEIGHT", "TYPE"},
        "Illustration": {"ID", "HPOS", "VPOS", "WIDTH", "HEIGHT"},
        "TextLine": {"ID", "HPOS", "VPOS", "WIDTH", "HEIGHT"},
        "String": {"ID", "CONTENT", "HPOS", "VPOS", "WIDTH", "HEIGHT", "WC"},
        "SP": {"WIDTH", "HPOS", "VPOS"},
    }
    counts = dict.fromkeys(required, 0)
    for element in alto_root.iter(f"{ALTO}*"):
        name = local(element)
        if name in required:
            counts[name] += 1
            assert required[name] <= set(element.keys()), (name, element.keys())
    assert counts == {
        "Page": 3,
        "TextBlock": 8,
        "ComposedBlock": 1,
        "Illustration": 1,
        "TextLine": 9,
        "String": 15,
        "SP": 6,
    }
    ids = [e.get("ID") for e in alto_root.iter() if e.get("ID")]
    assert len(ids) == len(set(ids))
    langs = {b.get("ID"): b.get("LANG") for b in alto_root.iter(f"{ALTO}TextBlock")}
    assert all(LANGUAGE_TAG.fullmatch(lang) for lang in langs.values())
    assert langs["block_1_2"] == "en"
    assert langs["block_4_1"] == "fr"


def test_alto_lines_hold_strings_with_spaces_between(alto_root: etree._Element) -> None:
    for block in alto_root.iter(f"{ALTO}TextBlock"):
        assert {local(e) for e in block} == {"TextLine"}
    for text_line in alto_root.iter(f"{ALTO}TextLine"):
        names = [local(e) for e in text_line]
        assert names == ["String", "SP"] * (len(names) // 2) + ["String"]
        line_left, line_top, line_right, line_bottom = alto_box(text_line)
        for string in text_line.iter(f"{ALTO}String"):
            left, top, right, bottom = alto_box(string)
            assert line_left <= left <= right <= line_right
            assert line_top <= top <= bottom <= line_bottom
            assert 0 <= float(string.get("WC")) <= 1


def test_alto_strings_carry_content_box_and_confidence(
    alto_bytes: bytes, alto_root: etree._Element
) -> None:
    strings = {s.get("ID"): s for s in alto_root.iter(f"{ALTO}String")}
    first = strings["word_1_3_1_1"]
    assert first.get("CONTENT") == "a<b"
    assert alto_box(first) == (100, 200, 180, 230)
    assert first.get("WC") == "0.8765"
    assert strings["word_1_3_1_2"].get("CONTENT") == "&"
    assert strings["word_1_3_2_1"].get("CONTENT") == '"quoted"'
    assert strings["word_1_3_2_1"].get("WC") == "1"
    assert strings["word_1_3_2_2"].get("WC") == "0"
    assert b'CONTENT="a&lt;b"' in alto_bytes
    assert b'CONTENT="&quot;quoted&quot;"' in alto_bytes
    space = first.getnext()
    assert local(space) == "SP"
    assert (space.get("HPOS"), space.get("VPOS"), space.get("WIDTH")) == ("180", "200", "10")
    assert strings["word_1_2_1_1"].get("CONTENT") == "Große"


def test_a_stored_result_round_trips_and_an_old_one_is_refused_clearly() -> None:
    page = first_page()
    page.rotation, page.skew, page.to_source = 90, 1.5, (0.0, -1.0, 100.0, 1.0, 0.0, 0.0)
    result = DocumentResult([page], 1234, [PageWarning(3, "page_timeout", "slow")], "pdf")
    again = DocumentResult.from_stored(result.to_stored())
    assert again.to_dict() == result.to_dict()
    assert [w.text for w in again.pages[0].words] == [w.text for w in page.words]
    assert again.pages[0].map_to_source(10, 20) == page.map_to_source(10, 20)
    # Before the page model, ranges kept Mistral page objects.
    old = '{"pages": [{"index": 0, "markdown": "x"}], "document_size": 1, "warnings": []}'
    with pytest.raises(InternalError, match="older version"):
        DocumentResult.from_stored(old)
