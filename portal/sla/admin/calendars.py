"""Business calendars and their closures (no Flask here): listing, creating and changing a
calendar (code, name, zone, working hours per weekday, public holidays of a country), adding and
removing closures, and the holidays and closures ahead. Every change is audited (entity
``business_calendar``); ``portal.sla.admin.common`` has the errors, fingerprints and audit.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from portal.auth.models import User
from portal.core import clock
from portal.sla.admin.common import (
    MAX_ROWS,
    SlaAdminError,
    audit,
    check_expected,
    checked_name,
)
from portal.sla.calendar import (
    HoursError,
    format_hours,
    parse_hours,
    stored_hours,
    valid_timezone,
)
from portal.sla.models import WEEKDAYS, BusinessCalendar, CalendarClosure

CODE_MAX = 40
TIMEZONE_MAX = 64
SUBDIVISION_MAX = 10
CODE_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


@lru_cache(maxsize=1)
def holiday_countries() -> dict[str, tuple[str, ...]]:
    """ISO 3166 alpha-2 code -> subdivision codes, for the countries ``holidays`` knows."""
    import holidays

    return {
        code: tuple(subdivisions)
        for code, subdivisions in holidays.list_supported_countries().items()
        if len(code) == 2
    }


@dataclass(frozen=True)
class CalendarInput:
    code: str
    name: str
    timezone: str
    always_open: bool = False
    #: Weekday (``WEEKDAYS``) -> periods as typed, like ``"08:00-12:00, 13:00-17:00"``.
    hours: Mapping[str, str] = field(default_factory=dict)
    holiday_country: str = ""
    holiday_subdivision: str = ""


def list_calendars(session: Session) -> list[BusinessCalendar]:
    return list(
        session.scalars(
            select(BusinessCalendar)
            .order_by(BusinessCalendar.name, BusinessCalendar.id)
            .limit(MAX_ROWS)
        )
    )


def hours_text(hours: Mapping[str, Any] | None) -> dict[str, str]:
    """Stored hours as the text admins type, per weekday (``""`` when closed)."""
    return {day: format_hours((hours or {}).get(day) or []) for day in WEEKDAYS}


def calendar_snapshot(calendar: BusinessCalendar) -> dict[str, Any]:
    return {
        "code": calendar.code,
        "name": calendar.name,
        "timezone": calendar.timezone,
        "always_open": bool(calendar.always_open),
        "hours": {day: list(map(list, (calendar.hours or {}).get(day) or [])) for day in WEEKDAYS},
        "holiday_country": calendar.holiday_country or "",
        "holiday_subdivision": calendar.holiday_subdivision or "",
    }


def _clean_hours(
    data: CalendarInput, errors: dict[str, str], details: dict[str, str]
) -> dict[str, list[list[str]]]:
    hours: dict[str, list[list[str]]] = {}
    for day in WEEKDAYS:
        try:
            periods = parse_hours(data.hours.get(day, "") or "")
        except HoursError as error:
            errors[f"hours_{day}"] = f"hours_{error.code}"
            details[f"hours_{day}"] = error.part
            continue
        hours[day] = stored_hours(periods)
    if not data.always_open and not errors and not any(hours.values()):
        errors["hours"] = "no_hours"
    return hours


def _clean_holidays(data: CalendarInput, errors: dict[str, str]) -> tuple[str, str]:
    country = (data.holiday_country or "").strip().upper()
    subdivision = (data.holiday_subdivision or "").strip()
    if not country:
        if subdivision:
            errors["holiday_country"] = "required"
        return "", ""
    known = holiday_countries()
    if country not in known:
        errors["holiday_country"] = "unknown"
        return country, subdivision
    if subdivision:
        match = {s.upper(): s for s in known[country]}.get(subdivision.upper())
        if match is None or len(match) > SUBDIVISION_MAX:
            errors["holiday_subdivision"] = "unknown"
        else:
            subdivision = match
    return country, subdivision


def _clean_calendar(
    session: Session, data: CalendarInput, calendar: BusinessCalendar | None
) -> dict[str, Any]:
    errors: dict[str, str] = {}
    details: dict[str, str] = {}
    code = (data.code or "").strip().lower()
    if not code:
        errors["code"] = "required"
    elif len(code) > CODE_MAX:
        errors["code"] = "too_long"
    elif not CODE_RE.match(code):
        errors["code"] = "invalid"
    else:
        other = session.scalar(select(BusinessCalendar.id).where(BusinessCalendar.code == code))
        if other is not None and (calendar is None or other != calendar.id):
            errors["code"] = "taken"
    name = checked_name(data.name, errors)
    timezone = (data.timezone or "").strip()
    if not timezone:
        errors["timezone"] = "required"
    elif len(timezone) > TIMEZONE_MAX or not valid_timezone(timezone):
        errors["timezone"] = "unknown"
    hours = _clean_hours(data, errors, details)
    country, subdivision = _clean_holidays(data, errors)
    if errors:
        raise SlaAdminError(errors, details)
    return {
        "code": code,
        "name": name,
        "timezone": timezone,
        "always_open": bool(data.always_open),
        "hours": hours,
        "holiday_country": country,
        "holiday_subdivision": subdivision,
    }


def _write(session: Session, field_name: str, code: str = "taken") -> None:
    """Flush inside a savepoint, turning a unique-constraint race into a form error."""
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError as error:
        raise SlaAdminError({field_name: code}) from error


def create_calendar(
    session: Session, data: CalendarInput, *, actor: User | None
) -> BusinessCalendar:
    """A new calendar, or ``SlaAdminError``."""
    values = _clean_calendar(session, data, None)
    now = clock.now()
    calendar = BusinessCalendar(created_at=now, updated_at=now, **values)
    session.add(calendar)
    _write(session, "code")
    audit(
        session,
        actor=actor,
        entity="business_calendar",
        entity_id=calendar.id,
        action="created",
        before={},
        after=calendar_snapshot(calendar),
    )
    return calendar


def update_calendar(
    session: Session,
    calendar: BusinessCalendar,
    data: CalendarInput,
    *,
    actor: User | None,
    expected: str | None = None,
) -> BusinessCalendar:
    """Change a calendar, or raise ``Conflict`` / ``SlaAdminError`` (``expected`` is the
    fingerprint the form was drawn with)."""
    before = calendar_snapshot(calendar)
    check_expected(expected, before)
    values = _clean_calendar(session, data, calendar)
    for key, value in values.items():
        setattr(calendar, key, value)
    after = calendar_snapshot(calendar)
    if after == before:
        return calendar
    calendar.updated_at = clock.now()  # also tells load_calendar's cache to read it again
    _write(session, "code")
    audit(
        session,
        actor=actor,
        entity="business_calendar",
        entity_id=calendar.id,
        action="updated",
        before=before,
        after=after,
    )
    return calendar


def calendar_today(calendar: BusinessCalendar) -> date:
    """Today where the calendar is."""
    zone = ZoneInfo(calendar.timezone) if valid_timezone(calendar.timezone) else UTC
    return clock.now().astimezone(zone).date()


def upcoming_holidays(
    calendar: BusinessCalendar, *, today: date, count: int = 12
) -> list[tuple[date, str]]:
    """The next ``count`` public holidays from ``today`` on (none without a country)."""
    if not calendar.holiday_country:
        return []
    import holidays

    try:
        found = holidays.country_holidays(
            calendar.holiday_country,
            subdiv=calendar.holiday_subdivision or None,
            years=[today.year, today.year + 1],
        )
    except (NotImplementedError, KeyError, ValueError):
        return []
    return sorted((day, name) for day, name in found.items() if day >= today)[:count]


def upcoming_closures(
    session: Session, calendar: BusinessCalendar, *, today: date
) -> list[CalendarClosure]:
    """The calendar's closures from ``today`` on (uses the (calendar_id, day) unique index)."""
    return list(
        session.scalars(
            select(CalendarClosure)
            .where(CalendarClosure.calendar_id == calendar.id, CalendarClosure.day >= today)
            .order_by(CalendarClosure.day)
            .limit(MAX_ROWS)
        )
    )


