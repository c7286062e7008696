"""`tessera ocr FILE`: the OCR core from the command line, no server."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO
from tools import corpus

pytestmark = pytest.mark.ocr  # runs Tesseract


def _tessera(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "server", *args],
        cwd=REPO,
        text=True,
        capture_output=True,
        timeout=180,
    )


def test_prints_markdown_of_an_image(tmp_path: Path) -> None:
    path = tmp_path / "note.png"
    corpus.text_image(["Command line works"]).save(path)
    done = _tessera("ocr", str(path), "--workers", "1")
    assert done.returncode == 0, done.stderr
    assert "Command line works" in done.stdout


def test_json_pages_and_progress(tmp_path: Path) -> None:
    path = corpus.text_pdf(
        tmp_path / "doc.pdf", [["Page zero"], ["Page one"], ["Page two"]], font_size=24
    )
    done = _tessera(
        "ocr", str(path), "--pages", "1-2", "--lang", "eng", "--json", "--backend", "pytesseract"
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert [p["index"] for p in result["pages"]] == [1, 2]
    assert "Page one" in result["pages"][0]["markdown"]
    assert result["model"] == "eng"
    assert "2/2 pages" in done.stderr


def test_errors_are_one_line(tmp_path: Path) -> None:
    missing = _tessera("ocr", str(tmp_path / "nothing.pdf"))
    assert missing.returncode != 0 and "no such file" in missing.stderr
    text = tmp_path / "a.txt"
    text.write_text("plain text")
    refused = _tessera("ocr", str(text))
    assert refused.returncode == 1
    assert "neither a PDF nor a supported image" in refused.stderr
    assert "Traceback" not in refused.stderr
    language = _tessera("ocr", str(text), "--lang", "xx")
    assert language.returncode == 1
    # Whatever else this machine has, eng is installed by `make`, and is named.
    assert re.search(r"not installed: xx\. Installed: [^.]*\beng\b", language.stderr)
