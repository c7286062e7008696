"""The wire format, in one place: what Mistral's and Bifrost's clients parse.

- the Mistral OCR response around the engine's pages (`POST /v1/ocr`, and a job's result);
- the Bifrost async-job answers (accepted, polled) and its webhook event body;
- the Bifrost error body every failure is sent as;
- the OpenAI/Bifrost model list.

The README ("The API by example") is the reference for all of them. Nothing here runs work
or touches a store: the CLI renders its output with it too.
"""

from __future__ import annotations

import json
import re
import time
from datetime import UTC, datetime
from typing import Any

from ocr_engine import TesseraError, render
from ocr_engine.engine import DocumentResult
from ocr_engine.options import PageOptions
from ocr_engine.render.mistral import page_json

from .jobs import Job, JobOutcome, JobStatus

# A number as HTTP carries it: ASCII digits ("²" and "٣" are digits to Python, not to a
# client), few enough to read without a limit on how long reading takes.
_WHOLE_NUMBER = re.compile(r"[0-9]{1,15}", re.ASCII)
_DECIMAL = re.compile(r"[0-9]{1,15}(\.[0-9]{1,15})?", re.ASCII)

PROVIDER = "tessera"
REQUEST_TYPE = "ocr"
COMPLETED_EVENT = "async_job.completed"
FAILED_EVENT = "async_job.failed"


def is_whole_number(text: str) -> bool:
    """Whether a value from a query, a form or a header is a whole number in ASCII digits."""
    return _WHOLE_NUMBER.fullmatch(text) is not None


def is_decimal(text: str) -> bool:
    """Whether such a value is a number in ASCII digits with or without a fraction: "1.5",
    not "1e2", "1_0" or "inf"."""
    return _DECIMAL.fullmatch(text) is not None


def rfc3339(timestamp: float) -> str:
    """RFC 3339 in UTC with a Z, as Bifrost writes it."""
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def present(body: dict[str, Any]) -> dict[str, Any]:
    """Fields with no value are left out, not null, as Bifrost writes them."""
    return {k: v for k, v in body.items() if v is not None}


def maybe_time(timestamp: float | None) -> str | None:
    return rfc3339(timestamp) if timestamp is not None else None


# -- Mistral ----------------------------------------------------------------------------------


def ocr_response(
    result: DocumentResult, options: PageOptions, *, model: str, started: float
) -> dict[str, Any]:
    """The Mistral/Bifrost OCR response around the engine's pages and usage (CPU-bound for a
    long document: call it off the event loop)."""
    response: dict[str, Any] = {
        "model": model,
        "pages": [page_json(page, options) for page in result.pages],
        "usage_info": {
            "pages_processed": len(result.pages),
            "doc_size_bytes": result.document_size,
        },
        "document_annotation": None,
        "extra_fields": {
            "request_type": REQUEST_TYPE,
            "provider": PROVIDER,
            "model_requested": model,
            "latency": round((time.monotonic() - started) * 1000),
        },
    }
    if result.warnings:
        # Pages that could not be read; strict clients ignore the extra field.
        response["warnings"] = [w.to_dict() for w in result.warnings]
    return response


def outputs_list(written: dict[str, int | str], *, job_id: str | None) -> list[dict[str, Any]]:
    """Output files as an answer lists them: each with its type and size (and, for a job's,
    the URL that serves it), or with the error that kept it from being written."""
    entries: list[dict[str, Any]] = []
    for fmt, outcome in written.items():
        if isinstance(outcome, str):
            error = {
                "type": "server_error",
                "code": "output_failed",
                "message": outcome,
                "param": None,
            }
            entries.append({"format": fmt, "error": error})
        else:
            entry: dict[str, Any] = {"format": fmt}
            if job_id is not None:
                entry["url"] = f"/v1/async/ocr/{job_id}/outputs/{fmt}"
            entry["content_type"] = render.FORMATS[fmt].content_type
            entry["bytes"] = outcome
            entries.append(entry)
    return entries


def model_list(ids: list[str]) -> dict[str, Any]:
    """`GET /v1/models`, in the OpenAI/Bifrost list shape."""
    return {
        "object": "list",
        "data": [{"id": i, "object": "model", "owned_by": PROVIDER} for i in ids],
    }


# -- Bifrost async jobs -----------------------------------------------------------------------


def job_accepted(job: Job) -> dict[str, Any]:
    """The 202 answer to a create."""
    return {"id": job.id, "status": job.status.value, "created_at": rfc3339(job.created_at)}


def job_public(job: Job) -> dict[str, Any]:
    """The job as a poll shows it, without result or error."""
    body = present(
        {
            **job_accepted(job),
            "completed_at": maybe_time(job.completed_at),
            "expires_at": maybe_time(job.expires_at),
            "status_code": job.status_code,
        }
    )
    if not job.status.finished and job.pages_total:
        body["pages_done"] = job.pages_done
        body["pages_total"] = job.pages_total
    return body


def job_json(job: Job) -> str:
    """The poll answer, splicing in the stored result or error without parsing it again."""
    head = json.dumps(job_public(job))
    if job.outputs is not None:
        head = f'{head[:-1]}, "outputs": {job.outputs}}}'
    if job.result is not None:
        return f'{head[:-1]}, "result": {job.result}}}'
    if job.error is not None:
        return f'{head[:-1]}, "error": {job.error}}}'
    return head


def webhook_event(job: Job) -> str:
    return COMPLETED_EVENT if job.status is JobStatus.COMPLETED else FAILED_EVENT


def webhook_body(job: Job) -> bytes:
    """The event a webhook endpoint receives when a job ends."""
    data = present(
        {
            "job_id": job.id,
            "request_type": REQUEST_TYPE,
            "status": job.status.value,
            "status_code": job.status_code,
            "created_at": rfc3339(job.created_at),
            "completed_at": maybe_time(job.completed_at),
            "result_url": f"/v1/async/ocr/{job.id}",
            "result_expires_at": maybe_time(job.expires_at),
        }
    )
    body = present(
        {"event": webhook_event(job), "created_at": maybe_time(job.completed_at), "data": data}
    )
    return json.dumps(body).encode()


# -- errors -----------------------------------------------------------------------------------


def failure(error: TesseraError, *, model: str | None = None) -> JobOutcome:
    """A job's outcome when it failed with `error`: its error body, to answer polls with."""
    return JobOutcome(
        JobStatus.FAILED, error.status, error=json.dumps(error_body(error, model=model))
    )


def error_body(error: TesseraError, *, model: str | None = None) -> dict[str, Any]:
    """The Bifrost error shape for an error."""
    extra: dict[str, Any] = {"provider": PROVIDER, "request_type": REQUEST_TYPE}
    if model is not None:
        extra["model_requested"] = model
    return {
        "is_bifrost_error": False,
        "status_code": error.status,
        "error": error.to_dict(),
        "extra_fields": extra,
    }
