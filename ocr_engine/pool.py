"""A pool of warm worker processes that recognise one page per task.

Each worker owns its Tesseract handles and one end of a pipe. The parent hands out tasks
round-robin across keys (one key per job), so a 300-page document and a burst of one-page
jobs share the workers fairly. Blocking pipe reads run on a thread per busy worker; the
event loop only routes small messages.

A worker that dies (segfault, OOM kill) or overruns its timeout costs that page only: it is
killed, replaced, and the page retried once after a crash; a second crash fails the page.

Workers are numbered 0 to size - 1, and a replacement takes the number of the worker it
replaces, so figures kept per worker (the observer's) stay a fixed set.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import resource
import signal
import time
from collections import deque
from collections.abc import Hashable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any, Protocol

from . import images, pdf
from .errors import (
    CannotStart,
    InternalError,
    PageTimeout,
    TesseraError,
    WorkerCrashed,
    by_name,
)
from .logs import JsonFormatter
from .recognize import Recognizer, make_recognizer
from .tasks import PageTask, Task, run_task

log = logging.getLogger(__name__)

_START_TIMEOUT_S = 120.0
_STOP_TIMEOUT_S = 5.0
_RESPAWN_BACKOFF_S = 1.0
_IDLE_RELEASE_S = 5.0
# Parallelism comes from processes; threads inside each would only fight over cores. Set
# before a worker starts, since OpenBLAS (under numpy) starts a thread per core, each
# reserving tens of MB of the worker's address space, as it loads.
_SINGLE_THREADED = {"OMP_THREAD_LIMIT": "1", "OPENBLAS_NUM_THREADS": "1"}


class WorkerObserver(Protocol):
    """Told what the workers do, for whoever counts it (metrics)."""

    def page_worked(self, worker: int, seconds: float) -> None:
        """Worker number `worker` spent `seconds` reading a page, as timed inside it."""

    def worker_replaced(self) -> None:
        """A worker was replaced after a crash, a timeout or a cancellation."""


@dataclass(frozen=True)
class WorkerConfig:
    """What a worker process needs to start; picklable."""

    backend: str
    tessdata: str
    warm_languages: str
    max_image_pixels: int
    memory_limit_mb: int = 0  # address space per worker; 0 means no limit
    log_level: int = logging.INFO
    log_format: str = "text"  # or "json", like the parent's lines


def _worker_main(conn: Connection, config: WorkerConfig) -> None:
    """A worker process: set up, warm Tesseract, then read tasks until told to stop."""
    try:
        _set_up_process(config)
        recognizer = make_recognizer(config.backend, config.tessdata)
        recognizer.warm(config.warm_languages)
    except TesseraError as e:
        conn.send(("fatal", e.message))
        return
    except Exception as e:  # a library that cannot load (under the memory limit, say)
        limit = f" (within {config.memory_limit_mb} MB)" if config.memory_limit_mb else ""
        conn.send(("fatal", f"{type(e).__name__}: {e}{limit}"))
        return
    conn.send(("ready", os.getpid()))
    try:
        _serve(conn, recognizer)
    finally:
        recognizer.close()


def _set_up_process(config: WorkerConfig) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    logging.basicConfig(
        level=config.log_level, format="%(asctime)s %(levelname)s %(name)s[%(process)d] %(message)s"
    )
    if config.log_format == "json":
        for handler in logging.getLogger().handlers:
            handler.setFormatter(JsonFormatter())
    images.set_pixel_limit(config.max_image_pixels)
    if config.memory_limit_mb:
        # A page that needs more fails (MemoryError, or the worker dies and is replaced)
        # instead of pushing the machine into swap or the kernel's OOM killer.
        limit = config.memory_limit_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def _serve(conn: Connection, recognizer: Recognizer) -> None:
    while True:
        try:
            if not conn.poll(_IDLE_RELEASE_S):
                # Idle: let go of open documents, whose files are deleted when their jobs end.
                pdf.release()
                continue
            task = conn.recv()
        except (EOFError, OSError):
            return  # the parent is gone
        if task is None:
            return
        try:
            conn.send(_reply(task, recognizer))
        except OSError:
            return  # the parent died while this page was being read


def _reply(task: Task, recognizer: Recognizer) -> tuple[Any, ...]:
    """What the parent is sent for a task: its result and the seconds it took here, or the
    error it ended in."""
    started = time.monotonic()
    try:
        return ("ok", run_task(task, recognizer), time.monotonic() - started)
    except TesseraError as e:
        return ("error", type(e).__name__, e.message, e.param)
    except MemoryError:
        return (
            "error",
            "PageFailed",
            f"{_describe(task).capitalize()} needs more memory than a worker may use.",
            "document",
        )
    except Exception:
        # Some library met something in this document it could not handle; the page is
        # lost, not the service, and the traceback is in the log for a bug report.
        log.exception("task %r failed", task)
        return (
            "error",
            "PageFailed",
            f"{_describe(task).capitalize()} could not be read: an "
            "unexpected error occurred while reading it (recorded in Tessera's log).",
            "document",
        )


class _Worker:
    """One worker process; its blocking methods run on the pool's threads."""

    def __init__(self, context: Any, config: WorkerConfig, number: int) -> None:
        self.number = number
        self.conn: Connection
        self.conn, child = context.Pipe()
        self.process: multiprocessing.process.BaseProcess = context.Process(
            target=_worker_main, args=(child, config), name="tessera-worker", daemon=True
        )
        self.process.start()
        child.close()
        self.key: Hashable | None = None
        self.stopped = False  # killed on purpose: its work was called off

    @property
    def pid(self) -> int | None:
        return self.process.pid

    def wait_ready(self, timeout: float) -> None:
        try:
            if not self.conn.poll(timeout):
                raise CannotStart(f"worker {self.pid} did not start within {timeout:.0f} s")
            message = self.conn.recv()
        except (EOFError, OSError):
            # Dead before it could say why: too little memory to start Python, say.
            self.process.join(_STOP_TIMEOUT_S)
            raise CannotStart(
                f"worker {self.pid} exited as it started (exit code {self.process.exitcode}); "
                "is TESSERA_WORKER_MEMORY_MB too small?"
            ) from None
        if message[0] != "ready":
            raise CannotStart(f"worker {self.pid} could not start: {message[1]}")

    def call(self, task: Task, timeout: float) -> tuple[Any, ...]:
        """Send a task and wait for its reply; EOFError or OSError if the worker died."""
        self.conn.send(task)
        if not self.conn.poll(timeout):
            raise TimeoutError
        reply: tuple[Any, ...] = self.conn.recv()
        return reply

    def kill(self) -> None:
        if self.process.is_alive():
            self.process.kill()
        self.process.join(_STOP_TIMEOUT_S)
        self.conn.close()

    def stop(self) -> None:
        with contextlib.suppress(OSError):
            self.conn.send(None)
        self.process.join(_STOP_TIMEOUT_S)
        self.kill()


