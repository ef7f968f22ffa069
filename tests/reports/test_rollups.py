"""Report roll-ups: the pages read figures the worker computed, equal to counting them now;
the worker keeps them current and leaves settled periods alone; a page computes what is
missing or left too old; two writers of one roll-up leave one."""

from __future__ import annotations

import random
from dataclasses import asdict, replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from portal.reports import hotspots, rollups, sentiment
from portal.reports.catalogue import REPORTS
from portal.reports.models import ReportRollup
from portal.reports.periods import KINDS, Period
from portal.reports.scorecards import GROUPINGS, department_board, department_detail
from portal.requests.models import Event
from tests.conftest import sign_in
from tests.scratch import ENGINES, arrange, scratch_app
from tests.threads import together

TZ = "America/Chicago"
ZONE = ZoneInfo(TZ)
NOW = datetime(2026, 3, 20, 15, 0, tzinfo=UTC)
TODAY = NOW.astimezone(ZONE).date()
H = 3600


@pytest.fixture
def settings(settings):
    """These small cities rank every department with a task finished: the minimum volume and
    the Wilson ranking are tested in test_fair_walls.py."""
    return replace(settings, wall_min_tasks=1)


@pytest.fixture(autouse=True)
def frozen(freeze_clock):
    freeze_clock(NOW)


def local(day: date, hour: int = 12) -> datetime:
    return datetime.combine(day, time(hour), ZONE).astimezone(UTC)


def build_city(make, seed: int = 3) -> dict:
    """Two departments, three categories, two areas, two agents; 60 cases filed from
    November 2025 to today, each with a task (most closed, by an agent), first-response and
    resolution clocks (met or breached), some reopened, some answered surveys."""
    rng = random.Random(seed)
    departments = [make.department(name=name) for name in ("Roads", "Parks")]
    categories = [make.category(department=departments[i % 2], name=f"Work {i}") for i in range(3)]
    areas = [make.area(name="Northside"), make.area(name="Southside")]
    agents = {d.id: make.staff(d, name=f"Agent of {d.name}") for d in departments}
    first = date(2025, 11, 3)
    for n in range(60):
        day = first + timedelta(days=rng.randrange((TODAY - first).days) if n else 0)
        category = rng.choice(categories)
        filed = local(day, rng.randrange(7, 18))
        area = rng.choice(areas + [None])
        request = make.request(
            category=category, area_id=area.id if area else None, created_at=filed
        )
        closed = filed + timedelta(hours=rng.randrange(1, 200))
        done = closed < NOW and rng.random() < 0.8
        task = make.task(
            request,
            created_at=filed,
            status="done" if done else "open",
            is_open=not done,
            closed_at=closed if done else None,
            assignee_id=agents[category.department_id].id if done else None,
        )
        answered = filed + timedelta(hours=rng.randrange(1, 30))
        if answered < NOW:
            make.sla_clock(
                request,
                kind="first_response",
                started_at=filed,
                stopped_at=answered,
                working_seconds=rng.randrange(H, 12 * H),
                stage=rng.choice(("met", "breached")),
            )
        if done:
            make.sla_clock(
                request,
                task=task,
                kind="resolution",
                started_at=filed,
                stopped_at=closed,
                working_seconds=rng.randrange(H, 60 * H),
                stage=rng.choice(("met", "met", "breached")),
            )
            make.session.add(
                Event(
                    request_id=request.id,
                    kind="status_changed",
                    public=True,
                    actor_kind="staff",
                    body="",
                    data={"to": "resolved"},
                    created_at=closed,
                )
            )
            if rng.random() < 0.2 and closed + timedelta(days=2) < NOW:
                make.session.add(
                    Event(
                        request_id=request.id,
                        kind="reopened",
                        public=True,
                        actor_kind="resident",
                        body="",
                        data={},
                        created_at=closed + timedelta(days=2),
                    )
                )
            if closed + timedelta(days=1) < NOW and rng.random() < 0.7:
                make.survey_response(
                    request_id=request.id,
                    department_id=request.department_id,
                    category_id=request.category_id,
                    csat=rng.randrange(1, 6),
                    comment=rng.choice(("", "Thanks", "Too slow")),
                    created_at=closed + timedelta(days=1),
                )
    make.session.flush()
    return {"departments": departments, "categories": categories, "areas": areas}


def reader(app, db, **kw) -> rollups.RollupReader:
    settings = app.extensions["portal.settings"]
    return rollups.RollupReader(
        app.extensions["portal.db"],
        db,
        tz=TZ,
        refresh_seconds=settings.report_refresh_seconds,
        **kw,
    )


