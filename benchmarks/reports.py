"""Performance reports on a million requests.

Loads N requests (default 1,000,000) filed over the last two years in 40 areas x 40 categories
(10 departments, 5 agents each), with bulk inserts: one task per request (closed ones with
closed_at and an assignee), a first-response clock per request and a resolution clock per task
(met or breached, with working_seconds), "reopened" events for 3% of resolved requests, and a
survey response (CSAT, a quarter with a comment) for a fifth of them; 5% of the requests are
private with contact details. Then times the worker's roll-ups (``portal.reports.rollups``): the
first refresh of every report for the last 13 weeks, months and quarters, and the cost of
recomputing each report for the current periods (what every refresh interval costs). Then
times each report page through the WSGI app (Flask's test client), signed in as an admin,
p50/p95 over --repeat runs, reading those roll-ups:
- /staff/reports for a week, a month and a quarter (the department board);
- a department drill-down by category, by area and by agent;
- /staff/reports/hotspots (map, volumes, trend, spikes, sentiment);
- /performance (public scorecards and volumes);
- /performance/equity for a month and a quarter (issue 23: areas against the city);
- /open-data/requests.json: the first batch (time to the first bytes), the whole default file
  (last 30 days), and one keyset batch a year back (``open_data.rows``).
Last, the cold case: each page once more right after its roll-ups were deleted (a worker that
is not running), when the page computes them itself. A page that is not built yet (its URL
matches no route) is timed through the domain functions of portal/reports/scorecards.py and
hotspots.py instead when they exist, and says so. Every warm page over one second is flagged.

    .venv/bin/python benchmarks/reports.py [--rows 1000000] [--database-url URL]
        [--repeat 5] [--quick] [--plans]

--quick loads 100,000 requests and repeats each page 3 times. Without --database-url a
throw-away SQLite file is used. --plans prints the plan of every SELECT of each page
(EXPLAIN QUERY PLAN on SQLite, EXPLAIN on PostgreSQL). Prints figures; never asserts timings.
"""

from __future__ import annotations

import argparse
import importlib
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from common import analyze, percentile, print_plans, scratch_app  # benchmarks/common.py
from sqlalchemy import delete, func, insert, select, text
from werkzeug.exceptions import HTTPException

from portal.areas.models import Area
from portal.auth.models import User
from portal.casework.models import Task
from portal.catalogue.models import Department, ServiceCategory, ServiceGroup
from portal.core import clock
from portal.core.db import Database
from portal.reports import open_data, rollups
from portal.reports.catalogue import REPORTS
from portal.reports.models import ReportRollup
from portal.reports.periods import KINDS, Period
from portal.requests.models import Event, ServiceRequest
from portal.sla.models import SlaClock
from portal.staff.models import StaffMembership
from portal.surveys.models import SurveyResponse, SurveyVersion

DEPARTMENTS = 10
AGENTS = 5
CATEGORIES = 40
GRID = (8, 5)  # 40 areas: 8 columns x 5 rows
DAYS = 730
SURVEY = "request-resolved"
LAT0, LON0 = 41.0, -87.0
SPAN = 0.09  # about 10 km either side
LIMIT_MS = 1000.0
FIRST_RESPONSE_TARGET = 8 * 3600  # working seconds
RESOLUTION_TARGET = 40 * 3600


