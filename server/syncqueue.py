"""Synchronous requests wait their turn instead of failing while every slot is busy.

A gateway in front of Tessera (Bifrost's Mistral provider) sends `/v1/ocr` requests
synchronously, several at a time, and does not retry: a 429 there is a failed user request.
So a request that finds every slot taken waits in a bounded queue: first come first served
within a key, round-robin across keys (one key's hundred requests do not hold up another's
one), each until a deadline. It is refused (429, with a `Retry-After` estimated from the
queue) only when the wait would pass the deadline or the queue is full. A request that goes
away while it waits gives its place back at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections import OrderedDict, deque
from collections.abc import AsyncIterator

from .errors import QueueFull

_FIRST_GUESS_S = 2.0  # a request's time in a slot, until some have been measured
_SMOOTHING = 0.2  # weight of the latest request in the running mean
_SURELY = 2.0  # an expected wait this many times the deadline is refused without waiting


class FairQueue:
    """`capacity` requests run at once; up to `max_waiting` more wait, each at most
    `deadline` seconds."""

    def __init__(self, capacity: int, *, max_waiting: int, deadline: float) -> None:
        self.capacity = capacity
        self.max_waiting = max_waiting
        self.deadline = deadline
        self.running = 0
        self._waiting: OrderedDict[str, deque[asyncio.Future[None]]] = OrderedDict()
        self.waiting = 0
        self._mean_s = _FIRST_GUESS_S

    def expected_wait(self, ahead: int) -> float:
        """Seconds until a request with `ahead` requests before it gets a slot."""
        return math.ceil((ahead + 1) / self.capacity) * self._mean_s

    def _refuse(self, why: str) -> QueueFull:
        wait = self.expected_wait(self.waiting)
        return QueueFull(
            f"{why}; retry in about {math.ceil(wait)} s, or use /v1/async/ocr.",
            retry_after=max(1, math.ceil(wait)),
        )

    @contextlib.asynccontextmanager
    async def place(self, key: str) -> AsyncIterator[None]:
        """Hold a slot for the body of the `async with`, waiting for one if need be."""
        if self.running < self.capacity and not self.waiting:
            self.running += 1
        else:
            await self._wait(key)
        started = time.monotonic()
        try:
            yield
        finally:
            spent = time.monotonic() - started
            self._mean_s += _SMOOTHING * (spent - self._mean_s)
            self._release()

    async def _wait(self, key: str) -> None:
        if self.waiting >= self.max_waiting:
            raise self._refuse(f"{self.waiting} synchronous requests are waiting already")
        # The estimate is rough (requests differ in size), so a request is turned away at once
        # only when it would surely wait too long; otherwise it waits, up to the deadline.
        if self.expected_wait(self.waiting) > _SURELY * self.deadline:
            raise self._refuse(
                f"Every worker is busy for longer than the {self.deadline:.0f} s a request may wait"
            )
        turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(key, deque()).append(turn)
        self.waiting += 1
        try:
            async with asyncio.timeout(self.deadline):
                await asyncio.shield(turn)
        except BaseException as e:
            if turn.done() and not turn.cancelled():
                self._release()  # handed a slot just as it gave up: pass it on
            else:
                turn.cancel()
                self._forget(key, turn)
            if isinstance(e, TimeoutError):
                raise self._refuse(
                    f"No worker came free within the {self.deadline:.0f} s a request may wait"
                ) from None
            raise

    def _forget(self, key: str, turn: asyncio.Future[None]) -> None:
        queue = self._waiting.get(key)
        if queue is not None and turn in queue:
            queue.remove(turn)
            self.waiting -= 1
            if not queue:
                del self._waiting[key]

    def _release(self) -> None:
        """Hand the slot to the next key in turn, or free it."""
        while self._waiting:
            key, queue = next(iter(self._waiting.items()))
            turn = queue.popleft()
            self.waiting -= 1
            del self._waiting[key]
            if queue:
                self._waiting[key] = queue  # to the back of the round
            if not turn.done():
                turn.set_result(None)
                return  # the slot passes on: `running` stays
        self.running -= 1
