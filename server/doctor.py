"""`tessera doctor`: what this installation can do and what is wrong with it, in one screen.

Each check reads the same settings as `tessera serve` and says OK, WARN (works, with less) or
FAIL (the service cannot work so); any FAIL makes the exit status non-zero.
"""

from __future__ import annotations

import asyncio
import enum
import os
import shutil
import sqlite3
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from ocr_engine.languages import find_system_tessdata, installed_languages
from ocr_engine.recognize import PYTESSERACT, TESSEROCR

from . import __version__
from .config import MB, Settings
from .models import listed, load_problem

GB = 1024 * MB


class Status(enum.Enum):
    OK = "OK"
    WARN = "WARN"  # works, with less than it could
    FAIL = "FAIL"  # something the service needs is missing or broken


@dataclass(frozen=True)
class Check:
    status: Status
    what: str
    detail: str


def _version(command: list[str]) -> str | None:
    """The first line a tool prints of its version; None if it does not run."""
    if shutil.which(command[0]) is None:
        return None
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    lines = (done.stdout or done.stderr).strip().splitlines()
    return lines[0] if lines else None


def check_tesseract(settings: Settings) -> list[Check]:
    """Tesseract as the configured backend uses it: tesserocr in-process, or the CLI."""
    checks = []
    try:
        import tesserocr

        version = str(tesserocr.tesseract_version()).splitlines()[0]
        detail = f"tesserocr {metadata.version('tesserocr')} with {version}"
        checks.append(Check(Status.OK, "tesserocr", detail))
    except Exception as e:
        status = Status.FAIL if settings.backend == TESSEROCR else Status.WARN
        checks.append(Check(status, "tesserocr", f"cannot be used ({e})"))
    cli = _version(["tesseract", "--version"])
    if cli is not None:
        checks.append(Check(Status.OK, "tesseract CLI", f"{cli} ({shutil.which('tesseract')})"))
    else:
        status = Status.FAIL if settings.backend == PYTESSERACT else Status.WARN
        checks.append(
            Check(status, "tesseract CLI", "not found (needed by the pytesseract backend)")
        )
    return checks


def check_languages(settings: Settings) -> list[Check]:
    """System language data, the operator's models, the default languages, OSD."""
    try:
        system = find_system_tessdata(settings.tessdata_dir)
    except FileNotFoundError as e:
        return [Check(Status.FAIL, "languages", str(e))]
    found = installed_languages(system)
    checks = [Check(Status.OK, "languages", f"{len(found)} in {system}: {', '.join(found)}")]
    model_checks, models = check_models(settings)
    checks += model_checks
    missing = [lang for lang in settings.languages.split("+") if lang not in {*found, *models}]
    if missing:
        checks.append(
            Check(
                Status.FAIL,
                "default languages",
                f"{settings.languages}: {', '.join(missing)} not installed "
                "(install tesseract-ocr-<lang>, add a model, or change TESSERA_LANGUAGES)",
            )
        )
    else:
        checks.append(Check(Status.OK, "default languages", settings.languages))
    if (system / "osd.traineddata").exists():
        checks.append(Check(Status.OK, "osd", "orientation detection: pages are turned upright"))
    else:
        checks.append(
            Check(Status.WARN, "osd", "no osd.traineddata: rotated pages are read as they lie")
        )
    return checks


def check_models(settings: Settings) -> tuple[list[Check], list[str]]:
    """The operator's models, each loaded by Tesseract as the service would; those that load."""
    folder = settings.models_dir
    if folder is None:
        return [Check(Status.OK, "models", "none (TESSERA_MODELS_DIR is not set)")], []
    if not folder.is_dir():
        note = f"{folder} does not exist: only the system's models"
        return [Check(Status.WARN, "models", note)], []
    models = listed(folder)
    checks = []
    good = []
    for model in models:
        problem = model.problem and f"the file {model.problem}"
        problem = problem or load_problem(model.path, model.name)
        if problem is None:
            good.append(model.name)
        else:
            checks.append(Check(Status.WARN, "models", f"{model.path.name} is left out: {problem}"))
    names = ", ".join(good) if good else "none"
    checks.insert(0, Check(Status.OK, "models", f"{len(good)} in {folder}: {names}"))
    return checks, good


def check_pdf() -> list[Check]:
    """PDFium reads PDFs; poppler is the fallback for the few it gives up on."""
    checks = []
    try:
        import pypdfium2

        info = getattr(pypdfium2, "PDFIUM_INFO", "")
        detail = f"pypdfium2 {metadata.version('pypdfium2')}" + (
            f" (PDFium {info})" if info else ""
        )
        checks.append(Check(Status.OK, "pdfium", detail))
    except Exception as e:
        checks.append(Check(Status.FAIL, "pdfium", f"pypdfium2 cannot be used ({e})"))
    poppler = _version(["pdftoppm", "-v"])
    if poppler is not None:
        checks.append(Check(Status.OK, "poppler", poppler))
    else:
        checks.append(
            Check(Status.WARN, "poppler", "no pdftoppm: PDFs PDFium cannot render will fail")
        )
    return checks


