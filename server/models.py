"""The operator's models directory: `tessera models add` and `tessera models list`.

A model is added only after Tesseract has loaded it, in a process of its own so that a file
that crashes Tesseract cannot take this one down; the copy is checked where it will live and
renamed into place, so the service never sees half a file.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ocr_engine.languages import NOT_LANGUAGES, TRAINEDDATA, model_problem, traineddata_problem

NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")
LOAD_TIMEOUT_S = 120.0
# Loads one model the way the workers do (tesserocr, default engine mode), then lets it go.
_LOAD = (
    "import sys, tesserocr\n"
    "api = tesserocr.PyTessBaseAPI(path=sys.argv[1], lang=sys.argv[2])\n"
    "api.End()\n"
)


class ModelError(Exception):
    """A model cannot be added; the message says why and what to do."""


@dataclass(frozen=True)
class ModelFile:
    """One `*.traineddata` file of the models directory, and what is wrong with it if anything."""

    name: str
    path: Path
    size: int
    problem: str | None


def load_problem(path: Path, name: str, timeout: float = LOAD_TIMEOUT_S) -> str | None:
    """Why Tesseract cannot load the model at `path` under `name`; None if it loads."""
    problem = traineddata_problem(path)
    if problem is not None:
        return f"the file {problem}"
    with tempfile.TemporaryDirectory() as folder:
        os.symlink(path.resolve(), Path(folder) / f"{name}{TRAINEDDATA}")
        try:
            done = subprocess.run(
                [sys.executable, "-c", _LOAD, folder + "/", name],
                capture_output=True,
                text=True,
                timeout=timeout,
            )
        except subprocess.TimeoutExpired:
            return f"Tesseract did not finish loading it within {timeout:.0f} s"
    if done.returncode == 0:
        return None
    if done.returncode < 0:
        return f"Tesseract crashed loading it (signal {-done.returncode})"
    # tesserocr hides Tesseract's own words; its error names only the folder, which says less.
    return "Tesseract could not load it (damaged, or not a model for this Tesseract)"


def model_name(source: Path, name: str | None) -> str:
    """The language code the model will be known by: `--name`, else the file's name."""
    chosen = name if name is not None else source.name.removesuffix(TRAINEDDATA)
    if not NAME.fullmatch(chosen):
        raise ModelError(
            f"'{chosen}' cannot name a model: use letters, digits, '_' and '-' "
            "(it becomes a language code, as in tesseract-<name>); choose one with --name"
        )
    if chosen in NOT_LANGUAGES:
        # It would take the place of Tesseract's own data (osd: orientation detection).
        raise ModelError(
            f"'{chosen}' cannot name a model: it is the name of Tesseract's own data, which "
            "the service needs as it is; choose another with --name"
        )
    return chosen


def add(source: Path, models_dir: Path, *, name: str | None = None, force: bool = False) -> Path:
    """Copy a traineddata file into the models directory once it loads; its new path."""
    if not source.is_file():
        raise ModelError(f"no such file: {source}")
    chosen = model_name(source, name)
    target = models_dir / f"{chosen}{TRAINEDDATA}"
    if target.exists() and not force:
        raise ModelError(
            f"a model named '{chosen}' is already in {models_dir}; --force replaces it"
        )
    models_dir.mkdir(parents=True, exist_ok=True)
    partial = models_dir / f".{chosen}{TRAINEDDATA}.partial"
    try:
        with source.open("rb") as src, partial.open("wb") as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
            dst.flush()
            os.fsync(dst.fileno())
        partial.chmod(0o644)
        problem = load_problem(partial, chosen)
        if problem is not None:
            raise ModelError(f"{source} was not added: {problem}")
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return target


def listed(models_dir: Path) -> list[ModelFile]:
    """The models in the directory, each with what its layout shows to be wrong, if anything."""
    if not models_dir.is_dir():
        return []
    return [
        ModelFile(
            name=path.name.removesuffix(TRAINEDDATA),
            path=path,
            size=path.stat().st_size,
            problem=model_problem(path),
        )
        for path in sorted(models_dir.glob(f"*{TRAINEDDATA}"))
    ]
