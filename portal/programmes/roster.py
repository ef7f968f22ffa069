"""Who is in a programme, for coordinators: the roster by state (with waitlist positions,
offer deadlines and attendance) and the rows of its CSV export (no Flask here).

Every read goes through ``ix_enrolments_programme_state_queued`` (programme, state, queue
order) or the enrolment's primary key; the export reads in batches, so a programme of any size
costs a bounded number of queries per thousand people.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session, contains_eager

from portal.auth.models import User
from portal.core import clock
from portal.programmes.completion import Progress, programme_progress
from portal.programmes.models import (
    ENROLMENT_STATES,
    Attendance,
    EligibilityQuestion,
    Enrolment,
    Programme,
    ProgrammeSession,
)

#: The roster's tabs, in the order a coordinator works through them.
TABS = ("enrolled", "applied", "waitlisted", "offered", "cancelled", "rejected")
PAGE_SIZE = 50
MAX_PAGE = 1_000
EXPORT_BATCH = 500


@dataclass
class RosterRow:
    enrolment: Enrolment
    #: 1-based place in the waitlist (waitlisted only).
    position: int | None = None
    #: Sessions attended (marked present).
    attended: int = 0
    #: Where an enrolled participant stands against the completion rule.
    progress: Progress | None = None


@dataclass
class RosterPage:
    state: str
    rows: list[RosterRow]
    page: int
    has_next: bool
    #: Enrolments per state (every state, zero when none).
    counts: dict[str, int] = field(default_factory=dict)


def state_counts(session: Session, programme: Programme) -> dict[str, int]:
    counts = dict(
        session.execute(
            select(Enrolment.state, func.count())
            .where(Enrolment.programme_id == programme.id)
            .group_by(Enrolment.state)
        ).all()
    )
    return {state: int(counts.get(state, 0)) for state in ENROLMENT_STATES}


def attended_counts(session: Session, enrolment_ids: list[int]) -> dict[int, int]:
    """Sessions each of ``enrolment_ids`` was marked present at."""
    if not enrolment_ids:
        return {}
    return {
        enrolment_id: int(count)
        for enrolment_id, count in session.execute(
            select(Attendance.enrolment_id, func.count())
            .where(Attendance.enrolment_id.in_(enrolment_ids), Attendance.present.is_(True))
            .group_by(Attendance.enrolment_id)
        )
    }


def roster_page(
    session: Session,
    programme: Programme,
    *,
    state: str,
    page: int = 1,
    per_page: int = PAGE_SIZE,
    now: datetime | None = None,
) -> RosterPage:
    """One page of the enrolments in ``state``, in queue order (the waitlist's order, so a
    waitlisted row's position is its rank). Raises ``ValueError`` for an unknown state."""
    if state not in ENROLMENT_STATES:
        raise ValueError(state)
    page = max(1, min(page, MAX_PAGE))
    offset = (page - 1) * per_page
    enrolments = list(
        session.scalars(
            select(Enrolment)
            .join(Enrolment.user)
            .where(Enrolment.programme_id == programme.id, Enrolment.state == state)
            .order_by(Enrolment.queued_at, Enrolment.id)
            .options(contains_eager(Enrolment.user))
            .offset(offset)
            .limit(per_page + 1)
        )
    )
    has_next = len(enrolments) > per_page
    enrolments = enrolments[:per_page]
    attended = attended_counts(session, [e.id for e in enrolments])
    progress = (
        programme_progress(session, programme, now=now or clock.now())
        if state == "enrolled" and enrolments
        else {}
    )
    rows = [
        RosterRow(
            enrolment=e,
            position=offset + index + 1 if state == "waitlisted" else None,
            attended=attended.get(e.id, 0),
            progress=progress.get(e.id),
        )
        for index, e in enumerate(enrolments)
    ]
    return RosterPage(
        state=state,
        rows=rows,
        page=page,
        has_next=has_next,
        counts=state_counts(session, programme),
    )


def enrolment_of(session: Session, programme: Programme, enrolment_id: int) -> Enrolment | None:
    """The enrolment, if it is one of ``programme``'s (else None, like a forged id)."""
    enrolment = session.get(Enrolment, enrolment_id)
    if enrolment is None or enrolment.programme_id != programme.id:
        return None
    return enrolment


def answer_text(question: EligibilityQuestion, value: Any, locale: str) -> str:
    """An answer as a person reads it (choice labels, several joined by "; ")."""
    if value is None:
        return ""
    if question.kind in ("single", "multi"):
        values = value if isinstance(value, list) else [value]
        return "; ".join(question.option_label(str(v), locale) for v in values)
    if isinstance(value, list):
        return "; ".join(str(v) for v in value)
    return str(value)


def _waitlist_positions(session: Session, programme: Programme) -> dict[int, int]:
    ids = session.scalars(
        select(Enrolment.id)
        .where(Enrolment.programme_id == programme.id, Enrolment.state == "waitlisted")
        .order_by(Enrolment.queued_at, Enrolment.id)
    )
    return {enrolment_id: rank for rank, enrolment_id in enumerate(ids, start=1)}


def _attended_in_programme(session: Session, programme: Programme) -> dict[int, int]:
    return {
        enrolment_id: int(count)
        for enrolment_id, count in session.execute(
            select(Attendance.enrolment_id, func.count())
            .join(ProgrammeSession, ProgrammeSession.id == Attendance.session_id)
            .where(ProgrammeSession.programme_id == programme.id, Attendance.present.is_(True))
            .group_by(Attendance.enrolment_id)
        )
    }


@dataclass
class ExportLabels:
    """The export's words in the reader's language (passed in: no Flask here)."""

    header: list[str]
    states: dict[str, str]
    yes: str
    no: str


def export_rows(
    session: Session,
    programme: Programme,
    *,
    labels: ExportLabels,
    locale: str,
    timezone: str,
    now: datetime | None = None,
) -> Iterator[list[Any]]:
    """The header, then one row per enrolment of ``programme`` (every state) in the order
    state tab, queue order: name, email, phone, state, waitlist position, check-in code,
    enrolled at (local time), one column per eligibility question, sessions attended,
    completion. Completion is "yes"/"no" for enrolled participants (recorded when the
    programme completed, else where they stand now) and empty for the others."""
    questions = list(programme.questions)
    yield [*labels.header[:7], *(q.t("prompt", locale) for q in questions), *labels.header[7:]]
    positions = _waitlist_positions(session, programme)
    attended = _attended_in_programme(session, programme)
    progress = programme_progress(session, programme, now=now or clock.now())
    zone = ZoneInfo(timezone)
    for state in TABS:
        after: tuple[datetime, int] | None = None
        while True:
            query = (
                select(Enrolment)
                .join(Enrolment.user)
                .where(Enrolment.programme_id == programme.id, Enrolment.state == state)
                .order_by(Enrolment.queued_at, Enrolment.id)
                .options(contains_eager(Enrolment.user))
                .limit(EXPORT_BATCH)
            )
            if after is not None:
                query = query.where(
                    (Enrolment.queued_at > after[0])
                    | ((Enrolment.queued_at == after[0]) & (Enrolment.id > after[1]))
                )
            batch = list(session.scalars(query))
            for enrolment in batch:
                yield _export_row(
                    enrolment,
                    questions=questions,
                    labels=labels,
                    locale=locale,
                    zone=zone,
                    position=positions.get(enrolment.id),
                    attended=attended.get(enrolment.id, 0),
                    progress=progress.get(enrolment.id),
                )
            if len(batch) < EXPORT_BATCH:
                break
            after = (batch[-1].queued_at, batch[-1].id)


def _export_row(
    enrolment: Enrolment,
    *,
    questions: list[EligibilityQuestion],
    labels: ExportLabels,
    locale: str,
    zone: ZoneInfo,
    position: int | None,
    attended: int,
    progress: Progress | None,
) -> list[Any]:
    user: User = enrolment.user
    answers = enrolment.answers or {}
    if enrolment.completed is not None:
        completion = labels.yes if enrolment.completed else labels.no
    elif enrolment.state == "enrolled" and progress is not None:
        completion = labels.yes if progress.met else labels.no
    else:
        completion = ""
    enrolled_at = (
        enrolment.enrolled_at.astimezone(zone).strftime("%Y-%m-%d %H:%M")
        if enrolment.enrolled_at
        else ""
    )
    return [
        user.name,
        user.email,
        user.phone,
        labels.states.get(enrolment.state, enrolment.state),
        position if position is not None else "",
        enrolment.check_in_code,
        enrolled_at,
        *(answer_text(q, answers.get(q.code), locale) for q in questions),
        attended,
        completion,
    ]
