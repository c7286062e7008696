"""Every object the aiohttp application shares, each under its typed `web.AppKey`.

(These are application keys, not API keys: those are in `server.auth`.)
"""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from ocr_engine import OCREngine

from .auth import Authenticator
from .batch import BatchDriver, Batches
from .config import Settings
from .documents import Documents, DocumentSpool
from .fetch import Fetcher
from .files import Files
from .housekeeping import Housekeeper
from .metrics import Metrics
from .outputs import Outputs
from .runner import Runner
from .stores import JobStore
from .syncqueue import FairQueue
from .webhooks import Deliverer


@dataclass
class Lifecycle:
    """Where the process is in its life; `draining` once a shutdown has begun."""

    draining: bool = False


SETTINGS = web.AppKey("settings", Settings)
AUTH = web.AppKey("auth", Authenticator)
ENGINE = web.AppKey("engine", OCREngine)
STORE = web.AppKey("store", JobStore)
SPOOL = web.AppKey("spool", DocumentSpool)
DOCUMENTS = web.AppKey("documents", Documents)
OUTPUTS = web.AppKey("outputs", Outputs)
RUNNER = web.AppKey("runner", Runner)
FETCHER = web.AppKey("fetcher", Fetcher)
FILES = web.AppKey("files", Files)
BATCHES = web.AppKey("batches", Batches)
BATCH_DRIVER = web.AppKey("batch_driver", BatchDriver)
SYNC_QUEUE = web.AppKey("sync_queue", FairQueue)
LIFECYCLE = web.AppKey("lifecycle", Lifecycle)
METRICS = web.AppKey("metrics", Metrics)
WEBHOOKS = web.AppKey("webhooks", Deliverer)
HOUSEKEEPER = web.AppKey("housekeeper", Housekeeper)
