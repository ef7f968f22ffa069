"""Editing service levels: business calendars and their closures, SLA policies, and each
department's calendar, breach actions and assignment mode (no Flask here).

Every change writes an ``AuditEntry`` (entities ``business_calendar``, ``sla_policy``,
``department_sla``) with the values before and after. Edit forms carry ``fingerprint(snapshot)``
of what they were drawn from: a different fingerprint on save raises ``Conflict``; rows are read
``FOR UPDATE`` when saving (SQLite write sessions begin ``IMMEDIATE``), so two saves cannot both
pass the check. Changing a policy never touches running clocks: they keep their target.

Errors are ``SlaAdminError.errors``: ``{field: code}``; ``details`` holds the readable reason of
an hours field (from ``portal.sla.calendar.parse_hours``).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date
from functools import lru_cache
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from portal.areas.models import Area
from portal.auth.models import User
from portal.casework.models import ASSIGNMENT_MODES
from portal.catalogue.models import Department, ServiceCategory
from portal.core import clock
from portal.core.audit import AuditEntry
from portal.requests.models import OPEN_STATUSES, PRIORITIES
from portal.sla.calendar import (
    HoursError,
    format_hours,
    parse_hours,
    stored_hours,
    valid_timezone,
)
from portal.sla.models import (
    BREACH_ACTIONS,
    UNITS,
    WEEKDAYS,
    BusinessCalendar,
    CalendarClosure,
    SlaPolicy,
)

CODE_MAX = 40
NAME_MAX = 120
TIMEZONE_MAX = 64
SUBDIVISION_MAX = 10
CODE_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
#: A target above this many hours or days is a typo (10,000 working hours is five years).
AMOUNT_MAX = 10_000
POSITION_MAX = 1_000_000
#: The pages read at most this many rows (a city has a handful of calendars and dozens of
#: policies; closures are listed from today on).
MAX_ROWS = 500
TARGETS = ("first_response", "resolution", "update")

Row = TypeVar("Row")


class SlaAdminError(ValueError):
    """What is wrong, as ``{field: code}``. Codes: required, too_long, invalid, taken, unknown,
    inactive, overlap (hours), no_hours, not_positive, too_large, no_target, duplicate_day."""

    def __init__(self, errors: dict[str, str], details: dict[str, str] | None = None) -> None:
        super().__init__(", ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors
        self.details = details or {}


class Conflict(Exception):
    """The row changed (or went) since the form was drawn."""


def fingerprint(snapshot: Mapping[str, Any]) -> str:
    """A short digest of a snapshot: an edit form carries it to notice concurrent changes."""
    raw = json.dumps(snapshot, sort_keys=True, default=str).encode()
    return hashlib.sha256(raw).hexdigest()[:16]


def _check(expected: str | None, snapshot: Mapping[str, Any]) -> None:
    if expected is not None and expected != fingerprint(snapshot):
        raise Conflict()


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


def locked(session: Session, model: type[Row], row_id: int) -> Row | None:
    """The row, read ``FOR UPDATE`` (and refreshed) before a change is checked and written."""
    return session.get(model, row_id, with_for_update=True, populate_existing=True)


def _name(raw: str, errors: dict[str, str], key: str = "name") -> str:
    name = " ".join((raw or "").split())
    if not name:
        errors[key] = "required"
    elif len(name) > NAME_MAX:
        errors[key] = "too_long"
    return name


# --- calendars -------------------------------------------------------------------------------


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
    name = _name(data.name, errors)
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
    _audit(
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
    _check(expected, before)
    values = _clean_calendar(session, data, calendar)
    for key, value in values.items():
        setattr(calendar, key, value)
    after = calendar_snapshot(calendar)
    if after == before:
        return calendar
    calendar.updated_at = clock.now()  # also tells load_calendar's cache to read it again
    _write(session, "code")
    _audit(
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
    clean_name = _name(name, errors)
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
    _audit(
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
    _audit(
        session,
        actor=actor,
        entity="business_calendar",
        entity_id=calendar.id,
        action="closure_removed",
        before=before,
        after={},
    )


# --- policies --------------------------------------------------------------------------------


@dataclass(frozen=True)
class PolicyInput:
    name: str
    category_id: int | None = None
    priority: str | None = None
    department_id: int | None = None
    area_id: int | None = None
    #: Target -> (amount, unit); an amount of ``None`` means no such clock.
    targets: Mapping[str, tuple[int | None, str]] = field(default_factory=dict)
    pause_statuses: Sequence[str] = ()
    active: bool = True
    position: int | None = None


def list_policies(session: Session) -> list[SlaPolicy]:
    return list(
        session.scalars(
            select(SlaPolicy).order_by(SlaPolicy.position, SlaPolicy.id).limit(MAX_ROWS)
        )
    )


def policy_snapshot(policy: SlaPolicy) -> dict[str, Any]:
    values: dict[str, Any] = {
        "name": policy.name,
        "category_id": policy.category_id,
        "priority": policy.priority,
        "department_id": policy.department_id,
        "area_id": policy.area_id,
        "pause_statuses": list(policy.pause_statuses or []),
        "active": bool(policy.active),
        "position": policy.position,
    }
    for target in TARGETS:
        values[f"{target}_amount"] = getattr(policy, f"{target}_amount")
        values[f"{target}_unit"] = getattr(policy, f"{target}_unit")
    return values


def _clean_targets(data: PolicyInput, errors: dict[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for target in TARGETS:
        amount, unit = data.targets.get(target, (None, "working_hours"))
        if unit not in UNITS:
            errors[f"{target}_unit"] = "unknown"
        if amount is not None and amount <= 0:
            errors[f"{target}_amount"] = "not_positive"
        elif amount is not None and amount > AMOUNT_MAX:
            errors[f"{target}_amount"] = "too_large"
        values[f"{target}_amount"] = amount
        values[f"{target}_unit"] = unit if unit in UNITS else "working_hours"
    if all(values[f"{t}_amount"] is None for t in TARGETS) and not any(
        key.endswith("_amount") for key in errors
    ):
        errors["first_response_amount"] = "no_target"
    return values


def _clean_policy(
    session: Session, data: PolicyInput, policy_id: int | None = None
) -> dict[str, Any]:
    errors: dict[str, str] = {}
    values: dict[str, Any] = {"name": _name(data.name, errors)}
    if "name" not in errors and session.scalar(
        select(SlaPolicy.id).where(
            func.lower(SlaPolicy.name) == values["name"].lower(), SlaPolicy.id != (policy_id or 0)
        )
    ):
        # A policy is known by its name in the city's configuration (service-levels.toml).
        errors["name"] = "taken"
    if data.category_id is not None and session.get(ServiceCategory, data.category_id) is None:
        errors["category"] = "unknown"
    if data.priority and data.priority not in PRIORITIES:
        errors["priority"] = "unknown"
    if data.department_id is not None and session.get(Department, data.department_id) is None:
        errors["department"] = "unknown"
    if data.area_id is not None and session.get(Area, data.area_id) is None:
        errors["area"] = "unknown"
    values.update(_clean_targets(data, errors))
    unknown = [s for s in data.pause_statuses if s not in OPEN_STATUSES]
    if unknown:
        errors["pause_statuses"] = "unknown"
    if data.position is not None and not 0 <= data.position <= POSITION_MAX:
        errors["position"] = "invalid"
    if errors:
        raise SlaAdminError(errors)
    values.update(
        category_id=data.category_id,
        priority=data.priority or None,
        department_id=data.department_id,
        area_id=data.area_id,
        pause_statuses=[s for s in OPEN_STATUSES if s in data.pause_statuses],
        active=bool(data.active),
    )
    return values


def create_policy(session: Session, data: PolicyInput, *, actor: User | None) -> SlaPolicy:
    """A new policy (at the end of the list unless a position is given), or
    ``SlaAdminError``."""
    values = _clean_policy(session, data)
    position = data.position
    if position is None:
        last = session.scalar(
            select(SlaPolicy.position).order_by(SlaPolicy.position.desc()).limit(1)
        )
        position = min((last or 0) + 10, POSITION_MAX)
    now = clock.now()
    policy = SlaPolicy(position=position, created_at=now, updated_at=now, **values)
    session.add(policy)
    session.flush()
    _audit(
        session,
        actor=actor,
        entity="sla_policy",
        entity_id=policy.id,
        action="created",
        before={},
        after=policy_snapshot(policy),
    )
    return policy


def update_policy(
    session: Session,
    policy: SlaPolicy,
    data: PolicyInput,
    *,
    actor: User | None,
    expected: str | None = None,
) -> SlaPolicy:
    """Change a policy, or raise ``Conflict`` / ``SlaAdminError``. Running clocks keep the
    target they started with."""
    before = policy_snapshot(policy)
    _check(expected, before)
    values = _clean_policy(session, data, policy.id)
    if data.position is not None:
        values["position"] = data.position
    for key, value in values.items():
        setattr(policy, key, value)
    after = policy_snapshot(policy)
    if after == before:
        return policy
    policy.updated_at = clock.now()
    session.flush()
    _audit(
        session,
        actor=actor,
        entity="sla_policy",
        entity_id=policy.id,
        action="updated",
        before=before,
        after=after,
    )
    return policy


def delete_policy(session: Session, policy: SlaPolicy, *, actor: User | None) -> None:
    """Delete a policy; its clocks keep running with their targets (their ``policy_id`` is
    set to null by the database)."""
    before = policy_snapshot(policy)
    policy_id = policy.id
    session.delete(policy)
    session.flush()
    _audit(
        session,
        actor=actor,
        entity="sla_policy",
        entity_id=policy_id,
        action="deleted",
        before=before,
        after={},
    )


# --- departments -----------------------------------------------------------------------------


def list_departments(session: Session) -> list[Department]:
    return list(
        session.scalars(select(Department).order_by(Department.name, Department.id).limit(MAX_ROWS))
    )


def department_snapshot(department: Department) -> dict[str, Any]:
    return {
        "calendar_id": department.calendar_id,
        "breach_actions": list(department.breach_actions or []),
        "assignment_mode": department.assignment_mode or "queue",
    }


def update_department(
    session: Session,
    department: Department,
    *,
    calendar_id: int | None,
    breach_actions: Sequence[str],
    assignment_mode: str,
    actor: User | None,
    expected: str | None = None,
) -> Department:
    """Set the department's calendar (``None``: the city default), breach actions and how its
    new tasks are assigned (``ASSIGNMENT_MODES``, see ``portal.casework.assignment``), or
    raise ``Conflict`` / ``SlaAdminError``."""
    before = department_snapshot(department)
    _check(expected, before)
    errors: dict[str, str] = {}
    if calendar_id is not None and session.get(BusinessCalendar, calendar_id) is None:
        errors["calendar"] = "unknown"
    if any(action not in BREACH_ACTIONS for action in breach_actions):
        errors["breach_actions"] = "unknown"
    if assignment_mode not in ASSIGNMENT_MODES:
        errors["assignment_mode"] = "unknown"
    if errors:
        raise SlaAdminError(errors)
    department.calendar_id = calendar_id
    department.breach_actions = [a for a in BREACH_ACTIONS if a in breach_actions]
    department.assignment_mode = assignment_mode
    after = department_snapshot(department)
    if after == before:
        return department
    session.flush()
    _audit(
        session,
        actor=actor,
        entity="department_sla",
        entity_id=department.id,
        action="updated",
        before=before,
        after=after,
    )
    return department
