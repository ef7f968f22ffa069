"""Where the portal's own HTTP requests may go (webhooks, outbound Open311): one policy against
server-side request forgery, checked when a URL is registered and again at every connection.

An address is refused when it is not on the public internet: loopback, private (RFC 1918,
fc00::/7, the shared 100.64.0.0/10...), link-local (169.254.0.0/16 with the cloud metadata
address 169.254.169.254, fe80::/10), multicast, reserved or unspecified, and the IPv6 forms
that carry an IPv4 address (IPv4-mapped ``::ffff:a.b.c.d``, 6to4, NAT64) are judged by it.
An address inside one of the operator's ``PORTAL_OUTBOUND_ALLOWED_NETWORKS`` (a city whose
works system is on its own network; the tests' loopback) is allowed all the same, and only
there may plain ``http`` go: anything else is ``https``.

At registration only what the URL itself shows can be judged (``url_problem``: a literal
address, ``localhost``, a name that can only be local). At delivery ``pinned_session()``'s
adapter resolves the host once, refuses when any of its addresses is refused, and connects to
the address it checked (the ``Host`` header, the TLS server name and the certificate check stay
the hostname's), so a name cannot be pointed elsewhere between the check and the connection
(DNS rebinding). No redirect is followed (the callers say ``allow_redirects=False``; one would
go through the same adapter and be checked again).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import NewConnectionError

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

#: Names that only ever mean this machine or a local network (refused at registration when no
#: network is allowed: they could not resolve to a public address anyway).
LOCAL_SUFFIXES = (".local", ".localhost", ".internal", ".lan", ".home.arpa")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_DEFAULT_PORTS = {"http": 80, "https": 443}


class RefusedDestination(Exception):  # noqa: N818 - the name says what happened
    """The destination is not one the policy allows (not a ``ValueError``: requests would turn
    that into ``InvalidURL``). ``reason`` is the kind of address (``loopback``, ``private``,
    ``link-local``...) or ``http`` (plain http outside the allowed networks)."""

    def __init__(self, host: str, address: str, reason: str) -> None:
        self.host, self.address, self.reason = host, address, reason
        where = host if host == address else f"{host} ({address})"
        if reason == "http":
            text = (
                f"plain http to {where} refused: http only goes to the networks in "
                "PORTAL_OUTBOUND_ALLOWED_NETWORKS, anything else must be https"
            )
        else:
            text = (
                f"{where} is a {reason} address: refused unless "
                "PORTAL_OUTBOUND_ALLOWED_NETWORKS includes it"
            )
        super().__init__(text)


@dataclass(frozen=True)
class UrlProblem:
    """Why a URL cannot be registered: ``code`` is ``scheme`` (plain http) or ``private``;
    ``detail`` says it in English (city.toml's problems, logs)."""

    code: str
    detail: str


def networks(values: Iterable[str]) -> tuple[Network, ...]:
    """The allowed networks from their text (``10.20.0.0/16``, ``::1``)."""
    return tuple(ipaddress.ip_network(value, strict=False) for value in values)


def _carried(address: Address) -> Address:
    """The IPv4 address an IPv6 one stands for (IPv4-mapped, 6to4, NAT64), else itself."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        if address.sixtofour is not None:
            return address.sixtofour
        if address in _NAT64:
            return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address


def refusal(address: Address) -> str | None:
    """Why the portal must not connect to ``address`` (the kind of address), None when it is
    a public one."""
    carried = _carried(address)
    if carried is not address:
        return refusal(carried)
    if address.is_unspecified:
        return "unspecified"
    if address.is_loopback:
        return "loopback"
    if address.is_link_local:
        return "link-local"
    if address.is_multicast:
        return "multicast"
    if address.is_reserved:
        return "reserved"
    if address.is_private or (isinstance(address, ipaddress.IPv6Address) and address.is_site_local):
        return "private"
    if not address.is_global:
        return "non-public"
    return None


def is_allowed(address: Address, allowed: Iterable[Network]) -> bool:
    """Whether an allowed network holds ``address`` (or the IPv4 address it carries)."""
    carried = _carried(address)
    return any(address in net or carried in net for net in allowed)


def address_problem(address: Address, allowed: Iterable[Network], *, scheme: str) -> str | None:
    """Why the policy refuses connecting to ``address`` over ``scheme`` (``http`` or the kind
    of address), None when it may."""
    allowed = tuple(allowed)
    if is_allowed(address, allowed):
        return None
    reason = refusal(address)
    if reason is None and scheme == "http":
        return "http"
    return reason


def _literal(host: str) -> Address | None:
    try:
        return ipaddress.ip_address(host.strip("[]").split("%", 1)[0])
    except ValueError:
        return None


def url_problem(url: str, allowed_networks: Iterable[str]) -> UrlProblem | None:
    """What registering ``url`` (already a well-formed http or https URL) would break: a
    literal address (or ``localhost``) the policy refuses, a name that can only be local
    (while no network is allowed), plain http where it cannot be to an allowed network."""
    parts = urlsplit(url)
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower().rstrip(".")
    allowed = networks(allowed_networks)
    literal = _literal(host)
    if host == "localhost" or host.endswith(".localhost"):
        literal = ipaddress.IPv4Address("127.0.0.1")
    if literal is not None:
        reason = address_problem(literal, allowed, scheme=scheme)
        if reason == "http":
            return UrlProblem("scheme", f"{url}: plain http only goes to an allowed network")
        if reason is not None:
            return UrlProblem("private", f"{host} is a {reason} address")
        return None
    if not allowed and ("." not in host or host.endswith(LOCAL_SUFFIXES)):
        return UrlProblem("private", f"{host} can only be a name on a local network")
    if scheme == "http" and not allowed:
        return UrlProblem("scheme", f"{url}: plain http only goes to an allowed network")
    return None


def resolve(host: str, port: int, *, scheme: str, allowed: Iterable[Network]) -> list[str]:
    """The addresses to connect to for ``host``, in the system's preferred order, once every
    address it resolves to is checked. Raises ``RefusedDestination``, or ``OSError``
    (``socket.gaierror``) when the name does not resolve."""
    allowed = tuple(allowed)
    found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses = list(dict.fromkeys(str(sockaddr[0]) for *_rest, sockaddr in found))
    if not addresses:
        raise socket.gaierror(f"{host} has no address")
    for text in addresses:
        address = ipaddress.ip_address(text.split("%", 1)[0])
        reason = address_problem(address, allowed, scheme=scheme)
        if reason is not None:
            raise RefusedDestination(host, text, reason)
    return addresses


def _not_connected(exc: requests.ConnectionError) -> bool:
    """Whether the connection itself was refused or unreachable (nothing was sent), not timed
    out (that took the time already) nor broken after the request went."""
    reason = getattr(exc.args[0] if exc.args else None, "reason", None)
    return isinstance(reason, NewConnectionError) and not isinstance(exc, requests.ConnectTimeout)


class PinnedAdapter(HTTPAdapter):
    """requests' adapter with the policy: the host is resolved and checked once per request,
    and the connection pool is a checked address's, with the hostname as TLS server name and
    certificate name (urllib3's ``server_hostname`` and ``assert_hostname``); the request
    keeps its ``Host`` header. When an address refuses the connection the next one is tried,
    as a plain connection would (a host on IPv4 and IPv6)."""

    def __init__(self, allowed_networks: Iterable[str]) -> None:
        self.allowed = networks(allowed_networks)
        super().__init__()

    def send(  # type: ignore[override]
        self, request: requests.PreparedRequest, **kwargs: Any
    ) -> requests.Response:
        parts = urlsplit(request.url or "")
        scheme, host = parts.scheme.lower(), (parts.hostname or "")
        port = parts.port or _DEFAULT_PORTS.get(scheme, 443)
        addresses = resolve(host, port, scheme=scheme, allowed=self.allowed)
        for index, address in enumerate(addresses):
            request.pinned_address = address  # type: ignore[attr-defined]
            try:
                return super().send(request, **kwargs)
            except requests.ConnectionError as exc:
                if index == len(addresses) - 1 or not _not_connected(exc):
                    raise
        raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises

    def build_connection_pool_key_attributes(
        self, request: requests.PreparedRequest, verify: Any, cert: Any = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        host_params, pool_kwargs = super().build_connection_pool_key_attributes(
            request, verify, cert
        )
        host = host_params["host"] or ""
        address = getattr(request, "pinned_address", None)
        if address is None:
            raise RefusedDestination(host, host, "unchecked")
        if _literal(host) is None:
            host_params["host"] = address
            if host_params["scheme"] == "https":
                pool_kwargs["server_hostname"] = host
                pool_kwargs["assert_hostname"] = host
        return host_params, pool_kwargs

    def add_headers(self, request: requests.PreparedRequest, **kwargs: Any) -> None:
        """The Host header of the URL (the connection is to an address, not the name)."""
        netloc = urlsplit(request.url or "").netloc.rpartition("@")[2]
        request.headers.setdefault("Host", netloc)


def pinned_session(allowed_networks: Iterable[str]) -> requests.Session:
    """A requests session that follows the policy on every request, with nothing from the
    environment (no proxy, no .netrc credentials)."""
    session = requests.Session()
    session.trust_env = False
    adapter = PinnedAdapter(allowed_networks)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session
