"""Fixtures: the real service in a subprocess on an ephemeral port, and documents to send it."""

from __future__ import annotations

import base64
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from ocr_engine import tasks
from ocr_engine.languages import find_system_tessdata
from ocr_engine.model import Page
from ocr_engine.options import PageOptions
from ocr_engine.recognize import TesserocrRecognizer
from ocr_engine.render.mistral import page_json
from tools import corpus
from tools.databases import ADMIN, create_database, drop_database

REPO = Path(__file__).resolve().parent.parent
_LABEL = re.compile(r'(\w+)="([^"]*)"')
START_TIMEOUT_S = 90.0


def wait_until(
    condition: Callable[[], Any],
    *,
    timeout: float = 60,
    every: float = 0.05,
    what: str = "the condition",
) -> Any:
    """Poll `condition` until it returns something true; that value. Fails after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not hold within {timeout:g} s")
        time.sleep(every)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def refused_start(
    *args: str, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """`tessera serve` on a free port with `args` and `env`, run to its end: a start-up that
    must be refused. Its stderr says why."""
    process = subprocess.run(
        [sys.executable, "-m", "server", "serve", "--port", "0", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert process.returncode != 0
    return process


def data_url(data: bytes, mime: str = "application/octet-stream") -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


def ocr_body(
    data: bytes,
    *,
    kind: str = "document_url",
    mime: str = "application/pdf",
    model: str = "tesseract",
    **fields: Any,
) -> dict[str, Any]:
    """A Mistral OCR request carrying `data` as a data URL."""
    return {"model": model, "document": {"type": kind, kind: data_url(data, mime)}, **fields}


class Server:
    """`tessera serve` in a subprocess, with its own data directory."""

    def __init__(
        self,
        data_dir: Path,
        env: dict[str, str] | None = None,
        workers: int = 2,
        backend: str = "tesserocr",
    ) -> None:
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
            [
                sys.executable,
                "-m",
                "server",
                "serve",
                "--port",
                str(self.port),
                "--data-dir",
                str(self.data_dir),
                "--workers",
                str(self.workers),
                "--backend",
                self.backend,
            ],
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
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

    def metric(self, name: str, **labels: str) -> float:
        """The sum of a metric's samples on this node whose labels include `labels`; 0 when
        none (or when the node is gone)."""
        try:
            text = httpx.get(f"{self.url}/metrics", timeout=10).text
        except httpx.TransportError:
            return 0.0
        total = 0.0
        for line in text.splitlines():
            if not line.startswith(name) or line[len(name) : len(name) + 1] not in ("{", " "):
                continue
            head, _, value = line.rpartition(" ")
            found = dict(_LABEL.findall(head))
            if all(found.get(k) == v for k, v in labels.items()):
                total += float(value)
        return total

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
            before = {pid: _cpu_ticks(pid) for pid in self.worker_pids() if age(pid) > 3}
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


def age(pid: int) -> float:
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


class ServerFactory:
    """Starts services with data directories of their own; stops them all at once."""

    def __init__(self, tmp_path_factory: pytest.TempPathFactory) -> None:
        self._tmp = tmp_path_factory
        self.started: list[Server] = []

    def __call__(
        self,
        env: dict[str, str] | None = None,
        *,
        backend: str = "tesserocr",
        workers: int = 2,
        data_dir: Path | None = None,
    ) -> Server:
        data = data_dir or self._tmp.mktemp("server") / "data"
        server = Server(data, env, workers=workers, backend=backend).start()
        self.started.append(server)
        return server

    def stop_all(self) -> None:
        for server in self.started:
            server.stop(signal.SIGKILL)


@pytest.fixture
def start_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerFactory]:
    """A factory of services that stop when the test ends."""
    factory = ServerFactory(tmp_path_factory)
    yield factory
    factory.stop_all()


@pytest.fixture(scope="module")
def start_module_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerFactory]:
    """A factory of services shared by a module's tests, stopped when the module ends."""
    factory = ServerFactory(tmp_path_factory)
    yield factory
    factory.stop_all()


@pytest.fixture(scope="session")
def _session_servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerFactory]:
    factory = ServerFactory(tmp_path_factory)
    yield factory
    factory.stop_all()


def postgres_database() -> str:
    """A new, empty database on the machine's PostgreSQL; its URL. The caller drops it."""
    try:
        return create_database()
    except (OSError, asyncpg.PostgresError, TimeoutError) as e:
        pytest.skip(
            f"no PostgreSQL server at {ADMIN} ({e}); `make test` expects one "
            "(trust auth, database 'test'), as on CI"
        )


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh database on the machine's PostgreSQL for each test, dropped afterwards."""
    url = postgres_database()
    yield url
    drop_database(url)


@pytest.fixture(scope="session")
def server(_session_servers: ServerFactory) -> Server:
    """The default service, shared by the whole session: tesserocr backend, no keys."""
    return _session_servers()


@pytest.fixture(scope="session", params=["tesserocr", "pytesseract"])
def any_server(
    request: pytest.FixtureRequest, server: Server, _session_servers: ServerFactory
) -> Server:
    """The service on each backend in turn."""
    if request.param == "tesserocr":
        return server
    return _session_servers(backend=request.param)


@pytest.fixture
def client(server: Server) -> Iterator[httpx.Client]:
    with server.client() as c:
        yield c


@pytest.fixture(scope="session")
def recognizer() -> Iterator[TesserocrRecognizer]:
    """One warm Tesseract in this process, for tests that read pages without a server."""
    reader = TesserocrRecognizer(str(find_system_tessdata()))
    yield reader
    reader.close()


def read_page(
    recognizer: TesserocrRecognizer, path: Path, *, kind: str = "image"
) -> tuple[Page, str]:
    """The first page of the file at `path` read as a worker reads it, and its Markdown."""
    task = tasks.PageTask(str(path), kind, None, 0, "eng", 300, 50_000_000, 120, PageOptions())
    page = tasks.recognize_page(task, recognizer)
    return page, str(page_json(page, PageOptions())["markdown"])


@pytest.fixture(scope="session")
def hello_png() -> bytes:
    return corpus.image_bytes(corpus.text_image(["Hello Tessera world", "Second line here"]))


@pytest.fixture(scope="session")
def three_page_pdf(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """A born-digital PDF whose page i says 'Page <word i>'."""
    path = tmp_path_factory.mktemp("docs") / "three.pdf"
    corpus.text_pdf(
        path,
        [
            ["Page alpha", "The quick brown fox"],
            ["Page bravo", "jumps over the lazy dog"],
            ["Page charlie", "Pack my box with five dozen jugs"],
        ],
        font_size=20,
    )
    return path.read_bytes()


# -- markers: what each test needs, so that `make check` can run the quick ones -------------

_SERVICE_FIXTURES = {"start_server", "start_module_server", "server", "any_server", "client"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark tests by the fixtures they use: `service` (starts the real service), `postgres`
    (needs the PostgreSQL server). Modules mark Tesseract runs (`ocr`) themselves."""
    for item in items:
        names = set(getattr(item, "fixturenames", ()))
        if names & _SERVICE_FIXTURES:
            item.add_marker(pytest.mark.service)
        if "postgres_url" in names:
            item.add_marker(pytest.mark.postgres)
