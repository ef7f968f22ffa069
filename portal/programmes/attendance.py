"""Who came to which session: marked by name on the roster or by the participant's check-in
code at the door (no Flask here).

Only a participant enrolled in the session's programme can be marked. ``mark`` keeps one
``Attendance`` row per (session, enrolment): marking again updates it (present or absent, how,
by whom, when). Two staff marking the same person at the same moment both succeed: the
second insert's clash is absorbed by a savepoint and becomes an update.
"""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import and_, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, contains_eager

from portal.auth.models import User
from portal.core import clock
from portal.programmes.models import Attendance, Enrolment, ProgrammeSession

#: How someone was marked: ticked by name, or their check-in code typed at the door.
METHODS = ("name", "code")
#: Check-in codes are stored upper-case; this many characters at most (the column's size).
MAX_CODE = 8
_SEPARATORS = re.compile(r"[\s\-‐‑‒–—_.]+")


class CheckInError(Exception):
    """Nobody can be marked: ``code`` is ``unknown_code`` (no enrolment of the programme has
    that check-in code) or ``not_enrolled`` (the person is not enrolled: waitlisted, offered,
    cancelled, or of another programme)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def normalise_code(code: str) -> str:
    """The code as stored: upper-case, without spaces, dashes, dots or underscores."""
    return _SEPARATORS.sub("", code or "").upper()


def mark(
    session: Session,
    *,
    programme_session: ProgrammeSession,
    enrolment: Enrolment,
    present: bool,
    by: User | None,
    method: str = "name",
    now: datetime | None = None,
) -> None:
    """Record that ``enrolment``'s participant was (``present``) or was not at
    ``programme_session`` (flush, no commit). Raises ``CheckInError("not_enrolled")`` unless
    the enrolment is "enrolled" in the session's programme; ``ValueError`` for an unknown
    ``method``."""
    if method not in METHODS:
        raise ValueError(f"unknown attendance method {method!r}")
    if enrolment.programme_id != programme_session.programme_id or enrolment.state != "enrolled":
        raise CheckInError("not_enrolled")
    now = now or clock.now()
    values = {
        "present": bool(present),
        "method": method,
        "marked_by_id": by.id if by is not None else None,
        "marked_at": now,
    }
    key = (programme_session.id, enrolment.id)
    row = session.get(Attendance, key)
    if row is None:
        try:
            with session.begin_nested():
                session.add(
                    Attendance(session_id=programme_session.id, enrolment_id=enrolment.id, **values)
                )
                session.flush()
            return
        except IntegrityError:
            # Someone else marked this person at the same moment: update their row instead.
            row = session.get(Attendance, key, populate_existing=True)
            if row is None:  # pragma: no cover - the clash was not this row
                raise
    for name, value in values.items():
        setattr(row, name, value)
    session.flush()


def check_in(
    session: Session,
    *,
    programme_session: ProgrammeSession,
    code: str,
    by: User | None,
    now: datetime | None = None,
) -> Enrolment:
    """Mark present the participant whose check-in code is ``code`` (any case; spaces and
    dashes ignored) and return their enrolment. Raises ``CheckInError("unknown_code")`` when
    no enrolment of the programme has the code, ``CheckInError("not_enrolled")`` when its
    holder is not enrolled."""
    wanted = normalise_code(code)
    if not wanted or len(wanted) > MAX_CODE:
        raise CheckInError("unknown_code")
    enrolment = session.scalar(
        select(Enrolment).where(
            Enrolment.programme_id == programme_session.programme_id,
            Enrolment.check_in_code == wanted,
        )
    )
    if enrolment is None:
        raise CheckInError("unknown_code")
    mark(
        session,
        programme_session=programme_session,
        enrolment=enrolment,
        present=True,
        by=by,
        method="code",
        now=now,
    )
    return enrolment


def mark_all_present(
    session: Session,
    *,
    programme_session: ProgrammeSession,
    by: User | None,
    now: datetime | None = None,
) -> list[Enrolment]:
    """Mark present every enrolled participant of the session's programme not marked yet for
    ``programme_session`` (by name, by ``by``; flush, no commit) and return their enrolments.
    Anyone already marked, present or absent, is left as they were: an absence someone
    recorded is not overwritten."""
    now = now or clock.now()
    marked = []
    for enrolment, row in session_sheet(session, programme_session):
        if row is not None:
            continue
        mark(
            session,
            programme_session=programme_session,
            enrolment=enrolment,
            present=True,
            by=by,
            now=now,
        )
        marked.append(enrolment)
    return marked


def session_sheet(
    session: Session,
    programme_session: ProgrammeSession,
) -> list[tuple[Enrolment, Attendance | None]]:
    """The enrolled participants of the session's programme by name (with their user
    loaded), each with their attendance row for this session or None when not marked yet.
    One query."""
    rows = session.execute(
        select(Enrolment, Attendance)
        .join(Enrolment.user)
        .outerjoin(
            Attendance,
            and_(
                Attendance.enrolment_id == Enrolment.id,
                Attendance.session_id == programme_session.id,
            ),
        )
        .where(
            Enrolment.programme_id == programme_session.programme_id, Enrolment.state == "enrolled"
        )
        .order_by(User.name, Enrolment.id)
        .options(contains_eager(Enrolment.user))
    )
    return [(enrolment, attendance) for enrolment, attendance in rows]


def attendance_counts(session: Session, programme_session: ProgrammeSession) -> tuple[int, int]:
    """(present, absent) marks recorded for the session."""
    counts = dict(
        session.execute(
            select(Attendance.present, func.count())
            .where(Attendance.session_id == programme_session.id)
            .group_by(Attendance.present)
        ).all()
    )
    return int(counts.get(True, 0)), int(counts.get(False, 0))


__all__ = [
    "CheckInError",
    "attendance_counts",
    "check_in",
    "mark",
    "mark_all_present",
    "normalise_code",
    "session_sheet",
]
