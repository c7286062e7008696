"""Fetching a document by URL without becoming a proxy into the operator's network.

- `http` and `https` only, plus `file` under operator-configured roots (off by default).
- Loopback, private, link-local (the cloud metadata service), multicast and reserved
  addresses are refused unless the operator allows the host or its network.
- Addresses are checked when the connection is made, by the resolver the connection uses,
  so a name that resolves to an allowed address at one moment and a private one the next is
  caught; literal addresses are checked before any connection.
- At most three redirects, each one checked like the first URL; responses stream within the
  size limit and the timeout.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver

from ocr_engine.errors import DocumentTooLarge, InvalidRequest
from ocr_engine.sources import sniff

log = logging.getLogger(__name__)

MAX_REDIRECTS = 3
_CHUNK = 256 * 1024
_REDIRECTS = {301, 302, 303, 307, 308}

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class FetchFailed(InvalidRequest):
    code = "document_fetch_failed"


class FetchRefused(InvalidRequest):
    code = "document_url_refused"


@dataclass(frozen=True)
class FetchPolicy:
    """Where documents may be fetched from, beyond the public internet."""

    allowed_hosts: frozenset[str] = frozenset()
    allowed_networks: tuple[IPNetwork, ...] = ()
    file_roots: tuple[Path, ...] = field(default=())

    @classmethod
    def from_settings(cls, allow: list[str], file_roots: list[str]) -> FetchPolicy:
        """`allow` holds host names and networks ("10.0.0.0/8", "files.internal")."""
        hosts, networks = set(), []
        for entry in allow:
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                hosts.add(entry.lower().rstrip("."))
        return cls(frozenset(hosts), tuple(networks),
                   tuple(Path(r).resolve() for r in file_roots))

    def address_allowed(self, address: IPAddress) -> bool:
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        if any(address in network for network in self.allowed_networks):
            return True
        return address.is_global and not address.is_multicast

    def host_allowed(self, host: str) -> bool:
        return host.lower().rstrip(".") in self.allowed_hosts


class GuardedResolver(AbstractResolver):
    """Resolves names as usual, then refuses addresses the policy does not allow."""

    def __init__(self, policy: FetchPolicy) -> None:
        self._policy = policy
        self._resolver = DefaultResolver()

    async def resolve(self, host: str, port: int = 0,
                      family: socket.AddressFamily = socket.AF_INET) -> list[ResolveResult]:
        results = await self._resolver.resolve(host, port, family)
        if self._policy.host_allowed(host):
            return results
        allowed = [r for r in results if self._policy.address_allowed(
            ipaddress.ip_address(r["host"]))]
        if not allowed:
            raise OSError(f"{host} resolves only to addresses Tessera may not fetch from")
        return allowed

    async def close(self) -> None:
        await self._resolver.close()


def client_session(policy: FetchPolicy) -> aiohttp.ClientSession:
    """The HTTP client for documents: every connection resolved through the policy."""
    # No DNS cache: each connection asks again, so the answer checked is the one used.
    connector = aiohttp.TCPConnector(resolver=GuardedResolver(policy), use_dns_cache=False)
    return aiohttp.ClientSession(connector=connector, trust_env=False)


def check_url(url: str, policy: FetchPolicy, *, param: str) -> None:
    """Refuse a URL that could never be fetched, before a job exists for it."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme == "file":
        _file_path(parts.path, policy, param=param)
        return
    if scheme not in ("http", "https") or not parts.hostname:
        raise InvalidRequest("The document URL must be a data: URL or an http(s):// URL.",
                             param=param)
    _check_literal(parts.hostname, policy, param=param)


def _check_literal(host: str, policy: FetchPolicy, *, param: str) -> None:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return  # a name: checked when it is resolved
    if not policy.host_allowed(host) and not policy.address_allowed(address):
        raise FetchRefused(
            f"Fetching documents from {host} is not allowed: it is a loopback, private, "
            "link-local or reserved address. An operator can allow it (TESSERA_FETCH_ALLOW).",
            param=param)


