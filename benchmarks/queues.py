"""Staff queue figures on a big table.

Loads N requests, each with one task (default 1,000,000 of each), into a scratch database with
bulk inserts: 10 departments, 20 agents each, about 12% of the work open. Then times, for every
queue tab (and the other sorts of the department queue):
- the query (``queue_page``) for the first page and for a deep keyset page, p50/p95;
- the whole page over the WSGI app (signed in, tabs' bounded counts included), p50/p95;
- the poll behind "3 new cases — show" (/staff/queue/updates for the department queue): a
  full answer and a 304 to If-None-Match, p50/p95.

    .venv/bin/python benchmarks/queues.py [--rows 1000000] [--database-url URL] [--plans]
        [--only mine department unassigned waiting resolved all]

Without --database-url a throw-away SQLite file is used. --plans prints each query's plan.
Prints figures; changes nothing else.
"""

from __future__ import annotations

import argparse
import random
import re
import statistics
import tempfile
import time
from datetime import UTC, timedelta
from typing import Any

from common import percentile, scratch_app  # benchmarks/common.py
from sqlalchemy import insert, text
from werkzeug.security import generate_password_hash

from portal.areas.models import Area
from portal.auth.models import User
from portal.casework.models import Task
from portal.casework.queue_updates import SINCE_FORMAT
from portal.casework.queues import (
    PRIORITY_RANK,
    Filters,
    _sort_keys,
    base_query,
    encode_cursor,
    queue_page,
)
from portal.catalogue.models import Department, ServiceCategory, ServiceGroup
from portal.core import clock
from portal.core.db import Database
from portal.requests.models import ServiceRequest
from portal.staff.models import StaffMembership

DEPARTMENTS = 10
AGENTS_PER_DEPARTMENT = 20
PASSWORD = "benchmark password"
YEARS = 3
STATUSES = (
    ["new"] * 3
    + ["acknowledged"] * 2
    + ["in_progress"] * 6
    + ["waiting_on_resident"]
    + ["resolved"] * 45
    + ["closed"] * 40
    + ["rejected"] * 2
    + ["duplicate"]
)
PRIORITIES = ["low"] * 2 + ["normal"] * 6 + ["high"] * 2 + ["urgent"]
CHANNELS = ["web"] * 6 + ["mobile", "phone", "phone", "walk_in", "email", "api"]
OPEN = ("new", "acknowledged", "in_progress", "waiting_on_resident")


def setup(db: Database) -> dict[str, Any]:
    session = db.session(write=True)
    group = ServiceGroup(code="all", name="All")
    departments = [Department(code=f"d{i}", name=f"Department {i}") for i in range(DEPARTMENTS)]
    session.add_all([group, *departments])
    session.flush()
    categories = [
        ServiceCategory(
            code=f"c{i}",
            name=f"Category {i}",
            group_id=group.id,
            department_id=departments[i % DEPARTMENTS].id,
        )
        for i in range(DEPARTMENTS * 2)
    ]
    areas = [
        Area(
            code=f"a{i}",
            name=f"Area {i}",
            geometry={"type": "Polygon", "coordinates": []},
            min_lat=0,
            max_lat=0,
            min_lon=0,
            max_lon=0,
        )
        for i in range(6)
    ]
    session.add_all([*categories, *areas])
    password = generate_password_hash(PASSWORD)
    agents: dict[int, list[User]] = {}
    for department in departments:
        agents[department.id] = []
        for n in range(AGENTS_PER_DEPARTMENT):
            user = User(
                email=f"agent{n}@{department.code}.example",
                name=f"Agent {n}",
                password_hash=password,
                role="agent",
            )
            session.add(user)
            agents[department.id].append(user)
    admin = User(email="admin@example.org", name="Admin", password_hash=password, role="admin")
    session.add(admin)
    session.flush()
    for department_id, users in agents.items():
        session.add_all(
            StaffMembership(user_id=u.id, department_id=department_id, role="agent") for u in users
        )
    session.commit()
    world = {
        "categories": [(c.id, c.department_id) for c in categories],
        "areas": [a.id for a in areas],
        "agents": {d: [u.id for u in users] for d, users in agents.items()},
        "agent_emails": {u.id: u.email for users in agents.values() for u in users},
        "departments": [d.id for d in departments],
        "admin": admin.email,
    }
    session.close()
    return world


