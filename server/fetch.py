"""Fetching a document by URL without becoming a proxy into the operator's network.

- `http` and `https` only, plus `file` under operator-configured roots (off by default).
- A URL is judged by the host the HTTP client will actually connect to: it is parsed by the
  client's own URL library (yarl), which applies IDNA/NFKC normalisation, so a host spelled
  with fullwidth digits, ideographic full stops or circled numbers is judged as the ASCII
  address it becomes. IPv4 written in any form the system resolver accepts (`127.1`,
  `0x7f.1`, `2130706433`) and IPv6 forms that carry an IPv4 address inside (mapped,
  compatible, translated, NAT64, 6to4, Teredo) are judged by that IPv4 address.
- Loopback, private, link-local (the cloud metadata service), multicast and reserved
  addresses are refused unless the operator allows the host or its network.
- The check is made twice: on the URL before any job exists (a clear 400), and on every
  socket the client opens, whatever path led to it (a name through the resolver, an address
  literal that skips it, a redirect). A refused address is never connected to, so the answer
  says nothing about which ports are open there.
- At most three redirects, each one checked like the first URL; responses stream within the
  size limit and the timeout. `file://` reads only regular files, opened without blocking.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import ipaddress
import logging
import os
import re
import socket
import stat
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
from aiohappyeyeballs import AddrInfoType
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver
from yarl import URL

from ocr_engine.errors import DocumentTooLarge, InvalidRequest
from ocr_engine.sources import sniff

log = logging.getLogger(__name__)

MAX_REDIRECTS = 3
MAX_URL_LENGTH = 16 * 1024
_CHUNK = 256 * 1024
# A host after IDNA encoding: letters, digits, dots, hyphens (and underscores, which some
# internal names carry). Anything else is an IPv6 literal or not a host.
_HOST = re.compile(r"[A-Za-z0-9._-]+", re.ASCII)
_REDIRECTS = {301, 302, 303, 307, 308}

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# IPv6 prefixes whose last 32 bits are an IPv4 address (RFC 4291 compatible and mapped,
# RFC 2765 translated, RFC 6052 NAT64 well-known prefix).
_IPV4_IN_LAST_32 = tuple(
    ipaddress.IPv6Network(n) for n in ("::/96", "::ffff:0:0/96", "::ffff:0:0:0/96", "64:ff9b::/96")
)
# RFC 8215 local-use NAT64: the IPv4 address may sit at several offsets; none is public.
_LOCAL_NAT64 = ipaddress.IPv6Network("64:ff9b:1::/48")
# IANA's special-purpose blocks that are not globally reachable, written out here because
# `is_global` answers from the table of the Python that runs: 3.11 before 3.11.10 takes most
# of 192.0.0.0/24 for global, and none knows deprecated site-local fec0::/10, the
# documentation prefix 3fff::/20 (before 3.13), SRv6's 5f00::/16 or the dummy 100:0:0:1::/64.
_NOT_GLOBAL: tuple[IPNetwork, ...] = tuple(
    ipaddress.ip_network(n)
    for n in (
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.0.0.0/24",
        "192.0.2.0/24",
        "192.88.99.0/24",
        "192.168.0.0/16",
        "198.18.0.0/15",
        "198.51.100.0/24",
        "203.0.113.0/24",
        "240.0.0.0/4",
        "::/128",
        "::1/128",
        "100::/64",
        "100:0:0:1::/64",
        "2001:db8::/32",
        "3fff::/20",
        "5f00::/16",
        "fc00::/7",
        "fe80::/10",
        "fec0::/10",
    )
)


class FetchFailed(InvalidRequest):
    code = "document_fetch_failed"


class FetchRefused(InvalidRequest):
    code = "document_url_refused"


class AddressRefused(OSError):
    """Raised inside the HTTP client for an address the policy refuses; never connected."""

    def __init__(self) -> None:
        # One message for every refused address, so that aiohappyeyeballs, which merges
        # differing errors into one, keeps this type.
        super().__init__(errno.EACCES, "the address is refused by Tessera's fetch policy")


def embedded_ipv4(address: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address] | None:
    """The IPv4 address(es) an IPv6 address carries and would reach; None if it carries none."""
    if address.teredo is not None:
        return list(address.teredo)
    if address.sixtofour is not None:
        return [address.sixtofour]
    if address.ipv4_mapped is not None:
        return [address.ipv4_mapped]
    if any(address in network for network in _IPV4_IN_LAST_32):
        return [ipaddress.IPv4Address(address.packed[12:])]
    return None


def literal_address(host: str) -> IPAddress | None:
    """The address a host names by itself, in any spelling the resolver would accept."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if "%" in host:
        return None  # an IPv6 zone the ipaddress module did not take: not an address
    try:
        # inet_aton takes what getaddrinfo takes for IPv4: "127.1", "0x7f.1", "2130706433".
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except (OSError, ValueError, UnicodeError):
        return None


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
                hosts.add(_normal_host(entry))
        return cls(frozenset(hosts), tuple(networks), tuple(Path(r).resolve() for r in file_roots))

    def address_allowed(self, address: IPAddress) -> bool:
        if any(
            address in network
            for network in self.allowed_networks
            if network.version == address.version
        ):
            return True
        if isinstance(address, ipaddress.IPv6Address):
            if address in _LOCAL_NAT64:
                return False
            inner = embedded_ipv4(address)
            if inner is not None:
                return all(self.address_allowed(a) for a in inner)
        if any(address in network for network in _NOT_GLOBAL if network.version == address.version):
            return False
        return address.is_global and not address.is_multicast

    def host_allowed(self, host: str) -> bool:
        return _normal_host(host) in self.allowed_hosts


