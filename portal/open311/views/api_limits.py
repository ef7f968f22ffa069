"""Who an Open311 call counts against: its API key, or its address.

A call may name a key with ``api_key`` (query string, or the form body of a POST) or the
``X-Api-Key`` header. Reads (every GET resource share one budget) with a valid key count
against that key's own ``read_rate_limit``; without a key, against ``READ_LIMIT`` per address.
A key that is sent but unknown or revoked is a 403, counted per address first (so guessing
keys is limited like any keyless call). The address is the real client's:
``PORTAL_TRUSTED_PROXIES`` puts Werkzeug's ProxyFix in front (``portal.app``), so
``request.remote_addr`` is the address the last trusted proxy saw. Every 429 carries
``Retry-After`` (Flask-Limiter's headers are on: ``RATELIMIT_HEADERS_ENABLED``).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import g, request
from flask_limiter.util import get_remote_address

from portal.extensions import limiter
from portal.open311 import keys
from portal.open311.models import ApiKey
from portal.open311.posting import value
from portal.open311.views.api_formats import ApiError
from portal.web import db_session

#: Reads without a key, per address, shared by every read resource.
READ_LIMIT = "300/minute"
HEADER = "X-Api-Key"
_UNSET = object()


def raw_key() -> str | None:
    """The key the call names (form body of a POST, query string, or ``X-Api-Key``)."""
    found = value(request.args, "api_key") or value(request.headers, HEADER)
    if request.method == "POST":
        found = value(request.form, "api_key") or found
    return found


def caller_key() -> ApiKey | None:
    """The call's active API key (looked up once per request), or None."""
    found = g.get("_open311_key", _UNSET)
    if found is _UNSET:
        found = keys.find_key(db_session(), raw_key())
        g._open311_key = found
    return found  # type: ignore[return-value]


def _read_rate() -> str:
    key = caller_key()
    return key.read_rate_limit if key is not None else READ_LIMIT


def _read_key() -> str:
    key = caller_key()
    return f"open311-key:{key.id}" if key is not None else f"open311-ip:{get_remote_address()}"


_shared_read_limit = limiter.shared_limit(_read_rate, scope="open311-read", key_func=_read_key)


def read_limit(view: Callable[..., Any]) -> Callable[..., Any]:
    """A read resource: counted against the key or the address, then a key that was sent
    must be valid (403 otherwise)."""

    @wraps(view)
    def checked(*args: Any, **kwargs: Any) -> Any:
        if raw_key() is not None and caller_key() is None:
            raise ApiError(403, "api_key is not valid (unknown or revoked).")
        return view(*args, **kwargs)

    return _shared_read_limit(checked)
