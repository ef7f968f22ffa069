"""Staff queues: who sees what, filters, sorts, keyset pages, and bulk actions."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import select

from portal.casework.models import Task
from portal.casework.queues import Filters, queue_page
from portal.core import clock
from portal.requests.models import Event, ServiceRequest
from portal.staff.models import StaffMembership
from tests.conftest import csrf_from, sign_in

TASK_RE = re.compile(r'name="task" value="(\d+)"')


@dataclass
class Town:
    dept_x: object
    dept_y: object
    cat_x: object
    cat_y: object
    agent_x: object
    agent_x2: object
    agent_y: object
    admin: object


def _staff(make, db, *departments, role="agent"):
    user = make.user(role=role)
    for department in departments:
        db.add(StaffMembership(user_id=user.id, department_id=department.id, role=role))
    db.flush()
    return user


@pytest.fixture
def town(make, db) -> Town:
    dept_x, dept_y = make.department(name="Streets"), make.department(name="Water")
    return Town(
        dept_x=dept_x,
        dept_y=dept_y,
        cat_x=make.category(department=dept_x),
        cat_y=make.category(department=dept_y),
        agent_x=_staff(make, db, dept_x),
        agent_x2=_staff(make, db, dept_x),
        agent_y=_staff(make, db, dept_y),
        admin=make.user(role="admin"),
    )


def _task(
    db,
    request,
    department,
    *,
    assignee=None,
    created_at=None,
    status="open",
    due_at=None,
    closed_at=None,
):
    task = Task(
        request_id=request.id,
        department_id=department.id,
        assignee_id=assignee.id if assignee else None,
        status=status,
        is_open=status in ("open", "in_progress", "waiting"),
        due_at=due_at,
        closed_at=closed_at,
        created_at=created_at or clock.now(),
        title="Fix it",
    )
    db.add(task)
    db.flush()
    return task


def _ids(response) -> list[int]:
    assert response.status_code == 200, response.status_code
    return [int(i) for i in TASK_RE.findall(response.get_data(as_text=True))]


# -- membership -----------------------------------------------------------------------------


def test_each_tab_shows_the_members_own_work(client, make, db, town):
    now = clock.now()
    req_x, req_y = make.request(category=town.cat_x), make.request(category=town.cat_y)
    waiting = make.request(category=town.cat_x, status="waiting_on_resident")
    mine = _task(db, req_x, town.dept_x, assignee=town.agent_x)
    colleague = _task(db, req_x, town.dept_x, assignee=town.agent_x2)
    free_x = _task(db, req_x, town.dept_x)
    _task(db, req_y, town.dept_y)
    waiting_x = _task(db, waiting, town.dept_x, assignee=town.agent_x2)
    done_recent = _task(db, req_x, town.dept_x, status="done", closed_at=now - timedelta(days=2))
    _task(db, req_x, town.dept_x, status="done", closed_at=now - timedelta(days=20))
    _task(db, req_y, town.dept_y, status="done", closed_at=now - timedelta(days=1))

    sign_in(client, town.agent_x)
    assert _ids(client.get("/staff/")) == [mine.id]
    assert sorted(_ids(client.get("/staff/queue/department"))) == sorted(
        [mine.id, colleague.id, free_x.id, waiting_x.id]
    )
    assert _ids(client.get("/staff/queue/unassigned")) == [free_x.id]
    assert _ids(client.get("/staff/queue/waiting")) == [waiting_x.id]
    assert _ids(client.get("/staff/queue/resolved")) == [done_recent.id]
    assert client.get("/staff/queue/everything").status_code == 403


def test_agent_y_sees_only_department_y(app, make, db, town):
    req_x, req_y = make.request(category=town.cat_x), make.request(category=town.cat_y)
    _task(db, req_x, town.dept_x)
    free_y = _task(db, req_y, town.dept_y)
    client = app.test_client()
    sign_in(client, town.agent_y)
    assert _ids(client.get("/staff/queue/department")) == [free_y.id]
    assert _ids(client.get("/staff/queue/unassigned")) == [free_y.id]
    assert _ids(client.get("/staff/")) == []
    # Asking for department X's queue is not understood: the member's own queue shows.
    response = client.get(f"/staff/queue/department?department={town.dept_x.id}")
    assert _ids(response) == [free_y.id]
    assert "Not a valid choice" in response.get_data(as_text=True)


def test_everything_lists_every_case_for_admins(app, make, db, town):
    req_x, req_y = make.request(category=town.cat_x), make.request(category=town.cat_y)
    client = app.test_client()
    sign_in(client, town.admin)
    html = client.get("/staff/queue/everything").get_data(as_text=True)
    assert req_x.reference in html and req_y.reference in html
    assert 'name="task"' not in html  # cases, not tasks: no bulk selection here


def test_department_picker_for_members_of_several_departments(app, make, db, town):
    both = _staff(make, db, town.dept_x, town.dept_y)
    req_x, req_y = make.request(category=town.cat_x), make.request(category=town.cat_y)
    tx, ty = _task(db, req_x, town.dept_x), _task(db, req_y, town.dept_y)
    client = app.test_client()
    sign_in(client, both)
    first = client.get("/staff/queue/department")
    assert 'name="department"' in first.get_data(as_text=True)
    assert len(_ids(first)) == 1
    assert _ids(client.get(f"/staff/queue/department?department={town.dept_y.id}")) == [ty.id]
    assert _ids(client.get(f"/staff/queue/department?department={town.dept_x.id}")) == [tx.id]
    assert sorted(_ids(client.get("/staff/queue/unassigned"))) == sorted([tx.id, ty.id])
    assert _ids(client.get(f"/staff/queue/unassigned?department={town.dept_y.id}")) == [ty.id]


# -- filters and sorting --------------------------------------------------------------------


def test_filters(client, make, db, town):
    area = make.area()
    now = clock.now()
    urgent = make.request(
        category=town.cat_x,
        priority="urgent",
        channel="phone",
        area_id=area.id,
        status="in_progress",
    )
    plain = make.request(category=town.cat_x)
    other_cat = make.category(department=town.dept_x)
    odd = make.request(category=other_cat)
    t_urgent = _task(
        db, urgent, town.dept_x, assignee=town.agent_x2, created_at=now - timedelta(days=10)
    )
    t_plain = _task(db, plain, town.dept_x)
    t_odd = _task(db, odd, town.dept_x)
    sign_in(client, town.agent_x)
    base = "/staff/queue/department?"
    assert _ids(client.get(base + "status=in_progress")) == [t_urgent.id]
    assert _ids(client.get(base + "priority=urgent")) == [t_urgent.id]
    assert _ids(client.get(base + "channel=phone")) == [t_urgent.id]
    assert _ids(client.get(base + f"area={area.id}")) == [t_urgent.id]
    assert _ids(client.get(base + f"category={other_cat.id}")) == [t_odd.id]
    assert _ids(client.get(base + "age=7")) == [t_urgent.id]
    assert _ids(client.get(base + f"assignee={town.agent_x2.id}")) == [t_urgent.id]
    assert sorted(_ids(client.get(base + "assignee=none"))) == sorted([t_plain.id, t_odd.id])
    assert _ids(client.get(base + "status=in_progress&priority=low")) == []


@pytest.mark.parametrize(
    "query",
    [
        "status=bogus",
        "priority=%27%3B--",
        "age=-3",
        "age=abc",
        "age=99999999999999999999",
        "category=abc",
        "area=1.5",
        "assignee=999999999",
        "channel=pigeon",
        "sort=random",
        "department=xyz",
        "after=garbage",
        "before=age.x.y",
        "after=age.20260101000000000000.-1",
        "after=" + "9" * 500,
        "status=new&status=bogus",
    ],
)
def test_bad_filter_values_are_ignored_with_a_message(client, make, db, town, query):
    task = _task(db, make.request(category=town.cat_x), town.dept_x)
    sign_in(client, town.agent_x)
    for path in ("/staff/queue/department", "/staff/", "/staff/queue/unassigned"):
        response = client.get(f"{path}?{query}")
        assert response.status_code == 200, (path, query)
    response = client.get(f"/staff/queue/department?{query}")
    if not query.startswith(("after", "before", "status=new")):
        assert "There is a problem" in response.get_data(as_text=True)
    assert _ids(response) == [task.id] or query.startswith("status=new")


def test_sort_by_priority_and_due_time(client, make, db, town):
    now = clock.now()
    low = make.request(category=town.cat_x, priority="low")
    urgent = make.request(category=town.cat_x, priority="urgent")
    normal = make.request(category=town.cat_x)
    t_low = _task(
        db, low, town.dept_x, created_at=now - timedelta(days=3), due_at=now + timedelta(days=1)
    )
    t_urgent = _task(db, urgent, town.dept_x, created_at=now - timedelta(days=1))
    t_normal = _task(
        db, normal, town.dept_x, created_at=now - timedelta(days=2), due_at=now + timedelta(days=5)
    )
    sign_in(client, town.agent_x)
    assert _ids(client.get("/staff/queue/department")) == [t_low.id, t_normal.id, t_urgent.id]
    assert _ids(client.get("/staff/queue/department?sort=priority")) == [
        t_urgent.id,
        t_normal.id,
        t_low.id,
    ]
    # Due soonest first; tasks without a due time last.
    assert _ids(client.get("/staff/queue/department?sort=due")) == [
        t_low.id,
        t_normal.id,
        t_urgent.id,
    ]


# -- keyset pagination ----------------------------------------------------------------------


def _walk(client, url):
    """Follow "Next" links from ``url``; return the ids of each page and the last page."""
    pages, html = [], None
    while url:
        response = client.get(url)
        pages.append(_ids(response))
        html = response.get_data(as_text=True)
        match = re.search(r'href="([^"]+)"[^>]*rel="next"', html)
        url = match.group(1).replace("&amp;", "&") if match else None
    return pages, html


@pytest.mark.parametrize("sort", ["age", "priority", "due"])
def test_keyset_pages_lose_and_repeat_nothing_with_ties(client, make, db, town, sort):
    moment = clock.now() - timedelta(days=1)
    requests = [
        make.request(category=town.cat_x, priority=p) for p in ("low", "normal", "high", "urgent")
    ]
    ids = []
    for n in range(123):
        # Many rows share created_at (and due_at): the id breaks the tie.
        task = _task(
            db,
            requests[n % 4],
            town.dept_x,
            created_at=moment + timedelta(seconds=n // 10),
            due_at=moment + timedelta(days=n % 3) if n % 5 else None,
        )
        ids.append(task.id)
    sign_in(client, town.agent_x)
    pages, last_html = _walk(client, f"/staff/queue/department?sort={sort}")
    assert [len(p) for p in pages] == [50, 50, 23]
    seen = [i for page in pages for i in page]
    assert sorted(seen) == sorted(ids) and len(set(seen)) == len(seen)
    # And back: "Previous" from the last page gives the second page again.
    previous = re.search(r'href="([^"]+)"[^>]*rel="prev"', last_html).group(1)
    assert _ids(client.get(previous.replace("&amp;", "&"))) == pages[1]


def test_previous_from_the_second_page_is_the_first(db, make, town):
    now = clock.now()
    request = make.request(category=town.cat_x)
    for _ in range(7):
        _task(db, request, town.dept_x, created_at=now)
    kwargs = dict(
        view="department",
        user_id=town.agent_x.id,
        department_ids=[town.dept_x.id],
        now=now,
        per_page=3,
    )
    first = queue_page(db, **kwargs)
    second = queue_page(db, after=first.next_cursor, **kwargs)
    back = queue_page(db, before=second.previous_cursor, **kwargs)
    assert [r.task.id for r in back.rows] == [r.task.id for r in first.rows]
    assert back.previous_cursor is None and back.next_cursor is not None
    third = queue_page(db, after=second.next_cursor, **kwargs)
    assert len(third.rows) == 1 and third.next_cursor is None
    assert queue_page(db, filters=Filters(priority="urgent"), **kwargs).rows == []


# -- bulk actions ---------------------------------------------------------------------------


def _bulk(client, ids, **fields):
    page = client.get("/staff/queue/department").get_data(as_text=True)
    data = {
        "csrf_token": csrf_from(page),
        "task": [str(i) for i in ids],
        "next": "/staff/queue/department",
        **fields,
    }
    return client.post("/staff/queue/bulk", data=data)


def test_bulk_assign_and_priority(client, make, db, town):
    r1, r2 = make.request(category=town.cat_x), make.request(category=town.cat_x)
    t1, t2 = _task(db, r1, town.dept_x), _task(db, r2, town.dept_x)
    sign_in(client, town.agent_x)
    response = _bulk(client, [t1.id, t2.id], action="assign", bulk_assignee=str(town.agent_x2.id))
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/staff/queue/department")
    db.expire_all()
    assert {db.get(Task, t1.id).assignee_id, db.get(Task, t2.id).assignee_id} == {town.agent_x2.id}
    assert _ids(client.get("/staff/queue/unassigned")) == []

    response = _bulk(client, [t1.id, t2.id], action="priority", bulk_priority="urgent")
    assert response.status_code == 302
    db.expire_all()
    assert db.get(ServiceRequest, r1.id).priority == "urgent"
    assert db.get(ServiceRequest, r2.id).priority == "urgent"
    notes = db.scalars(
        select(Event).where(Event.request_id == r1.id, Event.kind == "internal_note")
    ).all()
    assert notes and all(not e.public for e in notes)


def test_bulk_assign_to_an_agent_of_another_department_changes_nothing(client, make, db, town):
    t1 = _task(db, make.request(category=town.cat_x), town.dept_x)
    sign_in(client, town.agent_x)
    response = _bulk(client, [t1.id], action="assign", bulk_assignee=str(town.agent_y.id))
    # agent_y is not offered (not a member of the agent's departments).
    assert response.status_code == 400
    db.expire_all()
    assert db.get(Task, t1.id).assignee_id is None


def test_bulk_with_a_foreign_task_is_a_404_and_changes_nothing(client, make, db, town):
    r_x, r_y = make.request(category=town.cat_x), make.request(category=town.cat_y)
    t_x, t_y = _task(db, r_x, town.dept_x), _task(db, r_y, town.dept_y)
    sign_in(client, town.agent_x)
    for ids in ([t_x.id, t_y.id], [t_x.id, 987654321], ["abc"]):
        response = _bulk(client, ids, action="priority", bulk_priority="high")
        assert response.status_code == 404
    db.expire_all()
    assert db.get(ServiceRequest, r_x.id).priority == "normal"
    assert db.get(ServiceRequest, r_y.id).priority == "normal"


def test_bulk_status_is_all_or_nothing(client, make, db, town):
    ok = make.request(category=town.cat_x, status="acknowledged")
    closed = make.request(category=town.cat_x, status="closed")
    t_ok, t_closed = _task(db, ok, town.dept_x), _task(db, closed, town.dept_x)
    sign_in(client, town.agent_x)
    response = _bulk(client, [t_ok.id, t_closed.id], action="status", bulk_status="rejected")
    assert response.status_code == 400
    assert "cannot move from" in response.get_data(as_text=True)
    db.expire_all()
    assert db.get(ServiceRequest, ok.id).status == "acknowledged"
    assert db.get(ServiceRequest, closed.id).status == "closed"

    response = _bulk(client, [t_ok.id], action="status", bulk_status="in_progress")
    assert response.status_code == 302
    db.expire_all()
    assert db.get(ServiceRequest, ok.id).status == "in_progress"


def test_bulk_close_as_duplicate(client, make, db, town):
    keep = make.request(category=town.cat_x)
    dupes = [make.request(category=town.cat_x) for _ in range(2)]
    tasks = [_task(db, r, town.dept_x) for r in dupes]
    secret = make.request(category=town.cat_y)
    sign_in(client, town.agent_x)
    # A request the member cannot open is not offered as the survivor.
    response = _bulk(
        client, [t.id for t in tasks], action="duplicate", duplicate_of=secret.reference
    )
    assert response.status_code == 400
    response = _bulk(
        client, [t.id for t in tasks], action="duplicate", duplicate_of=keep.reference.lower()
    )
    assert response.status_code == 302
    db.expire_all()
    for request in dupes:
        merged = db.get(ServiceRequest, request.id)
        assert merged.status == "duplicate" and merged.duplicate_of_id == keep.id
    assert all(not db.get(Task, t.id).is_open for t in tasks)


def test_bulk_needs_a_selection_and_valid_fields(client, make, db, town):
    t1 = _task(db, make.request(category=town.cat_x), town.dept_x)
    sign_in(client, town.agent_x)
    assert _bulk(client, [], action="priority", bulk_priority="high").status_code == 400
    assert _bulk(client, [t1.id], action="explode").status_code == 400
    assert _bulk(client, [t1.id], action="priority", bulk_priority="max").status_code == 400
    response = _bulk(
        client, [t1.id], action="priority", bulk_priority="high", next="https://evil.example/"
    )
    assert response.status_code == 302 and response.headers["Location"].endswith("/staff/")
