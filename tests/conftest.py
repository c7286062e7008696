"""Fixtures: the real service in a subprocess on an ephemeral port, and documents to send it."""

from __future__ import annotations

import base64
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests import corpus

REPO = Path(__file__).resolve().parent.parent
START_TIMEOUT_S = 90.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def data_url(data: bytes, mime: str = "application/octet-stream") -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


def ocr_body(data: bytes, *, kind: str = "document_url", mime: str = "application/pdf",
             model: str = "tesseract", **fields: Any) -> dict[str, Any]:
    """A Mistral OCR request carrying `data` as a data URL."""
    return {"model": model, "document": {"type": kind, kind: data_url(data, mime)}, **fields}


class Server:
    """`tessera serve` in a subprocess, with its own data directory."""

    def __init__(self, data_dir: Path, env: dict[str, str] | None = None,
                 workers: int = 2, backend: str = "tesserocr") -> None:
        self.data_dir = data_dir
        self.extra_env = env or {}
        self.workers = workers
        self.backend = backend
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = data_dir.parent / f"{data_dir.name}.log"

    def start(self) -> Server:
        env = {**os.environ, "TESSERA_LOG_LEVEL": "INFO", **self.extra_env}
        log = open(self.log_path, "ab")  # noqa: SIM115 - the subprocess owns it
        self.process = subprocess.Popen(
            [sys.executable, "-m", "server", "serve", "--port", str(self.port),
             "--data-dir", str(self.data_dir), "--workers", str(self.workers),
             "--backend", self.backend],
            cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited with {self.process.returncode}:\n{self.log()}")
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"server did not start:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self, sig: int = signal.SIGTERM) -> int:
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        return self.process.returncode

    def worker_pids(self) -> list[int]:
        """The worker processes the server runs now."""
        assert self.process is not None
        children: list[int] = []
        for task in Path(f"/proc/{self.process.pid}/task").iterdir():
            children += [int(p) for p in (task / "children").read_text().split()]
        return [pid for pid in children if b"spawn_main" in _cmdline(pid)]

    def busy_worker(self, timeout: float = 60) -> int:
        """The pid of a worker that is using the CPU (reading a page)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            # A worker still starting up also burns CPU; only settled ones count.
            before = {pid: _cpu_ticks(pid) for pid in self.worker_pids() if _age(pid) > 3}
            time.sleep(0.3)
            for pid, ticks in before.items():
                if _cpu_ticks(pid) - ticks >= 10:  # 0.1 s of CPU in 0.3 s
                    return pid
        raise AssertionError("no worker became busy")

    def client(self, key: str | None = None, timeout: float = 120) -> httpx.Client:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=timeout)

    def wait_job(self, client: httpx.Client, job_id: str, timeout: float = 120) -> httpx.Response:
        """Poll until the job has finished; the final response."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            response = client.get(f"/v1/async/ocr/{job_id}")
            if response.status_code != 202:
                return response
            time.sleep(0.1)
        raise AssertionError(f"job {job_id} did not finish within {timeout} s")


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def _age(pid: int) -> float:
    """Seconds since the process started."""
    try:
        started = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19])
        uptime = float(Path("/proc/uptime").read_text().split()[0])
    except OSError:
        return 0.0
    return uptime - started / os.sysconf("SC_CLK_TCK")


def _cpu_ticks(pid: int) -> int:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    return int(fields[11]) + int(fields[12])  # utime + stime


@pytest.fixture(scope="session")
def start_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A factory of servers, all stopped at the end of the session."""
    servers: list[Server] = []

    def start(env: dict[str, str] | None = None, *, backend: str = "tesserocr",
              workers: int = 2, data_dir: Path | None = None) -> Server:
        data = data_dir or tmp_path_factory.mktemp("server") / "data"
        server = Server(data, env, workers=workers, backend=backend).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop(signal.SIGKILL)


@pytest.fixture(scope="session")
def server(start_server: Any) -> Server:
    """The default service: tesserocr backend, no keys."""
    return start_server()


@pytest.fixture(scope="session", params=["tesserocr", "pytesseract"])
def any_server(request: pytest.FixtureRequest, server: Server, start_server: Any) -> Server:
    """The service on each backend in turn."""
    if request.param == "tesserocr":
        return server
    return start_server(backend=request.param)


@pytest.fixture
def client(server: Server) -> Iterator[httpx.Client]:
    with server.client() as c:
        yield c


@pytest.fixture(scope="session")
def hello_png() -> bytes:
    return corpus.image_bytes(corpus.text_image(["Hello Tessera world", "Second line here"]))


@pytest.fixture(scope="session")
def three_page_pdf(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """A born-digital PDF whose page i says 'Page <word i>'."""
    path = tmp_path_factory.mktemp("docs") / "three.pdf"
    corpus.text_pdf(path, [["Page alpha", "The quick brown fox"],
                           ["Page bravo", "jumps over the lazy dog"],
                           ["Page charlie", "Pack my box with five dozen jugs"]], font_size=20)
    return path.read_bytes()
