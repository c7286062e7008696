"""Job stores: SQLite for one node (the embedded default), PostgreSQL for a fleet.

`open_store` picks one from the settings and pairs it with where documents and output files
are kept.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from ..documents import Documents, DocumentSpool, SharedDocuments
from ..outputs import Outputs, OutputSpool, SharedOutputs
from .base import DocumentStore, JobStore, QueueLimitReached
from .postgres import PostgresJobStore
from .records import PostgresSql, Sql, SQLiteSql
from .sqlite import SQLiteJobStore

if TYPE_CHECKING:
    from ..config import Settings

__all__ = [
    "DocumentStore",
    "JobStore",
    "PostgresJobStore",
    "QueueLimitReached",
    "SQLiteJobStore",
    "open_store",
    "sql_for",
]


async def open_store(
    settings: Settings, spool: DocumentSpool, output_spool: OutputSpool
) -> tuple[JobStore, Documents, Outputs]:
    """The job store the settings name, opened, and the documents and output files that go
    with it."""
    store: JobStore
    documents: Documents
    outputs: Outputs
    if settings.database_url:
        postgres = PostgresJobStore(
            settings.database_url, node=uuid.uuid4().hex[:12], lease=settings.lease_seconds
        )
        store = postgres
        documents = SharedDocuments(postgres, spool)
        outputs = SharedOutputs(postgres, output_spool)
    else:
        store = SQLiteJobStore(settings.data_dir / "tessera.db", lease=settings.lease_seconds)
        documents, outputs = spool, output_spool
    await store.open()
    return store, documents, outputs


def sql_for(store: JobStore) -> Sql:
    """Plain statements on the job store's own database (`server.stores.records`)."""
    if isinstance(store, PostgresJobStore):
        return PostgresSql(store)
    assert isinstance(store, SQLiteJobStore)
    return SQLiteSql(store)
