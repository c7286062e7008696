"""Log output: the plain text lines of old, or one JSON object per line for log collectors."""

from __future__ import annotations

import logging

from ocr_engine.logs import JsonFormatter, job_id_of

__all__ = ["FORMATS", "JsonFormatter", "configure", "job_id_of"]

FORMATS = ("text", "json")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"


def configure(level: str, fmt: str = "text") -> None:
    """Send every log line to stderr at `level`, as text or as JSON lines."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    for old in root.handlers[:]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
