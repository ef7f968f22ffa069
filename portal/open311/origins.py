"""Web origins allowed to call the Open311 API from a browser (CORS), without Flask.

An origin is ``scheme://host[:port]`` (http or https, no path, query, fragment or user): what
a browser sends in ``Origin``. The city's list (``PORTAL_OPEN311_CORS_ORIGINS``) allows reads
from its origins, or from every origin with ``*``; each API key lists the origins of the app
that uses it (``ApiKey.allowed_origins``, one a line), which may read with the key and file
requests with it. Filing is allowed only from the key's own origins.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.open311.models import ApiKey

ANY = "*"
ORIGIN_MAX = 200
#: Origins one key may list.
ORIGINS_MAX = 20


class OriginError(ValueError):
    """A written origin that is not one; ``code`` is ``invalid``, ``too_long``, ``any`` (``*``
    on a key) or ``too_many``; ``origin`` the text as written."""

    def __init__(self, code: str, origin: str = "") -> None:
        super().__init__(f"{code}: {origin}")
        self.code = code
        self.origin = origin


def normalise(text: str) -> str:
    """``text`` as the origin a browser would send ("HTTPS://App.Example.org:443/" is
    "https://app.example.org"); raises ``OriginError``."""
    raw = text.strip()
    if len(raw) > ORIGIN_MAX:
        raise OriginError("too_long", raw[:60])
    if raw == ANY:
        raise OriginError("any", raw)
    try:
        parts = urlsplit(raw.rstrip("/") if raw.count("/") == 3 else raw)
        port = parts.port
    except ValueError as exc:
        raise OriginError("invalid", raw) from exc
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if (
        scheme not in ("http", "https")
        or not host
        or parts.username is not None
        or parts.password is not None
        or parts.path not in ("", "/")
        or parts.query
        or parts.fragment
        or raw.endswith("?")
        or raw.endswith("#")
        or any(c.isspace() for c in raw)
    ):
        raise OriginError("invalid", raw)
    if ":" in host:
        host = f"[{host}]"
    default = 443 if scheme == "https" else 80
    return f"{scheme}://{host}" if port in (None, default) else f"{scheme}://{host}:{port}"


def parse_list(text: str) -> tuple[str, ...]:
    """The origins written in ``text`` (one a line, or separated by spaces or commas),
    normalised, duplicates dropped; raises ``OriginError`` for the first bad one."""
    found: dict[str, None] = {}
    for part in text.replace(",", " ").split():
        found.setdefault(normalise(part), None)
    if len(found) > ORIGINS_MAX:
        raise OriginError("too_many")
    return tuple(found)


def stored(text: str | None) -> tuple[str, ...]:
    """The origins a key stores (already normalised), one a line."""
    return tuple(line for line in (text or "").split() if line)


def city_list(raw: Iterable[str]) -> tuple[str, ...]:
    """The city-wide read list as configured: ``*`` kept, every other entry normalised;
    raises ``OriginError``."""
    out: dict[str, None] = {}
    for part in raw:
        part = part.strip()
        if part:
            out.setdefault(ANY if part == ANY else normalise(part), None)
    return tuple(out)


def city_allows(city: tuple[str, ...], origin: str) -> bool:
    return ANY in city or origin in city


def key_allows(key: ApiKey | None, origin: str) -> bool:
    return key is not None and origin in stored(key.allowed_origins)


def any_key_allows(session: Session, origin: str) -> bool:
    """Whether some active key lists ``origin`` (a preflight cannot know the key: the key
    of a POST comes in its body)."""
    if not origin or len(origin) > ORIGIN_MAX:
        return False
    like = origin.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    for text in session.scalars(
        select(ApiKey.allowed_origins).where(
            ApiKey.revoked_at.is_(None), ApiKey.allowed_origins.like(f"%{like}%", escape="\\")
        )
    ):
        if origin in stored(text):
            return True
    return False
