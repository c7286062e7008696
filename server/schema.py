"""The request body both endpoints take (Mistral's OCR request), and its validation.

Unknown fields are ignored, since gateways add their own; known fields of the wrong type,
a missing document and annotation requests answer 400 before any job exists.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    WithJsonSchema,
    field_validator,
)

from ocr_engine import render
from ocr_engine.errors import InvalidRequest, UnsupportedOption
from ocr_engine.options import OCROptions, PageOptions, parse_pages

# How a stored request names an uploaded file in place of a URL.
FILE_SCHEME = "tessera-file:"
MAX_CUSTOM_ID = 256  # characters: the caller's name for a request of a batch
MAX_INPUT_FILES = 100  # JSONL files one batch reads
# No page holds this many figures or a figure this many pixels wide: a larger count or size
# means the same, and is clamped to it before the engine does arithmetic in floats with it.
MAX_IMAGE_NUMBER = 2**31 - 1


def file_document(file_id: str, name: str | None = None) -> dict[str, Any]:
    """A stored request's document that is an uploaded file, however the request named it."""
    document: dict[str, Any] = {"type": "file", "file_id": file_id}
    if name is not None:
        document["document_name"] = name
    return document


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)


_Model = TypeVar("_Model", bound=BaseModel)


class ImageURL(_Lenient):
    url: str
    detail: str | None = None


class DocumentSpec(_Lenient):
    type: Literal["document_url", "image_url", "file"]
    document_url: str | None = None
    image_url: str | ImageURL | None = None
    # A file uploaded through the Files API (`type: "file"`).
    file_id: str | None = Field(None, max_length=64)
    document_name: str | None = Field(None, max_length=1024)

    @property
    def is_file(self) -> bool:
        return self.type == "file"

    @property
    def url(self) -> str:
        """The document's URL, whichever field holds it; for an uploaded file, its id as a
        `file:` reference (resolved by `server.files`, never fetched)."""
        if self.type == "file":
            if not self.file_id:
                raise InvalidRequest(
                    "A 'file' document needs 'document.file_id'.", param="document.file_id"
                )
            return f"{FILE_SCHEME}{self.file_id}"
        if self.type == "document_url":
            if not self.document_url:
                raise InvalidRequest(
                    "A 'document_url' document needs 'document.document_url'.",
                    param="document.document_url",
                )
            return self.document_url
        value = self.image_url.url if isinstance(self.image_url, ImageURL) else self.image_url
        if not value:
            raise InvalidRequest(
                "An 'image_url' document needs 'document.image_url'.", param="document.image_url"
            )
        return value

    @property
    def url_param(self) -> str:
        return "document.file_id" if self.type == "file" else f"document.{self.type}"


class OCRRequestBody(_Lenient):
    model: str = Field(max_length=256)  # echoed in answers and errors: kept short
    id: str | None = None
    document: DocumentSpec
    pages: list[int] | str | None = None
    include_image_base64: bool | None = None
    image_limit: int | None = Field(None, ge=1)
    image_min_size: int | None = Field(None, ge=1)
    table_format: Literal["markdown", "html"] | None = None
    extract_header: bool | None = None
    extract_footer: bool | None = None
    confidence_scores_granularity: Literal["page", "word", "block"] | None = None
    include_blocks: bool | None = None
    ocr_mode: Literal["auto", "force", "text_layer"] | None = None
    # Tessera's own: files written beside the JSON result (a searchable PDF, hOCR, ALTO, text).
    output_formats: list[Annotated[str, WithJsonSchema({"enum": list(render.NAMES)})]] | None = (
        Field(
            None,
            max_length=len(render.NAMES),
            description="Tessera's own: files to write beside the JSON result.",
        )
    )
    # Tessera's own: pictures of the pages as read, kept with an async job for its TTL.
    page_images: bool | None = Field(
        None,
        description="Tessera's own: keep a picture of each page as read (upright and "
        "straightened, so the blocks' boxes lie on it) for an async job's TTL, served at "
        "/v1/async/ocr/{job_id}/pages/{index}/image. Ignored by /v1/ocr.",
    )
    fallbacks: Any = None
    bbox_annotation_format: Any = None
    document_annotation_format: Any = None
    document_annotation_prompt: Any = None

    def stored(self) -> dict[str, Any]:
        """The request as a job keeps it: without the document's URL (the caller stores its
        bytes or its address) and without the fields that are ignored or refused."""
        stored = self.model_dump(
            exclude_none=True,
            exclude={
                "fallbacks": True,
                **dict.fromkeys(_ANNOTATIONS, True),
                "document": {"document_url", "image_url"},
            },
        )
        if not self.document.is_file:
            stored["document"][self.document.type] = self.document.url
        return stored

    @field_validator("image_limit", "image_min_size")
    @classmethod
    def _clamped(cls, value: int | None) -> int | None:
        return None if value is None else min(value, MAX_IMAGE_NUMBER)

    @field_validator("output_formats")
    @classmethod
    def _known_formats(cls, value: list[str] | None) -> list[str] | None:
        for name in value or ():
            if name not in render.FORMATS:
                known = ", ".join(render.NAMES)
                raise ValueError(f"names {name!r}, which is not an output format ({known})")
        return value

    @property
    def formats(self) -> tuple[str, ...]:
        """The output formats asked for, each once, in the order asked."""
        return tuple(dict.fromkeys(self.output_formats or ()))

    def options(self, languages: str) -> OCROptions:
        """The OCR core's options for this request."""
        return OCROptions(
            languages=languages,
            pages=parse_pages(self.pages),
            page=PageOptions(
                confidence=self.confidence_scores_granularity,
                # Block scores live on the blocks, so asking for them brings the blocks.
                include_blocks=bool(self.include_blocks)
                or self.confidence_scores_granularity == "block",
                include_image_base64=bool(self.include_image_base64),
                image_limit=self.image_limit,
                image_min_size=self.image_min_size,
                table_format=self.table_format,
                extract_header=bool(self.extract_header),
                extract_footer=bool(self.extract_footer),
                mode=self.ocr_mode or "auto",
            ),
        )


