"""`tessera ocr FILE`: the OCR core from the command line, no server."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import struct
import subprocess
import sys
import termios
from pathlib import Path
from typing import Any

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


def _tessera_on_a_terminal(*args: str, stdout: Path) -> tuple[int, str]:
    """Run the CLI with stderr on a pseudo-terminal, as at a shell: its exit code and what it
    drew there."""
    control, terminal = pty.openpty()
    # A new pseudo-terminal is 0 columns wide; a shell's window is not.
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    with stdout.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "server", *args], cwd=REPO, stdout=out, stderr=terminal
        )
    os.close(terminal)
    drawn = b""
    while True:
        try:
            chunk = os.read(control, 4096)
        except OSError:  # the terminal's other end closed: the process is gone
            break
        if not chunk:
            break
        drawn += chunk
    os.close(control)
    return process.wait(timeout=180), drawn.decode(errors="replace")


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
    args = ("ocr", str(path), "--pages", "1-2", "--lang", "eng", "--json")
    code, drawn = _tessera_on_a_terminal(
        *args, "--backend", "pytesseract", stdout=tmp_path / "out.json"
    )
    assert code == 0, drawn
    result = json.loads((tmp_path / "out.json").read_text())
    assert [p["index"] for p in result["pages"]] == [1, 2]
    assert "Page one" in result["pages"][0]["markdown"]
    assert result["model"] == "eng"
    # Pages done of the total, the rate, and the time taken and left.
    assert re.search(r"doc\.pdf: 100%.* 2/2 \[\d\d:\d\d<00:00, +[\d.]+(page/s|s/page)\]", drawn), (
        drawn
    )

    piped = _tessera(*args, "--workers", "1")  # stderr a pipe: no bar in a log
    assert piped.returncode == 0, piped.stderr
    assert "2/2" not in piped.stderr and "page/s" not in piped.stderr


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


@pytest.mark.parametrize(
    ("suffix", "check"),
    [
        (".pdf", lambda data: data.startswith(b"%PDF")),
        (".hocr", lambda data: b"ocrx_word" in data),
        (".html", lambda data: b"ocrx_word" in data),
        (".xml", lambda data: b"alto/ns-v4#" in data),
        (".txt", lambda data: data.endswith(b"\f")),
        (".md", lambda data: data.startswith(b"Written by suffix")),
        (".json", lambda data: json.loads(data)["pages"][0]["index"] == 0),
    ],
)
def test_writes_the_format_its_output_file_names(tmp_path: Path, suffix: str, check: Any) -> None:
    source = tmp_path / "in.png"
    corpus.text_image(["Written by suffix"]).save(source)
    out = tmp_path / f"out{suffix}"
    done = _tessera("ocr", str(source), "-o", str(out), "--workers", "1")
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    data = out.read_bytes()
    assert check(data), data[:200]
    if suffix == ".pdf":  # its text is in the PDF's text layer, read back by poppler
        data = subprocess.run(["pdftotext", str(out), "-"], capture_output=True).stdout
    assert b"Written" in data and b"suffix" in data


def test_a_searchable_pdf_from_a_scan(tmp_path: Path) -> None:
    scan = corpus.scanned_pages_pdf(
        tmp_path / "scan.pdf", [corpus.letter_page(["Command line PDF"])]
    )
    out = tmp_path / "searchable.pdf"
    done = _tessera("ocr", str(scan), "-o", str(out))
    assert done.returncode == 0, done.stderr
    text = subprocess.run(["pdftotext", str(out), "-"], capture_output=True, text=True).stdout
    assert text.split() == ["Command", "line", "PDF"]
    listed = [
        subprocess.run(["pdfimages", "-list", str(p)], capture_output=True, text=True).stdout
        for p in (scan, out)
    ]
    assert [line.split()[3:6] for line in listed[0].splitlines()[2:]] == [
        line.split()[3:6] for line in listed[1].splitlines()[2:]
    ]


def test_format_flag_and_unknown_suffix(tmp_path: Path) -> None:
    source = tmp_path / "in.png"
    corpus.text_image(["Format flag"]).save(source)
    done = _tessera("ocr", str(source), "--format", "txt", "--workers", "1")
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["Format", "flag"] and done.stdout.endswith("\f")
    unknown = _tessera("ocr", str(source), "-o", str(tmp_path / "out.docx"))
    assert unknown.returncode != 0
    assert "cannot tell the format" in unknown.stderr and "--format" in unknown.stderr
    assert not (tmp_path / "out.docx").exists()


def test_the_pytesseract_backend_needs_the_tesseract_command(tmp_path: Path) -> None:
    # A PATH with Python but no tesseract: the service refuses to start, in a sentence.
    bare = tmp_path / "bin"
    bare.mkdir()
    (bare / "python").symlink_to(sys.executable)
    done = subprocess.run(
        [sys.executable, "-m", "server", "serve", "--backend", "pytesseract", "--port", "0"],
        cwd=REPO,
        env={**os.environ, "PATH": str(bare)},
        text=True,
        capture_output=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert "tesseract command, which is not on the PATH" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr


def test_a_tesseract_command_gone_later_fails_the_page_in_words(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import pytesseract

    from ocr_engine.errors import InternalError
    from ocr_engine.languages import find_system_tessdata
    from ocr_engine.recognize import PytesseractRecognizer

    monkeypatch.setattr(pytesseract.pytesseract, "tesseract_cmd", str(tmp_path / "tesseract"))
    reader = PytesseractRecognizer(str(find_system_tessdata()))
    page = corpus.text_image(["Gone"])
    for read in (
        lambda: reader.tsv(page, languages="eng", dpi=300, timeout=30),
        lambda: reader.orientation(page, dpi=300, timeout=30),
    ):
        with pytest.raises(InternalError, match="tesseract command is gone") as caught:
            read()
        assert "README" not in str(caught.value)


def test_inputs_and_outputs_it_cannot_use_are_one_line(tmp_path: Path) -> None:
    # An output it could not write (a directory, a read-only file system, a full disk) ended
    # in a traceback, after the whole document was read; a directory as input was "no such
    # file".
    source = tmp_path / "in.png"
    corpus.text_image(["Nowhere to go"]).save(source)
    folder = tmp_path / "out.txt"
    folder.mkdir()
    for args, said in [
        (["-o", str(folder)], f"{folder} is a directory"),
        (["-o", str(folder), "--format", "md"], f"{folder} is a directory"),
        (["-o", "/proc/out.txt"], "cannot write /proc/out.txt: No such file or directory"),
        (["-o", "/proc/out.md"], "cannot write /proc/out.md: No such file or directory"),
        (["-o", "/dev/full", "--format", "md"], "cannot write /dev/full: No space left"),
        (["-o", "/dev/full", "--format", "txt"], "cannot write /dev/full: No space left"),
    ]:
        done = _tessera("ocr", str(source), "--workers", "1", *args)
        assert done.returncode == 1, args
        assert done.stderr.startswith(f"tessera: {said}") and done.stderr.count("\n") == 1
    assert list(folder.iterdir()) == []
    # A name ending in a slash names a directory: Path() dropped the slash, and a file was
    # written under the name without it (over an existing one too).
    kept = tmp_path / "kept.md"
    kept.write_text("mine")
    for output in (f"{tmp_path}/new/", f"{kept}/", f"{tmp_path}/new.pdf/"):
        done = _tessera("ocr", str(source), "--workers", "1", "-o", output, "--format", "md")
        assert done.returncode == 1, output
        assert done.stderr == f"tessera: {output} names a directory; name the file to write\n"
    assert not (tmp_path / "new").exists() and not (tmp_path / "new.pdf").exists()
    assert kept.read_text() == "mine"
    directory = _tessera("ocr", str(tmp_path))
    assert (
        directory.returncode == 1
        and directory.stderr == f"tessera: {tmp_path} is not a regular file\n"
    )
    with open("/dev/full", "wb") as full:
        done = subprocess.run(
            [sys.executable, "-m", "server", "ocr", str(source), "--workers", "1"],
            cwd=REPO,
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            timeout=180,
        )
    assert done.returncode == 1
    assert done.stderr == "tessera: cannot write standard output: No space left on device\n"


def test_an_output_that_is_a_link_to_a_stream_is_written_into(tmp_path: Path) -> None:
    # `-o /dev/stdout --format pdf` renamed the written file over /dev/stdout: as root, the
    # machine's /dev/stdout was a plain file from then on.
    source = tmp_path / "in.png"
    corpus.text_image(["Into the pipe"]).save(source)
    link = tmp_path / "out.txt"
    link.symlink_to("/proc/self/fd/1")
    done = _tessera("ocr", str(source), "-o", str(link), "--workers", "1")
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["Into", "the", "pipe"] and done.stdout.endswith("\f")
    assert link.is_symlink()
