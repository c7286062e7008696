"""Models added offline: `tessera models add/list`, and damaged models that never break the
service."""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from ocr_engine.languages import find_system_tessdata, traineddata_problem
from tests.conftest import REPO, ocr_body
from tools import corpus

ENG = find_system_tessdata() / "eng.traineddata"
# A page whose orientation must be detected to be read.
SIDEWAYS = [
    "This page was scanned on its side",
    "and must be turned upright to read",
    "Orientation detection decides it",
] * 4


def truncated(path: Path) -> Path:
    """eng's model cut short, as by a copy that stopped half-way."""
    path.write_bytes(ENG.read_bytes()[:200_000])
    return path


def garbled(path: Path) -> Path:
    """A sound table of contents over bytes that are no model: only Tesseract can tell."""
    entries = 24
    offsets = [-1] * entries
    offsets[17] = 4 + 8 * entries  # the LSTM model's slot
    header = struct.pack("<I", entries) + struct.pack(f"<{entries}q", *offsets)
    path.write_bytes(header + os.urandom(20_000))
    return path


def _tessera(*args: str, models: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "server", *args],
        cwd=REPO,
        env={**os.environ, "TESSERA_MODELS_DIR": str(models)},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_layout_check_tells_whole_files_from_damaged_ones(tmp_path: Path) -> None:
    assert traineddata_problem(ENG) is None
    assert "cut short" in str(traineddata_problem(truncated(tmp_path / "t.traineddata")))
    (tmp_path / "r.traineddata").write_bytes(b"\xff" * 5000)
    assert "not a traineddata file" in str(traineddata_problem(tmp_path / "r.traineddata"))
    (tmp_path / "e.traineddata").write_bytes(b"")
    assert "too short" in str(traineddata_problem(tmp_path / "e.traineddata"))
    assert traineddata_problem(garbled(tmp_path / "g.traineddata")) is None


@pytest.mark.ocr
def test_add_copies_a_model_that_loads_and_lists_it(tmp_path: Path) -> None:
    models = tmp_path / "models"  # created by the first add
    done = _tessera("models", "add", str(ENG), "--name", "engfine", models=models)
    assert done.returncode == 0, done.stderr
    assert "added engfine" in done.stdout and "tesseract-engfine" in done.stdout
    assert (models / "engfine.traineddata").read_bytes() == ENG.read_bytes()
    again = _tessera("models", "add", str(ENG), "--name", "engfine", models=models)
    assert again.returncode == 1 and "--force" in again.stderr
    forced = _tessera("models", "add", str(ENG), "--name", "engfine", "--force", models=models)
    assert forced.returncode == 0, forced.stderr
    listed = _tessera("models", "list", models=models)
    assert listed.returncode == 0
    assert "engfine" in listed.stdout and "ok" in listed.stdout and "eng" in listed.stdout
    named = _tessera("models", "add", str(ENG), "--name", "eng+deu", models=models)
    assert named.returncode == 1 and "cannot name a model" in named.stderr
    # Tesseract's own data: a language model as 'osd' crashed every orientation detection.
    for reserved in ("osd", "equ"):
        named = _tessera("models", "add", str(ENG), "--name", reserved, models=models)
        assert named.returncode == 1 and "Tesseract's own data" in named.stderr
        assert not (models / f"{reserved}.traineddata").exists()


@pytest.mark.ocr
@pytest.mark.parametrize(
    ("make", "says"),
    [(truncated, "cut short"), (garbled, "Tesseract could not load it")],
)
def test_add_refuses_a_model_that_does_not_load(tmp_path: Path, make: Any, says: str) -> None:
    models = tmp_path / "models"
    models.mkdir()
    source = make(tmp_path / "broken.traineddata")
    done = _tessera("models", "add", str(source), models=models)
    assert done.returncode == 1
    assert "was not added" in done.stderr and says in done.stderr
    assert "Traceback" not in done.stderr
    assert list(models.iterdir()) == []  # nothing copied, no partial file left


def test_add_needs_a_models_directory(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "TESSERA_MODELS_DIR"}
    done = subprocess.run(
        [sys.executable, "-m", "server", "models", "add", str(ENG)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 1 and "TESSERA_MODELS_DIR is not set" in done.stderr


def test_damaged_models_never_break_the_service(
    start_server: Any, tmp_path: Path, hello_png: bytes
) -> None:
    models = tmp_path / "models"
    models.mkdir()
    shutil.copy(ENG, models / "engfine.traineddata")
    truncated(models / "cut.traineddata")
    (models / "junk.traineddata").write_bytes(b"not a model at all")
    # A damaged file that would shadow the default language: the system's eng stays in use.
    truncated(models / "eng.traineddata")
    # A language model in the place of the orientation data crashed the worker on every page
    # whose orientation was asked for: the system's stays in use.
    shutil.copy(ENG, models / "osd.traineddata")
    server = start_server({"TESSERA_MODELS_DIR": str(models)}, workers=1)
    with server.client() as client:
        sideways = corpus.image_bytes(
            corpus.letter_page(SIDEWAYS).transpose(Image.Transpose.ROTATE_90)
        )
        response = client.post("/v1/ocr", json=ocr_body(sideways, mime="image/png"))
        assert response.status_code == 200, response.text
        assert "turned upright" in response.json()["pages"][0]["markdown"]
        ids = {m["id"] for m in client.get("/v1/models").json()["data"]}
        assert {"tesseract", "tesseract-eng", "tesseract-engfine"} <= ids
        assert not ids & {"tesseract-cut", "tesseract-junk"}
        for model in ("tesseract", "tesseract-engfine"):
            response = client.post("/v1/ocr", json=ocr_body(hello_png, model=model))
            assert response.status_code == 200, response.text
            assert "Hello Tessera world" in response.json()["pages"][0]["markdown"]
        refused = client.post("/v1/ocr", json=ocr_body(hello_png, model="tesseract-cut"))
        assert refused.status_code == 400 and "not installed: cut" in refused.text
    assert "model" in server.log() and "cut.traineddata left out" in server.log()
    assert "osd.traineddata left out" in server.log()


def test_a_missing_models_directory_leaves_the_system_models(
    start_server: Any, tmp_path: Path
) -> None:
    server = start_server({"TESSERA_MODELS_DIR": str(tmp_path / "not-yet")}, workers=1)
    with server.client() as client:
        ids = {m["id"] for m in client.get("/v1/models").json()["data"]}
    assert "tesseract-eng" in ids
    assert "does not exist" in server.log()
