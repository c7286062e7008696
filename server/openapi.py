"""The service's own OpenAPI document, served at /openapi.json.

Built once from code: the request body is the pydantic model's own JSON Schema, so the
document cannot drift from the validation; the response schemas describe what the routes,
`Job.public` and the OCR core's `build_page` write, and stay open to fields added later.
OpenAPI 3.1, because its schemas are JSON Schema 2020-12, which is what pydantic emits.
"""

from __future__ import annotations

import functools
import json
from typing import Any

from aiohttp import web

from ocr_engine import render

from . import __version__
from .routes import IDEMPOTENCY_HEADER, TTL_HEADER, WEBHOOK_HEADER
from .schema import OCRRequestBody

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


def ref(name: str) -> Schema:
    """A reference to a component schema."""
    return {"$ref": _SCHEMAS + name}


def _nullable(schema: Schema) -> Schema:
    return {"anyOf": [schema, {"type": "null"}]}


def _obj(properties: dict[str, Schema], *required: str, description: str = "") -> Schema:
    """An object schema that allows properties beyond those it names."""
    schema: Schema = {"type": "object", "properties": properties, "additionalProperties": True}
    if required:
        schema["required"] = list(required)
    if description:
        schema["description"] = description
    return schema


_INT: Schema = {"type": "integer"}
_STR: Schema = {"type": "string"}
_SCORE: Schema = {"type": "number", "minimum": 0, "maximum": 1}
_TIMESTAMP: Schema = {
    "type": "string",
    "format": "date-time",
    "pattern": "Z$",
    "description": "RFC 3339 in UTC, with a Z.",
}
_CORNERS = ("top_left_x", "top_left_y", "bottom_right_x", "bottom_right_y")


def _boxed(properties: dict[str, Schema], *required: str, description: str) -> Schema:
    """An object with integer pixel corners in the page image."""
    corners = {name: _INT for name in _CORNERS}
    return _obj({**corners, **properties}, *required, *_CORNERS, description=description)


def _error_schemas() -> dict[str, Schema]:
    error = _obj(
        {
            "type": _STR,
            "code": _STR,
            "message": {"type": "string", "minLength": 1},
            "param": _nullable(_STR),
        },
        "type",
        "code",
        "message",
        "param",
    )
    extra = _obj(
        {"provider": _STR, "request_type": _STR, "model_requested": _STR},
        "provider",
        "request_type",
    )
    bifrost = _obj(
        {
            "is_bifrost_error": {"type": "boolean"},
            "status_code": {"type": "integer", "minimum": 400, "maximum": 599},
            "error": ref("BifrostErrorDetail"),
            "extra_fields": ref("BifrostExtraFields"),
        },
        "is_bifrost_error",
        "status_code",
        "error",
        "extra_fields",
        description="Bifrost's error shape, on every error of every route.",
    )
    return {"BifrostError": bifrost, "BifrostErrorDetail": error, "BifrostExtraFields": extra}


def _page_schemas() -> dict[str, Schema]:
    image = _boxed(
        {"id": _STR, "image_base64": _nullable(_STR)},
        "id",
        description="An image on the page; `image_base64` only when requested.",
    )
    table = _obj(
        {"id": _STR, "content": _STR, "format": {"enum": ["markdown", "html"]}},
        "id",
        "content",
        "format",
    )
    dimensions = _obj({"dpi": _INT, "height": _INT, "width": _INT}, "dpi", "height", "width")
    word = _obj(
        {"text": _STR, "confidence": _SCORE, "start_index": {"type": "integer", "minimum": 0}},
        "text",
        "confidence",
        "start_index",
    )
    scores = _obj(
        {
            "average_page_confidence_score": _SCORE,
            "minimum_page_confidence_score": _SCORE,
            "word_confidence_scores": {"type": "array", "items": ref("WordConfidence")},
        },
        "average_page_confidence_score",
        "minimum_page_confidence_score",
    )
    block_scores = _obj(
        {"average_content_confidence_score": _SCORE, "minimum_content_confidence_score": _SCORE}
    )
    block = _boxed(
        {
            "type": _STR,
            "content": _STR,
            "table_id": _STR,
            "image_id": _STR,
            "confidence_scores": ref("BlockConfidence"),
        },
        "type",
        description="A typed layout block: text, title, list, table, image, header, footer, ...",
    )
    return {
        "PageImage": image,
        "PageTable": table,
        "PageDimensions": dimensions,
        "WordConfidence": word,
        "PageConfidence": scores,
        "BlockConfidence": block_scores,
        "Block": block,
        "Page": _page(),
    }


