"""SLA sweep figures: how long a sweep takes with many open tasks.

Loads N open cases (default 100,000), each with one task and its running resolution clock
(40 working hours on a Mon-Fri 08:00-17:00 calendar with US/IL holidays), started over the
last ten working days, into a scratch database with bulk inserts: 10 departments, 20 agents
and 2 supervisors each. Then times:
- the first sweep, which acts on the backlog of thresholds already crossed (notices, outbox
  emails, escalations): clocks per second;
- a sweep one minute later (only the clocks crossing in that minute), and an idle sweep
  (nothing due), which show that a sweep's cost follows the clocks that cross a threshold, not
  the number of open tasks (the query is an index range on ``next_threshold_at``).
The sweeps run at a fixed working moment (a Tuesday, 11:00 in Chicago).

    .venv/bin/python benchmarks/sla_sweep.py [--rows 100000] [--database-url URL] [--plan]

Without --database-url a throw-away SQLite file is used. Prints figures; changes nothing else.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from common import scratch_app  # benchmarks/common.py
from sqlalchemy import func, insert, select, text
from werkzeug.security import generate_password_hash

from portal.auth.models import User
from portal.casework.models import Task
from portal.catalogue.models import Department, ServiceCategory, ServiceGroup
from portal.core import clock
from portal.core.db import Database
from portal.core.outbox import OutboxMessage
from portal.notifications.models import StaffNotice
from portal.requests.models import ServiceRequest
from portal.sla import clocks
from portal.sla.calendar import load_calendar
from portal.sla.models import BusinessCalendar, SlaClock, SlaPolicy
from portal.sla.sweep import sweep
from portal.staff.models import StaffMembership

DEPARTMENTS = 10
AGENTS = 20
SUPERVISORS = 2
TARGET = 40 * 3600
HOURS = {day: [["08:00", "17:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}
#: The sweeps run at a working moment (a Tuesday, 11:00 in Chicago), so clocks are moving.
SWEEP_AT = datetime(2026, 11, 17, 11, 0, tzinfo=ZoneInfo("America/Chicago"))


def setup(db: Database) -> dict[str, Any]:
    session = db.session(write=True)
    calendar = BusinessCalendar(
        code="city",
        name="City",
        timezone="America/Chicago",
        hours=HOURS,
        holiday_country="US",
        holiday_subdivision="IL",
    )
    group = ServiceGroup(code="all", name="All")
    session.add_all([calendar, group])
    session.flush()
    departments = [
        Department(
            code=f"d{i}",
            name=f"Department {i}",
            calendar_id=calendar.id,
            breach_actions=["escalation_queue"],
        )
        for i in range(DEPARTMENTS)
    ]
    session.add_all(departments)
    session.flush()
    categories = [
        ServiceCategory(code=f"c{i}", name=f"Category {i}", group_id=group.id, department_id=d.id)
        for i, d in enumerate(departments)
    ]
    policy = SlaPolicy(name="Default", resolution_amount=40)
    session.add_all([*categories, policy])
    password = generate_password_hash("benchmark password")
    agents: dict[int, list[int]] = {}
    for department in departments:
        staff = [
            User(
                email=f"{role}{n}@{department.code}.example",
                name=f"{role} {n}",
                password_hash=password,
                role=role,
            )
            for role, count in (("agent", AGENTS), ("supervisor", SUPERVISORS))
            for n in range(count)
        ]
        session.add_all(staff)
        session.flush()
        session.add_all(
            StaffMembership(user_id=u.id, department_id=department.id, role=u.role) for u in staff
        )
        agents[department.id] = [u.id for u in staff if u.role == "agent"]
    session.commit()
    world = {
        "calendar_id": calendar.id,
        "policy_id": policy.id,
        "agents": agents,
        "categories": [(c.id, c.department_id) for c in categories],
    }
    session.close()
    return world


def load(db: Database, rows: int, world: dict[str, Any], rng: random.Random) -> float:
    session = db.session()
    calendar = load_calendar(session, world["calendar_id"], default_timezone="America/Chicago")
    session.close()
    now = clock.now()
    earliest = calendar.add(now - timedelta(days=16), 0)
    span = (now - earliest).total_seconds()
    started = time.perf_counter()
    batch = 10_000
    for offset in range(0, rows, batch):
        requests, tasks, clock_rows = [], [], []
        for n in range(offset + 1, min(rows, offset + batch) + 1):
            category_id, department_id = rng.choice(world["categories"])
            created = earliest + timedelta(seconds=rng.uniform(0, span))
            requests.append(
                {
                    "id": n,
                    "reference": f"SR-B-{n:08d}",
                    "category_id": category_id,
                    "department_id": department_id,
                    "description": "Benchmark request",
                    "answers": {},
                    "address": f"{n} Main Street",
                    "lat": 41.0,
                    "lon": -87.0,
                    "channel": "web",
                    "status": "in_progress",
                    "is_open": True,
                    "priority": "normal",
                    "contact_name": "",
                    "contact_email": "",
                    "contact_phone": "",
                    "locale": "en",
                    "private_by_reporter": False,
                    "is_public": True,
                    "support_count": 0,
                    "created_at": created,
                    "updated_at": created,
                    "status_changed_at": created,
                    "version": 1,
                }
            )
            row = SlaClock(
                id=n,
                request_id=n,
                task_id=n,
                department_id=department_id,
                calendar_id=world["calendar_id"],
                policy_id=world["policy_id"],
                kind="resolution",
                unit="working_hours",
                target_seconds=TARGET,
                pause_statuses=[],
            )
            clocks.start(row, calendar, at=created, now=now)
            # The backlog a running worker would have left: thresholds passed before the
            # last hour were acted on then.
            row.thresholds_fired = clocks.crossed(row, calendar, now - timedelta(hours=1))
            clocks.refresh(row, calendar, now - timedelta(hours=1))
            clock_rows.append({c.key: getattr(row, c.key) for c in SlaClock.__table__.columns})
            tasks.append(
                {
                    "id": n,
                    "request_id": n,
                    "department_id": department_id,
                    "assignee_id": rng.choice(world["agents"][department_id]),
                    "title": "Fix it",
                    "escalation_level": 0,
                    "status": "in_progress",
                    "is_open": True,
                    "created_at": created,
                    "updated_at": created,
                    "version": 1,
                    "queue": "main",
                    "due_at": row.due_at,
                    "at_risk_at": row.at_risk_at,
                    "sla_stage": "running",
                }
            )
        with db.engine.begin() as conn:
            conn.execute(insert(ServiceRequest.__table__), requests)
            conn.execute(insert(Task.__table__), tasks)
            conn.execute(insert(SlaClock.__table__), clock_rows)
    if db.dialect == "postgresql":
        with db.engine.begin() as conn:
            for table in ("service_requests", "tasks", "sla_clocks"):
                conn.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"(SELECT max(id) FROM {table}))"
                    )
                )
                conn.execute(text(f"ANALYZE {table}"))
    else:
        with db.engine.begin() as conn:
            conn.execute(text("ANALYZE"))
    return time.perf_counter() - started


def timed_sweep(db: Database, settings: Any, now: Any, label: str) -> None:
    started = time.perf_counter()
    stats = sweep(db, settings, now, max_batches=10_000, budget_seconds=float("inf"))
    seconds = time.perf_counter() - started
    rate = f", {stats.examined / seconds:,.0f} clocks/s" if stats.examined else ""
    print(f"{label}: {seconds * 1000:,.1f} ms; {stats}{rate}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--plan", action="store_true")
    args = parser.parse_args()
    clock.freeze(SWEEP_AT)
    scratch = tempfile.TemporaryDirectory()
    app, db = scratch_app(scratch, args.database_url)
    settings = app.extensions["portal.settings"]
    world = setup(db)
    seconds = load(db, args.rows, world, random.Random(5))
    print(f"loaded {args.rows:,} open tasks with running clocks in {seconds:,.1f} s")
    now = clock.now()
    session = db.session()
    due = session.scalar(
        select(func.count()).select_from(SlaClock).where(SlaClock.next_threshold_at < now)
    )
    print(f"clocks with a threshold crossed in the last hour: {due:,}")
    if args.plan:
        query = (
            select(SlaClock.id)
            .where(SlaClock.next_threshold_at < now)
            .order_by(SlaClock.next_threshold_at, SlaClock.id)
            .limit(200)
        )
        compiled = query.compile(db.engine, compile_kwargs={"literal_binds": True})
        prefix = "EXPLAIN QUERY PLAN " if db.dialect == "sqlite" else "EXPLAIN "
        for row in session.execute(text(prefix + str(compiled))):
            print("  plan:", " ".join(str(v) for v in row))
    session.close()
    with app.app_context():
        timed_sweep(db, settings, now, "sweep of that hour's backlog")
        clock.freeze(now + timedelta(minutes=1))
        timed_sweep(db, settings, clock.now(), "sweep one minute later")
        timed_sweep(db, settings, clock.now(), "idle sweep (nothing due)")
    session = db.session()
    print(
        f"notices written: {session.scalar(select(func.count()).select_from(StaffNotice)):,};"
        f" emails queued: {session.scalar(select(func.count()).select_from(OutboxMessage)):,}"
    )
    session.close()
    db.dispose()


if __name__ == "__main__":
    main()
