"""Department scorecards: every figure against a hand-computed value, at the edges."""

from datetime import UTC, date, datetime, timedelta

import pytest

from portal.reports.periods import Period
from portal.reports.scorecard_queries import DepartmentFigures
from portal.reports.scorecards import (
    as_table,
    department_board,
    department_detail,
    wall_of_fame,
    wall_of_shame,
)
from portal.requests.models import Event
from tests.plans import sqlite_plans

TZ = "America/Chicago"
MARCH = Period.containing("month", date(2026, 3, 10))
# March 2026 in Chicago: from CST midnight to CDT midnight.
START = datetime(2026, 3, 1, 6, 0, tzinfo=UTC)
END = datetime(2026, 4, 1, 5, 0, tzinfo=UTC)
LATER = datetime(2026, 5, 20, tzinfo=UTC)
H = 3600
SECOND = timedelta(seconds=1)


def test_the_period_bounds_used_below():
    assert MARCH.bounds(TZ) == (START, END)


def board_of(db, period=MARCH, **kw):
    return {row.figures.name: row for row in department_board(db, period, tz=TZ, now=LATER, **kw)}


def department(make, name):
    dept = make.department(name=name)
    return dept, make.category(department=dept)


def clock(
    make, category, *, kind="resolution", stage="met", hours=1.0, stopped_at=None, task=True, **kw
):
    request = make.request(category=category)
    task_row = make.task(request) if task else None
    return make.sla_clock(
        request,
        task=task_row,
        kind=kind,
        stage=stage,
        working_seconds=int(hours * H),
        started_at=START - timedelta(days=40),
        stopped_at=stopped_at or START + timedelta(days=3),
        **kw,
    )


# -- tasks opened and closed ---------------------------------------------------------------


def test_tasks_opened_and_closed_are_counted_inside_the_period_only(make, db):
    dept, category = department(make, "Roads")
    request = make.request(category=category)
    for created in (START, START + timedelta(days=10), END - SECOND):
        make.task(request, created_at=created)
    for created in (START - SECOND, END):
        make.task(request, created_at=created)
    for closed in (START, END - SECOND):
        make.task(
            request,
            created_at=START - timedelta(days=50),
            status="done",
            is_open=False,
            closed_at=closed,
        )
    for closed in (START - SECOND, END):
        make.task(
            request,
            created_at=START - timedelta(days=50),
            status="done",
            is_open=False,
            closed_at=closed,
        )
    figures = board_of(db)["Roads"].figures
    assert (figures.tasks_opened, figures.tasks_closed) == (3, 2)
    assert figures.department_id == dept.id


# -- SLA compliance and working-hour percentiles --------------------------------------------


def test_compliance_counts_clocks_stopped_in_the_period_met_or_breached(make, db):
    _dept, category = department(make, "Roads")
    clock(make, category, stage="met", stopped_at=START, hours=1)  # in: at the start
    clock(make, category, stage="breached", stopped_at=END - SECOND, hours=9)  # in
    clock(
        make,
        category,
        stage="met",
        hours=2,  # breached, then met
        breached_at=START + timedelta(days=1),
    )
    clock(make, category, stage="met", hours=3)  # in
    clock(make, category, stage="met", stopped_at=END, hours=100)  # out: at the end
    clock(make, category, stage="met", stopped_at=START - SECOND, hours=100)  # out
    clock(make, category, stage="cancelled", hours=100)  # measured nothing
    clock(make, category, stage="transferred", hours=100)
    clock(make, category, stage="running", hours=100)
    clock(make, category, stage="met", hours=100, task=False)  # the case's own
    clock(make, category, kind="update", stage="breached", hours=100, task=False)
    clock(make, category, kind="first_response", stage="met", hours=0.5, task=False)
    clock(make, category, kind="first_response", stage="breached", hours=6, task=False)
    clock(make, category, kind="first_response", stage="met", stopped_at=END, hours=100, task=False)
    figures = board_of(db)["Roads"].figures
    # Resolution: 1h met, 9h breached, 2h breached (recorded breach), 3h met.
    assert figures.resolution_clocks == 4
    assert figures.resolution_compliance == pytest.approx(0.5)
    assert figures.median_resolution_hours == 2  # rank ceil(0.5 * 4) = 2 of 1, 2, 3, 9
    assert figures.p90_resolution_hours == 9  # rank ceil(0.9 * 4) = 4
    assert figures.first_response_clocks == 2
    assert figures.first_response_compliance == pytest.approx(0.5)
    assert figures.median_first_response_hours == 0.5  # rank 1 of 0.5, 6
    assert figures.p90_first_response_hours == 6


