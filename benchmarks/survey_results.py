"""Survey results on a million responses.

Loads N responses (default 1,000,000) of the "request-resolved" survey, each with its answered
invitation, plus half as many invitations never answered (sent, pending or cancelled), over
10 departments, 20 categories and the last 2 years, into a scratch database with bulk
inserts. About a quarter of the responses have a comment. Then times, for one department (an
agent's view) and for every department (an admin's), over the last 12 months and over the
whole 2 years:
- the results (``survey_results``: two grouped queries) for each breakdown (overall, by
  department, by category) with the trend by month, and overall with the trend by week;
- the latest comments (first page, and a page a year back);
each p50/p95 over --repeat runs. --plans prints the plan of every query (EXPLAIN QUERY PLAN on
SQLite, EXPLAIN on PostgreSQL).

    .venv/bin/python benchmarks/survey_results.py [--rows 1000000] [--database-url URL]
        [--repeat 10] [--plans]

Without --database-url a throw-away SQLite file is used. Prints figures; changes nothing else.
The responses have no cases (``request_id`` is null): a comment's case is one primary-key
look-up per page row and does not change the figures.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from common import percentile, scratch_app  # benchmarks/common.py
from sqlalchemy import event, insert, text

from portal.catalogue.models import Department, ServiceCategory, ServiceGroup
from portal.core import clock
from portal.core.db import Database
from portal.core.keyset import encode_cursor
from portal.surveys.comments import comments_page
from portal.surveys.models import SurveyInvitation, SurveyResponse, SurveyVersion
from portal.surveys.results import Selection, survey_results

DEPARTMENTS = 10
CATEGORIES = 20
YEARS = 2
SURVEY = "request-resolved"
ZONE = ZoneInfo("America/Chicago")
RESOLVED = ["yes"] * 6 + ["partly"] * 2 + ["no", "dont_know"]
UNANSWERED = ["sent"] * 6 + ["pending", "cancelled"]


def setup(db: Database) -> dict[str, Any]:
    session = db.session(write=True)
    group = ServiceGroup(code="all", name="All")
    departments = [Department(code=f"d{i}", name=f"Department {i}") for i in range(DEPARTMENTS)]
    version = SurveyVersion(survey_key=SURVEY, version=1, fingerprint="0" * 64, definition={})
    session.add_all([group, version, *departments])
    session.flush()
    categories = [
        ServiceCategory(
            code=f"c{i}",
            name=f"Category {i}",
            group_id=group.id,
            department_id=departments[i % DEPARTMENTS].id,
        )
        for i in range(CATEGORIES)
    ]
    session.add_all(categories)
    session.commit()
    world = {
        "categories": [(c.id, c.department_id) for c in categories],
        "departments": [d.id for d in departments],
        "version": version.id,
    }
    session.close()
    return world


def load(db: Database, rows: int, world: dict[str, Any], rng: random.Random) -> None:
    """Responses in the order they were given (ids follow ``created_at``, as in a real
    database), each with its answered invitation a few days earlier."""
    now = clock.now()
    span = int(timedelta(days=365 * YEARS).total_seconds())
    moments = sorted(rng.randint(0, span) for _ in range(rows))
    batch = 10_000
    started = time.perf_counter()
    invitation_id = 0
    for offset in range(0, rows, batch):
        invitations, responses = [], []
        for n in range(offset, min(rows, offset + batch)):
            category_id, department_id = rng.choice(world["categories"])
            # Departments differ a little, so the figures are not all alike.
            mood = department_id % 3
            answered = now - timedelta(seconds=span - moments[n])
            invited = answered - timedelta(hours=rng.randint(24, 24 * 10))
            invitation_id += 1
            answered_id = invitation_id
            invitations.append(
                _invitation(
                    invitation_id, world, department_id, category_id, invited, "answered", answered
                )
            )
            if rng.random() < 0.5:  # one more invitation, never answered
                invitation_id += 1
                invitations.append(
                    _invitation(
                        invitation_id,
                        world,
                        department_id,
                        category_id,
                        invited + timedelta(minutes=rng.randint(0, 600)),
                        rng.choice(UNANSWERED),
                        None,
                    )
                )
            responses.append(
                {
                    "id": n + 1,
                    "invitation_id": answered_id,
                    "survey_key": SURVEY,
                    "survey_version_id": world["version"],
                    "version": 1,
                    "request_id": None,
                    "department_id": department_id,
                    "category_id": category_id,
                    "locale": "en",
                    "csat": min(5, max(1, rng.randint(1, 5) + (mood == 0) - (mood == 2))),
                    "ces": rng.randint(1, 7) if rng.random() < 0.8 else None,
                    "nps": rng.randint(0, 10) if rng.random() < 0.3 else None,
                    "resolved": rng.choice(RESOLVED),
                    "comment": f"Comment {n}: the crew came on time."
                    if rng.random() < 0.25
                    else "",
                    "contact_ok": rng.random() < 0.4,
                    "answers": {},
                    "created_at": answered,
                }
            )
        with db.engine.begin() as conn:
            conn.execute(insert(SurveyInvitation.__table__), invitations)
            conn.execute(insert(SurveyResponse.__table__), responses)
    with db.engine.begin() as conn:
        conn.execute(text("ANALYZE"))
        if db.dialect == "postgresql":
            for table, last in (("survey_invitations", invitation_id), ("survey_responses", rows)):
                conn.execute(
                    text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), {last})")
                )
    print(
        f"loaded {rows:,} responses and {invitation_id:,} invitations in "
        f"{time.perf_counter() - started:.1f} s"
    )


def _invitation(
    ident: int,
    world: dict[str, Any],
    department_id: int,
    category_id: int,
    created: datetime,
    state: str,
    answered: datetime | None,
) -> dict[str, Any]:
    sent = created + timedelta(hours=24) if state in ("sent", "answered") else None
    return {
        "id": ident,
        "survey_key": SURVEY,
        "survey_version_id": world["version"],
        "request_id": None,
        "subject_key": None,
        "email": f"r{ident}@example.org",
        "user_id": None,
        "locale": "en",
        "token_hash": f"{ident:064x}",
        "state": state,
        "send_after": created + timedelta(hours=24),
        "sent_at": sent,
        "expires_at": created + timedelta(days=15),
        "answered_at": answered,
        "department_id": department_id,
        "category_id": category_id,
        "created_at": created,
    }


def measure(fn: Callable[[], Any], repeat: int) -> str:
    timings = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        timings.append((time.perf_counter() - started) * 1000)
    return f"p50 {statistics.median(timings):8.2f} ms  p95 {percentile(timings, 95):8.2f} ms"


def print_plans(db: Database, session: Any, label: str, fn: Callable[[], Any]) -> None:
    """Run ``fn`` once, recording its SELECTs, and print each one's plan."""
    statements: list[tuple[str, Any]] = []
    bind = session.get_bind()

    def record(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append((statement, parameters))

    event.listen(bind, "before_cursor_execute", record)
    try:
        fn()
    finally:
        event.remove(bind, "before_cursor_execute", record)
    explain = "EXPLAIN QUERY PLAN " if db.dialect == "sqlite" else "EXPLAIN "
    for number, (statement, parameters) in enumerate(statements, start=1):
        print(f"-- plan: {label}, query {number}")
        for row in session.connection().exec_driver_sql(explain + statement, parameters):
            print("   ", row[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--plans", action="store_true")
    args = parser.parse_args()
    rng = random.Random(6)
    scratch = tempfile.TemporaryDirectory()
    _app, db = scratch_app(scratch, args.database_url)
    world = setup(db)
    load(db, args.rows, world, rng)
    now = clock.now()
    department = world["departments"][3]
    session = db.session()
    for scope, department_ids in (("one department", (department,)), ("all departments", None)):
        for period, days in (("12 months", 365), ("2 years", 365 * YEARS)):
            selection = Selection(
                SURVEY, now - timedelta(days=days), now, department_ids=department_ids
            )
            cases: list[tuple[str, Callable[[], Any]]] = [
                (
                    f"{breakdown}, by month",
                    lambda s=selection, b=breakdown: survey_results(
                        session, s, breakdown=b, trend="month", zone=ZONE
                    ),
                )
                for breakdown in ("overall", "department", "category")
            ]
            cases.append(
                (
                    "overall, by week",
                    lambda s=selection: survey_results(
                        session, s, breakdown="overall", trend="week", zone=ZONE
                    ),
                )
            )
            deep = encode_cursor("cm", [now - timedelta(days=min(days, 365) - 30), 2**40])
            cases.append(("comments, first page", lambda s=selection: comments_page(session, s)))
            cases.append(
                (
                    "comments, a year back",
                    lambda s=selection, d=deep: comments_page(session, s, after=d),
                )
            )
            for label, fn in cases:
                title = f"{scope}, {period}: {label}"
                if args.plans:
                    print_plans(db, session, title, fn)
                print(f"{title:58} {measure(fn, args.repeat)}")
            total = survey_results(session, selection, breakdown="overall", zone=ZONE).total
            print(
                f"   ({total.responses:,} responses, CSAT {total.csat_average:.2f}, "
                f"response rate {100 * (total.response_rate or 0):.0f}%)"
            )
    session.close()
    db.dispose()


if __name__ == "__main__":
    main()
