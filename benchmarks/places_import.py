"""Loading a million address points: ``flask city import`` figures on SQLite and PostgreSQL.

Generates (deterministically, in a temporary folder) the demo city's configuration with an
``addresses.csv`` of N address points (default 1,000,000; OpenAddresses columns, ids
``B0000001``..., random points inside the demo's areas, 70 street names, ~5 % with units) and
its ``streets.geojson``. Then, per engine (a temporary SQLite file; a scratch PostgreSQL
database, created and dropped, skipped when the server cannot be reached), after migrating,
each step runs in a fresh child process (so its peak memory is its own) through the same
functions ``flask city import`` calls (``read_folder``, ``import_city``, one transaction):

- first import (every point added);
- the same file again (every point unchanged);
- the file with 1 % of the points moved and the last 1 % removed (changed, deactivated).

Prints per step the wall-clock seconds, the counts and the child's peak RSS (ru_maxrss).

    .venv/bin/python benchmarks/places_import.py [--points 1000000] [--postgres SERVER_URL]
        [--skip-postgres] [--revision head]
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def make_folder(folder: Path, points: int, *, variant: int = 0) -> None:
    from portal.demo.places_gen import AVENUES, STREETS

    demo = ROOT / "portal" / "demo" / "city"
    if not folder.exists():
        shutil.copytree(demo, folder)
    areas = json.loads((demo / "areas.geojson").read_text())["features"]
    lons = [p[0] for f in areas for ring in f["geometry"]["coordinates"] for p in ring]
    lats = [p[1] for f in areas for ring in f["geometry"]["coordinates"] for p in ring]
    names = AVENUES + STREETS
    rng = random.Random(2026)
    keep = points - (points // 100 if variant else 0)
    with (folder / "addresses.csv").open("w", newline="") as handle:
        out = csv.writer(handle, lineterminator="\n")
        out.writerow(["LON", "LAT", "NUMBER", "STREET", "UNIT", "CITY", "POSTCODE", "ID", "HASH"])
        for i in range(keep):
            lon = rng.uniform(min(lons) + 1e-4, max(lons) - 1e-4)
            lat = rng.uniform(min(lats) + 1e-4, max(lats) - 1e-4)
            if variant and i % 100 == 7:
                lat += 1e-5
            unit = f"Apt {rng.randint(1, 40)}" if rng.random() < 0.05 else ""
            out.writerow(
                [
                    f"{lon:.6f}",
                    f"{lat:.6f}",
                    str(rng.randint(1, 9999)),
                    rng.choice(names),
                    unit,
                    "Port Alder",
                    "46905",
                    f"B{i:07d}",
                    "",
                ]
            )


def child(url: str, folder: str) -> None:
    from portal import models  # noqa: F401  (the whole metadata)
    from portal.city.folder import read_folder
    from portal.city.importer import import_city
    from portal.core import clock
    from portal.core.db import Database

    db = Database(url)
    start = time.perf_counter()
    with db.transaction() as session:
        summary = import_city(session, read_folder(folder), now=clock.now())
    seconds = time.perf_counter() - start
    counts = summary.as_dict()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps(
            {
                "seconds": round(seconds, 1),
                "peak_mb": round(peak),
                "addresses": counts.get("addresses", {}),
            }
        )
    )
    db.dispose()


def run_engine(label: str, url: str, folder: Path, points: int, revision: str) -> None:
    from portal.migrate import upgrade

    upgrade(url, revision)
    make_folder(folder, points)
    steps = [("first import", 0), ("same file again", 0), ("1 % moved, 1 % gone", 1)]
    for step, variant in steps:
        if variant:
            make_folder(folder, points, variant=1)
        out = subprocess.run(
            [sys.executable, __file__, "--child", url, str(folder)],
            capture_output=True,
            text=True,
            check=True,
        )
        print(f"{label:10s} {step:22s} {out.stdout.strip()}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--revision", default="head")
    parser.add_argument("--child", nargs=2)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "city"
        print(f"{args.points:,} address points")
        run_engine("sqlite", f"sqlite:///{tmp}/bench.db", folder, args.points, args.revision)
        if args.skip_postgres:
            return
        import psycopg

        name = f"places_bench_{uuid.uuid4().hex[:8]}"
        try:
            with psycopg.connect(args.postgres, autocommit=True) as conn:
                conn.execute(f"CREATE DATABASE {name}")
        except psycopg.OperationalError as exc:
            print(f"postgresql skipped: {exc}")
            return
        base = args.postgres.rsplit("/", 1)[0]
        try:
            shutil.rmtree(folder)
            run_engine("postgresql", f"{base}/{name}", folder, args.points, args.revision)
        finally:
            with psycopg.connect(args.postgres, autocommit=True) as conn:
                conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


if __name__ == "__main__":
    main()
