"""Open311 API figures on a big table.

Loads N public requests (default 1,000,000) spread over two years in 40 services, each with its
"submitted" timeline entry (bulk inserts), then times over the WSGI app (Flask's test client):
- GET requests.json: the default window (last 90 days, 1,000 rows a page), page 1 and page 50,
  with a service_code, with status=open, with extensions=true, and a 20-row page;
- GET requests.json with updated_after (1 hour and 30 days back; update order) and with
  lat/long/radius (500 m and 10 km around the centre);
- GET requests/{id}.json and services.json;
- POST requests.json (a filing through submit_request with an API key), requests/s with one
  thread and with 8 threads (each its own client; the threads share one process and its GIL,
  so 8 threads measure contention on the database more than parallel speed).

    .venv/bin/python benchmarks/open311.py [--rows 1000000] [--database-url URL]
        [--repeat 20] [--posts 400 (0: no posts)] [--plans]

Without --database-url a throw-away SQLite file is used. --plans prints the plan of each query
behind the list (EXPLAIN QUERY PLAN on SQLite, EXPLAIN on PostgreSQL). Prints figures; never
asserts timings.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import threading
import time
from datetime import timedelta
from typing import Any

from common import add_city, analyze, percentile, print_plans, scratch_app  # benchmarks/common.py
from sqlalchemy import insert

from portal.catalogue.models import Department, ServiceCategory, ServiceGroup
from portal.core import clock
from portal.core.db import Database
from portal.open311.keys import new_key
from portal.requests.models import Event, ServiceRequest

LAT0, LON0 = 41.0, -87.0
SPAN = 0.09  # about 10 km
SERVICES = 40
DAYS = 730
PREFIX = "/open311/v2"


def load(db: Database, rows: int, rng: random.Random) -> dict[str, Any]:
    """The catalogue, the city, an SLA policy and ``rows`` public requests with one public
    event each; returns the codes, an API key and a sample of references."""
    session = db.session(write=True)
    departments = [Department(code=f"d{i}", name=f"Department {i}") for i in range(8)]
    groups = [ServiceGroup(code=f"g{i}", name=f"Group {i}", position=i) for i in range(5)]
    session.add_all(departments + groups)
    session.flush()
    categories = [
        ServiceCategory(
            code=f"s{i:02d}",
            name=f"Service {i}",
            description=f"Problems of kind {i}",
            keywords="a, b",
            group_id=groups[i % 5].id,
            department_id=departments[i % 8].id,
            position=i,
        )
        for i in range(SERVICES)
    ]
    session.add_all(categories)
    add_city(session, LAT0, LON0, SPAN)
    session.flush()
    services = [(c.id, c.department_id, c.code) for c in categories]
    _key, raw_key = new_key(
        session, label="Benchmark", rate_limit="1000000/minute", contact_email="", by=None
    )
    session.commit()
    session.close()

    now = clock.now()
    statuses = ["new", "acknowledged", "in_progress", "resolved", "closed", "resolved", "closed"]
    requests_table, events_table = ServiceRequest.__table__, Event.__table__
    references: list[str] = []
    batch = 10_000
    started = time.perf_counter()
    with db.engine.begin() as conn:
        for offset in range(0, rows, batch):
            values = []
            for n in range(offset, min(rows, offset + batch)):
                category_id, department_id, _code = rng.choice(services)
                status = rng.choice(statuses)
                created = now - timedelta(minutes=rng.randint(0, 60 * 24 * DAYS))
                reference = f"SR-{created.year}-{n + 1:06d}"
                values.append(
                    {
                        "reference": reference,
                        "category_id": category_id,
                        "department_id": department_id,
                        "description": "Benchmark request",
                        "answers": {},
                        "address": f"{n} Main Street, Springfield 62704",
                        "lat": LAT0 + rng.uniform(-SPAN, SPAN),
                        "lon": LON0 + rng.uniform(-SPAN, SPAN),
                        "channel": "web",
                        "status": status,
                        "is_open": status in ("new", "acknowledged", "in_progress"),
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
                        "expected_at": created + timedelta(days=5),
                    }
                )
                if n % 997 == 0:
                    references.append(reference)
            ids = (
                conn.execute(insert(requests_table).returning(requests_table.c.id), values)
                .scalars()
                .all()
            )
            conn.execute(
                insert(events_table),
                [
                    {
                        "request_id": request_id,
                        "kind": "submitted",
                        "public": True,
                        "actor_kind": "resident",
                        "body": "",
                        "data": {"channel": "web"},
                        "created_at": row["created_at"],
                    }
                    for request_id, row in zip(ids, values, strict=True)
                ],
            )
    print(f"loaded {rows:,} requests (and as many events) in {time.perf_counter() - started:.1f} s")
    return {
        "codes": [code for _i, _d, code in services],
        "api_key": raw_key,
        "references": references,
    }


def timed(client, path: str, repeat: int) -> str:
    timings, size = [], 0
    for _ in range(repeat):
        started = time.perf_counter()
        response = client.get(path)
        timings.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            raise SystemExit(f"{path}: {response.status_code} {response.get_data(as_text=True)}")
        size = len(response.data)
    return (
        f"p50 {statistics.median(timings):8.2f} ms  p95 {percentile(timings, 95):8.2f} ms"
        f"  ({size / 1024:,.0f} KiB)"
    )


def post_rate(app, world: dict[str, Any], *, total: int, threads: int) -> str:
    """POST requests.json ``total`` times from ``threads`` threads; filings per second."""
    codes, key = world["codes"], world["api_key"]
    failures: list[str] = []
    lock = threading.Lock()

    def worker(count: int, seed: int) -> None:
        rng = random.Random(seed)
        client = app.test_client()
        for _ in range(count):
            response = client.post(
                f"{PREFIX}/requests.json",
                data={
                    "api_key": key,
                    "service_code": rng.choice(codes),
                    "lat": str(LAT0 + rng.uniform(-SPAN, SPAN) / 2),
                    "long": str(LON0 + rng.uniform(-SPAN, SPAN) / 2),
                    "description": "Benchmark filing through Open311",
                    "email": "bench@example.org",
                },
            )
            if response.status_code != 201:
                with lock:
                    failures.append(f"{response.status_code} {response.get_data(as_text=True)}")

    per_thread = total // threads
    workers = [threading.Thread(target=worker, args=(per_thread, n)) for n in range(threads)]
    started = time.perf_counter()
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    elapsed = time.perf_counter() - started
    done = per_thread * threads - len(failures)
    note = f", {len(failures)} failed (first: {failures[0][:200]})" if failures else ""
    return f"{done / elapsed:7.0f} filings/s ({done} in {elapsed:.1f} s{note})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--posts", type=int, default=400)
    parser.add_argument("--plans", action="store_true")
    args = parser.parse_args()
    rng = random.Random(11)
    scratch = tempfile.TemporaryDirectory()
    app, db = scratch_app(scratch, args.database_url)
    world = load(db, args.rows, rng)
    analyze(db)

    client = app.test_client()
    code = world["codes"][7]
    now = clock.now()
    hour_ago = (now - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    month_ago = (now - timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    reference = world["references"][len(world["references"]) // 2]
    cases = [
        ("requests.json (last 90 days, page 1)", f"{PREFIX}/requests.json"),
        ("requests.json page=50", f"{PREFIX}/requests.json?page=50"),
        ("requests.json service_code", f"{PREFIX}/requests.json?service_code={code}"),
        ("requests.json status=open", f"{PREFIX}/requests.json?status=open"),
        ("requests.json extensions=true", f"{PREFIX}/requests.json?extensions=true"),
        ("requests.json page_size=20", f"{PREFIX}/requests.json?page_size=20"),
        ("requests.xml (last 90 days, page 1)", f"{PREFIX}/requests.xml"),
        ("requests.json updated_after 1 h ago", f"{PREFIX}/requests.json?updated_after={hour_ago}"),
        (
            "requests.json updated_after 30 d ago",
            f"{PREFIX}/requests.json?updated_after={month_ago}",
        ),
        (
            "requests.json lat/long radius=500",
            f"{PREFIX}/requests.json?lat={LAT0}&long={LON0}&radius=500",
        ),
        (
            "requests.json lat/long radius=10000",
            f"{PREFIX}/requests.json?lat={LAT0}&long={LON0}&radius=10000",
        ),
        ("requests/{id}.json", f"{PREFIX}/requests/{reference}.json"),
        ("services.json", f"{PREFIX}/services.json"),
    ]
    for label, path in cases:
        print(f"GET {label:42s} {timed(client, path, args.repeat)}")
        if args.plans:
            print_plans(db, label, lambda path=path: client.get(path))

    if not args.posts:
        db.dispose()
        return
    print(f"POST requests.json, 1 thread:   {post_rate(app, world, total=args.posts, threads=1)}")
    print(f"POST requests.json, 8 threads:  {post_rate(app, world, total=args.posts, threads=8)}")
    db.dispose()


if __name__ == "__main__":
    main()
