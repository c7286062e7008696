"""`tessera doctor` on a healthy installation and on broken ones."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, free_port

pytestmark = pytest.mark.ocr  # loads Tesseract's models


def doctor(tmp_path: Path, script: str = "", **env: str) -> subprocess.CompletedProcess[str]:
    """`tessera doctor` with a data directory of its own and `TESSERA_*` settings from `env`.

    `script`, if given, is bash run first in a mount namespace of the doctor's own.
    """
    settings = {k: v for k, v in os.environ.items() if not k.startswith("TESSERA_")}
    settings["TESSERA_DATA_DIR"] = str(tmp_path / "data")
    settings.update(env)
    command = [sys.executable, "-m", "server", "doctor"]
    if script:
        command = ["unshare", "--mount", "bash", "-ec", f'{script}\nexec "$@"', "-", *command]
    return subprocess.run(
        command, cwd=REPO, env=settings, capture_output=True, text=True, timeout=120
    )


def line(out: str, what: str) -> str:
    """The doctor's line about `what`."""
    found = re.findall(rf"(?m)^(OK|WARN|FAIL) +{re.escape(what)}  +(.*)$", out)
    assert found, f"no line about {what}:\n{out}"
    return " ".join(f"{status} {detail}" for status, detail in found)


def test_a_healthy_installation(tmp_path: Path) -> None:
    models = tmp_path / "models"
    models.mkdir()
    shutil.copy(
        Path("/usr/share/tesseract-ocr/5/tessdata/eng.traineddata"), models / "x.traineddata"
    )
    done = doctor(tmp_path, TESSERA_MODELS_DIR=str(models), TESSERA_API_KEYS="k1,k2")
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert "FAIL" not in out and "ready to serve" in out
    assert line(out, "tesserocr").startswith("OK tesserocr")
    assert re.search(r"OK \d+ in \S+: .*\beng\b", line(out, "languages"))
    assert line(out, "models") == f"OK 1 in {models}: x"
    assert line(out, "default languages") == "OK eng"
    assert line(out, "osd").startswith("OK")
    assert line(out, "pdfium").startswith("OK pypdfium2")
    assert line(out, "poppler").startswith("OK pdftoppm")
    assert re.fullmatch(
        r"OK \S+ writable \(will be created\), [\d.]+ GB free", line(out, "data dir")
    )
    assert line(out, "database").startswith("OK SQLite")
    assert line(out, "keys") == "OK 2 API key(s) configured"
    assert line(out, "workers").startswith(("OK", "WARN"))
    assert len(out.splitlines()) < 25  # one screen


def test_no_language_data(tmp_path: Path) -> None:
    empty = tmp_path / "tessdata"
    empty.mkdir()
    done = doctor(tmp_path, TESSERA_TESSDATA_DIR=str(empty))
    assert done.returncode == 1
    assert line(done.stdout, "languages").startswith("FAIL no Tesseract language data")
    assert "1 problem(s)" in done.stdout


def test_a_default_language_not_installed_and_a_damaged_model(tmp_path: Path) -> None:
    models = tmp_path / "models"
    models.mkdir()
    (models / "bad.traineddata").write_bytes(b"\0" * 100)
    done = doctor(tmp_path, TESSERA_LANGUAGES="eng+xyz", TESSERA_MODELS_DIR=str(models))
    assert done.returncode == 1
    assert "FAIL eng+xyz: xyz not installed" in line(done.stdout, "default languages")
    assert "WARN bad.traineddata is left out" in line(done.stdout, "models")


@pytest.mark.skipif(os.geteuid() != 0, reason="a read-only mount needs root")
def test_an_unwritable_data_directory(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    # Root writes through file modes, so the directory is made read-only by a mount.
    done = doctor(tmp_path, f"mount --bind {data} {data}; mount -o remount,bind,ro {data}")
    assert done.returncode == 1
    assert re.match(
        r"FAIL \S+ is not writable \(Read-only file system\)", line(done.stdout, "data dir")
    )


def test_an_unreachable_database(tmp_path: Path) -> None:
    url = f"postgresql://tessera:secret@127.0.0.1:{free_port()}/tessera"
    done = doctor(tmp_path, TESSERA_DATABASE_URL=url)
    assert done.returncode == 1
    said = line(done.stdout, "database")
    assert said.startswith("FAIL PostgreSQL at 127.0.0.1:") and "unreachable" in said
    assert "secret" not in done.stdout


@pytest.mark.postgres
def test_a_reachable_database(tmp_path: Path, postgres_url: str) -> None:
    done = doctor(tmp_path, TESSERA_DATABASE_URL=postgres_url)
    assert re.match(r"OK PostgreSQL \d+", line(done.stdout, "database")), done.stdout
