"""Setting up programmes in the back office: the programme, its sessions and its eligibility
questions (no Flask here).

Every change is checked first and refused whole with ``ProgrammeAdminError.errors``
(``{field: code}``), so nothing is half-written; every change writes an ``AuditEntry``
(entities ``programme``, ``programme_session``, ``programme_question``) with the values before
and after. Status, capacity and messages go through ``portal.programmes.programme_changes``.

Times arrive as the city's local date and time and are stored in UTC; ``starts_on`` and
``ends_on`` follow the sessions (local dates of the first and the last session).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from portal.areas.models import Area
from portal.auth.models import User
from portal.catalogue.models import QUESTION_KINDS
from portal.core import clock
from portal.core.audit import AuditEntry
from portal.programmes.models import (
    ADMISSIONS,
    KINDS,
    TOPICS,
    Attendance,
    EligibilityQuestion,
    Enrolment,
    Programme,
    ProgrammeSession,
)
from portal.requests.answers import TEXT_MAX

TITLE_MAX = 160
SUMMARY_MAX = 300
DESCRIPTION_MAX = 10_000
CAPACITY_MAX = 10_000
OFFER_HOURS_MAX = 720  # thirty days
EMAIL_MAX = 254
PLACE_MAX = 300
URL_MAX = 500
PROMPT_MAX = 300
HELP_MAX = 2_000
CODE_MAX = 40
OPTION_KEY_MAX = 40
OPTION_LABEL_MAX = 200
OPTIONS_MAX = 50
#: A programme has at most this many sessions and questions (the pages list them all).
SESSIONS_MAX = 200
QUESTIONS_MAX = 50
CHOICE_KINDS = ("yesno", "single", "multi")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
OPTION_KEY_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


class ProgrammeAdminError(ValueError):
    """What is wrong, as ``{field: code}``. Codes: required, too_long, unknown, too_small,
    too_large, invalid, before_opens, end_before_start, needs_place, not_https,
    more_than_sessions, has_attendance, below_minimum, too_many, options_for_choice_only,
    needs_options, duplicate_option, unknown_option, min_above_max, number_only."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(", ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


def to_utc(day: date | None, at: time | None, timezone: str) -> datetime | None:
    """The UTC instant of the city's local ``day`` at ``at`` (None unless both are given)."""
    if day is None or at is None:
        return None
    return datetime.combine(day, at, tzinfo=ZoneInfo(timezone)).astimezone(UTC)


def local(value: datetime | None, timezone: str) -> datetime | None:
    """``value`` in the city's time zone (for filling forms)."""
    return value.astimezone(ZoneInfo(timezone)) if value else None


def _audit(
    session: Session,
    *,
    actor: User | None,
    entity: str,
    entity_id: int,
    action: str,
    before: dict[str, Any],
    after: dict[str, Any],
) -> None:
    session.add(
        AuditEntry(
            actor_id=actor.id if actor else None,
            entity=entity,
            entity_id=str(entity_id),
            action=action,
            before=before,
            after=after,
            created_at=clock.now(),
        )
    )
    session.flush()


def _text(
    raw: str | None,
    key: str,
    limit: int,
    errors: dict[str, str],
    *,
    required: bool = False,
    one_line: bool = True,
) -> str:
    text = " ".join((raw or "").split()) if one_line else (raw or "").strip()
    if required and not text:
        errors[key] = "required"
    elif len(text) > limit:
        errors[key] = "too_long"
    return text


def _es(values: dict[str, str]) -> dict[str, str]:
    return {key: value for key, value in values.items() if value}


def _with_es(translations: dict[str, Any] | None, values: dict[str, str]) -> dict[str, Any]:
    """``translations`` with the Spanish ``values`` replaced (a new dict, so the JSON column
    sees the change); empty ones are dropped so English shows instead."""
    result = {locale: dict(fields) for locale, fields in (translations or {}).items()}
    spanish = {k: v for k, v in result.get("es", {}).items() if k not in values}
    spanish.update(_es(values))
    if spanish:
        result["es"] = spanish
    else:
        result.pop("es", None)
    return result


# --- programmes ------------------------------------------------------------------------------


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


def _iso(value: datetime | date | None) -> str | None:
    return value.isoformat() if value else None


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


def _bounded(value: int, key: str, low: int, high: int, errors: dict[str, str]) -> None:
    if value < low:
        errors[key] = "too_small"
    elif value > high:
        errors[key] = "too_large"


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


