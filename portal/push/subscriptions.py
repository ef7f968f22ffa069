"""Subscribing a device, checking what the browser sent, listing and removing devices."""

from __future__ import annotations

import hashlib
import ipaddress
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from portal.core import clock
from portal.core.config import Settings
from portal.core.i18n import _l
from portal.core.vapid import KeyError_, b64url, check_auth, check_p256dh
from portal.push.models import PushSubscription

MAX_ENDPOINT = 1000
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})


class BadSubscription(ValueError):
    """What the browser sent is not a subscription we can push to.

    ``field`` names the part ("endpoint", "p256dh", "auth") and ``message`` (a message id to
    translate) says what is wrong with it.
    """

    def __init__(self, field: str, message: str, detail: str = "") -> None:
        super().__init__(f"{field}: {message} {detail}".strip())
        self.field = field
        self.message = message
        self.detail = detail


@dataclass(frozen=True)
class SubscriptionInfo:
    endpoint: str
    p256dh: str
    auth: str


def endpoint_hash(endpoint: str) -> str:
    return hashlib.sha256(endpoint.encode()).hexdigest()


def check_endpoint(settings: Settings, endpoint: Any) -> str:
    """An https URL on a public host (or http on loopback when the settings allow it, for a
    push service on this machine); raises ``BadSubscription``."""
    if not isinstance(endpoint, str) or not endpoint or len(endpoint) > MAX_ENDPOINT:
        raise BadSubscription("endpoint", _l("The endpoint must be a URL."))
    try:
        parts = urlsplit(endpoint)
        host = (parts.hostname or "").lower()
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError as exc:
        raise BadSubscription("endpoint", _l("The endpoint must be a URL.")) from exc
    if not host or parts.username or parts.password or any(c in endpoint for c in " \r\n\t"):
        raise BadSubscription("endpoint", _l("The endpoint must be a URL."))
    loopback = host in LOOPBACK_NAMES
    if loopback and settings.push_allow_loopback_http and parts.scheme in ("http", "https"):
        return endpoint
    if parts.scheme != "https":
        raise BadSubscription("endpoint", _l("The endpoint must be an https URL."))
    if loopback or _private_address(host) or "." not in host:
        raise BadSubscription(
            "endpoint", _l("The endpoint must be a push service on the internet.")
        )
    return endpoint


def _private_address(host: str) -> bool:
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return host.endswith((".local", ".localhost", ".internal"))
    return not address.is_global


def parse_subscription(settings: Settings, data: Any) -> SubscriptionInfo:
    """What ``PushSubscription.toJSON()`` gives in the browser, checked; raises
    ``BadSubscription`` naming the part that is wrong."""
    if not isinstance(data, dict):
        raise BadSubscription("subscription", _l("The subscription is missing."))
    endpoint = check_endpoint(settings, data.get("endpoint"))
    keys = data.get("keys")
    keys = keys if isinstance(keys, dict) else {}
    checked: dict[str, str] = {}
    for name, check, message in (
        ("p256dh", check_p256dh, _l("The p256dh key must be a P-256 public key.")),
        ("auth", check_auth, _l("The auth secret must be 16 bytes.")),
    ):
        value = keys.get(name)
        try:
            checked[name] = b64url(check(value if isinstance(value, str) else ""))
        except KeyError_ as exc:
            raise BadSubscription(name, message, str(exc)) from exc
    return SubscriptionInfo(endpoint, checked["p256dh"], checked["auth"])


_BROWSERS = (
    ("Edg/", "Edge"),
    ("SamsungBrowser/", "Samsung Internet"),
    ("Firefox/", "Firefox"),
    ("Chrome/", "Chrome"),
    ("Chromium/", "Chromium"),
    ("Safari/", "Safari"),
)
_SYSTEMS = (
    ("Android", "Android"),
    ("iPhone", "iPhone"),
    ("iPad", "iPad"),
    ("Windows", "Windows"),
    ("Mac OS X", "Mac"),
    ("CrOS", "ChromeOS"),
    ("Linux", "Linux"),
)


def device_label(user_agent: str) -> str:
    """A short name for a device from its User-Agent ("Chrome, Android"); "" when unknown."""
    agent = user_agent or ""
    browser = next((name for mark, name in _BROWSERS if mark in agent), "")
    system = next((name for mark, name in _SYSTEMS if mark in agent), "")
    if "HeadlessChrome/" in agent:
        browser = "Chrome"
    return re.sub(r"[^\w ,.-]", "", ", ".join(part for part in (browser, system) if part))[:80]


def subscribe(
    session: Session,
    *,
    settings: Settings,
    info: SubscriptionInfo,
    user_id: int | None,
    request_id: int | None,
    language: str,
    user_agent: str,
) -> PushSubscription:
    """Add the device, or update it when its endpoint is known (new keys, owner, language):
    a device is one row. Flushes."""
    digest = endpoint_hash(info.endpoint)
    row = session.scalar(select(PushSubscription).where(PushSubscription.endpoint_hash == digest))
    if row is None:
        row = PushSubscription(endpoint=info.endpoint, endpoint_hash=digest, created_at=clock.now())
        session.add(row)
    row.p256dh = info.p256dh
    row.auth = info.auth
    if user_id is not None:
        row.user_id = user_id
    if request_id is not None or user_id is None:
        row.request_id = request_id
    row.language = language if language in settings.languages else "en"
    row.device_label = device_label(user_agent)
    session.flush()
    return row


def unsubscribe(session: Session, *, endpoint: str) -> bool:
    """Forget the device with this endpoint (knowing it is the key). True when one went."""
    result = session.execute(
        delete(PushSubscription).where(PushSubscription.endpoint_hash == endpoint_hash(endpoint))
    )
    return bool(getattr(result, "rowcount", 0))


def devices_of(session: Session, user_id: int) -> list[PushSubscription]:
    """A resident's subscribed devices, newest first."""
    return list(
        session.scalars(
            select(PushSubscription)
            .where(PushSubscription.user_id == user_id)
            .order_by(PushSubscription.created_at.desc(), PushSubscription.id.desc())
        )
    )


def remove_device(session: Session, *, user_id: int, subscription_id: int) -> bool:
    """Remove one of the resident's devices; False when it is not theirs (or gone)."""
    result = session.execute(
        delete(PushSubscription).where(
            PushSubscription.id == subscription_id, PushSubscription.user_id == user_id
        )
    )
    return bool(getattr(result, "rowcount", 0))
