"""Address search figures with a million address points: suggestions and reverse geocoding.

Generates (deterministically) a grid city: 500 east-west streets ("Korvan Street", ...) 100 m
apart with 2,000 address points each (numbers 1-1999 odd/even both sides, 5% with two units),
500 north-south avenues as centrelines (so every street meets every avenue), and inserts the
points directly in batches of 20,000 (the search index is filled by migration 0019's triggers).
Then times, on the engine ``--database-url`` / ``DATABASE_URL`` points at (emptied and
migrated; a temporary SQLite file by default), ``--runs`` random queries of each kind through
``portal.places.search.suggest`` and ``portal.places.geocode.reverse``, prints p50/p95/max per
kind and overall, and the query plan (EXPLAIN QUERY PLAN / EXPLAIN) of every SQL statement one
query of each kind sends. Targets: suggestion p95 < 50 ms, reverse p95 < 20 ms.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/bench .venv/bin/python benchmarks/places.py
    .venv/bin/python benchmarks/places.py [--points 1000000] [--runs 200]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from typing import Any

from common import percentile, scratch_url  # benchmarks/common.py
from sqlalchemy import event, insert, text

from portal.core.db import Database
from portal.places.geocode import reverse
from portal.places.models import AddressPoint, Street
from portal.places.normalise import address_key, street_key
from portal.places.search import suggest

SYLLABLES = [
    "kor",
    "van",
    "bel",
    "mar",
    "sta",
    "lin",
    "dor",
    "wen",
    "tra",
    "mil",
    "ash",
    "ford",
    "ral",
    "ton",
    "ber",
    "gen",
    "hal",
    "vik",
    "oso",
    "pen",
    "qua",
    "rin",
    "sel",
    "tur",
]
LAT0, LON0 = 41.0, -87.3
SPACING = 0.0009  # 100 m of latitude
STEP_LON = 0.00006  # about 5 m of longitude at 41 degrees


def names(rng: random.Random, count: int, suffix: str) -> list[str]:
    found: list[str] = []
    seen: set[str] = set()
    while len(found) < count:
        word = "".join(rng.choice(SYLLABLES) for _ in range(rng.choice((2, 2, 3)))).capitalize()
        if word not in seen:
            seen.add(word)
            found.append(f"{word} {suffix}")
    return found


def load(db: Database, points: int, rng: random.Random) -> tuple[list[str], list[str]]:
    streets = names(rng, 500, "Street")
    avenues = names(rng, 500, "Avenue")
    per_street = max(1, points // len(streets))
    width = per_street // 2 * STEP_LON
    started = time.perf_counter()
    with db.engine.begin() as conn:
        rows: list[dict[str, Any]] = []
        for i, name in enumerate(streets):
            lat = LAT0 + i * SPACING
            coords = [[LON0, lat], [LON0 + width, lat]]
            rows.append(_street(name, coords))
        for j, name in enumerate(avenues):
            lon = LON0 + j * (width / len(avenues))
            coords = [[lon, LAT0 - SPACING], [lon, LAT0 + len(streets) * SPACING]]
            rows.append(_street(name, coords))
        conn.execute(insert(Street.__table__), rows)
    batch: list[dict[str, Any]] = []
    n = 0
    with db.engine.begin() as conn:
        for i, name in enumerate(streets):
            lat = LAT0 + i * SPACING
            skey = street_key(name)
            for k in range(per_street):
                number = str(k + 1)
                side = 0.00008 if k % 2 else -0.00008
                unit = f"Apt {k % 3 + 1}" if k % 20 == 0 else ""
                n += 1
                batch.append(
                    {
                        "id": n,
                        "source_id": f"p{n}",
                        "number": number,
                        "street": name,
                        "unit": unit,
                        "postcode": "60000",
                        "lat": lat + side + rng.uniform(-0.00001, 0.00001),
                        "lon": LON0 + (k // 2) * STEP_LON,
                        "area_id": None,
                        "street_key": skey,
                        "search_key": address_key(number, name, unit),
                        "label": f"{number} {name}" + (f", {unit}" if unit else ""),
                        "active": True,
                    }
                )
                if len(batch) >= 20_000:
                    conn.execute(insert(AddressPoint.__table__), batch)
                    batch = []
                    if n % 200_000 == 0:
                        print(f"  {n:,} points, {time.perf_counter() - started:.0f} s", flush=True)
        if batch:
            conn.execute(insert(AddressPoint.__table__), batch)
    elapsed = time.perf_counter() - started
    print(
        f"loaded {n:,} address points and 1,000 streets in {elapsed:.1f} s "
        f"({n / elapsed:,.0f} points/s, the search index filled by triggers)"
    )
    with db.engine.begin() as conn:
        conn.execute(text("ANALYZE"))
    return streets, avenues


def _street(name: str, coords: list[list[float]]) -> dict[str, Any]:
    lons = [c[0] for c in coords]
    lats = [c[1] for c in coords]
    return {
        "source_id": None,
        "name": name,
        "key": street_key(name),
        "geometry": {"type": "LineString", "coordinates": coords},
        "min_lat": min(lats),
        "max_lat": max(lats),
        "min_lon": min(lons),
        "max_lon": max(lons),
        "active": True,
    }


def typo(rng: random.Random, word: str) -> str:
    i = rng.randrange(1, len(word) - 2)
    return word[:i] + word[i + 1] + word[i] + word[i + 2 :]  # two letters swapped


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", ""))
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()
    rng = random.Random(18)
    scratch = tempfile.TemporaryDirectory()
    db = Database(scratch_url(scratch, args.database_url))
    print(f"engine: {db.dialect}")
    streets, avenues = load(db, args.points, rng)
    per_street = args.points // len(streets)

    def number() -> int:
        return rng.randint(1, per_street)

    kinds: dict[str, Callable[[], str]] = {
        "number + street prefix": lambda: f"{number()} {rng.choice(streets)[:4].lower()}",
        "full address": lambda: f"{number()} {rng.choice(streets)}",
        "abbreviated": lambda: f"{number()} {rng.choice(streets).replace('Street', 'St')}",
        "with a unit": lambda: f"{rng.randrange(1, per_street, 20)} {rng.choice(streets)}, Apt 2",
        "typo in the street": lambda: f"{number()} {typo(rng, rng.choice(streets))}",
        "street prefix": lambda: rng.choice(streets)[:5],
        "intersection": lambda: f"{rng.choice(streets)} & {rng.choice(avenues)}",
        "unknown": lambda: f"{number()} Nowhere Xyzzy Road",
    }
    session = db.session()
    statements: list[tuple[str, Any]] = []

    def capture(_conn, _cursor, statement, parameters, _context, _many):
        statements.append((statement, parameters))

    all_suggest: list[float] = []
    for label, make_query in kinds.items():
        timings, hits = [], []
        for _ in range(args.runs):
            query = make_query()
            started = time.perf_counter()
            found = suggest(session, query)
            timings.append((time.perf_counter() - started) * 1000)
            hits.append(len(found))
        all_suggest += timings
        print(
            f"suggest {label:24} p50 {statistics.median(timings):6.1f} ms  "
            f"p95 {percentile(timings, 95):6.1f} ms  max {max(timings):6.1f} ms  "
            f"(mean {statistics.mean(hits):.1f} suggestions; e.g. {query!r})"
        )
    print(
        f"suggest ALL {len(all_suggest)} queries p50 {statistics.median(all_suggest):6.1f} ms  "
        f"p95 {percentile(all_suggest, 95):6.1f} ms"
    )
    timings, found_count = [], 0
    height = len(streets) * SPACING
    width = per_street // 2 * STEP_LON
    for _ in range(args.runs * 2):
        lat, lon = LAT0 + rng.uniform(0, height), LON0 + rng.uniform(0, width)
        started = time.perf_counter()
        nearest = reverse(session, lat, lon)
        timings.append((time.perf_counter() - started) * 1000)
        found_count += nearest is not None
    print(
        f"reverse                          p50 {statistics.median(timings):6.1f} ms  "
        f"p95 {percentile(timings, 95):6.1f} ms  max {max(timings):6.1f} ms  "
        f"({found_count} of {len(timings)} within 150 m)"
    )

    print("\nquery plans (one query of each kind):")
    engine = db.engine
    samples = {label: make_query() for label, make_query in kinds.items()}
    samples["reverse"] = ""
    for label, query in samples.items():
        statements.clear()
        event.listen(engine, "before_cursor_execute", capture)
        try:
            if label == "reverse":
                reverse(session, LAT0 + height / 2, LON0 + width / 2)
            else:
                suggest(session, query)
        finally:
            event.remove(engine, "before_cursor_execute", capture)
        print(f"\n== {label}: {query!r}")
        for statement, parameters in statements:
            explain = "EXPLAIN QUERY PLAN " if db.dialect == "sqlite" else "EXPLAIN "
            with engine.connect() as conn:
                plan = conn.exec_driver_sql(explain + statement, parameters).fetchall()
            print("  " + " ".join(statement.split())[:160])
            for row in plan:
                print("    " + str(row[-1]))
    session.close()
    db.dispose()


if __name__ == "__main__":
    main()
