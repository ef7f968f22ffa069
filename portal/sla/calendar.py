"""Business-time arithmetic: when a department works, and how much of its time has passed.

Pure functions over a ``WorkingCalendar``: working periods per weekday in an IANA zone, minus
public holidays and the city's own closures. Every instant in and out is an aware datetime;
periods are laid out day by day in local time and compared as instants, so days when the clocks
change have the length they really have (a period of 00:00–08:00 on the spring-forward day lasts
seven hours).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.orm import Session

#: Minutes since local midnight, start and end (an end of 1440 is "24:00").
Period = tuple[int, int]
DAY_MINUTES = 24 * 60
#: How far ahead a calendar is searched for working time before giving up (a calendar of
#: nothing but closures would otherwise loop for ever).
HORIZON_DAYS = 3 * 366
#: Monday-Friday 08:00-17:00, used by departments without a calendar of their own.
DEFAULT_HOURS: dict[int, tuple[Period, ...]] = {day: ((8 * 60, 17 * 60),) for day in range(5)}

_HOURS_RE = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*[-–]\s*(\d{1,2}):(\d{2})\s*$")


class HoursError(ValueError):
    """A bad hours text: ``code`` is "format", "time", "backwards" or "overlap"; ``part`` is
    the period at fault (the view words the message in the reader's language)."""

    MESSAGES = {
        "format": "“{part}” is not a period like 08:00-12:00",
        "time": "“{part}” has a time that does not exist",
        "backwards": "“{part}” ends before it starts",
        "overlap": "periods must be in order and must not overlap",
    }

    def __init__(self, code: str, part: str = "") -> None:
        super().__init__(self.MESSAGES[code].format(part=part))
        self.code = code
        self.part = part


class NoWorkingTime(ValueError):
    """The calendar has no working time within the horizon."""


class WorkingCalendar:
    """``hours`` maps weekday (0 = Monday) to its periods in minutes; ``is_closed(day)`` says
    whether a local date is a holiday or closure. ``always_open`` counts every second."""

    def __init__(
        self,
        *,
        timezone: str,
        hours: Mapping[int, Sequence[Period]] | None = None,
        is_closed: Callable[[date], bool] | None = None,
        always_open: bool = False,
    ) -> None:
        self.zone = ZoneInfo(timezone)
        self.timezone = timezone
        self.always_open = always_open
        self.hours = {day: tuple(sorted(periods)) for day, periods in (hours or {}).items()}
        self.is_closed = is_closed or (lambda _day: False)
        if not always_open and not any(self.hours.values()):
            raise NoWorkingTime("a calendar needs at least one working period")

    # -- periods ----------------------------------------------------------------------------

    def _instant(self, day: date, minute: int) -> datetime:
        local = datetime.combine(day, time()) + timedelta(minutes=minute)
        return local.replace(tzinfo=self.zone).astimezone(UTC)

    def periods_from(self, moment: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Working periods as UTC instants, in order, starting with the one that contains
        ``moment`` or the first after it (earlier ones may be yielded: callers clamp)."""
        day = moment.astimezone(self.zone).date() - timedelta(days=1)
        for offset in range(HORIZON_DAYS):
            current = day + timedelta(days=offset)
            if self.is_closed(current):
                continue
            for start, end in self.hours.get(current.weekday(), ()):
                begins, ends = self._instant(current, start), self._instant(current, end)
                if ends > begins:
                    yield begins, ends
        raise NoWorkingTime(f"no working time within {HORIZON_DAYS} days of {moment}")

    # -- arithmetic -------------------------------------------------------------------------

    def is_working(self, moment: datetime) -> bool:
        return self.next_working_moment(moment) == moment

    def next_working_moment(self, moment: datetime) -> datetime:
        """``moment`` itself during working time, else the start of the next period."""
        return self.add(moment, 0)

    def add(self, start: datetime, seconds: float) -> datetime:
        """The instant when ``seconds`` of working time after ``start`` have passed.

        Adding zero gives the next working moment; time ending exactly at a period's end
        gives that end (Friday 16:00 plus 8 h on a 9-17 calendar is Monday 16:00)."""
        if seconds < 0:
            raise ValueError("cannot add negative working time")
        start = start.astimezone(UTC)  # aware arithmetic in one zone would be wall-clock
        if self.always_open:
            return start + timedelta(seconds=seconds)
        remaining = seconds
        for begins, ends in self.periods_from(start):
            if ends <= start:
                continue
            begins = max(begins, start)
            available = (ends - begins).total_seconds()
            if remaining <= available:
                return begins + timedelta(seconds=remaining)
            remaining -= available
        raise AssertionError("unreachable: periods_from raises at its horizon")

    def working_seconds(self, start: datetime, end: datetime) -> float:
        """Working time between two instants (0 when ``end`` is not after ``start``)."""
        start, end = start.astimezone(UTC), end.astimezone(UTC)
        if end <= start:
            return 0.0
        if self.always_open:
            return (end - start).total_seconds()
        total = 0.0
        for begins, ends in self.periods_from(start):
            if begins >= end:
                break
            overlap = (min(ends, end) - max(begins, start)).total_seconds()
            if overlap > 0:
                total += overlap
        return total


# -- the hours format admins type --------------------------------------------------------------


def parse_hours(text: str) -> list[Period]:
    """``"08:00-12:00, 13:00-17:00"`` -> ``[(480, 720), (780, 1020)]``; empty means closed.

    Raises ``HoursError`` (a ``ValueError``): bad format, impossible time, a period that ends
    before it starts, or periods out of order or overlapping."""
    periods: list[Period] = []
    for part in [p for p in (text or "").split(",") if p.strip()]:
        match = _HOURS_RE.match(part)
        if not match:
            raise HoursError("format", part.strip())
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        if h1 > 23 or m1 > 59 or h2 > 24 or m2 > 59 or (h2 == 24 and m2):
            raise HoursError("time", part.strip())
        start, end = h1 * 60 + m1, h2 * 60 + m2
        if end <= start:
            raise HoursError("backwards", part.strip())
        if periods and start < periods[-1][1]:
            raise HoursError("overlap")
        periods.append((start, end))
    return periods


def _hhmm(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def format_hours(periods: Sequence[Sequence[int]] | Sequence[Sequence[str]]) -> str:
    """The inverse of ``parse_hours`` (also accepts the stored ``[["08:00", "12:00"]]``)."""
    parts = []
    for start, end in periods:
        if isinstance(start, str):
            parts.append(f"{start}-{end}")
        else:
            parts.append(f"{_hhmm(int(start))}-{_hhmm(int(end))}")
    return ", ".join(parts)


def stored_hours(periods: Sequence[Period]) -> list[list[str]]:
    """Periods in the stored JSON form ``[["08:00", "12:00"], ...]``."""
    return [[_hhmm(start), _hhmm(end)] for start, end in periods]


def _minutes(value: str) -> int:
    hours, minutes = value.split(":")
    return int(hours) * 60 + int(minutes)


def hours_from_json(data: Mapping[str, Sequence[Sequence[str]]]) -> dict[int, tuple[Period, ...]]:
    """``{"mon": [["08:00", "12:00"]], ...}`` -> ``{0: ((480, 720),), ...}``."""
    from portal.sla.models import WEEKDAYS

    return {
        index: tuple((_minutes(a), _minutes(b)) for a, b in data.get(name) or ())
        for index, name in enumerate(WEEKDAYS)
    }


# -- loading from the database -----------------------------------------------------------------


@lru_cache(maxsize=64)
def _public_holidays(country: str, subdivision: str) -> Callable[[date], bool]:
    import holidays

    calendar = holidays.country_holidays(country, subdiv=subdivision or None)
    return lambda day: day in calendar


def always_open(timezone: str) -> WorkingCalendar:
    return WorkingCalendar(timezone=timezone, always_open=True)


def default_calendar(timezone: str) -> WorkingCalendar:
    return WorkingCalendar(timezone=timezone, hours=DEFAULT_HOURS)


_loaded: dict[tuple[int, datetime, frozenset[date]], WorkingCalendar] = {}


def load_calendar(
    session: Session, calendar_id: int | None, *, default_timezone: str
) -> WorkingCalendar:
    """The working calendar of a ``BusinessCalendar`` row (cached until the row or its
    closures change), or Monday-Friday 08:00-17:00 in ``default_timezone``."""
    from portal.sla.models import BusinessCalendar

    row = session.get(BusinessCalendar, calendar_id) if calendar_id is not None else None
    if row is None:
        return default_calendar(default_timezone)
    closures = frozenset(closure.day for closure in row.closures)
    key = (row.id, row.updated_at, closures)
    cached = _loaded.get(key)
    if cached is not None:
        return cached
    public = (
        _public_holidays(row.holiday_country.upper(), row.holiday_subdivision.upper())
        if row.holiday_country
        else None
    )

    def is_closed(day: date) -> bool:
        return day in closures or (public is not None and public(day))

    if row.always_open:
        calendar = WorkingCalendar(timezone=row.timezone, always_open=True)
    else:
        calendar = WorkingCalendar(
            timezone=row.timezone, hours=hours_from_json(row.hours), is_closed=is_closed
        )
    if len(_loaded) > 256:
        _loaded.clear()
    _loaded[key] = calendar
    return calendar


def valid_timezone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True
