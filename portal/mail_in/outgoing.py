"""What the portal answers to an email, and how often: no address gets more than
``settings.mail_in_replies_per_hour`` automatic answers an hour, whatever they are."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal.core.config import Settings
from portal.core.mail import queue_email
from portal.core.outbox import OutboxMessage

#: The outbox kinds that answer an email: a refusal, and the confirmation of a request filed
#: by email (``submit_request``'s own).
REPLY_KINDS = ("mail_in_refused", "request_confirmation")


def answers_last_hour(session: Session, *, address: str, now: datetime) -> int:
    """How many automatic answers went to ``address`` in the hour before ``now``."""
    return (
        session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(
                func.lower(OutboxMessage.to_address) == address.lower(),
                OutboxMessage.kind.in_(REPLY_KINDS),
                OutboxMessage.created_at > now - timedelta(hours=1),
            )
        )
        or 0
    )


def may_answer(session: Session, settings: Settings, *, address: str, now: datetime) -> bool:
    """True unless ``address`` had its hour's share of answers already."""
    return answers_last_hour(session, address=address, now=now) < settings.mail_in_replies_per_hour


def queue_refusal(
    session: Session,
    settings: Settings,
    *,
    to: str,
    locale: str,
    reason: str,
    subject: str,
    names: list[str],
    mail_id: int,
) -> bool:
    """Tell ``to`` why their email was not taken (``reason``: "too_large" or "forbidden",
    ``names`` the refused attachments). False when nothing was queued."""
    message = queue_email(
        session,
        settings=settings,
        to=to,
        template="mail_in_refused",
        locale=locale,
        context={
            "reason": reason,
            "subject": subject,
            "names": names,
            "max_megabytes": max(1, settings.mail_in_max_bytes // (1024 * 1024)),
        },
        dedupe_key=f"mail_in_refused:{mail_id}",
    )
    return message is not None
