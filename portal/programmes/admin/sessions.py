"""A programme's sessions in the back office: adding, editing and deleting them (never one
somebody was marked at). Times arrive as the city's local date and time and are stored in UTC;
the programme's ``starts_on`` and ``ends_on`` follow the sessions (local dates of the first and
the last session). Every change is checked first and refused whole with ``ProgrammeAdminError``
and writes an ``AuditEntry``. No Flask here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from portal.auth.models import User
from portal.programmes.admin.common import (
    PLACE_MAX,
    SESSIONS_MAX,
    TITLE_MAX,
    URL_MAX,
    ProgrammeAdminError,
    _audit,
    _iso,
    _text,
    _with_es,
    to_utc,
)
from portal.programmes.models import (
    Attendance,
    Programme,
    ProgrammeSession,
)


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