def setup(db: Database) -> dict[str, Any]:
    """Departments with agents, categories, a grid of areas, an admin and the survey."""
    session = db.session(write=True)
    group = ServiceGroup(code="all", name="All")
    departments = [Department(code=f"d{i}", name=f"Department {i}") for i in range(DEPARTMENTS)]
    version = SurveyVersion(survey_key=SURVEY, version=1, fingerprint="0" * 64, definition={})
    admin = User(email="admin@example.org", name="Admin", role="admin", password_hash="x")
    session.add_all([group, version, admin, *departments])
    session.flush()
    categories = [
        ServiceCategory(
            code=f"c{i:02d}",
            name=f"Category {i}",
            group_id=group.id,
            department_id=departments[i % DEPARTMENTS].id,
            position=i,
        )
        for i in range(CATEGORIES)
    ]
    columns, rows_ = GRID
    width, height = 2 * SPAN / columns, 2 * SPAN / rows_
    areas = []
    for n in range(columns * rows_):
        west, south = LON0 - SPAN + (n % columns) * width, LAT0 - SPAN + (n // columns) * height
        ring = [
            [west, south],
            [west + width, south],
            [west + width, south + height],
            [west, south + height],
            [west, south],
        ]
        areas.append(
            Area(
                code=f"a{n:02d}",
                name=f"Area {n}",
                geometry={"type": "Polygon", "coordinates": [ring]},
                min_lat=south,
                max_lat=south + height,
                min_lon=west,
                max_lon=west + width,
            )
        )
    agents: dict[int, list[int]] = {}
    session.add_all(categories + areas)
    for department in departments:
        users = [
            User(
                email=f"agent{department.id}-{k}@example.org",
                name=f"Agent {department.id}-{k}",
                role="agent",
                password_hash="x",
            )
            for k in range(AGENTS)
        ]
        session.add_all(users)
        session.flush()
        session.add_all(
            [
                StaffMembership(user_id=u.id, department_id=department.id, role="agent")
                for u in users
            ]
        )
        agents[department.id] = [u.id for u in users]
    session.commit()
    world = {
        "categories": [(c.id, c.department_id) for c in categories],
        "areas": [(a.id, a.min_lat, a.min_lon) for a in areas],
        "cell": (height, width),
        "agents": agents,
        "version": version.id,
        "admin": admin.get_id(),
        "departments": [d.id for d in departments],
    }
    session.close()
    return world


def load(db: Database, rows: int, world: dict[str, Any], rng: random.Random) -> None:
    """Requests in the order they were filed (ids follow ``created_at``), each with its task,
    two clocks, and for some a reopening and a survey response."""
    now = clock.now()
    span = DAYS * 86400
    moments = sorted(rng.randint(0, span) for _ in range(rows))
    height, width = world["cell"]
    # Some areas and categories are busier than others, so the figures differ.
    area_weights = [1 + (n % 7) for n in range(len(world["areas"]))]
    category_weights = [1 + (n % 5) for n in range(len(world["categories"]))]
    tables = {
        name: model.__table__
        for name, model in (
            ("requests", ServiceRequest),
            ("tasks", Task),
            ("clocks", SlaClock),
            ("events", Event),
            ("responses", SurveyResponse),
        )
    }
    counts = dict.fromkeys(tables, 0)
    event_id = response_id = 0
    batch = 10_000
    started = time.perf_counter()
    for offset in range(0, rows, batch):
        out: dict[str, list[dict[str, Any]]] = {name: [] for name in tables}
        areas = rng.choices(world["areas"], weights=area_weights, k=batch)
        categories = rng.choices(world["categories"], weights=category_weights, k=batch)
        for k, n in enumerate(range(offset, min(rows, offset + batch))):
            ident = n + 1
            area_id, south, west = areas[k]
            category_id, department_id = categories[k]
            created = now - timedelta(seconds=span - moments[n])
            age_days = (now - created).days
            resolve_hours = rng.expovariate(1 / 60)
            resolved_at = created + timedelta(hours=resolve_hours)
            done = resolved_at < now and rng.random() < (0.97 if age_days > 30 else 0.7)
            status = (
                rng.choice(("resolved", "closed", "closed", "rejected"))
                if done
                else rng.choice(("new", "acknowledged", "in_progress", "waiting_on_resident"))
            )
            private = rng.random() < 0.05
            out["requests"].append(
                {
                    "id": ident,
                    "reference": f"SR-{created.year}-{ident:06d}",
                    "category_id": category_id,
                    "department_id": department_id,
                    "description": "Benchmark request" if not private else "Call me at home",
                    "answers": {},
                    "address": f"{n} Main Street",
                    "lat": south + rng.random() * height,
                    "lon": west + rng.random() * width,
                    "area_id": area_id,
                    "channel": "web",
                    "status": status,
                    "is_open": not done,
                    "priority": "normal",
                    "contact_name": "Resident" if private else "",
                    "contact_email": "resident@example.org" if private else "",
                    "contact_phone": "",
                    "locale": "en",
                    "private_by_reporter": private,
                    "is_public": not private,
                    "support_count": 0,
                    "created_at": created,
                    "updated_at": resolved_at if done else created,
                    "status_changed_at": resolved_at if done else created,
                    "resolved_at": resolved_at if done else None,
                    "version": 1,
                }
            )
            assignee = rng.choice(world["agents"][department_id])
            out["tasks"].append(
                {
                    "id": ident,
                    "request_id": ident,
                    "department_id": department_id,
                    "assignee_id": assignee if done or rng.random() < 0.6 else None,
                    "title": "Fix it",
                    "status": "done" if done else "open",
                    "is_open": not done,
                    "queue": "main",
                    "escalation_level": 0,
                    "created_at": created,
                    "updated_at": resolved_at if done else created,
                    "closed_at": resolved_at if done else None,
                    "version": 1,
                }
            )
            first_hours = rng.expovariate(1 / 10)
            answered = created + timedelta(hours=first_hours)
            out["clocks"].append(
                _clock(
                    2 * ident - 1,
                    ident,
                    None,
                    department_id,
                    "first_response",
                    FIRST_RESPONSE_TARGET,
                    created,
                    answered if answered < now else None,
                    now,
                    rng,
                )
            )
            out["clocks"].append(
                _clock(
                    2 * ident,
                    ident,
                    ident,
                    department_id,
                    "resolution",
                    RESOLUTION_TARGET,
                    created,
                    resolved_at if done else None,
                    now,
                    rng,
                )
            )
            if done and rng.random() < 0.03:
                reopened = resolved_at + timedelta(days=rng.randint(1, 10))
                if reopened < now:
                    event_id += 1
                    out["events"].append(
                        {
                            "id": event_id,
                            "request_id": ident,
                            "kind": "reopened",
                            "public": True,
                            "actor_kind": "resident",
                            "body": "",
                            "data": {},
                            "created_at": reopened,
                        }
                    )
            answered_at = resolved_at + timedelta(hours=rng.randint(2, 96))
            if done and answered_at < now and rng.random() < 0.2:
                response_id += 1
                mood = area_id % 3
                out["responses"].append(
                    {
                        "id": response_id,
                        "invitation_id": None,
                        "survey_key": SURVEY,
                        "survey_version_id": world["version"],
                        "version": 1,
                        "request_id": ident,
                        "department_id": department_id,
                        "category_id": category_id,
                        "locale": "en",
                        "csat": min(5, max(1, rng.randint(1, 5) + (mood == 0) - (mood == 2))),
                        "ces": None,
                        "nps": None,
                        "resolved": "yes",
                        "comment": f"Comment {response_id}" if rng.random() < 0.25 else "",
                        "contact_ok": False,
                        "answers": {},
                        "created_at": answered_at,
                    }
                )
        with db.engine.begin() as conn:
            for name, table in tables.items():
                if out[name]:
                    conn.execute(insert(table), out[name])
                    counts[name] += len(out[name])
    with db.engine.begin() as conn:
        if db.dialect == "postgresql":
            for table, last in (
                ("service_requests", rows),
                ("tasks", rows),
                ("sla_clocks", 2 * rows),
                ("request_events", event_id),
                ("survey_responses", response_id),
            ):
                if last:
                    conn.execute(
                        text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), {last})")
                    )
    analyze(db)
    print(
        "loaded "
        + ", ".join(f"{count:,} {name}" for name, count in counts.items())
        + f" in {time.perf_counter() - started:.1f} s"
    )


