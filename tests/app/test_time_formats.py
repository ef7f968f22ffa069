"""One date-and-time format per language, never seconds, in the city's time zone (pages and
emails share ``portal.core.i18n``); machine formats stay ISO 8601 where they are written."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from portal.core.i18n import datetime_pattern, format_clock, format_day, format_moment

CHICAGO = ZoneInfo("America/Chicago")
MOMENT = datetime(2026, 12, 7, 20, 5, 37, tzinfo=UTC)


@pytest.mark.pure
@pytest.mark.parametrize(
    ("locale", "moment", "day", "time"),
    [
        ("en", "Dec 7, 2026, 2:05\u202fPM", "Dec 7, 2026", "2:05\u202fPM"),
        ("es", "7 dic 2026, 14:05", "7 dic 2026", "14:05"),
    ],
)
def test_each_language_has_one_format_without_seconds(locale, moment, day, time):
    assert format_moment(MOMENT, locale, CHICAGO) == moment
    assert (
        format_day(MOMENT, locale, CHICAGO) == day == format_day(date(2026, 12, 7), locale, CHICAGO)
    )
    assert format_clock(MOMENT, locale, CHICAGO) == time
    assert "ss" not in datetime_pattern(locale)


@pytest.mark.pure
def test_the_day_is_the_city_s_and_naive_values_are_utc():
    late = datetime(2026, 12, 8, 3, 30, tzinfo=UTC)  # still the 7th in Riverton
    assert format_day(late, "en", CHICAGO) == "Dec 7, 2026"
    assert format_moment(late.replace(tzinfo=None), "es", CHICAGO) == "7 dic 2026, 21:30"


def test_the_template_filters_use_the_page_s_language(app):
    for locale, expected in (("en", "Dec 7, 2026, 2:05\u202fPM"), ("es", "7 dic 2026, 14:05")):
        with app.test_request_context(f"/?lang={locale}"):
            template = app.jinja_env.from_string(
                "{{ m|datetime }}|{{ m|datetime('full') }}|{{ m|date }}|{{ m|time }}"
                "|{{ none|datetime }}"
            )
            moment, full, day, time, empty = template.render(m=MOMENT).split("|")
            assert moment == full == expected and empty == ""
            assert expected.startswith(day) and expected.endswith(time)