def _file_path(path: str, policy: FetchPolicy, *, param: str) -> Path:
    if not policy.file_roots:
        raise FetchRefused("file:// URLs are not enabled on this server (TESSERA_FILE_ROOTS).",
                           param=param)
    resolved = Path(unquote(path)).resolve()
    if not any(resolved.is_relative_to(root) for root in policy.file_roots):
        raise FetchRefused("The file is outside the directories this server may read.",
                           param=param)
    return resolved


async def fetch(url: str, *, session: aiohttp.ClientSession, policy: FetchPolicy,
                max_bytes: int, timeout: float, param: str) -> bytes:
    """A document's bytes from an http(s) or file URL, checked to be a PDF or an image."""
    try:
        async with asyncio.timeout(timeout):
            data = await _fetch(url, session=session, policy=policy, max_bytes=max_bytes,
                                param=param)
    except TimeoutError:
        raise FetchFailed(f"Fetching the document took longer than {timeout:.0f} s.",
                          param=param) from None
    if not data:
        raise FetchFailed("The document URL answered with no content.", param=param)
    sniff(data[:1024])
    return data


async def _fetch(url: str, *, session: aiohttp.ClientSession, policy: FetchPolicy,
                 max_bytes: int, param: str) -> bytes:
    for _ in range(MAX_REDIRECTS + 1):
        check_url(url, policy, param=param)
        parts = urlsplit(url)
        if parts.scheme.lower() == "file":
            return await asyncio.to_thread(_read_file, _file_path(parts.path, policy,
                                                                  param=param), max_bytes, param)
        try:
            async with session.get(url, allow_redirects=False) as response:
                if response.status in _REDIRECTS and "Location" in response.headers:
                    url = urljoin(url, response.headers["Location"])
                    if urlsplit(url).scheme.lower() == "file":
                        raise FetchRefused("A redirect may not lead to a file:// URL.",
                                           param=param)
                    continue
                if response.status >= 400:
                    raise FetchFailed(f"Fetching the document answered HTTP {response.status}.",
                                      param=param)
                return await _read(response, max_bytes, param)
        except aiohttp.ClientConnectorError as e:
            raise _connect_error(e, param) from None
        except aiohttp.ClientError as e:
            raise FetchFailed(f"The document could not be fetched: {type(e).__name__}.",
                              param=param) from None
    raise FetchFailed(f"Fetching the document took more than {MAX_REDIRECTS} redirects.",
                      param=param)


def _connect_error(error: aiohttp.ClientConnectorError, param: str) -> InvalidRequest:
    if "may not fetch from" in str(error.os_error):
        return FetchRefused(
            f"Fetching documents from {error.host} is not allowed: it resolves to a loopback, "
            "private, link-local or reserved address. An operator can allow it "
            "(TESSERA_FETCH_ALLOW).", param=param)
    return FetchFailed(f"The document host {error.host} could not be reached.", param=param)


async def _read(response: aiohttp.ClientResponse, max_bytes: int, param: str) -> bytes:
    too_large = DocumentTooLarge(f"The document is larger than the limit of {max_bytes} bytes.",
                                 param=param)
    return await read_limited(response.content, response.content_length, max_bytes, too_large)


async def read_limited(stream: aiohttp.StreamReader, declared: int | None, limit: int,
                       too_large: Exception) -> bytes:
    """A stream's bytes, refused with `too_large` as soon as they pass `limit`."""
    if (declared or 0) > limit:
        raise too_large
    chunks: list[bytes] = []
    size = 0
    async for chunk in stream.iter_chunked(_CHUNK):
        size += len(chunk)
        if size > limit:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)


def _read_file(path: Path, max_bytes: int, param: str) -> bytes:
    try:
        with open(path, "rb") as f:
            data = f.read(max_bytes + 1)
    except OSError:
        raise FetchFailed("The file cannot be read.", param=param) from None
    if len(data) > max_bytes:
        raise DocumentTooLarge(f"The document is larger than the limit of {max_bytes} bytes.",
                               param=param)
    return data
