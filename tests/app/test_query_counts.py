"""SQL statements per hot page: the same with 1 row as with 50 (no N+1), and within a budget.

Each page is visited once with 1 row of the data it lists (requests, tasks, timeline events,
categories, departments...) and once with 50; the statements on the app's engine are counted
(SQLAlchemy's ``before_cursor_execute``). A visit is counted after a warm-up visit, so the
caches (the city's profile...) are full both times. Transaction control is not counted: in
tests every session is a savepoint of the test's transaction. The budgets are in
tests/app/query_budgets.toml.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, event

from tests.conftest import csrf_from, sign_in
from tests.factories import INSIDE

BUDGETS = tomllib.loads((Path(__file__).parent / "query_budgets.toml").read_text())["pages"]
FEW, MANY = 1, 50
NOW = datetime(2026, 3, 20, 15, 0, tzinfo=UTC)
BOARD = f"/staff/reports?period=month&start={date(2026, 3, 1)}"
CONTROL = ("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT", "BEGIN")


@pytest.fixture(autouse=True)
def frozen(freeze_clock):
    freeze_clock(NOW)


@contextmanager
def counting(app) -> Iterator[list[str]]:
    """The statements run on the app's engine inside the block (transaction control left out)."""
    engine = app.extensions["portal.db"].engine
    statements: list[str] = []

    def count(_conn, _cursor, statement, _parameters, _context, _executemany) -> None:
        if not statement.lstrip().upper().startswith(CONTROL):
            statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


def ok(response, *, status: int = 200):
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    return response


# -- the pages: each builds its world, adds n rows, and visits -------------------------------


@dataclass
class Page:
    """``setup(make, db, client)`` builds what the page needs (and signs in); ``add(world, make,
    db, n)`` adds n rows of what it lists; ``visit(client, world, counted)`` opens it, each
    step inside ``counted(step)`` (one step, "page", for most pages), and returns the body of
    the last response, where ``lists`` (a pattern) finds each row listed."""

    setup: Callable[..., Any]
    add: Callable[..., None]
    visit: Callable[..., str]
    lists: str = ""
    #: Run before the counted visit (after the warm-up).
    before: Callable[..., None] | None = None


def one_get(url_of: Callable[[Any], str]) -> Callable[..., str]:
    def visit(client, world, counted) -> str:
        with counted("page"):
            return ok(client.get(url_of(world))).get_data(as_text=True)

    return visit


def no_world(make, db, client) -> None:
    return None


# home: the service groups and their categories


def home_add(world, make, db, n):
    for _ in range(n):
        make.category()  # each in a group of its own


# filing: categories to choose from, areas, and open requests nearby


@dataclass
class Filing:
    category: Any


def filing_setup(make, db, client):
    return Filing(make.category(code="pothole", name="Pothole"))


def filing_add(world, make, db, n):
    for _ in range(n):
        make.category()
        make.area()
        make.request(category=world.category, lat=INSIDE[0], lon=INSIDE[1])


def filing_visit(client, world, counted) -> str:
    token = {}

    def get(url):
        response = ok(client.get(url))
        token["csrf"] = csrf_from(response.get_data(as_text=True))

    def post(url, data, goes_to):
        response = ok(client.post(url, data={"csrf_token": token["csrf"], **data}), status=302)
        assert response.headers["Location"].endswith(goes_to), response.headers["Location"]

    with counted("category"):
        get("/report/")
        post("/report/", {"category": "pothole"}, "/report/details")
    with counted("details"):
        get("/report/details")
        post("/report/details", {"description": "Deep hole by the bus stop"}, "/report/location")
    with counted("location"):
        get("/report/location")
        location = {"address": "12 Mill Street", "lat": str(INSIDE[0]), "lon": str(INSIDE[1])}
        post("/report/location", location, "/report/nearby")
    with counted("nearby"):
        ok(client.get("/report/nearby"))
    with counted("photos"):
        get("/report/photos")
        post("/report/photos", {"action": "continue"}, "/report/contact")
    with counted("contact"):
        get("/report/contact")
        post("/report/contact", {"name": "Ana Ruiz", "email": "ana@example.org"}, "/report/check")
    with counted("check"):
        get("/report/check")
        post("/report/check", {}, "/report/done")
        return ok(client.get("/report/done")).get_data(as_text=True)


# tracking: the public timeline (each event by another member of staff) and photos


def tracking_setup(make, db, client):
    return make.request()


def tracking_add(world, make, db, n):
    for _ in range(n):
        make.event(world, "comment", actor=make.user(role="agent"))
        make.event(world, "status_changed", data={"from": "new", "to": "in_progress"})
        make.photo(world)


# a staff queue: the department's open tasks (each case of its own, each assigned to another)


@dataclass
class Desk:
    department: Any
    agent: Any


def queue_setup(make, db, client):
    department = make.department(name="Streets")
    agent = make.staff(department)
    sign_in(client, agent)
    return Desk(department, agent)


def queue_add(world, make, db, n):
    for _ in range(n):
        request = make.request(category=make.category(department=world.department))
        assignee = make.staff(world.department)
        task = make.task(request, world.department, assignee_id=assignee.id)
        make.sla_clock(request, task=task)


# a case page: its timeline (notes and comments by other staff), tasks, photos, clocks


