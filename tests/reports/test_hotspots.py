"""Hotspots: volumes and trends against hand counts, the spike rule (a constructed spike flags
with its figures; normal variation and small numbers do not), sentiment and its fewer-than-5
rule, comments, and the weekly digest (once, to supervisors and admins, in their language,
nothing without flags).

Requests are bulk-inserted with chosen ``created_at`` (local times in Chicago)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from email.header import decode_header, make_header
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, insert, select

from portal.core import clock
from portal.core.audit import AuditEntry
from portal.core.outbox import OutboxMessage
from portal.core.senders import SmtpSender
from portal.core.worker import PERIODIC_JOBS, deliver_outbox
from portal.reports.digest import digest_week, send_hotspot_digest
from portal.reports.hotspots import spikes, trend, volumes
from portal.reports.periods import Period
from portal.reports.sentiment import comments_page, sentiment
from portal.reports.spike_sentences import spike_sentence
from portal.requests.models import ServiceRequest
from tests.plans import sqlite_plans

TZ = "America/Chicago"
ZONE = ZoneInfo(TZ)
MARCH = Period("month", date(2026, 3, 1), date(2026, 4, 1))


def local(day: date, hour: int = 12, minute: int = 0) -> datetime:
    """A local time in Chicago as aware UTC."""
    return datetime.combine(day, time(hour, minute), ZONE).astimezone(UTC)


@dataclass
class City:
    north: object
    south: object
    east: object
    west: object
    parking: object
    potholes: object


@pytest.fixture
def city(make):
    department = make.department(name="Streets")
    return City(
        north=make.area(name="Northside"),
        south=make.area(name="Southside"),
        east=make.area(name="Eastside"),
        west=make.area(name="Westside"),
        parking=make.category(
            name="Parking", department=department, translations={"es": {"name": "Estacionamiento"}}
        ),
        potholes=make.category(name="Potholes", department=department),
    )


def add(db, category, area, when: datetime, n: int = 1) -> None:
    """``n`` requests of ``category`` in ``area`` (None: no area) created at ``when``."""
    if n <= 0:
        return
    db.execute(
        insert(ServiceRequest),
        [
            {
                "category_id": category.id,
                "department_id": category.department_id,
                "area_id": area.id if area is not None else None,
                "created_at": when,
                "updated_at": when,
                "status_changed_at": when,
            }
            for _ in range(n)
        ],
    )


def add_monthly(db, category, area, counts: list[int], last: Period) -> None:
    """``counts[i]`` requests in the month ``len(counts) - 1 - i`` before ``last`` (the last
    count falls in ``last`` itself), on the 10th at noon."""
    period = last
    for n in reversed(counts):
        add(db, category, area, local(period.start + timedelta(days=9)), n)
        period = period.previous()


# -- volumes and trends ----------------------------------------------------------------------


def test_volumes_by_area_and_category_with_local_month_edges(db, city):
    add(db, city.parking, city.north, local(date(2026, 3, 1), 0, 30), 2)  # 06:30 UTC: in
    add(db, city.parking, city.north, local(date(2026, 2, 28), 23, 30))  # 05:30 UTC: out
    add(db, city.parking, city.north, local(date(2026, 3, 31), 23, 59))  # in
    add(db, city.parking, city.north, local(date(2026, 4, 1), 0, 0))  # out
    add(db, city.potholes, city.north, local(date(2026, 3, 15)), 4)
    add(db, city.potholes, city.south, local(date(2026, 3, 20)), 2)
    add(db, city.parking, None, local(date(2026, 3, 5)))

    result = volumes(db, MARCH, tz=TZ)
    assert [(c.area_name, c.category_name, c.count) for c in result.cells] == [
        ("Northside", "Parking", 3),
        ("Northside", "Potholes", 4),
        ("Southside", "Potholes", 2),
        (None, "Parking", 1),
    ]
    assert [(a.area_name, a.count) for a in result.by_area] == [
        ("Eastside", 0),
        ("Northside", 7),
        ("Southside", 2),
        ("Westside", 0),
        (None, 1),
    ]
    assert [(c.category_name, c.count) for c in result.by_category] == [
        ("Potholes", 6),
        ("Parking", 4),
    ]
    assert result.total == 10

    north = volumes(db, MARCH, tz=TZ, area_id=city.north.id)
    assert [(a.area_name, a.count) for a in north.by_area] == [("Northside", 7)]
    assert north.total == 7
    parking = volumes(db, MARCH, tz=TZ, category_id=city.parking.id, locale="es")
    assert [(c.category_name, c.count) for c in parking.by_category] == [("Estacionamiento", 4)]
    assert [(a.area_name, a.count) for a in parking.by_area if a.count] == [
        ("Northside", 3),
        (None, 1),
    ]


def test_trend_counts_per_period_oldest_first(db, city):
    add(db, city.parking, city.north, local(date(2025, 12, 31), 23, 0), 2)  # before: out
    add(db, city.parking, city.north, local(date(2026, 1, 1), 0, 0), 3)
    add(db, city.parking, city.south, local(date(2026, 1, 31), 23, 59), 1)
    add(db, city.potholes, city.north, local(date(2026, 2, 14)), 5)
    add(db, city.parking, city.north, local(date(2026, 3, 31), 23, 59), 4)
    add(db, city.parking, city.north, local(date(2026, 4, 1)), 7)  # after: out

    points = trend(db, kind="month", periods=3, tz=TZ, last=MARCH)
    assert [(p.period.start, p.count) for p in points] == [
        (date(2026, 1, 1), 4),
        (date(2026, 2, 1), 5),
        (date(2026, 3, 1), 4),
    ]
    north_parking = trend(
        db,
        kind="month",
        periods=3,
        tz=TZ,
        last=MARCH,
        area_id=city.north.id,
        category_id=city.parking.id,
    )
    assert [p.count for p in north_parking] == [3, 0, 4]

    clock.freeze(local(date(2026, 4, 15)))
    try:
        quarters = trend(db, kind="quarter", periods=2, tz=TZ)
    finally:
        clock.freeze(None)
    assert [(p.period.start, p.count) for p in quarters] == [
        (date(2026, 1, 1), 13),
        (date(2026, 4, 1), 7),
    ]


def test_trend_refuses_bad_arguments(db):
    with pytest.raises(ValueError, match="week, month or quarter"):
        trend(db, kind="year", periods=3, tz=TZ)
    with pytest.raises(ValueError, match="1 to"):
        trend(db, kind="month", periods=0, tz=TZ)
    with pytest.raises(ValueError, match="kind"):
        trend(db, kind="week", periods=2, tz=TZ, last=MARCH)


def test_counts_read_the_indexes(db, make, city):
    plans = sqlite_plans(db, lambda: volumes(db, MARCH, tz=TZ, area_id=city.north.id))
    assert any("ix_service_requests_area_created" in p for p in plans), plans
    plans = sqlite_plans(
        db,
        lambda: trend(db, kind="month", periods=6, tz=TZ, last=MARCH, category_id=city.parking.id),
    )
    assert any("ix_service_requests_category_created" in p for p in plans), plans
    plans = sqlite_plans(db, lambda: spikes(db, MARCH, tz=TZ))
    grouped = [p for p in plans if "service_requests" in p]
    assert len(grouped) == 2, plans  # the period, and the six periods before it
    assert all("INDEX ix_service_requests_area_created" in p for p in grouped), plans
    make.survey_version()
    plans = sqlite_plans(db, lambda: sentiment(db, MARCH, tz=TZ))
    assert any("ix_survey_responses_survey_created" in p for p in plans), plans


# -- spikes ----------------------------------------------------------------------------------


def test_constructed_spikes_are_flagged_with_their_figures(db, city):
    # Parking: Northside jumps from 4 a month to 40; the others stay at 4.
    add_monthly(db, city.parking, city.north, [4, 4, 4, 4, 4, 4, 40], MARCH)
    for area in (city.south, city.east, city.west):
        add_monthly(db, city.parking, area, [4, 4, 4, 4, 4, 4, 4], MARCH)
    # Potholes: Southside is always far worse than the rest (the city rule only); Eastside
    # jumps from 1 a month to 8 (its own baseline only: 8 is under 3 × the city rate).
    add_monthly(db, city.potholes, city.south, [30] * 7, MARCH)
    add_monthly(db, city.potholes, city.east, [1, 1, 1, 1, 1, 1, 8], MARCH)
    add_monthly(db, city.potholes, city.west, [2] * 7, MARCH)
    # Requests before the six baseline months do not count.
    add(db, city.parking, city.north, local(date(2025, 8, 20)), 100)

    flags = {(s.area_name, s.category_name): s for s in spikes(db, MARCH, tz=TZ)}
    assert set(flags) == {
        ("Northside", "Parking"),
        ("Southside", "Potholes"),
        ("Eastside", "Potholes"),
    }

    north = flags["Northside", "Parking"]
    assert north.reason == "both"
    assert (north.count, north.baseline, north.baseline_periods) == (40, 4.0, 6)
    assert north.baseline_ratio == pytest.approx(10.0)
    assert (north.city_count, north.areas, north.city_rate) == (52, 4, 13.0)
    assert north.city_ratio == pytest.approx(40 / 13)
    assert north.ratio == pytest.approx(10.0)
    assert spike_sentence(north, "en") == (
        "Parking in Northside: 40 requests in March 2026, 3.1 times the city rate (13.0 per "
        "area) and 10.0 times its average of the previous 6 months (4.0)."
    )

    south = flags["Southside", "Potholes"]
    assert south.reason == "city"
    assert (south.count, south.baseline, south.city_count, south.city_rate) == (30, 30.0, 40, 10.0)
    assert south.ratio == pytest.approx(3.0)
    assert spike_sentence(south, "en") == (
        "Potholes in Southside: 30 requests in March 2026, 3.0 times the city rate (10.0 per area)."
    )

    east = flags["Eastside", "Potholes"]
    assert east.reason == "baseline"
    assert (east.count, east.baseline, east.baseline_ratio) == (8, 1.0, 8.0)
    assert east.city_ratio == pytest.approx(0.8)

    # The largest ratio first.
    assert [s.area_name for s in spikes(db, MARCH, tz=TZ)] == ["Northside", "Eastside", "Southside"]
    # Names in the reader's language (the period label too).
    [spanish] = [s for s in spikes(db, MARCH, tz=TZ, locale="es") if s.area_name == "Northside"]
    assert spanish.category_name == "Estacionamiento"
    assert "marzo de 2026" in spike_sentence(spanish, "es")


def test_normal_variation_is_not_flagged(db, city):
    # Poisson-like wobble around 10 a month in every area, this month included.
    histories = {
        city.north: [10, 8, 12, 9, 11, 10, 12],
        city.south: [9, 11, 10, 12, 8, 10, 8],
        city.east: [12, 10, 9, 8, 11, 10, 11],
        city.west: [8, 9, 11, 10, 12, 9, 9],
    }
    for area, counts in histories.items():
        add_monthly(db, city.parking, area, counts, MARCH)
    assert spikes(db, MARCH, tz=TZ) == []


def test_small_numbers_are_not_flagged_until_the_minimum(db, city):
    # One a month, then 4: four times the baseline and the city rate, but only 4 requests.
    add_monthly(db, city.parking, city.north, [1, 1, 1, 1, 1, 1, 4], MARCH)
    assert spikes(db, MARCH, tz=TZ) == []
    # A fifth one makes it a flag (5 >= 3 × 1, 5 >= 1 + 3·1, 5 >= the minimum).
    add(db, city.parking, city.north, local(date(2026, 3, 20)))
    [flag] = spikes(db, MARCH, tz=TZ)
    assert (flag.reason, flag.count, flag.baseline) == ("both", 5, 1.0)


def test_a_new_problem_with_no_history_flags_on_its_baseline(db, city):
    add(db, city.potholes, city.west, local(date(2026, 3, 3)), 6)
    for area in (city.north, city.south, city.east):
        add(db, city.potholes, area, local(date(2026, 3, 3)), 4)
    [flag] = spikes(db, MARCH, tz=TZ)
    assert (flag.area_name, flag.reason, flag.baseline, flag.baseline_ratio) == (
        "Westside",
        "baseline",
        0.0,
        None,
    )
    assert flag.ratio is None
    assert spike_sentence(flag, "en") == (
        "Potholes in Westside: 6 requests in March 2026, none in the previous 6 months."
    )


def test_weekly_spikes_use_weeks_as_the_baseline(db, city):
    week = Period.containing("week", date(2026, 3, 11))
    period = week
    for _ in range(6):
        period = period.previous()
        add(db, city.parking, city.north, local(period.start + timedelta(days=2)), 2)
    add(db, city.parking, city.north, local(week.start + timedelta(days=1)), 12)
    for area in (city.south, city.east, city.west):
        add(db, city.parking, area, local(week.start + timedelta(days=1)), 4)
    [flag] = spikes(db, week, tz=TZ)
    assert (flag.reason, flag.count, flag.baseline, flag.city_rate) == ("baseline", 12, 2.0, 6.0)
    assert "times its average of the previous 6 weeks (2.0)" in spike_sentence(flag, "en")


def test_with_populations_areas_compare_per_resident(db, city):
    """Northside has 40,000 residents, the other three 10,000 each (70,000 in all). In March
    Northside has 40 parking requests, Southside 4, Eastside and Westside 2 each: 48. Spread
    evenly that is 12 an area, and Northside's 40 would be over three times it; per resident
    Northside's share is 48 × 4/7 = 27.4, and 40 is not. Then Southside reaches 33 of 77:
    its share is 77 × 1/7 = 11, and 33 is three times it."""
    for area, residents in (
        (city.north, 40_000),
        (city.south, 10_000),
        (city.east, 10_000),
        (city.west, 10_000),
    ):
        area.population = residents
    db.flush()
    for area, n in ((city.north, 40), (city.south, 4), (city.east, 2), (city.west, 2)):
        add(db, city.parking, area, local(date(2026, 3, 10)), n)
    month = volumes(db, MARCH, tz=TZ)
    assert month.per_resident
    assert [(a.area_name, a.population, a.per_thousand) for a in month.by_area] == [
        ("Eastside", 10_000, 0.2),
        ("Northside", 40_000, 1.0),
        ("Southside", 10_000, 0.4),
        ("Westside", 10_000, 0.2),
    ]
    assert 40 >= 3 * 48 / 4  # evenly, Northside would be flagged against the city ...
    assert [s for s in spikes(db, MARCH, tz=TZ) if s.reason != "baseline"] == []  # ... not so

    add(db, city.parking, city.south, local(date(2026, 3, 11)), 29)
    [flag] = [s for s in spikes(db, MARCH, tz=TZ) if s.area_name == "Southside"]
    assert (flag.reason, flag.count, flag.city_count) == ("both", 33, 77)
    assert (flag.population, flag.city_population) == (10_000, 70_000)
    assert flag.city_rate == 11.0 and flag.city_ratio == 3.0
    assert flag.per_thousand == 3.3 and flag.city_per_thousand == pytest.approx(1.1)
    assert spike_sentence(flag, "en") == (
        "Parking in Southside: 33 requests in March 2026, 3.0 times the city rate (3.3 per "
        "1,000 residents, against 1.1 city-wide) and none in the previous 6 months."
    )
    assert "3,0 veces la tasa de la ciudad (3,3 por cada 1000 habitantes" in spike_sentence(
        flag, "es"
    )


def test_one_area_without_a_population_means_counting_per_area(db, city):
    city.north.population = 40_000
    db.flush()
    add(db, city.parking, city.north, local(date(2026, 3, 10)), 3)
    month = volumes(db, MARCH, tz=TZ)
    assert not month.per_resident
    assert all(a.population is None and a.per_thousand is None for a in month.by_area)


# -- sentiment -------------------------------------------------------------------------------


def _responses(make, city, area, scores, *, when, comments=None):
    request = make.request(category=city.parking, area_id=area.id)
    comments = comments or [""] * len(scores)
    return [
        make.survey_response(
            request_id=request.id,
            csat=score,
            comment=comment,
            created_at=when + timedelta(minutes=i),
        )
        for i, (score, comment) in enumerate(zip(scores, comments, strict=True))
    ]


def test_sentiment_share_per_area_and_the_fewer_than_five_rule(db, make, city):
    when = local(date(2026, 3, 10))
    # Northside: 5 scores (two of them 1 or 2) and one response without a score.
    _responses(make, city, city.north, [1, 2, 3, 4, 5, None], when=when)
    # Southside: only 4 scores: the share is withheld.
    _responses(make, city, city.south, [1, 1, 1, 2], when=when)
    # Outside the period.
    _responses(make, city, city.north, [1, 1, 1], when=local(date(2026, 4, 1), 0, 0))
    _responses(make, city, city.north, [1], when=local(date(2026, 2, 28), 23, 0))

    rows = {r.area_name: r for r in sentiment(db, MARCH, tz=TZ)}
    assert set(rows) == {"Northside", "Southside"}
    north = rows["Northside"]
    assert (north.responses, north.csat_answers, north.dissatisfied) == (6, 5, 2)
    assert north.dissatisfied_share == pytest.approx(0.4)
    south = rows["Southside"]
    assert (south.responses, south.csat_answers) == (4, 4)
    assert south.dissatisfied is None and south.dissatisfied_share is None


def test_comments_newest_first_non_empty_paged_and_without_names(db, make, city):
    when = local(date(2026, 3, 10))
    _responses(
        make,
        city,
        city.north,
        [1, 2, 5, 4],
        when=when,
        comments=["Cars everywhere", "", "   ", "Still blocked"],
    )
    _responses(make, city, city.south, [3], when=when + timedelta(hours=1), comments=["Fine now"])
    _responses(
        make, city, city.north, [2], when=local(date(2026, 4, 2)), comments=["April, not March"]
    )

    first = comments_page(db, MARCH, tz=TZ, per_page=2)
    assert [(c.area_name, c.comment, c.csat) for c in first.comments] == [
        ("Southside", "Fine now", 3),
        ("Northside", "Still blocked", 4),
    ]
    assert first.next_cursor
    second = comments_page(db, MARCH, tz=TZ, per_page=2, after=first.next_cursor)
    assert [c.comment for c in second.comments] == ["Cars everywhere"]
    assert second.next_cursor is None
    north = comments_page(db, MARCH, tz=TZ, area_id=city.north.id)
    assert [c.comment for c in north.comments] == ["Still blocked", "Cars everywhere"]
    assert north.comments[0].category_name == "Parking"
    # Nothing that names or points at anyone.
    assert set(vars(north.comments[0])) == {
        "id",
        "created_at",
        "area_id",
        "area_name",
        "category_name",
        "csat",
        "comment",
    }
    # A bad cursor gives the first page.
    assert comments_page(db, MARCH, tz=TZ, per_page=2, after="garbage") == first


# -- the weekly digest -----------------------------------------------------------------------

#: Monday 16 March 2026, 07:30 UTC (02:30 in Chicago): the digest reports 9–15 March.
MONDAY = datetime(2026, 3, 16, 7, 30, tzinfo=UTC)
LAST_WEEK = Period("week", date(2026, 3, 9), date(2026, 3, 16))


def _outbox(db, kind="hotspot_digest"):
    return list(
        db.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.kind == kind)
            .order_by(OutboxMessage.to_address)
        )
    )


def test_digest_week_is_the_last_full_week_from_monday_at_the_hour(settings):
    assert settings.digest_hour_utc == 7
    assert digest_week(settings, MONDAY) == LAST_WEEK
    assert digest_week(settings, MONDAY.replace(hour=6, minute=59)) is None
    assert digest_week(settings, MONDAY + timedelta(days=3)) == LAST_WEEK
    assert digest_week(settings, MONDAY - timedelta(hours=8)) == LAST_WEEK.previous()


def test_digest_sent_once_a_week_to_supervisors_and_admins_in_their_language(
    app, db, make, city, settings, smtp
):
    assert send_hotspot_digest in PERIODIC_JOBS
    department = make.department()
    make.staff(department, role="supervisor", email="sup@example.org")
    make.user(role="admin", email="admin@example.org", locale="es")
    make.staff(department, role="agent", email="agent@example.org")
    make.staff(department, role="supervisor", email="gone@example.org", active=False)
    make.user(email="resident@example.org")
    add(db, city.parking, city.north, local(date(2026, 3, 12)), 10)
    add(db, city.parking, city.south, local(date(2026, 3, 16), 1, 0), 30)  # this week
    db.commit()
    database = app.extensions["portal.db"]

    assert send_hotspot_digest(database, settings, MONDAY - timedelta(hours=1)) is None
    assert _outbox(db) == []
    assert send_hotspot_digest(database, settings, MONDAY) == (
        "queued 2 hotspot digest(s) for the week of 2026-03-09"
    )
    assert send_hotspot_digest(database, settings, MONDAY + timedelta(hours=5)) is None
    admin, supervisor = _outbox(db)
    assert (admin.to_address, admin.locale) == ("admin@example.org", "es")
    assert (supervisor.to_address, supervisor.locale) == ("sup@example.org", "en")
    assert supervisor.subject == ("1 hotspot flagged in the week Mar 9, 2026 – Mar 15, 2026")
    assert (
        "Parking in Northside: 10 requests in Mar 9, 2026 – Mar 15, 2026, 4.0 times the "
        "city rate (2.5 per area) and none in the previous 6 weeks."
    ) in supervisor.body_text
    assert "Southside" not in supervisor.body_text
    assert "/staff/reports/hotspots?period=week&start=2026-03-09" in supervisor.body_text
    assert "9 mar 2026" in admin.body_text  # the week in Spanish
    assert "Northside" in admin.body_html
    marker = db.scalar(select(AuditEntry).where(AuditEntry.entity == "hotspot_digest"))
    assert (marker.entity_id, marker.after) == (
        "2026-03-09",
        {"flags": 1, "themes": 0, "emails": 2},
    )

    # The worker delivers them as they are.
    deliver_outbox(database, SmtpSender(settings), now=clock.now(), max_attempts=3)
    received = sorted(smtp.wait_for(2), key=lambda item: item[0])
    assert [to for to, _message in received] == [["admin@example.org"], ["sup@example.org"]]
    subject = str(make_header(decode_header(received[1][1]["Subject"])))
    assert " ".join(subject.split()) == supervisor.subject


def test_no_digest_when_nothing_is_flagged(app, db, make, city, settings):
    make.user(role="admin", email="admin@example.org")
    for area in (city.north, city.south, city.east, city.west):
        add(db, city.parking, area, local(date(2026, 3, 12)), 3)
    db.commit()
    database = app.extensions["portal.db"]
    assert send_hotspot_digest(database, settings, MONDAY) is None
    assert _outbox(db) == []
    # The week is marked done: later rounds do not count again.
    assert (
        db.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.entity == "hotspot_digest")
        )
        == 1
    )
    assert send_hotspot_digest(database, settings, MONDAY + timedelta(hours=1)) is None
    assert (
        db.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.entity == "hotspot_digest")
        )
        == 1
    )