def _clock(
    ident: int,
    request_id: int,
    task_id: int | None,
    department_id: int,
    kind: str,
    target: int,
    started: datetime,
    stopped: datetime | None,
    now: datetime,
    rng: random.Random,
) -> dict[str, Any]:
    """A clock that ran from ``started``; stopped (met or breached) when ``stopped`` is given.
    Working time is about a quarter of wall time (nights and weekends), with some noise."""
    end = stopped or now
    wall = int((end - started).total_seconds())
    working = int(wall * rng.uniform(0.15, 0.35))
    due = started + timedelta(seconds=target * 4)
    if stopped is None:
        stage = "running" if working <= target else "breached"
    else:
        stage = "met" if working <= target else "breached"
    return {
        "id": ident,
        "request_id": request_id,
        "task_id": task_id,
        "department_id": department_id,
        "kind": kind,
        "stage": stage,
        "unit": "working_hours",
        "target_seconds": target,
        "started_at": started,
        "stopped_at": stopped,
        "pauses": [],
        "pause_statuses": [],
        "working_seconds": working,
        "wall_seconds": wall,
        "paused_seconds": 0,
        "due_at": due,
        "original_due_at": due,
        "breached_at": due if working > target else None,
        "thresholds_fired": 100 if working > target else 0,
        "updated_at": end,
    }


