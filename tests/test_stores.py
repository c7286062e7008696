"""One suite, both job stores: SQLite (the embedded default) and PostgreSQL (the fleet's)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import fields
from pathlib import Path
from typing import Any

import pytest

from server.errors import StoreUnavailable
from server.jobs import DeliveryAttempt, Job, JobOutcome, JobStatus, now
from server.stores import PostgresJobStore, QueueLimitReached, SQLiteJobStore
from server.stores.base import COLUMNS, JOB_TABLE

StoreFactory = Callable[..., Awaitable[Any]]


@pytest.fixture(params=["sqlite", "postgres"])
def kind(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def make_store(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> StoreFactory:
    """Opens stores of the kind under test; PostgreSQL ones share one database (a fleet)."""
    postgres_url = request.getfixturevalue("postgres_url") if kind == "postgres" else ""

    async def make(node: str = "node-a", lease: float = 30.0) -> Any:
        if kind == "sqlite":
            store: Any = SQLiteJobStore(tmp_path / "tessera.db", lease=lease)
        else:
            store = PostgresJobStore(postgres_url, node=node, lease=lease)
        await store.open()
        return store

    return make


@pytest.fixture
def make_postgres(postgres_url: str) -> StoreFactory:
    """Opens PostgreSQL stores of nodes sharing one database: a fleet."""

    async def make(node: str = "node-a", lease: float = 30.0) -> Any:
        store = PostgresJobStore(postgres_url, node=node, lease=lease)
        await store.open()
        return store

    return make


def _job(owner: str = "alice", **fields: Any) -> Job:
    return Job(
        id=str(uuid.uuid4()),
        owner=owner,
        status=JobStatus.PENDING,
        request={"model": "tesseract", "languages": "eng", "body": {}},
        created_at=now(),
        ttl=60,
        **fields,
    )


def run(coro: Awaitable[Any]) -> Any:
    return asyncio.run(coro)  # type: ignore[arg-type]


def test_create_get_and_ownership(make_store: StoreFactory) -> None:
    async def scenario() -> None:
        store = await make_store()
        job = _job()
        stored, created = await store.create(job)
        assert created and stored.id == job.id
        got = await store.get(job.id, "alice")
        assert got is not None and got.status is JobStatus.PENDING
        assert got.request == job.request and got.ttl == 60
        assert await store.get(job.id, "mallory") is None
        assert await store.get(str(uuid.uuid4()), "alice") is None
        await store.close()

    run(scenario())


def test_idempotency_keys_are_per_owner(make_store: StoreFactory) -> None:
    async def scenario() -> None:
        store = await make_store()
        first, created = await store.create(_job(idempotency_key="k1"))
        again, created_again = await store.create(_job(idempotency_key="k1"))
        assert created and not created_again and again.id == first.id
        other, created_other = await store.create(_job(owner="bob", idempotency_key="k1"))
        assert created_other and other.id != first.id
        await store.close()

    run(scenario())


def test_claim_finish_once_and_expire(make_store: StoreFactory) -> None:
    async def scenario() -> None:
        store = await make_store()
        jobs = [_job() for _ in range(3)]
        for job in jobs:
            await store.create(job)
            await asyncio.sleep(0.01)
        claimed = await store.claim(2)
        assert [j.id for j in claimed] == [jobs[0].id, jobs[1].id]
        assert all(j.status is JobStatus.PROCESSING and j.attempts == 1 for j in claimed)
        assert await store.count_pending() == 1
        await store.progress(jobs[0].id, 1, 4)
        progressed = await store.get(jobs[0].id, "alice")
        assert (progressed.pages_done, progressed.pages_total) == (1, 4)
        done = await store.finish(jobs[0].id, JobOutcome.succeeded('{"pages": []}'))
        assert done is not None and done.expires_at == done.completed_at + 60
        # A terminal state is written once: a second finish finds nothing to finish.
        assert await store.finish(jobs[0].id, JobOutcome(JobStatus.FAILED, 500, error="{}")) is None
        await store.release(jobs[1].key)
        assert (await store.get(jobs[1].id, "alice")).status is JobStatus.PENDING
        counts = await store.counts()
        assert counts["completed"] == 1 and counts["pending"] == 2
        gone = await store.finish(jobs[2].id, JobOutcome(JobStatus.FAILED, 422, error="{}"))
        assert gone is not None
        assert await store.delete_expired() == []
        await store.close()

    run(scenario())


def test_concurrent_claims_never_share_a_job(make_store: StoreFactory, kind: str) -> None:
    async def scenario() -> None:
        nodes = [await make_store(node=f"node-{i}") for i in range(3)]
        jobs = [_job() for _ in range(30)]
        for job in jobs:
            await nodes[0].create(job)
        claimed: list[list[str]] = [[] for _ in nodes]

        async def claim_all(i: int) -> None:
            while batch := await nodes[i].claim(2):
                claimed[i].extend(j.id for j in batch)

        await asyncio.gather(*(claim_all(i) for i in range(len(nodes))))
        every = [j for ids in claimed for j in ids]
        assert sorted(every) == sorted(j.id for j in jobs)  # all claimed, none twice
        if kind == "postgres":
            assert sum(1 for ids in claimed if ids) >= 2  # the work was shared
        for node in nodes:
            await node.close()

    run(scenario())


def test_a_lapsed_lease_is_taken_over(make_postgres: StoreFactory) -> None:
    """PostgreSQL only: SQLite serves one node, which has no one to take over from."""

    async def scenario() -> None:
        dying = await make_postgres(node="dying", lease=0.5)
        alive = await make_postgres(node="alive", lease=30)
        job = _job()
        await dying.create(job)
        [claimed] = await dying.claim(1)
        assert claimed.id == job.id
        assert await alive.claim(1) == []  # held
        assert await dying.renew([job.key]) == {job.key}
        await asyncio.sleep(0.7)
        [taken] = await alive.claim(1)
        assert taken.id == job.id and taken.attempts == 2
        assert await dying.renew([job.key]) == set()  # the old holder learns it lost the job
        assert await alive.renew([job.key]) == {job.key}
        await dying.close()
        await alive.close()

    run(scenario())


def test_webhook_deliveries_are_claimed_once(make_store: StoreFactory) -> None:
    async def scenario() -> None:
        one, two = await make_store(node="one"), await make_store(node="two")
        job = _job(webhook="receiver")
        await one.create(job)
        await one.claim(1)
        assert await one.claim_webhooks(10, 30) == []  # not finished yet
        await one.finish(job.id, JobOutcome.succeeded("{}"))
        first = await one.claim_webhooks(10, 30)
        assert [j.id for j in first] == [job.id]
        assert await two.claim_webhooks(10, 30) == []  # leased by the first claimer
        await one.webhook_attempted(
            first[0],
            DeliveryAttempt(
                event="async_job.completed",
                attempt=1,
                status_code=503,
                error="HTTP 503",
                delivered=False,
                next_at=now() - 1,
            ),
        )
        [retry] = await two.claim_webhooks(10, 30)
        await two.webhook_attempted(
            retry,
            DeliveryAttempt(
                event="async_job.completed",
                attempt=2,
                status_code=200,
                error=None,
                delivered=True,
                next_at=None,
            ),
        )
        assert await one.claim_webhooks(10, 30) == []
        stored = await one.get(job.id, "alice")
        assert stored.webhook_state == "delivered" and stored.webhook_attempts == 2
        attempts = await one.deliveries(job_id=job.id)
        assert [(a["attempt"], a["delivered"]) for a in attempts] == [(2, True), (1, False)]
        await one.close()
        await two.close()

    run(scenario())


def test_documents_are_shared_through_postgres(make_postgres: StoreFactory) -> None:
    """PostgreSQL only: SQLite's documents are files on its one node (see test_api)."""

    async def scenario() -> None:
        one, two = await make_postgres(node="one"), await make_postgres(node="two")
        await one.save_document("doc-1", b"%PDF-1.7 bytes")
        assert await two.load_document("doc-1") == b"%PDF-1.7 bytes"
        await two.delete_document("doc-1")
        assert await one.load_document("doc-1") is None
        await one.close()
        await two.close()

    run(scenario())


