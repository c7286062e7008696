"""Webhooks: signed deliveries to local receivers, retries, refusals and the deliveries listing.

The service runs for real with endpoints on 127.0.0.1; the receiver checks every delivery it
gets, as it arrives, with the `standardwebhooks` library that receivers use, not Tessera's code.
The pure parts (signing, secrets, settings, retry policy) are tested in-process below.
"""

from __future__ import annotations

import base64
import json
import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from pydantic import ValidationError
from standardwebhooks import Webhook, WebhookVerificationError

from server.config import Settings
from server.webhooks.delivery import Outcome, RetryPolicy, judge, parse_retry_after
from server.webhooks.endpoints import headers, signature, signing_key
from tests.conftest import Server, ocr_body, refused_start
from tests.test_hardening import closed_port
from tools import corpus

KEY = b"a webhook key of thirty-two byte"
SECRET = "whsec_" + base64.b64encode(KEY).decode()
PLAIN_SECRET = "a plain string secret"
OWNER, STRANGER = "sk-bf-owner", "sk-bf-stranger"
PRIVATE = (
    "private",
    "private-name",
    "private-fullwidth",
    "private-ideographic",
    "private-mapped",
    "private-short",
)
ENDPOINT_TOKEN = "t0ken-in-the-endpoint-url"
BACKOFF_S = 1.0
MAX_ATTEMPTS = 3
FIELDS = {
    "job_id",
    "request_type",
    "status",
    "status_code",
    "created_at",
    "completed_at",
    "result_url",
    "result_expires_at",
}


# -- a receiver standing in for the customer's endpoint ---------------------------------------


@dataclass
class Received:
    at: float  # monotonic
    path: str
    headers: dict[str, str]
    body: bytes
    answered: int | None  # None: the connection was dropped
    verified: str  # "" when the library accepted the signature, else why it did not

    @property
    def job_id(self) -> str:
        return json.loads(self.body)["data"]["job_id"]


def check_signature(path: str, headers: dict[str, str], body: bytes) -> str:
    """Why `standardwebhooks` rejects a delivery, or "" if it accepts it; checked on arrival,
    within the library's five-minute window for timestamps."""
    # The library takes bytes as the key itself: that is how a plain-string secret signs.
    receiver = Webhook(PLAIN_SECRET.encode()) if path == "/ok" else Webhook(SECRET)
    try:
        receiver.verify(body, headers)
    except WebhookVerificationError as e:
        return str(e) or "rejected"
    return ""


class Receiver:
    """An HTTP server that records every request; its paths behave as the tests need."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self._lock = threading.Lock()
        self._tries: dict[str, int] = {}
        self.hanging = threading.Event()  # set while a /slow request is left unanswered
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def _answer(self, path: str, msg_id: str) -> int | None:
        with self._lock:
            tries = self._tries[msg_id] = self._tries.get(msg_id, 0) + 1
        if path == "/flaky":  # 503, then a dropped connection, then accepted
            return {1: 503, 2: None}.get(tries, 200)
        if path == "/slow" and tries == 1:  # no answer until the sender is gone
            self.hanging.set()
            time.sleep(5)
            return None
        return {"/down": 500, "/gone": 410, "/redirect": 302}.get(path, 200)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                arrived = time.monotonic()
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if self.path.startswith("/garbage"):  # not HTTP at all: no Received
                    self.wfile.write(b"garbage from the endpoint\r\n\r\n")
                    self.close_connection = True
                    return
                headers = dict(self.headers)
                verified = check_signature(self.path, headers, body)
                status = receiver._answer(self.path, self.headers.get("webhook-id", ""))
                with receiver._lock:
                    receiver.received.append(
                        Received(arrived, self.path, headers, body, status, verified)
                    )
                if status is None:
                    self.close_connection = True  # no answer at all
                    return
                self.send_response(status)
                if status == 302:
                    self.send_header("Location", "/redirected")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        return Handler

    def requests(self, job_id: str | None = None, path: str | None = None) -> list[Received]:
        with self._lock:
            return [
                r
                for r in self.received
                if (job_id is None or r.job_id == job_id) and (path is None or r.path == path)
            ]

    def after_quiet(self, job_id: str, seconds: float) -> list[Received]:
        """The job's requests, once none has come for `seconds` after its last one."""
        while True:
            tries = self.requests(job_id)
            wait = tries[-1].at + seconds - time.monotonic() if tries else seconds
            if wait <= 0:
                return tries
            time.sleep(wait)

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def verify(request: Received) -> None:
    """A delivery the library accepted on arrival, with the headers Bifrost expects."""
    assert request.verified == "", request.verified
    assert request.headers["webhook-timestamp"].isdigit()
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["X-Bifrost-Event"] == json.loads(request.body)["event"]


