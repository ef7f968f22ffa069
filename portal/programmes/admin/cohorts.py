"""A programme's cohorts in the back office: running the next one by copying a cohort with its
sessions moved to new dates (``copy_cohort``), and every cohort side by side
(``compare_cohorts``). No Flask here.

A **cohort** is one run of a programme: one ``Programme`` row with its own sessions, places,
enrolments and attendance. The cohorts of a programme are the programmes with the same English
title: a copy keeps the title unless the coordinator
changes it, and a cohort set up by hand under the same title belongs with the others too.

Copying moves every session by the same number of days, counted in the city's time zone, so a
session at 18:00 stays at 18:00 local time across a change to or from daylight saving time, and
each session keeps its place in the week and its distance from the first. Capacity, the
enrolment rule, the eligibility questions, and each session's title, place, online link and
mandatory flag are copied; enrolments, attendance and reminders are not. The copy is a draft;
its enrolment window (if the source had one) moves by the same number of days. Refused whole
with ``ProgrammeAdminError``; writes an ``AuditEntry`` (entity ``programme``, action ``copy``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from portal.auth.models import User
from portal.programmes.admin.common import (
    TITLE_MAX,
    ProgrammeAdminError,
    _audit,
    _text,
    _with_es,
)
from portal.programmes.admin.programmes import programme_snapshot
from portal.programmes.admin.sessions import sync_dates
from portal.programmes.models import (
    Attendance,
    EligibilityQuestion,
    Enrolment,
    Programme,
    ProgrammeSession,
)

#: A programme shows at most this many cohorts side by side (the oldest drop off).
COHORTS_MAX = 50


@dataclass(frozen=True)
class CohortInput:
    """What the coordinator chooses: the new first session's local date, and the title."""

    starts_on: date | None
    title: str
    title_es: str = ""


@dataclass(frozen=True)
class Overlap:
    """Another cohort with the same title whose dates overlap the new one's."""

    programme_id: int
    starts_on: date | None
    ends_on: date | None


class CopyRefused(ProgrammeAdminError):
    """``ProgrammeAdminError`` with, for ``overlaps``, the cohort that overlaps."""

    def __init__(self, errors: dict[str, str], overlap: Overlap | None) -> None:
        super().__init__(errors)
        self.overlap = overlap


def _same_title(title: str) -> Any:
    """Cohorts of one programme share its English title (stored without extra spaces)."""
    return Programme.title == " ".join((title or "").split())


def _local(moment: datetime, zone: ZoneInfo) -> datetime:
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.astimezone(zone)


def _shift(moment: datetime, days: int, zone: ZoneInfo) -> datetime:
    """``moment`` moved by ``days`` calendar days at the same local time of day (UTC out)."""
    local = _local(moment, zone)
    moved = datetime.combine(local.date() + timedelta(days=days), local.time(), tzinfo=zone)
    return moved.astimezone(UTC)


def _first_day(source: Programme, zone: ZoneInfo) -> date:
    return min(_local(s.starts_at, zone).date() for s in source.sessions)


def shift_days(source: Programme, starts_on: date, timezone: str) -> int:
    """How many days the sessions move so that the first one falls on ``starts_on``."""
    return (starts_on - _first_day(source, ZoneInfo(timezone))).days


def _overlaps(session: Session, *, title: str, first: date, last: date) -> Overlap | None:
    row = session.execute(
        select(Programme.id, Programme.starts_on, Programme.ends_on)
        .where(
            _same_title(title),
            Programme.status != "cancelled",
            Programme.starts_on.is_not(None),
            Programme.starts_on <= last,
            Programme.ends_on >= first,
        )
        .order_by(Programme.starts_on, Programme.id)
        .limit(1)
    ).first()
    return Overlap(row.id, row.starts_on, row.ends_on) if row else None


