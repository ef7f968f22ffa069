"""Queue a push message per subscribed device, in the outbox (channel "push"), in the same
transaction as the change; the worker delivers it (``portal.push.sender``)."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session

from portal.core import clock
from portal.core.config import Settings
from portal.core.outbox import OutboxMessage
from portal.push.models import PushSubscription

#: Kept short: push services take 4 KB of payload, and a notification shows two lines.
MAX_TITLE = 80
MAX_BODY = 160

#: ``text(locale)`` -> ``(title, body)`` in that language.
Text = Callable[[str], tuple[str, str]]


def _short(value: str, limit: int) -> str:
    value = " ".join((value or "").split())
    return value if len(value) <= limit else value[: limit - 1].rstrip() + "…"


def payload(*, title: str, body: str, url: str, tag: str) -> str:
    """The JSON the service worker shows: ``{"title", "body", "url", "tag"}``."""
    return json.dumps(
        {"title": _short(title, MAX_TITLE), "body": _short(body, MAX_BODY), "url": url, "tag": tag},
        ensure_ascii=False,
        separators=(",", ":"),
    )


def queue_push(
    session: Session,
    *,
    settings: Settings,
    kind: str,
    dedupe: str,
    url: str,
    text: Text,
    user_locales: Mapping[int, str] | None = None,
    request_id: int | None = None,
) -> int:
    """Queue ``kind`` for every device of the users in ``user_locales`` (each in that user's
    language) and every device following request ``request_id`` (in its own language), once
    per device and ``dedupe``. Returns how many were queued; none when push is off."""
    if not settings.vapid_private_key:
        return 0
    users = dict(user_locales or {})
    conditions: list[ColumnElement[bool]] = []
    if users:
        conditions.append(PushSubscription.user_id.in_(list(users)))
    if request_id is not None:
        conditions.append(PushSubscription.request_id == request_id)
    if not conditions:
        return 0
    devices = list(
        session.scalars(
            select(PushSubscription).where(or_(*conditions)).order_by(PushSubscription.id)
        )
    )
    if not devices:
        return 0
    keys = {device.id: f"push:{dedupe}:{device.id}"[:160] for device in devices}
    taken = set(
        session.scalars(
            select(OutboxMessage.dedupe_key).where(OutboxMessage.dedupe_key.in_(keys.values()))
        )
    )
    queued = 0
    for device in devices:
        if keys[device.id] in taken:
            continue
        locale = users.get(device.user_id or 0) or device.language
        locale = locale if locale in settings.languages else "en"
        title, body = text(locale)
        session.add(
            OutboxMessage(
                kind=f"push_{kind}"[:48],
                channel="push",
                dedupe_key=keys[device.id],
                to_address=str(device.id),
                locale=locale,
                subject=_short(title, MAX_TITLE),
                body_text=payload(title=title, body=body, url=url, tag=dedupe[:60]),
                body_html="",
                next_attempt_at=clock.now(),
            )
        )
        queued += 1
    session.flush()
    return queued