def test_the_queue_bound_and_the_insert_are_one_step(make_store: StoreFactory) -> None:
    """30 creates at once with room for 3: exactly 3 are created, on one node or three."""

    async def scenario() -> None:
        nodes = [await make_store(node=f"node-{i}") for i in range(3)]

        async def create(i: int) -> bool:
            try:
                await nodes[i % 3].create(_job(), max_pending=3)
            except QueueLimitReached:
                return False
            return True

        created = await asyncio.gather(*(create(i) for i in range(30)))
        assert sum(created) == 3
        assert await nodes[0].count_pending() == 3
        for node in nodes:
            await node.close()

    run(scenario())


def test_a_retry_is_answered_even_when_the_queue_is_full(make_store: StoreFactory) -> None:
    async def scenario() -> None:
        store = await make_store()
        first, _ = await store.create(_job(idempotency_key="k"), max_pending=1)
        again, created = await store.create(_job(idempotency_key="k"), max_pending=1)
        assert not created and again.id == first.id
        with pytest.raises(QueueLimitReached):
            await store.create(_job(idempotency_key="other"), max_pending=1)
        await store.close()

    run(scenario())


def test_unfinished_names_only_pending_and_processing_jobs(make_store: StoreFactory) -> None:
    async def scenario() -> None:
        store = await make_store()
        running, pending, done = _job(), _job(), _job()
        for job in (running, pending, done):
            await store.create(job)
            await asyncio.sleep(0.01)
        [claimed] = await store.claim(1)
        assert claimed.id == running.id
        await store.finish(done.id, JobOutcome.succeeded("{}"))
        ids = [pending.id, running.id, done.id, "no-such-job"]
        assert await store.unfinished(ids) == {pending.id, running.id}
        assert await store.unfinished([]) == set()
        await store.close()

    run(scenario())


