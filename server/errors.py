"""The service's own errors, beside the OCR core's (`server.wire.error_body` renders them).

ocr_engine.errors.TesseraError
├── (the OCR core's: 400, 413, 415, 422, 500)
├── Unauthorized        401  missing or unknown API key
├── UnstorableText      400  text the database cannot hold (a NUL, an unpaired surrogate)
├── NotFound            404  unknown route, or a job that is unknown, expired or not yours;
│                            an output file or page picture the job does not have
├── MethodNotAllowed    405
├── PreconditionFailed  412  a download's If-Match or If-Unmodified-Since does not hold
├── RangeNotSatisfiable 416  a download's Range the file cannot satisfy
├── Cancelled           499  the job was cancelled by its owner
├── JobTimeout          422  the job ran past its deadline
├── UnsupportedEncoding 415  a request body in a Content-Encoding Tessera cannot read
├── QueueFull           429  too much work queued; carries Retry-After
├── Unavailable         503  shutting down or not ready; carries Retry-After
└── InsufficientStorage 507  the disk (or the database's) is full; nothing was kept
"""

from __future__ import annotations

import errno

from ocr_engine.errors import InvalidRequest, TesseraError


class Unauthorized(TesseraError):
    status = 401
    code = "invalid_api_key"
    type = "authentication_error"


class UnstorableText(InvalidRequest):
    def __init__(self) -> None:
        # Where it came from is not known down in the store: an id in a path, a query, a
        # body's field or a signed URL's path all reach it as text.
        super().__init__(
            "The request holds a character that cannot be stored or looked up (a NUL, or "
            "an unpaired surrogate such as \\ud800); remove it and send the request again."
        )


class NotFound(TesseraError):
    status = 404
    code = "not_found"
    type = "not_found_error"


class JobNotFound(NotFound):
    code = "job_not_found"

    def __init__(self) -> None:
        # One message for unknown, expired and foreign ids: the answer must not tell them apart.
        super().__init__("job not found or expired", param="job_id")


class OutputNotFound(NotFound):
    code = "output_not_found"


class PageImageNotFound(NotFound):
    code = "page_image_not_found"


class MethodNotAllowed(TesseraError):
    status = 405
    code = "method_not_allowed"
    type = "invalid_request_error"


class PreconditionFailed(TesseraError):
    status = 412
    code = "precondition_failed"
    type = "invalid_request_error"


class RangeNotSatisfiable(TesseraError):
    status = 416
    code = "range_not_satisfiable"
    type = "invalid_request_error"


class Cancelled(TesseraError):
    # 499, "client closed request": the outcome was the caller's choice, not a fault.
    status = 499
    code = "cancelled"
    type = "cancelled"


class JobTimeout(TesseraError):
    status = 422
    code = "job_timeout"
    type = "invalid_request_error"


class _RetryLater(TesseraError):
    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after  # seconds, sent as Retry-After


class QueueFull(_RetryLater):
    status = 429
    code = "queue_full"
    type = "rate_limit_error"


class Unavailable(_RetryLater):
    status = 503
    code = "service_unavailable"
    type = "server_error"


class UnsupportedEncoding(TesseraError):
    status = 415
    code = "unsupported_content_encoding"
    type = "invalid_request_error"


class InsufficientStorage(TesseraError):
    status = 507
    code = "insufficient_storage"
    type = "server_error"

    def __init__(
        self,
        message: str = "Tessera's disk is full, so the request could not be "
        "stored; nothing was kept. Retry once an operator has freed space.",
    ) -> None:
        super().__init__(message)


class StoreUnavailable(RuntimeError):
    """The job store cannot be opened at start-up: a message for the operator, in one line."""


_DISK_FULL = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}


def is_disk_full(error: BaseException) -> bool:
    """Whether an OSError says that the disk, a quota or a file size limit is reached."""
    return isinstance(error, OSError) and error.errno in _DISK_FULL
