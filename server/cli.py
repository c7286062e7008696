"""`tessera serve` runs the service; `tessera ocr FILE` reads one file on the spot."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import signal
import sys
from pathlib import Path
from typing import Any

from aiohttp import web
from pydantic import ValidationError

from ocr_engine import OCREngine, OCROptions, PageSelection, TesseraError, parse_pages
from ocr_engine.languages import resolve_model
from ocr_engine.recognize import BACKENDS

from . import __version__, logs
from .app import create_app
from .appkeys import LIFECYCLE, RUNNER
from .config import Settings
from .errors import StoreUnavailable
from .protocol import AppRunner
from .wire import ocr_response

log = logging.getLogger("tessera")


def _settings(args: argparse.Namespace, names: tuple[str, ...]) -> Settings:
    overrides = {n: getattr(args, n) for n in names if getattr(args, n, None) is not None}
    try:
        return Settings(**overrides)
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        sys.exit(f"tessera: invalid setting {where}: {first['msg']}")


def _logging(level: str, fmt: str = "text") -> None:
    logs.configure(level, fmt)


async def _serve(settings: Settings) -> None:
    app = create_app(settings)
    runner = AppRunner(app, access_log=logging.getLogger("tessera.access"))
    await runner.setup()
    site = web.TCPSite(runner, settings.host, settings.port)
    await site.start()
    for address in runner.addresses:
        log.info(
            "Tessera serving on http://%s:%s (%d %s workers, data in %s)",
            address[0],
            address[1],
            settings.workers,
            settings.backend,
            settings.data_dir.resolve(),
        )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    log.info(
        "shutting down: no new work; running jobs have %.0f s to finish", settings.shutdown_grace
    )
    app[LIFECYCLE].draining = True
    await app[RUNNER].drain(settings.shutdown_grace)
    await runner.cleanup()
    log.info("stopped")


def serve(args: argparse.Namespace) -> None:
    settings = _settings(
        args,
        ("host", "port", "data_dir", "workers", "backend", "languages", "log_level", "log_format"),
    )
    _logging(settings.log_level, settings.log_format)
    try:
        asyncio.run(_serve(settings))
    except StoreUnavailable as e:
        sys.exit(f"tessera: {e}")


class _ProgressBar:
    """A one-line bar on stderr, redrawn in place."""

    WIDTH = 30

    def __init__(self, name: str) -> None:
        self.name = name
        self.shown = False

    def __call__(self, done: int, total: int) -> None:
        if total < 2:
            return
        filled = self.WIDTH * done // total
        sys.stderr.write(
            f"\r{self.name} [{'#' * filled}{'.' * (self.WIDTH - filled)}] {done}/{total} pages"
        )
        sys.stderr.flush()
        self.shown = True

    def close(self) -> None:
        if self.shown:
            sys.stderr.write("\n")


async def _ocr_file(settings: Settings, path: Path, pages: PageSelection | None, model: str) -> Any:
    engine = OCREngine(settings.engine_config())
    languages = resolve_model(
        model,
        default=settings.languages,
        aliases=settings.model_aliases,
        installed=engine.languages,
    )
    options = OCROptions(languages=languages, pages=pages)
    bar = _ProgressBar(path.name)
    started = asyncio.get_running_loop().time()
    await engine.start()
    try:
        result = await engine.run(path, options, key="cli", on_progress=bar)
    finally:
        bar.close()
        await engine.close()
    return ocr_response(result, options.page, model=model, started=started)


def ocr(args: argparse.Namespace) -> None:
    settings = _settings(args, ("workers", "backend", "languages", "log_level"))
    _logging("WARNING" if settings.log_level.upper() == "INFO" else settings.log_level)
    path = Path(args.file)
    if not path.is_file():
        sys.exit(f"tessera: no such file: {path}")
    try:
        response = asyncio.run(
            _ocr_file(settings, path, parse_pages(args.pages), model=args.lang or "tesseract")
        )
    except TesseraError as e:
        sys.exit(f"tessera: {e.message}")
    except KeyboardInterrupt:
        sys.exit(130)
    if args.json:
        json.dump(response, sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
    else:
        text = "\n".join(p["markdown"] for p in response["pages"])
        sys.stdout.write(text if text.endswith("\n") else text + "\n")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="tessera", description="Offline OCR worker.")
    parser.add_argument("--version", action="version", version=f"tessera {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    s = commands.add_parser("serve", help="run the HTTP service")
    s.add_argument("--host")
    s.add_argument("--port", type=int)
    s.add_argument("--data-dir", type=Path)
    s.add_argument("--workers", type=int)
    s.add_argument("--backend", choices=BACKENDS)
    s.add_argument("--languages", help="default languages, e.g. eng or eng+deu")
    s.add_argument("--log-level")
    s.add_argument(
        "--log-format",
        choices=logs.FORMATS,
        help="text (default) or json: one object per line, with job_id",
    )
    s.set_defaults(run=serve)

    o = commands.add_parser("ocr", help="print the Markdown of one PDF or image")
    o.add_argument("file")
    o.add_argument("--pages", help="0-based pages, e.g. 0,2-4")
    o.add_argument("--lang", help="languages, e.g. eng+deu (default: the configured ones)")
    o.add_argument("--json", action="store_true", help="print the full JSON result")
    o.add_argument("--workers", type=int)
    o.add_argument("--backend", choices=BACKENDS)
    o.add_argument("--log-level")
    o.set_defaults(run=ocr, languages=None)

    args = parser.parse_args(argv)
    args.run(args)