@dataclass
class _Item:
    task: Task
    future: asyncio.Future[Any]
    timeout: float
    failures: int = 0  # crashes and timeouts so far


class WorkerPool:
    """Warm Tesseract worker processes, fed one page at a time, fairly across keys."""

    def __init__(
        self, config: WorkerConfig, *, size: int, observer: WorkerObserver | None = None
    ) -> None:
        if size < 1:
            raise ValueError("a pool needs at least one worker")
        self.size = size
        self.restarts = 0
        self._config = config
        self._observer = observer
        self._context = multiprocessing.get_context("spawn")
        # A spawned process inherits the environment; this one runs no OCR itself.
        os.environ.update(_SINGLE_THREADED)
        self._queues: dict[Hashable, deque[_Item]] = {}
        self._idle: list[_Worker] = []
        self._workers: set[_Worker] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._closing = False
        self._threads = ThreadPoolExecutor(max_workers=size, thread_name_prefix="tessera-pool")
        self._loop: asyncio.AbstractEventLoop | None = None

    async def start(self) -> None:
        """Start every worker and wait until each has its Tesseract handle warm."""
        self._loop = asyncio.get_running_loop()
        workers = await asyncio.gather(*(self._start_worker(n) for n in range(self.size)))
        self._idle.extend(workers)
        log.info(
            "worker pool ready: %d %s workers, pids %s",
            self.size,
            self._config.backend,
            ", ".join(str(w.pid) for w in workers),
        )

    async def _start_worker(self, number: int) -> _Worker:
        assert self._loop is not None
        return await self._loop.run_in_executor(self._threads, self._start_worker_blocking, number)

    def _start_worker_blocking(self, number: int) -> _Worker:
        worker = _Worker(self._context, self._config, number)
        try:
            worker.wait_ready(_START_TIMEOUT_S)
        except BaseException:
            worker.kill()
            raise
        self._workers.add(worker)
        return worker

    @property
    def pids(self) -> list[int]:
        """The worker processes' ids, busiest first."""
        return [w.pid for w in sorted(self._workers, key=lambda w: w.key is None) if w.pid]

    @property
    def numbered_pids(self) -> dict[int, int]:
        """Each running worker's pid by its number."""
        return {w.number: w.pid for w in sorted(self._workers, key=lambda w: w.number) if w.pid}

    @property
    def busy(self) -> int:
        return len(self._workers) - len(self._idle)

    @property
    def queued(self) -> int:
        return sum(len(q) for q in self._queues.values())

    async def run(self, task: Task, *, key: Hashable, timeout: float) -> Any:
        """Run one task on a worker; raises the TesseraError the worker raised."""
        if self._closing or self._loop is None:
            raise RuntimeError("the worker pool is not running")
        future: asyncio.Future[Any] = self._loop.create_future()
        self._queues.setdefault(key, deque()).append(_Item(task, future, timeout))
        self._dispatch()
        return await future

    def discard(self, key: Hashable) -> None:
        """Drop the queued tasks of `key`; tasks already on a worker finish."""
        for item in self._queues.pop(key, ()):
            item.future.cancel()

    def _next(self) -> tuple[Hashable, _Item] | None:
        # Round-robin over keys: take the first key's next task and move the key to the end.
        while self._queues:
            key = next(iter(self._queues))
            queue = self._queues.pop(key)
            item = None
            while queue and item is None:
                candidate = queue.popleft()
                if not candidate.future.done():
                    item = candidate
            if queue:
                self._queues[key] = queue
            if item is not None:
                return key, item
        return None

    def _dispatch(self) -> None:
        assert self._loop is not None
        while self._idle and not self._closing:
            picked = self._next()
            if picked is None:
                return
            worker = self._idle.pop()
            self._spawn_task(self._execute(worker, *picked))

    def _spawn_task(self, coro: Any) -> None:
        assert self._loop is not None
        task = self._loop.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _execute(self, worker: _Worker, key: Hashable, item: _Item) -> None:
        assert self._loop is not None
        worker.key = key
        healthy = False
        try:
            reply = await self._loop.run_in_executor(
                self._threads, worker.call, item.task, item.timeout
            )
            healthy = True
        except TimeoutError:
            log.warning(
                "worker %s overran %.1f s on %s; killing it",
                worker.pid,
                item.timeout,
                _describe(item.task),
            )
            worker.process.kill()
            self._retry_or_fail(
                key,
                item,
                PageTimeout(
                    f"{_describe(item.task).capitalize()} took longer than the per-page timeout "
                    f"of {item.timeout:g} s, twice.",
                    param="document",
                ),
            )
        except (EOFError, OSError):
            if worker.stopped:
                log.info("worker %s stopped: its work was called off", worker.pid)
                item.future.cancel()
                return
            log.error(
                "worker %s died (exit code %s) on %s",
                worker.pid,
                worker.process.exitcode,
                _describe(item.task),
            )
            self._retry_or_fail(
                key,
                item,
                WorkerCrashed(
                    f"The worker reading {_describe(item.task)} crashed twice (out of memory, or a "
                    "fault in a decoder); the page cannot be read.",
                    param="document",
                ),
            )
        except Exception:
            # Anything else between the two processes (a reply that cannot be unpickled, a
            # wait the pipe cannot make) would leave the page unanswered: it fails, and the
            # worker, in a state no one knows, is replaced.
            log.exception("no reply from worker %s on %s", worker.pid, _describe(item.task))
            worker.process.kill()
            _settle(
                item.future,
                error=InternalError(
                    f"{_describe(item.task).capitalize()} could not be read: the worker's "
                    "reply was lost."
                ),
            )
        else:
            if reply[0] == "ok":
                _settle(item.future, result=reply[1])
                if self._observer is not None and isinstance(item.task, PageTask):
                    self._observer.page_worked(worker.number, reply[2])
            else:
                _, name, message, param = reply
                _settle(item.future, error=by_name(name)(message, param=param))
        finally:
            worker.key = None
            if healthy:
                self._idle.append(worker)
                self._dispatch()
            elif not self._closing:
                self._spawn_task(self._replace(worker))
                self._dispatch()  # a retried page goes to an idle worker, not the replacement

    def _retry_or_fail(self, key: Hashable, item: _Item, error: TesseraError) -> None:
        """A page that took its worker down is tried once more on a fresh worker, then fails."""
        item.failures += 1
        if item.failures < 2 and not item.future.done() and not self._closing:
            self._queues.setdefault(key, deque()).appendleft(item)
        else:
            _settle(item.future, error=error)

    def cancel(self, key: Hashable) -> int:
        """Drop the queued tasks of `key` and kill the workers busy with it; how many killed."""
        self.discard(key)
        busy = [w for w in self._workers if w.key == key]
        for worker in busy:
            worker.stopped = True
            worker.process.kill()  # its thread sees the pipe close; the worker is replaced
        return len(busy)

    async def _replace(self, dead: _Worker) -> None:
        assert self._loop is not None
        self._workers.discard(dead)
        await self._loop.run_in_executor(self._threads, dead.kill)
        while not self._closing:
            try:
                worker = await self._start_worker(dead.number)
            except Exception:
                log.exception("could not start a replacement worker; retrying")
                await asyncio.sleep(_RESPAWN_BACKOFF_S)
                continue
            self.restarts += 1
            if self._observer is not None:
                self._observer.worker_replaced()
            log.info("worker %s replaced by %s", dead.pid, worker.pid)
            self._idle.append(worker)
            self._dispatch()
            return

    async def close(self) -> None:
        """Fail what is queued, stop every worker."""
        self._closing = True
        for queue in self._queues.values():
            for item in queue:
                item.future.cancel()
        self._queues.clear()
        workers = list(self._workers)
        self._workers.clear()
        self._idle.clear()
        if self._loop is not None and workers:
            # Busy workers are killed: their pages stay unfinished and are run again later.
            for worker in workers:
                if worker.key is not None:
                    worker.process.kill()
            await asyncio.gather(*(self._loop.run_in_executor(None, w.stop) for w in workers))
        for task in list(self._tasks):
            task.cancel()
        self._threads.shutdown(wait=False, cancel_futures=True)


def _settle(
    future: asyncio.Future[Any], *, result: Any = None, error: BaseException | None = None
) -> None:
    if future.done():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)


def _describe(task: Task) -> str:
    index = getattr(task, "index", None)
    return f"page {index}" if index is not None else "the document"