def check_copy(
    session: Session,
    source: Programme,
    data: CohortInput,
    *,
    timezone: str,
    now: datetime,
) -> tuple[dict[str, str], dict[str, Any]]:
    """The problems with copying ``source`` as ``data`` (``{field: code}``, empty when none)
    and the cleaned values. Codes: ``no_sessions`` (field ``starts_on``), ``required``,
    ``too_long``, ``in_past`` (the first session would start before ``now``), ``overlaps``
    (a cohort with the same title runs on some of the same days; ``clean['overlap']`` says
    which)."""
    errors: dict[str, str] = {}
    clean: dict[str, Any] = {
        "title": _text(data.title, "title", TITLE_MAX, errors, required=True),
        "title_es": _text(data.title_es, "title_es", TITLE_MAX, errors),
        "overlap": None,
    }
    if not source.sessions:
        errors["starts_on"] = "no_sessions"
        return errors, clean
    if data.starts_on is None:
        errors["starts_on"] = "required"
        return errors, clean
    zone = ZoneInfo(timezone)
    days = shift_days(source, data.starts_on, timezone)
    clean["days"] = days
    first = min(_shift(s.starts_at, days, zone) for s in source.sessions)
    if first <= now:
        errors["starts_on"] = "in_past"
        return errors, clean
    last = max(_local(s.starts_at, zone).date() for s in source.sessions) + timedelta(days=days)
    if "title" not in errors:
        overlap = _overlaps(session, title=clean["title"], first=data.starts_on, last=last)
        if overlap is not None:
            clean["overlap"] = overlap
            errors["starts_on"] = "overlaps"
    return errors, clean


def copy_cohort(
    session: Session,
    source: Programme,
    data: CohortInput,
    *,
    actor: User | None,
    timezone: str,
    now: datetime,
) -> Programme:
    """A new draft cohort: ``source`` with its sessions moved so the first falls on
    ``data.starts_on`` (flush, no commit). Raises ``CopyRefused`` (see ``check_copy``)."""
    errors, clean = check_copy(session, source, data, timezone=timezone, now=now)
    if errors:
        raise CopyRefused(errors, clean["overlap"])
    zone = ZoneInfo(timezone)
    days: int = clean["days"]

    def moved(value: datetime | None) -> datetime | None:
        return _shift(value, days, zone) if value is not None else None

    cohort = Programme(
        title=clean["title"],
        summary=source.summary,
        description=source.description,
        kind=source.kind,
        topic=source.topic,
        area_id=source.area_id,
        capacity=source.capacity,
        taken=0,
        waiting=0,
        admission=source.admission,
        status="draft",
        enrol_opens_at=moved(source.enrol_opens_at),
        enrol_closes_at=moved(source.enrol_closes_at),
        completion_min_sessions=source.completion_min_sessions,
        offer_hours=source.offer_hours,
        contact_email=source.contact_email,
        created_by_id=actor.id if actor else None,
        translations=_with_es(source.translations, {"title": clean["title_es"]}),
    )
    for item in source.sessions:
        cohort.sessions.append(
            ProgrammeSession(
                title=item.title,
                translations=dict(item.translations or {}),
                starts_at=_shift(item.starts_at, days, zone),
                ends_at=_shift(item.ends_at, days, zone),
                place=item.place,
                online_url=item.online_url,
                mandatory=item.mandatory,
            )
        )
    for question in source.questions:
        cohort.questions.append(
            EligibilityQuestion(
                code=question.code,
                kind=question.kind,
                prompt=question.prompt,
                help=question.help,
                required=question.required,
                options=list(question.options or []),
                max_length=question.max_length,
                eligible_values=list(question.eligible_values or []),
                min_value=question.min_value,
                max_value=question.max_value,
                ineligible_message=question.ineligible_message,
                position=question.position,
                translations=dict(question.translations or {}),
            )
        )
    sync_dates(cohort, timezone)
    session.add(cohort)
    session.flush()
    _audit(
        session,
        actor=actor,
        entity="programme",
        entity_id=cohort.id,
        action="copy",
        before={},
        after={
            **programme_snapshot(cohort),
            "copied_from": source.id,
            "shift_days": days,
            "sessions": len(cohort.sessions),
            "questions": len(cohort.questions),
        },
    )
    return cohort


