"""Programme-wide changes: capacity, status and a message to everyone enrolled (no Flask here).

``set_capacity`` offers new places to the waitlist or moves the surplus back to it,
``change_status`` follows ``TRANSITIONS`` (cancelling cancels every live enrolment, completing
records who completed) and ``message_enrolees`` emails everyone enrolled; each writes an
``AuditEntry``. Every function flushes and never commits; a refused operation raises
``ProgrammeError`` and writes nothing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.auth.models import User
from portal.core import clock
from portal.core.audit import AuditEntry
from portal.core.config import Settings
from portal.programmes.models import Enrolment, Programme
from portal.programmes.offers import (
    BATCH,
    FILLING,
    LIVE,
    ProgrammeError,
    bump,
    fill_locked,
    lock_programme,
    move,
    notify,
    shrink_locked,
    stamp,
)
from portal.programmes.service import waitlist_position

#: Allowed status changes (anything else is ``bad_state``).
TRANSITIONS = {
    "draft": ("open", "cancelled"),
    "open": ("closed", "cancelled"),
    "closed": ("open", "completed", "cancelled"),
}
CAPACITY_MAX = 100_000
SUBJECT_MAX = 200
BODY_MAX = 5_000


def _audit(
    session: Session,
    *,
    by: User | None,
    programme: Programme,
    action: str,
    before: dict[str, Any],
    after: dict[str, Any],
) -> AuditEntry:
    entry = AuditEntry(
        actor_id=by.id if by is not None else None,
        entity="programme",
        entity_id=str(programme.id),
        action=action,
        before=before,
        after=after,
    )
    session.add(entry)
    session.flush()
    return entry


def set_capacity(
    session: Session,
    *,
    settings: Settings,
    programme: Programme,
    capacity: int,
    by: User | None,
    now: datetime | None = None,
) -> None:
    """Change the number of places. More places are offered to the waitlist; fewer than are
    held move the surplus back to the front of the waitlist (latest offers, then the latest
    enrolled), each told by email. Raises ``ProgrammeError("invalid")`` below 1."""
    now = now or clock.now()
    if not isinstance(capacity, int) or not 1 <= capacity <= CAPACITY_MAX:
        raise ProgrammeError("invalid", "capacity")
    if lock_programme(session, programme.id) is None:
        raise ProgrammeError("bad_state")
    before = {
        "capacity": programme.capacity,
        "taken": programme.taken,
        "waiting": programme.waiting,
    }
    bump(session, programme, capacity=capacity)
    moved = []
    if programme.taken > capacity:
        moved = shrink_locked(session, programme=programme, surplus=programme.taken - capacity)
        for enrolment in moved:
            notify(
                session,
                settings=settings,
                enrolment=enrolment,
                template="moved_to_waitlist",
                dedupe=stamp(now),
                position=waitlist_position(session, enrolment),
            )
    offered = fill_locked(session, settings=settings, programme=programme, now=now)
    _audit(
        session,
        by=by,
        programme=programme,
        action="capacity",
        before=before,
        after={
            "capacity": capacity,
            "taken": programme.taken,
            "waiting": programme.waiting,
            "moved_to_waitlist": len(moved),
            "offered": offered,
        },
    )


def change_status(
    session: Session,
    *,
    settings: Settings,
    programme: Programme,
    status: str,
    by: User | None,
    now: datetime | None = None,
) -> None:
    """Move the programme along ``TRANSITIONS`` (else ``bad_state``). Opening a draft needs a
    session and an enrolment window (``invalid``, detail ``no_sessions``/``no_window``).
    Cancelling cancels every live enrolment and emails each person; completing records who
    completed (``portal.programmes.completion``)."""
    now = now or clock.now()
    if lock_programme(session, programme.id) is None:
        raise ProgrammeError("bad_state")
    current = programme.status
    if status not in TRANSITIONS.get(current, ()):
        raise ProgrammeError("bad_state")
    if current == "draft" and status == "open":
        if not programme.sessions:
            raise ProgrammeError("invalid", "no_sessions")
        opens, closes = programme.enrol_opens_at, programme.enrol_closes_at
        if opens is None or closes is None or opens >= closes:
            raise ProgrammeError("invalid", "no_window")
    stamps: dict[str, Any] = {}
    if status == "cancelled":
        stamps["cancelled_at"] = now
    elif status == "completed":
        stamps["completed_at"] = now
    if not bump(session, programme, Programme.status == current, status=status, **stamps):
        raise ProgrammeError("bad_state")
    session.refresh(programme)
    if status == "cancelled":
        _cancel_everyone(session, settings=settings, programme=programme, now=now)
    elif status == "completed":
        from portal.programmes.completion import complete_programme

        complete_programme(session, settings=settings, programme=programme, now=now)
    elif status in FILLING:
        fill_locked(session, settings=settings, programme=programme, now=now)
    _audit(
        session,
        by=by,
        programme=programme,
        action="status",
        before={"status": current},
        after={"status": status},
    )


def _cancel_everyone(
    session: Session, *, settings: Settings, programme: Programme, now: datetime
) -> None:
    after = 0
    while True:
        batch = list(
            session.scalars(
                select(Enrolment)
                .where(
                    Enrolment.programme_id == programme.id,
                    Enrolment.state.in_(LIVE),
                    Enrolment.id > after,
                )
                .order_by(Enrolment.id)
                .limit(BATCH)
            )
        )
        for enrolment in batch:
            if move(
                session,
                enrolment,
                from_states=LIVE,
                state="cancelled",
                cancel_reason="programme_cancelled",
                cancelled_at=now,
            ):
                notify(
                    session,
                    settings=settings,
                    enrolment=enrolment,
                    template="cancelled",
                    dedupe="programme",
                )
        if len(batch) < BATCH:
            break
        after = batch[-1].id
    bump(session, programme, taken=0, waiting=0)


def message_enrolees(
    session: Session,
    *,
    settings: Settings,
    programme: Programme,
    subject: str,
    body: str,
    by: User | None,
    now: datetime | None = None,
) -> int:
    """Email the coordinator's ``subject`` and ``body`` (plain text, escaped in the HTML
    part) to everyone enrolled; returns how many were queued. Raises
    ``ProgrammeError("invalid", "subject"|"body")`` when one is empty or too long."""
    subject = " ".join((subject or "").split())
    body = (body or "").strip().replace("\r\n", "\n")
    if not subject or len(subject) > SUBJECT_MAX:
        raise ProgrammeError("invalid", "subject")
    if not body or len(body) > BODY_MAX:
        raise ProgrammeError("invalid", "body")
    entry = _audit(
        session, by=by, programme=programme, action="message", before={}, after={"subject": subject}
    )
    sent = after = 0
    while True:
        batch = list(
            session.scalars(
                select(Enrolment)
                .where(
                    Enrolment.programme_id == programme.id,
                    Enrolment.state == "enrolled",
                    Enrolment.id > after,
                )
                .order_by(Enrolment.id)
                .limit(BATCH)
            )
        )
        for enrolment in batch:
            notify(
                session,
                settings=settings,
                enrolment=enrolment,
                template="message",
                dedupe=str(entry.id),
                subject=subject,
                body=body,
            )
            sent += 1
        if len(batch) < BATCH:
            break
        after = batch[-1].id
    entry.after = {"subject": subject, "recipients": sent}
    session.flush()
    return sent


__all__ = ["change_status", "message_enrolees", "set_capacity"]