def add_closure(
    session: Session, calendar: BusinessCalendar, *, day: date | None, name: str, actor: User | None
) -> CalendarClosure:
    """Close the calendar on ``day``, or ``SlaAdminError`` (``duplicate_day`` when that day
    is already a closure)."""
    errors: dict[str, str] = {}
    clean_name = checked_name(name, errors)
    if day is None:
        errors["day"] = "required"
    elif session.scalar(
        select(CalendarClosure.id).where(
            CalendarClosure.calendar_id == calendar.id, CalendarClosure.day == day
        )
    ):
        errors["day"] = "duplicate_day"
    if errors:
        raise SlaAdminError(errors)
    assert day is not None
    closure = CalendarClosure(day=day, name=clean_name, created_at=clock.now())
    calendar.closures.append(closure)  # keeps the loaded collection (load_calendar) current
    calendar.updated_at = clock.now()
    _write(session, "day", "duplicate_day")
    audit(
        session,
        actor=actor,
        entity="business_calendar",
        entity_id=calendar.id,
        action="closure_added",
        before={},
        after={"day": day.isoformat(), "name": clean_name},
    )
    return closure


def remove_closure(session: Session, closure: CalendarClosure, *, actor: User | None) -> None:
    calendar = closure.calendar
    before = {"day": closure.day.isoformat(), "name": closure.name}
    calendar.closures.remove(closure)  # delete-orphan: the row goes
    calendar.updated_at = clock.now()
    session.flush()
    audit(
        session,
        actor=actor,
        entity="business_calendar",
        entity_id=calendar.id,
        action="closure_removed",
        before=before,
        after={},
    )