@pytest.mark.parametrize(
    ("hours", "median", "p90"),
    [
        ([7.25], 7.25, 7.25),  # n = 1
        ([4, 1, 3, 2], 2, 4),  # even n: the lower middle
        ([5, 1, 3], 3, 5),  # odd n
        (list(range(1, 11)), 5, 9),  # n = 10: ranks 5 and 9
        (list(range(1, 12)), 6, 10),  # n = 11: ranks 6 and ceil(9.9) = 10
        ([2, 2, 2, 9], 2, 9),  # ties
        ([1, 4, 4, 4, 4], 4, 4),
    ],
)
def test_nearest_rank_median_and_p90(make, db, hours, median, p90):
    _dept, category = department(make, "Roads")
    for value in hours:
        clock(make, category, hours=value)
    figures = board_of(db)["Roads"].figures
    assert figures.resolution_clocks == len(hours)
    assert (figures.median_resolution_hours, figures.p90_resolution_hours) == (median, p90)


def test_no_clock_ended_means_no_compliance(make, db):
    department(make, "Roads")
    figures = board_of(db)["Roads"].figures
    assert figures.resolution_compliance is None
    assert figures.first_response_compliance is None
    assert figures.median_resolution_hours is None and figures.p90_resolution_hours is None
    assert (figures.resolution_clocks, figures.first_response_clocks) == (0, 0)


# -- backlog --------------------------------------------------------------------------------


def test_backlog_at_the_period_end_with_ages_on_bucket_boundaries(make, db):
    _dept, category = department(make, "Roads")
    request = make.request(category=category)

    def task(created, closed=None):
        make.task(
            request,
            created_at=created,
            status="done" if closed else "open",
            is_open=closed is None,
            closed_at=closed,
        )

    task(END - timedelta(days=2) + SECOND)  # under 2 days
    task(END - timedelta(days=2))  # exactly 2 days: 2 to 7
    task(END - timedelta(days=7) + SECOND)  # 2 to 7
    task(END - timedelta(days=7), closed=END)  # closed at the end: 7 to 30
    task(END - timedelta(days=30) + SECOND, closed=LATER)  # 7 to 30
    task(END - timedelta(days=30), closed=END + SECOND)  # exactly 30 days: 30 and over
    task(END - timedelta(days=400))  # 30 and over
    task(END - timedelta(days=9), closed=END - SECOND)  # closed before the end: out
    task(END)  # created at the end: out
    task(END - timedelta(days=3), closed=START)  # out
    figures = board_of(db)["Roads"].figures
    assert figures.backlog == 7
    assert figures.backlog_ages == {
        "under_2_days": 1,
        "2_to_7_days": 2,
        "7_to_30_days": 2,
        "30_days_and_over": 2,
    }


def test_backlog_of_a_period_not_over_yet_is_measured_now(make, db):
    _dept, category = department(make, "Roads")
    request = make.request(category=category)
    now = START + timedelta(days=10)
    make.task(request, created_at=now - timedelta(days=3))
    make.task(request, created_at=now - timedelta(days=1))
    make.task(
        request,
        created_at=now - timedelta(days=1),
        status="done",
        is_open=False,
        closed_at=now - SECOND,
    )
    row = {r.figures.name: r for r in department_board(db, MARCH, tz=TZ, now=now)}["Roads"]
    assert row.figures.backlog == 2
    assert row.figures.backlog_ages["under_2_days"] == 1
    assert row.figures.backlog_ages["2_to_7_days"] == 1