# -- the service, with one endpoint per behaviour ---------------------------------------------


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()
    # Every delivery any test received, not only those a test looked at, was signed right.
    assert r.received, "no webhook was delivered"
    assert [d.verified for d in r.received] == [""] * len(r.received)


@pytest.fixture(scope="module")
def hooked(start_module_server: Any, receiver: Receiver) -> Server:
    local = {"secret": SECRET, "allow_private_network": True}
    endpoints = {
        "flaky": {"url": f"{receiver.url}/flaky", **local},
        "plain": {
            "url": f"{receiver.url}/ok",
            "secret": PLAIN_SECRET,
            "allow_private_network": True,
        },
        "redirect": {"url": f"{receiver.url}/redirect", **local},
        "down": {"url": f"{receiver.url}/down", **local},
        "gone": {"url": f"{receiver.url}/gone", **local},
        "private": {"url": f"{receiver.url}/private", "secret": SECRET},
        "private-name": {"url": f"http://localhost:{receiver.port}/private", "secret": SECRET},
        # Spellings that become 127.0.0.1 only once the URL library has normalised them.
        "private-fullwidth": {
            "url": f"http://１２７.０.０.１:{receiver.port}/private",
            "secret": SECRET,
        },
        "private-ideographic": {
            "url": f"http://127。0。0。1:{receiver.port}/private",
            "secret": SECRET,
        },
        "private-mapped": {
            "url": f"http://[::ffff:127.0.0.1]:{receiver.port}/private",
            "secret": SECRET,
        },
        "private-short": {"url": f"http://127.1:{receiver.port}/private", "secret": SECRET},
        "garbage": {"url": f"{receiver.url}/garbage?token={ENDPOINT_TOKEN}", **local},
        "closed": {"url": f"http://127.0.0.1:{closed_port()}/hook", **local},
    }
    return start_module_server(
        {
            "TESSERA_WEBHOOKS": json.dumps(endpoints),
            "TESSERA_API_KEYS": f"{OWNER},{STRANGER}",
            "TESSERA_WEBHOOK_BACKOFF": str(BACKOFF_S),
            "TESSERA_WEBHOOK_MAX_ATTEMPTS": str(MAX_ATTEMPTS),
        }
    )


@pytest.fixture(scope="module")
def owner(hooked: Server) -> Iterator[httpx.Client]:
    with hooked.client(OWNER) as client:
        yield client


@pytest.fixture(scope="module")
def jobs(
    owner: httpx.Client, hello_png: bytes, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, str]:
    """Every job of the module, created at once so that their deliveries overlap in time."""
    encrypted = corpus.text_pdf(
        tmp_path_factory.mktemp("hooks") / "locked.pdf", [["x"]], password="pw"
    ).read_bytes()
    image = ocr_body(hello_png, kind="image_url", mime="image/png")
    plan = {
        "completed": ("flaky", image),
        "failed": ("flaky", ocr_body(encrypted)),
        **{
            name: (name, image)
            for name in ("plain", "redirect", "down", "gone", "garbage", "closed", *PRIVATE)
        },
    }
    created = {}
    for label, (endpoint, body) in plan.items():
        response = owner.post("/v1/async/ocr", json=body, headers={"x-bf-async-webhook": endpoint})
        assert response.status_code == 202, response.text
        created[label] = response.json()["id"]
    return created


