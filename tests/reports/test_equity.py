"""Equity by area (issue 23): requests per 1,000 residents, working hours to resolve against the
city's, the share on time, and the reporting rate estimated from duplicate reports with its
90% range; areas with too few repeat reports are marked."""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta

import pytest

from portal.reports import equity
from tests.plans import sqlite_plans

MARCH = "/performance/equity?period=month&start=2026-03-01"
DAY = timedelta(days=1)
HOUR = timedelta(hours=1)


@pytest.fixture(autouse=True)
def frozen(freeze_clock):
    freeze_clock(datetime(2026, 4, 2, 15, 0, tzinfo=UTC))


def _incident(make, category, area, *, filed, open_days, later, hours, stage="met"):
    """A problem first reported at ``filed``, resolved ``open_days`` later, reported again
    ``later`` times while it was open; its resolution clock took ``hours`` working hours."""
    first = make.request(
        category=category,
        area_id=area.id,
        status="resolved",
        created_at=filed,
        resolved_at=filed + open_days * DAY,
    )
    for i in range(later):
        make.request(
            category=category,
            area_id=area.id,
            status="duplicate",
            duplicate_of_id=first.id,
            created_at=filed + (i + 1) * open_days * DAY / (later + 1),
        )
    make.sla_clock(
        first,
        stage=stage,
        working_seconds=hours * 3600,
        started_at=filed,
        stopped_at=filed + open_days * DAY,
    )


@pytest.fixture
def town(make):
    """March 2026. North (1,000 residents): 2 problems open 5 days each, reported again 32
    times in all, resolved in 10 and 20 working hours. South (2,000 residents): 4 problems
    open 10 days each, reported again 4 times, resolved in 30, 40, 50 and 100 hours (the last
    late)."""
    north = make.area(name="North", population=1000)
    south = make.area(name="South", population=2000)
    potholes = make.category(name="Potholes")
    march = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
    for later, hours in ((15, 10), (17, 20)):
        _incident(make, potholes, north, filed=march, open_days=5, later=later, hours=hours)
    for i, hours in enumerate((30, 40, 50, 100)):
        _incident(
            make,
            potholes,
            south,
            filed=march + i * HOUR,
            open_days=10,
            later=1,
            hours=hours,
            stage="breached" if hours == 100 else "met",
        )
    return north, south


def test_figures_per_area_and_the_estimated_reporting_rate(db, town):
    from portal.core import clock
    from portal.reports.periods import Period

    period = Period.containing("month", datetime(2026, 3, 10).date())
    areas, city = equity.area_figures(db, period, tz="America/Chicago", now=clock.now())
    north, south = areas
    assert (north.name, north.filed, north.per_thousand) == ("North", 34, 34.0)
    assert (south.filed, south.per_thousand) == (8, 4.0)
    assert (north.median_hours, north.p90_hours) == (10, 20)
    assert (city.median_hours, city.p90_hours, city.on_time_share) == (30, 100, 5 / 6)
    # 32 later reports over 10 incident-days; 4 over 40; the city 36 over 50.
    assert north.rate == pytest.approx(3.2) and north.enough
    assert south.rate == pytest.approx(0.1) and not south.enough
    assert city.rate == pytest.approx(0.72)
    low, high = north.interval
    assert low == pytest.approx(3.2 / math.exp(1.6449 / math.sqrt(32)), rel=1e-4)
    assert high == pytest.approx(3.2 * math.exp(1.6449 / math.sqrt(32)), rel=1e-4)
    times, low_times, high_times = equity.relative_rate(north, city)
    assert times == pytest.approx(3.2 / 0.72)
    assert (low_times, high_times) == pytest.approx((low / 0.72, high / 0.72))
    assert equity.slower(south, city) is False


def test_each_request_reads_its_later_reports_by_one_index_seek(db, town):
    """Count and first of the reports merged into each request come from
    ix_service_requests_duplicate_of_created, never from a walk of the created_at index (the
    plan SQLite chose with the one-column index: a table scan per request of the period)."""
    from portal.core import clock
    from portal.reports.periods import Period

    period = Period.containing("month", datetime(2026, 3, 10).date())
    db.connection().exec_driver_sql("ANALYZE")  # the plans of a city with statistics
    plans = sqlite_plans(
        db, lambda: equity.area_figures(db, period, tz="America/Chicago", now=clock.now())
    )
    merged = [plan for plan in plans if "CORRELATED SCALAR SUBQUERY" in plan]
    assert merged, plans
    for plan in merged:
        subqueries = plan.split("CORRELATED SCALAR SUBQUERY")[1:]
        assert len(subqueries) == 2, plan
        for part in subqueries:
            assert "ix_service_requests_duplicate_of_created (duplicate_of_id=?)" in part, plan


