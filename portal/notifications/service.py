"""Queue messages in the outbox, in the same transaction as the change that causes them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.core import clock
from portal.core.config import Settings
from portal.core.outbox import OutboxMessage
from portal.notifications.render import render_message


def queue_email(
    session: Session,
    *,
    settings: Settings,
    to: str,
    template: str,
    locale: str,
    context: dict[str, Any],
    dedupe_key: str | None = None,
    not_before: datetime | None = None,
) -> OutboxMessage | None:
    """Render ``template`` for ``to`` in ``locale`` and add it to the outbox (flush, no commit).

    With a ``dedupe_key`` the same logical message is queued at most once; a repeat returns
    ``None``. ``context`` gets ``base_url`` and the city's ``city_name``, ``short_name``,
    ``city_contact`` and ``emergency_number`` (in ``locale``) added. ``not_before`` (an aware
    UTC datetime) holds the message back until then; by default it is due at once.
    """
    if not to:
        return None
    if dedupe_key is not None:
        existing = session.scalar(
            select(OutboxMessage.id).where(OutboxMessage.dedupe_key == dedupe_key)
        )
        if existing is not None:
            return None
    full_context = {
        "base_url": settings.base_url,
        "city_name": settings.city_text("name", locale),
        "short_name": settings.city_text("short_name", locale),
        "city_contact": settings.city_text("contact", locale),
        "emergency_number": settings.emergency_number,
        **context,
    }
    subject, text, html = render_message(template, locale=locale, context=full_context)
    message = OutboxMessage(
        kind=template,
        dedupe_key=dedupe_key,
        to_address=to,
        locale=locale,
        subject=subject,
        body_text=text,
        body_html=html,
        next_attempt_at=not_before or clock.now(),
    )
    session.add(message)
    session.flush()
    return message
