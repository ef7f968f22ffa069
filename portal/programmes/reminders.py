"""Session reminders: an email to every enrolled participant ``programme_reminder_hours``
before each session of an open or closed programme (a worker job; no Flask).

A session is due when ``reminded_at`` is NULL and it starts within the reminder window (the
``ix_programme_sessions_reminder`` index on ``(reminded_at, starts_at)`` finds them). Each due
session is handled in its own transaction, which first claims it with a conditional
``UPDATE ... SET reminded_at = now WHERE reminded_at IS NULL`` and then queues one email per
participant into the outbox:

- two workers never both remind a session: the second one's update matches no row (on
  PostgreSQL it waits for the first to commit; on SQLite write transactions are serialised);
- a crash midway rolls the claim back with the emails queued so far, and the next round does
  the session again; each email's dedupe key ``programme-reminder:<session>:<enrolment>``
  keeps it to one per participant whatever happens.

A session whose start has already passed (the worker was down, or it was added late) is marked
reminded without sending anything. A session of a draft, completed or cancelled programme is
not reminded; once past, it is marked so the index scan stays short.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, select, tuple_, update
from sqlalchemy.orm import Session, contains_eager

from portal.auth.models import User
from portal.core.config import Settings
from portal.core.db import Database
from portal.core.mail import queue_email
from portal.programmes.models import Enrolment, Programme, ProgrammeSession
from portal.programmes.offers import enrolment_url, when

log = logging.getLogger(__name__)

#: Programme statuses whose sessions are reminded.
REMINDED_STATUSES = ("open", "closed")
#: Sessions read per query, and participants per query within a session.
BATCH = 50
PARTICIPANTS = 500


@dataclass
class Counts:
    sessions: int = 0
    emails: int = 0
    past: int = 0


def dedupe_key(session_id: int, enrolment_id: int) -> str:
    return f"programme-reminder:{session_id}:{enrolment_id}"


def _due(
    session: Session, *, horizon: datetime, after: tuple[datetime, int] | None
) -> list[ProgrammeSession]:
    query = (
        select(ProgrammeSession)
        .join(Programme, Programme.id == ProgrammeSession.programme_id)
        .where(ProgrammeSession.reminded_at.is_(None), ProgrammeSession.starts_at <= horizon)
        .order_by(ProgrammeSession.starts_at, ProgrammeSession.id)
        .options(contains_eager(ProgrammeSession.programme))
        .limit(BATCH)
    )
    if after is not None:
        query = query.where(tuple_(ProgrammeSession.starts_at, ProgrammeSession.id) > after)
    return list(session.scalars(query))


def _claim(session: Session, item: ProgrammeSession, now: datetime) -> bool:
    """Mark the session reminded; False when another worker already did."""
    result = cast(
        CursorResult[Any],
        session.execute(
            update(ProgrammeSession)
            .where(ProgrammeSession.id == item.id, ProgrammeSession.reminded_at.is_(None))
            .values(reminded_at=now),
            execution_options={"synchronize_session": False},
        ),
    )
    return result.rowcount == 1


def _participants(session: Session, programme_id: int) -> list[list[tuple[Enrolment, User]]]:
    """The enrolled participants with an active account, in pages of ``PARTICIPANTS``."""
    pages: list[list[tuple[Enrolment, User]]] = []
    last = 0
    while True:
        page = [
            (enrolment, user)
            for enrolment, user in session.execute(
                select(Enrolment, User)
                .join(Enrolment.user)
                .where(
                    Enrolment.programme_id == programme_id,
                    Enrolment.state == "enrolled",
                    Enrolment.id > last,
                )
                .order_by(Enrolment.id)
                .limit(PARTICIPANTS)
                .options(contains_eager(Enrolment.user))
            )
        ]
        pages.append([(e, u) for e, u in page if u.active and u.email])
        if len(page) < PARTICIPANTS:
            return pages
        last = page[-1][0].id


def remind_session(session: Session, *, settings: Settings, item: ProgrammeSession) -> int:
    """Queue the reminders of one claimed session; returns how many emails were queued."""
    programme = item.programme
    queued = 0
    for page in _participants(session, programme.id):
        for enrolment, user in page:
            locale = enrolment.locale if enrolment.locale in settings.languages else "en"
            message = queue_email(
                session,
                settings=settings,
                to=user.email,
                template="programme_reminder",
                locale=locale,
                context={
                    "name": user.name or user.email,
                    "title": programme.t("title", locale),
                    "session_title": item.t("title", locale) or "",
                    "when": when(settings, item.starts_at, locale),
                    "place": item.t("place", locale) or "",
                    "online_url": item.online_url or "",
                    "mandatory": item.mandatory,
                    "check_in_code": enrolment.check_in_code,
                    "enrolment_url": enrolment_url(settings, enrolment),
                    "contact_email": programme.contact_email or "",
                },
                dedupe_key=dedupe_key(item.id, enrolment.id),
            )
            queued += message is not None
    return queued


def _handle(
    session: Session, *, settings: Settings, item: ProgrammeSession, now: datetime, counts: Counts
) -> None:
    past = item.starts_at <= now
    if not past and item.programme.status not in REMINDED_STATUSES:
        return  # a draft may still open; it is looked at again next round
    if not _claim(session, item, now):
        return
    if past:
        counts.past += 1
        return
    if item.programme.status in REMINDED_STATUSES:
        counts.emails += remind_session(session, settings=settings, item=item)
        counts.sessions += 1


def send_session_reminders(db: Database, settings: Settings, now: datetime) -> str | None:
    """Remind the participants of every session starting within ``programme_reminder_hours``
    (a worker job, harmless to re-run, safe with several workers). Returns what it did, or
    None when nothing was due."""
    horizon = now + timedelta(hours=settings.programme_reminder_hours)
    counts = Counts()
    after: tuple[datetime, int] | None = None
    while True:
        with db.transaction(write=False) as session:
            items = _due(session, horizon=horizon, after=after)
            ids = [item.id for item in items]
            cursor = (items[-1].starts_at, items[-1].id) if items else None
        for session_id in ids:
            # One transaction per session: its claim and its emails commit together.
            with db.transaction() as session:
                item = session.get(ProgrammeSession, session_id)
                if item is not None and item.reminded_at is None:
                    _handle(session, settings=settings, item=item, now=now, counts=counts)
        if len(ids) < BATCH or cursor is None:
            break
        after = cursor
    if not (counts.sessions or counts.past):
        return None
    return (
        f"sent {counts.emails} session reminder(s) for {counts.sessions} session(s), "
        f"marked {counts.past} past session(s)"
    )


__all__ = ["send_session_reminders"]