def _normal_host(host: str) -> str:
    """A host as the client connects to it: IDNA-encoded, lower case, no trailing dot."""
    with contextlib.suppress(ValueError, UnicodeError, TypeError):
        host = URL.build(scheme="http", host=host.strip()).raw_host or host
    return host.lower().rstrip(".")


class GuardedResolver(AbstractResolver):
    """Resolves names as usual, then refuses addresses the policy does not allow.

    Addresses of hosts the operator allowed by name are remembered, so that the socket
    check lets the connection to them through.
    """

    def __init__(self, policy: FetchPolicy, trusted: set[str]) -> None:
        self._policy = policy
        self._trusted = trusted
        self._resolver = DefaultResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._resolver.resolve(host, port, family)
        if self._policy.host_allowed(host):
            self._trusted.update(r["host"] for r in results)
            return results
        allowed = [
            r for r in results if self._policy.address_allowed(ipaddress.ip_address(r["host"]))
        ]
        if not allowed:
            raise AddressRefused()
        return allowed

    async def close(self) -> None:
        await self._resolver.close()


class _GuardedSockets:
    """The socket factory of the HTTP client: the last check, made on the address itself."""

    def __init__(self, policy: FetchPolicy, trusted: set[str]) -> None:
        self._policy = policy
        self._trusted = trusted

    def __call__(self, addr_info: AddrInfoType) -> socket.socket:
        family, kind, proto, _, sockaddr = addr_info
        host = str(sockaddr[0])
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            raise AddressRefused() from None
        if host not in self._trusted and not self._policy.address_allowed(address):
            raise AddressRefused()
        return socket.socket(family=family, type=kind, proto=proto)


def client_session(policy: FetchPolicy) -> aiohttp.ClientSession:
    """The HTTP client for documents: every connection checked against the policy."""
    trusted: set[str] = set()
    # No DNS cache: each connection asks again, so the answer checked is the one used.
    connector = aiohttp.TCPConnector(
        resolver=GuardedResolver(policy, trusted),
        use_dns_cache=False,
        socket_factory=_GuardedSockets(policy, trusted),
    )
    return aiohttp.ClientSession(connector=connector, trust_env=False)