def _existing(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def check_data_dir(settings: Settings) -> list[Check]:
    """The data directory: there or creatable, writable, with room."""
    folder = settings.data_dir.resolve()
    base = _existing(folder)
    if not base.is_dir():
        return [Check(Status.FAIL, "data dir", f"{folder}: {base} is not a directory")]
    try:
        with tempfile.NamedTemporaryFile(dir=base, prefix=".doctor-"):
            pass
    except OSError as e:
        return [Check(Status.FAIL, "data dir", f"{folder} is not writable ({e.strerror})")]
    free = shutil.disk_usage(base).free
    note = "" if folder.exists() else " (will be created)"
    detail = f"{folder} writable{note}, {free / GB:.1f} GB free"
    if free < settings.min_free_bytes:
        return [
            Check(Status.FAIL, "data dir", f"{detail}: below TESSERA_MIN_FREE_MB, work is refused")
        ]
    if free < 10 * settings.min_free_bytes:
        return [Check(Status.WARN, "data dir", f"{detail}: little room left")]
    return [Check(Status.OK, "data dir", detail)]


async def _postgres_version(url: str) -> str:
    import asyncpg

    conn = await asyncpg.connect(url, timeout=5)
    try:
        return str(await conn.fetchval("SHOW server_version"))
    finally:
        await conn.close()


def check_database(settings: Settings) -> list[Check]:
    """The job store the service would open: PostgreSQL when a URL is set, else SQLite."""
    if settings.database_url:
        shown = settings.database_url.split("@")[-1]  # no password on screen
        try:
            version = asyncio.run(asyncio.wait_for(_postgres_version(settings.database_url), 10))
        except Exception as e:
            reason = str(e) or type(e).__name__
            return [Check(Status.FAIL, "database", f"PostgreSQL at {shown} unreachable: {reason}")]
        return [Check(Status.OK, "database", f"PostgreSQL {version} at {shown}")]
    path = settings.data_dir.resolve() / "tessera.db"
    if not path.exists():
        return [Check(Status.OK, "database", f"SQLite {path} (will be created)")]
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
        try:
            db.execute("SELECT count(*) FROM sqlite_master").fetchone()
        finally:
            db.close()
    except sqlite3.Error as e:
        return [Check(Status.FAIL, "database", f"SQLite {path} cannot be read: {e}")]
    return [Check(Status.OK, "database", f"SQLite {path}")]


def check_keys(settings: Settings) -> list[Check]:
    if settings.api_keys:
        return [Check(Status.OK, "keys", f"{len(settings.api_keys)} API key(s) configured")]
    where = f"{settings.host}:{settings.port}"
    return [Check(Status.WARN, "keys", f"none: anyone who reaches {where} can use the service")]


def _memory_bytes() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def check_workers(settings: Settings) -> list[Check]:
    cpus = os.cpu_count() or 1
    memory = _memory_bytes()
    limit = settings.worker_memory_mb
    shown = f"{limit} MB each" if limit else "no limit each"
    detail = f"{settings.workers} workers ({shown}) on {cpus} CPUs"
    if memory is not None:
        detail += f", {memory / GB:.1f} GB memory"
    if settings.workers > cpus:
        return [Check(Status.WARN, "workers", f"{detail}: more workers than CPUs")]
    if memory is not None and limit * MB * settings.workers > memory:
        return [Check(Status.WARN, "workers", f"{detail}: the limits add up to more than memory")]
    return [Check(Status.OK, "workers", detail)]


CHECKS: tuple[Callable[[Settings], list[Check]], ...] = (
    check_tesseract,
    check_languages,
    lambda _settings: check_pdf(),
    check_data_dir,
    check_database,
    check_keys,
    check_workers,
)


def run(settings: Settings) -> list[Check]:
    """Every check, in the order they are shown."""
    return [check for step in CHECKS for check in step(settings)]


def report(checks: list[Check]) -> str:
    lines = [f"tessera {__version__}: what this installation can do"]
    lines += [f"{c.status.value:<5} {c.what:<18} {c.detail}" for c in checks]
    failed = sum(c.status is Status.FAIL for c in checks)
    warned = sum(c.status is Status.WARN for c in checks)
    if failed:
        lines.append(f"{failed} problem(s) stop the service from working; {warned} warning(s)")
    else:
        lines.append(f"ready to serve; {warned} warning(s)")
    return "\n".join(lines)
