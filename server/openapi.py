"""The service's own OpenAPI document, served at /openapi.json.

Built once from code. Every schema is a pydantic model's own JSON Schema: the request body is
the model that validates it (`server.schema`), the answers are the models of
`server.responses`, so the document cannot drift from the code. Written here by hand are only
what no model knows: each route's summary, parameters and which errors it may answer, one
`Route` per operation in `ROUTES`. OpenAPI 3.1, because its schemas are JSON Schema 2020-12,
which is what pydantic emits.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from ocr_engine import render

from . import __version__
from .batch import STATUSES as BATCH_STATUSES
from .responses import (
    BatchJob,
    BatchJobList,
    BifrostError,
    FileDeleted,
    FileList,
    FileObject,
    FileShown,
    Health,
    JobCreated,
    JobFinished,
    JobRunning,
    ModelList,
    OCRResponse,
    Ready,
    SignedURL,
)
from .routes import IDEMPOTENCY_HEADER, TTL_HEADER, WEBHOOK_HEADER
from .schema import BatchRequestBody, FileUpload, OCRRequestBody

routes = web.RouteTableDef()

Schema = dict[str, Any]

_SCHEMAS = "#/components/schemas/"
_JSON = "application/json"
_ERRORS = {
    400: "Invalid request: a missing or mistyped field, bad base64, an unknown language, "
    "a page that does not exist, a URL that could not be fetched, annotation fields.",
    401: "Keys are configured and the request has none, or an unknown one.",
    404: "Unknown, expired or another key's job; or an output file or page picture the job "
    "does not have.",
    413: "Document, request body or page count past the limits.",
    415: "Neither a PDF nor a supported image; or a request body in a Content-Encoding other "
    "than gzip or deflate.",
    422: "Read but not processable: encrypted PDF, damaged file, a page that failed.",
    429: "Too much work at once; `Retry-After` says when to retry.",
    500: "A fault of Tessera's own (logged).",
    503: "Shutting down or not ready; retry shortly.",
    507: "The data directory's disk (or the database's) is full; nothing of the request was kept.",
}
_REQUEST_DESCRIPTION = (
    "Mistral's OCR request. Unknown fields are ignored; annotation fields answer 400."
)


@dataclass(frozen=True)
class Answer:
    """A successful answer of a route: a JSON body of `model`, or other `media` types."""

    description: str
    model: type[BaseModel] | None = None
    media: dict[str, Schema] = field(default_factory=dict)
    retry_after: bool = False  # may carry a Retry-After header


@dataclass(frozen=True)
class Route:
    """One operation as the document describes it."""

    method: str
    path: str
    operation_id: str
    summary: str
    tag: str
    answers: dict[int, Answer]
    errors: tuple[int, ...]
    body: type[BaseModel] | None = None
    form: type[BaseModel] | None = None  # a multipart/form-data body
    parameters: tuple[Schema, ...] = ()
    public: bool = False  # answered without a key


# -- parameters -------------------------------------------------------------------------------


def _header(name: str, description: str, schema: Schema) -> Schema:
    return {
        "name": name,
        "in": "header",
        "required": False,
        "description": description,
        "schema": schema,
    }


_ASYNC_HEADERS = (
    _header(
        TTL_HEADER,
        "Seconds the finished job is kept (default 3600); a value that is missing, not a "
        "number, zero or negative means the default, and one above the maximum (a week by "
        "default) is clamped to it.",
        {"type": "integer"},
    ),
    _header(
        WEBHOOK_HEADER,
        "A configured webhook endpoint to notify when the job finishes; an unknown name "
        "answers 400.",
        {"type": "string"},
    ),
    _header(
        IDEMPOTENCY_HEADER,
        "A create that repeats a key its API key used before answers with the first job "
        "(`Idempotent-Replayed: true`); without the header, the body's `id` is the key.",
        {"type": "string", "maxLength": 255},
    ),
)
_JOB_ID: Schema = {
    "name": "job_id",
    "in": "path",
    "required": True,
    "schema": {"type": "string"},
    "description": "The id `POST /v1/async/ocr` answered.",
}
_WAIT: Schema = {
    "name": "wait",
    "in": "query",
    "required": False,
    "description": "A long poll: answer when the job ends or after this many seconds (at "
    "most 60 are waited).",
    "schema": {"type": "number", "minimum": 0},
}
_FORMAT: Schema = {
    "name": "format",
    "in": "path",
    "required": True,
    "schema": {"enum": list(render.NAMES)},
}
_PAGE_INDEX: Schema = {
    "name": "index",
    "in": "path",
    "required": True,
    "description": "The page's index in the document (0-based), as in `pages[].index`.",
    "schema": {"type": "integer", "minimum": 0},
}
_FILE = {"schema": {"type": "string"}}
_FILE_ID: Schema = {
    "name": "file_id",
    "in": "path",
    "required": True,
    "schema": {"type": "string"},
    "description": "The id `POST /v1/files` answered.",
}
_BATCH_ID: Schema = {
    "name": "job_id",
    "in": "path",
    "required": True,
    "schema": {"type": "string"},
    "description": "The id `POST /v1/batch/jobs` answered.",
}


def _query(name: str, description: str, schema: Schema) -> Schema:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": schema,
    }


_PAGE = _query("page", "The page of the list, from 0.", {"type": "integer", "minimum": 0})
_PAGE_SIZE = _query(
    "page_size",
    "Entries per page (default 100).",
    {"type": "integer", "minimum": 1, "maximum": 1000},
)


# -- the routes -------------------------------------------------------------------------------

ROUTES: tuple[Route, ...] = (
    Route(
        "post",
        "/v1/ocr",
        "ocr",
        "OCR a document: one request, one response (Mistral's OCR API).",
        "ocr",
        {200: Answer("The OCR result.", OCRResponse)},
        (400, 401, 413, 415, 422, 429, 500, 503, 507),
        body=OCRRequestBody,
    ),
    Route(
        "post",
        "/v1/async/ocr",
        "createAsyncJob",
        "Create an OCR job (Bifrost's async API); 202 at once.",
        "async",
        {202: Answer("The job, pending.", JobCreated)},
        (400, 401, 413, 415, 429, 500, 503, 507),
        body=OCRRequestBody,
        parameters=_ASYNC_HEADERS,
    ),
    Route(
        "get",
        "/v1/async/ocr/{job_id}",
        "getAsyncJob",
        "Poll a job: 202 while pending or processing, 200 once finished.",
        "async",
        {
            200: Answer("The finished job: completed or failed.", JobFinished),
            202: Answer("The job, still pending or processing.", JobRunning, retry_after=True),
        },
        (400, 401, 404, 500, 503),
        parameters=(_JOB_ID, _WAIT),
    ),
    Route(
        "delete",
        "/v1/async/ocr/{job_id}",
        "cancelAsyncJob",
        "Cancel a job; a finished job is answered as it is.",
        "async",
        {
            200: Answer(
                "The job: failed with a cancelled error, or as it had finished.", JobFinished
            )
        },
        (401, 404, 500, 503),
        parameters=(_JOB_ID,),
    ),
    Route(
        "get",
        "/v1/async/ocr/{job_id}/outputs/{format}",
        "getAsyncJobOutput",
        "One of a completed job's output files, to the job's key, until the job expires.",
        "async",
        {
            200: Answer(
                "The file.",
                media={kind.content_type.split(";")[0]: _FILE for kind in render.FORMATS.values()},
            )
        },
        (401, 404, 500, 503),
        parameters=(_JOB_ID, _FORMAT),
    ),
    Route(
        "get",
        "/v1/async/ocr/{job_id}/pages/{index}/image",
        "getAsyncJobPageImage",
        "A picture of a page as read: upright and straightened, so the blocks' boxes (in the "
        "page's `dimensions`) lie on it, at most 1600 pixels on its longer side. Kept for a "
        "completed job created with `page_images`, to the job's key, until it expires.",
        "async",
        {200: Answer("The page, a grayscale JPEG.", media={"image/jpeg": _FILE})},
        (400, 401, 404, 500, 503),
        parameters=(_JOB_ID, _PAGE_INDEX),
    ),
    Route(
        "post",
        "/v1/files",
        "uploadFile",
        "Upload a file, streamed to disk: a PDF or image for OCR, or JSONL requests for a batch.",
        "files",
        {200: Answer("The file kept.", FileObject)},
        (400, 401, 413, 500, 503, 507),
        form=FileUpload,
    ),
    Route(
        "get",
        "/v1/files",
        "listFiles",
        "The key's files, newest first.",
        "files",
        {200: Answer("One page of files.", FileList)},
        (400, 401, 500, 503),
        parameters=(
            _PAGE,
            _PAGE_SIZE,
            _query("purpose", "Only files of this purpose.", {"enum": ["ocr", "batch"]}),
        ),
    ),
    Route(
        "get",
        "/v1/files/{file_id}",
        "retrieveFile",
        "A file of the key's.",
        "files",
        {200: Answer("The file.", FileShown)},
        (401, 404, 500, 503),
        parameters=(_FILE_ID,),
    ),
    Route(
        "delete",
        "/v1/files/{file_id}",
        "deleteFile",
        "Delete a file; its signed URLs die with it.",
        "files",
        {200: Answer("Deleted.", FileDeleted)},
        (401, 404, 500, 503),
        parameters=(_FILE_ID,),
    ),
    Route(
        "get",
        "/v1/files/{file_id}/content",
        "downloadFile",
        "The file's bytes: with the key, or through a signed URL (`expires` and `signature`) "
        "without one.",
        "files",
        {200: Answer("The bytes.", media={"application/octet-stream": _FILE})},
        (401, 404, 500, 503),
        parameters=(
            _FILE_ID,
            _query("expires", "A signed URL's expiry.", {"type": "string"}),
            _query("signature", "A signed URL's signature.", {"type": "string"}),
        ),
    ),
    Route(
        "get",
        "/v1/files/{file_id}/url",
        "getSignedUrl",
        "A URL that serves this one file without a key until it expires.",
        "files",
        {200: Answer("The signed URL.", SignedURL)},
        (400, 401, 404, 500, 503),
        parameters=(
            _FILE_ID,
            _query(
                "expiry",
                "Hours the URL works (1 to 168, default 24).",
                {"type": "integer", "minimum": 1, "maximum": 168},
            ),
        ),
    ),
    Route(
        "post",
        "/v1/batch/jobs",
        "createBatchJob",
        "A batch of /v1/ocr requests: JSONL input files or inline requests.",
        "batch",
        {200: Answer("The batch, queued.", BatchJob)},
        (400, 401, 404, 413, 500, 503, 507),
        body=BatchRequestBody,
    ),
    Route(
        "get",
        "/v1/batch/jobs",
        "listBatchJobs",
        "The key's batches, newest first.",
        "batch",
        {200: Answer("One page of batches.", BatchJobList)},
        (400, 401, 500, 503),
        parameters=(
            _PAGE,
            _PAGE_SIZE,
            _query("model", "Only batches of this model.", {"type": "string"}),
            _query(
                "metadata",
                "Only batches whose metadata hold this JSON object's.",
                {"type": "string"},
            ),
            _query("created_after", "ISO 8601.", {"type": "string", "format": "date-time"}),
            _query(
                "status",
                "Only batches in these states.",
                {"type": "array", "items": {"enum": list(BATCH_STATUSES)}},
            ),
            _query("order_by", "created or -created.", {"enum": ["created", "-created"]}),
        ),
    ),
    Route(
        "get",
        "/v1/batch/jobs/{job_id}",
        "getBatchJob",
        "A batch, with its counts and, once it ends, its output and error files.",
        "batch",
        {200: Answer("The batch.", BatchJob)},
        (401, 404, 500, 503),
        parameters=(_BATCH_ID,),
    ),
    Route(
        "post",
        "/v1/batch/jobs/{job_id}/cancel",
        "cancelBatchJob",
        "Stop a batch: running requests are cancelled, finished ones reported.",
        "batch",
        {200: Answer("The batch, being cancelled.", BatchJob)},
        (401, 404, 500, 503),
        parameters=(_BATCH_ID,),
    ),
    Route(
        "get",
        "/v1/models",
        "listModels",
        "The models on offer.",
        "service",
        {200: Answer("The models.", ModelList)},
        (401, 500, 503),
    ),
    Route(
        "get",
        "/health",
        "health",
        "Liveness: the process answers. No key needed.",
        "service",
        {200: Answer("The service is up.", Health)},
        (500, 503),
        public=True,
    ),
    Route(
        "get",
        "/ready",
        "ready",
        "Readiness: workers up, job store answering, not shutting down. No key needed.",
        "service",
        {200: Answer("Ready for work.", Ready)},
        (500, 503),
        public=True,
    ),
    Route(
        "get",
        "/metrics",
        "metrics",
        "Prometheus metrics of this node, in OpenMetrics when the Accept header asks for it. "
        "No key needed.",
        "service",
        {
            200: Answer(
                "The Prometheus text format, or OpenMetrics.",
                media={
                    "text/plain": {"schema": {"type": "string"}},
                    "application/openmetrics-text": {"schema": {"type": "string"}},
                },
            )
        },
        (500,),
        public=True,
    ),
    Route(
        "get",
        "/openapi.json",
        "openapi",
        "This document. No key needed.",
        "service",
        {200: Answer("The OpenAPI document.", media={_JSON: {"schema": {"type": "object"}}})},
        (500,),
        public=True,
    ),
)


# -- the document -----------------------------------------------------------------------------


def _ref(model: type[BaseModel]) -> Schema:
    return {"$ref": _SCHEMAS + model.__name__}


def _retry_after(required: bool) -> dict[str, Any]:
    return {
        "Retry-After": {
            "description": "Seconds to wait before retrying.",
            "required": required,
            "schema": {"type": "integer"},
        }
    }


def _answer(answer: Answer) -> Schema:
    media = {_JSON: {"schema": _ref(answer.model)}} if answer.model else answer.media
    described: Schema = {"description": answer.description, "content": media}
    if answer.retry_after:
        described["headers"] = _retry_after(required=False)
    return described


def _operation(route: Route) -> Schema:
    responses = {str(status): _answer(answer) for status, answer in route.answers.items()}
    for status in route.errors:
        responses[str(status)] = {"$ref": f"#/components/responses/Error{status}"}
    operation: Schema = {
        "operationId": route.operation_id,
        "summary": route.summary,
        "tags": [route.tag],
        "responses": responses,
    }
    if route.body is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {_JSON: {"schema": _ref(route.body)}},
        }
    if route.form is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {"multipart/form-data": {"schema": _ref(route.form)}},
        }
    if route.parameters:
        operation["parameters"] = list(route.parameters)
    if route.public:
        operation["security"] = []
    return operation


def _schemas(routes: tuple[Route, ...]) -> dict[str, Schema]:
    """The JSON Schema of every model the routes name, and of the models inside them."""
    models: dict[type[BaseModel], None] = {BifrostError: None}  # every error's body
    for route in routes:
        for body in (route.body, route.form):
            if body is not None:
                models[body] = None
        models.update((a.model, None) for a in route.answers.values() if a.model is not None)
    _, schemas = models_json_schema(
        [(model, "validation") for model in models], ref_template=_SCHEMAS + "{model}"
    )
    found: dict[str, Schema] = schemas["$defs"]
    found["OCRRequestBody"]["description"] = _REQUEST_DESCRIPTION
    return found


def _error_responses() -> dict[str, Any]:
    responses: dict[str, Any] = {}
    for status, description in _ERRORS.items():
        response: dict[str, Any] = {
            "description": description,
            "content": {_JSON: {"schema": _ref(BifrostError)}},
        }
        if status in (429, 503):
            response["headers"] = _retry_after(required=status == 429)
        responses[f"Error{status}"] = response
    return responses


def build_document(routes: tuple[Route, ...] = ROUTES) -> dict[str, Any]:
    """The OpenAPI 3.1 document of the service."""
    paths: dict[str, dict[str, Schema]] = {}
    for route in routes:
        paths.setdefault(route.path, {})[route.method] = _operation(route)
    bearer = {
        "type": "http",
        "scheme": "bearer",
        "description": "An operator-configured key; with none configured the service "
        "is open and this is not checked.",
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Tessera",
            "version": __version__,
            "description": "Offline OCR: Mistral's OCR API and Bifrost's async-job API, "
            "served by Tesseract.",
        },
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {
            "schemas": _schemas(routes),
            "responses": _error_responses(),
            "securitySchemes": {"bearer": bearer},
        },
    }


@functools.cache
def _document_text() -> str:
    return json.dumps(build_document())


@routes.get("/openapi.json")
async def openapi(request: web.Request) -> web.Response:
    """The OpenAPI document, built on first use and then served as is."""
    return web.Response(text=_document_text(), content_type=_JSON)
