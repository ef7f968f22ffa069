"""Calibrated expected dates (issue 23): how often the forecast dates come true.

A generated city is replayed day by day with a clock: requests arrive in four departments at
their own rates, each takes a known random time to resolve (log-normal, a different median and
spread per department and category), and one department has a storm (arrivals up 2.5 times for
two weeks, work taking 1.8 times longer while it lasts). Each new case clock is given its
forecast by the production code (``portal.sla.forecasts.record``) from groups the worker's
job rebuilds weekly (``forecasts.rebuild``) from the clocks resolved so far. At the end, for the
clocks started after a three-month warm-up whose forecast date has passed: the share finished
by it, per department (target: the percentile promised, 80%, within 5 points), with and
without the backlog factor, and the time of one weekly rebuild.

    .venv/bin/python benchmarks/forecasts.py [--days 270] [--database-url URL]
"""

from __future__ import annotations

import argparse
import math
import os
import random
import sys
import tempfile
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from common import scratch_app  # noqa: E402
from sqlalchemy import insert, select, update  # noqa: E402

from portal.catalogue.models import Department, ServiceCategory, ServiceGroup  # noqa: E402
from portal.requests.models import ServiceRequest  # noqa: E402
from portal.sla import forecasts  # noqa: E402
from portal.sla.calendar import always_open  # noqa: E402
from portal.sla.models import SlaClock  # noqa: E402

#: department: (arrivals a day, {category: (median hours, log-normal sigma)})
CITY = {
    "streets": (30, {"pothole": (30, 0.9), "sign": (70, 0.7)}),
    "water": (12, {"leak": (8, 1.2), "hydrant": (40, 0.8)}),
    "parks": (8, {"tree": (90, 0.6), "playground": (45, 0.9)}),
    "sanitation": (25, {"missed-pickup": (20, 0.5), "bulk": (50, 1.0)}),
}
STORM = ("streets", 200, 214, 2.5, 1.8)  # department, first day, last day, arrivals, durations
WARM_UP_DAYS = 90
START = datetime(2026, 1, 5, 6, 0, tzinfo=UTC)


def poisson(rng: random.Random, mean: float) -> int:
    limit, k, p = math.exp(-mean), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def build_city(session) -> dict[str, tuple[int, dict[str, int]]]:
    group = ServiceGroup(code="all", name="All")
    session.add(group)
    session.flush()
    city = {}
    for code, (_rate, kinds) in CITY.items():
        department = Department(code=code, name=code.capitalize())
        session.add(department)
        session.flush()
        ids = {}
        for kind in kinds:
            category = ServiceCategory(
                code=kind, name=kind, group_id=group.id, department_id=department.id
            )
            session.add(category)
            session.flush()
            ids[kind] = category.id
        city[code] = (department.id, ids)
    session.commit()
    return city


def _arrivals(session, rng, city, day, now, calendar, next_id, state) -> int:
    """One day's new requests: each clock gets its forecast from the production code."""
    pending, plain, started_day = state
    for code, (rate, kinds) in CITY.items():
        department_id, category_ids = city[code]
        storm = code == STORM[0] and STORM[1] <= day <= STORM[2]
        for _ in range(poisson(rng, rate * (STORM[3] if storm else 1))):
            kind = rng.choice(sorted(kinds))
            median, sigma = kinds[kind]
            hours = median * math.exp(rng.gauss(0, sigma)) * (STORM[4] if storm else 1)
            filed = now + timedelta(seconds=rng.randint(0, 86_399))
            session.execute(
                insert(ServiceRequest),
                [
                    {
                        "id": next_id,
                        "reference": f"SR-F-{next_id:08d}",
                        "category_id": category_ids[kind],
                        "department_id": department_id,
                        "description": "",
                        "answers": {},
                        "locale": "en",
                        "status": "new",
                        "is_open": True,
                        "created_at": filed,
                        "updated_at": filed,
                        "status_changed_at": filed,
                    }
                ],
            )
            request = session.get(ServiceRequest, next_id)
            clock = SlaClock(
                request_id=next_id,
                department_id=department_id,
                kind="resolution",
                stage="running",
                unit="calendar_days",
                target_seconds=5 * 86_400,
                started_at=filed,
                working_seconds=0,
                wall_seconds=0,
            )
            forecasts.record(session, clock, request, calendar)
            session.add(clock)
            session.flush()
            group = forecasts._group_for(session, clock, request)
            if group is not None:
                plain[clock.id] = forecasts.remaining(group.sketch, group.quantile, 0)
            started_day[clock.id] = (code, day)
            seconds = int(hours * 3600)
            pending.append((filed + timedelta(seconds=seconds), clock.id, seconds))
            next_id += 1
    return next_id