def test_the_public_page_shows_the_rate_with_its_range_and_marks_too_few(client, town):
    response = client.get(MARCH)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    north, south = town
    row = html.split(f'data-area="{north.id}"', 1)[1].split("</tr>", 1)[0]
    assert re.search(r"4\.44 times the city's \(90% range 3\.3\d to 5\.9\d\)", row), row
    assert "34 requests" in row
    other = html.split(f'data-area="{south.id}"', 1)[1].split("</tr>", 1)[0]
    assert "Too few repeat reports to say (4)" in other
    city = html.split('data-area="city"', 1)[1].split("</tr>", 1)[0]
    assert "0.72 repeat reports a day per open problem" in city
    assert "An area needs at least 30 repeat reports in the period for an estimate." in html
    spanish = client.get(MARCH + "&lang=es").get_data(as_text=True)
    assert "¿Se atiende igual a todos los barrios?" in spanish
    assert 'href="/performance/equity' in client.get("/performance?lang=en").get_data(as_text=True)


def test_an_area_much_slower_than_the_city_is_marked(client, make, town):
    north, south = town
    lights = make.category(name="Lights")
    filed = datetime(2026, 3, 3, 15, 0, tzinfo=UTC)
    # North: one more problem, 400 hours (its 90th percentile); South: 20 more, 10 hours each,
    # so the city's 90th percentile is 50 hours.
    _incident(make, lights, north, filed=filed, open_days=2, later=0, hours=400)
    for _ in range(20):
        _incident(make, lights, south, filed=filed, open_days=1, later=0, hours=10)
    html = client.get(MARCH + "&lang=en").get_data(as_text=True)
    row = html.split(f'data-area="{north.id}"', 1)[1].split("</tr>", 1)[0]
    assert "Slower" in row
    other = html.split(f'data-area="{south.id}"', 1)[1].split("</tr>", 1)[0]
    assert "Slower" not in other


def test_bad_period_input_gets_a_message(client):
    response = client.get("/performance/equity?period=fortnight&start=x")
    assert response.status_code in (200, 400)
    assert "Choose" in response.get_data(as_text=True)


def test_supervisors_are_alerted_when_an_area_stays_slower_for_four_weeks(
    app, db, make, settings, freeze_clock
):
    from sqlalchemy import select

    from portal.core.outbox import OutboxMessage
    from portal.core.worker import PERIODIC_JOBS

    assert equity.send_equity_alerts in PERIODIC_JOBS
    monday = datetime(2026, 3, 16, 7, 30, tzinfo=UTC)
    freeze_clock(monday)
    north = make.area(name="North", population=1000)
    south = make.area(name="South", population=1000)
    department = make.department(name="Roads")
    potholes = make.category(name="Potholes", department=department)
    make.staff(department, role="supervisor", email="sup@example.org")
    make.user(role="admin", email="admin@example.org", locale="es")
    for week in range(4):  # the weeks of 16 Feb to 9 Mar: North slow in each
        filed = datetime(2026, 2, 16, 15, 0, tzinfo=UTC) + week * 7 * DAY
        _incident(make, potholes, north, filed=filed, open_days=1, later=0, hours=400)
        for _ in range(9):
            _incident(make, potholes, south, filed=filed, open_days=1, later=0, hours=10)
    db.commit()
    database = app.extensions["portal.db"]
    assert equity.send_equity_alerts(database, settings, monday - HOUR) is None
    assert equity.send_equity_alerts(database, settings, monday) == (
        "queued 2 equity alert(s) for the week of 2026-03-09"
    )
    assert equity.send_equity_alerts(database, settings, monday + HOUR) is None
    admin, supervisor = db.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.kind == "equity_alert")
        .order_by(OutboxMessage.to_address)
    ).all()
    assert supervisor.subject == "1 area served markedly slower than the city for 4 weeks"
    text = " ".join(supervisor.body_text.split())
    assert "North:" in text and "South" not in text
    assert "400 hours against 10 for the city" in text
    assert "/performance/equity?period=month&start=2026-03-09" in text
    assert admin.locale == "es" and "400 horas frente a 10 de la ciudad" in admin.body_text


def test_no_alert_when_an_area_was_slower_for_only_three_weeks(app, db, make, settings):
    monday = datetime(2026, 3, 16, 7, 30, tzinfo=UTC)
    north = make.area(name="North", population=1000)
    south = make.area(name="South", population=1000)
    department = make.department(name="Roads")
    potholes = make.category(name="Potholes", department=department)
    make.staff(department, role="supervisor", email="sup@example.org")
    for week in range(4):
        filed = datetime(2026, 2, 16, 15, 0, tzinfo=UTC) + week * 7 * DAY
        hours = 10 if week == 1 else 400
        _incident(make, potholes, north, filed=filed, open_days=1, later=0, hours=hours)
        for _ in range(9):
            _incident(make, potholes, south, filed=filed, open_days=1, later=0, hours=10)
    db.commit()
    assert equity.send_equity_alerts(app.extensions["portal.db"], settings, monday) is None


def test_supervisors_find_the_same_table_in_the_back_office(client, make, town):
    from tests.conftest import sign_in

    department = make.department(name="Roads")
    sign_in(client, make.staff(department, role="supervisor"))
    board = client.get("/staff/reports").get_data(as_text=True)
    assert 'href="/staff/reports/equity?' in board
    page = client.get("/staff/reports/equity?period=month&start=2026-03-01")
    html = page.get_data(as_text=True)
    north, _south = town
    assert page.status_code == 200 and f'data-area="{north.id}"' in html
    assert "four weeks running" in html
