"""Outbound Open311 end to end, between two real portals: this one (the suite's database) hands
a department's tasks to a second portal (its own SQLite file, its own city with the service
code) served by a real threaded WSGI server on loopback. The task is posted through the outbox,
filed there once, closed there by its staff, and the poll brings the closing back here: the
task is done and the case resolves. A server that is down is retried and then flagged; a lost
answer is retried with the same Idempotency-Key and files once."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from werkzeug.serving import make_server

from portal import create_app
from portal.auth.models import User
from portal.casework.models import Task
from portal.casework.tasks import complete_task
from portal.city.models import PROFILE_ID, CityProfile
from portal.core import clock
from portal.core.audit import AuditEntry
from portal.core.outbox import OutboxMessage
from portal.core.senders import channel_sender
from portal.core.worker import deliver_outbox
from portal.migrate import upgrade
from portal.open311 import keys
from portal.outbound.models import OutboundTask
from portal.outbound.poll import poll_outbound
from portal.requests.models import Event, ServiceRequest
from tests.conftest import csrf_from, sign_in
from tests.factories import INSIDE
from tests.scratch import arrange
from tests.webhook_receiver import LOOPBACK

KEY_ENV = "PORTAL_TEST_WORKS_API_KEY"


@pytest.fixture
def settings(settings):
    """The works system is on this machine: its network is allowed, as a city whose system is
    on its own network allows that one (without it loopback is refused: see below)."""
    return replace(settings, outbound_allowed_networks=LOOPBACK)


@dataclass
class Works:
    """The second portal: the works-management system."""

    app: Any
    url: str
    raw_key: str

    def session(self):
        return self.app.extensions["portal.db"].session(write=True)


def _serve(app) -> tuple[Any, threading.Thread]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server, thread


def _works_city(make) -> str:
    make.area()
    roads = make.department(code="roads", name="Roads crew")
    make.staff(roads, name="Rowan Roads", email="rowan@works.example")
    make.category(code="road-hole", name="Road hole", department=roads)
    _key, raw = keys.new_key(
        make.session, label="Riverton portal", rate_limit="600/minute", contact_email="", by=None
    )
    return raw


@pytest.fixture
def works(settings, tmp_path) -> Iterator[Works]:
    url = f"sqlite:///{tmp_path / 'works.db'}"
    upgrade(url)
    app = create_app(
        replace(
            settings,
            database_url=url,
            base_url="http://works.test",
            open311_jurisdiction="works.example",
            mail_dir=str(tmp_path / "works-mail"),
            # A works system, not a portal under test: no possible-duplicates check, whose
            # first use (importing scikit-learn) made its second filing take 5 s under load,
            # near the 7 s the sender waits for an answer (flaky under CI's load).
            assist_duplicates=False,
        )
    )
    raw = arrange(app, _works_city)
    server, thread = _serve(app)
    try:
        yield Works(app, f"http://127.0.0.1:{server.server_port}/open311/v2/", raw)
    finally:
        server.shutdown()
        thread.join(5)
        app.extensions["portal.db"].dispose()


@dataclass
class Here:
    streets: Any
    agent: User
    raw_key: str


def _configure(db, endpoint: str) -> None:
    profile = db.get(CityProfile, PROFILE_ID) or CityProfile(
        id=PROFILE_ID, name="City of Riverton", short_name="Riverton 311", timezone="UTC"
    )
    profile.settings = {
        "open311": {
            "outbound": [
                {
                    "department": "streets",
                    "name": "Works Cityworks",
                    "endpoint": endpoint,
                    "jurisdiction_id": "works.example",
                    "api_key_env": KEY_ENV,
                    "service_code": "unused-default",
                    "service_codes": {"pothole": "road-hole"},
                }
            ]
        }
    }
    db.add(profile)
    db.flush()


@pytest.fixture
def here(make, db) -> Here:
    make.area()
    streets = make.department(code="streets", name="Streets")
    agent = make.staff(streets, name="Ada Agent")
    make.category(code="pothole", name="Pothole", department=streets)
    _key, raw = keys.new_key(db, label="Web", rate_limit="600/minute", contact_email="", by=None)
    db.flush()
    return Here(streets, agent, raw)


def _file(client, here: Here) -> ServiceRequest:
    response = client.post(
        "/open311/v2/requests.json",
        data={
            "api_key": here.raw_key,
            "service_code": "pothole",
            "lat": str(INSIDE[0]),
            "long": str(INSIDE[1]),
            "address_string": "100 Main Street",
            "description": "A deep hole by the school",
            "email": "rita@example.org",
        },
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()[0]["service_request_id"]


def _deliver(app, settings, *, at=None):
    db = app.extensions["portal.db"]
    return deliver_outbox(
        db,
        channel_sender(db, settings),
        now=at or clock.now(),
        max_attempts=settings.outbox_max_attempts,
    )


def _link(db) -> OutboundTask:
    db.expire_all()
    return db.scalars(select(OutboundTask)).one()


def _works_requests(works: Works) -> list[dict[str, Any]]:
    session = works.session()
    try:
        return [
            {
                "reference": sr.reference,
                "service_code": sr.category.code,
                "description": sr.description,
                "at": (round(sr.lat, 4), round(sr.lon, 4)),
                "is_open": sr.is_open,
            }
            for sr in session.scalars(select(ServiceRequest))
        ]
    finally:
        session.close()


def _close_in_works(works: Works, external_id: str) -> None:
    """Works staff finish their task: the case there resolves (Open311 status "closed")."""
    session = works.session()
    try:
        sr = session.scalars(
            select(ServiceRequest).where(ServiceRequest.reference == external_id)
        ).one()
        task = session.scalars(select(Task).where(Task.request_id == sr.id)).one()
        crew = session.scalars(select(User).where(User.email == "rowan@works.example")).one()
        complete_task(
            session,
            settings=works.app.extensions["portal.settings"],
            task=task,
            actor=crew,
            note="Filled with cold patch",
        )
        session.commit()
    finally:
        session.close()


def test_a_task_goes_to_the_second_portal_and_its_closing_comes_back(
    app, client, db, here, works, settings, monkeypatch
):
    monkeypatch.setenv(KEY_ENV, works.raw_key)
    _configure(db, works.url)
    reference = _file(client, here)
    sr = db.scalars(select(ServiceRequest).where(ServiceRequest.reference == reference)).one()
    task = db.scalars(select(Task).where(Task.request_id == sr.id)).one()
    link = _link(db)
    assert (link.task_id, link.state, link.service_code) == (task.id, "posting", "road-hole")

    stats = _deliver(app, settings)
    assert stats.failed == 0 and stats.retried == 0
    link = _link(db)
    assert link.state == "filed" and link.external_id and link.last_error == ""
    [theirs] = _works_requests(works)
    assert theirs["reference"] == link.external_id
    assert theirs["service_code"] == "road-hole"
    assert reference in theirs["description"]
    assert "A deep hole by the school" in theirs["description"]
    assert theirs["at"] == INSIDE and theirs["is_open"]

    # Nothing to bring back while it is open there.
    stats = poll_outbound(app.extensions["portal.db"], settings, clock.now())
    assert stats is not None and (stats.asked, stats.closed) == (1, 0)
    db.expire_all()
    assert task.is_open
    assert _link(db).external_status == "open"

    _close_in_works(works, link.external_id)
    # Asked again only after the poll interval.
    assert poll_outbound(app.extensions["portal.db"], settings, clock.now()) is None
    later = clock.now() + timedelta(seconds=settings.outbound_poll_seconds + 1)
    stats = poll_outbound(app.extensions["portal.db"], settings, later)
    assert stats is not None and (stats.asked, stats.closed) == (1, 1)

    db.expire_all()
    task = db.get(Task, task.id)
    assert (task.status, task.is_open) == ("done", False)
    sr = db.get(ServiceRequest, sr.id)
    assert sr.status == "resolved"
    link = _link(db)
    assert (link.state, link.external_status) == ("closed", "closed")
    done = db.scalars(
        select(Event).where(Event.request_id == sr.id, Event.kind == "internal_note")
    ).all()
    by_system = [e for e in done if (e.data or {}).get("action") == "task_done"]
    assert by_system and by_system[0].data["system"] == "Works Cityworks"
    assert by_system[0].actor_kind == "system" and by_system[0].actor_id is None
    actions = set(db.scalars(select(AuditEntry.action).where(AuditEntry.entity == "outbound_task")))
    assert actions == {"posted", "closed"}

    # Staff see who handles the task, its id there and when it was last synced.
    sign_in(client, here.agent)
    page = client.get(f"/staff/cases/{reference}").get_data(as_text=True)
    assert "Works Cityworks" in page and link.external_id in page


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_server_that_is_down_is_retried_then_the_task_is_flagged(
    app, client, db, here, settings, monkeypatch
):
    monkeypatch.setenv(KEY_ENV, "whatever")
    _configure(db, f"http://127.0.0.1:{_closed_port()}/open311/v2/")
    reference = _file(client, here)
    tight = replace(settings, outbox_max_attempts=2)
    stats = _deliver(app, tight)
    assert stats.retried == 1 and stats.failed == 0
    link = _link(db)
    assert link.state == "posting" and "unreachable" in link.last_error and link.attempts == 1
    stats = _deliver(app, tight, at=clock.now() + timedelta(hours=2))
    assert stats.failed == 1
    link = _link(db)
    assert link.state == "failed" and link.attempts == 2
    message = db.scalars(select(OutboxMessage).where(OutboxMessage.channel == "open311")).one()
    assert message.state == "failed"
    sign_in(client, here.agent)
    page = client.get(f"/staff/cases/{reference}").get_data(as_text=True)
    assert "could not be sent to Works Cityworks" in page


class LoseFirstAnswer:
    """A proxy in front of the second portal that passes the first POST on but loses its
    answer (a 502 instead), like a gateway timing out after the work was done."""

    def __init__(self, app) -> None:
        self.app = app
        self.lost = 0

    def __call__(self, environ, start_response):
        if environ["REQUEST_METHOD"] == "POST" and not self.lost:
            self.lost += 1
            body = b"".join(self.app(environ, lambda *args, **kwargs: None))
            assert body
            start_response("502 Bad Gateway", [("Content-Type", "text/plain")])
            return [b"upstream timed out"]
        return self.app(environ, start_response)


def test_a_lost_answer_is_retried_with_the_same_key_and_files_once(
    app, client, db, here, works, settings, monkeypatch
):
    proxy = LoseFirstAnswer(works.app)
    server, thread = _serve(proxy)
    try:
        monkeypatch.setenv(KEY_ENV, works.raw_key)
        _configure(db, f"http://127.0.0.1:{server.server_port}/open311/v2/")
        _file(client, here)
        stats = _deliver(app, settings)
        assert stats.retried == 1 and proxy.lost == 1
        assert len(_works_requests(works)) == 1  # filed there, though we never heard
        stats = _deliver(app, settings, at=clock.now() + timedelta(hours=2))
        assert stats.sent == 1
    finally:
        server.shutdown()
        thread.join(5)
    [theirs] = _works_requests(works)
    link = _link(db)
    assert link.state == "filed" and link.external_id == theirs["reference"]


def test_a_department_without_an_endpoint_sends_nothing(client, db, here):
    _file(client, here)
    assert db.scalar(select(func.count()).select_from(OutboundTask)) == 0
    assert (
        db.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.channel == "open311")
        )
        == 0
    )


def test_a_refusal_flags_the_task_at_once(app, client, db, here, works, settings, monkeypatch):
    monkeypatch.setenv(KEY_ENV, works.raw_key)
    _configure(db, works.url)
    profile = db.get(CityProfile, PROFILE_ID)
    outbound = dict(profile.settings["open311"]["outbound"][0])
    outbound["service_codes"] = {"pothole": "no-such-service"}
    profile.settings = {"open311": {"outbound": [outbound]}}
    db.flush()
    _file(client, here)
    stats = _deliver(app, settings)
    assert stats.failed == 1 and stats.retried == 0
    link = _link(db)
    assert link.state == "failed" and link.attempts == 1
    assert "refused the task" in link.last_error and "no-such-service" in link.last_error
    assert _works_requests(works) == []


def test_a_works_system_on_a_refused_address_is_never_reached(
    app, client, db, here, works, settings, monkeypatch
):
    """Without PORTAL_OUTBOUND_ALLOWED_NETWORKS a name that resolves to loopback is refused
    when the task is posted (at once, not retried: only a change of configuration helps) and
    when it is polled; the works system hears nothing."""
    monkeypatch.setenv(KEY_ENV, works.raw_key)
    port = works.url.split(":")[2].split("/")[0]
    _configure(db, f"http://localhost:{port}/open311/v2/")
    _file(client, here)
    strict = replace(settings, outbound_allowed_networks=())
    stats = _deliver(app, strict)
    assert stats.failed == 1 and stats.retried == 0
    link = _link(db)
    assert link.state == "failed" and link.attempts == 1
    assert "refused destination" in link.last_error
    assert "localhost (127.0.0.1) is a loopback address" in link.last_error
    assert _works_requests(works) == []

    # Filed while it was allowed, then no longer allowed: the poll does not reach it either.
    link.state, link.external_id, link.last_error = "filed", "SR-1", ""
    db.flush()
    stats = poll_outbound(app.extensions["portal.db"], strict, clock.now())
    assert stats is not None and stats.errors == 1 and stats.asked == 0
    assert "refused destination" in _link(db).last_error


def test_a_task_added_later_for_the_department_goes_out_too(
    app, client, db, make, here, works, settings, monkeypatch
):
    from portal.casework.tasks import add_task

    monkeypatch.setenv(KEY_ENV, works.raw_key)
    _configure(db, works.url)
    parks = make.department(code="parks", name="Parks")
    make.category(code="fallen-tree", name="Fallen tree", department=parks)
    reference = _file(client, here)
    assert _deliver(app, settings).sent >= 1
    sr = db.scalars(select(ServiceRequest).where(ServiceRequest.reference == reference)).one()
    # A parks task is not handed over; a second streets task is, once.
    add_task(db, request=sr, department=parks, title="Clear the branches", actor=here.agent)
    second = add_task(db, request=sr, department=here.streets, title="Repaint", actor=here.agent)
    links = db.scalars(select(OutboundTask).order_by(OutboundTask.id)).all()
    assert [link.task_id for link in links][1:] == [second.id]
    assert _deliver(app, settings).sent >= 1
    assert len(_works_requests(works)) == 2


class TokenOnly:
    """A proxy in front of the second portal whose POST answers carry only the token (as an
    Open311 server that files later does); the id is then read from GET tokens/<token>."""

    def __init__(self, app) -> None:
        self.app = app

    def __call__(self, environ, start_response):
        if environ["REQUEST_METHOD"] != "POST":
            return self.app(environ, start_response)
        kept: dict[str, Any] = {}

        def keep(status, headers, exc_info=None):
            kept["status"] = status

        body = b"".join(self.app(environ, keep))
        answer = json.loads(body)
        trimmed = json.dumps([{"token": answer[0]["token"]}]).encode()
        start_response(kept["status"], [("Content-Type", "application/json")])
        return [trimmed]


def test_a_token_is_resolved_to_the_id_when_polling(
    app, client, db, here, works, settings, monkeypatch
):
    server, thread = _serve(TokenOnly(works.app))
    try:
        monkeypatch.setenv(KEY_ENV, works.raw_key)
        _configure(db, f"http://127.0.0.1:{server.server_port}/open311/v2/")
        _file(client, here)
        assert _deliver(app, settings).failed == 0
        link = _link(db)
        assert link.state == "filed" and link.token and link.external_id == ""
        stats = poll_outbound(app.extensions["portal.db"], settings, clock.now())
        assert stats is not None and stats.asked == 1
    finally:
        server.shutdown()
        thread.join(5)
    [theirs] = _works_requests(works)
    link = _link(db)
    assert link.external_id == theirs["reference"] and link.external_status == "open"


def test_an_administrator_finds_a_refused_task_and_sends_it_again_once_fixed(
    app, client, db, make, here, works, settings, monkeypatch
):
    monkeypatch.setenv(KEY_ENV, works.raw_key)
    _configure(db, works.url)
    profile = db.get(CityProfile, PROFILE_ID)
    outbound = dict(profile.settings["open311"]["outbound"][0])
    profile.settings = {
        "open311": {"outbound": [{**outbound, "service_codes": {"pothole": "no-such-service"}}]}
    }
    db.flush()
    reference = _file(client, here)
    assert _deliver(app, settings).failed == 1
    link = _link(db)

    admin = make.user(role="admin")
    sign_in(client, admin)
    page = client.get("/staff/outbound/?state=failed")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert reference in html and "no-such-service" in html and "Send again" in html
    assert "Works Cityworks" in html and KEY_ENV in html and "Set" in html
    assert reference not in client.get("/staff/outbound/?state=filed").get_data(as_text=True)
    assert client.get("/staff/outbound/?state=nonsense").status_code == 400
    token = csrf_from(html)

    # Sent again while the configuration is still wrong: refused, nothing queued.
    profile.settings = {
        "open311": {"outbound": [{**outbound, "service_codes": {}, "service_code": ""}]}
    }
    db.flush()
    answer = client.post(f"/staff/outbound/{link.id}/send-again", data={"csrf_token": token})
    assert answer.status_code == 302
    assert "still has no service code" in client.get(answer.location).get_data(as_text=True)
    assert _link(db).state == "failed"

    # Fixed: sent again, filed once, with the same Idempotency-Key.
    profile.settings = {"open311": {"outbound": [outbound]}}
    db.flush()
    answer = client.post(f"/staff/outbound/{link.id}/send-again", data={"csrf_token": token})
    assert "will be sent to Works Cityworks again" in client.get(answer.location).get_data(
        as_text=True
    )
    again = _link(db)
    assert again.state == "posting" and again.service_code == "road-hole" and not again.last_error
    assert again.idempotency_key == link.idempotency_key
    assert _deliver(app, settings).sent == 1
    assert _link(db).state == "filed" and len(_works_requests(works)) == 1
    trail = db.scalars(
        select(AuditEntry).where(
            AuditEntry.entity == "outbound_task", AuditEntry.action == "sent_again"
        )
    ).one()
    assert trail.actor_id == admin.id and trail.before["error"]

    # Only a failed task is sent again; an unknown one is a 404, a forged POST a 400.
    answer = client.post(f"/staff/outbound/{link.id}/send-again", data={"csrf_token": token})
    assert "has not failed" in client.get(answer.location).get_data(as_text=True)
    assert (
        client.post("/staff/outbound/999999/send-again", data={"csrf_token": token}).status_code
        == 404
    )
    assert client.post(f"/staff/outbound/{link.id}/send-again").status_code == 400
