"""Email: render a message in the recipient's language (without Flask) and queue it in the
outbox, in the same transaction as the change that causes it; the worker delivers it.

Each message is a folder ``templates/notifications/<name>/`` holding ``subject.txt``,
``body.txt`` and ``body.html``. HTML is autoescaped; the ``.txt`` templates are not, so they
are never reused as HTML.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
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
from portal.core.replies import reply_address

#: How many earlier Message-IDs of a thread the References header names (the thread's root
#: first, then the newest); mail clients need the root and the parent, not the whole history.
MAX_REFERENCES = 10


@dataclass(frozen=True)
class MailThread:
    """An email about a case: which case (``request_id``, ``reference``) and who it goes to,
    so that the Reply-To brings an answer back (``portal.core.replies``: ``role`` "r" a
    resident, "p"/"i" a staff member whose answer is a public reply / an internal note;
    ``user_id`` 0 for the request's own contact address)."""

    request_id: int
    reference: str
    user_id: int = 0
    role: str = "r"


def thread_root(reference: str, domain: str) -> str:
    """The case's own Message-ID, never sent as a message: every email about the case names
    it first in References, so clients group them and an answer finds the case by it."""
    return f"<{reference.lower()}@{domain}>"


def _thread_headers(
    session: Session, settings: Settings, thread: MailThread, to: str
) -> dict[str, str]:
    domain = settings.reply_domain
    root = thread_root(thread.reference, domain)
    earlier: list[str] = [
        message_id
        for message_id in session.scalars(
            select(OutboxMessage.message_id)
            .where(
                OutboxMessage.thread_ref == thread.reference,
                OutboxMessage.to_address == to,
                OutboxMessage.message_id.is_not(None),
            )
            .order_by(OutboxMessage.id.desc())
            .limit(MAX_REFERENCES - 1)
        )
        if message_id
    ]
    earlier.reverse()
    # 80 random bits keep the id unique (the column is) and short enough that the header
    # stays on one line for a domain of up to ~28 characters (a folded Message-ID is legal,
    # but some parsers keep the fold).
    return {
        "message_id": f"<{thread.reference.lower()}.{uuid.uuid4().hex[:20]}@{domain}>",
        "thread_ref": thread.reference,
        "reply_to": reply_address(
            settings.secret_key,
            domain,
            request_id=thread.request_id,
            user_id=thread.user_id,
            role=thread.role,
        ),
        "in_reply_to": earlier[-1] if earlier else root,
        "references_header": " ".join([root, *earlier]),
    }


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
    thread: MailThread | None = None,
) -> OutboxMessage | None:
    """Render ``template`` for ``to`` in ``locale`` and add it to the outbox (flush, no commit).

    With a ``dedupe_key`` the same logical message is queued at most once; a repeat returns
    ``None``. ``context`` gets ``base_url`` and the city's ``city_name``, ``short_name``,
    ``city_contact`` and ``emergency_number`` (in ``locale``) added. ``not_before`` (an aware
    UTC datetime) holds the message back until then; by default it is due at once.
    With a ``thread`` (an email about a case) the message gets its Message-ID, a Reply-To that
    threads an answer back to the case, and In-Reply-To/References to the case's earlier
    emails to the same address.
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
        **(_thread_headers(session, settings, thread, to) if thread is not None else {}),
    )
    session.add(message)
    session.flush()
    return message