# --- sessions --------------------------------------------------------------------------------


@dataclass(frozen=True)
class SessionInput:
    day: date | None
    start: time | None
    end: time | None
    title: str = ""
    title_es: str = ""
    place: str = ""
    online_url: str = ""
    mandatory: bool = False


def session_snapshot(meeting: ProgrammeSession) -> dict[str, Any]:
    return {
        "title": meeting.title,
        "starts_at": _iso(meeting.starts_at),
        "ends_at": _iso(meeting.ends_at),
        "place": meeting.place,
        "online_url": meeting.online_url,
        "mandatory": meeting.mandatory,
        "translations": meeting.translations or {},
    }


def _check_session(data: SessionInput, timezone: str) -> tuple[dict[str, str], dict[str, Any]]:
    errors: dict[str, str] = {}
    clean: dict[str, Any] = {
        "title": _text(data.title, "title", TITLE_MAX, errors),
        "title_es": _text(data.title_es, "title_es", TITLE_MAX, errors),
        "place": _text(data.place, "place", PLACE_MAX, errors),
        "online_url": (data.online_url or "").strip(),
    }
    for key in ("day", "start", "end"):
        if getattr(data, key) is None:
            errors[key] = "required"
    if data.start and data.end and data.end <= data.start:
        errors["end"] = "end_before_start"
    url = clean["online_url"]
    if len(url) > URL_MAX:
        errors["online_url"] = "too_long"
    elif url:
        parts = urlsplit(url)
        if parts.scheme != "https" or not parts.hostname or any(c.isspace() for c in url):
            errors["online_url"] = "not_https"
    if not clean["place"] and not url and "place" not in errors and "online_url" not in errors:
        errors["place"] = "needs_place"
    clean["starts_at"] = to_utc(data.day, data.start, timezone)
    clean["ends_at"] = to_utc(data.day, data.end, timezone)
    return errors, clean


def _apply_session(meeting: ProgrammeSession, data: SessionInput, clean: dict[str, Any]) -> None:
    if meeting.starts_at is not None and meeting.starts_at != clean["starts_at"]:
        meeting.reminded_at = None  # moved: remind people of the new time
    meeting.title = clean["title"]
    meeting.translations = _with_es(meeting.translations, {"title": clean["title_es"]})
    meeting.starts_at = clean["starts_at"]
    meeting.ends_at = clean["ends_at"]
    meeting.place = clean["place"]
    meeting.online_url = clean["online_url"]
    meeting.mandatory = bool(data.mandatory)


def sync_dates(programme: Programme, timezone: str) -> None:
    """``starts_on``/``ends_on``: the local dates of the first and last session (None when
    there are none)."""
    starts = [s.starts_at for s in programme.sessions]
    zone = ZoneInfo(timezone)
    programme.starts_on = min(starts).astimezone(zone).date() if starts else None
    programme.ends_on = max(starts).astimezone(zone).date() if starts else None


def add_session(
    session: Session, programme: Programme, data: SessionInput, *, actor: User | None, timezone: str
) -> ProgrammeSession:
    errors, clean = _check_session(data, timezone)
    if len(programme.sessions) >= SESSIONS_MAX:
        errors["day"] = "too_many"
    if errors:
        raise ProgrammeAdminError(errors)
    meeting = ProgrammeSession(translations={})
    _apply_session(meeting, data, clean)
    programme.sessions.append(meeting)
    sync_dates(programme, timezone)
    session.flush()
    _audit(
        session,
        actor=actor,
        entity="programme_session",
        entity_id=meeting.id,
        action="create",
        before={},
        after={"programme_id": programme.id, **session_snapshot(meeting)},
    )
    return meeting


def update_session(
    session: Session,
    meeting: ProgrammeSession,
    data: SessionInput,
    *,
    actor: User | None,
    timezone: str,
) -> None:
    errors, clean = _check_session(data, timezone)
    if errors:
        raise ProgrammeAdminError(errors)
    before = session_snapshot(meeting)
    _apply_session(meeting, data, clean)
    sync_dates(meeting.programme, timezone)
    session.flush()
    _audit(
        session,
        actor=actor,
        entity="programme_session",
        entity_id=meeting.id,
        action="update",
        before=before,
        after=session_snapshot(meeting),
    )


