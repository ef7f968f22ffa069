"""Calibrated expected dates (issue 23): the worker learns how long similar work took, a new
case is given the date by which most work like it is finished, the resident sees it beside the
SLA promise, and the calibration table says how often such dates came true.

History is arranged as SLA clocks written directly (their arithmetic is tested in
test_flow.py); the new cases are filed through the real filing service, so their clocks and
forecasts are made as in production."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from portal.requests.service import Filing, submit_request
from portal.sla import forecasts
from portal.sla.models import ForecastCalibration, ForecastGroup, SlaClock, SlaPolicy
from tests.factories import INSIDE

#: Monday 7 September 2026, 10:00 in Chicago.
NOW = datetime(2026, 9, 7, 15, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


@pytest.fixture(autouse=True)
def frozen(freeze_clock):
    freeze_clock(NOW)


@pytest.fixture
def town(make, db):
    streets = make.department(code="streets", name="Streets")
    make.area()
    potholes = make.category(code="pothole", department=streets, name="Pothole")
    lights = make.category(code="light", department=streets, name="Streetlight")
    # Calendar days: the clock counts wall time, so the expected dates are plain arithmetic.
    db.add(SlaPolicy(name="Streets", resolution_amount=5, resolution_unit="calendar_days"))
    db.flush()
    return streets, potholes, lights


def _history(make, db, department, category, hours: list[int], *, days_ago: int = 30):
    """Resolved cases of ``category`` whose resolution took ``hours`` (one clock each)."""
    for i, taken in enumerate(hours):
        started = NOW - days_ago * DAY + i * HOUR
        case = make.request(category=category, status="resolved", created_at=started)
        db.add(
            SlaClock(
                request_id=case.id,
                department_id=department.id,
                kind="resolution",
                stage="met",
                unit="calendar_days",
                target_seconds=5 * 86400,
                started_at=started,
                stopped_at=started + taken * HOUR,
                working_seconds=taken * 3600,
                wall_seconds=taken * 3600,
            )
        )
    db.flush()


def _file(db, settings, code: str = "pothole"):
    submitted = submit_request(
        db,
        settings=settings,
        filing=Filing(
            category_code=code,
            description="Deep pothole by the school",
            address="1 Main St",
            lat=INSIDE[0],
            lon=INSIDE[1],
            contact_email="resident@example.org",
        ),
    )
    return submitted.request


def _rebuild(runner):
    result = runner.invoke(args=["worker", "--once"])
    assert result.exit_code == 0, result.output


def _case_clock(db, case) -> SlaClock:
    return db.scalar(
        select(SlaClock).where(
            SlaClock.request_id == case.id,
            SlaClock.kind == "resolution",
            SlaClock.task_id.is_(None),
        )
    )


def test_a_new_case_gets_the_80th_percentile_of_similar_work(app, db, make, runner, town, client):
    streets, potholes, _lights = town
    _history(make, db, streets, potholes, list(range(1, 31)))  # 1 to 30 hours
    _rebuild(runner)
    group = db.scalar(select(ForecastGroup).where(ForecastGroup.category_id == potholes.id))
    assert group is not None and group.examples == 30 and group.quantile == 0.8
    # Nearest rank: the 24th of 30 values is the 80th percentile.
    assert forecasts.quantile(group.sketch, 0.8) == 24 * 3600
    case = _file(db, app.extensions["portal.settings"])
    clock = _case_clock(db, case)
    assert clock.forecast_seconds == 24 * 3600
    assert clock.forecast_at == NOW + 24 * HOUR
    html = client.get(f"/requests/{case.reference}").get_data(as_text=True)
    # The SLA promise stays, and the forecast is beside it.
    assert "Expected resolution:" in html and "Saturday, September 12, 2026" in html
    assert "Most requests like this one are finished by:" in html
    assert "Tuesday, September 8, 2026" in html


def test_staff_see_the_forecast_in_the_case_sla_panel(app, db, make, runner, town, client):
    from tests.conftest import sign_in

    streets, potholes, _lights = town
    _history(make, db, streets, potholes, list(range(1, 31)))
    _rebuild(runner)
    case = _file(db, app.extensions["portal.settings"])
    sign_in(client, make.staff(streets, role="agent"))
    html = client.get(f"/staff/cases/{case.reference}").get_data(as_text=True)
    panel = html.split('id="sla-heading"', 1)[1].split("</section>", 1)[0]
    assert "Usually done by" in panel
    assert (NOW + 24 * HOUR).isoformat() in panel


def test_too_little_history_gives_no_forecast_and_the_page_is_as_before(
    app, db, make, runner, town, client
):
    streets, potholes, _lights = town
    _history(make, db, streets, potholes, list(range(1, 11)))  # 10 < 20 examples
    _rebuild(runner)
    assert db.scalar(select(ForecastGroup)) is None
    case = _file(db, app.extensions["portal.settings"])
    assert _case_clock(db, case).forecast_at is None
    html = client.get(f"/requests/{case.reference}").get_data(as_text=True)
    assert "Expected resolution:" in html and "Most requests like this one" not in html


def test_a_category_without_enough_history_uses_its_department(app, db, make, runner, town):
    streets, potholes, lights = town
    _history(make, db, streets, potholes, [10] * 15)
    _history(make, db, streets, lights, [20] * 15, days_ago=20)
    _rebuild(runner)
    keys = set(db.scalars(select(ForecastGroup.key)))
    assert keys == {forecasts.group_key(streets.id, "case", "calendar_days")}
    case = _file(db, app.extensions["portal.settings"], code="light")
    assert _case_clock(db, case).forecast_seconds == 20 * 3600


def test_an_open_case_past_its_forecast_is_asked_again_given_the_time_worked(
    app, db, make, runner, town, client, freeze_clock
):
    streets, potholes, _lights = town
    _history(make, db, streets, potholes, list(range(1, 31)))
    _rebuild(runner)
    case = _file(db, app.extensions["portal.settings"])
    # 26 hours later the first forecast (24 h) has passed: of the work that took longer
    # than 26 h (27 to 30 h), the 80th percentile.
    later = NOW + 26 * HOUR
    freeze_clock(later)
    html = client.get(f"/requests/{case.reference}").get_data(as_text=True)
    assert "Most requests like this one are finished by:" in html
    clock = _case_clock(db, case)
    from portal.sla import service

    moment = service.case_forecast(db, case, now=later)
    assert moment is not None and later < moment <= NOW + 30 * HOUR
    assert clock.forecast_at == NOW + 24 * HOUR  # what was first shown is kept


def test_the_calibration_counts_forecasts_whose_date_has_passed(
    app, db, make, runner, town, client
):
    streets, potholes, _lights = town
    _history(make, db, streets, potholes, list(range(1, 31)), days_ago=60)
    clocks = db.scalars(select(SlaClock)).all()
    # Ten of them had a forecast of 20 hours: the ones that took up to 20 h finished by it.
    for clock in clocks[:25:]:
        clock.forecast_seconds = 20 * 3600
        clock.forecast_at = clock.started_at + 20 * HOUR
    db.flush()
    _rebuild(runner)
    rows = db.scalars(select(ForecastCalibration)).all()
    assert [(r.category_id, r.judged, r.finished_by) for r in rows] == [(potholes.id, 25, 20)]
    html = client.get("/performance").get_data(as_text=True)
    table = html[html.index('id="calibration"') : html.index('id="open-data"')]
    cells = re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", table, re.S)
    # The department's row, then its category's: 25 dates passed, 80% finished by them.
    assert [re.sub(r"<[^>]+>", "", c).strip() for c in cells[4:]] == [
        "Streets", "25", "80%", "Yes",
        "Streets: Pothole", "25", "80%", "Yes",
    ]  # fmt: skip
    spanish = client.get("/performance?lang=es").get_data(as_text=True)
    assert "Con qué frecuencia se cumplen nuestras fechas" in spanish


def test_the_backlog_factor_scales_the_forecast(app, db, make, runner, town):
    streets, potholes, _lights = town
    _history(make, db, streets, potholes, [10] * 40)
    # 40 clocks started in a 182-day window, each open 10 hours on average: about 0.09 open
    # at a time, too few to say anything: the factor stays 1.
    _rebuild(runner)
    group = db.scalar(select(ForecastGroup).where(ForecastGroup.category_id.is_(None)))
    assert group.backlog_factor == 1.0
    assert forecasts.forecast_seconds(group) == 10 * 3600


@pytest.mark.pure
def test_conditional_percentiles_and_shares_are_inverse():
    points = forecasts.sketch([float(v) for v in range(1, 101)])
    assert forecasts.quantile(points, 0.5) == 50
    assert forecasts.share_within(points, 50) == pytest.approx(0.5)
    # Of the work that took more than 50, the median is about 75.
    assert forecasts.remaining(points, 0.5, 50) == pytest.approx(75, abs=1)
    assert forecasts.remaining(points, 0.8, 200) == 200


def test_the_worker_rebuilds_once_a_day_even_with_nothing_to_forecast(app, settings):
    """A new city has no history to learn from: the daily job still runs once a day, not every
    worker round."""
    database = app.extensions["portal.db"]
    assert forecasts.rebuild_forecasts(database, settings, NOW) is not None
    assert forecasts.rebuild_forecasts(database, settings, NOW + HOUR) is None
    assert forecasts.rebuild_forecasts(database, settings, NOW + 23 * HOUR) is None
    assert forecasts.rebuild_forecasts(database, settings, NOW + DAY) is not None
