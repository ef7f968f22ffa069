"""Read a city's ``service-levels.toml``: business calendars and SLA policies.

The format is in ``docs/city-configuration.md`` (an example: ``portal/demo/city/``). Reading
checks the whole file and names every problem; the references a policy makes (category,
department, area) are checked against the rest of the folder by ``portal.city.folder``, and
``portal.city.importer`` writes it.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from pathlib import Path
from typing import Any

from portal.catalogue.loader import Checker, toml_file
from portal.requests.models import OPEN_STATUSES, PRIORITIES
from portal.sla.calendar import parse_hours, stored_hours, valid_timezone
from portal.sla.models import DEFAULT_PAUSE_STATUSES, WEEKDAYS

TARGETS = ("first_response", "resolution", "update")
#: "8 working hours", "1 working hour", "5 calendar days", "1 calendar day".
TARGET_RE = re.compile(r"^\s*(\d{1,5})\s+(working hours?|calendar days?)\s*$")
AMOUNT_MAX = 10_000

_FILE_KEYS = {"calendars", "policies"}
_CALENDAR_KEYS = {
    "code",
    "name",
    "timezone",
    "always_open",
    "hours",
    "holiday_country",
    "holiday_subdivision",
    "closures",
}
_CLOSURE_KEYS = {"day", "name"}
_POLICY_KEYS = {
    "name",
    "category",
    "priority",
    "department",
    "area",
    *TARGETS,
    "pause_statuses",
    "active",
    "position",
}


class ServiceLevelError(ValueError):
    """The service levels file is not valid. ``problems`` names the entry of each problem."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        super().__init__(
            f"{source} is not a valid service levels file:\n"
            + "\n".join(f"- {p}" for p in problems)
        )


def read_service_levels(path: str | Path) -> dict[str, list[dict[str, Any]]]:
    """Parse and check the file; return values by entity. Raises ``ServiceLevelError``."""
    path = Path(path)
    data, problem = toml_file(path)
    if data is None:
        raise ServiceLevelError(str(path), [str(problem)])
    check = Checker()
    check.keys("the file", data, _FILE_KEYS)
    spec = {
        "calendars": [_calendar(check, raw) for raw in check.entries("file", data, "calendars")],
        "policies": [
            _policy(check, raw, index)
            for index, raw in enumerate(check.entries("file", data, "policies"))
        ],
    }
    check.unique("calendar", [c["code"] for c in spec["calendars"]])
    check.unique("policy", [p["name"] for p in spec["policies"]])
    if check.problems:
        raise ServiceLevelError(str(path), check.problems)
    return spec


def _calendar(check: Checker, raw: dict[str, Any]) -> dict[str, Any]:
    where = f'calendar "{raw.get("code", "?")}"'
    check.keys(where, raw, _CALENDAR_KEYS)
    timezone = check.text(where, raw, "timezone", required=True, max_len=64)
    if timezone and not valid_timezone(timezone):
        check.add(where, f'timezone "{timezone}" is not an IANA time zone')
    always_open = check.flag(where, raw, "always_open", False)
    hours, broken = _hours(check, where, raw.get("hours", {}))
    if always_open and hours:
        check.add(where, "an always-open calendar has no hours")
    elif not always_open and not hours and not broken:
        check.add(where, "needs working hours on at least one day (or always_open = true)")
    country = check.text(where, raw, "holiday_country", max_len=2).upper()
    subdivision = check.text(where, raw, "holiday_subdivision", max_len=10).upper()
    if country or subdivision:
        _check_holidays(check, where, country, subdivision)
    return {
        "code": check.code(where, raw.get("code")),
        "name": check.text(where, raw, "name", required=True, max_len=120),
        "timezone": timezone,
        "always_open": always_open,
        "hours": {} if always_open else hours,
        "holiday_country": country,
        "holiday_subdivision": subdivision,
        "closures": _closures(check, where, raw),
    }


