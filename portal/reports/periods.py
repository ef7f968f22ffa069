"""Reporting periods: a week (Monday to Sunday), a calendar month or a calendar quarter.

A period is a range of local dates in the city's time zone, ``end`` exclusive. ``bounds``
turns it into the aware UTC instants that the stored timestamps are compared with, so a
report's rows are one index range ``start_utc <= column < end_utc``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_skeleton

KINDS = ("week", "month", "quarter")
#: The earliest period a report may ask for (older dates are certainly a typo).
EARLIEST = date(2000, 1, 1)


def _month_start(day: date, months: int) -> date:
    """The first day of the month ``months`` after the one holding ``day``."""
    index = day.year * 12 + (day.month - 1) + months
    return date(index // 12, index % 12 + 1, 1)


@dataclass(frozen=True)
class Period:
    kind: str
    start: date
    end: date

    @classmethod
    def containing(cls, kind: str, day: date) -> Period:
        """The week (from Monday), month or quarter that holds ``day``."""
        if kind == "week":
            start = day - timedelta(days=day.weekday())
            return cls(kind, start, start + timedelta(days=7))
        if kind == "month":
            start = day.replace(day=1)
            return cls(kind, start, _month_start(start, 1))
        if kind == "quarter":
            start = date(day.year, (day.month - 1) // 3 * 3 + 1, 1)
            return cls(kind, start, _month_start(start, 3))
        raise ValueError(f"Unknown period kind {kind!r}: use week, month or quarter.")

    def previous(self) -> Period:
        return Period.containing(self.kind, self.start - timedelta(days=1))

    def next(self) -> Period:
        return Period.containing(self.kind, self.end)

    def bounds(self, tz: str | ZoneInfo) -> tuple[datetime, datetime]:
        """The period as aware UTC instants ``(start, end)``: local midnights in ``tz``."""
        zone = ZoneInfo(tz) if isinstance(tz, str) else tz
        return (
            datetime.combine(self.start, time(), zone).astimezone(UTC),
            datetime.combine(self.end, time(), zone).astimezone(UTC),
        )

    def label(self, locale: str = "en") -> str:
        """A human name: "Week of Mar 2, 2026", "March 2026", "Q1 2026" (in ``locale``)."""
        if self.kind == "month":
            return format_skeleton("yMMMM", self.start, locale=locale)
        if self.kind == "quarter":
            return format_skeleton("yQQQ", self.start, locale=locale)
        last = self.end - timedelta(days=1)
        return (
            f"{format_date(self.start, 'medium', locale=locale)} – "
            f"{format_date(last, 'medium', locale=locale)}"
        )

    @property
    def key(self) -> str:
        """The period as the query string gives it back: its first day, ISO."""
        return self.start.isoformat()


def parse_period(kind: str | None, start: str | None, today: date) -> Period:
    """The period a request asks for: ``kind`` (default month) holding the ISO date ``start``
    (default ``today``). Raises ``ValueError`` with a message for a bad kind or date, or a
    date before 2000 or after the period holding ``today``."""
    kind = (kind or "month").strip()
    if kind not in KINDS:
        raise ValueError("The period must be a week, a month or a quarter.")
    if start:
        try:
            day = date.fromisoformat(start.strip())
        except ValueError:
            raise ValueError("The period start must be a date like 2026-03-01.") from None
    else:
        day = today
    if day < EARLIEST:
        raise ValueError("The period must start in 2000 or later.")
    period = Period.containing(kind, day)
    if period.start > today:
        raise ValueError("The period must not start in the future.")
    return period