def settled(client: httpx.Client, job_id: str, timeout: float = 40) -> dict[str, Any]:
    """The deliveries listing once the job's webhook is delivered or given up."""
    deadline = time.monotonic() + timeout
    listing: dict[str, Any] = {}
    while time.monotonic() < deadline:
        response = client.get("/v1/webhooks/deliveries", params={"job_id": job_id})
        assert response.status_code == 200, response.text
        listing = response.json()
        if listing.get("state") in ("delivered", "failed"):
            return listing
        time.sleep(0.2)
    raise AssertionError(f"the webhook of job {job_id} did not settle: {listing}")


# -- deliveries -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("label", "status", "status_code"), [("completed", "completed", 200), ("failed", "failed", 422)]
)
def test_delivered_once_after_two_failures(
    hooked: Server,
    owner: httpx.Client,
    receiver: Receiver,
    jobs: dict[str, str],
    label: str,
    status: str,
    status_code: int,
) -> None:
    job_id = jobs[label]
    listing = settled(owner, job_id)
    tries = receiver.after_quiet(job_id, 2 * BACKOFF_S)  # room for a stray extra try
    assert [t.answered for t in tries] == [503, None, 200], hooked.log()[-3000:]
    for t in tries:
        verify(t)
    # One delivery: the same id and body on every try, so a receiver can drop duplicates.
    assert len({t.headers["webhook-id"] for t in tries}) == 1
    assert len({t.body for t in tries}) == 1
    first, second = tries[1].at - tries[0].at, tries[2].at - tries[1].at
    assert BACKOFF_S * 0.9 <= first < second, (first, second)
    assert second >= 2 * BACKOFF_S * 0.9

    job = owner.get(f"/v1/async/ocr/{job_id}").json()
    event = json.loads(tries[0].body)
    assert event["event"] == f"async_job.{status}"
    assert event["created_at"] == job["completed_at"]
    data = event["data"]
    assert set(data) == FIELDS
    assert data == {
        "job_id": job_id,
        "request_type": "ocr",
        "status": status,
        "status_code": status_code,
        "created_at": job["created_at"],
        "completed_at": job["completed_at"],
        "result_url": f"/v1/async/ocr/{job_id}",
        "result_expires_at": job["expires_at"],
    }
    assert job["status"] == status and job["status_code"] == status_code

    assert listing["endpoint"] == "flaky" and listing["state"] == "delivered"
    assert listing["attempts"] == 3 and "delivered_at" in listing
    rows = listing["data"]
    assert [r["attempt"] for r in rows] == [3, 2, 1]
    assert [r["delivered"] for r in rows] == [True, False, False]
    assert rows[0]["status_code"] == 200 and rows[2]["status_code"] == 503
    assert "status_code" not in rows[1] and rows[1]["error"]
    assert {r["event"] for r in rows} == {f"async_job.{status}"}


def test_each_job_has_its_own_webhook_id(
    receiver: Receiver, owner: httpx.Client, jobs: dict[str, str]
) -> None:
    for label in ("completed", "failed"):
        settled(owner, jobs[label])
    ids = {
        receiver.requests(jobs[label])[0].headers["webhook-id"] for label in ("completed", "failed")
    }
    assert len(ids) == 2


def test_a_plain_string_secret_signs_with_its_bytes(
    owner: httpx.Client, receiver: Receiver, jobs: dict[str, str]
) -> None:
    assert settled(owner, jobs["plain"])["state"] == "delivered"
    [delivery] = receiver.requests(jobs["plain"])
    verify(delivery)


def test_a_redirect_is_not_followed_nor_retried(
    owner: httpx.Client, receiver: Receiver, jobs: dict[str, str]
) -> None:
    listing = settled(owner, jobs["redirect"])
    assert len(receiver.after_quiet(jobs["redirect"], 2 * BACKOFF_S)) == 1
    assert listing["state"] == "failed" and listing["attempts"] == 1
    [row] = listing["data"]
    assert row["status_code"] == 302 and row["delivered"] is False
    assert "redirect" in row["error"]
    assert len(receiver.requests(jobs["redirect"])) == 1
    assert receiver.requests(path="/redirected") == []