def replay(app, db, days: int, seed: int = 11) -> None:
    settings = app.extensions["portal.settings"]
    rng = random.Random(seed)
    calendar = always_open("UTC")
    with db.transaction() as session:
        city = build_city(session)
    pending: list[tuple[datetime, int, int]] = []  # (stops at, clock id, seconds)
    plain: dict[int, float] = {}  # clock id -> the forecast without the backlog factor
    started_day: dict[int, tuple[str, int]] = {}
    next_id = 1
    rebuild_seconds: list[float] = []
    state = (pending, plain, started_day)
    for day in range(days):
        now = START + timedelta(days=day)
        with db.transaction() as session:
            due = [p for p in pending if p[0] <= now]
            pending[:] = [p for p in pending if p[0] > now]
            if due:
                session.execute(
                    update(SlaClock),
                    [
                        {
                            "id": clock_id,
                            "stage": "met",
                            "stopped_at": stops,
                            "working_seconds": seconds,
                            "wall_seconds": seconds,
                        }
                        for stops, clock_id, seconds in due
                    ],
                )
            if day % 7 == 0:
                began = time.perf_counter()
                forecasts.rebuild(session, settings=settings, now=now)
                rebuild_seconds.append(time.perf_counter() - began)
            next_id = _arrivals(session, rng, city, day, now, calendar, next_id, state)
    end = START + timedelta(days=days)
    median = sorted(rebuild_seconds)[len(rebuild_seconds) // 2]
    print(
        f"requests: {next_id - 1}; weekly rebuild median {median * 1000:.0f} ms, "
        f"max {max(rebuild_seconds) * 1000:.0f} ms"
    )
    _report(db, settings, pending, plain, started_day, end)


def _report(db, settings, pending, plain, started_day, end) -> None:
    finished = {clock_id: seconds for _stops, clock_id, seconds in pending}
    with db.transaction(write=False) as session:
        rows = session.execute(
            select(
                SlaClock.id,
                SlaClock.started_at,
                SlaClock.stopped_at,
                SlaClock.working_seconds,
                SlaClock.forecast_seconds,
                SlaClock.forecast_at,
            ).where(SlaClock.forecast_at.is_not(None))
        ).all()
    judged: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for clock_id, started, stopped, worked, forecast, forecast_at in rows:
        code, day = started_day[clock_id]
        if day < WARM_UP_DAYS or forecast_at > end:
            continue
        took = worked if stopped is not None else finished.get(clock_id, 10**9)
        names = [code, "city"]
        if code == STORM[0] and STORM[1] <= day <= STORM[2] + 14:
            names.append(f"{code}, storm")
        for name in names:
            tally = judged[name]
            tally[0] += 1
            tally[1] += stopped is not None and took <= forecast
            if clock_id in plain and started + timedelta(seconds=plain[clock_id]) <= end:
                tally[2] += 1
                tally[3] += took <= plain[clock_id]
    q = settings.forecast_percentile
    print(
        f"share finished by the forecast date (target {q}% +/- 5), "
        f"clocks after a {WARM_UP_DAYS}-day warm-up:"
    )
    print(f"{'department':<16} {'judged':>7} {'with backlog':>13} {'without':>9}")
    for name, (n, hits, n_plain, hits_plain) in sorted(judged.items()):
        without = 100 * hits_plain / max(n_plain, 1)
        print(f"{name:<16} {n:>7} {100 * hits / n:>12.1f}% {without:>8.1f}%")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=270)
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", ""))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch_dir:
        scratch = tempfile.TemporaryDirectory(dir=scratch_dir)
        app, db = scratch_app(scratch, args.database_url)
        with app.app_context():
            replay(app, db, args.days)


if __name__ == "__main__":
    main()