def test_orphan_documents_are_deleted_from_postgres(make_postgres: StoreFactory) -> None:
    """A document saved for a create that never inserted its job is swept once old enough;
    the documents of unfinished jobs never are."""

    async def scenario() -> None:
        store = await make_postgres()
        job = _job()
        await store.create(job)
        await store.save_document(job.id, b"%PDF-1.7 kept")
        await store.save_document("orphan", b"%PDF-1.7 nobody's")
        assert await store.delete_orphan_documents(older_than=60) == 0  # too young to tell
        await asyncio.sleep(0.05)
        assert await store.delete_orphan_documents(older_than=0.01) == 1
        assert await store.load_document("orphan") is None
        assert await store.load_document(job.id) == b"%PDF-1.7 kept"
        await store.close()

    run(scenario())


def test_a_damaged_sqlite_file_is_one_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "tessera.db"
    path.write_bytes(b"this is not a database" * 100)

    async def scenario() -> None:
        with pytest.raises(StoreUnavailable, match="not a Tessera database, move it aside"):
            await SQLiteJobStore(path).open()

    run(scenario())


def test_page_ranges_are_claimed_one_per_job_and_assembled_once(make_store: StoreFactory) -> None:
    async def scenario() -> None:
        one, two = await make_store(node="one"), await make_store(node="two")
        job = _job()
        await one.create(job)
        [claimed] = await one.claim(1)
        assert await one.add_parts(job.id, [[0, 1], [2, 3], [4]], pages_total=5, document_size=99)
        assert await two.add_parts(job.id, [[0]], pages_total=1, document_size=1) is False
        assert await one.claim(5) == []  # a split job is held by its ranges
        first = await one.claim_parts(5)
        assert [(p.part, p.pages, p.attempts) for p in first] == [(0, [0, 1], 1)]
        assert await one.claim_parts(5) == []  # one range of a job at a time per node
        second = await two.claim_parts(5)
        assert [p.part for p in second] == [1]
        assert await one.renew([first[0].key]) == {first[0].key}
        assert await one.renew([second[0].key]) == set()  # not its lease
        await two.release(second[0].key)  # given back, the try not counted
        assert await one.finish_part(first[0].key, '{"r": 0}', 2) is False
        again = await one.claim_parts(5)
        assert [(p.part, p.attempts) for p in again] == [(1, 1)]
        assert await one.finish_part(again[0].key, '{"r": 1}', 2) is False
        [last] = await two.claim_parts(5)
        assert await one.finish_part(last.key, "{}", 1) is False  # not the holder
        assert await two.finish_part(last.key, '{"r": 2}', 1) is True  # the last: assemble
        results = ['{"r": 0}', '{"r": 1}', '{"r": 2}']
        assert await two.part_results(job.id) == results
        assert [await two.part_result(job.id, i) for i in range(4)] == [*results, None]
        progressed = await one.get(job.id, "alice")
        assert (progressed.pages_done, progressed.pages_total) == (5, 5)
        assert progressed.parts_done == progressed.parts_total == 3
        assert claimed.id == job.id
        # The node that read the last range holds the job, to assemble it.
        assert await two.renew([job.key]) == {job.key}
        assert await one.claim(1) == []
        done = await two.finish(job.id, JobOutcome.succeeded("{}"))
        assert done is not None and await two.part_results(job.id) == []
        for store in (one, two):
            await store.close()

    run(scenario())


