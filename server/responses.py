"""The shapes of the service's JSON answers, as pydantic models.

`server.openapi` publishes their JSON Schema as the document's response schemas, and the
OpenAPI tests check real answers against that document, so a shape that changes in `wire`,
`Job.public` or the OCR core's `page_json` without changing here fails a test. The answers
are still written as plain dicts (a 300-page result is not built object by object); every
model allows fields beyond those it names, so a field added later is not a break.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, RootModel, WithJsonSchema

from ocr_engine import render


class _Answer(BaseModel):
    model_config = ConfigDict(extra="allow")


Score = Annotated[float, Field(ge=0, le=1)]
Timestamp = Annotated[
    str,
    WithJsonSchema(
        {
            "type": "string",
            "format": "date-time",
            "pattern": "Z$",
            "description": "RFC 3339 in UTC, with a Z.",
        }
    ),
]
OutputFormat = Annotated[str, WithJsonSchema({"enum": list(render.NAMES)})]


# -- errors -----------------------------------------------------------------------------------


class BifrostErrorDetail(_Answer):
    type: str
    code: str
    message: Annotated[str, Field(min_length=1)]
    param: str | None


class BifrostExtraFields(_Answer):
    provider: str
    request_type: str
    model_requested: str | None = None


class BifrostError(_Answer):
    """Bifrost's error shape, on every error of every route."""

    is_bifrost_error: bool
    status_code: Annotated[int, Field(ge=400, le=599)]
    error: BifrostErrorDetail
    extra_fields: BifrostExtraFields


# -- a page -----------------------------------------------------------------------------------


class _Boxed(_Answer):
    """Integer pixel corners in the page image."""

    top_left_x: int
    top_left_y: int
    bottom_right_x: int
    bottom_right_y: int


class PageImage(_Boxed):
    """An image on the page; `image_base64` only when requested."""

    id: str
    image_base64: str | None = None


class PageTable(_Answer):
    id: str
    content: str
    format: Literal["markdown", "html"]


class PageDimensions(_Answer):
    dpi: int
    height: int
    width: int


class WordConfidence(_Answer):
    text: str
    confidence: Score
    start_index: Annotated[int, Field(ge=0)]


class PageConfidence(_Answer):
    average_page_confidence_score: Score
    minimum_page_confidence_score: Score
    word_confidence_scores: list[WordConfidence] | None = None


class BlockConfidence(_Answer):
    average_content_confidence_score: Score | None = None
    minimum_content_confidence_score: Score | None = None


class Block(_Boxed):
    """A typed layout block: text, title, list, table, image, header, footer, ..."""

    type: str
    content: str | None = None
    table_id: str | None = None
    image_id: str | None = None
    confidence_scores: BlockConfidence | None = None


class Page(_Answer):
    index: Annotated[int, Field(ge=0)]
    markdown: str
    images: list[PageImage]
    tables: list[PageTable] | None = None
    header: str | None = None
    footer: str | None = None
    dimensions: PageDimensions
    confidence_scores: PageConfidence | None = None
    blocks: list[Block] | None = None
    source: str | None = Field(None, description="How the text was read: ocr or text_layer.")


# -- results and output files -----------------------------------------------------------------


class UsageInfo(_Answer):
    pages_processed: int
    doc_size_bytes: int | None = None


class OCRExtraFields(_Answer):
    request_type: str | None = None
    provider: str | None = None
    model_requested: str | None = None
    latency: int | None = Field(None, description="milliseconds")


class OutputInline(_Answer):
    """A file of a synchronous answer, in base64 (or `error` if it failed)."""

    format: OutputFormat
    content_type: str | None = None
    bytes: int | None = None
    data: Annotated[str | None, WithJsonSchema({"type": "string", "contentEncoding": "base64"})] = (
        None
    )
    error: BifrostErrorDetail | None = None


class OCRResponse(_Answer):
    """Mistral's OCR response."""

    model: str
    pages: list[Page]
    usage_info: UsageInfo
    document_annotation: str | None = None
    extra_fields: OCRExtraFields | None = None
    outputs: list[OutputInline] | None = Field(
        None, description="Only when `output_formats` asked for files: each file inline."
    )


