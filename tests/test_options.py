"""Page selections, request validation and model names: the pure parts of a request."""

from __future__ import annotations

import pytest

from ocr_engine.errors import DocumentTooLarge, InvalidRequest, UnsupportedOption
from ocr_engine.languages import model_ids, resolve_model
from ocr_engine.options import PageSelection, parse_pages, select_pages
from server.schema import parse_request

INSTALLED = ["deu", "eng", "fra"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ([2, 0, 2], (0, 2)),
        ("0,2-4", (0, 2, 3, 4)),
        (" 3 , 1 ", (1, 3)),
        ("5-5", (5,)),
    ],
)
def test_parse_pages(value: object, expected: object) -> None:
    selection = parse_pages(value)  # type: ignore[arg-type]
    assert (tuple(selection) if selection is not None else None) == expected


@pytest.mark.parametrize(
    "value",
    [
        [-1],
        "1,-2",
        "a",
        "4-2",
        "",
        [],
        "0-9999999",
        [10**30],
        "1" * 40,
        "٣",
        "²",
        ",".join(["0"] * 20_000),
    ],
)
def test_bad_page_selections(value: object) -> None:
    with pytest.raises(InvalidRequest):
        parse_pages(value)  # type: ignore[arg-type]


def test_select_pages_checks_range_and_limit() -> None:
    assert select_pages(None, 3, max_pages=10) == [0, 1, 2]
    assert select_pages(PageSelection.of([1]), 3, max_pages=10) == [1]
    with pytest.raises(InvalidRequest, match="has 3 page"):
        select_pages(PageSelection.of([3]), 3, max_pages=10)
    with pytest.raises(DocumentTooLarge):
        select_pages(None, 11, max_pages=10)
    with pytest.raises(InvalidRequest):
        select_pages(None, 0, max_pages=10)


def test_overlapping_ranges_cost_nothing() -> None:
    """300 copies of the widest range are one range: counted and refused without a list."""
    wide = ",".join(["0-999999"] * 300)
    selection = parse_pages(wide)
    assert selection is not None and selection.ranges == ((0, 1_000_000),)
    assert len(selection) == 1_000_000
    with pytest.raises(InvalidRequest, match="Page 5 does not exist"):
        select_pages(selection, 5, max_pages=1000)
    with pytest.raises(DocumentTooLarge, match="selects 1000000 pages"):
        select_pages(selection, 2_000_000, max_pages=1000)
    assert select_pages(parse_pages("3-4,0,2-3"), 10, max_pages=10) == [0, 2, 3, 4]


@pytest.mark.parametrize(
    ("model", "languages"),
    [
        ("tesseract", "eng"),
        ("tesseract/eng", "eng"),
        ("tesseract-eng+deu", "eng+deu"),
        ("deu+fra", "deu+fra"),
        ("mistral/mistral-ocr-latest", "eng"),
        ("mistral-ocr-latest", "eng"),
        ("custom/tesseract", "eng"),
        # Each language once, in the order first asked for: "eng+eng+eng" is no model of
        # its own to load a Tesseract for.
        ("tesseract-eng+eng", "eng"),
        ("deu+eng+deu+eng", "deu+eng"),
    ],
)
def test_resolve_model(model: str, languages: str) -> None:
    aliases = {"mistral-ocr-latest": "tesseract"}
    assert resolve_model(model, default="eng", aliases=aliases, installed=INSTALLED) == languages


def test_unknown_language_names_the_installed_ones() -> None:
    with pytest.raises(InvalidRequest) as e:
        resolve_model("tesseract-klingon", default="eng", aliases={}, installed=INSTALLED)
    assert "klingon" in e.value.message
    assert "deu, eng, fra" in e.value.message
    assert e.value.param == "model"


def test_model_ids() -> None:
    assert model_ids(["eng"], {"mistral-ocr-latest": "tesseract"}) == [
        "tesseract",
        "tesseract-eng",
        "mistral-ocr-latest",
    ]


def _body(**fields: object) -> dict[str, object]:
    return {
        "model": "tesseract",
        "document": {"type": "document_url", "document_url": "data:x;base64,AAAA"},
        **fields,
    }


def test_accepts_the_full_request_and_ignores_unknown_fields() -> None:
    request = parse_request(
        _body(
            id="r1",
            pages="0-1",
            include_image_base64=True,
            image_limit=3,
            image_min_size=10,
            table_format="html",
            extract_header=True,
            extract_footer=False,
            confidence_scores_granularity="word",
            include_blocks=True,
            fallbacks=["x"],
            gateway_trace={"anything": 1},
        )
    )
    options = request.options("eng")
    assert options.pages is not None and tuple(options.pages) == (0, 1)
    assert options.page.confidence == "word"
    assert options.page.include_blocks and options.page.extract_header
    assert options.page.table_format == "html"


def test_image_url_as_string_or_object() -> None:
    as_string = parse_request(
        {"model": "m", "document": {"type": "image_url", "image_url": "https://h/a.png"}}
    )
    as_object = parse_request(
        {
            "model": "m",
            "document": {
                "type": "image_url",
                "image_url": {"url": "https://h/a.png", "detail": "auto"},
            },
        }
    )
    assert as_string.document.url == as_object.document.url == "https://h/a.png"


def test_nulls_are_absent_values() -> None:
    request = parse_request(
        _body(
            pages=None,
            include_blocks=None,
            table_format=None,
            confidence_scores_granularity=None,
            image_limit=None,
        )
    )
    assert request.options("eng").pages is None


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"document": {"type": "document_url", "document_url": "u"}}, "model"),
        ({"model": "m"}, "document"),
        ({"model": "m", "document": {"document_url": "u"}}, "document.type"),
        ({"model": "m", "document": {"type": "pdf", "document_url": "u"}}, "document.type"),
        ({"model": "m", "document": {"type": "document_url"}}, "document.document_url"),
        (
            {"model": "m", "document": {"type": "image_url", "document_url": "u"}},
            "document.image_url",
        ),
        ({"model": 7, "document": {"type": "document_url", "document_url": "u"}}, "model"),
        (_body(pages=[0, -1]), "pages"),
        (_body(pages={"from": 1}), "pages"),
        (_body(include_blocks="yes"), "include_blocks"),
        (_body(image_limit=0), "image_limit"),
        (_body(image_min_size=-5), "image_min_size"),
        (_body(table_format="csv"), "table_format"),
        (_body(confidence_scores_granularity="char"), "confidence_scores_granularity"),
    ],
)
def test_invalid_requests_name_the_field(body: dict[str, object], param: str) -> None:
    with pytest.raises(InvalidRequest) as e:
        parse_request(body)
    assert e.value.status == 400
    assert e.value.param == param


@pytest.mark.parametrize(
    "field", ["bbox_annotation_format", "document_annotation_format", "document_annotation_prompt"]
)
def test_annotations_are_not_supported(field: str) -> None:
    with pytest.raises(UnsupportedOption, match="not supported by this provider"):
        parse_request(_body(**{field: {"type": "json_schema"}}))


def test_body_must_be_an_object() -> None:
    with pytest.raises(InvalidRequest):
        parse_request([1, 2])
