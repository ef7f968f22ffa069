"""Filing and duplicate-search figures on a big table.

Loads N requests (default 500,000) into a scratch database, then times:
- nearby_open_requests ("is it one of these?") at random points, p50/p95/max;
- submit_request + commit (one filing with its event and confirmation email), per second;
- the public tracking page and the filing form's first page over the WSGI app.

    .venv/bin/python benchmarks/filing.py [--rows 500000] [--database-url URL]

Without --database-url a throw-away SQLite file is used. Prints figures; changes nothing else.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from datetime import timedelta

from common import add_city, percentile, scratch_app  # benchmarks/common.py
from sqlalchemy import insert

from portal.catalogue.models import Department, ServiceCategory, ServiceGroup
from portal.core import clock
from portal.core.db import Database
from portal.requests.models import ServiceRequest
from portal.requests.service import Filing, nearby_open_requests, submit_request

LAT0, LON0 = 41.0, -87.0
SPAN = 0.09  # about 10 km


def load(db: Database, rows: int, rng: random.Random) -> list[int]:
    session = db.session(write=True)
    dept = Department(code="streets", name="Streets")
    group = ServiceGroup(code="streets", name="Streets")
    session.add_all([dept, group])
    session.flush()
    categories = []
    for i in range(15):
        category = ServiceCategory(
            code=f"c{i}", name=f"Category {i}", group_id=group.id, department_id=dept.id
        )
        session.add(category)
        categories.append(category)
    add_city(session, LAT0, LON0, SPAN)
    session.flush()
    ids = [c.id for c in categories]
    session.commit()
    session.close()
    now = clock.now()
    statuses = ["new", "acknowledged", "in_progress", "resolved", "closed", "resolved", "closed"]
    batch = 10_000
    started = time.perf_counter()
    with db.engine.begin() as conn:
        for offset in range(0, rows, batch):
            values = []
            for n in range(offset, min(rows, offset + batch)):
                status = rng.choice(statuses)
                created = now - timedelta(minutes=rng.randint(0, 60 * 24 * 365 * 3))
                values.append(
                    {
                        "reference": f"SR-B-{n:08d}",
                        "category_id": rng.choice(ids),
                        "department_id": 1,
                        "description": "Benchmark request",
                        "answers": {},
                        "address": f"{n} Main Street",
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
                    }
                )
            conn.execute(insert(ServiceRequest.__table__), values)
    print(f"loaded {rows:,} requests in {time.perf_counter() - started:.1f} s")
    return ids


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=500_000)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--filings", type=int, default=300)
    args = parser.parse_args()
    rng = random.Random(7)
    scratch = tempfile.TemporaryDirectory()
    app, db = scratch_app(scratch, args.database_url)
    settings = app.extensions["portal.settings"]
    category_ids = load(db, args.rows, rng)

    timings = []
    session = db.session()
    for _ in range(300):
        lat, lon = LAT0 + rng.uniform(-SPAN, SPAN), LON0 + rng.uniform(-SPAN, SPAN)
        started = time.perf_counter()
        nearby_open_requests(
            session, category_id=rng.choice(category_ids), lat=lat, lon=lon, radius_m=250
        )
        timings.append((time.perf_counter() - started) * 1000)
    session.close()
    print(
        f"nearby search (250 m): p50 {statistics.median(timings):.2f} ms, "
        f"p95 {percentile(timings, 95):.2f} ms, max {max(timings):.2f} ms"
    )

    started = time.perf_counter()
    references = []
    for n in range(args.filings):
        session = db.session(write=True)
        submitted = submit_request(
            session,
            settings=settings,
            filing=Filing(
                category_code=f"c{n % 15}",
                description="Benchmark filing",
                address="1 Main St",
                lat=LAT0,
                lon=LON0,
                contact_email="bench@example.org",
            ),
        )
        references.append(submitted.request.reference)
        session.commit()
        session.close()
    elapsed = time.perf_counter() - started
    print(
        f"submit_request + commit: {args.filings / elapsed:.0f} filings/s "
        f"({elapsed / args.filings * 1000:.2f} ms each, one process)"
    )

    client = app.test_client()
    for label, paths in (
        ("tracking page", [f"/requests/{r}" for r in references[:200]]),
        ("report form, first page", ["/report/"] * 200),
    ):
        timings = []
        for path in paths:
            started = time.perf_counter()
            response = client.get(path)
            timings.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, (path, response.status_code)
        print(
            f"{label}: p50 {statistics.median(timings):.2f} ms, "
            f"p95 {percentile(timings, 95):.2f} ms"
        )
    db.dispose()


if __name__ == "__main__":
    main()