def parse_url(url: str, *, param: str, what: str = "The document URL") -> URL:
    """A URL as the HTTP client will read it; InvalidRequest if it cannot be read."""
    if len(url) > MAX_URL_LENGTH:
        raise InvalidRequest(f"{what} is longer than {MAX_URL_LENGTH} characters.", param=param)
    try:
        parsed = URL(url)
        host = parsed.raw_host  # decoding the host is what fails on a bad one
        parsed.port  # noqa: B018 - likewise an out-of-range port
        if host and not _HOST.fullmatch(host):
            ipaddress.IPv6Address(host)  # the one other shape a host may have
        elif host:
            # The resolver encodes a name as IDNA, which refuses an empty label or one over
            # 63 characters ("a..b", "a" * 64): refused here, not as a failure deep in the client.
            host.encode("idna")
    except (ValueError, UnicodeError, TypeError):
        raise InvalidRequest(
            f"{what} is not a valid URL (its host or port cannot be read).", param=param
        ) from None
    return parsed


def check_url(url: str | URL, policy: FetchPolicy, *, param: str) -> URL:
    """Refuse a URL that could never be fetched, before a job exists for it."""
    parsed = url if isinstance(url, URL) else parse_url(url, param=param)
    scheme = (parsed.scheme or "").lower()
    if scheme == "file":
        _file_path(parsed, policy, param=param)
        return parsed
    host = parsed.raw_host
    if scheme not in ("http", "https") or not host:
        raise InvalidRequest(
            "The document URL must be a data: URL or an http(s):// URL.", param=param
        )
    address = literal_address(host)
    if (
        address is not None
        and not policy.host_allowed(host)
        and not policy.address_allowed(address)
    ):
        shown = host if str(address) == host else f"{host} ({address})"
        raise FetchRefused(
            f"Fetching documents from {shown} is not allowed: it is a loopback, private, "
            "link-local or reserved address. An operator can allow it (TESSERA_FETCH_ALLOW).",
            param=param,
        )
    return parsed


def _refused(host: str, param: str) -> FetchRefused:
    return FetchRefused(
        f"Fetching documents from {host} is not allowed: it resolves to a loopback, private, "
        "link-local or reserved address. An operator can allow it (TESSERA_FETCH_ALLOW).",
        param=param,
    )


def _file_path(url: URL, policy: FetchPolicy, *, param: str) -> Path:
    if not policy.file_roots:
        raise FetchRefused(
            "file:// URLs are not enabled on this server (TESSERA_FILE_ROOTS).", param=param
        )
    if url.raw_host not in (None, "", "localhost"):
        raise FetchRefused("A file:// URL must name a file on this server (no host).", param=param)
    path = url.path
    if "\x00" in path or not path.startswith("/"):
        raise InvalidRequest("The file:// URL does not name a valid path.", param=param)
    resolved = Path(path).resolve()
    if not any(resolved.is_relative_to(root) for root in policy.file_roots):
        raise FetchRefused("The file is outside the directories this server may read.", param=param)
    return resolved


@dataclass(frozen=True)
class Fetcher:
    """Fetches documents by URL: the HTTP client behind the policy, within the limits."""

    session: aiohttp.ClientSession
    policy: FetchPolicy
    max_bytes: int
    timeout: float

    async def fetch(self, url: str, *, param: str) -> bytes:
        """A document's bytes from an http(s) or file URL, checked to be a PDF or an image."""
        try:
            async with asyncio.timeout(self.timeout):
                data = await _fetch(
                    url,
                    session=self.session,
                    policy=self.policy,
                    max_bytes=self.max_bytes,
                    param=param,
                )
        except TimeoutError:
            raise FetchFailed(
                f"Fetching the document took longer than {self.timeout:.0f} s.", param=param
            ) from None
        if not data:
            raise FetchFailed("The document URL answered with no content.", param=param)
        sniff(data[:1024])
        return data