def periods() -> list[Period]:
    found = []
    for kind in KINDS:
        current = Period.containing(kind, TODAY)
        found += [current, current.previous(), current.previous().previous()]
    return found


def board_rows(rows) -> list[tuple]:
    return [(asdict(r.figures), asdict(r.previous), r.rank, r.previous_rank) for r in rows]


def test_rolled_up_figures_equal_counting_them_now(app, db, make):
    city = build_city(make)
    cached = reader(app, db)
    for period in periods():
        assert board_rows(department_board(db, period, tz=TZ, rollups=cached)) == board_rows(
            department_board(db, period, tz=TZ)
        )
        for department in city["departments"]:
            for by in GROUPINGS:
                assert [
                    asdict(f)
                    for f in department_detail(
                        db, department.id, period, tz=TZ, by=by, include_agents=True, rollups=cached
                    )
                ] == [
                    asdict(f)
                    for f in department_detail(
                        db, department.id, period, tz=TZ, by=by, include_agents=True
                    )
                ]
        for category_id in (None, city["categories"][0].id):
            assert hotspots.volumes(
                db, period, tz=TZ, category_id=category_id, rollups=cached
            ) == hotspots.volumes(db, period, tz=TZ, category_id=category_id)
            assert hotspots.trend(
                db,
                kind=period.kind,
                periods=6,
                tz=TZ,
                last=period,
                category_id=category_id,
                rollups=cached,
            ) == hotspots.trend(
                db, kind=period.kind, periods=6, tz=TZ, last=period, category_id=category_id
            )
        assert hotspots.volumes(
            db, period, tz=TZ, area_id=city["areas"][1].id, rollups=cached
        ) == hotspots.volumes(db, period, tz=TZ, area_id=city["areas"][1].id)
        assert hotspots.spikes(db, period, tz=TZ, rollups=cached) == hotspots.spikes(
            db, period, tz=TZ
        )
        assert sentiment.sentiment(db, period, tz=TZ, rollups=cached) == sentiment.sentiment(
            db, period, tz=TZ
        )
    # Something was counted, so the comparisons above compared figures, not empty lists.
    month = Period.containing("month", TODAY).previous()
    assert sum(r.figures.tasks_closed for r in department_board(db, month, tz=TZ)) > 0
    assert hotspots.volumes(db, month, tz=TZ).total > 0
    assert any(m.responses for m in sentiment.sentiment(db, month, tz=TZ))
    assert cached.oldest_live == NOW


def headers(db) -> dict[tuple[str, str, date], datetime]:
    return {
        (r.report, r.period_kind, r.period_start): r.computed_at
        for r in db.execute(select(ReportRollup).where(ReportRollup.part == "")).scalars()
    }


def opened_this_month(db) -> int:
    month = Period.containing("month", TODAY)
    roll = rollups.read(db, REPORTS[0], month)
    return sum(figures["tasks_opened"] for rows in roll.parts.values() for _k, figures in rows)


def test_the_worker_keeps_the_window_current_and_leaves_settled_periods(
    app, db, make, runner, freeze_clock, monkeypatch
):
    # One round computes the whole window however busy the machine is (the budget that
    # spreads it over rounds has a test of its own, below).
    monkeypatch.setattr(rollups, "BUDGET", 600.0)
    city = build_city(make)
    result = runner.invoke(args=["worker", "--once"])
    assert result.exit_code == 0, result.output
    first = headers(db)
    # Every report, for each kind's periods back to the one holding the first case
    # (3 November 2025): 21 weeks, 5 months, 2 quarters -- but no more than 13 of a kind.
    assert {
        (kind, sum(1 for r, k, _s in first if k == kind and r == REPORTS[0].name)) for kind in KINDS
    } == {("week", 13), ("month", 5), ("quarter", 2)}
    assert len(first) == len(REPORTS) * (13 + 5 + 2)
    assert f"refreshed {len(first)} report roll-up(s)" in result.output
    before = opened_this_month(db)

    # A new case: the roll-up shows it once the refresh interval has passed and the worker
    # has run again, not before.
    make.task(make.request(category=city["categories"][0]), created_at=NOW)
    make.session.flush()
    freeze_clock(NOW + timedelta(seconds=299))
    assert "report roll-up" not in runner.invoke(args=["worker", "--once"]).output
    assert opened_this_month(db) == before
    later = NOW + timedelta(seconds=301)
    freeze_clock(later)
    runner.invoke(args=["worker", "--once"])
    assert opened_this_month(db) == before + 1
    second = headers(db)
    settled = [
        key
        for key, at in first.items()
        if rollups.is_final(Period.containing(key[1], key[2]), at, TZ)
    ]
    assert settled  # e.g. November 2025, computed in March 2026
    assert all(second[key] == first[key] for key in settled)
    assert all(second[key] == later for key in set(first) - set(settled))


