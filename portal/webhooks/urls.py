"""Where webhooks may be sent: an https URL on a public host. A server on this machine or the
city's own network (loopback, private, link-local addresses, ``.internal`` names...) only when
``PORTAL_WEBHOOKS_ALLOW_PRIVATE`` allows it (development and tests), and then over http too.

The URL is checked when it is saved and, resolved, again before every attempt (a public name
that comes to point at a private address is refused then)."""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from portal.core.config import Settings

MAX_URL = 2000
LOCAL_SUFFIXES = (".local", ".localhost", ".internal", ".lan", ".home.arpa")


class BadUrl(ValueError):
    """Why a URL is refused, as a code: required, too_long, invalid, scheme, private."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def _private_host(host: str) -> bool:
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return host == "localhost" or "." not in host or host.endswith(LOCAL_SUFFIXES)
    return not address.is_global


def check_url(settings: Settings, url: str) -> str:
    """The URL as stored; raises ``BadUrl``."""
    url = (url or "").strip()
    if not url:
        raise BadUrl("required")
    if len(url) > MAX_URL:
        raise BadUrl("too_long")
    if any(c in url for c in " \r\n\t"):
        raise BadUrl("invalid")
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError as exc:
        raise BadUrl("invalid") from exc
    if parts.scheme not in ("http", "https") or not host or parts.username or parts.password:
        raise BadUrl("invalid")
    if parts.fragment:
        raise BadUrl("invalid")
    if settings.webhooks_allow_private:
        return url
    if parts.scheme != "https":
        raise BadUrl("scheme")
    if _private_host(host):
        raise BadUrl("private")
    return url


def check_destination(settings: Settings, url: str) -> None:
    """Before an attempt: every address the host resolves to must be public (unless private
    ones are allowed). Raises ``BadUrl("private")``, or ``OSError`` when it does not resolve."""
    if settings.webhooks_allow_private:
        return
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    port = parts.port or (443 if parts.scheme == "https" else 80)
    for *_rest, sockaddr in socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP):
        if _private_host(str(sockaddr[0])):
            raise BadUrl("private")