# -- reopen rate ----------------------------------------------------------------------------


def event(make, request, kind, at, **data):
    return make._add(Event(request_id=request.id, kind=kind, data=data, created_at=at))


def test_reopen_rate_counts_each_case_once(make, db):
    _dept, category = department(make, "Roads")
    r1, r2, r3, r4, r5 = (make.request(category=category) for _ in range(5))
    for request in (r1, r2, r3):
        event(make, request, "status_changed", START + timedelta(days=2), to="resolved")
    event(make, r1, "reopened", START + timedelta(days=3))
    event(make, r1, "status_changed", START + timedelta(days=4), to="resolved")  # again
    event(make, r1, "reopened", START + timedelta(days=5))
    event(make, r4, "status_changed", START - SECOND, to="resolved")  # before
    event(make, r4, "reopened", START)  # in
    event(make, r5, "status_changed", END, to="resolved")  # after
    event(make, r5, "reopened", END)
    event(make, r2, "status_changed", START + timedelta(days=6), to="in_progress")
    figures = board_of(db)["Roads"].figures
    assert (figures.reopened, figures.resolved) == (2, 3)
    assert figures.reopen_rate == pytest.approx(2 / 3)


def test_no_resolution_means_no_reopen_rate(make, db):
    _dept, category = department(make, "Roads")
    event(make, make.request(category=category), "reopened", START + timedelta(days=1))
    figures = board_of(db)["Roads"].figures
    assert (figures.reopened, figures.resolved, figures.reopen_rate) == (1, 0, None)


# -- re-categorisation rate ------------------------------------------------------------------


def test_recategorisation_rate_of_the_requests_filed_in_the_period(make, db):
    _dept, category = department(make, "Roads")
    filed = [
        make.request(category=category, created_at=at)
        for at in (START, START + timedelta(days=3), START + timedelta(days=9), END - SECOND)
    ]
    before = make.request(category=category, created_at=START - SECOND)
    after = make.request(category=category, created_at=END)
    # Re-filed by staff: two of March's requests (one twice, one only in April), and the
    # requests filed outside March.
    for request, at in (
        (filed[0], START + timedelta(days=1)),
        (filed[0], START + timedelta(days=2)),
        (filed[3], END + timedelta(days=2)),
        (before, START + timedelta(days=1)),
        (after, END + timedelta(days=1)),
    ):
        event(make, request, "internal_note", at, action="category", to="Signs")
    # Other internal entries are not re-categorisations.
    event(make, filed[1], "internal_note", START + timedelta(days=4), action="priority")
    event(make, filed[2], "internal_note", START + timedelta(days=4))
    figures = board_of(db)["Roads"].figures
    assert (figures.recategorised, figures.filed) == (2, 4)
    assert figures.recategorisation_rate == pytest.approx(0.5)
    (by_category,) = department_detail(db, _dept.id, MARCH, tz=TZ, by="category", now=LATER)
    assert (by_category.recategorised, by_category.filed) == (2, 4)


def test_nothing_filed_means_no_recategorisation_rate(make, db):
    _dept, category = department(make, "Roads")
    clock(make, category)  # a figure, but no request filed in March
    figures = board_of(db)["Roads"].figures
    assert (figures.recategorised, figures.filed, figures.recategorisation_rate) == (0, 0, None)


# -- satisfaction ---------------------------------------------------------------------------


def test_satisfaction_is_the_mean_csat_from_five_answers(make, db):
    five, four = department(make, "Roads"), department(make, "Parks")
    for dept, scores in ((five[0], [5, 4, 4, 3, 1, None]), (four[0], [5, 5, 5, 5])):
        for score in scores:
            make.survey_response(
                department_id=dept.id, csat=score, created_at=START + timedelta(days=1)
            )
    make.survey_response(department_id=five[0].id, csat=1, created_at=END)
    make.survey_response(department_id=four[0].id, csat=1, created_at=START - SECOND)
    board = board_of(db)
    assert board["Roads"].figures.responses == 6
    assert board["Roads"].figures.satisfaction == pytest.approx(17 / 5)
    assert board["Parks"].figures.responses == 4
    assert board["Parks"].figures.satisfaction is None  # fewer than five: hidden


