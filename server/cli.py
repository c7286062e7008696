"""`tessera serve` runs the service; `tessera ocr FILE` reads one file on the spot."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import signal
import sys
import tempfile
from pathlib import Path
from typing import Never

from aiohttp import web
from pydantic import ValidationError
from tqdm import tqdm

from ocr_engine import (
    DocumentResult,
    OCREngine,
    OCROptions,
    PageSelection,
    TesseraError,
    parse_pages,
    render,
)
from ocr_engine.errors import CannotStart, InternalError
from ocr_engine.languages import find_system_tessdata, installed_languages, resolve_model
from ocr_engine.options import PageOptions
from ocr_engine.recognize import BACKENDS

from . import __version__, doctor, logs, models
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
    try:
        await site.start()
    except OSError as e:  # the port taken, a host that is no address of this machine's
        await runner.cleanup()
        raise CannotStart(
            f"cannot listen on {settings.host}:{settings.port}: {e.strerror or e}"
        ) from None
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
    except (StoreUnavailable, CannotStart) as e:
        sys.exit(f"tessera: {e}")


class _PageProgress:
    """Pages read, their rate and the time left, on stderr; silent when stderr is not a
    terminal (a pipe or a log file gets no bar)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._bar: tqdm[Never] | None = None

    def __call__(self, done: int, total: int) -> None:
        if total < 2:
            return
        if self._bar is None:
            self._bar = tqdm(total=total, desc=self.name, unit="page", disable=None)
        self._bar.update(done - self._bar.n)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


# What `-o FILE` writes, by the file's suffix; `--format` names one outright.
SUFFIXES = {
    ".md": "md",
    ".markdown": "md",
    ".json": "json",
    ".pdf": "pdf",
    ".hocr": "hocr",
    ".html": "hocr",
    ".xml": "alto",
    ".alto": "alto",
    ".txt": "txt",
}
CLI_FORMATS = ("md", "json", *render.NAMES)


async def _ocr_file(
    settings: Settings,
    path: Path,
    pages: PageSelection | None,
    *,
    model: str,
    fmt: str,
    output: Path | None,
    force: bool,
) -> bytes:
    """The file read, in format `fmt`; written to `output` if there is one, else returned."""
    engine = OCREngine(settings.engine_config())
    languages = resolve_model(
        model,
        default=settings.languages,
        aliases=settings.model_aliases,
        installed=engine.languages,
    )
    options = OCROptions(
        languages=languages, pages=pages, page=PageOptions(mode="force" if force else "auto")
    )
    bar = _PageProgress(path.name)
    started = asyncio.get_running_loop().time()
    await engine.start()
    try:
        result = await engine.run(path, options, key="cli", on_progress=bar)
        bar.close()
        if fmt in render.FORMATS:
            return await _rendered(engine, result, path, fmt, output)
    finally:
        bar.close()
        await engine.close()
    response = ocr_response(result, options.page, model=model, started=started)
    if fmt == "json":
        text = json.dumps(response, ensure_ascii=False, indent=2) + "\n"
    else:
        text = "\n".join(p["markdown"] for p in response["pages"])
        text = text if text.endswith("\n") else text + "\n"
    data = text.encode()
    if output is not None:
        try:
            output.write_bytes(data)
        except OSError as e:
            raise CannotWrite(output, e) from None
    return data


class CannotWrite(Exception):
    """The output could not be written (a read-only or full disk, no permission)."""

    def __init__(self, output: Path | str, error: OSError) -> None:
        super().__init__(f"cannot write {output}: {error.strerror or error}")


async def _rendered(
    engine: OCREngine, result: DocumentResult, path: Path, fmt: str, output: Path | None
) -> bytes:
    """An output file of the engine's, moved to `output` or returned."""
    stream = output is not None and output.exists() and not output.is_file()
    try:
        # Written beside `output`, so that moving it there is atomic; a stream's file is
        # written into, from a temporary folder where temporary files go (not /dev).
        beside = output.parent if output is not None and not stream else None
        folder = tempfile.TemporaryDirectory(dir=beside)
    except OSError as e:
        raise CannotWrite(output or "a temporary file", e) from None
    with folder:
        written = await engine.render(result, path, (fmt,), Path(folder.name), key="cli")
        outcome = written[fmt]
        if isinstance(outcome, str):
            raise InternalError(outcome)
        made = Path(folder.name) / fmt
        if output is None:
            return made.read_bytes()
        try:
            if stream:
                # A device, a FIFO or a link to one (/dev/stdout): written into, not replaced.
                output.write_bytes(made.read_bytes())
            else:
                os.replace(made, output)
        except OSError as e:
            raise CannotWrite(output, e) from None
        return b""


def _format(args: argparse.Namespace) -> str:
    if args.format:
        return str(args.format)
    if args.json:
        return "json"
    if args.output is None or args.output == "-":
        return "md"
    suffix = Path(args.output).suffix.lower()
    if suffix not in SUFFIXES:
        known = ", ".join(SUFFIXES)
        sys.exit(f"tessera: cannot tell the format of {args.output} (known: {known}); use --format")
    return SUFFIXES[suffix]


