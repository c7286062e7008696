"""Synchronous requests wait their turn: first come first served within a key, round-robin
across keys, refused only past the deadline or a full queue, and freed when the client goes."""

from __future__ import annotations

import asyncio
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from server.errors import QueueFull
from server.syncqueue import FairQueue
from tests.conftest import Server, ServerFactory, ocr_body, wait_until
from tools import corpus

# -- the queue itself -------------------------------------------------------------------------


def test_one_key_is_first_come_first_served_and_keys_take_turns() -> None:
    async def run() -> list[str]:
        queue = FairQueue(1, max_waiting=10, deadline=10)
        order: list[str] = []
        gate = asyncio.Event()

        async def request(key: str, name: str) -> None:
            async with queue.place(key):
                order.append(name)
                await gate.wait()

        first = asyncio.create_task(request("a", "a0"))
        await asyncio.sleep(0)
        tasks = [asyncio.create_task(request("a", f"a{i}")) for i in range(1, 4)]
        await asyncio.sleep(0)
        tasks.append(asyncio.create_task(request("b", "b1")))
        await asyncio.sleep(0)
        assert (queue.running, queue.waiting) == (1, 4)
        gate.set()
        await asyncio.gather(first, *tasks)
        assert (queue.running, queue.waiting) == (0, 0)
        return order

    # "b" waits behind one of "a"'s, not behind all three.
    assert asyncio.run(run()) == ["a0", "a1", "b1", "a2", "a3"]


def test_a_full_queue_and_a_wait_past_the_deadline_are_refused_with_retry_after() -> None:
    async def run() -> None:
        full = FairQueue(1, max_waiting=0, deadline=60)
        slow = FairQueue(1, max_waiting=10, deadline=0.5)  # its first guess is 2 s a request
        for queue in (full, slow):
            async with queue.place("a"):
                with pytest.raises(QueueFull) as refused:
                    async with queue.place("b"):
                        pass
                assert refused.value.retry_after >= 1
            assert (queue.running, queue.waiting) == (0, 0)

    asyncio.run(run())


def test_a_waiter_that_gives_up_leaves_no_trace() -> None:
    async def run() -> None:
        queue = FairQueue(1, max_waiting=10, deadline=0.3)
        queue._mean_s = 0.1  # measured short, so waiting is worth it
        release = asyncio.Event()

        async def hold() -> None:
            async with queue.place("a"):
                await release.wait()

        holder = asyncio.create_task(hold())
        await asyncio.sleep(0)
        cancelled = asyncio.create_task(queue.place("b").__aenter__())
        await asyncio.sleep(0.01)
        cancelled.cancel()
        with pytest.raises(QueueFull):  # the deadline passes while the slot stays taken
            async with queue.place("c"):
                pass
        assert queue.waiting == 0
        release.set()
        await holder
        assert (queue.running, queue.waiting) == (0, 0)
        async with queue.place("d"):
            assert queue.running == 1

    asyncio.run(run())


# -- through the service ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def dense(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    directory = tmp_path_factory.mktemp("sync")
    source = corpus.dense_pdf(directory / "dense.pdf")
    return corpus.image_only_pdf(source, directory / "scan.pdf", pages=1, dpi=200).read_bytes()


@pytest.fixture(scope="module")
def node(start_module_server: ServerFactory) -> Server:
    return start_module_server(workers=2)


def _post_all(server: Server, bodies: list[dict[str, Any]], key: str | None = None) -> list[Any]:
    with server.client(key) as client, ThreadPoolExecutor(len(bodies)) as pool:
        return list(pool.map(lambda body: client.post("/v1/ocr", json=body), bodies))


def test_many_requests_at_once_are_all_answered(
    node: Server, hello_png: bytes, dense: bytes
) -> None:
    small = ocr_body(hello_png, kind="image_url", mime="image/png")
    answers = _post_all(node, [small] * 40)
    assert [a.status_code for a in answers] == [200] * 40
    assert all("Hello" in a.json()["pages"][0]["markdown"] for a in answers)
    answers = _post_all(node, [ocr_body(dense)] * 8)
    assert [a.status_code for a in answers] == [200] * 8


def test_one_keys_page_is_not_queued_behind_anothers_many(
    start_server: ServerFactory, hello_png: bytes, dense: bytes
) -> None:
    server = start_server({"TESSERA_API_KEYS": "sk-many,sk-one"}, workers=2)
    with server.client("sk-many") as many, ThreadPoolExecutor(16) as pool:
        flood = [pool.submit(many.post, "/v1/ocr", json=ocr_body(dense)) for _ in range(16)]
        wait_until(lambda: server.metric("tessera_workers_busy") == 2, what="both workers busy")
        started = time.monotonic()
        with server.client("sk-one") as one:
            answer = one.post(
                "/v1/ocr", json=ocr_body(hello_png, kind="image_url", mime="image/png")
            )
        waited = time.monotonic() - started
        assert answer.status_code == 200
        done_before = sum(f.done() for f in flood)
        assert all(f.result().status_code == 200 for f in flood)
    # Behind at most one round of the other key's pages, not behind all sixteen.
    assert done_before <= 6, (done_before, waited)


def test_refusals_name_a_retry_and_a_client_that_leaves_frees_its_place(
    start_server: ServerFactory, dense: bytes, hello_png: bytes, tmp_path: Path
) -> None:
    server = start_server({"TESSERA_SYNC_CONCURRENCY": "1", "TESSERA_SYNC_QUEUE": "1"}, workers=1)
    small = ocr_body(hello_png, kind="image_url", mime="image/png")
    with server.client() as client, ThreadPoolExecutor(2) as pool:
        first = pool.submit(client.post, "/v1/ocr", json=ocr_body(dense))
        wait_until(lambda: server.metric("tessera_workers_busy") == 1, what="the first request")
        # One may wait; it goes away while it does.
        gone = _abandoned_request(server, ocr_body(dense))
        time.sleep(0.6)  # the server sees the closed connection within a quarter second
        waiting = pool.submit(client.post, "/v1/ocr", json=small)
        wait_until(
            lambda: server.metric("tessera_sync_requests_waiting") == 1,
            what="one request waiting",
        )
        assert server.metric("tessera_sync_requests_running") == 1
        refused = client.post("/v1/ocr", json=small)  # the queue (of one) is full
        assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
        assert refused.json()["error"]["type"] == "rate_limit_error"
        assert first.result().status_code == 200
        assert waiting.result().status_code == 200
    assert gone
    assert "client went away" in server.log()


def _abandoned_request(server: Server, body: dict[str, Any]) -> bool:
    """Send a request and close the connection without waiting for the answer."""
    import json

    payload = json.dumps(body).encode()
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.sendall(
            b"POST /v1/ocr HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            + f"Content-Length: {len(payload)}\r\n\r\n".encode()
            + payload
        )
        time.sleep(0.3)  # in the queue by now
    return True