def load(db: Database, rows: int, world: dict[str, Any], rng: random.Random) -> None:
    now = clock.now()
    batch = 10_000
    started = time.perf_counter()
    span = 60 * 24 * 365 * YEARS
    for offset in range(0, rows, batch):
        requests, tasks = [], []
        for n in range(offset, min(rows, offset + batch)):
            category_id, department_id = rng.choice(world["categories"])
            status = rng.choice(STATUSES)
            is_open = status in OPEN
            # Open work is mostly recent; closed work spreads over the years.
            minutes = (
                rng.randint(0, 60 * 24 * 90)
                if is_open and rng.random() < 0.8
                else rng.randint(0, span)
            )
            created = now - timedelta(minutes=minutes, seconds=rng.randint(0, 59))
            closed_at = (
                None if is_open else min(now, created + timedelta(hours=rng.randint(1, 24 * 30)))
            )
            requests.append(
                {
                    "id": n + 1,
                    "reference": f"SR-B-{n + 1:08d}",
                    "category_id": category_id,
                    "department_id": department_id,
                    "description": "Benchmark request",
                    "answers": {},
                    "address": f"{n} Main Street",
                    "lat": 41.0,
                    "lon": -87.0,
                    "area_id": rng.choice(world["areas"]),
                    "channel": rng.choice(CHANNELS),
                    "status": status,
                    "is_open": is_open,
                    "priority": rng.choice(PRIORITIES),
                    "contact_name": "",
                    "contact_email": "",
                    "contact_phone": "",
                    "locale": "en",
                    "private_by_reporter": False,
                    "is_public": True,
                    "support_count": 0,
                    "created_at": created,
                    "updated_at": closed_at or created,
                    "status_changed_at": closed_at or created,
                    "resolved_at": closed_at,
                    "version": 1,
                }
            )
            assignee = (
                rng.choice(world["agents"][department_id])
                if (not is_open or rng.random() < 0.6)
                else None
            )
            tasks.append(
                {
                    "id": n + 1,
                    "request_id": n + 1,
                    "department_id": department_id,
                    "assignee_id": assignee,
                    "title": "",
                    "escalation_level": 0,
                    "status": rng.choice(["open", "in_progress"]) if is_open else "done",
                    "is_open": is_open,
                    "created_at": created,
                    "updated_at": closed_at or created,
                    "closed_at": closed_at,
                    "version": 1,
                    "due_at": created + timedelta(days=rng.randint(1, 20))
                    if rng.random() < 0.7
                    else None,
                }
            )
        with db.engine.begin() as conn:
            conn.execute(insert(ServiceRequest.__table__), requests)
            conn.execute(insert(Task.__table__), tasks)
    with db.engine.begin() as conn:
        if db.dialect == "postgresql":
            conn.execute(text("ANALYZE"))
            for table in ("service_requests", "tasks"):
                conn.execute(
                    text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), {rows})")
                )
        else:
            conn.execute(text("ANALYZE"))
    print(f"loaded {rows:,} requests and {rows:,} tasks in {time.perf_counter() - started:.1f} s")


#: (label, view, sort, is admin)
CASES = [
    ("my work", "mine", "age", False),
    ("department", "department", "age", False),
    ("department by priority", "department", "priority", False),
    ("department by due time", "department", "due", False),
    ("department newest first", "department", "newest", False),
    ("unassigned", "unassigned", "age", False),
    ("waiting on resident", "waiting", "age", False),
    ("recently resolved", "resolved", "age", False),
    ("everything", "all", "age", True),
    ("everything, status new", "all", "age", True),
]
PATHS = {
    "mine": "/staff/",
    "department": "/staff/queue/department",
    "unassigned": "/staff/queue/unassigned",
    "waiting": "/staff/queue/waiting",
    "resolved": "/staff/queue/resolved",
    "all": "/staff/queue/everything",
}


def deep_cursor(view: str, sort: str, rng: random.Random) -> str:
    """A cursor in the middle of the list (a random point in time, rank "normal")."""
    now = clock.now()
    days = 45 if view in ("mine", "department", "unassigned", "waiting") else 7
    moment = now - timedelta(days=days, minutes=rng.randint(0, 600))
    if view == "all":
        moment = now - timedelta(days=rng.randint(200, 800))
    if sort == "priority":
        return encode_cursor(sort, [PRIORITY_RANK["normal"], moment, 0])
    if sort == "due":
        return encode_cursor(sort, [moment + timedelta(days=10), 0])
    return encode_cursor(sort, [moment, 0])  # "age" and "newest" (read backwards)


