"""JSON log lines, one object per line, for the service and its worker processes alike.

Lines about a job carry its id in a `job_id` field. The code says which job a line is about
in its message ("job %s: ...", the engine's "%s: page ..."), so the id is taken from the
record's arguments there, or from an explicit `extra={"job_id": ...}`; no call site changes.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime
from typing import Any

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_JOB_PATH = re.compile(r"/v1/async/ocr/(" + _UUID.pattern + r")")


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, and job_id when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "pid": record.process,
        }
        job_id = job_id_of(record)
        if job_id is not None:
            entry["job_id"] = job_id
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


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