def test_retries_stop_after_the_last_attempt(
    owner: httpx.Client, receiver: Receiver, jobs: dict[str, str]
) -> None:
    listing = settled(owner, jobs["down"])
    assert listing["state"] == "failed" and listing["attempts"] == MAX_ATTEMPTS
    assert [r["status_code"] for r in listing["data"]] == [500] * MAX_ATTEMPTS
    # Quiet past when another try would have come.
    quiet = BACKOFF_S * 2 ** (MAX_ATTEMPTS - 1) + 1
    assert len(receiver.after_quiet(jobs["down"], quiet)) == MAX_ATTEMPTS


def test_a_client_error_is_not_retried(
    owner: httpx.Client, receiver: Receiver, jobs: dict[str, str]
) -> None:
    listing = settled(owner, jobs["gone"])
    assert listing["state"] == "failed" and listing["attempts"] == 1
    assert listing["data"][0]["status_code"] == 410
    assert listing["last_error"] == "HTTP 410"
    assert len(receiver.requests(jobs["gone"])) == 1


@pytest.mark.parametrize(
    ("label", "says"),
    [("garbage", "not valid HTTP"), ("closed", "cannot connect to 127.0.0.1")],
)
def test_transport_errors_are_told_in_words_to_the_job_owner(
    owner: httpx.Client, jobs: dict[str, str], label: str, says: str
) -> None:
    # The owner names an endpoint, and sees neither its URL (a token may be in it), nor the
    # addresses it resolved to, nor what the client library made of its answer.
    listing = settled(owner, jobs[label])
    assert listing["state"] == "failed" and listing["attempts"] == MAX_ATTEMPTS
    for error in [listing["last_error"], *(row["error"] for row in listing["data"])]:
        assert says in error, error
        for leak in (ENDPOINT_TOKEN, "/garbage", "/hook", "Error", "Errno", "b'", "("):
            assert leak not in error, error


@pytest.mark.parametrize("label", PRIVATE)
def test_private_endpoints_are_refused_unless_allowed(
    hooked: Server, owner: httpx.Client, receiver: Receiver, jobs: dict[str, str], label: str
) -> None:
    listing = settled(owner, jobs[label])
    assert listing["state"] == "failed" and listing["attempts"] == 1
    [row] = listing["data"]
    assert row["delivered"] is False and "status_code" not in row
    assert "allow_private_network" in row["error"]
    assert receiver.requests(path="/private") == []


