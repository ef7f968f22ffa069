"""Processing stored messages with retries: each in its own transaction; a failure is recorded
(attempts, last error, next attempt with backoff) in a new one, and after
``settings.mail_in_max_attempts`` the message is parked for an admin, the reason kept.

``process_stored`` is what every way in calls right after storing a message; the worker's job
``process_inbound_mail`` takes what is due (never processed, or failed and due again)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.orm.exc import StaleDataError

from portal.core.config import Settings
from portal.core.db import Database
from portal.mail_in.models import InboundMail
from portal.mail_in.process import process

log = logging.getLogger(__name__)

#: Messages one round of the job processes.
BATCH = 50
#: While a message is being processed its next attempt is pushed this far out, so the worker
#: and a receiver never process it at once.
LEASE = timedelta(minutes=10)
MAX_BACKOFF = timedelta(hours=6)


def backoff(attempts: int) -> timedelta:
    """1, 2, 4, 8 ... minutes after the ``attempts``-th failure, at most six hours."""
    return min(timedelta(minutes=2 ** max(attempts - 1, 0)), MAX_BACKOFF)


def _claim(session: Any, mail_id: int, now: datetime) -> bool:
    """Take the message for processing (a conditional UPDATE: one taker wins)."""
    result = cast(
        CursorResult[Any],
        session.execute(
            update(InboundMail)
            .where(
                InboundMail.id == mail_id,
                InboundMail.state.in_(("received", "failed")),
                InboundMail.next_attempt_at <= now,
            )
            .values(next_attempt_at=now + LEASE)
            .execution_options(synchronize_session=False)
        ),
    )
    return result.rowcount == 1


#: Immediate tries when the case changed under the message (two answers to one case at once:
#: the case's version check); only then is the failure recorded for the backed-off retry.
CONFLICT_TRIES = 3


def process_stored(db: Database, settings: Settings, now: datetime, mail_id: int) -> str | None:
    """Process one stored message in a transaction of its own; its outcome, or None when it
    failed (recorded for a retry, or parked) or another process has it."""
    for attempt in range(1, CONFLICT_TRIES + 1):
        try:
            with db.transaction() as session:
                if not _claim(session, mail_id, now):
                    return None
                mail = session.get(InboundMail, mail_id)
                assert mail is not None
                session.refresh(mail)
                return process(session, settings, now, mail)
        except StaleDataError as exc:
            if attempt < CONFLICT_TRIES:
                log.info("inbound mail %s: its case changed meanwhile, trying again", mail_id)
                continue
            record_failure(db, settings, now, mail_id, exc)
            return None
        except Exception as exc:  # noqa: BLE001 - recorded and retried; the message is kept
            log.exception("inbound mail %s failed", mail_id)
            record_failure(db, settings, now, mail_id, exc)
            return None
    return None


def record_failure(
    db: Database, settings: Settings, now: datetime, mail_id: int, exc: BaseException
) -> None:
    with db.transaction() as session:
        mail = session.get(InboundMail, mail_id)
        if mail is None:
            return
        mail.attempts = (mail.attempts or 0) + 1
        mail.last_error = f"{type(exc).__name__}: {exc}"[:2000]
        if mail.attempts >= settings.mail_in_max_attempts:
            mail.state = "parked"
            mail.outcome = "parked"
        else:
            mail.state = "failed"
            mail.next_attempt_at = now + backoff(mail.attempts)


def process_due(db: Database, settings: Settings, now: datetime, *, limit: int = BATCH) -> int:
    """Process the messages due now (oldest first); returns how many were processed."""
    with db.transaction(write=False) as session:
        ids = list(
            session.scalars(
                select(InboundMail.id)
                .where(
                    InboundMail.state.in_(("received", "failed")),
                    InboundMail.next_attempt_at <= now,
                )
                .order_by(InboundMail.next_attempt_at, InboundMail.id)
                .limit(limit)
            )
        )
    return sum(1 for mail_id in ids if process_stored(db, settings, now, mail_id) is not None)


def process_inbound_mail(db: Database, settings: Settings, now: datetime) -> str | None:
    """The worker's job: messages stored but not processed (a receiver stopped in between)
    and failed ones due again."""
    done = process_due(db, settings, now)
    return f"processed {done} inbound email(s)" if done else None
