"""Themes heard at scale (issue 22): the worker's themes for a month of a 1M-request city.

Loads N requests (default 1,000,000) filed over the last two years in 40 areas, with
corpus-like resident descriptions (benchmarks/assist_corpus.py: typos, slang, code-switching,
short messages, in English and Spanish; drawn from 500 ways of saying each kind of problem in
each language), some areas busier with some problems than others, and a survey response with
a free-text comment for 5% of them. Then times what the worker's ``compute_themes`` job does
for the last full month and the last full week (``portal.reports.themes.compute_period``: read
the period's and the previous period's texts, make the vocabulary, group every area, store
the themes), with the process's peak memory, and prints a few areas' themes.

    .venv/bin/python benchmarks/assist_themes.py [--rows 1000000] [--database-url URL]

Without --database-url (or DATABASE_URL) a throw-away SQLite file is used. Prints figures;
never asserts timings.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import sys
import tempfile
import time
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).parent))

import assist_corpus  # noqa: E402  (benchmarks/assist_corpus.py)
from common import analyze, scratch_app  # noqa: E402
from sqlalchemy import func, insert, select  # noqa: E402

from portal.areas.models import Area  # noqa: E402
from portal.assist.models import AssistTheme  # noqa: E402
from portal.catalogue.models import Department, ServiceCategory, ServiceGroup  # noqa: E402
from portal.core import clock  # noqa: E402
from portal.reports.periods import Period  # noqa: E402
from portal.reports.themes import compute_period  # noqa: E402
from portal.requests.models import ServiceRequest  # noqa: E402
from portal.surveys.models import SurveyResponse, SurveyVersion  # noqa: E402

AREAS = 40
DAYS = 730
SURVEY = "request-resolved"
POOL = 500


def setup(session) -> tuple[dict[str, int], list[int], int]:
    dept = Department(code="city", name="City")
    group = ServiceGroup(code="all", name="All")
    version = SurveyVersion(survey_key=SURVEY, version=1, fingerprint="0" * 64, definition={})
    session.add_all([dept, group, version])
    session.flush()
    ids = {}
    for code in sorted(assist_corpus.PROBLEMS):
        category = ServiceCategory(
            code=code, name=code.replace("-", " "), group_id=group.id, department_id=dept.id
        )
        session.add(category)
        session.flush()
        ids[code] = category.id
    areas = []
    for n in range(AREAS):
        ring = [[0, 0], [1, 0], [1, 1], [0, 0]]
        area = Area(
            code=f"a{n:02d}",
            name=f"Area {n}",
            geometry={"type": "Polygon", "coordinates": [ring]},
            min_lat=0,
            max_lat=1,
            min_lon=0,
            max_lon=1,
        )
        session.add(area)
        session.flush()
        areas.append(area.id)
    session.commit()
    return ids, areas, version.id


def load(db, ids: dict[str, int], areas: list[int], version: int, rows: int) -> None:
    rng = random.Random(22)
    codes = sorted(ids)
    now = clock.now()
    span = DAYS * 86400
    moments = sorted(rng.randint(0, span) for _ in range(rows))
    # Each area hears more of a few problems: its own weights over the codes.
    weights = {a: [1 + ((a * 7 + i * 3) % 11 == 0) * 8 for i in range(len(codes))] for a in areas}
    # Descriptions drawn from a pool made by the corpus generator (500 ways of saying each
    # problem in each language): describing a million texts one by one costs minutes.
    pool = {
        (code, language): [assist_corpus.describe(rng, code, language) for _ in range(POOL)]
        for code in codes
        for language in ("en", "es")
    }
    batch = 10_000
    response_id = 0
    started = time.perf_counter()
    for offset in range(0, rows, batch):
        requests, responses = [], []
        for n in range(offset, min(rows, offset + batch)):
            ident = n + 1
            area = areas[n % len(areas)] if rng.random() < 0.5 else rng.choice(areas)
            code = rng.choices(codes, weights=weights[area])[0]
            language = "es" if rng.random() < 0.4 else "en"
            created = now - timedelta(seconds=span - moments[n])
            requests.append(
                {
                    "id": ident,
                    "reference": f"SR-T-{ident:08d}",
                    "category_id": ids[code],
                    "department_id": 1,
                    "area_id": area,
                    "description": rng.choice(pool[code, language]),
                    "answers": {},
                    "locale": language,
                    "contact_name": "Ana Lopez" if rng.random() < 0.1 else "",
                    "status": "resolved",
                    "is_open": False,
                    "created_at": created,
                    "updated_at": created,
                    "status_changed_at": created,
                }
            )
            if rng.random() < 0.05:
                response_id += 1
                answered = created + timedelta(days=2)
                responses.append(
                    {
                        "id": response_id,
                        "survey_key": SURVEY,
                        "survey_version_id": version,
                        "version": 1,
                        "request_id": ident,
                        "department_id": 1,
                        "category_id": ids[code],
                        "locale": language,
                        "csat": rng.randint(1, 5),
                        "comment": rng.choice(pool[code, language]),
                        "answers": {},
                        "created_at": answered,
                    }
                )
        with db.engine.begin() as conn:
            conn.execute(insert(ServiceRequest), requests)
            if responses:
                conn.execute(insert(SurveyResponse), responses)
        if (offset // batch) % 20 == 0:
            print(f"  loaded {offset + len(requests):,} ({time.perf_counter() - started:.0f} s)")
    print(f"loaded {rows:,} requests, {response_id:,} survey comments")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", ""))
    args = parser.parse_args()
    scratch = tempfile.TemporaryDirectory()
    app, db = scratch_app(scratch, args.database_url)
    settings = replace(app.extensions["portal.settings"], timezone="America/Chicago")
    with db.transaction() as session:
        ids, areas, version = setup(session)
    load(db, ids, areas, version, args.rows)
    analyze(db)
    now = clock.now()
    today = now.astimezone(ZoneInfo(settings.timezone)).date()
    for kind in ("month", "week"):
        period = Period.containing(kind, today).previous()
        start, end = period.bounds(settings.timezone)
        with db.transaction(write=False) as session:
            texts = session.scalar(
                select(func.count())
                .select_from(ServiceRequest)
                .where(ServiceRequest.created_at >= start, ServiceRequest.created_at < end)
            )
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        started = time.perf_counter()
        result = compute_period(db, settings, period, now)
        took = time.perf_counter() - started
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(
            f"themes for the {kind} of {period.key}: {texts:,} descriptions (+ comments) in "
            f"{len(areas)} areas -> {result and result[0]} themes in {result and result[1]} "
            f"areas: {took:.1f} s; peak memory {peak / 1024:.0f} MB (before {before / 1024:.0f})"
        )
    with db.transaction(write=False) as session:
        rows = session.scalars(
            select(AssistTheme)
            .where(AssistTheme.period_kind == "month", AssistTheme.area_id.in_(areas[:3]))
            .order_by(AssistTheme.area_id, AssistTheme.position)
        ).all()
        for row in rows:
            print(
                f"  area {row.area_id}: {row.size} about '{row.label}' (before {row.previous}) "
                f"{row.terms} e.g. {row.examples[:1]}"
            )


if __name__ == "__main__":
    main()