def _hours(check: Checker, where: str, raw: Any) -> tuple[dict[str, list[list[str]]], bool]:
    """The stored hours per weekday, and whether any day was wrong."""
    if not isinstance(raw, dict):
        check.add(where, '"hours" must be a table of weekdays (hours.mon = "08:00-17:00")')
        return {}, True
    broken = False
    for day in sorted(set(raw) - set(WEEKDAYS)):
        check.add(where, f"hours.{day} is not a weekday (expected {', '.join(WEEKDAYS)})")
        broken = True
    hours: dict[str, list[list[str]]] = {}
    for day in WEEKDAYS:
        text = raw.get(day, "")
        try:
            if not isinstance(text, str):
                raise ValueError('must be text like "08:00-12:00, 13:00-17:00"')
            periods = parse_hours(text)
        except ValueError as exc:
            check.add(where, f"hours.{day}: {exc}")
            broken = True
            continue
        if periods:
            hours[day] = stored_hours(periods)
    return hours, broken


def _closures(check: Checker, where: str, raw: dict[str, Any]) -> list[dict[str, Any]]:
    closures = []
    for closure in check.entries(where, raw, "closures"):
        closure_where = f"{where}, closure {closure.get('day', '?')}"
        check.keys(closure_where, closure, _CLOSURE_KEYS)
        if not isinstance(closure.get("day"), date) or isinstance(closure.get("day"), datetime):
            check.add(closure_where, '"day" must be a date like 2026-11-27 (no quotes)')
            continue
        closures.append(
            {
                "day": closure["day"],
                "name": check.text(closure_where, closure, "name", required=True, max_len=120),
            }
        )
    check.unique(f"{where}, closure", [c["day"].isoformat() for c in closures])
    # In date order, as they are stored (so a file listing them otherwise still imports once).
    return sorted(closures, key=lambda c: c["day"])


def _check_holidays(check: Checker, where: str, country: str, subdivision: str) -> None:
    import holidays

    supported = holidays.list_supported_countries()
    if not country:
        check.add(where, "holiday_subdivision needs a holiday_country")
    elif country not in supported:
        check.add(where, f'holiday_country "{country}" is not known to the holidays package')
    elif subdivision and subdivision not in {s.upper() for s in supported[country]}:
        check.add(where, f'holiday_subdivision "{subdivision}" is not a subdivision of {country}')


def _policy(check: Checker, raw: dict[str, Any], index: int) -> dict[str, Any]:
    name = raw.get("name", "?")
    where = f'policy "{name}"'
    check.keys(where, raw, _POLICY_KEYS)
    values: dict[str, Any] = {
        "name": check.text(where, raw, "name", required=True, max_len=120),
        "active": check.flag(where, raw, "active", True),
        "position": check.whole(where, raw, "position", (index + 1) * 10),
    }
    for key in ("category", "department", "area"):
        value = raw.get(key)
        values[key] = check.code(where, value, what=key) if value is not None else None
    priority = raw.get("priority")
    if priority is not None and priority not in PRIORITIES:
        check.add(
            where, f"priority {priority!r} is unknown (expected one of {', '.join(PRIORITIES)})"
        )
    values["priority"] = priority
    for target in TARGETS:
        amount, unit = None, "working_hours"
        text = raw.get(target)
        if text is not None:
            match = TARGET_RE.match(text) if isinstance(text, str) else None
            if match is None or not 0 < int(match.group(1)) <= AMOUNT_MAX:
                check.add(
                    where,
                    f'{target} {text!r} must be like "8 working hours" or '
                    f'"5 calendar days" (1 to {AMOUNT_MAX})',
                )
            else:
                amount = int(match.group(1))
                unit = "working_hours" if match.group(2).startswith("working") else "calendar_days"
        values[f"{target}_amount"], values[f"{target}_unit"] = amount, unit
    if all(raw.get(target) is None for target in TARGETS):
        check.add(where, f"needs at least one target ({', '.join(TARGETS)})")
    pauses = raw.get("pause_statuses", list(DEFAULT_PAUSE_STATUSES))
    if not isinstance(pauses, list) or any(s not in OPEN_STATUSES for s in pauses):
        check.add(where, f"pause_statuses must list open statuses ({', '.join(OPEN_STATUSES)})")
        pauses = list(DEFAULT_PAUSE_STATUSES)
    values["pause_statuses"] = [s for s in OPEN_STATUSES if s in pauses]
    return values