def _page() -> Schema:
    return _obj(
        {
            "index": {"type": "integer", "minimum": 0},
            "markdown": _STR,
            "images": {"type": "array", "items": ref("PageImage")},
            "tables": {"type": "array", "items": ref("PageTable")},
            "header": _nullable(_STR),
            "footer": _nullable(_STR),
            "dimensions": ref("PageDimensions"),
            "confidence_scores": _nullable(ref("PageConfidence")),
            "blocks": _nullable({"type": "array", "items": ref("Block")}),
            "source": {
                "type": "string",
                "description": "How the text was read: ocr or text_layer.",
            },
        },
        "index",
        "markdown",
        "images",
        "dimensions",
    )


def _result_schemas() -> dict[str, Schema]:
    usage = _obj({"pages_processed": _INT, "doc_size_bytes": _nullable(_INT)}, "pages_processed")
    extra = _obj(
        {
            "request_type": _STR,
            "provider": _STR,
            "model_requested": _STR,
            "latency": {"type": "integer", "description": "milliseconds"},
        }
    )
    result = _obj(
        {
            "model": _STR,
            "pages": {"type": "array", "items": ref("Page")},
            "usage_info": ref("UsageInfo"),
            "document_annotation": _nullable(_STR),
            "extra_fields": ref("OCRExtraFields"),
        },
        "model",
        "pages",
        "usage_info",
        description="Mistral's OCR response.",
    )
    result["properties"]["outputs"] = {
        "type": "array",
        "items": ref("OutputInline"),
        "description": "Only when `output_formats` asked for files: each file inline.",
    }
    return {
        "UsageInfo": usage,
        "OCRExtraFields": extra,
        "OCRResponse": result,
        **_output_schemas(),
    }


def _output_schemas() -> dict[str, Schema]:
    fmt = {"enum": list(render.NAMES)}
    failed = _obj(
        {"format": fmt, "error": ref("BifrostErrorDetail")},
        "format",
        "error",
        description="A file that could not be written (the rest of the job is complete).",
    )
    written = _obj(
        {"format": fmt, "url": _STR, "content_type": _STR, "bytes": _INT},
        "format",
        "url",
        "content_type",
        "bytes",
        description="A file written beside the result; `url` is relative to the service.",
    )
    inline = _obj(
        {
            "format": fmt,
            "content_type": _STR,
            "bytes": _INT,
            "data": {"type": "string", "contentEncoding": "base64"},
        },
        "format",
        description="A file of a synchronous answer, in base64 (or `error` if it failed).",
    )
    inline["properties"]["error"] = ref("BifrostErrorDetail")
    return {
        "Output": {"oneOf": [written, failed]},
        "OutputInline": inline,
    }


def _job(
    statuses: list[str], properties: dict[str, Schema], *required: str, description: str
) -> Schema:
    base = {"id": _STR, "status": {"enum": statuses}, "created_at": _TIMESTAMP}
    return _obj(
        {**base, **properties}, "id", "status", "created_at", *required, description=description
    )


def _job_schemas() -> dict[str, Schema]:
    finished = {"completed_at": _TIMESTAMP, "expires_at": _TIMESTAMP, "status_code": _INT}
    ends = ("completed_at", "expires_at", "status_code")
    return {
        "JobCreated": _job(["pending"], {}, description="A job just accepted."),
        "JobRunning": _job(
            ["pending", "processing"],
            {"pages_done": _INT, "pages_total": _INT},
            description="A job not finished yet; progress once it is known.",
        ),
        "JobCompleted": _job(
            ["completed"],
            {
                **finished,
                "result": ref("OCRResponse"),
                "outputs": {
                    "type": "array",
                    "items": ref("Output"),
                    "description": "The files `output_formats` asked for.",
                },
            },
            *ends,
            "result",
            description="A job that produced its result.",
        ),
        "JobFailed": _job(
            ["failed"],
            {**finished, "error": ref("BifrostError")},
            *ends,
            "error",
            description="A failed or cancelled job; `status_code` is the HTTP "
            "status it would have had (499 when cancelled).",
        ),
        "JobFinished": {"oneOf": [ref("JobCompleted"), ref("JobFailed")]},
    }


def _service_schemas() -> dict[str, Schema]:
    model = _obj(
        {"id": _STR, "object": {"const": "model"}, "owned_by": _STR}, "id", "object", "owned_by"
    )
    models = _obj(
        {"object": {"const": "list"}, "data": {"type": "array", "items": ref("Model")}},
        "object",
        "data",
    )
    health = _obj(
        {
            "status": _STR,
            "backend": _STR,
            "workers": _INT,
            "auth": {"type": "boolean", "description": "Whether keys are required."},
        },
        "status",
    )
    ready = _obj(
        {
            "status": {"const": "ready"},
            "workers": _INT,
            "workers_alive": _INT,
            "store_ms": {"type": "number"},
            "free_mb": _INT,
        },
        "status",
    )
    return {"Model": model, "ModelList": models, "Health": health, "Ready": ready}


