"""Staff search figures on a big table: the full-text index filled by its triggers.

Loads N requests (default 1,000,000; bulk insert, the migration's triggers fill the index)
plus one internal note on every 10th, into a scratch database, then times
``search_requests`` for a few kinds of query, as an admin (all departments) and as an agent
(one department of five): p50 / p95 / max over repeated runs.

    .venv/bin/python benchmarks/search.py [--rows 1000000] [--database-url URL]

Without --database-url a throw-away SQLite file is used. Prints figures; changes nothing else.

Measured on 2 cores, 1,000,000 requests (p50 / p95, admin): reference, email, rare word
7-8 / 11-14 ms on SQLite, 8-21 / 11-31 ms on PostgreSQL; an address 79 / 114 ms (SQLite),
17 / 23 ms (PG); a word in 1 of 15 requests ("pothole", 67,000 matches, every one scored)
583 / 851 ms (SQLite), 512 / 577 ms (PG). Loading runs at ~1,300 requests/s with the triggers.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from datetime import timedelta

from common import percentile, scratch_url  # benchmarks/common.py
from sqlalchemy import insert, text

from portal.casework.search import indexed_count, search_requests
from portal.catalogue.models import Department, ServiceCategory, ServiceGroup
from portal.core import clock
from portal.core.db import Database
from portal.requests.models import Event, ServiceRequest
from portal.staff.permissions import StaffAccess

PROBLEMS = [
    "pothole",
    "streetlight",
    "graffiti",
    "hydrant",
    "sidewalk",
    "tree",
    "trash",
    "flooding",
    "noise",
    "parking",
    "signal",
    "manhole",
    "bench",
    "fence",
    "drain",
]
ADJECTIVES = [
    "broken",
    "deep",
    "leaking",
    "dark",
    "blocked",
    "overflowing",
    "cracked",
    "loud",
    "fallen",
    "missing",
    "damaged",
    "dangerous",
    "flickering",
    "abandoned",
    "sticky",
]
PLACES = [
    "school",
    "library",
    "park",
    "corner",
    "crosswalk",
    "station",
    "market",
    "church",
    "clinic",
    "playground",
    "bridge",
    "alley",
    "driveway",
    "plaza",
    "stadium",
]
STREETS = [
    "Main",
    "Oak",
    "Elm",
    "Maple",
    "Cedar",
    "Pine",
    "Quarry",
    "Mill",
    "River",
    "Lake",
    "Hill",
    "Park",
    "Church",
    "Market",
    "Bridge",
    "Station",
    "Spring",
    "Ash",
    "Birch",
]
RARE = ["zebra", "saxophone", "kaleidoscope", "walrus", "trombone"]  # ~1 in 20,000 rows


def description(rng: random.Random, n: int) -> str:
    words = [rng.choice(ADJECTIVES), rng.choice(PROBLEMS), "near", "the", rng.choice(PLACES)]
    if n % 20_000 == 7:
        words.append(rng.choice(RARE))
    return " ".join(words).capitalize() + f", reported {rng.randint(1, 9)} times"


def load(db: Database, rows: int, rng: random.Random) -> int:
    session = db.session(write=True)
    group = ServiceGroup(code="all", name="All")
    departments = [Department(code=f"d{i}", name=f"Department {i}") for i in range(5)]
    session.add_all([group, *departments])
    session.flush()
    category = ServiceCategory(
        code="c", name="Category", group_id=group.id, department_id=departments[0].id
    )
    session.add(category)
    session.flush()
    dept_ids, category_id = [d.id for d in departments], category.id
    session.commit()
    session.close()
    now = clock.now()
    year = now.year
    batch = 10_000
    started = time.perf_counter()
    with db.engine.begin() as conn:
        for offset in range(0, rows, batch):
            values = []
            for n in range(offset + 1, min(rows, offset + batch) + 1):
                created = now - timedelta(minutes=rng.randint(0, 60 * 24 * 365 * 3))
                values.append(
                    {
                        "id": n,
                        "reference": f"SR-{year}-{n:07d}",
                        "category_id": category_id,
                        "department_id": dept_ids[n % 5],
                        "description": description(rng, n),
                        "answers": {},
                        "address": f"{rng.randint(1, 4000)} {rng.choice(STREETS)} Street",
                        "lat": 41.0,
                        "lon": -87.0,
                        "channel": "web",
                        "status": "new",
                        "is_open": True,
                        "priority": "normal",
                        "contact_name": "",
                        "contact_email": f"resident{n}@example.org" if n % 3 == 0 else "",
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
            notes = [
                {
                    "request_id": v["id"],
                    "kind": "internal_note",
                    "public": False,
                    "actor_kind": "staff",
                    "body": f"Crew {rng.choice(PLACES)} visit: "
                    f"{rng.choice(ADJECTIVES)} {rng.choice(PROBLEMS)}",
                    "data": {},
                    "created_at": v["created_at"],
                }
                for v in values
                if v["id"] % 10 == 0
            ]
            conn.execute(insert(Event.__table__), notes)
            if offset and offset % 200_000 == 0:
                print(f"  {offset:,} rows, {time.perf_counter() - started:.0f} s", flush=True)
    elapsed = time.perf_counter() - started
    print(
        f"loaded {rows:,} requests and {rows // 10:,} notes in {elapsed:.1f} s "
        f"({rows / elapsed:,.0f} requests/s, index filled by the triggers)"
    )
    if db.dialect == "postgresql":
        with db.engine.begin() as conn:
            conn.execute(text("ANALYZE"))
    return dept_ids[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    rng = random.Random(11)
    scratch = tempfile.TemporaryDirectory()
    db = Database(scratch_url(scratch, args.database_url))
    print(f"engine: {db.dialect}")
    agent_dept = load(db, args.rows, rng)
    year = clock.now().year
    session = db.session()
    print(f"index rows: {indexed_count(session):,}")
    queries = [
        ("reference", f"SR-{year}-{args.rows // 2:07d}"),
        ("rare word", "zebra"),
        ("two common words", "leaking hydrant"),
        ("common word", "pothole"),
        ("word in a note", "crew playground"),
        ("address", "1234 Quarry Street"),
        ("email", f"resident{(args.rows // 3) * 3}@example.org"),
        ("no match", "xylophone"),
    ]
    admin = StaffAccess(user_id=1, role="admin")
    agent = StaffAccess(user_id=2, role="agent", departments={agent_dept: "agent"})
    for who, access in (("admin", admin), ("agent", agent)):
        for label, query in queries:
            timings, hits = [], 0
            for _ in range(args.runs):
                started = time.perf_counter()
                page = search_requests(session, access=access, query=query)
                timings.append((time.perf_counter() - started) * 1000)
                hits = len(page.hits)
            print(
                f"{who:5} {label:17} {query!r:34} p50 {statistics.median(timings):7.1f} ms  "
                f"p95 {percentile(timings, 95):7.1f} ms  max {max(timings):7.1f} ms  "
                f"({hits} on page 1)"
            )
    session.close()
    db.dispose()


if __name__ == "__main__":
    main()
