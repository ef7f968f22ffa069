"""FixMyStreet's servicerequestupdates on a big timeline.

Loads N public requests (default 100,000) over two years, each with four public timeline
entries (submitted, a status change, a staff message and, for half, the resident's reply) and
an internal note (bulk inserts; about 4.5 N events), one in ten filed by the app with a token.
Then times over the WSGI app (Flask's test client):
- GET servicerequestupdates.json: the default window (the last day), 200 and 1,000 a page;
  a 31-day window a month ago, page 1 and page 10 of 1,000;
- GET requests/{id}/updates.json;
- POST servicerequestupdates.json: the reporter's reply through resident_reply.

    .venv/bin/python benchmarks/open311_updates.py [--rows 300000] [--database-url URL]
        [--repeat 20] [--posts 200] [--plans]

Without --database-url a throw-away SQLite file is used. Prints figures; never asserts timings.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
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
SPAN = 0.09
SERVICES = 20
DAYS = 730
PREFIX = "/open311/v2"
STATUSES = ["acknowledged", "in_progress", "scheduled", "resolved", "closed"]


def load(db: Database, rows: int, rng: random.Random) -> dict[str, Any]:
    session = db.session(write=True)
    department = Department(code="d0", name="Streets")
    group = ServiceGroup(code="g0", name="Streets", position=0)
    session.add_all([department, group])
    session.flush()
    categories = [
        ServiceCategory(
            code=f"s{i:02d}",
            name=f"Service {i}",
            group_id=group.id,
            department_id=department.id,
            position=i,
        )
        for i in range(SERVICES)
    ]
    session.add_all(categories)
    add_city(session, LAT0, LON0, SPAN)
    session.flush()
    category_ids = [c.id for c in categories]
    department_id = department.id
    key, raw_key = new_key(
        session, label="CityApp iOS", rate_limit="1000000/minute", contact_email="", by=None
    )
    key_id = key.id
    session.commit()
    session.close()

    now = clock.now()
    requests_table, events_table = ServiceRequest.__table__, Event.__table__
    tokens: list[tuple[str, str]] = []
    batch = 10_000
    events = 0
    started = time.perf_counter()
    with db.engine.begin() as conn:
        for offset in range(0, rows, batch):
            values = []
            for n in range(offset, min(rows, offset + batch)):
                created = now - timedelta(minutes=rng.randint(60, 60 * 24 * DAYS))
                status = rng.choice(STATUSES)
                reference = f"SR-{created.year}-{n + 1:06d}"
                by_app = n % 10 == 0
                values.append(
                    {
                        "reference": reference,
                        "category_id": rng.choice(category_ids),
                        "department_id": department_id,
                        "description": "Benchmark request",
                        "answers": {},
                        "address": f"{n} Main Street",
                        "lat": LAT0 + rng.uniform(-SPAN, SPAN),
                        "lon": LON0 + rng.uniform(-SPAN, SPAN),
                        "channel": "api" if by_app else "web",
                        "channel_detail": "CityApp iOS" if by_app else "",
                        "status": "in_progress" if by_app else status,
                        "is_open": by_app or status in ("acknowledged", "in_progress", "scheduled"),
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
                        "api_key_id": key_id if by_app else None,
                        "api_token": f"token-{n:08d}" if by_app else None,
                    }
                )
                if by_app and len(tokens) < 5000:
                    tokens.append((reference, f"token-{n:08d}"))
            ids = (
                conn.execute(insert(requests_table).returning(requests_table.c.id), values)
                .scalars()
                .all()
            )
            timeline = []
            for request_id, row in zip(ids, values, strict=True):
                at = row["created_at"]
                steps = [
                    ("submitted", "resident", "", {"channel": row["channel"]}, True),
                    ("status_changed", "staff", "", {"from": "new", "to": row["status"]}, True),
                    ("comment", "staff", "We are on it.", {}, True),
                    ("internal_note", "staff", "Crew B", {}, False),
                ]
                if request_id % 2:
                    steps.append(("comment", "resident", "Thanks", {}, True))
                for minutes, (kind, actor, body, data, public) in enumerate(steps):
                    timeline.append(
                        {
                            "request_id": request_id,
                            "kind": kind,
                            "public": public,
                            "actor_kind": actor,
                            "body": body,
                            "data": data,
                            "created_at": min(now, at + timedelta(minutes=minutes * 17)),
                        }
                    )
            events += len(timeline)
            conn.execute(insert(events_table), timeline)
    print(
        f"loaded {rows:,} requests and {events:,} events in {time.perf_counter() - started:.1f} s"
    )
    return {"api_key": raw_key, "tokens": tokens}


def timed(client, path: str, repeat: int) -> str:
    timings, size, count = [], 0, 0
    for _ in range(repeat):
        started = time.perf_counter()
        response = client.get(path, headers={"Accept-Encoding": "identity"})
        timings.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            raise SystemExit(f"{path}: {response.status_code} {response.get_data(as_text=True)}")
        size = len(response.data)
        count = len(response.get_json())
    return (
        f"p50 {statistics.median(timings):8.2f} ms  p95 {percentile(timings, 95):8.2f} ms"
        f"  ({count:,} updates, {size / 1024:,.0f} KiB)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--posts", type=int, default=200)
    parser.add_argument("--plans", action="store_true")
    args = parser.parse_args()
    rng = random.Random(24)
    scratch = tempfile.TemporaryDirectory()
    app, db = scratch_app(scratch, args.database_url)
    world = load(db, args.rows, rng)
    analyze(db)
    client = app.test_client()
    now = clock.now()
    month_ago = (now - timedelta(days=60)).strftime("%Y-%m-%dT%H:%M:%SZ")
    month_end = (now - timedelta(days=29)).strftime("%Y-%m-%dT%H:%M:%SZ")
    reference = world["tokens"][0][0]
    cases = [
        ("default window (last day), 200 a page", "servicerequestupdates.json"),
        ("default window, 1,000 a page", "servicerequestupdates.json?page_size=1000"),
        (
            "31 days, page 1 of 1,000",
            f"servicerequestupdates.json?start_date={month_ago}&end_date={month_end}"
            "&page_size=1000",
        ),
        (
            "31 days, page 10 of 1,000",
            f"servicerequestupdates.json?start_date={month_ago}&end_date={month_end}"
            "&page_size=1000&page=10",
        ),
        ("requests/{id}/updates.json", f"requests/{reference}/updates.json"),
    ]
    for label, path in cases:
        print(f"GET {label:40s} {timed(client, f'{PREFIX}/{path}', args.repeat)}")
        if args.plans:
            print_plans(db, label, lambda path=path: client.get(f"{PREFIX}/{path}"))
    if args.posts:
        timings = []
        for reference, token in world["tokens"][: args.posts]:
            started = time.perf_counter()
            response = client.post(
                f"{PREFIX}/servicerequestupdates.json",
                data={
                    "api_key": world["api_key"],
                    "service_request_id": reference,
                    "token": token,
                    "description": "Still there, by the school",
                },
            )
            timings.append((time.perf_counter() - started) * 1000)
            if response.status_code != 201:
                raise SystemExit(f"POST: {response.status_code} {response.get_data(as_text=True)}")
        print(
            f"POST servicerequestupdates.json (a reply)  p50 {statistics.median(timings):8.2f} ms"
            f"  p95 {percentile(timings, 95):8.2f} ms  ({len(timings)} replies)"
        )


if __name__ == "__main__":
    main()
