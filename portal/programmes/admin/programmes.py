"""Setting up a programme in the back office: its details (``create_programme``,
``update_programme``; status, capacity and messages go through
``portal.programmes.programme_changes``) and the list of programmes by status, a page at a
time. Every change is checked first and refused whole with ``ProgrammeAdminError`` and writes an
``AuditEntry``. No Flask here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from portal.areas.models import Area
from portal.auth.models import User
from portal.programmes.admin.common import (
    CAPACITY_MAX,
    DESCRIPTION_MAX,
    EMAIL_MAX,
    EMAIL_RE,
    OFFER_HOURS_MAX,
    SESSIONS_MAX,
    SUMMARY_MAX,
    TITLE_MAX,
    ProgrammeAdminError,
    _audit,
    _bounded,
    _iso,
    _text,
    _with_es,
)
from portal.programmes.models import (
    ADMISSIONS,
    KINDS,
    TOPICS,
    Enrolment,
    Programme,
)


@dataclass(frozen=True)
class ProgrammeInput:
    title: str
    kind: str
    topic: str
    admission: str
    summary: str = ""
    description: str = ""
    title_es: str = ""
    summary_es: str = ""
    description_es: str = ""
    area_id: int | None = None
    #: Only read when creating: later changes go through ``programme_changes.set_capacity``.
    capacity: int | None = None
    enrol_opens_at: datetime | None = None
    enrol_closes_at: datetime | None = None
    completion_min_sessions: int | None = None
    offer_hours: int | None = None
    contact_email: str = ""


def programme_snapshot(programme: Programme) -> dict[str, Any]:
    return {
        "title": programme.title,
        "summary": programme.summary,
        "description": programme.description,
        "kind": programme.kind,
        "topic": programme.topic,
        "area_id": programme.area_id,
        "capacity": programme.capacity,
        "admission": programme.admission,
        "status": programme.status,
        "enrol_opens_at": _iso(programme.enrol_opens_at),
        "enrol_closes_at": _iso(programme.enrol_closes_at),
        "completion_min_sessions": programme.completion_min_sessions,
        "offer_hours": programme.offer_hours,
        "contact_email": programme.contact_email,
        "translations": programme.translations or {},
    }


def _check_programme(
    session: Session, data: ProgrammeInput, *, creating: bool, sessions: int
) -> tuple[dict[str, str], dict[str, str]]:
    errors: dict[str, str] = {}
    clean = {
        "title": _text(data.title, "title", TITLE_MAX, errors, required=True),
        "summary": _text(data.summary, "summary", SUMMARY_MAX, errors),
        "description": _text(
            data.description, "description", DESCRIPTION_MAX, errors, one_line=False
        ),
        "title_es": _text(data.title_es, "title_es", TITLE_MAX, errors),
        "summary_es": _text(data.summary_es, "summary_es", SUMMARY_MAX, errors),
        "description_es": _text(
            data.description_es, "description_es", DESCRIPTION_MAX, errors, one_line=False
        ),
        "contact_email": _text(data.contact_email, "contact_email", EMAIL_MAX, errors),
    }
    if (
        clean["contact_email"]
        and "contact_email" not in errors
        and not EMAIL_RE.match(clean["contact_email"])
    ):
        errors["contact_email"] = "invalid"
    for key, allowed in (("kind", KINDS), ("topic", TOPICS), ("admission", ADMISSIONS)):
        if getattr(data, key) not in allowed:
            errors[key] = "unknown"
    if data.area_id is not None and session.get(Area, data.area_id) is None:
        errors["area_id"] = "unknown"
    if creating:
        if data.capacity is None:
            errors["capacity"] = "required"
        else:
            _bounded(data.capacity, "capacity", 1, CAPACITY_MAX, errors)
    if data.enrol_opens_at and data.enrol_closes_at and data.enrol_closes_at <= data.enrol_opens_at:
        errors["enrol_closes_at"] = "before_opens"
    if data.completion_min_sessions is not None:
        _bounded(data.completion_min_sessions, "completion_min_sessions", 1, SESSIONS_MAX, errors)
        if (
            "completion_min_sessions" not in errors
            and sessions
            and data.completion_min_sessions > sessions
        ):
            errors["completion_min_sessions"] = "more_than_sessions"
    if data.offer_hours is not None:
        _bounded(data.offer_hours, "offer_hours", 1, OFFER_HOURS_MAX, errors)
    return errors, clean


def _apply_programme(programme: Programme, data: ProgrammeInput, clean: dict[str, str]) -> None:
    programme.title = clean["title"]
    programme.summary = clean["summary"]
    programme.description = clean["description"]
    programme.translations = _with_es(
        programme.translations,
        {
            "title": clean["title_es"],
            "summary": clean["summary_es"],
            "description": clean["description_es"],
        },
    )
    programme.kind = data.kind
    programme.topic = data.topic
    programme.area_id = data.area_id
    programme.admission = data.admission
    programme.enrol_opens_at = data.enrol_opens_at
    programme.enrol_closes_at = data.enrol_closes_at
    programme.completion_min_sessions = data.completion_min_sessions
    programme.offer_hours = data.offer_hours
    programme.contact_email = clean["contact_email"]


def create_programme(session: Session, data: ProgrammeInput, *, actor: User | None) -> Programme:
    """A new draft programme (no sessions yet). Raises ``ProgrammeAdminError``."""
    errors, clean = _check_programme(session, data, creating=True, sessions=0)
    if errors:
        raise ProgrammeAdminError(errors)
    programme = Programme(
        status="draft",
        capacity=data.capacity,
        taken=0,
        waiting=0,
        translations={},
        created_by_id=actor.id if actor else None,
    )
    _apply_programme(programme, data, clean)
    session.add(programme)
    session.flush()
    _audit(
        session,
        actor=actor,
        entity="programme",
        entity_id=programme.id,
        action="create",
        before={},
        after=programme_snapshot(programme),
    )
    return programme


def update_programme(
    session: Session, programme: Programme, data: ProgrammeInput, *, actor: User | None
) -> None:
    """Save the programme's details (not its status or capacity). Raises
    ``ProgrammeAdminError``."""
    errors, clean = _check_programme(
        session, data, creating=False, sessions=len(programme.sessions)
    )
    if errors:
        raise ProgrammeAdminError(errors)
    before = programme_snapshot(programme)
    _apply_programme(programme, data, clean)
    session.flush()
    _audit(
        session,
        actor=actor,
        entity="programme",
        entity_id=programme.id,
        action="update",
        before=before,
        after=programme_snapshot(programme),
    )


def has_enrolments(session: Session, programme: Programme) -> bool:
    """Has anyone ever enrolled (or applied)? Their answers are on record."""
    return bool(session.scalar(select(exists().where(Enrolment.programme_id == programme.id))))


# --- the list --------------------------------------------------------------------------------

PAGE_SIZE = 25
MAX_PAGE = 400


@dataclass
class ProgrammePage:
    programmes: list[Programme]
    page: int
    has_next: bool


def list_programmes(
    session: Session, *, status: str, page: int = 1, per_page: int = PAGE_SIZE
) -> ProgrammePage:
    """One page of the programmes with ``status``, the latest starting first (reads
    ``ix_programmes_status_starts``; programmes without sessions come where the database
    puts empty dates)."""
    page = max(1, min(page, MAX_PAGE))
    rows = list(
        session.scalars(
            select(Programme)
            .where(Programme.status == status)
            .order_by(Programme.starts_on.desc(), Programme.id.desc())
            .offset((page - 1) * per_page)
            .limit(per_page + 1)
        )
    )
    return ProgrammePage(rows[:per_page], page, len(rows) > per_page)


def area_choices(session: Session) -> list[tuple[int, str]]:
    """Neighbourhoods to choose from (a city has dozens)."""
    return [
        (a.id, a.name)
        for a in session.scalars(select(Area).order_by(Area.name, Area.id).limit(2000))
    ]
