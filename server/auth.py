"""Bearer keys. A job belongs to the hash of the key that created it."""

from __future__ import annotations

import hashlib
import hmac

from aiohttp import web

from .errors import Unauthorized

OPEN_OWNER = ""  # the owner of every job when no keys are configured


def key_hash(key: str) -> str:
    # Header values arrive with any bytes that are not UTF-8 kept as surrogates; they are
    # hashed as the bytes they were, never refused with an encoding error.
    return hashlib.sha256(key.encode("utf-8", "surrogateescape")).hexdigest()


class Authenticator:
    """Checks `Authorization: Bearer <key>` against the configured keys."""

    def __init__(self, keys: list[str]) -> None:
        self._hashes = [key_hash(k) for k in keys]

    @property
    def open(self) -> bool:
        return not self._hashes

    def owner(self, request: web.Request) -> str:
        """The caller's owner id, or Unauthorized."""
        if self.open:
            return OPEN_OWNER
        header = request.headers.get("Authorization", "")
        scheme, _, key = header.partition(" ")
        if scheme.lower() != "bearer" or not key.strip():
            raise Unauthorized("Send an API key as 'Authorization: Bearer <key>'.")
        presented = key_hash(key.strip())
        # Compare against every key so the time taken says nothing about which matched.
        matched = False
        for known in self._hashes:
            matched |= hmac.compare_digest(presented, known)
        if not matched:
            raise Unauthorized("The API key is not valid.")
        return presented
