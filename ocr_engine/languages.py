"""Tesseract's language data: where it lives, what is installed, and which model names select it.

A model name is `[provider/]name`; `name` is `tesseract` (the default languages),
`tesseract-eng+deu`, a bare `eng+deu`, or an operator's alias for one of these.
"""

from __future__ import annotations

import logging
import os
import struct
from pathlib import Path

from .errors import InvalidRequest

log = logging.getLogger(__name__)

SYSTEM_TESSDATA = (
    "/usr/share/tesseract-ocr/5/tessdata",
    "/usr/share/tesseract-ocr/4.00/tessdata",
    "/usr/share/tessdata",
    "/usr/local/share/tessdata",
    "/opt/homebrew/share/tessdata",
)
MODEL_PREFIX = "tesseract"
# Tesseract's own data for orientation detection and equations, not scripts to read.
NOT_LANGUAGES = frozenset({"osd", "equ"})
TRAINEDDATA = ".traineddata"
_MAX_ENTRIES = 1000  # Tesseract's own bound on a traineddata file's table of contents


def find_system_tessdata(explicit: Path | None = None) -> Path:
    """The directory holding the system's traineddata files."""
    candidates = [explicit] if explicit else [Path(p) for p in SYSTEM_TESSDATA]
    for candidate in candidates:
        if candidate is not None and any(candidate.glob("*.traineddata")):
            return candidate
    where = explicit or ", ".join(SYSTEM_TESSDATA)
    raise FileNotFoundError(
        f"no Tesseract language data (*.traineddata) found in {where}; "
        "install tesseract-ocr-eng or set TESSERA_TESSDATA_DIR"
    )


def traineddata_problem(path: Path) -> str | None:
    """Why Tesseract would not load this traineddata file, as far as its layout tells; None if
    it looks whole.

    The file opens with a count of entries and a table of their offsets (the layout
    Tesseract's TessdataManager reads); a truncated or foreign file fails here cheaply, before
    a worker tries to load it.
    """
    try:
        size = path.stat().st_size
        with path.open("rb") as f:
            head = f.read(4 + 8 * _MAX_ENTRIES)
    except OSError as e:
        return f"cannot be read ({e.strerror})"
    if len(head) < 4:
        return "is too short to be a traineddata file"
    for order in "<>":
        (count,) = struct.unpack(order + "I", head[:4])
        if 0 < count <= _MAX_ENTRIES:
            break
    else:
        return "is not a traineddata file (no table of contents)"
    table = 4 + 8 * count
    if len(head) < table:
        return "is cut short inside its table of contents"
    offsets = [o for o in struct.unpack(f"{order}{count}q", head[4:table]) if o != -1]
    if not offsets:
        return "holds no model"
    if offsets != sorted(offsets) or offsets[0] < table or offsets[-1] >= size:
        return "is cut short or damaged (its table of contents points past its end)"
    return None


def prepare_tessdata(system: Path, models: Path | None, target: Path) -> Path:
    """One tessdata directory for Tesseract: the system's, overlaid with an operator's models.

    Tesseract takes a single data path, so operator models (fine-tuned or `best` data copied in
    offline) are linked beside the system's files, the operator's winning on a name clash. A
    model that is damaged or named as Tesseract's own data, or a models directory that is
    missing, is logged and left out: one bad file must not stop the service.
    """
    if models is None:
        return system
    if not models.is_dir():
        log.warning("the models directory %s does not exist; only the system's models", models)
        return system
    target.mkdir(parents=True, exist_ok=True)
    for old in target.iterdir():
        if old.is_symlink():
            old.unlink()
    for source in (system, models):
        for entry in source.iterdir():
            if source is models and entry.name.endswith(TRAINEDDATA):
                problem = model_problem(entry)
                if problem is not None:
                    log.warning("model %s left out: the file %s", entry, problem)
                    continue
            link = target / entry.name
            if link.is_symlink():
                link.unlink()
            os.symlink(entry.resolve(), link)
    return target


def model_problem(path: Path) -> str | None:
    """Why an operator's model must be left out; None if it may stand beside the system's.
    One named as Tesseract's own data would take its place: a language model as `osd`
    crashed every worker that detected a page's orientation."""
    if path.name.removesuffix(TRAINEDDATA) in NOT_LANGUAGES:
        return "takes the name of Tesseract's own data, which is no language"
    return traineddata_problem(path)


def installed_languages(tessdata: Path) -> list[str]:
    """The recognition languages installed in a tessdata directory."""
    return sorted(
        p.name.removesuffix(".traineddata")
        for p in tessdata.glob("*.traineddata")
        if p.name.removesuffix(".traineddata") not in NOT_LANGUAGES
    )


def resolve_model(
    model: str, *, default: str, aliases: dict[str, str], installed: list[str]
) -> str:
    """The Tesseract language string (`eng+deu`) a model name selects."""
    name = aliases.get(model.strip(), model.strip())
    if "/" in name:
        name = name.split("/", 1)[1]  # the provider prefix means nothing here
    name = aliases.get(name, name)
    if name == MODEL_PREFIX:
        languages = default
    elif name.startswith(MODEL_PREFIX + "-"):
        languages = name[len(MODEL_PREFIX) + 1 :]
    else:
        languages = name
    parts = list(dict.fromkeys(languages.split("+")))  # each once, the first asked first
    unknown = [p for p in parts if p not in installed]
    if unknown or not languages:
        raise InvalidRequest(
            f"The model '{model}' asks for language(s) that are not installed: "
            f"{', '.join(unknown) or '(none)'}. Installed: {', '.join(installed)}. "
            f"Use '{MODEL_PREFIX}', '{MODEL_PREFIX}-<lang>[+<lang>...]' or a bare "
            "language list such as 'eng'.",
            param="model",
        )
    return "+".join(parts)


def model_ids(installed: list[str], aliases: dict[str, str]) -> list[str]:
    """The model names on offer: the default, one per language, and the aliases."""
    return [MODEL_PREFIX, *(f"{MODEL_PREFIX}-{lang}" for lang in installed), *sorted(aliases)]
