"""The service's long-lived resources, each owned by one aiohttp cleanup context: made before
it `yield`s, closed after. They start in the order `CONTEXTS` lists and stop in reverse."""

from __future__ import annotations

import asyncio
import fcntl
import logging
import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import TextIO

from aiohttp import web

from ocr_engine import OCREngine
from ocr_engine.errors import CannotStart

from . import appkeys as keys
from .batch import BatchDriver, Batches
from .documents import DocumentSpool
from .fetch import Fetcher, client_session
from .files import Files
from .housekeeping import Housekeeper
from .outputs import OutputSpool
from .runner import Runner
from .stores import open_store, sql_for
from .webhooks import Deliverer

log = logging.getLogger(__name__)

LOCK_FILE = "tessera.lock"  # in the data directory, held while a service runs on it


async def data_dir(app: web.Application) -> AsyncIterator[None]:
    """The data directory, held by this service alone while it runs. A second service on it
    took the first's running jobs over as a restarted one does, and deleted the scratch
    files and job documents the first was reading: its jobs failed."""
    lock = await asyncio.to_thread(_claim, app[keys.SETTINGS].data_dir)
    yield
    if lock is not None:
        lock.close()


def _claim(folder: Path) -> TextIO | None:
    """The data directory's lock file, locked and naming this process; None where the file
    system locks nothing."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        lock = open(folder / LOCK_FILE, "a+")  # noqa: SIM115 - held until the service stops
    except OSError as e:  # not a directory, not writable: said in a line, not a traceback
        raise CannotStart(f"cannot use the data directory {folder}: {e.strerror or e}") from None
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        lock.seek(0)
        holder = lock.read().strip()
        lock.close()
        raise CannotStart(
            f"the data directory {folder} is in use by another Tessera service"
            f"{f' (pid {holder})' if holder.isdigit() else ''}: give each service a data "
            "directory of its own (--data-dir, TESSERA_DATA_DIR); services share jobs through "
            "TESSERA_DATABASE_URL"
        ) from None
    except OSError as e:
        log.warning("the data directory %s cannot be locked (%s)", folder, e.strerror or e)
        lock.close()
        return None
    lock.seek(0)
    lock.truncate()
    lock.write(f"{os.getpid()}\n")
    lock.flush()
    return lock


async def engine(app: web.Application) -> AsyncIterator[None]:
    """The worker pool, warm before the first request."""
    settings = app[keys.SETTINGS]
    ocr = OCREngine(settings.engine_config(), observer=app[keys.METRICS])
    # Named here, in a line: a worker that cannot load them fails to start, with a traceback.
    missing = [lang for lang in settings.languages.split("+") if lang not in ocr.languages]
    if missing:
        raise CannotStart(
            f"the default languages (TESSERA_LANGUAGES, --languages) name "
            f"{', '.join(repr(m) for m in missing)}, not installed; installed: "
            f"{', '.join(ocr.languages) or 'none'}"
        )
    await ocr.start()
    app[keys.ENGINE] = ocr
    yield
    await ocr.close()


async def store(app: web.Application) -> AsyncIterator[None]:
    """The job store and where documents and output files are kept."""
    data_dir = app[keys.SETTINGS].data_dir
    spool = DocumentSpool(data_dir / "documents")
    output_spool = OutputSpool(data_dir / "outputs")
    try:
        await asyncio.to_thread(spool.open)
        await asyncio.to_thread(output_spool.open)
    except OSError as e:  # not a directory, not writable: said in a line, not a traceback
        raise CannotStart(f"cannot use the data directory {data_dir}: {e.strerror or e}") from None
    settings = app[keys.SETTINGS]
    jobs, documents, outputs = await open_store(settings, spool, output_spool)
    files = Files(
        sql_for(jobs),
        data_dir / "files",
        shared=settings.database_url is not None,
        max_bytes=settings.max_file_bytes,
        ttl=settings.file_ttl,
        min_free=settings.min_free_bytes,
    )
    await asyncio.to_thread(files.open)
    app[keys.STORE] = jobs
    app[keys.SPOOL] = spool
    app[keys.DOCUMENTS] = documents
    app[keys.OUTPUTS] = outputs
    app[keys.FILES] = files
    yield
    await jobs.close()


async def housekeeping(app: web.Application) -> AsyncIterator[None]:
    """Expired jobs and orphaned documents, swept now and every cleanup interval."""
    housekeeper = Housekeeper(
        store=app[keys.STORE],
        documents=app[keys.DOCUMENTS],
        outputs=app[keys.OUTPUTS],
        files=app[keys.FILES],
        interval=app[keys.SETTINGS].cleanup_interval,
    )
    await housekeeper.start()
    app[keys.HOUSEKEEPER] = housekeeper
    yield
    await housekeeper.close()


async def fetcher(app: web.Application) -> AsyncIterator[None]:
    """The HTTP client that fetches documents, behind the fetch policy."""
    settings = app[keys.SETTINGS]
    policy = settings.fetch_policy()
    async with client_session(policy) as session:
        app[keys.FETCHER] = Fetcher(
            session, policy, settings.max_document_bytes, settings.fetch_timeout
        )
        yield


async def runner(app: web.Application) -> AsyncIterator[None]:
    """The runner that claims and runs async jobs."""
    running = Runner(
        store=app[keys.STORE],
        engine=app[keys.ENGINE],
        documents=app[keys.DOCUMENTS],
        outputs=app[keys.OUTPUTS],
        settings=app[keys.SETTINGS],
        fetcher=app[keys.FETCHER],
        metrics=app[keys.METRICS],
        files=app[keys.FILES],
    )
    await running.start()
    app[keys.RUNNER] = running
    yield
    await running.close()


async def batches(app: web.Application) -> AsyncIterator[None]:
    """Batches, and the driver that turns their requests into jobs on this node."""
    settings = app[keys.SETTINGS]
    files = app[keys.FILES]
    records = Batches(sql_for(app[keys.STORE]), files, settings)
    driver = BatchDriver(
        batches=records,
        files=files,
        store=app[keys.STORE],
        documents=app[keys.DOCUMENTS],
        settings=settings,
        policy=app[keys.FETCHER].policy,
        languages=lambda: app[keys.ENGINE].languages,
        wake_runner=app[keys.RUNNER].wake,
        cancel_job=app[keys.RUNNER].cancel,
        single_node=settings.database_url is None,
    )
    await driver.start()
    app[keys.BATCHES] = records
    app[keys.BATCH_DRIVER] = driver
    yield
    await driver.close()


async def webhooks(app: web.Application) -> AsyncIterator[None]:
    """The webhook deliverer."""
    settings = app[keys.SETTINGS]
    deliverer = Deliverer(
        store=app[keys.STORE],
        endpoints=settings.webhooks,
        policy=settings.webhook_retry(),
        timeout=settings.webhook_timeout,
        metrics=app[keys.METRICS],
    )
    await deliverer.start()
    app[keys.WEBHOOKS] = deliverer
    yield
    await deliverer.close()


CONTEXTS: list[Callable[[web.Application], AsyncIterator[None]]] = [
    data_dir,
    engine,
    store,
    housekeeping,
    fetcher,
    runner,
    batches,
    webhooks,
]