@dataclass
class Case:
    department: Any
    case: Any


def case_setup(make, db, client):
    department = make.department(name="Streets")
    sign_in(client, make.staff(department))
    return Case(department, make.request(category=make.category(department=department)))


def case_add(world, make, db, n):
    for _ in range(n):
        writer, assignee = make.staff(world.department), make.staff(world.department)
        make.event(world.case, "internal_note", public=False, actor=writer)
        make.event(world.case, "comment", actor=writer)
        task = make.task(world.case, make.department(), assignee_id=assignee.id)
        make.sla_clock(world.case, task=task)
        make.photo(world.case)


# the Open311 request list: public requests, each of its own service, with a photo and history


def open311_add(world, make, db, n):
    for _ in range(n):
        request = make.request(status="in_progress")
        make.event(request, "status_changed", data={"from": "new", "to": "in_progress"})
        make.photo(request)


# the report board: departments, each with a task resolved this month on its clock


def board_setup(make, db, client):
    sign_in(client, make.user(role="admin"))


def board_add(world, make, db, n):
    day = datetime(2026, 3, 5, 18, 0, tzinfo=UTC)
    for _ in range(n):
        request = make.request()
        task = make.task(request, created_at=day - timedelta(days=3), status="done", closed_at=day)
        make.sla_clock(
            request,
            task=task,
            stage="met",
            working_seconds=4 * 3600,
            started_at=day - timedelta(days=3),
            stopped_at=day,
        )


def forget_rollups(db) -> None:
    """The board's next visit computes its roll-ups again (a new period, or a stale one)."""
    from portal.reports.models import ReportRollup

    db.execute(delete(ReportRollup))
    db.flush()


PAGES = {
    "home": Page(no_world, home_add, one_get(lambda _w: "/"), r"Category \d+"),
    "filing": Page(filing_setup, filing_add, filing_visit),
    # The offline report page (issue 21): every active category, grouped, with its questions.
    "offline": Page(no_world, home_add, one_get(lambda _w: "/report/offline"), r"Category \d+"),
    "tracking": Page(
        tracking_setup, tracking_add, one_get(lambda w: f"/requests/{w.reference}"), r"Update \d+"
    ),
    "queue": Page(
        queue_setup,
        queue_add,
        one_get(lambda _w: "/staff/queue/department"),
        r'name="task" value="\d+"',
    ),
    "case": Page(
        case_setup,
        case_add,
        one_get(lambda w: f"/staff/cases/{w.case.reference}"),
        r"Update \d+",
    ),
    "open311": Page(
        no_world,
        open311_add,
        one_get(lambda _w: "/open311/v2/requests.json"),
        r'"service_request_id"',
    ),
    "board": Page(board_setup, board_add, one_get(lambda _w: BOARD), r'<tr data-department="'),
    "board.cold": Page(
        board_setup, board_add, one_get(lambda _w: BOARD), r'<tr data-department="', forget_rollups
    ),
}
FILING_STEPS = ("category", "details", "location", "nearby", "photos", "contact", "check")
ENGINE = "postgresql" if os.environ.get("DATABASE_URL", "").startswith("postgres") else "sqlite"
#: Pages that run more statements with more rows today (on the engines named), and why: a
#: strict xfail, so fixing one fails the test until its entry goes. None at present.
KNOWN_N_PLUS_ONE: dict[str, tuple[str, tuple[str, ...]]] = {}


def cases() -> list[Any]:
    found = []
    for name in PAGES:
        for step in FILING_STEPS if name == "filing" else ("page",):
            key = name if step == "page" else f"{name}.{step}"
            reason, engines = KNOWN_N_PLUS_ONE.get(key, ("", ()))
            xfail = pytest.mark.xfail(
                ENGINE in engines, reason=f"N+1: {reason}", raises=AssertionError, strict=True
            )
            found.append(pytest.param(name, step, key, id=key, marks=[xfail] if reason else []))
    return found


def counts(app, client, page: Page, world, db) -> tuple[dict[str, int], str]:
    """The statements of each step of a visit (after a warm-up visit), and the last page."""
    found: dict[str, int] = {}

    @contextmanager
    def counted(step: str) -> Iterator[None]:
        with counting(app) as statements:
            yield
        found[step] = len(statements)

    page.visit(client, world, lambda _step: nullcontext())
    if page.before is not None:
        page.before(db)
    body = page.visit(client, world, counted)
    return found, body


@pytest.mark.parametrize(("name", "step", "key"), cases())
def test_statements_do_not_grow_with_the_rows(name, step, key, app, client, make, db):
    page = PAGES[name]
    world = page.setup(make, db, client)
    page.add(world, make, db, FEW)
    db.flush()
    few = counts(app, client, page, world, db)[0][step]
    page.add(world, make, db, MANY - FEW)
    db.flush()
    found, body = counts(app, client, page, world, db)
    many = found[step]
    if page.lists:
        listed = len(re.findall(page.lists, body))
        assert listed >= MANY, f"{key}: {listed} rows listed, not the {MANY} made"
    budget = BUDGETS[key]
    counted = f"{few} statements with {FEW} row, {many} with {MANY}"
    assert many <= few, f"{key}: {counted}: the count grows with the rows (N+1)"
    assert many <= budget, f"{key}: {counted}, over its budget of {budget} (query_budgets.toml)"