def delete_session(
    session: Session, meeting: ProgrammeSession, *, actor: User | None, timezone: str
) -> None:
    """Remove a session nobody was marked at. Raises ``ProgrammeAdminError`` with
    ``has_attendance``, or ``below_minimum`` when fewer sessions would remain than the
    completion rule asks for."""
    if session.scalar(select(exists().where(Attendance.session_id == meeting.id))):
        raise ProgrammeAdminError({"session": "has_attendance"})
    programme = meeting.programme
    remaining = len(programme.sessions) - 1
    if (
        programme.completion_min_sessions
        and remaining
        and programme.completion_min_sessions > remaining
    ):
        raise ProgrammeAdminError({"session": "below_minimum"})
    before = {"programme_id": programme.id, **session_snapshot(meeting)}
    meeting_id = meeting.id
    programme.sessions.remove(meeting)
    session.flush()
    sync_dates(programme, timezone)
    session.flush()
    _audit(
        session,
        actor=actor,
        entity="programme_session",
        entity_id=meeting_id,
        action="delete",
        before=before,
        after={},
    )


# --- eligibility questions -------------------------------------------------------------------


@dataclass(frozen=True)
class QuestionInput:
    prompt: str
    kind: str
    required: bool = True
    prompt_es: str = ""
    help: str = ""
    help_es: str = ""
    #: One option a line: ``key | English label | Spanish label`` (the Spanish is optional).
    options: str = ""
    #: Keys of the answers that qualify (yes/no for yesno), empty: any answer qualifies.
    eligible_values: Sequence[str] = field(default_factory=list)
    min_value: float | None = None
    max_value: float | None = None
    max_length: int | None = None
    ineligible_message: str = ""
    ineligible_message_es: str = ""


def question_snapshot(question: EligibilityQuestion) -> dict[str, Any]:
    return {
        "code": question.code,
        "kind": question.kind,
        "prompt": question.prompt,
        "help": question.help,
        "required": question.required,
        "options": question.options or [],
        "eligible_values": question.eligible_values or [],
        "min_value": question.min_value,
        "max_value": question.max_value,
        "max_length": question.max_length,
        "ineligible_message": question.ineligible_message,
        "translations": question.translations or {},
    }


def parse_options(text: str) -> tuple[list[dict[str, Any]], str | None]:
    """Options from lines ``key | English label | Spanish label``; an error code or None."""
    options: list[dict[str, Any]] = []
    seen: set[str] = set()
    for line in (text or "").splitlines():
        if not line.strip():
            continue
        parts = [" ".join(part.split()) for part in line.split("|")]
        if len(parts) < 2 or len(parts) > 3 or not parts[0] or not parts[1]:
            return [], "invalid"
        key = parts[0].lower()
        if not OPTION_KEY_RE.match(key) or len(key) > OPTION_KEY_MAX:
            return [], "invalid"
        if any(len(part) > OPTION_LABEL_MAX for part in parts[1:]):
            return [], "too_long"
        if key in seen:
            return [], "duplicate_option"
        seen.add(key)
        option: dict[str, Any] = {"key": key, "label": parts[1]}
        if len(parts) == 3 and parts[2]:
            option["translations"] = {"es": {"label": parts[2]}}
        options.append(option)
    if len(options) > OPTIONS_MAX:
        return [], "too_many"
    return options, None


def options_text(options: Sequence[dict[str, Any]]) -> str:
    """The options as the coordinator types them (the inverse of ``parse_options``)."""
    lines = []
    for option in options or []:
        spanish = option.get("translations", {}).get("es", {}).get("label", "")
        lines.append(" | ".join(p for p in (option["key"], option.get("label", ""), spanish) if p))
    return "\n".join(lines)


