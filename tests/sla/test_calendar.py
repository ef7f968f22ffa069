"""Business-time arithmetic on known cases (the issue's examples, holidays, DST)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from portal.sla.calendar import (
    NoWorkingTime,
    WorkingCalendar,
    format_hours,
    load_calendar,
    parse_hours,
)
from portal.sla.models import BusinessCalendar, CalendarClosure

CHICAGO = ZoneInfo("America/Chicago")
HOUR = 3600


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=CHICAGO)


def weekdays(start: int, end: int, *, closed=()) -> WorkingCalendar:
    return WorkingCalendar(
        timezone="America/Chicago",
        hours={d: [(start * 60, end * 60)] for d in range(5)},
        is_closed=lambda day: day in closed,
    )


def test_friday_night_case_has_one_and_a_half_working_hours_by_monday_half_past_nine():
    calendar = weekdays(8, 17)
    opened, seen = local(2026, 11, 13, 21, 0), local(2026, 11, 16, 9, 30)  # Fri, Mon
    assert calendar.working_seconds(opened, seen) == 1.5 * HOUR
    assert (seen - opened) == timedelta(hours=60, minutes=30)


def test_friday_four_pm_plus_eight_working_hours_is_monday_four_pm():
    calendar = weekdays(9, 17)
    due = calendar.add(local(2026, 11, 13, 16, 0), 8 * HOUR)
    assert due == local(2026, 11, 16, 16, 0)


def test_work_created_on_a_holiday_starts_at_the_next_working_period():
    labor_day = date(2026, 9, 7)  # a Monday
    calendar = weekdays(8, 17, closed={labor_day})
    created = local(2026, 9, 7, 10, 0)
    assert calendar.next_working_moment(created) == local(2026, 9, 8, 8, 0)
    assert calendar.add(created, 2 * HOUR) == local(2026, 9, 8, 10, 0)
    assert not calendar.is_working(created)
    assert calendar.is_working(local(2026, 9, 8, 8, 0))


def test_lunch_break_is_two_periods():
    calendar = WorkingCalendar(timezone="America/Chicago", hours={0: [(480, 720), (780, 1020)]})
    monday = date(2026, 11, 16)
    assert calendar.add(local(2026, 11, 16, 11, 0), 2 * HOUR) == local(2026, 11, 16, 14, 0)
    assert (
        calendar.working_seconds(local(2026, 11, 16, 7, 0), local(2026, 11, 16, 18, 0)) == 8 * HOUR
    )
    assert monday.weekday() == 0


def test_spring_forward_weekend_shortens_the_wall_clock_not_the_working_time():
    calendar = weekdays(8, 17)
    friday = local(2026, 3, 6, 16, 0)  # DST starts Sunday 8 March 2026 in Chicago
    due = calendar.add(friday, 2 * HOUR)
    assert due == local(2026, 3, 9, 9, 0)
    assert (due.astimezone(UTC) - friday.astimezone(UTC)) == timedelta(hours=64)


def test_a_period_across_the_change_lasts_what_it_really_lasts():
    always = WorkingCalendar(timezone="America/Chicago", hours={6: [(0, 8 * 60)]})
    spring = local(2026, 3, 8, 0, 0)  # a Sunday
    assert always.working_seconds(spring, local(2026, 3, 8, 12, 0)) == 7 * HOUR
    fall = local(2026, 11, 1, 0, 0)  # a Sunday: the clocks go back
    assert always.working_seconds(fall, local(2026, 11, 1, 12, 0)) == 9 * HOUR


def test_always_open_counts_every_second_and_ignores_the_clock_change():
    calendar = WorkingCalendar(timezone="America/Chicago", always_open=True)
    start = local(2026, 3, 7, 12, 0)
    assert calendar.add(start, 24 * HOUR) == start.astimezone(UTC) + timedelta(hours=24)
    assert calendar.working_seconds(start, local(2026, 3, 9, 12, 0)) == 47 * HOUR


def test_twenty_four_hundred_ends_a_period_at_midnight():
    calendar = WorkingCalendar(timezone="America/Chicago", hours={4: [(20 * 60, 24 * 60)]})
    assert calendar.add(local(2026, 11, 13, 20, 0), 4 * HOUR) == local(2026, 11, 14, 0, 0)


def test_a_calendar_without_working_time_is_refused():
    with pytest.raises(NoWorkingTime):
        WorkingCalendar(timezone="America/Chicago", hours={})
    closed = WorkingCalendar(timezone="UTC", hours={0: [(0, 60)]}, is_closed=lambda d: True)
    with pytest.raises(NoWorkingTime):
        closed.add(datetime(2026, 1, 1, tzinfo=UTC), 1)


@pytest.mark.parametrize(
    "text, message",
    [
        ("8-12", "is not a period"),
        ("17:00-08:00", "ends before it starts"),
        ("08:00-12:00, 11:00-13:00", "must not overlap"),
        ("25:00-26:00", "does not exist"),
        ("08:00-24:30", "does not exist"),
    ],
)
def test_parse_hours_refuses_bad_periods(text, message):
    with pytest.raises(ValueError, match=message):
        parse_hours(text)


def test_parse_and_format_hours_round_trip():
    periods = parse_hours(" 08:00-12:00 , 13:00–17:30 ")
    assert periods == [(480, 720), (780, 1050)]
    assert format_hours(periods) == "08:00-12:00, 13:00-17:30"
    assert parse_hours("") == []


def test_load_calendar_brings_public_holidays_and_city_closures(db):
    row = BusinessCalendar(
        code="city",
        name="City",
        timezone="America/Chicago",
        hours={
            "mon": [["08:00", "17:00"]],
            "tue": [["08:00", "17:00"]],
            "wed": [["08:00", "17:00"]],
            "thu": [["08:00", "17:00"]],
            "fri": [["08:00", "17:00"]],
        },
        holiday_country="US",
        holiday_subdivision="IL",
    )
    db.add(row)
    db.flush()
    calendar = load_calendar(db, row.id, default_timezone="UTC")
    # Thanksgiving (Thu 26 Nov 2026) is a US holiday: Wednesday 16:00 + 2 h is Friday 09:00.
    assert calendar.add(local(2026, 11, 25, 16, 0), 2 * HOUR) == local(2026, 11, 27, 9, 0)
    db.add(CalendarClosure(calendar_id=row.id, day=date(2026, 11, 27), name="Day after"))
    db.flush()
    db.refresh(row)
    calendar = load_calendar(db, row.id, default_timezone="UTC")
    assert calendar.add(local(2026, 11, 25, 16, 0), 2 * HOUR) == local(2026, 11, 30, 9, 0)
    fallback = load_calendar(db, None, default_timezone="America/Chicago")
    assert fallback.add(local(2026, 11, 13, 16, 0), 2 * HOUR) == local(2026, 11, 16, 9, 0)
