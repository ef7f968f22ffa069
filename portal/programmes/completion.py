"""Who completed a programme, and the survey its participants are asked (no Flask here).

The rule: a participant completes a programme when they attended at least
``Programme.completion_min_sessions`` sessions (every session when it is None) *and* every
mandatory session. ``progress`` tells one participant where they stand; ``complete_programme``
runs once the programme is over (``programme_changes.change_status(..., "completed")``): it records
``Enrolment.completed`` for every enrolled participant and invites each of them (met or not:
they all took part) to the "programme_completed" survey.

The invitation goes out at once (``send_after = now``), unlike the request survey's delay: a
request survey waits ``survey_delay_hours`` so a resident can see whether the fix holds, but a
completed programme is final and the last session is fresh in people's minds. Opt-outs and
survey fatigue are respected as for request surveys; the unique
``(survey_key, subject_key="enrolment:<id>")`` plus a savepoint keep it to one invitation per
participant, however often ``complete_programme`` runs.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, contains_eager

from portal.auth.models import User
from portal.core import clock
from portal.core.config import Settings
from portal.programmes.models import Attendance, Enrolment, Programme, ProgrammeSession
from portal.programmes.surveys import enrolment_subject
from portal.surveys.invitations import (
    fatigue_window,
    insert_once,
    new_token,
    normalise_email,
    survey_version,
)
from portal.surveys.models import SurveyInvitation, SurveyOptOut

log = logging.getLogger(__name__)

TRIGGER = "programme_completed"
#: Addresses looked up per query (IN lists stay well under every database's limit).
CHUNK = 500


@dataclass(frozen=True)
class Progress:
    """Where one participant stands against the completion rule.

    ``mandatory_missed``: mandatory sessions that have started and they were not marked
    present at. ``met`` needs every mandatory session, including ones still to come."""

    attended: int
    needed: int
    mandatory_missed: list[ProgrammeSession]
    met: bool
    #: Sessions in the programme.
    total: int = 0
    #: Mandatory sessions not attended yet (missed or still to come).
    mandatory_pending: list[ProgrammeSession] = field(default_factory=list)


def needed_sessions(programme: Programme, total: int) -> int:
    """How many sessions the rule asks for."""
    if programme.completion_min_sessions is not None:
        return programme.completion_min_sessions
    return total


def _progress(
    programme: Programme,
    sessions: Sequence[ProgrammeSession],
    present: set[int],
    now: datetime | None,
) -> Progress:
    attended = sum(1 for s in sessions if s.id in present)
    pending = [s for s in sessions if s.mandatory and s.id not in present]
    missed = [s for s in pending if now is None or s.starts_at <= now]
    needed = needed_sessions(programme, len(sessions))
    return Progress(
        attended=attended,
        needed=needed,
        mandatory_missed=missed,
        met=attended >= needed and not pending,
        total=len(sessions),
        mandatory_pending=pending,
    )


def programme_sessions(session: Session, programme_id: int) -> list[ProgrammeSession]:
    return list(
        session.scalars(
            select(ProgrammeSession)
            .where(ProgrammeSession.programme_id == programme_id)
            .order_by(ProgrammeSession.starts_at, ProgrammeSession.id)
        )
    )


def progress(session: Session, enrolment: Enrolment, *, now: datetime | None = None) -> Progress:
    """``enrolment``'s progress (two queries). A mandatory session counts as missed once it
    has started (at ``now``, the current time by default)."""
    sessions = programme_sessions(session, enrolment.programme_id)
    present = set(
        session.scalars(
            select(Attendance.session_id).where(
                Attendance.enrolment_id == enrolment.id, Attendance.present.is_(True)
            )
        )
    )
    programme = session.get(Programme, enrolment.programme_id)
    assert programme is not None
    return _progress(programme, sessions, present, now or clock.now())


def programme_progress(
    session: Session, programme: Programme, *, now: datetime | None = None
) -> dict[int, Progress]:
    """Progress of every enrolled participant of ``programme`` by enrolment id, in three
    queries whatever the number of people and sessions. ``now=None`` counts every mandatory
    session not attended as missed (the programme is over)."""
    sessions = programme_sessions(session, programme.id)
    enrolled = list(
        session.scalars(
            select(Enrolment.id).where(
                Enrolment.programme_id == programme.id, Enrolment.state == "enrolled"
            )
        )
    )
    present: dict[int, set[int]] = {enrolment_id: set() for enrolment_id in enrolled}
    rows = session.execute(
        select(Attendance.enrolment_id, Attendance.session_id)
        .join(ProgrammeSession, ProgrammeSession.id == Attendance.session_id)
        .join(Enrolment, Enrolment.id == Attendance.enrolment_id)
        .where(
            ProgrammeSession.programme_id == programme.id,
            Attendance.present.is_(True),
            Enrolment.state == "enrolled",
        )
    )
    for enrolment_id, session_id in rows:
        present.setdefault(enrolment_id, set()).add(session_id)
    return {
        enrolment_id: _progress(programme, sessions, present[enrolment_id], now)
        for enrolment_id in enrolled
    }


def complete_programme(
    session: Session, *, settings: Settings, programme: Programme, now: datetime
) -> None:
    """Record ``completed`` for every enrolled participant and invite them to the programme
    survey (flush, no commit). Harmless to run again: ``completed`` is recomputed and nobody
    is invited twice."""
    results = programme_progress(session, programme, now=None)
    participants = list(
        session.execute(
            select(Enrolment, User)
            .join(Enrolment.user)
            .where(Enrolment.programme_id == programme.id, Enrolment.state == "enrolled")
            .order_by(Enrolment.id)
            .options(contains_eager(Enrolment.user))
        ).all()
    )
    for enrolment, _user in participants:
        enrolment.completed = results[enrolment.id].met if enrolment.id in results else False
    session.flush()
    invite_participants(session, settings=settings, participants=participants, now=now)


def _chunks(values: Sequence[str]) -> Iterable[Sequence[str]]:
    for start in range(0, len(values), CHUNK):
        yield values[start : start + CHUNK]


def invite_participants(
    session: Session,
    *,
    settings: Settings,
    participants: Sequence[tuple[Enrolment, User]],
    now: datetime,
) -> list[SurveyInvitation]:
    """Invite each (enrolment, user) to the "programme_completed" survey unless the address
    opted out, was surveyed within the fatigue window, or this enrolment was invited already.
    Returns the invitations made. A broken survey file is logged and invites nobody."""
    from portal.surveys.definitions import definition_for
    from portal.surveys.schema import DefinitionError

    try:
        definition = definition_for(TRIGGER)
    except DefinitionError as error:
        log.error("no programme survey invitations: %s", error)
        return []
    if definition is None or not participants:
        return []
    people = [
        (enrolment, normalise_email(user.email))
        for enrolment, user in participants
        if normalise_email(user.email)
    ]
    emails = sorted({email for _, email in people})
    subjects = [enrolment_subject(enrolment.id) for enrolment, _ in people]
    skip_emails: set[str] = set()
    invited: set[str] = set()
    for chunk in _chunks(emails):
        skip_emails.update(
            session.scalars(select(SurveyOptOut.email).where(SurveyOptOut.email.in_(chunk)))
        )
        skip_emails.update(
            session.scalars(
                select(SurveyInvitation.email).where(
                    SurveyInvitation.email.in_(chunk), *fatigue_window(settings, now)
                )
            )
        )
    for chunk in _chunks(subjects):
        invited.update(
            session.scalars(
                select(SurveyInvitation.subject_key).where(
                    SurveyInvitation.survey_key == definition.key,
                    SurveyInvitation.subject_key.in_(chunk),
                )
            )
        )
    todo = [
        (enrolment, email)
        for enrolment, email in people
        if email not in skip_emails and enrolment_subject(enrolment.id) not in invited
    ]
    if not todo:
        return []
    version = survey_version(session, definition)
    if version is None:
        return []
    made = []
    expires_at = now + timedelta(days=settings.survey_expiry_days)
    for enrolment, email in todo:
        invitation = SurveyInvitation(
            survey_key=definition.key,
            survey_version_id=version.id,
            request_id=None,
            subject_key=enrolment_subject(enrolment.id),
            email=email,
            user_id=enrolment.user_id,
            locale=enrolment.locale if enrolment.locale in settings.languages else "en",
            # NOT NULL and unique: a hash of a token nobody ever gets, replaced when sent.
            token_hash=new_token()[1],
            state="pending",
            send_after=now,
            expires_at=expires_at,
            department_id=None,
            category_id=None,
            created_at=now,
        )
        if insert_once(session, invitation):  # else another transaction invited them first
            made.append(invitation)
    return made


__all__ = [
    "Progress",
    "complete_programme",
    "invite_participants",
    "programme_progress",
    "progress",
]
