"""Delivering webhooks: telling a configured endpoint that an async job has finished.

The event body is the wire format's (`server.wire.webhook_body`), signed as
`server.webhooks.endpoints` says.

- The store says which jobs are due (`claim_webhooks`, leased so one process delivers each)
  and records every try (`webhook_attempted`); a process that dies mid-try leaves a lease that
  lapses, and the delivery is tried again.
- Transport errors, 408, 429 and 5xx are tried again with exponential backoff (Retry-After,
  when given, lengthens the wait); a redirect is never followed and, like any other 4xx, ends
  the delivery.
- Endpoints on loopback, private, link-local or reserved addresses are refused, before any
  byte is sent, unless the endpoint sets `allow_private_network`: the same rules and resolver
  as for fetching documents (`server.fetch`).
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import logging
import time
from dataclasses import dataclass

import aiohttp

from ocr_engine import TesseraError

from ..fetch import (
    AddressRefused,
    FetchPolicy,
    client_session,
    literal_address,
    plain_client_error,
)
from ..jobs import DeliveryAttempt, Job, now
from ..metrics import Metrics
from ..stores import JobStore
from ..wire import is_whole_number, webhook_body, webhook_event
from .endpoints import WebhookEndpoint, headers, message_id

log = logging.getLogger(__name__)

_POLL_S = 0.5
_CONCURRENCY = 16
# A lease outlives the longest try (the timeout, then the store write) with room to spare,
# so a delivery in flight is not claimed twice; short, so a dead process's tries resume soon.
_LEASE_FACTOR = 2
_LEASE_MARGIN_S = 5.0
# On shutdown, tries in flight get this long to land before they are cancelled.
_CLOSE_GRACE_S = 5.0
# No allowances: TESSERA_FETCH_ALLOW is for documents; an endpoint opts in itself.
_PUBLIC_ONLY = FetchPolicy()
_MAX_DOUBLINGS = 1023  # 2.0 ** 1024 overflows


# -- what a try came to -----------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """One try: delivered, or why not and whether trying again could help."""

    delivered: bool = False
    status_code: int | None = None
    error: str | None = None
    retry: bool = False
    retry_after: float | None = None


def judge(status: int, retry_after: str | None = None) -> Outcome:
    """The outcome of an HTTP answer: 2xx delivered; 408, 429, 5xx again; the rest never."""
    if 200 <= status < 300:
        return Outcome(delivered=True, status_code=status)
    if 300 <= status < 400:
        return Outcome(status_code=status, error=f"HTTP {status}: redirects are not followed")
    if status in (408, 429) or status >= 500:
        return Outcome(
            status_code=status,
            error=f"HTTP {status}",
            retry=True,
            retry_after=parse_retry_after(retry_after),
        )
    return Outcome(status_code=status, error=f"HTTP {status}")


def parse_retry_after(value: str | None) -> float | None:
    """Retry-After as seconds from now: delta-seconds or an HTTP date; None if unreadable."""
    if not value:
        return None
    value = value.strip()
    if is_whole_number(value):
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - time.time())


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff: `base`, 2 x base, 4 x base ... up to `cap`, `max_attempts` tries."""

    base: float
    cap: float
    max_attempts: int

    def delay(self, attempt: int, outcome: Outcome) -> float | None:
        """Seconds until the next try after try number `attempt`; None to give up."""
        if outcome.delivered or not outcome.retry or attempt >= self.max_attempts:
            return None
        # Doubled in floats, which reach any cap long before they overflow; 2 ** 1024 as an
        # integer is past what a float holds, and a generous TESSERA_WEBHOOK_MAX_ATTEMPTS gets
        # there (at a cap of 1 s, after about 17 minutes of a receiver being down).
        backoff = self.base * 2.0 ** min(attempt - 1, _MAX_DOUBLINGS)
        # Retry-After says "not before": it may lengthen the wait, never shorten it.
        return min(max(backoff, outcome.retry_after or 0.0), self.cap)


# -- the delivery loop ------------------------------------------------------------------------