def _request_schemas() -> dict[str, Schema]:
    """The request body, straight from the pydantic model that validates it."""
    body = OCRRequestBody.model_json_schema(ref_template=_SCHEMAS + "{model}")
    nested = body.pop("$defs", {})
    body["description"] = (
        "Mistral's OCR request. Unknown fields are ignored; annotation fields answer 400."
    )
    return {**nested, "OCRRequestBody": body}


def _json_content(schema: Schema) -> dict[str, Any]:
    return {_JSON: {"schema": schema}}


def _retry_after(required: bool) -> dict[str, Any]:
    return {
        "Retry-After": {
            "description": "Seconds to wait before retrying.",
            "required": required,
            "schema": _INT,
        }
    }


def _error_responses() -> dict[str, Any]:
    responses: dict[str, Any] = {}
    for status, description in _ERRORS.items():
        response: dict[str, Any] = {
            "description": description,
            "content": _json_content(ref("BifrostError")),
        }
        if status in (429, 503):
            response["headers"] = _retry_after(required=status == 429)
        responses[f"Error{status}"] = response
    return responses


def _responses(ok: dict[int, tuple[str, Schema]], *errors: int) -> dict[str, Any]:
    """An operation's responses: its successes, then references to the shared errors."""
    responses: dict[str, Any] = {
        str(status): {"description": description, "content": _json_content(schema)}
        for status, (description, schema) in ok.items()
    }
    for status in errors:
        responses[str(status)] = {"$ref": f"#/components/responses/Error{status}"}
    return responses


def _operation(
    operation_id: str, summary: str, tag: str, responses: dict[str, Any], **extra: Any
) -> dict[str, Any]:
    return {
        "operationId": operation_id,
        "summary": summary,
        "tags": [tag],
        "responses": responses,
        **extra,
    }


def _request_body() -> dict[str, Any]:
    return {"required": True, "content": _json_content(ref("OCRRequestBody"))}


def _async_headers() -> list[dict[str, Any]]:
    return [
        {
            "name": TTL_HEADER,
            "in": "header",
            "required": False,
            "description": "Seconds the finished job is kept (default 3600); a value that is "
            "missing, not a number, zero or negative means the default, and one "
            "above the maximum (a week by default) is clamped to it.",
            "schema": {"type": "integer"},
        },
        {
            "name": WEBHOOK_HEADER,
            "in": "header",
            "required": False,
            "description": "A configured webhook endpoint to notify when the job finishes; an "
            "unknown name answers 400.",
            "schema": _STR,
        },
        {
            "name": IDEMPOTENCY_HEADER,
            "in": "header",
            "required": False,
            "description": "A create that repeats a key its API key used before answers with "
            "the first job (`Idempotent-Replayed: true`); without the header, the "
            "body's `id` is the key.",
            "schema": {"type": "string", "maxLength": 255},
        },
    ]


def _job_id() -> dict[str, Any]:
    return {
        "name": "job_id",
        "in": "path",
        "required": True,
        "schema": _STR,
        "description": "The id `POST /v1/async/ocr` answered.",
    }


def _ocr_paths() -> dict[str, Any]:
    ocr = _operation(
        "ocr",
        "OCR a document: one request, one response (Mistral's OCR API).",
        "ocr",
        _responses(
            {200: ("The OCR result.", ref("OCRResponse"))},
            400,
            401,
            413,
            415,
            422,
            429,
            500,
            503,
            507,
        ),
        requestBody=_request_body(),
    )
    create = _operation(
        "createAsyncJob",
        "Create an OCR job (Bifrost's async API); 202 at once.",
        "async",
        _responses(
            {202: ("The job, pending.", ref("JobCreated"))}, 400, 401, 413, 415, 429, 500, 503, 507
        ),
        requestBody=_request_body(),
        parameters=_async_headers(),
    )
    return {"/v1/ocr": {"post": ocr}, "/v1/async/ocr": {"post": create}}