def _measure(fn: Callable[[], Any], repeat: int) -> tuple[str, float]:
    timings = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        timings.append((time.perf_counter() - started) * 1000)
    p50 = statistics.median(timings)
    flag = "  ** over 1 s **" if p50 > LIMIT_MS else "                "
    return f"p50 {p50:8.1f} ms  p95 {percentile(timings, 95):8.1f} ms{flag}", p50


def _get(client, path: str) -> Callable[[], Any]:
    def run() -> Any:
        response = client.get(path)
        if response.status_code != 200:
            raise RuntimeError(f"{path}: HTTP {response.status_code}")
        return response.data

    return run


def _first_batch(client, path: str) -> Callable[[], Any]:
    """Time to the first streamed bytes of a download (its first keyset batch)."""

    def run() -> Any:
        response = client.get(path, buffered=False)
        if response.status_code != 200:
            raise RuntimeError(f"{path}: HTTP {response.status_code}")
        chunks = iter(response.response)
        first = next(chunks)
        response.close()
        return first

    return run


def _routed(app, path: str) -> bool:
    adapter = app.url_map.bind("localhost")
    try:
        adapter.match(path.split("?", 1)[0], method="GET")
    except HTTPException:
        return False
    return True


def _module(name: str) -> Any:
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


def _domain_fallbacks(
    session: Any,
    world: dict[str, Any],
    zone: ZoneInfo,
) -> dict[str, Callable[[], Any] | None]:
    """The domain functions behind each page, for pages not built yet."""
    scorecards = _module("portal.reports.scorecards")
    hotspots = _module("portal.reports.hotspots")
    sentiment = _module("portal.reports.sentiment")
    today = clock.now().astimezone(zone).date()
    month = Period.containing("month", today)
    department = world["departments"][3]
    found: dict[str, Callable[[], Any] | None] = {}
    for kind in ("week", "month", "quarter"):
        period = Period.containing(kind, today)
        found[f"board {kind}"] = (
            (lambda p=period: scorecards.department_board(session, p, tz=zone))
            if scorecards and hasattr(scorecards, "department_board")
            else None
        )
    for by in ("category", "area", "agent"):
        found[f"drill-down {by}"] = (
            (
                lambda b=by: scorecards.department_detail(
                    session, department, month, tz=zone, by=b, include_agents=True
                )
            )
            if scorecards and hasattr(scorecards, "department_detail")
            else None
        )

    def hotspot_page() -> Any:
        assert hotspots is not None and sentiment is not None
        return (
            hotspots.volumes(session, month, tz=zone),
            hotspots.trend(session, kind="month", periods=12, tz=zone),
            hotspots.spikes(session, month, tz=zone),
            sentiment.sentiment(session, month, tz=zone),
        )

    found["hotspots"] = hotspot_page if hotspots and sentiment else None

    def public_page() -> Any:
        assert scorecards is not None and hotspots is not None
        return (
            scorecards.department_board(session, month, tz=zone),
            hotspots.volumes(session, month, tz=zone),
        )

    found["performance"] = (
        public_page
        if (scorecards and hotspots and hasattr(scorecards, "department_board"))
        else None
    )
    return found


def worker(db: Database, zone: ZoneInfo) -> None:
    """The worker's side: the first refresh of the whole window, then one recomputation of
    each report for each kind's current period (a refresh interval's work)."""
    now = clock.now()
    started = time.perf_counter()
    done = rollups.refresh(db, REPORTS, tz=zone, refresh_seconds=300, now=now, budget=float("inf"))
    print(
        f"worker: first refresh, {done} roll-ups (13 weeks, months and quarters) in "
        f"{time.perf_counter() - started:.1f} s"
    )
    today = now.astimezone(zone).date()
    for kind in KINDS:
        period = Period.containing(kind, today)
        costs = []
        for report in REPORTS:
            started = time.perf_counter()
            with db.transaction(write=False) as session:
                rollups.compute_and_store(db, session, report, period, tz=zone)
            costs.append(f"{report.name} {(time.perf_counter() - started) * 1000:.0f} ms")
        print(f"worker: current {kind}: " + ", ".join(costs))


