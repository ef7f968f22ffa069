"""Applications to programmes: the coordinator approves or rejects them (no Flask here).

For a programme whose admission is by application, enrolling records an application
(``portal.programmes.service``); once the enrolment window has closed the coordinator approves
it (a place if one is free, else the waitlist, in application order) or rejects it, and the
resident is told by email. Every function flushes and never commits; a refused operation raises
``ProgrammeError`` and writes nothing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from portal.auth.models import User
from portal.core import clock
from portal.core.config import Settings
from portal.programmes.models import Enrolment, Programme
from portal.programmes.offers import (
    FILLING,
    ProgrammeError,
    bump,
    fill_locked,
    move,
    notify,
    stamp,
)
from portal.programmes.service import _locked, _notify_enrolled, waitlist_position


def approve_application(
    session: Session,
    *,
    settings: Settings,
    enrolment: Enrolment,
    by: User,
    now: datetime | None = None,
) -> str:
    """Approve an application once the enrolment window has closed: a free place
    ("enrolled") or else the waitlist, in application order ("waitlisted"). Raises
    ``bad_state`` before the window closes, for a programme not open or closed, or for an
    enrolment that is not an application."""
    now = now or clock.now()
    programme = _locked(session, enrolment)
    if enrolment.state != "applied" or programme.status not in FILLING:
        raise ProgrammeError("bad_state")
    if programme.enrol_closes_at is not None and now < programme.enrol_closes_at:
        raise ProgrammeError("bad_state", "window_open")
    with session.begin_nested():
        if bump(
            session,
            programme,
            Programme.status.in_(FILLING),
            Programme.taken < Programme.capacity,
            Programme.waiting == 0,
            taken=Programme.taken + 1,
        ):
            outcome = "enrolled"
            values: dict[str, Any] = {"enrolled_at": now}
        else:
            bump(session, programme, waiting=Programme.waiting + 1)
            outcome, values = "waitlisted", {}
        if not move(
            session,
            enrolment,
            from_states=("applied",),
            state=outcome,
            decided_by_id=by.id,
            **values,
        ):
            raise ProgrammeError("bad_state")
    if outcome == "enrolled":
        _notify_enrolled(session, settings=settings, enrolment=enrolment, template="approved")
    else:
        notify(
            session,
            settings=settings,
            enrolment=enrolment,
            template="waitlisted",
            dedupe=stamp(enrolment.queued_at),
            position=waitlist_position(session, enrolment),
            application=True,
        )
        fill_locked(session, settings=settings, programme=programme, now=now)
    return outcome


def reject_application(
    session: Session,
    *,
    settings: Settings,
    enrolment: Enrolment,
    by: User,
    now: datetime | None = None,
) -> None:
    """Turn an application down (``bad_state`` unless it is one) and tell the resident."""
    now = now or clock.now()
    _locked(session, enrolment)
    if enrolment.state != "applied":
        raise ProgrammeError("bad_state")
    if not move(
        session,
        enrolment,
        from_states=("applied",),
        state="rejected",
        decided_by_id=by.id,
        cancelled_at=now,
    ):
        raise ProgrammeError("bad_state")
    notify(
        session,
        settings=settings,
        enrolment=enrolment,
        template="rejected",
        dedupe=stamp(enrolment.queued_at),
    )


__all__ = ["approve_application", "reject_application"]