# -- the board ------------------------------------------------------------------------------


def test_board_ranks_and_compares_with_the_previous_period(make, db):
    feb = START - timedelta(days=10)
    roads, parks, water, idle = (
        department(make, n)[1] for n in ("Roads", "Parks", "Water", "Idle")
    )
    # March: Water 100%; Roads and Parks 50%, Roads faster (median 2h against 3h).
    clock(make, water, hours=8)
    clock(make, roads, hours=2)
    clock(make, roads, hours=1, stage="breached")
    clock(make, parks, hours=3)
    clock(make, parks, hours=5, stage="breached")
    # February: Parks 100%, Roads 0%, Water nothing.
    clock(make, parks, hours=4, stopped_at=feb)
    clock(make, roads, hours=6, stopped_at=feb, stage="breached")
    rows = [
        r
        for r in department_board(db, MARCH, tz=TZ, now=LATER, min_tasks=1)
        if r.figures.name in ("Roads", "Parks", "Water", "Idle")
    ]
    assert [(r.figures.name, r.rank, r.previous_rank) for r in rows] == [
        ("Water", 1, None),
        ("Roads", 2, 2),
        ("Parks", 3, 1),
        ("Idle", None, None),
    ]
    water_row, roads_row, parks_row, idle_row = rows
    assert roads_row.change("resolution_compliance") == pytest.approx(0.5)
    assert parks_row.change("resolution_compliance") == pytest.approx(-0.5)
    assert roads_row.change("median_resolution_hours") == pytest.approx(1 - 6)
    assert water_row.change("resolution_compliance") is None
    assert roads_row.rank_change == 0 and parks_row.rank_change == -2
    assert water_row.rank_change is None
    assert parks_row.previous.median_resolution_hours == 4
    assert idle_row.figures == DepartmentFigures(idle_row.figures.department_id, "Idle")

    mine = [r for r in rows if r.rank is not None]
    assert [r.figures.name for r in wall_of_fame(mine, 1)] == ["Water"]
    assert [r.figures.name for r in wall_of_shame(mine, 1)] == ["Parks"]
    # At most half of the ranked departments on each wall: never one on both.
    assert [r.figures.name for r in wall_of_shame(mine, 3)] == ["Parks"]
    assert wall_of_fame(mine[:1]) == [] and wall_of_shame(mine[:1]) == []


def test_board_names_in_spanish_and_leaves_inactive_departments_out(make, db):
    make.department(name="Roads", translations={"es": {"name": "Calles"}})
    make.department(name="Closed", active=False)
    names = {r.figures.name for r in department_board(db, MARCH, tz=TZ, locale="es", now=LATER)}
    assert "Calles" in names and "Closed" not in names


# -- drill-downs ----------------------------------------------------------------------------


