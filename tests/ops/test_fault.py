"""Fault test on PostgreSQL: the database's backends are terminated (``pg_terminate_backend``
from a separate admin connection) again and again during a burst of Open311 filings. Every
failed request must be a 503 with Retry-After in the API's error format, no request may be
half-written (each filed request has the same events, task, SLA clocks and outbox rows as one
filed normally), every success must be there in full, and filing works again afterwards.

Run on PostgreSQL: DATABASE_URL=postgresql://postgres@127.0.0.1:5432/<db> pytest tests/ops
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import Counter

import pytest
from sqlalchemy import create_engine, event, func, select, text
from sqlalchemy.engine import make_url

from portal.casework.models import Task
from portal.core.outbox import OutboxMessage
from portal.requests.models import Event, ServiceRequest
from portal.sla.models import SlaClock
from tests.factories import Factories
from tests.open311.test_post import City, _form

WRITERS = 6
FILINGS_EACH = 12
KILLS = 6


def _shape(session, request_id: int) -> tuple:
    """What one filing writes around its request row."""
    events = session.scalars(select(Event.kind).where(Event.request_id == request_id)).all()
    tasks = session.scalar(select(func.count()).where(Task.request_id == request_id))
    clocks = session.scalars(select(SlaClock.kind).where(SlaClock.request_id == request_id)).all()
    return tuple(sorted(events)), tasks, tuple(sorted(clocks))


def _outbox_for(session, reference: str) -> int:
    return session.scalar(select(func.count()).where(OutboxMessage.body_text.contains(reference)))


@pytest.mark.postgres
def test_terminated_backends_during_a_burst_of_filings(committed_app, caplog):
    db = committed_app.extensions["portal.db"]
    if db.dialect != "postgresql":
        pytest.skip("terminates PostgreSQL backends: run with DATABASE_URL=postgresql://...")
    committed_app.config["PROPAGATE_EXCEPTIONS"] = False  # as in production
    caplog.set_level(logging.INFO)
    with db.transaction() as session:
        city = City(Factories(session, committed_app.extensions["portal.settings"]), session)
    form = _form(city)

    # One filing before anything goes wrong: what a complete one looks like.
    first = committed_app.test_client().post("/open311/v2/requests.json", data=form)
    assert first.status_code == 201, first.get_data(as_text=True)
    with db.transaction(write=False) as session:
        normal_id = session.scalar(select(ServiceRequest.id))
        normal = _shape(session, normal_id)
        normal_outbox = _outbox_for(session, first.get_json()[0]["service_request_id"])
    assert normal[1] >= 1 and normal[2] and normal_outbox >= 1

    statuses: Counter[int] = Counter()
    filed: list[str] = []
    problems: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(WRITERS + 1)

    def write() -> None:
        client = committed_app.test_client()
        start.wait()
        for _ in range(FILINGS_EACH):
            response = client.post("/open311/v2/requests.json", data=form)
            with lock:
                statuses[response.status_code] += 1
                if response.status_code == 201:
                    filed.append(response.get_json()[0]["service_request_id"])
                elif response.status_code == 503:
                    body = json.loads(response.data)
                    if body[0]["code"] != "503" or "Retry-After" not in response.headers:
                        problems.append(response.get_data(as_text=True))
                else:
                    problems.append(f"{response.status_code}: {response.get_data(as_text=True)}")

    url = make_url(db.engine.url)
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    killed = 0

    def kill() -> None:
        nonlocal killed
        start.wait()
        with admin.connect() as conn:
            for _ in range(KILLS):
                time.sleep(0.05)
                killed += len(
                    conn.execute(
                        text(
                            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                            "WHERE datname = :name AND pid <> pg_backend_pid()"
                        ),
                        {"name": url.database},
                    ).all()
                )

    threads = [threading.Thread(target=write) for _ in range(WRITERS)]
    threads.append(threading.Thread(target=kill))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    admin.dispose()

    assert not problems, problems[:3]
    assert set(statuses) <= {201, 503}, statuses
    assert killed > 0 and statuses[503] > 0, (killed, statuses)  # the fault did happen

    # The next request after the outage works.
    after = committed_app.test_client().post("/open311/v2/requests.json", data=form)
    assert after.status_code == 201, after.get_data(as_text=True)
    filed.append(after.get_json()[0]["service_request_id"])

    with db.transaction(write=False) as session:
        rows = session.execute(select(ServiceRequest.id, ServiceRequest.reference)).all()
        references = {reference for _id, reference in rows}
        assert set(filed) <= references  # every success is there
        for request_id, reference in rows:  # none is half-written
            assert _shape(session, request_id) == normal, reference
            assert _outbox_for(session, reference) == normal_outbox, reference
    # A 503 whose transaction had in fact committed (the connection died after COMMIT) is
    # there in full too; the rest left nothing.
    assert len(references) <= 2 + statuses[201] + statuses[503]

    # The outage was logged once, without a traceback per request.
    outage = [r for r in caplog.records if r.name == "portal.outage"]
    assert sum("database unavailable" in r.getMessage() for r in outage) == 1
    assert not any(r.exc_info for r in caplog.records if r.name.startswith("portal"))
    print(f"\nfault test: {dict(statuses)} answered, {killed} backends terminated")


@pytest.mark.postgres
def test_a_backend_terminated_while_possible_duplicates_are_scored(committed_app, caplog):
    """The duplicates check runs in a savepoint and fails open; a connection that dies inside
    it must fail the filing whole (503, nothing written), not be swallowed and leave a
    transaction that cannot commit (that was a 500 under the burst above)."""
    db = committed_app.extensions["portal.db"]
    if db.dialect != "postgresql":
        pytest.skip("terminates a PostgreSQL backend: run with DATABASE_URL=postgresql://...")
    committed_app.config["PROPAGATE_EXCEPTIONS"] = False
    caplog.set_level(logging.INFO)
    with db.transaction() as session:
        city = City(Factories(session, committed_app.extensions["portal.settings"]), session)
    form = _form(city)
    client = committed_app.test_client()
    assert client.post("/open311/v2/requests.json", data=form).status_code == 201

    url = make_url(db.engine.url)
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    armed = {"kill": True, "killed": 0}

    def terminate_inside_the_savepoint(conn, cursor, statement, *_args) -> None:
        if not (armed["kill"] and conn.in_nested_transaction()):
            return
        if statement.startswith("SAVEPOINT"):
            return
        armed["kill"] = False
        pid = cursor.connection.info.backend_pid
        with admin.connect() as other:
            armed["killed"] = other.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and other.scalar(
                text("SELECT count(*) FROM pg_stat_activity WHERE pid = :pid"), {"pid": pid}
            ):
                time.sleep(0.02)

    event.listen(db.engine, "before_cursor_execute", terminate_inside_the_savepoint)
    try:
        response = client.post("/open311/v2/requests.json", data=form)
    finally:
        event.remove(db.engine, "before_cursor_execute", terminate_inside_the_savepoint)
        admin.dispose()

    assert armed["killed"], "the filing ran no statement inside a savepoint"
    assert response.status_code == 503, response.get_data(as_text=True)
    assert response.get_json()[0]["code"] == "503" and response.headers["Retry-After"]
    with db.transaction(write=False) as session:
        assert session.scalar(select(func.count()).select_from(ServiceRequest)) == 1
    assert not any(r.exc_info for r in caplog.records if r.name.startswith("portal"))
    assert client.post("/open311/v2/requests.json", data=form).status_code == 201