_UNION_TAGS = {"str", "int", "bool", "ImageURL"}
_ANNOTATIONS = (
    "bbox_annotation_format",
    "document_annotation_format",
    "document_annotation_prompt",
)


def _param(loc: tuple[int | str, ...]) -> str | None:
    # For unions pydantic names the member it tried ("pages.list[int].0"); drop those. A
    # client's own key (metadata's) is named by its start, not echoed whole.
    return (
        ".".join(
            _shortened(str(p))
            for p in loc
            if not (isinstance(p, str) and (p in _UNION_TAGS or "[" in p))
        )
        or None
    )


def _shortened(name: str, most: int = 64) -> str:
    return name if len(name) <= most else name[: most - 3] + "..."


def _invalid(e: ValidationError) -> InvalidRequest:
    # A union reports one error per member it tried; the deepest is the one that got
    # furthest into what the client sent ("document.image_url.detail", not
    # "document.image_url is not a string").
    located = [(_param(error["loc"]), error) for error in e.errors(include_url=False)]
    param, first = max(located, key=lambda pair: 0 if pair[0] is None else pair[0].count(".") + 1)
    if first["type"] == "missing":
        what = "is required"
    elif first["type"] == "value_error":
        what = str(first["ctx"]["error"])  # our own validator's words, as written
    else:
        what = first["msg"].lower()
    return InvalidRequest(f"'{param}' {what}.", param=param)


def parse_request(body: Any) -> OCRRequestBody:
    """Validate a decoded JSON body; InvalidRequest names the first offending field."""
    if not isinstance(body, dict):
        raise InvalidRequest("The request body must be a JSON object.")
    try:
        request = OCRRequestBody.model_validate(body)
    except ValidationError as e:
        raise _invalid(e) from None
    for name in _ANNOTATIONS:
        if getattr(request, name) is not None:
            raise UnsupportedOption(
                f"'{name}' asks for LLM annotations, which are not supported by this provider "
                "(Tessera runs Tesseract only).",
                param=name,
            )
    _ = request.document.url  # a document type without its URL is a 400 now, not later
    parse_pages(request.pages)
    return request


# -- the Batch and Files APIs ------------------------------------------------------------------


class BatchRequestItem(_Lenient):
    """One inline request of a batch: an OCR request's body, and the caller's name for it."""

    custom_id: str | None = Field(None, max_length=MAX_CUSTOM_ID)
    body: dict[str, Any]


# A batch's metadata is returned with every listing of it: labels, not a store of data.
MAX_METADATA_KEYS = 64


class BatchRequestBody(_Lenient):
    """Mistral's batch create (`client.batch.jobs.create`), for `/v1/ocr`."""

    endpoint: str = Field(description="Only `/v1/ocr` is served.")
    input_files: list[Annotated[str, Field(max_length=64)]] | None = Field(
        None,
        max_length=MAX_INPUT_FILES,
        description="JSONL files uploaded with the purpose `batch`, one request a line.",
    )
    requests: list[BatchRequestItem] | None = Field(
        None, max_length=10_000, description="Inline requests, instead of input files."
    )
    model: str | None = Field(
        None, max_length=256, description="The model of requests whose body names none."
    )
    metadata: (
        dict[Annotated[str, Field(max_length=256)], Annotated[str, Field(max_length=4096)]] | None
    ) = Field(
        None,
        max_length=MAX_METADATA_KEYS,
        description=f"Your labels, returned with the batch: at most {MAX_METADATA_KEYS} keys of "
        "256 characters, values of 4,096.",
    )
    timeout_hours: int = Field(24, ge=1, le=168)
    agent_id: Any = None


class FileUpload(BaseModel):
    """The form of `POST /v1/files` (multipart/form-data)."""

    file: bytes = Field(description="The file's bytes, with its name in the part's header.")
    purpose: Literal["ocr", "batch"] = "ocr"
    expiry: int | None = Field(None, ge=1, description="Hours to keep the file.")


def validated(model: type[_Model], body: Any) -> _Model:
    """`body` validated as `model`; InvalidRequest names the first offending field."""
    if not isinstance(body, dict):
        raise InvalidRequest("The request body must be a JSON object.")
    try:
        return model.model_validate(body)
    except ValidationError as e:
        raise _invalid(e) from None