def test_drill_down_by_category_area_and_agent(make, db):
    dept, potholes = department(make, "Roads")
    signs = make.category(department=dept, name="Signs")
    potholes.name = "Potholes"
    north, south = make.area(name="North"), make.area(name="South")
    ana = make.staff(dept, name="Ana")
    bo = make.staff(dept, name="Bo")
    day = START + timedelta(days=2)
    cases = [
        (potholes, north, ana, 2, "met"),
        (potholes, south, bo, 4, "breached"),
        (signs, north, ana, 6, "met"),
        (signs, None, None, 8, "met"),
    ]
    for category, area, agent, hours, stage in cases:
        request = make.request(category=category, area_id=area.id if area else None)
        task = make.task(request, created_at=day, assignee_id=agent.id if agent else None)
        make.sla_clock(
            request,
            task=task,
            stage=stage,
            working_seconds=hours * H,
            started_at=day,
            stopped_at=day + timedelta(days=1),
        )
        make.survey_response(
            request_id=request.id,
            department_id=dept.id,
            category_id=category.id,
            csat=4,
            created_at=day,
        )
    by_category = department_detail(db, dept.id, MARCH, tz=TZ, by="category", now=LATER)
    assert [
        (
            r.name,
            r.tasks_opened,
            r.resolution_clocks,
            r.resolution_compliance,
            r.median_resolution_hours,
            r.backlog,
            r.responses,
        )
        for r in by_category
    ] == [("Potholes", 2, 2, 0.5, 2, 2, 2), ("Signs", 2, 2, 1.0, 6, 2, 2)]
    assert {r.group_id for r in by_category} == {potholes.id, signs.id}
    assert all(r.department_id == dept.id for r in by_category)

    by_area = department_detail(db, dept.id, MARCH, tz=TZ, by="area", now=LATER)
    assert [(r.name, r.group_id, r.tasks_opened, r.median_resolution_hours) for r in by_area] == [
        ("North", north.id, 2, 2),
        ("South", south.id, 1, 4),
        ("", None, 1, 8),
    ]

    by_agent = department_detail(
        db, dept.id, MARCH, tz=TZ, by="agent", include_agents=True, now=LATER
    )
    assert [
        (
            r.name,
            r.tasks_opened,
            r.resolution_compliance,
            r.p90_resolution_hours,
            r.responses,
            r.reopen_rate,
        )
        for r in by_agent
    ] == [
        ("Ana", 2, 1.0, 6, None, None),
        ("Bo", 1, 0.0, 4, None, None),
        ("", 1, 1.0, 8, None, None),
    ]


def test_agent_figures_need_permission_and_groupings_are_checked(make, db):
    dept, _category = department(make, "Roads")
    with pytest.raises(ValueError, match="supervisors"):
        department_detail(db, dept.id, MARCH, tz=TZ, by="agent")
    with pytest.raises(ValueError, match="Unknown drill-down"):
        department_detail(db, dept.id, MARCH, tz=TZ, by="colour")


def test_as_table_spreads_the_backlog_ages():
    header, body = as_table(
        [
            DepartmentFigures(
                7,
                "Roads",
                backlog=3,
                backlog_ages={
                    "under_2_days": 1,
                    "2_to_7_days": 0,
                    "7_to_30_days": 2,
                    "30_days_and_over": 0,
                },
            )
        ]
    )
    assert header[:3] == ["department_id", "name", "group_id"]
    assert header[-4:] == [
        "backlog_under_2_days",
        "backlog_2_to_7_days",
        "backlog_7_to_30_days",
        "backlog_30_days_and_over",
    ]
    assert body[0][:2] == [7, "Roads"] and body[0][-4:] == [1, 0, 2, 0]


# -- query plans ----------------------------------------------------------------------------


def test_board_and_drill_downs_read_index_ranges(make, db):
    dept, category = department(make, "Roads")
    clock(make, category)

    def run():
        department_board(db, MARCH, tz=TZ, now=LATER)
        for by in ("category", "area", "agent"):
            department_detail(db, dept.id, MARCH, tz=TZ, by=by, include_agents=True, now=LATER)

    plans = sqlite_plans(db, run)
    text = "\n".join(plans)
    for table in ("tasks", "sla_clocks", "request_events", "survey_responses"):
        assert f"SCAN {table}" not in text, text
    # The backlog: never-closed tasks (open ones, or closed_at null), plus tasks closed
    # since the period end; never the whole history of the department.
    assert (
        "(department_id=? AND is_open=?)" in text
        or "ix_tasks_department_closed (department_id=? AND closed_at=?)" in text
    )
    assert "ix_tasks_department_closed (department_id=? AND closed_at>?)" in text
    assert "created_at<?)" not in text.replace("created_at>? AND created_at<?)", "")
    for index in (
        "ix_tasks_department_created",
        "ix_tasks_department_closed",
        "ix_sla_clocks_department_kind_stopped",
        "ix_request_events_kind_created",
        "ix_survey_responses_department_created",
        "ix_request_events_request_id_id",
        "ix_service_requests_created_id",
    ):
        assert f"USING INDEX {index}" in text or f"USING COVERING INDEX {index}" in text, (
            index,
            text,
        )