def time_polling(client: Any, department_id: int, repeat: int) -> None:
    """The department queue's poll: the full answer, then 304s while nothing changed."""
    since = (clock.now() - timedelta(minutes=30)).astimezone(UTC).strftime(SINCE_FORMAT)
    url = f"/staff/queue/updates?view=department&since={since}&department={department_id}"
    first = client.get(url)
    assert first.status_code == 200, first.status_code
    etag = first.headers["ETag"]

    def full() -> None:
        assert client.get(url).status_code == 200

    def unchanged() -> None:
        assert client.get(url, headers={"If-None-Match": etag}).status_code == 304

    label = "poll (new cases, unread)"
    print(f"{label:26} 200:               {measure(label, full, repeat)}")
    print(f"{label:26} 304:               {measure(label, unchanged, repeat)}")


def sign_in(client: Any, email: str) -> None:
    page = client.get("/account/sign-in").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    response = client.post(
        "/account/sign-in", data={"csrf_token": token, "email": email, "password": PASSWORD}
    )
    assert response.status_code == 302, response.status_code


def measure(label: str, fn: Any, repeat: int) -> str:
    timings = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        timings.append((time.perf_counter() - started) * 1000)
    return f"p50 {statistics.median(timings):7.2f} ms  p95 {percentile(timings, 95):7.2f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--plans", action="store_true")
    parser.add_argument("--only", nargs="*", default=[], help="views to time (default: all)")
    args = parser.parse_args()
    rng = random.Random(11)
    scratch = tempfile.TemporaryDirectory()
    app, db = scratch_app(scratch, args.database_url)
    world = setup(db)
    load(db, args.rows, world, rng)

    clients: dict[str, Any] = {}
    for label, view, sort, admin in CASES:
        if args.only and view not in args.only:
            continue
        department_id = rng.choice(world["departments"])
        agent_id = rng.choice(world["agents"][department_id])
        filters = Filters(status="new") if label.endswith("status new") else Filters()
        user_id = 0 if admin else agent_id
        department_ids = None if admin else ([department_id] if view != "mine" else [department_id])
        session = db.session()
        if args.plans:
            query = base_query(
                view=view,
                user_id=user_id,
                department_ids=department_ids,
                filters=filters,
                now=clock.now(),
            )
            keys = [k.expr for k in _sort_keys(view, sort)]
            if sort == "newest":  # the same keys, read backwards
                keys = [k.desc() for k in keys]
            query = query.order_by(*keys).limit(51)
            compiled = query.compile(db.engine, compile_kwargs={"literal_binds": True})
            explain = "EXPLAIN QUERY PLAN " if db.dialect == "sqlite" else "EXPLAIN "
            plan = session.execute(text(explain + str(compiled))).all()
            print(f"-- plan: {label}")
            for row in plan:
                print("   ", row[-1])

        def first(
            view=view,
            sort=sort,
            user_id=user_id,
            department_ids=department_ids,
            filters=filters,
            session=session,
        ):
            queue_page(
                session,
                view=view,
                user_id=user_id,
                department_ids=department_ids,
                filters=filters,
                sort=sort,
                now=clock.now(),
            )

        def deep(
            view=view,
            sort=sort,
            user_id=user_id,
            department_ids=department_ids,
            filters=filters,
            session=session,
        ):
            queue_page(
                session,
                view=view,
                user_id=user_id,
                department_ids=department_ids,
                filters=filters,
                sort=sort,
                now=clock.now(),
                after=deep_cursor(view, sort, rng),
            )

        print(f"{label:26} query, first page: {measure(label, first, args.repeat)}")
        print(f"{label:26} query, deep page:  {measure(label, deep, args.repeat)}")
        session.close()

        email = world["admin"] if admin else world["agent_emails"][agent_id]
        if email not in clients:
            clients[email] = app.test_client()
            sign_in(clients[email], email)
        client = clients[email]
        query_string = "&status=new" if filters.status else ""
        path = f"{PATHS[view]}?sort={sort}{query_string}"

        def page(path=path, client=client):
            response = client.get(path)
            assert response.status_code == 200, (path, response.status_code)

        def deep_page(path=path, client=client, view=view, sort=sort):
            response = client.get(f"{path}&after={deep_cursor(view, sort, rng)}")
            assert response.status_code == 200, (path, response.status_code)

        print(f"{label:26} page,  first page: {measure(label, page, args.repeat)}")
        print(f"{label:26} page,  deep page:  {measure(label, deep_page, args.repeat)}")
        if label == "department":
            time_polling(client, department_id, args.repeat)
    db.dispose()


if __name__ == "__main__":
    main()
