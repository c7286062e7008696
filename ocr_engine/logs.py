"""JSON log lines, one object per line, for the service and its worker processes alike.

Lines about a job carry its id in a `job_id` field. The code says which job a line is about
in its message ("job %s: ...", the engine's "%s: page ..."), so the id is taken from the
record's arguments there, or from an explicit `extra={"job_id": ...}`; no call site changes.
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime
from typing import Any

from pythonjsonlogger.json import JsonFormatter as LibraryJsonFormatter

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_JOB_PATH = re.compile(r"/v1/async/ocr/(" + _UUID.pattern + r")")

# The record's attributes each line carries, by the names collectors are given.
_FIELDS = {"levelname": "level", "name": "logger", "message": "message", "process": "pid"}
_RENAMED = {**_FIELDS, "exc_info": "exception", "stack_info": "stack"}


class JsonFormatter(LibraryJsonFormatter):
    """One JSON object per line: time, level, logger, message, pid, job_id when there is one,
    and whatever a call passes in `extra` (the access log's request and response fields)."""

    def __init__(self) -> None:
        super().__init__(list(_FIELDS), rename_fields=_RENAMED, json_ensure_ascii=False)

    def add_fields(
        self, log_data: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]
    ) -> None:
        log_data["time"] = (
            datetime.fromtimestamp(record.created, UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z")
        )
        super().add_fields(log_data, record, message_dict)
        job_id = job_id_of(record)
        if job_id is not None:
            log_data["job_id"] = job_id


def job_id_of(record: logging.LogRecord) -> str | None:
    """The id of the job a log record is about, if it is about one."""
    explicit = getattr(record, "job_id", None)
    if explicit is not None:
        return str(explicit)
    msg, args = record.msg, record.args
    if isinstance(msg, str) and isinstance(args, tuple) and args:
        if msg.startswith("job %s"):
            return str(args[0])
        # The engine names its work by key: a job id, or "sync-..." for /v1/ocr.
        if msg.startswith("%s:") and _UUID.fullmatch(str(args[0])):
            return str(args[0])
    if record.name == "tessera.access":
        found = _JOB_PATH.search(record.getMessage())
        if found:
            return found.group(1)
    return None
