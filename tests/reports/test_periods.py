"""Reporting periods: weeks from Monday, calendar months and quarters, local midnights."""

from datetime import UTC, date, datetime

import pytest

from portal.reports.periods import Period, parse_period

pytestmark = pytest.mark.pure


def test_week_starts_on_monday_and_ends_exclusive():
    period = Period.containing("week", date(2026, 3, 15))  # a Sunday
    assert (period.start, period.end) == (date(2026, 3, 9), date(2026, 3, 16))
    assert Period.containing("week", date(2026, 3, 16)).start == date(2026, 3, 16)
    assert period.previous() == Period("week", date(2026, 3, 2), date(2026, 3, 9))
    assert period.next().start == date(2026, 3, 16)


def test_month_and_quarter_across_a_year_end():
    month = Period.containing("month", date(2026, 12, 31))
    assert (month.start, month.end) == (date(2026, 12, 1), date(2027, 1, 1))
    assert Period.containing("month", date(2027, 1, 1)).previous() == month
    quarter = Period.containing("quarter", date(2026, 1, 1))
    assert (quarter.start, quarter.end) == (date(2026, 1, 1), date(2026, 4, 1))
    assert quarter.previous() == Period("quarter", date(2025, 10, 1), date(2026, 1, 1))
    assert Period.containing("quarter", date(2026, 6, 30)).start == date(2026, 4, 1)


def test_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="week, month or quarter"):
        Period.containing("year", date(2026, 1, 1))


def test_bounds_are_local_midnights_in_utc_across_daylight_saving():
    # Chicago moves from CST (-6) to CDT (-5) on 2026-03-08.
    start, end = Period.containing("week", date(2026, 3, 4)).bounds("America/Chicago")
    assert start == datetime(2026, 3, 2, 6, 0, tzinfo=UTC)
    assert end == datetime(2026, 3, 9, 5, 0, tzinfo=UTC)
    assert start.tzinfo is UTC


def test_labels_in_english_and_spanish():
    assert Period.containing("month", date(2026, 12, 5)).label("en") == "December 2026"
    assert Period.containing("month", date(2026, 12, 5)).label("es") == "diciembre de 2026"
    assert Period.containing("quarter", date(2026, 12, 5)).label("en") == "Q4 2026"
    assert Period.containing("quarter", date(2026, 12, 5)).label("es") == "T4 2026"
    assert Period.containing("week", date(2026, 3, 11)).label("en") == "Mar 9, 2026 – Mar 15, 2026"


def test_parse_period_defaults_to_this_month():
    today = date(2026, 3, 11)
    assert parse_period(None, None, today) == Period("month", date(2026, 3, 1), date(2026, 4, 1))
    assert parse_period("week", "2026-03-04", today).start == date(2026, 3, 2)
    assert parse_period(" quarter ", "", today).start == date(2026, 1, 1)
    # The current period is allowed although it is not over yet.
    assert parse_period("week", "2026-03-11", today).start == date(2026, 3, 9)


@pytest.mark.parametrize(
    ("kind", "start", "message"),
    [
        ("year", None, "week, a month or a quarter"),
        ("month", "2026-13-01", "date like"),
        ("month", "yesterday", "date like"),
        ("month", "1999-12-31", "2000 or later"),
        ("month", "2026-04-01", "future"),
        ("week", "2026-03-16", "future"),
    ],
)
def test_parse_period_refuses_bad_input(kind, start, message):
    with pytest.raises(ValueError, match=message):
        parse_period(kind, start, date(2026, 3, 11))