def test_a_worker_round_stops_at_its_budget_and_the_next_one_goes_on(app, db, make):
    build_city(make)
    database = app.extensions["portal.db"]
    assert (
        rollups.refresh(database, REPORTS, tz=TZ, refresh_seconds=300, now=NOW, budget=0) == 1
    )  # at least one a round: the newest first
    assert list(headers(db)) == [(REPORTS[0].name, "week", Period.containing("week", TODAY).start)]
    assert rollups.refresh(database, REPORTS, tz=TZ, refresh_seconds=300, now=NOW, budget=0) == 1
    everything = rollups.refresh(database, REPORTS, tz=TZ, refresh_seconds=300, now=NOW, budget=60)
    assert len(headers(db)) == 2 + everything == len(REPORTS) * (13 + 5 + 2)


def test_no_cases_no_work(app, db):
    assert (
        rollups.refresh(app.extensions["portal.db"], REPORTS, tz=TZ, refresh_seconds=300, now=NOW)
        == 0
    )
    assert db.scalar(select(func.count()).select_from(ReportRollup)) == 0


def test_a_page_computes_a_rollup_that_is_missing_or_left_too_old(app, db, make, freeze_clock):
    city = build_city(make)
    month = Period.containing("month", TODAY)
    report = REPORTS[0]
    assert rollups.read(db, report, month) is None
    department_board(db, month, tz=TZ, rollups=reader(app, db))
    assert rollups.read(db, report, month).computed_at == NOW
    make.task(make.request(category=city["categories"][0]), created_at=NOW)
    make.session.flush()
    # Within three refresh intervals the stored figures are shown (with their time) ...
    freeze_clock(NOW + timedelta(seconds=900))
    shown = reader(app, db)
    department_board(db, month, tz=TZ, rollups=shown)
    assert shown.oldest_live == NOW
    assert rollups.read(db, report, month).computed_at == NOW
    # ... after that the worker is behind: the page counts them itself. (February's
    # roll-up, computed more than a week after February ended, is final and stays.)
    freeze_clock(NOW + timedelta(seconds=901))
    shown = reader(app, db)
    rows = department_board(db, month, tz=TZ, rollups=shown)
    assert rollups.read(db, report, month).computed_at == NOW + timedelta(seconds=901)
    assert rollups.read(db, report, month.previous()).computed_at == NOW
    assert rows == department_board(db, month, tz=TZ)


def test_pages_say_when_their_figures_were_computed(app, client, db, make):
    city = build_city(make)
    sign_in(client, make.staff(city["departments"][0], role="supervisor"))
    for path in (
        "/staff/reports?period=month",
        f"/staff/reports/departments/{city['departments'][0].id}?by=area",
        "/staff/reports/hotspots",
        "/performance",
    ):
        html = client.get(path).get_data(as_text=True)
        # 15:00 UTC is 10:00 in Chicago (daylight time from 8 March 2026).
        # One date-and-time format per language, without seconds (issue 20).
        assert "Figures as of Mar 20, 2026, 10:00\u202fAM" in html, path
    spanish = client.get("/performance?lang=es").get_data(as_text=True)
    assert "Cifras a fecha de 20 mar 2026, 10:00" in spanish
    # January closed more than a week before its figures were computed: they are final.
    closed = client.get("/staff/reports?period=month&start=2026-01-10&lang=en")
    closed = closed.get_data(as_text=True)
    assert "These figures are final: the period is over." in closed
    assert "Figures as of" not in closed


@pytest.mark.parametrize("engine", ENGINES)
def test_two_writers_of_one_rollup_leave_one(engine, settings, tmp_path):
    with scratch_app(engine, settings, tmp_path) as app:
        arrange(app, build_city)
        database = app.extensions["portal.db"]
        month = Period.containing("month", TODAY)

        def store(report=REPORTS[1]):
            with database.transaction(write=False) as session:
                return rollups.compute_and_store(database, session, report, month, tz=TZ)

        results, errors = together([store] * 4)
        assert not errors
        with database.transaction(write=False) as session:
            rows = session.execute(
                select(ReportRollup.part, func.count()).group_by(ReportRollup.part)
            ).all()
            assert {part: n for part, n in rows} == {
                "": 1,
                **{part: 1 for part in results[0].parts},
            }
            assert rollups.read(session, REPORTS[1], month).parts == results[0].parts
