"""Webhook endpoints as an operator configures them, and how a delivery is signed.

Deliveries follow the Standard Webhooks scheme and are signed by its reference library
(`standardwebhooks`), the one receivers verify with: HMAC-SHA256 over
"{webhook-id}.{webhook-timestamp}.{body}" with the endpoint's secret (`whsec_` + base64, or
a plain string used as its bytes); `webhook-id` is the same on every try of one delivery so
receivers can drop duplicates, and the timestamp is that of the try.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, SecretStr, field_validator
from standardwebhooks import Webhook
from yarl import URL

from ocr_engine.errors import InvalidRequest

from ..fetch import parse_url

SECRET_PREFIX = "whsec_"
NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}")
USER_AGENT = "Tessera-Webhooks/1"


def signing_key(secret: str) -> bytes:
    """The HMAC key of a secret: `whsec_` + base64 (Standard Webhooks), or the string itself."""
    if not secret:
        raise ValueError("the secret is empty")
    if secret.startswith(SECRET_PREFIX):
        try:
            key = base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)
        except binascii.Error:
            raise ValueError(
                f"a '{SECRET_PREFIX}' secret must be base64 after the prefix"
            ) from None
        if not key:
            raise ValueError(f"the secret is empty after '{SECRET_PREFIX}'")
        return key
    return secret.encode()


class WebhookEndpoint(BaseModel):
    """One configured endpoint, as written in TESSERA_WEBHOOKS."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    url: str
    secret: SecretStr
    allow_private_network: bool = False

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        try:
            # As a document URL is read: a host the resolver cannot encode ("hooks..example",
            # a label over 63 characters) failed every delivery inside Tessera.
            parsed = parse_url(value, param="url")
        except InvalidRequest:
            raise ValueError(
                "the url is not a valid URL (its host or port cannot be read)"
            ) from None
        host = parsed.raw_host
        if (parsed.scheme or "").lower() not in ("http", "https") or not host:
            raise ValueError("the url must be an http:// or https:// URL with a host")
        return value

    @field_validator("secret")
    @classmethod
    def _usable_secret(cls, value: SecretStr) -> SecretStr:
        signing_key(value.get_secret_value())
        return value

    @property
    def key(self) -> bytes:
        return signing_key(self.secret.get_secret_value())

    @property
    def host(self) -> str:
        """The host the client connects to: IDNA-normalised, as yarl reads it."""
        return URL(self.url).raw_host or ""


def parse_endpoints(value: Any) -> Any:
    """TESSERA_WEBHOOKS: a JSON object of endpoints by name."""
    if isinstance(value, str):
        if not value.strip():
            return {}
        try:
            value = json.loads(value)
        except ValueError as e:
            raise ValueError(f"TESSERA_WEBHOOKS is not valid JSON ({e})") from None
        except RecursionError:  # not a ValueError: it left start-up with a traceback
            raise ValueError("TESSERA_WEBHOOKS is nested too deeply to be endpoints") from None
    if not isinstance(value, dict):
        raise ValueError(
            'write webhooks as a JSON object: {"name": {"url": "https://...", '
            '"secret": "whsec_..."}}'
        )
    for name in value:
        if not isinstance(name, str) or not NAME.fullmatch(name):
            raise ValueError(
                f"the endpoint name {name!r} must be 1-64 letters, digits, '_', '.' or '-'"
            )
    return value


def message_id(job_id: str, status: str) -> str:
    """The `webhook-id`: one per job and event, the same on every try."""
    return f"msg_{job_id}_{status}"


def signature(key: bytes, msg_id: str, timestamp: int, body: bytes) -> str:
    """`webhook-signature`: v1, then base64 HMAC-SHA256 of "{id}.{timestamp}.{body}"."""
    # The library takes the key as bytes, so a plain-string secret signs with its own bytes.
    when = datetime.fromtimestamp(timestamp, UTC)
    return Webhook(key).sign(msg_id, when, body.decode())


def headers(key: bytes, msg_id: str, event: str, timestamp: int, body: bytes) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature(key, msg_id, timestamp, body),
        "X-Bifrost-Event": event,
    }
