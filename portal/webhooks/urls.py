"""Where webhooks may be sent: a well-formed http(s) URL that the portal's destination policy
(``portal.core.destinations``) accepts: https on a public host, or an address inside one of
``PORTAL_OUTBOUND_ALLOWED_NETWORKS`` (and only there plain http).

The URL is checked when it is saved (what the URL itself shows: a literal address,
``localhost``, a name that can only be local) and, resolved, at every attempt (the sender's
pinned session connects only to an address it checked)."""

from __future__ import annotations

from urllib.parse import urlsplit

from portal.core.config import Settings
from portal.core.destinations import url_problem

MAX_URL = 2000


class BadUrl(ValueError):
    """Why a URL is refused, as a code: required, too_long, invalid, scheme, private."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


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
    problem = url_problem(url, settings.outbound_allowed_networks)
    if problem is not None:
        raise BadUrl(problem.code)
    return url