def cold(db: Database, client: Any, pages: list[tuple[str, str, Any]]) -> None:
    """Each page once right after deleting every roll-up (the page computes what it needs)."""
    for label, path, how in pages:
        with db.transaction() as session:
            session.execute(delete(ReportRollup))
        started = time.perf_counter()
        how(client, path)()
        print(
            f"{label:38} cold (no roll-ups; the page computes them): "
            f"{(time.perf_counter() - started) * 1000:8.1f} ms"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument(
        "--quick", action="store_true", help="100,000 requests, 3 runs of each page"
    )
    parser.add_argument("--plans", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.rows, args.repeat = min(args.rows, 100_000), 3
    rng = random.Random(9)
    scratch = tempfile.TemporaryDirectory()
    app, db = scratch_app(scratch, args.database_url)
    world = setup(db)
    load(db, args.rows, world, rng)
    zone = ZoneInfo(app.extensions["portal.settings"].timezone)

    client = app.test_client()
    with client.session_transaction() as cookie:
        cookie["_user_id"] = world["admin"]
    department = world["departments"][3]
    today = clock.now().astimezone(zone).date()
    year_back = today - timedelta(days=365)
    drill = f"/staff/reports/departments/{department}?period=month&by="
    pages: list[tuple[str, str, Callable[[], Any]]] = [
        ("board week", "/staff/reports?period=week", _get),
        ("board month", "/staff/reports?period=month", _get),
        ("board quarter", "/staff/reports?period=quarter", _get),
        ("drill-down category", drill + "category", _get),
        ("drill-down area", drill + "area", _get),
        ("drill-down agent", drill + "agent", _get),
        ("hotspots", "/staff/reports/hotspots?period=month", _get),
        ("performance", "/performance", _get),
        ("equity month", "/performance/equity?period=month", _get),
        ("equity quarter", "/performance/equity?period=quarter", _get),
        ("open data: first batch", "/open-data/requests.json", _first_batch),
        ("open data: last 30 days, whole file", "/open-data/requests.json", _get),
    ]
    worker(db, zone)
    session = db.session()
    fallbacks = _domain_fallbacks(session, world, zone)
    slow: list[str] = []
    for label, path, how in pages:
        if _routed(app, path):
            title, run = f"GET {path}", how(client, path)
        elif fallbacks.get(label) is not None:
            title, run = f"(no page yet) domain functions of {label}", fallbacks[label]
        else:
            print(f"{label:38} not built yet: {path} has no route and no domain functions")
            continue
        try:
            figures, p50 = _measure(run, args.repeat)
        except Exception as error:  # a page another engineer is still building
            print(f"{label:38} FAILED: {str(error)[:200]}")
            session.rollback()
            continue
        print(f"{label:38} {figures}   {title}")
        # A whole file is a streamed download, not a page: its first bytes come at the
        # first-batch figure; its total time is shown for throughput only.
        if p50 > LIMIT_MS and "whole file" not in label:
            slow.append(label)
        if args.plans:
            print_plans(db, label, run)
    start, end = open_data.bounds(year_back, year_back + timedelta(days=29), tz=zone)
    deep = session.scalar(
        select(func.max(ServiceRequest.id)).where(ServiceRequest.created_at < start)
    )
    label = "open data: a batch a year back"

    def deep_batch() -> Any:
        return open_data.rows(session, start, end, after_id=deep, limit=open_data.BATCH)

    figures, p50 = _measure(deep_batch, args.repeat)
    print(f"{label:38} {figures}   open_data.rows(after_id=..., limit={open_data.BATCH})")
    if p50 > LIMIT_MS:
        slow.append(label)
    if args.plans:
        print_plans(db, label, deep_batch)
    print("every page under 1 s" if not slow else f"OVER 1 s: {', '.join(slow)}")
    cold(db, client, pages[:8])
    session.close()
    db.dispose()


if __name__ == "__main__":
    main()