def test_a_try_cut_short_by_a_dead_process_is_made_again(
    start_server: Any,
    receiver: Receiver,
    hello_png: bytes,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    timeout = 2  # the lease is 2 x 2 + 5 = 9 s
    env = {
        "TESSERA_WEBHOOK_TIMEOUT": str(timeout),
        "TESSERA_WEBHOOKS": json.dumps(
            {
                "slow": {
                    "url": f"{receiver.url}/slow",
                    "secret": SECRET,
                    "allow_private_network": True,
                }
            }
        ),
    }
    data = tmp_path_factory.mktemp("restart") / "data"
    first = start_server(env, data_dir=data)
    with first.client() as client:
        job_id = client.post(
            "/v1/async/ocr", json=ocr_body(hello_png), headers={"x-bf-async-webhook": "slow"}
        ).json()["id"]
        assert receiver.hanging.wait(60), first.log()[-3000:]
    first.stop(signal.SIGKILL)
    second = start_server(env, data_dir=data)
    with second.client() as client:
        listing = settled(client, job_id)
    tries = receiver.requests(job_id)
    assert [t.answered for t in tries] == [None, 200]
    assert tries[0].headers["webhook-id"] == tries[1].headers["webhook-id"]
    assert tries[1].at - tries[0].at >= 2 * timeout + 5 - 1  # not before the lease lapsed
    for t in tries:
        verify(t)
    # The first try never got to be recorded: the listing shows the one that landed.
    assert listing["state"] == "delivered" and listing["attempts"] == 1
    assert [r["delivered"] for r in listing["data"]] == [True]


# -- creating and listing ---------------------------------------------------------------------


def test_unknown_endpoint_is_400_at_create(owner: httpx.Client, hello_png: bytes) -> None:
    response = owner.post(
        "/v1/async/ocr", json=ocr_body(hello_png), headers={"x-bf-async-webhook": "nowhere"}
    )
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["param"] == "x-bf-async-webhook" and "nowhere" in error["message"]


def test_deliveries_are_shown_to_the_job_owner_only(
    hooked: Server, owner: httpx.Client, jobs: dict[str, str]
) -> None:
    job_id = jobs["gone"]
    with hooked.client(STRANGER) as stranger, hooked.client() as anonymous:
        foreign = stranger.get("/v1/webhooks/deliveries", params={"job_id": job_id})
        assert foreign.status_code == 404
        assert foreign.json()["error"]["message"] == "job not found or expired"
        assert (
            anonymous.get("/v1/webhooks/deliveries", params={"job_id": job_id}).status_code == 401
        )
    missing = owner.get("/v1/webhooks/deliveries")
    assert missing.status_code == 400 and missing.json()["error"]["param"] == "job_id"
    assert owner.get("/v1/webhooks/deliveries", params={"job_id": "no-such-job"}).status_code == 404


def test_a_job_without_a_webhook_lists_nothing(
    owner: httpx.Client, hooked: Server, hello_png: bytes
) -> None:
    job_id = owner.post("/v1/async/ocr", json=ocr_body(hello_png)).json()["id"]
    hooked.wait_job(owner, job_id)
    listing = owner.get("/v1/webhooks/deliveries", params={"job_id": job_id}).json()
    assert listing == {"object": "list", "job_id": job_id, "attempts": 0, "data": []}


@pytest.mark.service
def test_a_bad_webhook_setting_stops_start_up() -> None:
    bad = json.dumps({"ci": {"url": "https://hooks.example/x", "secret": "whsec_not base64!"}})
    process = refused_start(env={"PATH": "/usr/bin:/bin", "TESSERA_WEBHOOKS": bad})
    assert "invalid setting webhooks.ci.secret" in process.stderr
    assert "base64" in process.stderr
    # A host the resolver cannot encode: every delivery failed inside Tessera, a traceback each.
    bad = json.dumps({"ci": {"url": "https://hooks..example/x", "secret": "s"}})
    process = refused_start(env={"PATH": "/usr/bin:/bin", "TESSERA_WEBHOOKS": bad})
    assert process.stderr.startswith("tessera: invalid setting webhooks.ci.url: "), process.stderr
    assert "Traceback" not in process.stderr
    # JSON nested past the parser's depth raised RecursionError, no ValueError: a traceback.
    for deep in ("[" * 100_000, '{"a": ' * 20_000):
        process = refused_start(env={"PATH": "/usr/bin:/bin", "TESSERA_WEBHOOKS": deep})
        assert process.stderr.startswith("tessera: invalid setting webhooks: "), process.stderr
        assert "nested too deeply" in process.stderr and process.stderr.count("\n") == 1


# -- the pure parts ---------------------------------------------------------------------------


def test_signature_matches_the_standard_webhooks_test_vector() -> None:
    # From the Standard Webhooks reference libraries' tests.
    key = signing_key("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
    assert (
        signature(key, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, b'{"test": 2432232314}')
        == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    )


def test_the_receivers_check_rejects_a_tampered_delivery() -> None:
    body = b'{"event": "async_job.completed"}'
    sent = headers(KEY, "msg_1", "async_job.completed", int(time.time()), body)
    assert check_signature("/flaky", sent, body) == ""
    assert check_signature("/flaky", sent, body.replace(b"completed", b"failed")) != ""
    plain = headers(PLAIN_SECRET.encode(), "msg_1", "async_job.completed", int(time.time()), body)
    assert check_signature("/ok", plain, body) == ""
    assert check_signature("/flaky", plain, body) != ""


def test_secrets_in_both_forms() -> None:
    assert signing_key(SECRET) == KEY
    assert signing_key("plain") == b"plain"
    for bad in ("", "whsec_", "whsec_***"):
        with pytest.raises(ValueError):
            signing_key(bad)


def _endpoints(value: Any) -> Settings:
    return Settings(webhooks=value if isinstance(value, str) else json.dumps(value))


@pytest.mark.parametrize(
    ("value", "where", "says"),
    [
        ("{not json", "webhooks", "not valid JSON"),
        ("[]", "webhooks", "JSON object"),
        ({"has space": {"url": "https://a.example", "secret": "s"}}, "webhooks", "letters"),
        ({"ci": {"url": "ftp://a.example", "secret": "s"}}, "webhooks.ci.url", "http"),
        ({"ci": {"url": "https://hooks..example", "secret": "s"}}, "webhooks.ci.url", "valid"),
        ({"ci": {"url": f"https://{'a' * 64}.example", "secret": "s"}}, "webhooks.ci.url", "valid"),
        ({"ci": {"url": "https://a.example"}}, "webhooks.ci.secret", "required"),
        (
            {"ci": {"url": "https://a.example", "secret": "whsec_%%"}},
            "webhooks.ci.secret",
            "base64",
        ),
        (
            {"ci": {"url": "https://a.example", "secret": "s", "allow_private": True}},
            "webhooks.ci.allow_private",
            "extra",
        ),
    ],
)
def test_bad_endpoint_settings_are_refused(value: Any, where: str, says: str) -> None:
    with pytest.raises(ValidationError) as caught:
        _endpoints(value)
    first = caught.value.errors()[0]
    assert ".".join(str(p) for p in first["loc"]) == where
    assert says.lower() in first["msg"].lower()


def test_good_endpoint_settings() -> None:
    settings = _endpoints({"ci": {"url": "https://hooks.example/tessera", "secret": SECRET}})
    assert settings.webhooks["ci"].key == KEY
    assert settings.webhooks["ci"].allow_private_network is False
    assert SECRET not in repr(settings)
    assert _endpoints("").webhooks == {}


@pytest.mark.parametrize(
    ("status", "delivered", "retry"),
    [
        (200, True, False),
        (204, True, False),
        (301, False, False),
        (302, False, False),
        (400, False, False),
        (404, False, False),
        (410, False, False),
        (408, False, True),
        (429, False, True),
        (500, False, True),
        (503, False, True),
    ],
)
def test_which_answers_are_retried(status: int, delivered: bool, retry: bool) -> None:
    outcome = judge(status)
    assert (outcome.delivered, outcome.retry, outcome.status_code) == (delivered, retry, status)


def test_backoff_doubles_up_to_the_cap_and_gives_up() -> None:
    policy = RetryPolicy(base=1, cap=5, max_attempts=5)
    failed = Outcome(error="HTTP 503", retry=True)
    assert [policy.delay(n, failed) for n in range(1, 6)] == [1, 2, 4, 5, None]
    assert policy.delay(1, Outcome(delivered=True)) is None
    assert policy.delay(1, Outcome(error="HTTP 410")) is None


def test_backoff_stays_at_the_cap_however_many_tries_are_allowed() -> None:
    # A cap of 1 s with countless tries reaches try 1025 within 20 minutes of an outage.
    policy = RetryPolicy(base=1, cap=1, max_attempts=1_000_000)
    failed = Outcome(error="HTTP 503", retry=True)
    assert [policy.delay(n, failed) for n in (1024, 1025, 5000, 999_999)] == [1, 1, 1, 1]
    assert policy.delay(1_000_000, failed) is None
    tiny = RetryPolicy(base=1e-300, cap=600, max_attempts=1_000_000)
    assert tiny.delay(5000, failed) == 600


def test_retry_after_lengthens_the_wait_within_the_cap() -> None:
    policy = RetryPolicy(base=1, cap=30, max_attempts=5)
    assert policy.delay(1, judge(503, "10")) == 10
    assert policy.delay(3, judge(429, "1")) == 4  # never sooner than the backoff
    assert policy.delay(1, judge(503, "3600")) == 30
    assert policy.delay(1, judge(503, "soon")) == 1


def test_retry_after_as_a_date() -> None:
    later = datetime.now(UTC) + timedelta(seconds=120)
    seconds = parse_retry_after(format_datetime(later, usegmt=True))
    assert seconds is not None and 100 < seconds <= 120
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0
    assert parse_retry_after("") is None and parse_retry_after("-5") is None
    # A receiver's header is theirs to get wrong: digits to Python, not to HTTP, are no delay.
    assert parse_retry_after("²") is None and parse_retry_after("٣") is None
    assert parse_retry_after("9" * 5000) is None and parse_retry_after("30") == 30
