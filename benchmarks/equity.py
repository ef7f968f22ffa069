"""Equity (issue 23): the reporting rate estimated from duplicate reports, against the truth.

A generated city: areas whose residents report an open problem again at known rates (later
reports per open problem per day, from 0.05 to 0.8), problems that stay open for a random time
(exponential, mean 7 days; some still open at the period's end), and later reports arriving at
the area's rate while the problem is open (a Poisson process), each stored as a request merged
into the first one (``duplicate_of_id``) as staff do. ``portal.reports.equity.figures`` then
estimates each area's rate for the quarter; the table prints the estimate, its 90% range, the
true rate, the error, and whether the truth lies in the range, and the time the estimate took.

    .venv/bin/python benchmarks/equity.py [--problems 600] [--database-url URL]
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from datetime import UTC, date, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).parent))

from common import scratch_app  # noqa: E402
from sqlalchemy import insert  # noqa: E402

from portal.areas.models import Area  # noqa: E402
from portal.catalogue.models import Department, ServiceCategory, ServiceGroup  # noqa: E402
from portal.reports import equity  # noqa: E402
from portal.reports.periods import Period  # noqa: E402
from portal.requests.models import ServiceRequest  # noqa: E402

RATES = {"Alder": 0.05, "Birch": 0.1, "Cedar": 0.2, "Dell": 0.4, "Elm": 0.8}
MEAN_OPEN_DAYS = 7.0
QUARTER = Period.containing("quarter", date(2026, 1, 15))
ZONE = ZoneInfo("UTC")
SQUARE = {"type": "Polygon", "coordinates": [[[0, 0], [0, 1], [1, 1], [1, 0], [0, 0]]]}


def build(db, problems: int, seed: int = 5) -> None:
    rng = random.Random(seed)
    start, end = QUARTER.bounds(ZONE)
    span = (end - start).total_seconds()
    with db.transaction() as session:
        group = ServiceGroup(code="all", name="All")
        department = Department(code="city", name="City")
        session.add_all([group, department])
        session.flush()
        category = ServiceCategory(
            code="pothole", name="Pothole", group_id=group.id, department_id=department.id
        )
        session.add(category)
        areas = {}
        for name in RATES:
            area = Area(
                code=name.lower(),
                name=name,
                geometry=SQUARE,
                min_lat=0,
                max_lat=1,
                min_lon=0,
                max_lon=1,
                population=10_000,
            )
            session.add(area)
            session.flush()
            areas[name] = area.id
        session.flush()
        ids = (category.id, department.id)
    rows = []
    next_id = 1
    for name, rate in RATES.items():
        for _ in range(problems):
            filed = start + timedelta(seconds=rng.uniform(0, span * 0.9))
            open_days = rng.expovariate(1 / MEAN_OPEN_DAYS)
            closes = filed + timedelta(days=open_days)
            first = next_id
            still_open = closes > end
            rows.append(_row(first, ids, areas[name], filed, closes, still_open, None))
            next_id += 1
            moment = filed
            while True:
                moment += timedelta(days=rng.expovariate(rate))
                if moment >= min(closes, end):
                    break
                rows.append(_row(next_id, ids, areas[name], moment, None, False, first))
                next_id += 1
    with db.engine.begin() as conn:
        for i in range(0, len(rows), 5000):
            conn.execute(insert(ServiceRequest), rows[i : i + 5000])
    print(f"requests: {len(rows)} ({problems} problems in each of {len(RATES)} areas)")


def _row(n, ids, area_id, filed, closes, still_open, duplicate_of):
    status = "duplicate" if duplicate_of else ("in_progress" if still_open else "resolved")
    return {
        "id": n,
        "reference": f"SR-E-{n:08d}",
        "category_id": ids[0],
        "department_id": ids[1],
        "area_id": area_id,
        "description": "",
        "answers": {},
        "locale": "en",
        "status": status,
        "is_open": status == "in_progress",
        "created_at": filed,
        "updated_at": filed,
        "status_changed_at": closes if status == "resolved" else filed,
        "resolved_at": closes if status == "resolved" else None,
        "duplicate_of_id": duplicate_of,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problems", type=int, default=600)
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", ""))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch_dir:
        scratch = tempfile.TemporaryDirectory(dir=scratch_dir)
        app, db = scratch_app(scratch, args.database_url)
        with app.app_context():
            build(db, args.problems)
            now = QUARTER.bounds(ZONE)[1] + timedelta(days=1)
            with db.transaction(write=False) as session:
                began = time.perf_counter()
                found = equity.figures(session, QUARTER, ZONE, now.astimezone(UTC))
                took = time.perf_counter() - began
    print(f"equity.figures for the quarter: {took * 1000:.0f} ms")
    print(
        f"{'area':<8} {'later':>6} {'estimate':>9} {'90% range':>16} {'true':>6} {'error':>7}  in"
    )
    inside = 0
    for area in found:
        if area.area_id is None:
            continue
        true = RATES[area.name]
        low, high = area.interval or (0.0, 0.0)
        rate = area.rate or 0.0
        ok = low <= true <= high
        inside += ok
        print(
            f"{area.name:<8} {area.later_reports:>6} {rate:>9.3f} {low:>7.3f} to {high:<6.3f}"
            f" {true:>6.2f} {100 * (rate - true) / true:>+6.1f}%  {'yes' if ok else 'no'}"
        )
    print(f"true rate inside the 90% range: {inside} of {len(RATES)} areas")


if __name__ == "__main__":
    main()