def _job_paths() -> dict[str, Any]:
    poll = _operation(
        "getAsyncJob",
        "Poll a job: 202 while pending or processing, 200 once finished.",
        "async",
        _responses(
            {
                200: ("The finished job: completed or failed.", ref("JobFinished")),
                202: ("The job, still pending or processing.", ref("JobRunning")),
            },
            400,
            401,
            404,
            500,
            503,
        ),
        parameters=[
            {
                "name": "wait",
                "in": "query",
                "required": False,
                "description": "A long poll: answer when the job ends or after this many "
                "seconds (at most 60 are waited).",
                "schema": {"type": "number", "minimum": 0},
            }
        ],
    )
    poll["responses"]["202"]["headers"] = _retry_after(required=False)
    cancel = _operation(
        "cancelAsyncJob",
        "Cancel a job; a finished job is answered as it is.",
        "async",
        _responses(
            {
                200: (
                    "The job: failed with a cancelled error, or as it had finished.",
                    ref("JobFinished"),
                )
            },
            401,
            404,
            500,
            503,
        ),
    )
    output = _operation(
        "getAsyncJobOutput",
        "One of a completed job's output files, to the job's key, until the job expires.",
        "async",
        {
            "200": {
                "description": "The file.",
                "content": {
                    kind.content_type.split(";")[0]: {"schema": {"type": "string"}}
                    for kind in render.FORMATS.values()
                },
            },
            **{str(s): {"$ref": f"#/components/responses/Error{s}"} for s in (401, 404, 500, 503)},
        },
        parameters=[
            {
                "name": "format",
                "in": "path",
                "required": True,
                "schema": {"enum": list(render.NAMES)},
            }
        ],
    )
    return {
        "/v1/async/ocr/{job_id}": {"parameters": [_job_id()], "get": poll, "delete": cancel},
        "/v1/async/ocr/{job_id}/outputs/{format}": {
            "parameters": [_job_id()],
            "get": output,
        },
        "/v1/async/ocr/{job_id}/pages/{index}/image": {
            "parameters": [_job_id()],
            "get": _page_image(),
        },
    }


def _page_image() -> dict[str, Any]:
    return _operation(
        "getAsyncJobPageImage",
        "A picture of a page as read: upright and straightened, so the blocks' boxes (in the "
        "page's `dimensions`) lie on it, at most 1600 pixels on its longer side. Kept for "
        "a completed job created with `page_images`, to the job's key, until it expires.",
        "async",
        {
            "200": {
                "description": "The page, a grayscale JPEG.",
                "content": {"image/jpeg": {"schema": {"type": "string"}}},
            },
            **{
                str(s): {"$ref": f"#/components/responses/Error{s}"}
                for s in (400, 401, 404, 500, 503)
            },
        },
        parameters=[
            {
                "name": "index",
                "in": "path",
                "required": True,
                "description": "The page's index in the document (0-based), as in `pages[].index`.",
                "schema": {"type": "integer", "minimum": 0},
            }
        ],
    )


def _service_paths() -> dict[str, Any]:
    models = _operation(
        "listModels",
        "The models on offer.",
        "service",
        _responses({200: ("The models.", ref("ModelList"))}, 401, 500, 503),
    )
    health = _operation(
        "health",
        "Liveness: the process answers. No key needed.",
        "service",
        _responses({200: ("The service is up.", ref("Health"))}, 500, 503),
        security=[],
    )
    spec = _operation(
        "openapi",
        "This document. No key needed.",
        "service",
        _responses({200: ("The OpenAPI document.", {"type": "object"})}, 500),
        security=[],
    )
    ready = _operation(
        "ready",
        "Readiness: workers up, job store answering, not shutting down. No key needed.",
        "service",
        _responses({200: ("Ready for work.", ref("Ready"))}, 500, 503),
        security=[],
    )
    metrics = _operation(
        "metrics",
        "Prometheus metrics of this node. No key needed.",
        "service",
        {
            "200": {
                "description": "The Prometheus text format.",
                "content": {"text/plain": {"schema": _STR}},
            },
            "500": {"$ref": "#/components/responses/Error500"},
        },
        security=[],
    )
    return {
        "/v1/models": {"get": models},
        "/health": {"get": health},
        "/ready": {"get": ready},
        "/metrics": {"get": metrics},
        "/openapi.json": {"get": spec},
    }


def _components() -> dict[str, Any]:
    schemas = {
        **_request_schemas(),
        **_result_schemas(),
        **_page_schemas(),
        **_job_schemas(),
        **_service_schemas(),
        **_error_schemas(),
    }
    bearer = {
        "type": "http",
        "scheme": "bearer",
        "description": "An operator-configured key; with none configured the service "
        "is open and this is not checked.",
    }
    return {
        "schemas": schemas,
        "responses": _error_responses(),
        "securitySchemes": {"bearer": bearer},
    }


def build_document() -> dict[str, Any]:
    """The OpenAPI 3.1 document of the service."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Tessera",
            "version": __version__,
            "description": "Offline OCR: Mistral's OCR API and Bifrost's async-job API, "
            "served by Tesseract.",
        },
        "security": [{"bearer": []}],
        "paths": {**_ocr_paths(), **_job_paths(), **_service_paths()},
        "components": _components(),
    }


@functools.cache
def _document_text() -> str:
    return json.dumps(build_document())


@routes.get("/openapi.json")
async def openapi(request: web.Request) -> web.Response:
    """The OpenAPI document, built on first use and then served as is."""
    return web.Response(text=_document_text(), content_type=_JSON)
