"""Email: render a message in the recipient's language (without Flask) and queue it in the
outbox, in the same transaction as the change that causes it; the worker delivers it.

Each message is a folder ``templates/notifications/<name>/`` holding ``subject.txt``,
``body.txt`` and ``body.html``. HTML is autoescaped; the ``.txt`` templates are not, so they
are never reused as HTML.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.core import clock
from portal.core.config import ROOT, Settings
from portal.core.i18n import translations
from portal.core.outbox import OutboxMessage


@lru_cache(maxsize=8)
def _environment(locale: str) -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(ROOT / "templates")),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
        extensions=["jinja2.ext.i18n"],
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_translations(translations(locale), newstyle=True)  # type: ignore[attr-defined]
    return env


def render_message(name: str, *, locale: str, context: dict[str, Any]) -> tuple[str, str, str]:
    """Return ``(subject, text, html)`` for message ``name`` in ``locale``."""
    env = _environment(locale if locale in ("en", "es") else "en")
    ctx = dict(context, locale=locale)
    base = f"notifications/{name}"
    subject = env.get_template(f"{base}/subject.txt").render(ctx).strip()
    text = env.get_template(f"{base}/body.txt").render(ctx).strip() + "\n"
    html = env.get_template(f"{base}/body.html").render(ctx)
    return " ".join(subject.split()), text, html


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