class Deliverer:
    """Claims due webhooks, posts them signed, and records each try in the store."""

    def __init__(
        self,
        *,
        store: JobStore,
        endpoints: dict[str, WebhookEndpoint],
        policy: RetryPolicy,
        timeout: float,
        metrics: Metrics | None = None,
    ) -> None:
        self._store = store
        self._metrics = metrics
        self._endpoints = endpoints
        self._policy = policy
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._lease = _LEASE_FACTOR * timeout + _LEASE_MARGIN_S
        self._public: aiohttp.ClientSession | None = None  # private addresses refused
        self._any: aiohttp.ClientSession | None = None  # for allow_private_network endpoints
        self._loop_task: asyncio.Task[None] | None = None
        self._inflight: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        self._public = client_session(_PUBLIC_ONLY)
        self._any = aiohttp.ClientSession(trust_env=False)
        for name, endpoint in self._endpoints.items():
            log.info("webhook endpoint %s: %s", name, endpoint.host)
            if _literal_refused(endpoint):
                log.warning(
                    "webhook endpoint %s: %s is a loopback, private or reserved "
                    "address; deliveries to it will be refused unless it sets "
                    "allow_private_network",
                    name,
                    endpoint.host,
                )
        self._loop_task = asyncio.create_task(self._loop(), name="tessera-webhooks")

    async def close(self) -> None:
        """Stop claiming; tries in flight get a moment to land, then are cancelled."""
        if self._loop_task is not None:
            self._loop_task.cancel()
            await asyncio.gather(self._loop_task, return_exceptions=True)
        if self._inflight:
            await asyncio.wait(self._inflight, timeout=_CLOSE_GRACE_S)
            for task in self._inflight:
                task.cancel()
            await asyncio.gather(*self._inflight, return_exceptions=True)
        for session in (self._public, self._any):
            if session is not None:
                await session.close()

    async def _loop(self) -> None:
        while True:
            free = _CONCURRENCY - len(self._inflight)
            if free > 0:
                try:
                    jobs = await self._store.claim_webhooks(free, self._lease)
                except TesseraError:
                    jobs = []  # logged by the store; the next round tries again
                except Exception:
                    log.exception("claiming due webhooks failed")
                    jobs = []
                for job in jobs:
                    task = asyncio.create_task(self._deliver(job), name=f"webhook-{job.id}")
                    self._inflight.add(task)
                    task.add_done_callback(self._inflight.discard)
            await asyncio.sleep(_POLL_S)

    async def _deliver(self, job: Job) -> None:
        event = webhook_event(job)
        attempt = job.webhook_attempts + 1
        endpoint = self._endpoints.get(job.webhook or "")
        try:
            if endpoint is None:
                outcome = Outcome(
                    error=f"no webhook endpoint named '{job.webhook}' is configured any more"
                )
            else:
                outcome = await self._post(endpoint, job, event)
        except Exception:
            log.exception(
                "job %s: webhook %s attempt %d failed inside Tessera", job.id, job.webhook, attempt
            )
            outcome = Outcome(error="internal error", retry=True)
        delay = self._policy.delay(attempt, outcome)
        _log_attempt(job, attempt, outcome, delay)
        if self._metrics is not None:
            result = (
                "delivered" if outcome.delivered else "retry" if delay is not None else "failed"
            )
            self._metrics.count("tessera_webhook_attempts_total", outcome=result)
        record = self._store.webhook_attempted(
            job,
            DeliveryAttempt(
                event=event,
                attempt=attempt,
                status_code=outcome.status_code,
                error=outcome.error,
                delivered=outcome.delivered,
                next_at=now() + delay if delay is not None else None,
            ),
        )
        # Once the endpoint has answered, the record must land even during shutdown. A store
        # error is logged by the store; the lease lapses and the delivery is tried again.
        with contextlib.suppress(TesseraError):
            await asyncio.shield(record)

    async def _post(self, endpoint: WebhookEndpoint, job: Job, event: str) -> Outcome:
        if _literal_refused(endpoint):
            return _refused(endpoint)
        session = self._any if endpoint.allow_private_network else self._public
        assert session is not None
        body = webhook_body(job)
        sent = headers(
            endpoint.key, message_id(job.id, job.status.value), event, int(time.time()), body
        )
        try:
            async with session.post(
                endpoint.url, data=body, headers=sent, allow_redirects=False, timeout=self._timeout
            ) as response:
                return judge(response.status, response.headers.get("Retry-After"))
        except aiohttp.ClientConnectorError as e:
            if isinstance(e.os_error, AddressRefused):
                return _refused(endpoint)
            # The owner of the job sees the error; the endpoint's addresses and the client
            # library's words are for the operator's log.
            log.info("job %s: webhook %s: %s", job.id, job.webhook, e.os_error)
            return Outcome(error=f"cannot connect to {endpoint.host}", retry=True)
        except aiohttp.ClientError as e:
            # The client library's message quotes the endpoint's URL (with any token in its
            # path or query) and the bytes it answered.
            log.info("job %s: webhook %s: %s: %s", job.id, job.webhook, type(e).__name__, e)
            return Outcome(error=plain_client_error(e), retry=True)
        except TimeoutError:
            return Outcome(error=f"no answer within {self._timeout.total:.0f} s", retry=True)


def _literal_refused(endpoint: WebhookEndpoint) -> bool:
    """A literal address the policy refuses: the resolver, which would catch a name, never
    sees one."""
    if endpoint.allow_private_network:
        return False
    address = literal_address(endpoint.host)
    return address is not None and not _PUBLIC_ONLY.address_allowed(address)


def _refused(endpoint: WebhookEndpoint) -> Outcome:
    return Outcome(
        error=f"refused: {endpoint.host} is a loopback, private, link-local or "
        "reserved address and the endpoint does not set "
        "allow_private_network"
    )


def _log_attempt(job: Job, attempt: int, outcome: Outcome, delay: float | None) -> None:
    where = f"job {job.id}: webhook {job.webhook} attempt {attempt}"
    if outcome.delivered:
        log.info("%s: delivered (HTTP %s)", where, outcome.status_code)
    elif delay is not None:
        log.info("%s: %s; trying again in %.1f s", where, outcome.error, delay)
    else:
        log.warning("%s: %s; giving up", where, outcome.error)
