"""The one settings object: `TESSERA_*` environment variables, overridden by command flags."""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from yarl import URL

from ocr_engine import EngineConfig
from ocr_engine.recognize import BACKENDS, PYTESSERACT, TESSEROCR

from .fetch import FetchPolicy
from .webhooks.delivery import RetryPolicy
from .webhooks.endpoints import WebhookEndpoint, parse_endpoints

MB = 1024 * 1024
MAX_WORKERS = 256  # worker processes at most
MAX_PAGE_TIMEOUT = 24 * 3600  # seconds
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


class Settings(BaseSettings):
    """Everything an operator can set. Built once at start-up and passed down."""

    # Durations are finite: "inf" (or "1e400") passes `gt=0`, but a worker's pipe cannot
    # wait that long (every page hung unanswered), and a lease of it never lapses.
    # A variable set to nothing (`TESSERA_HOST=` in a settings file) means its default: taken
    # as a value, an empty host listened on every interface, and an empty directory was the
    # working directory (models read from it, the database written into it).
    model_config = SettingsConfigDict(
        env_prefix="TESSERA_", extra="ignore", allow_inf_nan=False, env_ignore_empty=True
    )

    host: str = "127.0.0.1"
    # How clients reach the service (https://ocr.example.org), for the signed URLs it hands
    # out; by default the address each request came to.
    public_url: str | None = None
    port: int = Field(8080, ge=0, le=65535)
    data_dir: Path = Path("./data")
    database_url: str | None = None  # postgresql://...; none means SQLite under data_dir
    lease_seconds: float = Field(30.0, ge=1)
    part_pages: int = Field(20, ge=1)  # larger jobs are split into ranges of this many pages
    # A worker is a process of its own with Tesseract loaded (about 150 MB): more than a
    # few hundred is a typing slip, not a machine, and starting them would hang start-up.
    workers: int = Field(
        default_factory=lambda: min(MAX_WORKERS, max(1, os.cpu_count() or 1)),
        ge=1,
        le=MAX_WORKERS,
    )
    backend: str = TESSEROCR
    languages: str = "eng"
    dpi: int = Field(300, ge=50, le=1200)
    api_keys: Annotated[list[str], NoDecode] = []
    model_aliases: Annotated[dict[str, str], NoDecode] = {"mistral-ocr-latest": "tesseract"}
    tessdata_dir: Path | None = None
    models_dir: Path | None = None

    max_document_bytes: int = Field(50 * MB, ge=1)
    # Files API: the largest upload (a scan for OCR, or a batch's JSONL), and how long an
    # upload is kept unless it asks for less ("expiry", in hours) or is deleted first.
    max_file_bytes: int = Field(512 * MB, ge=1)
    file_ttl: int = Field(7 * 24 * 3600, ge=60, le=2**31 - 1)
    # Requests of one batch read at once: fewer than the running-job slots, so that
    # interactive jobs always find one free.
    batch_concurrency: int | None = Field(None, ge=1)
    max_pages: int = Field(1000, ge=1)
    max_page_pixels: int = Field(60_000_000, ge=1_000_000)
    max_image_pixels: int = Field(180_000_000, ge=1_000_000)
    # A worker's reply is waited for with poll(), which takes at most about 24 days; a page
    # past a day is not coming back.
    page_timeout: float = Field(180.0, gt=0, le=MAX_PAGE_TIMEOUT)
    job_timeout: float = Field(3600.0, gt=0)
    worker_memory_mb: int = Field(4096, ge=0)
    max_queued_jobs: int = Field(1000, ge=1)
    shutdown_grace: float = Field(30.0, ge=0)
    result_ttl: int = Field(3600, ge=1)
    # The longest TTL a create may ask for (x-bf-async-job-result-ttl is clamped to it).
    max_result_ttl: int = Field(7 * 24 * 3600, ge=1, le=2**31 - 1)
    # Below this much free space in the data directory, new work is refused (507) and
    # /ready answers 503, before a write can fail half-way.
    min_free_mb: int = Field(64, ge=0)
    running_jobs: int | None = Field(None, ge=1)
    sync_concurrency: int | None = Field(None, ge=1)
    # A /v1/ocr request that finds every slot busy waits this long at most, and at most this
    # many wait; past either it is answered 429 with Retry-After.
    sync_wait: float = Field(60.0, ge=0)
    sync_queue: int = Field(256, ge=0)
    fetch_timeout: float = Field(60.0, gt=0)
    fetch_allow: Annotated[list[str], NoDecode] = []
    file_roots: Annotated[list[str], NoDecode] = []
    cleanup_interval: float = Field(60.0, gt=0)
    webhooks: Annotated[dict[str, WebhookEndpoint], NoDecode] = {}
    webhook_timeout: float = Field(10.0, gt=0)
    webhook_max_attempts: int = Field(10, ge=1)
    webhook_backoff: float = Field(1.0, gt=0)  # before the first retry; doubles each time
    webhook_backoff_max: float = Field(600.0, gt=0)
    log_level: str = "INFO"
    log_format: Literal["text", "json"] = "text"  # json: one object per line, with job_id

    @field_validator("api_keys", "fetch_allow", "file_roots", mode="before")
    @classmethod
    def _split_keys(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [k.strip() for k in value.split(",") if k.strip()]
        return value

    @field_validator("model_aliases", mode="before")
    @classmethod
    def _split_aliases(cls, value: Any) -> Any:
        # "mistral-ocr-latest=tesseract,ocr-de=tesseract-deu"
        if isinstance(value, str):
            pairs = [p.split("=", 1) for p in value.split(",") if p.strip()]
            if any(len(p) != 2 for p in pairs):
                raise ValueError("write aliases as name=model[,name=model...]")
            return {name.strip(): target.strip() for name, target in pairs}
        return value

    @field_validator("webhooks", mode="before")
    @classmethod
    def _parse_webhooks(cls, value: Any) -> Any:
        return parse_endpoints(value)

    @field_validator("max_result_ttl")
    @classmethod
    def _holds_the_default_ttl(cls, value: int, info: ValidationInfo) -> int:
        # A job kept for the default TTL would outlive the longest one a create may ask for.
        default = info.data.get("result_ttl")
        if default is not None and default > value:
            raise ValueError(
                f"the default TTL, result_ttl ({default} s), is longer than this longest "
                f"one ({value} s): raise max_result_ttl or lower result_ttl"
            )
        return value

    @field_validator("host")
    @classmethod
    def _an_address(cls, value: str) -> str:
        # An empty host is every interface to the socket library: `--host "$HOST"` with
        # HOST unset opened the service to the network.
        if not value.strip():
            raise ValueError("name an address to listen on: 127.0.0.1, or 0.0.0.0 for every one")
        return value

    @field_validator("public_url")
    @classmethod
    def _http_base(cls, value: str | None) -> str | None:
        # Every signed URL handed out starts with it: a bad one made URLs no client can open.
        if value is None:
            return None
        try:
            parsed = URL(value.strip())
            host = parsed.raw_host
            parsed.port  # noqa: B018 - an out-of-range port fails here
        except (ValueError, UnicodeError, TypeError):
            raise ValueError("write it as http(s)://host[:port][/path]") from None
        if (parsed.scheme or "").lower() not in ("http", "https") or not host:
            raise ValueError("write it as http(s)://host[:port][/path]")
        if parsed.query_string or parsed.fragment:
            raise ValueError("the signed URLs' paths follow it: no query or fragment")
        return value.strip()

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        # Checked here, where a bad one is named in a line: logging refused it with a traceback.
        if value.upper() not in logging.getLevelNamesMapping():
            raise ValueError(f"choose one of {', '.join(LOG_LEVELS)}")
        return value.upper()

    @field_validator("backend")
    @classmethod
    def _known_backend(cls, value: str) -> str:
        if value not in BACKENDS:
            raise ValueError(f"choose one of {', '.join(BACKENDS)}")
        if value == PYTESSERACT and shutil.which("tesseract") is None:
            # Found now, not on the first page: every page would fail.
            raise ValueError(
                "the pytesseract backend runs the tesseract command, which is not on the "
                "PATH (Debian: apt-get install tesseract-ocr)"
            )
        return value

    @property
    def job_slots(self) -> int:
        """Jobs running at once: enough to keep every worker fed while pages interleave."""
        return self.running_jobs or 2 * self.workers

    @property
    def batch_slots(self) -> int:
        return self.batch_concurrency or max(1, self.job_slots // 2)

    @property
    def sync_slots(self) -> int:
        return self.sync_concurrency or 2 * self.workers

    @property
    def min_free_bytes(self) -> int:
        return self.min_free_mb * MB

    @property
    def max_body_bytes(self) -> int:
        # A base64 data URL is 4/3 of the document, plus the JSON around it.
        return self.max_document_bytes * 4 // 3 + MB

    def fetch_policy(self) -> FetchPolicy:
        return FetchPolicy.from_settings(self.fetch_allow, self.file_roots)

    def webhook_retry(self) -> RetryPolicy:
        return RetryPolicy(
            base=self.webhook_backoff,
            cap=self.webhook_backoff_max,
            max_attempts=self.webhook_max_attempts,
        )

    def engine_config(self) -> EngineConfig:
        return EngineConfig(
            workers=self.workers,
            backend=self.backend,
            languages=self.languages,
            dpi=self.dpi,
            max_pages=self.max_pages,
            max_page_pixels=self.max_page_pixels,
            max_image_pixels=self.max_image_pixels,
            page_timeout=self.page_timeout,
            worker_memory_mb=self.worker_memory_mb,
            tessdata_dir=self.tessdata_dir,
            models_dir=self.models_dir,
            work_dir=self.data_dir,
            log_format=self.log_format,
        )