# --- side by side ------------------------------------------------------------------------------


@dataclass(frozen=True)
class CohortFigures:
    """One cohort's row in the comparison. ``attendance_rate``: present marks out of the
    enrolled participants times the sessions held so far (None before the first session or
    with nobody enrolled). ``completed``: how many completed (None until the programme is
    completed)."""

    programme: Programme
    sessions: int
    held: int
    enrolled: int
    waitlisted: int
    present: int
    attendance_rate: float | None
    completed: int | None
    completion_rate: float | None


def cohorts_of(session: Session, programme: Programme) -> list[Programme]:
    """The programme's cohorts (itself included), the earliest first."""
    rows = session.scalars(
        select(Programme)
        .where(_same_title(programme.title))
        .order_by(Programme.starts_on.desc(), Programme.id.desc())
        .limit(COHORTS_MAX)
    )
    found = list(rows)
    if all(p.id != programme.id for p in found):
        found.append(programme)
    return sorted(found, key=lambda p: (p.starts_on or date.max, p.id))


def compare_cohorts(
    session: Session, programme: Programme, *, now: datetime
) -> list[CohortFigures]:
    """Every cohort of ``programme`` with its figures, the earliest first (four queries)."""
    cohorts = cohorts_of(session, programme)
    ids = [p.id for p in cohorts]
    people: dict[int, dict[str, int]] = {i: {} for i in ids}
    for programme_id, state, count, completed in session.execute(
        select(
            Enrolment.programme_id,
            Enrolment.state,
            func.count(),
            func.sum(case((Enrolment.completed.is_(True), 1), else_=0)),
        )
        .where(Enrolment.programme_id.in_(ids))
        .group_by(Enrolment.programme_id, Enrolment.state)
    ):
        people[programme_id][state] = int(count)
        if state == "enrolled":
            people[programme_id]["completed"] = int(completed or 0)
    meetings = {
        programme_id: (int(total), int(held or 0))
        for programme_id, total, held in session.execute(
            select(
                ProgrammeSession.programme_id,
                func.count(),
                func.sum(case((ProgrammeSession.starts_at <= now, 1), else_=0)),
            )
            .where(ProgrammeSession.programme_id.in_(ids))
            .group_by(ProgrammeSession.programme_id)
        )
    }
    present = dict(
        session.execute(
            select(ProgrammeSession.programme_id, func.count())
            .join(Attendance, Attendance.session_id == ProgrammeSession.id)
            .join(
                Enrolment,
                and_(Enrolment.id == Attendance.enrolment_id, Enrolment.state == "enrolled"),
            )
            .where(ProgrammeSession.programme_id.in_(ids), Attendance.present.is_(True))
            .group_by(ProgrammeSession.programme_id)
        ).all()
    )
    figures = []
    for cohort in cohorts:
        counts = people[cohort.id]
        enrolled = counts.get("enrolled", 0)
        total, held = meetings.get(cohort.id, (0, 0))
        marks = int(present.get(cohort.id, 0))
        expected = enrolled * held
        done = cohort.status == "completed"
        completed = counts.get("completed", 0) if done else None
        figures.append(
            CohortFigures(
                programme=cohort,
                sessions=total,
                held=held,
                enrolled=enrolled,
                waitlisted=counts.get("waitlisted", 0),
                present=marks,
                attendance_rate=min(1.0, marks / expected) if expected else None,
                completed=completed,
                completion_rate=(completed / enrolled)
                if completed is not None and enrolled
                else None,
            )
        )
    return figures


__all__ = [
    "CohortFigures",
    "CohortInput",
    "CopyRefused",
    "Overlap",
    "check_copy",
    "cohorts_of",
    "compare_cohorts",
    "copy_cohort",
    "shift_days",
]
