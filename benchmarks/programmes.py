"""Community programmes: a storm-day enrolment burst, browsing, "my programmes" and the jobs.

Loads a city into a scratch database with bulk inserts: R residents, 40 areas, P programmes
(default 5,000: about a tenth open over the next four months across the areas and topics, the
rest past, mostly completed) with 4 sessions each, E enrolments in them (default 1,000,000 on
PostgreSQL, 200,000 on SQLite; one resident has 40), 1,000 closed programmes with 20 lapsed
offers and 30 people waiting each, and 200 programmes with a session starting within the
reminder window and 50 participants each. Then prints:

1. a storm-day burst: one popular programme (200 places) and 2,000 residents enrolling at
   once from 32 threads, each its own session calling ``service.enrol`` and committing like a
   web request: enrolments/s, latency percentiles and the final counts (places taken = the
   capacity, the rest waiting, waitlist positions 1..N in queue order). A watcher polls the
   programme during the burst; any place over capacity, or a count that does not add up,
   prints a FAILED line and the script exits non-zero;
2. browsing (``queries.browse_programmes``) with and without area/topic/date/text filters,
   first page and a deep page through the cursor: p50/p95;
3. "my programmes" (``queries.resident_enrolments``) among E enrolments: p50/p95;
4. the worker's offers job (``process_programme_offers``): 20,000 lapsed offers passed on to
   the waitlists, time per round and offers per second, then an idle round;
5. the session reminders job (``send_session_reminders``): 200 sessions x 50 participants,
   emails queued per second, then an idle round.

    .venv/bin/python benchmarks/programmes.py [--quick] [--enrolments N] [--threads 32]
        [--repeat 30] [--plans]
        [--database-url postgresql://postgres@127.0.0.1:5432/portal_bench]

Without --database-url a throw-away SQLite file is used. --quick uses smaller sizes (about a
tenth). --plans prints the plan of each read query (EXPLAIN QUERY PLAN on SQLite, EXPLAIN on
PostgreSQL). Prints figures, never asserts timings; changes nothing else.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from typing import Any

from common import percentile, print_plans, scratch_app  # benchmarks/common.py
from sqlalchemy import func, insert, select, text

from portal.areas.models import Area
from portal.auth.models import User
from portal.core import clock
from portal.core.db import Database
from portal.core.outbox import OutboxMessage
from portal.programmes import queries, service
from portal.programmes.models import (
    HOLDS_PLACE,
    KINDS,
    TOPICS,
    EligibilityQuestion,
    Enrolment,
    Programme,
    ProgrammeSession,
)
from portal.programmes.offers import (
    _programmes_with_free_places,
    _programmes_with_lapsed_offers,
    process_programme_offers,
)
from portal.programmes.reminders import _due, send_session_reminders

AREAS = 40
SESSIONS = 4
PASSWORD = "pbkdf2:sha256:1$benchmark$" + "0" * 64
#: The resident whose "my programmes" is timed, and how many enrolments they have.
HEAVY_USER, HEAVY_COUNT = 1, 40
WORDS = (
    "Garden",
    "Safety",
    "Budget",
    "Repair",
    "Coding",
    "Walking",
    "Reading",
    "Recycling",
    "Tenants",
    "Small business",
    "Art",
    "First aid",
)


@dataclass
class Sizes:
    capacity: int = 200
    residents_burst: int = 2_000
    programmes: int = 5_000
    open_share: float = 0.1
    enrolments: int = 0  # 0: by dialect
    offer_programmes: int = 1_000
    lapsed_each: int = 20
    waiting_each: int = 30
    reminder_sessions: int = 200
    participants_each: int = 50

    @classmethod
    def quick(cls) -> Sizes:
        return cls(
            capacity=50,
            residents_burst=500,
            programmes=1_000,
            enrolments=50_000,
            offer_programmes=100,
            reminder_sessions=20,
        )


class Ids:
    """Explicit ids for the bulk inserts (sequences are moved past them afterwards)."""

    def __init__(self) -> None:
        self.last: dict[str, int] = {}

    def next(self, table: str) -> int:
        self.last[table] = self.last.get(table, 0) + 1
        return self.last[table]


# -- loading ---------------------------------------------------------------------------------


def bulk(db: Database, table: Any, rows: list[dict[str, Any]], batch: int = 10_000) -> None:
    for start in range(0, len(rows), batch):
        with db.session(write=True) as session:
            session.execute(insert(table), rows[start : start + batch])
            session.commit()


def programme_row(
    ids: Ids,
    now: datetime,
    *,
    status: str,
    starts_on: date | None,
    area_id: int | None,
    topic: str,
    kind: str,
    capacity: int,
    taken: int,
    waiting: int,
    title: str,
    opens: datetime | None = None,
    closes: datetime | None = None,
) -> dict[str, Any]:
    ident = ids.next("programmes")
    ends_on = starts_on + timedelta(weeks=SESSIONS - 1) if starts_on else None
    past = starts_on is not None and starts_on < now.date()
    return {
        "id": ident,
        "title": title,
        "summary": f"{title} for residents of every age",
        "description": "Benchmark programme.",
        "kind": kind,
        "topic": topic,
        "area_id": area_id,
        "capacity": capacity,
        "taken": taken,
        "waiting": waiting,
        "admission": "first_come",
        "status": status,
        "enrol_opens_at": opens or (now - timedelta(days=30)),
        "enrol_closes_at": closes
        or (now + timedelta(days=30) if not past else datetime.combine(starts_on, dtime(0), UTC)),
        "starts_on": starts_on,
        "ends_on": ends_on,
        "completion_min_sessions": None,
        "offer_hours": None,
        "contact_email": "programmes@example.org",
        "created_by_id": None,
        "created_at": now - timedelta(days=60),
        "updated_at": now - timedelta(days=1),
        "completed_at": (
            datetime.combine(ends_on, dtime(20), UTC) if status == "completed" else None
        ),
        "cancelled_at": now - timedelta(days=90) if status == "cancelled" else None,
        "translations": {"es": {"title": f"{title} (es)"}},
    }


def session_rows(
    ids: Ids,
    programme_id: int,
    first: datetime,
    now: datetime,
    horizon: datetime,
    count: int = SESSIONS,
) -> list[dict[str, Any]]:
    rows = []
    for n in range(count):
        starts = first + timedelta(weeks=n)
        rows.append(
            {
                "id": ids.next("programme_sessions"),
                "programme_id": programme_id,
                "title": f"Session {n + 1}",
                "starts_at": starts,
                "ends_at": starts + timedelta(hours=2),
                "place": "Central Library, Room 2",
                "online_url": "",
                "mandatory": n == 0,
                # The worker marked every session already in (or past) the window.
                "reminded_at": starts - timedelta(hours=24) if starts <= horizon else None,
                "translations": {},
            }
        )
    return rows


def enrolment_row(
    ids: Ids,
    programme_id: int,
    user_id: int,
    position: int,
    *,
    state: str,
    created: datetime,
    **fields: Any,
) -> dict[str, Any]:
    row = {
        "id": ids.next("enrolments"),
        "programme_id": programme_id,
        "user_id": user_id,
        "state": state,
        "answers": {},
        "check_in_code": f"B{position:06d}",
        "locale": "en",
        "queued_at": created,
        "offered_at": None,
        "offer_expires_at": None,
        "enrolled_at": created if state in ("enrolled", "cancelled") else None,
        "cancelled_at": None,
        "cancel_reason": None,
        "decided_by_id": None,
        "completed": None,
        "created_at": created,
        "updated_at": created,
    }
    row.update(fields)
    return row


def load(  # noqa: C901 - one pass per kind
    db: Database,
    sizes: Sizes,
    rng: random.Random,
    now: datetime,
) -> dict[str, Any]:
    started = time.perf_counter()
    ids = Ids()
    horizon = now + timedelta(hours=24)
    needed = (
        sizes.offer_programmes * (sizes.lapsed_each + 10 + sizes.waiting_each)
        + sizes.reminder_sessions * sizes.participants_each
    )
    residents = max(sizes.enrolments // 10, needed // 4, 1_000)
    users = [
        {
            "id": ids.next("users"),
            "email": f"r{n}@example.org",
            "password_hash": PASSWORD,
            "name": f"Resident {n}",
            "phone": "",
            "locale": "en" if n % 5 else "es",
            "role": "resident",
            "active": True,
            "session_version": 1,
            "last_login_at": None,
            "notice_email": "each",
            "created_at": now,
        }
        for n in range(1, residents + sizes.residents_burst + 1)
    ]
    bulk(db, User.__table__, users)
    burst_users = [u["id"] for u in users[residents:]]
    del users
    bulk(
        db,
        Area.__table__,
        [
            {
                "id": ids.next("areas"),
                "code": f"area-{n}",
                "name": f"Area {n}",
                "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [0, 1], [1, 1], [0, 0]]]},
                "min_lat": 0.0,
                "max_lat": 1.0,
                "min_lon": 0.0,
                "max_lon": 1.0,
                "created_at": now,
            }
            for n in range(AREAS)
        ],
    )
    area_ids = list(range(1, AREAS + 1))

    # City-scale programmes: a tenth open, the rest over the last five years.
    programmes, sessions, enrolments = [], [], []
    open_count = int(sizes.programmes * sizes.open_share)
    per_programme = max(1, sizes.enrolments // sizes.programmes)
    heavy_in = set(rng.sample(range(sizes.programmes), HEAVY_COUNT))
    for n in range(sizes.programmes):
        is_open = n < open_count
        if is_open:
            starts_on = now.date() + timedelta(days=rng.randint(2, 120))
            status = "open"
        else:
            starts_on = now.date() - timedelta(days=rng.randint(40, 5 * 365))
            status = rng.choices(("completed", "cancelled", "closed"), (90, 6, 4))[0]
        area_id = None if rng.random() < 0.15 else rng.choice(area_ids)
        title = f"{rng.choice(WORDS)} {rng.choice(('academy', 'workshop', 'course'))} {n}"
        count = per_programme + (1 if n in heavy_in else 0)
        taken = count if status in ("open", "closed", "completed") else 0
        row = programme_row(
            ids,
            now,
            status=status,
            starts_on=starts_on,
            area_id=area_id,
            topic=rng.choice(TOPICS),
            kind=rng.choice(KINDS),
            capacity=max(count, 30),
            taken=taken,
            waiting=0,
            title=title,
        )
        programmes.append(row)
        first = datetime.combine(starts_on, dtime(23, 0), UTC)
        sessions += session_rows(ids, row["id"], first, now, horizon)
        people = rng.sample(range(HEAVY_USER + 1, residents + 1), per_programme)
        if n in heavy_in:
            people.append(HEAVY_USER)
        for position, user_id in enumerate(people):
            created = datetime.combine(starts_on, dtime(12), UTC) - timedelta(
                minutes=rng.randint(60, 60 * 24 * 40)
            )
            created = min(created, now - timedelta(minutes=5))
            if status == "cancelled":
                enrolments.append(
                    enrolment_row(
                        ids,
                        row["id"],
                        user_id,
                        position,
                        state="cancelled",
                        created=created,
                        enrolled_at=created,
                        cancelled_at=created + timedelta(days=3),
                        cancel_reason="programme_cancelled",
                    )
                )
            else:
                enrolments.append(
                    enrolment_row(
                        ids,
                        row["id"],
                        user_id,
                        position,
                        state="enrolled",
                        created=created,
                        completed=(rng.random() < 0.8) if status == "completed" else None,
                    )
                )
        if len(enrolments) >= 50_000:
            flush(db, programmes, sessions, enrolments)
    flush(db, programmes, sessions, enrolments)
    city_enrolments = ids.last["enrolments"]

    # Closed programmes whose offers lapsed yesterday, with a waitlist.
    offer_ids = []
    pool = range(HEAVY_USER + 1, residents + 1)
    for n in range(sizes.offer_programmes):
        capacity = sizes.lapsed_each + 10
        row = programme_row(
            ids,
            now,
            status="closed",
            starts_on=now.date() + timedelta(days=5),
            area_id=rng.choice(area_ids),
            topic=rng.choice(TOPICS),
            kind="course",
            capacity=capacity,
            taken=capacity,
            waiting=sizes.waiting_each,
            title=f"Popular course {n}",
            closes=now - timedelta(days=3),
        )
        programmes.append(row)
        offer_ids.append(row["id"])
        sessions += session_rows(
            ids, row["id"], datetime.combine(row["starts_on"], dtime(23, 0), UTC), now, horizon
        )
        people = rng.sample(pool, capacity + sizes.waiting_each)
        base = now - timedelta(days=20)
        for position, user_id in enumerate(people):
            queued = base + timedelta(minutes=position)
            if position < 10:
                state, extra = "enrolled", {}
            elif position < capacity:
                state, extra = (
                    "offered",
                    {
                        "offered_at": now - timedelta(days=3),
                        "offer_expires_at": now - timedelta(days=1),
                    },
                )
            else:
                state, extra = "waitlisted", {}
            enrolments.append(
                enrolment_row(
                    ids, row["id"], user_id, position, state=state, created=queued, **extra
                )
            )
    flush(db, programmes, sessions, enrolments)

    # Running programmes with a session starting within the reminder window.
    for n in range(sizes.reminder_sessions):
        count = sizes.participants_each
        row = programme_row(
            ids,
            now,
            status="closed",
            starts_on=now.date() - timedelta(days=7),
            area_id=rng.choice(area_ids),
            topic=rng.choice(TOPICS),
            kind="workshop",
            capacity=count,
            taken=count,
            waiting=0,
            title=f"Running workshop {n}",
            closes=now - timedelta(days=8),
        )
        programmes.append(row)
        # One session a week ago (reminded), the next within the window, two more to come.
        first = now - timedelta(weeks=1) + timedelta(hours=rng.uniform(1, 23))
        sessions += session_rows(ids, row["id"], first, now, now)
        for position, user_id in enumerate(rng.sample(pool, count)):
            enrolments.append(
                enrolment_row(
                    ids,
                    row["id"],
                    user_id,
                    position,
                    state="enrolled",
                    created=now - timedelta(days=20),
                )
            )
    flush(db, programmes, sessions, enrolments)

    # The storm-day programme: opened a minute ago.
    row = programme_row(
        ids,
        now,
        status="open",
        starts_on=now.date() + timedelta(days=10),
        area_id=area_ids[0],
        topic="safety",
        kind="academy",
        capacity=sizes.capacity,
        taken=0,
        waiting=0,
        title="Community emergency response team",
        opens=now - timedelta(minutes=1),
        closes=now + timedelta(days=7),
    )
    programmes.append(row)
    burst_id = row["id"]
    sessions += session_rows(
        ids, burst_id, datetime.combine(row["starts_on"], dtime(23, 0), UTC), now, horizon
    )
    flush(db, programmes, sessions, enrolments)
    bulk(
        db,
        EligibilityQuestion.__table__,
        [
            {
                "id": ids.next("programme_questions"),
                "programme_id": burst_id,
                "code": "resident",
                "kind": "yesno",
                "prompt": "Do you live in the city?",
                "help": "",
                "required": True,
                "options": [],
                "max_length": None,
                "eligible_values": ["yes"],
                "min_value": None,
                "max_value": None,
                "ineligible_message": "This programme is for residents.",
                "position": 0,
                "translations": {},
            }
        ],
    )

    with db.engine.begin() as conn:
        if db.dialect == "postgresql":
            for table, last in ids.last.items():
                conn.execute(
                    text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), {last})")
                )
        conn.execute(text("ANALYZE"))
    print(
        f"loaded {residents + sizes.residents_burst:,} residents, "
        f"{ids.last['programmes']:,} programmes, {ids.last['programme_sessions']:,} "
        f"sessions, {ids.last['enrolments']:,} enrolments ({city_enrolments:,} in the city's "
        f"programmes) in {time.perf_counter() - started:.1f} s"
    )
    return {
        "burst_id": burst_id,
        "burst_users": burst_users,
        "offer_ids": offer_ids,
        "area_ids": area_ids,
    }


def flush(db: Database, *lists: list[dict[str, Any]]) -> None:
    """Insert what has been gathered (programmes, sessions, enrolments) and empty the lists."""
    for table, rows in zip(
        (Programme.__table__, ProgrammeSession.__table__, Enrolment.__table__), lists, strict=True
    ):
        bulk(db, table, rows)
        rows.clear()


# -- 1. the storm-day burst ------------------------------------------------------------------


def burst(  # noqa: C901 - run, then check
    url: str,
    settings: Any,
    world: dict[str, Any],
    sizes: Sizes,
    threads: int,
) -> list[str]:
    """Returns the failures (empty when every count adds up)."""
    db = Database(url, pool_size=threads + 2, max_overflow=0)
    programme_id = world["burst_id"]
    users = list(world["burst_users"])
    random.Random(7).shuffle(users)
    lock = threading.Lock()
    latencies: list[float] = []
    outcomes: dict[int, tuple[str, int | None, int]] = {}  # user -> outcome, position, id
    errors: dict[str, int] = {}
    over: list[str] = []
    done = threading.Event()

    def enrol_one(user_id: int) -> None:
        started = time.perf_counter()
        session = db.session(write=True)  # a POST: on SQLite the transaction is IMMEDIATE
        try:
            programme = queries.visible_programme(session, programme_id)
            assert programme is not None
            user = session.get(User, user_id)
            if (
                queries.own_enrolment(session, programme_id=programme_id, user_id=user_id)
                is not None
            ):
                raise service.ProgrammeError("already_enrolled")
            result = service.enrol(
                session,
                settings=settings,
                programme=programme,
                user=user,
                raw={"resident": "yes"},
                locale="en",
            )
            session.commit()
            outcome = (result.outcome, result.position, result.enrolment.id)
        except Exception as error:  # noqa: BLE001 - counted and shown
            session.rollback()
            key = getattr(error, "code", None) or type(error).__name__
            with lock:
                errors[key] = errors.get(key, 0) + 1
            return
        finally:
            session.close()
        with lock:
            latencies.append(time.perf_counter() - started)
            outcomes[user_id] = outcome

    def worker(mine: list[int]) -> None:
        for user_id in mine:
            enrol_one(user_id)

    def watch() -> None:
        """Poll the programme while the burst runs: places held never above capacity."""
        counted = (
            select(func.count())
            .select_from(Enrolment)
            .where(Enrolment.programme_id == programme_id, Enrolment.state.in_(HOLDS_PLACE))
            .scalar_subquery()
        )
        query = select(Programme.taken, Programme.capacity, counted).where(
            Programme.id == programme_id
        )
        while not done.is_set():
            with db.session() as session:
                taken, capacity, holding = session.execute(query).one()
            if taken > capacity or holding > capacity:
                over.append(f"taken {taken}, holding a place {holding}, capacity {capacity}")
            done.wait(0.01)

    watcher = threading.Thread(target=watch)
    workers = [threading.Thread(target=worker, args=(users[n::threads],)) for n in range(threads)]
    started = time.perf_counter()
    watcher.start()
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    elapsed = time.perf_counter() - started
    done.set()
    watcher.join()

    lat = sorted(latencies)
    ok = len(lat)
    print(
        f"{ok:,} enrolments from {threads} threads in {elapsed:.1f} s: "
        f"{ok / elapsed:,.0f} enrolments/s"
    )
    if lat:
        print(
            f"latency: p50 {percentile(lat, 50) * 1000:.0f} ms, "
            f"p95 {percentile(lat, 95) * 1000:.0f} ms, p99 {percentile(lat, 99) * 1000:.0f} ms"
            f", max {lat[-1] * 1000:.0f} ms"
        )
    print(f"errors: {sum(errors.values())} {errors or ''}")

    failures = [f"over capacity during the burst: {over[0]} ({len(over)} polls)"] if over else []
    with db.session() as session:
        programme = session.get(Programme, programme_id)
        assert programme is not None
        states = dict(
            session.execute(
                select(Enrolment.state, func.count())
                .where(Enrolment.programme_id == programme_id)
                .group_by(Enrolment.state)
            ).all()
        )
        queue = list(
            session.scalars(
                select(Enrolment.id)
                .where(Enrolment.programme_id == programme_id, Enrolment.state == "waitlisted")
                .order_by(Enrolment.queued_at, Enrolment.id)
            )
        )
    enrolled, waiting = states.get("enrolled", 0), states.get("waitlisted", 0)
    print(
        f"final: capacity {programme.capacity}, taken {programme.taken}, "
        f"waiting {programme.waiting}; enrolled {enrolled}, waitlisted {waiting}, "
        f"other {ok - enrolled - waiting}"
    )
    expected_taken = min(programme.capacity, ok)
    if programme.taken > programme.capacity or enrolled > programme.capacity:
        failures.append(
            f"capacity exceeded: taken {programme.taken}, enrolled {enrolled}, "
            f"capacity {programme.capacity}"
        )
    if not programme.taken == enrolled == expected_taken:
        failures.append(
            f"places taken {programme.taken}, enrolled {enrolled}, expected {expected_taken}"
        )
    if not programme.waiting == waiting == ok - expected_taken:
        failures.append(
            f"waiting {programme.waiting}, waitlisted {waiting}, expected {ok - expected_taken}"
        )
    told = {
        ident: position for outcome, position, ident in outcomes.values() if outcome == "waitlisted"
    }
    if sorted(told.values()) != list(range(1, len(told) + 1)):
        failures.append("the positions residents were told are not 1..N without gaps")
    elif [told.get(ident) for ident in queue] != list(range(1, len(queue) + 1)):
        failures.append("the positions residents were told differ from the queue order")
    else:
        print(f"waitlist positions told: 1..{len(told)}, contiguous, in queue order")
    db.dispose()
    return failures


# -- timing helpers --------------------------------------------------------------------------


def measure(db: Database, fn: Callable[[Any], Any], repeat: int) -> str:
    """p50/p95 of ``fn(session)``, each run in a fresh session like a web request."""
    timings = []
    for _ in range(repeat):
        with db.session() as session:
            started = time.perf_counter()
            fn(session)
            timings.append((time.perf_counter() - started) * 1000)
    return f"p50 {statistics.median(timings):7.2f} ms  p95 {percentile(timings, 95):7.2f} ms"


def print_session_plans(db: Database, label: str, fn: Callable[[Any], Any]) -> None:
    """``print_plans`` for a function of a session."""

    def run() -> None:
        with db.session() as session:
            fn(session)

    print_plans(db, label, run)


def count(db: Database, query: Any) -> int:
    with db.session() as session:
        return int(session.scalar(query) or 0)


# -- 2. and 3. the read side -----------------------------------------------------------------


def browse_cases(
    db: Database, world: dict[str, Any], now: datetime
) -> list[tuple[str, Callable[[Any], Any]]]:
    F = queries.BrowseFilters
    with db.session() as session:  # an area and topic with an open programme
        area, topic_of_area = session.execute(
            select(Programme.area_id, Programme.topic)
            .where(Programme.status == "open", Programme.area_id.is_not(None))
            .order_by(Programme.id)
            .limit(1)
        ).one()

    def browse(
        filters: queries.BrowseFilters, after: str | None = None, locale: str = "en"
    ) -> Callable[[Any], Any]:
        return lambda session: queries.browse_programmes(
            session, filters=filters, after=after, locale=locale
        )

    def deep(filters: queries.BrowseFilters, page: int) -> tuple[str | None, int]:
        """The cursor of page ``page`` (or the last page), walked once."""
        cursor, reached = None, 1
        with db.session() as session:
            for reached in range(2, page + 1):
                result = queries.browse_programmes(session, filters=filters, after=cursor)
                if result.next_cursor is None:
                    return cursor, reached - 1
                cursor = result.next_cursor
        return cursor, reached

    everything, everything_page = deep(F(), 40)
    topic, topic_page = deep(F(topic="safety"), 5)
    month = F(date_from=now.date(), date_to=now.date() + timedelta(days=30))
    cases = [
        ("no filter, first page", browse(F())),
        (f"no filter, page {everything_page} (cursor)", browse(F(), everything)),
        ("area, first page", browse(F(area_id=area))),
        ("city-wide, first page", browse(F(city_wide=True))),
        ("topic, first page", browse(F(topic="safety"))),
        (f"topic, page {topic_page} (cursor)", browse(F(topic="safety"), topic)),
        ("area + topic, first page", browse(F(area_id=area, topic=topic_of_area))),
        ("next 30 days, first page", browse(month)),
        ("text 'garden' (es), first page", browse(F(q="garden"), locale="es")),
    ]
    # Only pages a cursor leads to (a filter with one page has none).
    return [case for case in cases if "(cursor)" not in case[0] or " page 1 " not in case[0]]


def my_programmes_cases(db: Database) -> list[tuple[str, Callable[[Any], Any]]]:
    with db.session() as session:
        first = queries.resident_enrolments(session, user_id=HEAVY_USER)
        typical = session.scalar(select(Enrolment.user_id).where(Enrolment.id == 1000))

    def page(user_id: int, before: str | None = None) -> Callable[[Any], Any]:
        return lambda session: queries.resident_enrolments(session, user_id=user_id, before=before)

    return [
        (f"{HEAVY_COUNT} enrolments, first page", page(HEAVY_USER)),
        (f"{HEAVY_COUNT} enrolments, older page (cursor)", page(HEAVY_USER, first.older)),
        ("a typical resident, first page", page(typical)),
    ]


def job_finder_cases(now: datetime) -> list[tuple[str, Callable[[Any], Any]]]:
    """The read queries the two jobs start from (for --plans)."""
    from portal.programmes.offers import BATCH, FILLING

    E = Enrolment
    return [
        (
            "offers job: programmes with lapsed offers",
            lambda session: list(
                session.scalars(
                    select(E.programme_id)
                    .where(E.state == "offered", E.offer_expires_at <= now, E.programme_id > 0)
                    .group_by(E.programme_id)
                    .order_by(E.programme_id)
                    .limit(BATCH)
                )
            ),
        ),
        (
            "offers job: programmes with free places",
            lambda session: list(
                session.scalars(
                    select(Programme.id)
                    .where(
                        Programme.status.in_(FILLING),
                        Programme.waiting > 0,
                        Programme.taken < Programme.capacity,
                        Programme.id > 0,
                    )
                    .order_by(Programme.id)
                    .limit(BATCH)
                )
            ),
        ),
        (
            "reminders job: sessions due",
            lambda session: _due(session, horizon=now + timedelta(hours=24), after=None),
        ),
    ]


# -- 4. and 5. the jobs ----------------------------------------------------------------------


def offers(
    db: Database, settings: Any, world: dict[str, Any], sizes: Sizes, now: datetime
) -> list[str]:
    lapsed_before = count(
        db,
        select(func.count())
        .select_from(Enrolment)
        .where(Enrolment.state == "offered", Enrolment.offer_expires_at <= now),
    )
    print(
        f"lapsed offers: {lapsed_before:,} in {len(world['offer_ids']):,} programmes "
        f"(first finder page: {len(_programmes_with_lapsed_offers(db, now, 0))}, "
        f"free-place finder page: {len(_programmes_with_free_places(db, 0, now))})"
    )
    emails = count(db, select(func.count()).select_from(OutboxMessage))
    started = time.perf_counter()
    said = process_programme_offers(db, settings, now)
    seconds = time.perf_counter() - started
    queued = count(db, select(func.count()).select_from(OutboxMessage)) - emails
    passed = count(
        db,
        select(func.count())
        .select_from(Enrolment)
        .where(Enrolment.state == "cancelled", Enrolment.cancel_reason == "offer_expired"),
    )
    print(
        f"round 1: {seconds:,.1f} s; {said}; {passed / seconds:,.0f} offers passed on/s, "
        f"{queued:,} emails queued"
    )
    started = time.perf_counter()
    said = process_programme_offers(db, settings, now)
    print(
        f"round 2 (nothing due): {(time.perf_counter() - started) * 1000:,.1f} ms; "
        f"{said or 'nothing to do'}"
    )
    failures = []
    with db.session() as session:
        wrong = session.scalar(
            select(func.count())
            .select_from(Programme)
            .where(
                Programme.id.in_(world["offer_ids"]),
                (Programme.taken != Programme.capacity)
                | (Programme.waiting != max(0, sizes.waiting_each - sizes.lapsed_each)),
            )
        )
    if passed != lapsed_before:
        failures.append(f"offers job: {passed} of {lapsed_before} lapsed offers passed on")
    if wrong:
        failures.append(
            f"offers job: {wrong} programmes' counters are not full, "
            f"{sizes.waiting_each - sizes.lapsed_each} waiting"
        )
    return failures


def reminders(db: Database, settings: Any, now: datetime) -> None:
    due = count(
        db,
        select(func.count())
        .select_from(ProgrammeSession)
        .where(
            ProgrammeSession.reminded_at.is_(None),
            ProgrammeSession.starts_at <= now + timedelta(hours=settings.programme_reminder_hours),
        ),
    )
    emails = count(db, select(func.count()).select_from(OutboxMessage))
    started = time.perf_counter()
    said = send_session_reminders(db, settings, now)
    seconds = time.perf_counter() - started
    queued = count(db, select(func.count()).select_from(OutboxMessage)) - emails
    print(
        f"sessions due: {due:,}; round 1: {seconds:,.1f} s; {said}; "
        f"{queued / seconds:,.0f} emails queued/s"
    )
    started = time.perf_counter()
    said = send_session_reminders(db, settings, now)
    print(
        f"round 2 (nothing due): {(time.perf_counter() - started) * 1000:,.1f} ms; "
        f"{said or 'nothing to do'}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default="")
    parser.add_argument("--quick", action="store_true", help="smaller sizes (about a tenth)")
    parser.add_argument(
        "--enrolments",
        type=int,
        default=0,
        help="enrolments in the city's programmes (default 1,000,000 on "
        "PostgreSQL, 200,000 on SQLite)",
    )
    parser.add_argument("--threads", type=int, default=32)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--plans", action="store_true")
    args = parser.parse_args()
    sizes = Sizes.quick() if args.quick else Sizes()
    scratch = tempfile.TemporaryDirectory()
    app, db = scratch_app(scratch, args.database_url)
    settings = app.extensions["portal.settings"]
    if args.enrolments:
        sizes.enrolments = args.enrolments
    elif not sizes.enrolments:
        sizes.enrolments = 1_000_000 if db.dialect == "postgresql" else 200_000
    now = clock.now()
    world = load(db, sizes, random.Random(11), now)
    failures: list[str] = []

    print(f"\n1. storm-day burst: {sizes.residents_burst:,} residents, {sizes.capacity} places")
    failures += burst(db.url, settings, world, sizes, args.threads)

    browsable = count(
        db, select(func.count()).select_from(Programme).where(Programme.status == "open")
    )
    print(f"\n2. browse: {sizes.programmes:,} programmes, {browsable:,} open")
    for label, fn in browse_cases(db, world, now):
        if args.plans:
            print_session_plans(db, label, fn)
        with db.session() as session:
            shown = len(fn(session).items)
        print(f"{label:42} {measure(db, fn, args.repeat)}  ({shown} shown)")

    total = count(db, select(func.count()).select_from(Enrolment))
    print(f"\n3. my programmes among {total:,} enrolments")
    for label, fn in my_programmes_cases(db):
        if args.plans:
            print_session_plans(db, label, fn)
        with db.session() as session:
            shown = len(fn(session).items)
        print(f"{label:42} {measure(db, fn, args.repeat)}  ({shown} shown)")

    if args.plans:
        for label, fn in job_finder_cases(now):
            print_session_plans(db, label, fn)
    print("\n4. offers job")
    failures += offers(db, settings, world, sizes, clock.now())
    print("\n5. session reminders job")
    reminders(db, settings, clock.now())

    db.dispose()
    for failure in failures:
        print(f"FAILED: {failure}")
    if failures:
        sys.exit(1)


if __name__ == "__main__":
    main()