class OutputWritten(_Answer):
    """A file written beside the result; `url` is relative to the service."""

    format: OutputFormat
    url: str
    content_type: str
    bytes: int


class OutputFailed(_Answer):
    """A file that could not be written (the rest of the job is complete)."""

    format: OutputFormat
    error: BifrostErrorDetail


# -- async jobs -------------------------------------------------------------------------------


class JobCreated(_Answer):
    """A job just accepted."""

    id: str
    status: Literal["pending"]
    created_at: Timestamp


class JobRunning(_Answer):
    """A job not finished yet; progress once it is known."""

    id: str
    status: Literal["pending", "processing"]
    created_at: Timestamp
    pages_done: int | None = None
    pages_total: int | None = None


class _JobFinished(_Answer):
    id: str
    created_at: Timestamp
    completed_at: Timestamp
    expires_at: Timestamp
    status_code: int


class JobCompleted(_JobFinished):
    """A job that produced its result."""

    status: Literal["completed"]
    result: OCRResponse
    outputs: list[OutputWritten | OutputFailed] | None = Field(
        None, description="The files `output_formats` asked for."
    )


class JobFailed(_JobFinished):
    """A failed or cancelled job; `status_code` is the HTTP status it would have had (499
    when cancelled)."""

    status: Literal["failed"]
    error: BifrostError


class JobFinished(RootModel[Annotated[JobCompleted | JobFailed, Field(discriminator="status")]]):
    """A finished job: completed or failed, as its `status` says."""


# -- the service ------------------------------------------------------------------------------


class Model(_Answer):
    id: str
    object: Literal["model"]
    owned_by: str


class ModelList(_Answer):
    object: Literal["list"]
    data: list[Model]


class Health(_Answer):
    status: str
    backend: str | None = None
    workers: int | None = None
    auth: bool | None = Field(None, description="Whether keys are required.")


class Ready(_Answer):
    status: Literal["ready"]
    workers: int | None = None
    workers_alive: int | None = None
    store_ms: float | None = None
    free_mb: int | None = None


# -- files and batches ------------------------------------------------------------------------


class FileObject(_Answer):
    """An uploaded file (or a batch's output), as Mistral's Files API shows it."""

    id: str
    object: Literal["file"]
    bytes: int
    created_at: int = Field(description="Seconds since the epoch.")
    filename: str
    purpose: Literal["ocr", "batch"]
    sample_type: str = Field(description="ocr_input, batch_request, batch_result, batch_error.")
    source: Literal["upload", "mistral"] = Field(
        description="upload: sent by a client; mistral: written by the service."
    )
    num_lines: int | None = None
    mimetype: str | None = None
    signature: None = None
    expires_at: int | None = None
    visibility: str | None = None


class FileShown(FileObject):
    deleted: bool


class FileList(_Answer):
    data: list[FileObject]
    object: Literal["list"]
    total: int


class FileDeleted(_Answer):
    id: str
    object: Literal["file"]
    deleted: bool


class SignedURL(_Answer):
    url: str = Field(description="Serves the file without a key until it expires.")


# A batch's states, as Mistral's SDK names them; `server.batch` moves batches through them.
BatchStatus = Literal[
    "QUEUED",
    "RUNNING",
    "SUCCESS",
    "FAILED",
    "TIMEOUT_EXCEEDED",
    "CANCELLATION_REQUESTED",
    "CANCELLED",
]


class BatchErrorCount(_Answer):
    message: str
    count: int = 1


class BatchJob(_Answer):
    """A batch, as Mistral's Batch API shows it."""

    id: str
    object: Literal["batch"]
    input_files: list[str]
    metadata: dict[str, str] | None = None
    endpoint: str
    model: str | None = None
    agent_id: None = None
    output_file: str | None = None
    error_file: str | None = None
    errors: list[BatchErrorCount]
    outputs: None = None
    status: BatchStatus
    created_at: int
    total_requests: int
    completed_requests: int
    succeeded_requests: int
    failed_requests: int
    started_at: int | None = None
    completed_at: int | None = None


class BatchJobList(_Answer):
    data: list[BatchJob]
    object: Literal["list"]
    total: int
