"""SLA state on screen: queue tags, filters and the due sort; the escalations view; the case's
SLA panel and category change; the resident's expected resolution date and why it moved.

States are arranged by writing the task columns and SLA clocks directly (the clocks' own
arithmetic is tested in tests/sla/test_flow.py)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from portal.casework.models import Task
from portal.casework.queues import Filters, queue_page
from portal.requests.models import Event
from portal.sla.escalations import Usage, clock_usage, escalations_page
from tests.casework.test_case import act, sign_in
from tests.plans import sqlite_plans

#: Monday 7 September 2026, 10:00 in Chicago.
NOW = datetime(2026, 9, 7, 15, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
TASK_RE = re.compile(r'name="task" value="(\d+)"')
ROW_RE = re.compile(r'id="escalation-(\d+)"')


@pytest.fixture(autouse=True)
def frozen(freeze_clock):
    freeze_clock(NOW)


@dataclass
class Town:
    streets: object
    water: object
    potholes: object
    leaks: object
    agent: object
    supervisor: object
    water_supervisor: object
    admin: object


@pytest.fixture
def town(make) -> Town:
    streets = make.department(code="streets", name="Streets")
    water = make.department(code="water", name="Water")
    return Town(
        streets=streets,
        water=water,
        potholes=make.category(department=streets, name="Pothole"),
        leaks=make.category(department=water, name="Leak"),
        agent=make.staff(streets, name="Xavier"),
        supervisor=make.staff(streets, role="supervisor", name="Sue"),
        water_supervisor=make.staff(water, role="supervisor", name="Walt"),
        admin=make.user(role="admin"),
    )


def _states(make, town) -> dict[str, Task]:
    """One open Streets task in each SLA state (and one without a clock)."""
    case = make.request(category=town.potholes)
    return {
        "on_time": make.task(
            case, sla_stage="running", at_risk_at=NOW + 2 * HOUR, due_at=NOW + 4 * HOUR
        ),
        "at_risk": make.task(case, sla_stage="running", at_risk_at=NOW - HOUR, due_at=NOW + HOUR),
        "breached": make.task(
            case,
            sla_stage="running",
            at_risk_at=NOW - 5 * HOUR,
            due_at=NOW - timedelta(hours=3, minutes=20),
        ),
        "paused": make.task(case, sla_stage="paused"),
        "none": make.task(case),
    }


def _ids(response) -> list[int]:
    assert response.status_code == 200, response.status_code
    return [int(i) for i in TASK_RE.findall(response.get_data(as_text=True))]


# -- queues -----------------------------------------------------------------------------------


def test_queue_filters_by_sla_state(client, make, town):
    tasks = _states(make, town)
    sign_in(client, town.agent)
    for state in ("on_time", "at_risk", "breached", "paused"):
        assert _ids(client.get(f"/staff/queue/department?sla={state}")) == [tasks[state].id]
    assert sorted(_ids(client.get("/staff/queue/department"))) == sorted(
        t.id for t in tasks.values()
    )


def test_queue_shows_a_tag_per_task(client, make, town):
    _states(make, town)
    sign_in(client, town.agent)
    html = client.get("/staff/queue/department").get_data(as_text=True)
    assert "SLA" in html
    for label in ("On time", "At risk", "Paused"):
        assert f">{label}</span>" in html
    assert "Breached by 3 hours" in html
    assert "Overdue" not in html  # the SLA tag says it


def test_the_everything_view_filters_cases_by_their_tasks(client, make, town):
    tasks = _states(make, town)
    calm = make.request(category=town.potholes)
    make.task(calm, sla_stage="running", at_risk_at=NOW + HOUR, due_at=NOW + 2 * HOUR)
    sign_in(client, town.admin)
    html = client.get("/staff/queue/everything?sla=breached").get_data(as_text=True)
    assert tasks["breached"].request.reference in html and calm.reference not in html


def test_escalation_queue_filter(client, make, town):
    case = make.request(category=town.potholes)
    escalated = make.task(
        case,
        queue="escalation",
        escalation_level=1,
        sla_stage="running",
        due_at=NOW - HOUR,
        at_risk_at=NOW - 2 * HOUR,
    )
    make.task(case)
    sign_in(client, town.agent)
    response = client.get("/staff/queue/department?queue=escalation")
    assert _ids(response) == [escalated.id]
    assert "Escalation queue" in response.get_data(as_text=True)


def test_closed_tasks_are_never_breached(db, make, town):
    case = make.request(category=town.potholes)
    make.task(case, status="done", closed_at=NOW - HOUR, sla_stage="met", due_at=NOW - 2 * HOUR)
    page = queue_page(
        db,
        view="resolved",
        user_id=town.agent.id,
        department_ids=[town.streets.id],
        filters=Filters(sla="breached"),
        now=NOW,
    )
    assert page.rows == []


def test_garbage_filters_never_fail(client, make, town):
    _states(make, town)
    sign_in(client, town.agent)
    for query in (
        "sla=late&queue=attic&sort=due&after=due.x.y",
        "sla=%20&before=due.99999999999999999999.1&sort=due",
        "queue=&sla=&sort=due&after=due.99991231000000000000.abc",
        "sort=due&after=" + "9" * 500,
    ):
        response = client.get(f"/staff/queue/department?{query}")
        assert response.status_code == 200, query
    html = client.get("/staff/queue/department?sla=late").get_data(as_text=True)
    assert "Not a valid choice" in html
    with pytest.raises(ValueError):
        Filters(sla="late")


def _due_tasks(make, town) -> list[Task]:
    """Nine Streets tasks: six with due times (two sharing one), three without; the expected
    due order (soonest first, id breaking ties, no due time last by id)."""
    case = make.request(category=town.potholes)
    dues = [
        NOW + 5 * HOUR,
        NOW + HOUR,
        None,
        NOW - HOUR,
        NOW + HOUR,
        None,
        NOW + 9 * HOUR,
        None,
        NOW + 2 * HOUR,
    ]
    tasks = [make.task(case, due_at=due) for due in dues]
    dated = sorted((t for t in tasks if t.due_at), key=lambda t: (t.due_at, t.id))
    return dated + sorted((t for t in tasks if not t.due_at), key=lambda t: t.id)


@pytest.mark.parametrize("per_page", [1, 2, 4, 6, 9, 20])
def test_due_sort_pages_forward_and_back(db, make, town, per_page):
    expected = [t.id for t in _due_tasks(make, town)]
    kwargs = dict(
        view="department",
        user_id=town.agent.id,
        department_ids=[town.streets.id],
        sort="due",
        now=NOW,
        per_page=per_page,
    )
    pages, cursor = [], None
    while True:
        page = queue_page(db, after=cursor, **kwargs)
        pages.append([r.task.id for r in page.rows])
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert [i for p in pages for i in p] == expected
    assert all(len(p) == per_page for p in pages[:-1])
    # Back from the last page, one page at a time, to the first.
    page = queue_page(db, after=None if len(pages) == 1 else cursor, **kwargs)
    for number in range(len(pages) - 1, 0, -1):
        page = queue_page(db, before=page.previous_cursor, **kwargs)
        assert [r.task.id for r in page.rows] == pages[number - 1]
    assert page.previous_cursor is None


def test_due_sort_over_http_with_an_sla_filter(client, make, town):
    tasks = _states(make, town)
    sign_in(client, town.agent)
    assert _ids(client.get("/staff/queue/department?sort=due")) == [
        tasks["breached"].id,
        tasks["at_risk"].id,
        tasks["on_time"].id,
        *sorted([tasks["paused"].id, tasks["none"].id]),
    ]


@pytest.mark.parametrize(
    "view, index",
    [("department", "ix_tasks_department_open_due"), ("mine", "ix_tasks_assignee_open_due")],
)
def test_due_sort_reads_the_due_indexes(db, make, town, view, index):
    if db.get_bind().dialect.name != "sqlite":
        pytest.skip("plans checked on SQLite (benchmarks/queues.py --plans for PostgreSQL)")
    _due_tasks(make, town)
    for _ in range(30):  # more cases than tasks, as in a real city
        make.request(category=town.potholes)
    db.execute(text("ANALYZE"))
    plans = sqlite_plans(
        db,
        lambda: queue_page(
            db,
            view=view,
            user_id=town.agent.id,
            department_ids=[town.streets.id],
            sort="due",
            now=NOW,
            after="due.20260907160000000000.1",
        ),
    )
    task_plans = [p for p in plans if "tasks" in p]
    assert len(task_plans) == 2, plans  # with a due time, then without one
    for plan in task_plans:
        assert index in plan and "TEMP B-TREE" not in plan and "SCAN" not in plan, plans


# -- escalations ------------------------------------------------------------------------------


@dataclass
class Escalations:
    breached: object
    at_risk: object
    case: object


def _escalations(make, town) -> Escalations:
    """A Streets case whose task is 2 hours late after Water held it first, an at-risk Streets
    task, and clocks that are not escalations (under 75%, stopped, Water's)."""
    case = make.request(category=town.potholes, created_at=NOW - timedelta(days=3))
    old = make.task(case, town.water, status="transferred")
    make.sla_clock(
        case, task=old, stage="transferred", working_seconds=2 * 3600, thresholds_fired=50
    )
    late = make.task(
        case,
        assignee_id=town.agent.id,
        escalation_level=2,
        queue="escalation",
        title="Fill the pothole",
        sla_stage="running",
        due_at=NOW - 2 * HOUR,
        at_risk_at=NOW - 4 * HOUR,
    )
    breached = make.sla_clock(
        case,
        task=late,
        working_seconds=6 * 3600 + 600,
        due_at=NOW - 2 * HOUR,
        at_risk_at=NOW - 4 * HOUR,
        breached_at=NOW - 2 * HOUR,
        thresholds_fired=100,
    )
    make.sla_clock(case, kind="first_response", working_seconds=99_999)  # not a task clock
    other = make.request(category=town.potholes, created_at=NOW - timedelta(days=1))
    risky = make.task(other, title="Paint the lines")
    at_risk = make.sla_clock(
        other,
        task=risky,
        working_seconds=3600,
        due_at=NOW + HOUR,
        at_risk_at=NOW - HOUR,
        thresholds_fired=75,
    )
    calm = make.task(other, title="Calm")
    make.sla_clock(other, task=calm, due_at=NOW + 9 * HOUR, thresholds_fired=50)
    done = make.task(other, title="Done", status="done")
    make.sla_clock(other, task=done, stage="breached", due_at=NOW - HOUR, thresholds_fired=100)
    leak = make.request(category=town.leaks)
    make.sla_clock(
        leak, task=make.task(leak, title="Water's"), due_at=NOW - HOUR, thresholds_fired=100
    )
    return Escalations(breached=breached, at_risk=at_risk, case=case)


def test_escalations_list_and_who_used_the_clock(db, make, town):
    world = _escalations(make, town)
    page = escalations_page(db, department_ids=[town.streets.id], now=NOW)
    assert [r.clock.id for r in page.rows] == [world.breached.id, world.at_risk.id]
    assert page.rows[0].usage == [
        Usage(town.streets.id, 6 * 3600 + 600),
        Usage(town.water.id, 2 * 3600),
    ]
    assert {d.name for d in page.departments.values()} == {"Streets", "Water"}
    breached = escalations_page(db, department_ids=[town.streets.id], now=NOW, state="breached")
    assert [r.clock.id for r in breached.rows] == [world.breached.id]
    at_risk = escalations_page(db, department_ids=[town.streets.id], now=NOW, state="at_risk")
    assert [r.clock.id for r in at_risk.rows] == [world.at_risk.id]
    everyone = escalations_page(db, department_ids=None, now=NOW)
    assert len(everyone.rows) == 3
    assert clock_usage(db, request_ids=set()) == {}


def test_escalations_page_by_page(db, make, town):
    case = make.request(category=town.potholes)
    clocks = []
    for n, due in enumerate([NOW - HOUR, None, NOW + HOUR, NOW - HOUR, None]):
        task = make.task(case, title=f"Task {n}")
        clocks.append(
            make.sla_clock(
                case,
                task=task,
                due_at=due,
                thresholds_fired=75,
                stage="paused" if due is None else "running",
            )
        )
    expected = [
        c.id for c in sorted(clocks, key=lambda c: (c.due_at is None, c.due_at or NOW, c.id))
    ]
    seen, cursor = [], None
    while True:
        page = escalations_page(
            db, department_ids=[town.streets.id], now=NOW, after=cursor, per_page=2
        )
        seen.extend(r.clock.id for r in page.rows)
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert seen == expected
    back = escalations_page(
        db, department_ids=[town.streets.id], now=NOW, before=page.previous_cursor, per_page=2
    )
    assert [r.clock.id for r in back.rows] == expected[2:4]


def test_escalations_read_the_department_stage_index(db, make, town):
    if db.get_bind().dialect.name != "sqlite":
        pytest.skip("plans checked on SQLite")
    _escalations(make, town)
    for _ in range(40):  # most clocks are stopped or far from their thresholds
        case = make.request(category=town.potholes)
        make.sla_clock(case, task=make.task(case, status="done"), stage="met")
        make.sla_clock(case, task=make.task(case), thresholds_fired=0)
    db.execute(text("ANALYZE"))
    for state in (None, "breached", "at_risk"):
        plan = sqlite_plans(
            db,
            lambda state=state: escalations_page(
                db, department_ids=[town.streets.id], now=NOW, state=state
            ),
        )[0]
        assert "ix_sla_clocks_department_stage_fired" in plan, plan
        assert "SCAN sla_clocks" not in plan, plan


def test_escalations_page_for_a_supervisor(client, make, town):
    _escalations(make, town)
    sign_in(client, town.supervisor)
    response = client.get("/staff/escalations/")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Fill the pothole" in html and "Paint the lines" in html
    assert "Water&#39;s" not in html and "Water's" not in html
    assert "Streets 6 hours · Water 2 hours" in html.replace("&middot;", "·")
    assert "Breached by 2 hours" in html and "Xavier" in html and "Unassigned" in html
    assert 'href="/staff/escalations/"' in html  # in the back-office navigation
    only = client.get("/staff/escalations/?state=breached").get_data(as_text=True)
    assert "Fill the pothole" in only and "Paint the lines" not in only


def test_escalations_department_filter_and_garbage(client, make, town):
    _escalations(make, town)
    sign_in(client, town.supervisor)
    response = client.get(
        f"/staff/escalations/?department={town.water.id}&state=late&after=esc.nonsense&before=x"
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and html.count("Not a valid choice") == 4
    assert "Fill the pothole" in html  # bad values are ignored, not applied
    for query in (
        "department=abc",
        "department=99999999999999999999999",
        "after=esc.99991231000000000000.5",
        "before=esc.1.2.3",
    ):
        assert client.get(f"/staff/escalations/?{query}").status_code == 200


def test_admins_see_and_filter_every_department(client, make, town):
    _escalations(make, town)
    sign_in(client, town.admin)
    html = client.get(f"/staff/escalations/?department={town.water.id}").get_data(as_text=True)
    assert "Water&#39;s" in html and "Fill the pothole" not in html


def test_agents_have_no_escalations_link(client, make, town):
    sign_in(client, town.agent)
    assert 'href="/staff/escalations/"' not in client.get("/staff/").get_data(as_text=True)


# -- the case page ----------------------------------------------------------------------------


def test_case_sla_panel_and_task_tags(client, make, town):
    case = make.request(category=town.potholes)
    make.sla_clock(
        case,
        kind="first_response",
        stage="met",
        working_seconds=1800,
        target_seconds=4 * 3600,
        due_at=NOW + HOUR,
        stopped_at=NOW - HOUR,
    )
    make.sla_clock(
        case,
        kind="resolution",
        working_seconds=3600,
        paused_seconds=2 * 86400,
        due_at=NOW + 50 * HOUR,
        original_due_at=NOW + 2 * HOUR,
    )
    task = make.task(
        case,
        title="Fill the pothole",
        sla_stage="running",
        due_at=NOW - 3 * HOUR,
        at_risk_at=NOW - 5 * HOUR,
        queue="escalation",
        escalation_level=1,
    )
    make.sla_clock(
        case,
        task=task,
        due_at=NOW - 3 * HOUR,
        at_risk_at=NOW - 5 * HOUR,
        breached_at=NOW - 3 * HOUR,
        thresholds_fired=100,
        working_seconds=11 * 3600,
    )
    sign_in(client, town.agent)
    html = client.get(f"/staff/cases/{case.reference}").get_data(as_text=True)
    panel = html[html.index('id="sla"') :]
    assert "First response" in panel and "Resolution" in panel
    assert "Task: Fill the pothole" in panel and "Streets" in panel
    assert ">Met</span>" in panel and ">On time</span>" in panel
    assert "Originally" in panel and "2 days" in panel
    assert html.count("Breached by 3 hours") == 2  # the task's tag and its clock's
    assert "Escalation level 1" in html


def test_case_without_clocks(client, make, town):
    case = make.request(category=town.potholes)
    sign_in(client, town.agent)
    html = client.get(f"/staff/cases/{case.reference}").get_data(as_text=True)
    assert "No service level applies to this case." in html


def test_change_category(client, db, make, town):
    case = make.request(category=town.potholes)
    other = make.category(department=town.streets, name="Sinkhole")
    sign_in(client, town.agent)
    response = act(client, case, "category", category=str(other.id))
    assert response.status_code == 302
    db.refresh(case)
    assert case.category_id == other.id
    html = client.get(f"/staff/cases/{case.reference}").get_data(as_text=True)
    assert "Category changed from Pothole to Sinkhole" in html


def test_change_category_refuses_inactive_and_stale(client, db, make, town):
    case = make.request(category=town.potholes)
    retired = make.category(department=town.streets, name="Retired", active=False)
    sign_in(client, town.agent)
    response = act(client, case, "category", category=str(retired.id))
    assert response.status_code == 400
    assert "Not a valid choice" in response.get_data(as_text=True)
    response = act(client, case, "category", category="abc")
    assert response.status_code == 400
    page = client.get(f"/staff/cases/{case.reference}").get_data(as_text=True)
    version = re.search(r'name="version" value="(\d+)"', page).group(1)
    other = make.category(department=town.streets, name="Sinkhole")
    case.version += 1
    db.flush()
    response = client.post(
        f"/staff/cases/{case.reference}/category",
        data={
            "csrf_token": re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1),
            "version": version,
            "seen": "0",
            "category": str(other.id),
        },
    )
    assert response.status_code == 409
    db.refresh(case)
    assert case.category_id == town.potholes.id


# -- the resident's tracking page -------------------------------------------------------------


def test_tracking_page_shows_the_expected_resolution(client, make, town):
    case = make.request(
        category=town.potholes,
        status="in_progress",
        expected_at=datetime(2026, 9, 10, 20, 0, tzinfo=UTC),
    )
    html = client.get(f"/requests/{case.reference}").get_data(as_text=True)
    assert "Expected resolution:" in html and "Thursday, September 10, 2026" in html


@pytest.mark.parametrize(
    "status, sentence",
    [
        ("waiting_on_resident", "The clock is paused while we wait for your reply."),
        ("waiting_on_third_party", "The clock is paused while we wait for a partner organisation."),
        ("scheduled", "The clock is paused until the scheduled work."),
    ],
)
def test_tracking_page_while_the_clock_is_paused(client, make, town, status, sentence):
    case = make.request(category=town.potholes, status=status)
    html = client.get(f"/requests/{case.reference}").get_data(as_text=True)
    assert sentence in html and "Expected resolution:" not in html


def test_no_expected_date_once_resolved(client, make, town):
    case = make.request(category=town.potholes, status="resolved", expected_at=NOW + HOUR)
    assert "Expected resolution" not in client.get(f"/requests/{case.reference}").get_data(
        as_text=True
    )


def _expected_event(db, case, data, *, at):
    entry = Event(
        request_id=case.id,
        kind="expected_changed",
        public=True,
        actor_kind="system",
        data=data,
        created_at=at,
    )
    db.add(entry)
    db.flush()
    return entry


MON = datetime(2026, 9, 7, 20, 0, tzinfo=UTC).isoformat()
THU = datetime(2026, 9, 10, 20, 0, tzinfo=UTC).isoformat()
WED = datetime(2026, 9, 9, 20, 0, tzinfo=UTC).isoformat()


def test_timeline_says_why_the_expected_date_moved(client, db, make, town):
    case = make.request(category=town.potholes, status="in_progress")
    _expected_event(
        db,
        case,
        {"from": MON, "to": None, "reason": "waiting_on_resident"},
        at=NOW - 2 * timedelta(days=1),
    )
    _expected_event(
        db,
        case,
        {"from": None, "to": THU, "reason": "resumed", "paused_seconds": 2 * 86400},
        at=NOW,
    )
    _expected_event(db, case, {"from": THU, "to": WED, "reason": "priority"}, at=NOW)
    _expected_event(db, case, {"from": WED, "to": THU, "reason": "category"}, at=NOW)
    resident = client.get(f"/requests/{case.reference}").get_data(as_text=True)
    sentences = [
        "Expected resolution on hold (it was Mon 7 Sep): the clock is paused while we wait "
        "for your reply.",
        "Expected resolution moved from Mon 7 Sep to Thu 10 Sep: we waited 2 days for your reply.",
        "Expected resolution brought forward from Thu 10 Sep to Wed 9 Sep: the priority of "
        "your request changed.",
        "Expected resolution moved from Wed 9 Sep to Thu 10 Sep: your request is now filed "
        "under another kind of problem.",
    ]
    for sentence in sentences:
        assert sentence in resident
    sign_in(client, town.agent)
    staff = client.get(f"/staff/cases/{case.reference}").get_data(as_text=True)
    for sentence in sentences:
        assert sentence in staff


@pytest.mark.parametrize(
    "data, sentence",
    [
        (
            {"from": None, "to": THU, "reason": "resumed"},
            "Expected resolution: Thu 10 Sep: work on your request has resumed.",
        ),
        (
            {"from": None, "to": THU, "reason": "resumed", "paused_seconds": 7200},
            "Expected resolution: Thu 10 Sep: work on your request has resumed after a pause of "
            "2 hours.",
        ),
        (
            {"from": MON, "to": THU, "reason": "transfer"},
            "Expected resolution moved from Mon 7 Sep to Thu 10 Sep: another department is now "
            "working on your request.",
        ),
        (
            {"from": MON, "to": None, "reason": "scheduled"},
            "Expected resolution on hold (it was Mon 7 Sep): the clock is paused until the "
            "scheduled work.",
        ),
        (
            {"from": "not a date", "to": 42, "reason": ["?"], "paused_seconds": "x"},
            "Expected resolution on hold: the clock is paused.",
        ),
        (
            {"from": MON, "to": THU, "reason": "something new"},
            "Expected resolution moved from Mon 7 Sep to Thu 10 Sep.",
        ),
    ],
)
def test_each_expected_change_reads_as_a_sentence(client, db, make, town, data, sentence):
    case = make.request(category=town.potholes, status="in_progress")
    _expected_event(db, case, data, at=NOW)
    response = client.get(f"/requests/{case.reference}")
    assert response.status_code == 200
    assert sentence in response.get_data(as_text=True)
