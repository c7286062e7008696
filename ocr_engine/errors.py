"""Tessera's errors.

    TesseraError                    base: carries an HTTP status, a stable code and an error type
    ├── InvalidRequest              400  the request cannot be served as written
    │   └── UnsupportedOption       400  a field Tessera accepts but cannot honour
    ├── DocumentTooLarge            413  bytes or pages past a configured limit
    ├── UnsupportedDocument         415  neither a PDF nor a supported image
    ├── UnprocessableDocument       422  read, but not processable (encrypted, corrupt)
    │   └── PageFailed              422  one page could not be recognised
    │       ├── PageTimeout         422  the page ran past the per-page timeout
    │       └── WorkerCrashed       422  the worker died on the page (twice)
    └── InternalError               500  a fault of Tessera's own

The server adds its own subclasses (authentication, not found, queue full, unavailable).
Each class names its status and code, so the HTTP layer turns any of them into the wire
error shape without a chain of ifs.
"""

from __future__ import annotations


class TesseraError(Exception):
    """Base of every error Tessera reports to a caller."""

    status: int = 500
    code: str = "internal_error"
    type: str = "server_error"
    retry_after: int | None = None  # seconds a client should wait before sending it again

    def __init__(
        self, message: str, *, param: str | None = None, status: int | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        if status is not None:
            self.status = status  # this one error's, where its class allows several

    def to_dict(self) -> dict[str, str | None]:
        """The `error` object of the wire format."""
        return {"type": self.type, "code": self.code, "message": self.message, "param": self.param}


class InvalidRequest(TesseraError):
    status = 400
    code = "invalid_request"
    type = "invalid_request_error"


class UnsupportedOption(InvalidRequest):
    code = "unsupported_option"


class DocumentTooLarge(TesseraError):
    status = 413
    code = "document_too_large"
    type = "invalid_request_error"


class UnsupportedDocument(TesseraError):
    status = 415
    code = "unsupported_document"
    type = "invalid_request_error"


class UnprocessableDocument(TesseraError):
    status = 422
    code = "unprocessable_document"
    type = "invalid_request_error"


class PageFailed(UnprocessableDocument):
    code = "page_failed"


class PageTimeout(PageFailed):
    code = "page_timeout"


class WorkerCrashed(PageFailed):
    code = "worker_crashed"


class InternalError(TesseraError):
    status = 500
    code = "internal_error"
    type = "server_error"


class CannotStart(RuntimeError):
    """A setting Tessera cannot start with, found as it starts (no language data, workers
    that die before they are ready, a port in use): a message for the operator, in one
    line, not a traceback."""


def by_name(name: str) -> type[TesseraError]:
    """The error class a worker process named, for re-raising it in the parent."""
    cls = _REGISTRY.get(name)
    return cls if cls is not None else InternalError


_REGISTRY: dict[str, type[TesseraError]] = {
    cls.__name__: cls
    for cls in (
        TesseraError,
        InvalidRequest,
        UnsupportedOption,
        DocumentTooLarge,
        UnsupportedDocument,
        UnprocessableDocument,
        PageFailed,
        PageTimeout,
        WorkerCrashed,
        InternalError,
    )
}