def test_lapsed_ranges_and_assemblies_are_taken_over(make_store: StoreFactory) -> None:
    async def scenario() -> None:
        dying = await make_store(node="dying", lease=0.3)
        brief = await make_store(node="brief", lease=0.3)
        alive = await make_store(node="alive")
        job = _job()
        await dying.create(job)
        await dying.claim(1)
        await dying.add_parts(job.id, [[0], [1]], pages_total=2, document_size=1)
        [lost] = await dying.claim_parts(1)
        [other] = await alive.claim_parts(1)
        assert await alive.finish_part(other.key, "{}", 1) is False
        await asyncio.sleep(0.5)
        [taken] = await brief.claim_parts(2)
        assert taken.key == lost.key and taken.attempts == 2
        assert await dying.renew([lost.key]) == set()
        assert await dying.finish_part(lost.key, "{}", 1) is False
        assert await brief.finish_part(taken.key, "{}", 1) is True  # the last: assemble
        assert await alive.claim(1) == []  # held by the assembler
        await asyncio.sleep(0.5)
        [assembly] = await alive.claim(1)  # whose lease lapsed: any node assembles
        assert assembly.id == job.id and assembly.split and assembly.attempts == 2
        for store in (dying, brief, alive):
            await store.close()

    run(scenario())


def test_a_reopened_sqlite_store_frees_what_the_last_process_held(tmp_path: Path) -> None:
    """One node per file: at open nothing is held, and claiming it again counts a try."""

    async def scenario() -> None:
        first = SQLiteJobStore(tmp_path / "tessera.db")
        await first.open()
        job = _job()
        await first.create(job)
        await first.claim(1)
        await first.close()
        second = SQLiteJobStore(tmp_path / "tessera.db")
        await second.open()
        [again] = await second.claim(1)
        assert again.id == job.id and again.attempts == 2
        await second.close()

    run(scenario())


def test_the_jobs_table_holds_every_field_of_a_job() -> None:
    """One column list serves both dialects; a Job's fields are its first columns."""
    table = [column for column, _ in JOB_TABLE]
    assert table[: len(COLUMNS)] == list(COLUMNS) == [f.name for f in fields(Job)]