def ocr(args: argparse.Namespace) -> None:
    settings = _settings(args, ("workers", "backend", "languages", "log_level"))
    _logging("WARNING" if settings.log_level.upper() == "INFO" else settings.log_level)
    path = Path(args.file)
    _check_input(path)
    if args.output not in (None, "-") and args.output.endswith(("/", os.sep)):
        # Path() drops the slash: "new/" was written as a file named "new", and "a.md/"
        # over a.md, where the shell's tools refuse a file name ending in a slash.
        sys.exit(f"tessera: {args.output} names a directory; name the file to write")
    fmt = _format(args)
    output = None if args.output in (None, "-") else Path(args.output)
    if output is not None and not output.parent.is_dir():
        sys.exit(f"tessera: no such directory: {output.parent}")
    if output is not None and output.is_dir():
        sys.exit(f"tessera: {output} is a directory; name the file to write")
    try:
        data = asyncio.run(
            _ocr_file(
                settings,
                path,
                parse_pages(args.pages),
                model=args.lang or "tesseract",
                fmt=fmt,
                output=output,
                force=args.force_ocr,
            )
        )
    except TesseraError as e:
        sys.exit(f"tessera: {e.message}")
    except (CannotWrite, CannotStart) as e:
        sys.exit(f"tessera: {e}")
    except KeyboardInterrupt:
        sys.exit(130)
    if output is None:
        _print(data)


def _check_input(path: Path) -> None:
    """Exit with a sentence unless `path` is a regular file this process can read."""
    if not path.exists():
        sys.exit(f"tessera: no such file: {path}")
    if not path.is_file():
        # A directory, a device or a FIFO (reading one could wait for ever).
        sys.exit(f"tessera: {path} is not a regular file")
    try:
        with path.open("rb"):
            pass
    except OSError as e:
        sys.exit(f"tessera: cannot read {path}: {e.strerror or e}")


def _print(data: bytes) -> None:
    """Write `data` to standard output; a reader that stopped early (`| head`) is no error."""
    try:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    except BrokenPipeError:
        # Python would report the pipe again when it flushes stdout at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)
    except OSError as e:
        sys.exit(f"tessera: cannot write standard output: {e.strerror or e}")


def run_doctor(args: argparse.Namespace) -> None:
    checks = doctor.run(_settings(args, ()))
    print(doctor.report(checks))
    if any(c.status is doctor.Status.FAIL for c in checks):
        sys.exit(1)


def _models_dir(settings: Settings) -> Path:
    if settings.models_dir is None:
        sys.exit(
            "tessera: TESSERA_MODELS_DIR is not set: set it to the directory the service reads "
            "models from (in an installation, in PREFIX/etc/tessera.env)"
        )
    return settings.models_dir


def models_add(args: argparse.Namespace) -> None:
    folder = _models_dir(_settings(args, ()))
    try:
        path = models.add(Path(args.file), folder, name=args.name, force=args.force)
    except models.ModelError as e:
        sys.exit(f"tessera: {e}")
    except OSError as e:
        sys.exit(f"tessera: cannot write to {folder}: {e.strerror}")
    name = path.name.removesuffix(".traineddata")
    size = path.stat().st_size / 1e6
    print(f"added {name} ({size:.1f} MB) to {folder}; it loads.")
    print(f"Restart the service to offer it: model 'tesseract-{name}', or '{name}' in a list.")


def models_list(args: argparse.Namespace) -> None:
    settings = _settings(args, ())
    try:
        system = find_system_tessdata(settings.tessdata_dir)
        print(f"system ({system}): {', '.join(installed_languages(system)) or 'none'}")
    except FileNotFoundError as e:
        print(f"system: {e}")
    if settings.models_dir is None:
        print("models: TESSERA_MODELS_DIR is not set")
        return
    found = models.listed(settings.models_dir)
    print(f"models ({settings.models_dir}): {len(found) or 'none'}")
    for model in found:
        state = f"left out: the file {model.problem}" if model.problem else "ok"
        print(f"  {model.name:<20} {model.size / 1e6:8.1f} MB  {state}")


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

    o = commands.add_parser(
        "ocr",
        help="read one PDF or image: print its Markdown, or write it as -o FILE",
        description="Read one PDF or image. Without -o, its Markdown is printed; with -o, the "
        "file's suffix picks what is written: .md, .json (the full Mistral-shaped result), "
        ".pdf (searchable PDF), .hocr or .html (hOCR), .xml (ALTO), .txt.",
    )
    o.add_argument("file")
    o.add_argument("-o", "--output", help="where to write the result ('-' for standard output)")
    o.add_argument("--format", choices=CLI_FORMATS, help="what to write, whatever the suffix")
    o.add_argument("--pages", help="0-based pages, e.g. 0,2-4")
    o.add_argument("--lang", help="languages, e.g. eng+deu (default: the configured ones)")
    o.add_argument(
        "--force-ocr", action="store_true", help="OCR every page, even those with a text layer"
    )
    o.add_argument("--json", action="store_true", help="the full JSON result (as --format json)")
    o.add_argument("--workers", type=int)
    o.add_argument("--backend", choices=BACKENDS)
    o.add_argument("--log-level")
    o.set_defaults(run=ocr, languages=None)

    d = commands.add_parser(
        "doctor",
        help="what this installation can do and what is wrong (exit 1 if something needed is)",
    )
    d.set_defaults(run=run_doctor)

    m = commands.add_parser("models", help="the operator's models (TESSERA_MODELS_DIR)")
    model_commands = m.add_subparsers(dest="models_command", required=True)
    add = model_commands.add_parser(
        "add", help="copy a .traineddata file into the models directory once it loads"
    )
    add.add_argument("file")
    add.add_argument("--name", help="the language code to offer it as (default: the file's name)")
    add.add_argument("--force", action="store_true", help="replace a model of the same name")
    add.set_defaults(run=models_add)
    model_commands.add_parser(
        "list", help="the system's languages and the added models"
    ).set_defaults(run=models_list)

    args = parser.parse_args(argv)
    args.run(args)