def _check_question(data: QuestionInput) -> tuple[dict[str, str], dict[str, Any]]:
    errors: dict[str, str] = {}
    clean: dict[str, Any] = {
        "prompt": _text(data.prompt, "prompt", PROMPT_MAX, errors, required=True),
        "prompt_es": _text(data.prompt_es, "prompt_es", PROMPT_MAX, errors),
        "help": _text(data.help, "help", HELP_MAX, errors, one_line=False),
        "help_es": _text(data.help_es, "help_es", HELP_MAX, errors, one_line=False),
        "ineligible_message": _text(
            data.ineligible_message, "ineligible_message", HELP_MAX, errors, one_line=False
        ),
        "ineligible_message_es": _text(
            data.ineligible_message_es, "ineligible_message_es", HELP_MAX, errors, one_line=False
        ),
    }
    if data.kind not in QUESTION_KINDS:
        errors["kind"] = "unknown"
    options, problem = parse_options(data.options)
    if problem:
        errors["options"] = problem
    elif options and data.kind not in ("single", "multi"):
        errors["options"] = "options_for_choice_only"
    elif data.kind in ("single", "multi") and len(options) < 2:
        errors["options"] = "needs_options"
    eligible = list(dict.fromkeys(v.strip().lower() for v in data.eligible_values if v.strip()))
    if eligible and data.kind not in CHOICE_KINDS:
        errors["eligible_values"] = "number_only" if data.kind == "number" else "invalid"
    elif eligible and "options" not in errors:
        allowed = {"yes", "no"} if data.kind == "yesno" else {o["key"] for o in options}
        if set(eligible) - allowed:
            errors["eligible_values"] = "unknown_option"
    if (data.min_value is not None or data.max_value is not None) and data.kind != "number":
        errors["min_value"] = "number_only"
    elif (
        data.min_value is not None
        and data.max_value is not None
        and data.min_value > data.max_value
    ):
        errors["max_value"] = "min_above_max"
    if data.max_length is not None:
        if data.kind != "text":
            errors["max_length"] = "invalid"
        else:
            _bounded(data.max_length, "max_length", 1, TEXT_MAX, errors)
    clean.update(options=options, eligible_values=eligible)
    return errors, clean


def _apply_question(
    question: EligibilityQuestion, data: QuestionInput, clean: dict[str, Any]
) -> None:
    question.kind = data.kind
    question.prompt = clean["prompt"]
    question.help = clean["help"]
    question.required = bool(data.required)
    question.options = clean["options"]
    question.eligible_values = clean["eligible_values"]
    question.min_value = data.min_value
    question.max_value = data.max_value
    question.max_length = data.max_length
    question.ineligible_message = clean["ineligible_message"]
    question.translations = _with_es(
        question.translations,
        {
            "prompt": clean["prompt_es"],
            "help": clean["help_es"],
            "ineligible_message": clean["ineligible_message_es"],
        },
    )


def question_code(prompt: str, taken: set[str]) -> str:
    """A code from the prompt's words (``lives_in_the_city``), unique among ``taken``."""
    plain = unicodedata.normalize("NFKD", prompt).encode("ascii", "ignore").decode().lower()
    base = "_".join(re.findall(r"[a-z0-9]+", plain))[: CODE_MAX - 4].strip("_") or "question"
    code, number = base, 2
    while code in taken:
        code, number = f"{base}_{number}", number + 1
    return code


def add_question(
    session: Session, programme: Programme, data: QuestionInput, *, actor: User | None
) -> EligibilityQuestion:
    errors, clean = _check_question(data)
    if len(programme.questions) >= QUESTIONS_MAX:
        errors["prompt"] = "too_many"
    if errors:
        raise ProgrammeAdminError(errors)
    taken = {q.code for q in programme.questions}
    position = max((q.position for q in programme.questions), default=-1) + 1
    question = EligibilityQuestion(
        code=question_code(clean["prompt"], taken), position=position, translations={}
    )
    _apply_question(question, data, clean)
    programme.questions.append(question)
    session.flush()
    _audit(
        session,
        actor=actor,
        entity="programme_question",
        entity_id=question.id,
        action="create",
        before={},
        after={"programme_id": programme.id, **question_snapshot(question)},
    )
    return question


def update_question(
    session: Session, question: EligibilityQuestion, data: QuestionInput, *, actor: User | None
) -> None:
    """Save a question; its code stays (answers on record keep pointing at it)."""
    errors, clean = _check_question(data)
    if errors:
        raise ProgrammeAdminError(errors)
    before = question_snapshot(question)
    _apply_question(question, data, clean)
    session.flush()
    _audit(
        session,
        actor=actor,
        entity="programme_question",
        entity_id=question.id,
        action="update",
        before=before,
        after=question_snapshot(question),
    )


def delete_question(session: Session, question: EligibilityQuestion, *, actor: User | None) -> None:
    programme = question.programme
    before = {"programme_id": programme.id, **question_snapshot(question)}
    question_id = question.id
    programme.questions.remove(question)
    session.flush()
    _audit(
        session,
        actor=actor,
        entity="programme_question",
        entity_id=question_id,
        action="delete",
        before=before,
        after={},
    )


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