async def _fetch(
    url: str, *, session: aiohttp.ClientSession, policy: FetchPolicy, max_bytes: int, param: str
) -> bytes:
    target = check_url(url, policy, param=param)
    for _ in range(MAX_REDIRECTS + 1):
        if target.scheme.lower() == "file":
            path = _file_path(target, policy, param=param)
            return await asyncio.to_thread(_read_file, path, max_bytes, param)
        try:
            async with session.get(target, allow_redirects=False) as response:
                if response.status in _REDIRECTS and "Location" in response.headers:
                    target = _redirect(target, response.headers["Location"], policy, param)
                    continue
                if response.status >= 400:
                    raise FetchFailed(
                        f"Fetching the document answered HTTP {response.status}.", param=param
                    )
                return await _read(response, max_bytes, param)
        except aiohttp.ClientConnectorError as e:
            if isinstance(e.os_error, AddressRefused):
                raise _refused(e.host, param) from None
            raise FetchFailed("The document host could not be reached.", param=param) from None
        except aiohttp.ClientError as e:
            raise FetchFailed(
                f"The document could not be fetched: {plain_client_error(e)}.", param=param
            ) from None
    raise FetchFailed(
        f"Fetching the document took more than {MAX_REDIRECTS} redirects.", param=param
    )


def _redirect(current: URL, location: str, policy: FetchPolicy, param: str) -> URL:
    try:
        target = current.join(URL(location))
    except (ValueError, UnicodeError, TypeError):
        raise FetchFailed(
            "The document URL redirected to an address that is not a valid URL.", param=param
        ) from None
    if (target.scheme or "").lower() == "file":
        raise FetchRefused("A redirect may not lead to a file:// URL.", param=param)
    try:
        return check_url(str(target), policy, param=param)
    except FetchRefused:
        raise
    except InvalidRequest:
        raise FetchFailed(
            "The document URL redirected to an address that cannot be fetched.", param=param
        ) from None


def plain_client_error(error: aiohttp.ClientError) -> str:
    """What went wrong, in words, without the client library's class names."""
    if isinstance(error, aiohttp.InvalidURL):
        return "the URL is not one the HTTP client can request"
    if isinstance(error, aiohttp.ServerDisconnectedError | aiohttp.ClientOSError):
        return "the connection was closed before the answer was complete"
    if isinstance(error, aiohttp.ClientPayloadError):
        return "the answer's body was cut short or malformed"
    if isinstance(error, aiohttp.ClientResponseError):
        return "the host's answer is not valid HTTP"
    return "the connection failed"


async def _read(response: aiohttp.ClientResponse, max_bytes: int, param: str) -> bytes:
    too_large = DocumentTooLarge(
        f"The document is larger than the limit of {max_bytes} bytes.", param=param
    )
    return await read_limited(response.content, response.content_length, max_bytes, too_large)


async def read_limited(
    stream: aiohttp.StreamReader, declared: int | None, limit: int, too_large: Exception
) -> bytes:
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
    """A regular file's bytes. Opened without blocking and without following a link put in
    place since the path was checked, so a FIFO, a device or a swapped link cannot hang or
    redirect the read."""
    flags = os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | getattr(os, "O_NOCTTY", 0)
    try:
        fd = os.open(path, flags)
    except OSError:
        raise FetchFailed("The file cannot be read.", param=param) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise FetchFailed("The file:// URL does not name a regular file.", param=param)
        if info.st_size > max_bytes:
            raise DocumentTooLarge(
                f"The document is larger than the limit of {max_bytes} bytes.", param=param
            )
        os.set_blocking(fd, True)
        with os.fdopen(fd, "rb", closefd=False) as f:
            data = f.read(max_bytes + 1)
    except OSError:
        raise FetchFailed("The file cannot be read.", param=param) from None
    finally:
        os.close(fd)
    if len(data) > max_bytes:
        raise DocumentTooLarge(
            f"The document is larger than the limit of {max_bytes} bytes.", param=param
        )
    return data
