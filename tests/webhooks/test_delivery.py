"""Webhooks end to end (issue 24): a staff action on a case writes one outbox message per
subscribed endpoint, the worker posts it to a receiver on loopback (tests/webhook_receiver.py),
and the receiver verifies the Standard Webhooks signature with the independent
``standardwebhooks`` library. Failures are retried with backoff, 410 switches the endpoint off."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import select
from standardwebhooks import Webhook, WebhookVerificationError

from portal.core import clock
from portal.core.outbox import OutboxMessage
from portal.webhooks import service
from portal.webhooks.models import WebhookDelivery, WebhookEndpoint
from tests.casework.test_case import act, make_office
from tests.conftest import sign_in
from tests.webhook_receiver import LOOPBACK
from tests.webhooks.conftest import deliver


@pytest.fixture
def settings(settings):
    return replace(settings, outbound_allowed_networks=LOOPBACK, webhook_timeout=1)


def _endpoint(db, settings, url, events):
    return service.create_endpoint(
        db,
        settings=settings,
        url=url,
        description="Works system",
        event_types=events,
        by=None,
        now=clock.now(),
    )


def _deliveries(db):
    db.expire_all()
    return list(db.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)))


def test_a_status_change_reaches_the_receiver_signed(app, client, db, make, settings, receiver):
    office = make_office(make, db)
    endpoint = _endpoint(db, settings, receiver.url, ["request.status_changed"])
    other = _endpoint(db, settings, receiver.url + "/other", ["comment.added"])
    sign_in(client, office.agent_x)
    assert act(client, office.case, "status", target="in_progress").status_code == 302

    [delivery] = _deliveries(db)  # the comment endpoint gets nothing
    assert delivery.endpoint_id == endpoint.id and delivery.event_type == "request.status_changed"
    stats = deliver(app, settings)
    assert stats.failed == 0
    [received] = receiver.received
    assert received.path == "/hooks"
    assert received.headers["content-type"] == "application/json"
    assert received.headers["webhook-id"] == delivery.message_id
    payload = Webhook(endpoint.secret).verify(received.body, received.headers)
    assert payload["type"] == "request.status_changed"
    assert payload["data"]["request"]["service_request_id"] == office.case.reference
    assert payload["data"]["status"] == "in_progress"
    assert payload["data"]["previous_status"] == "new"
    assert payload["data"]["request"]["status"] == "open"
    # Nothing about the resident: the public Open311 representation only.
    assert "Rita" not in received.body.decode() and "rita@" not in received.body.decode()
    assert "555-0100" not in received.body.decode()
    # Another endpoint's secret does not verify it.
    with pytest.raises(WebhookVerificationError):
        Webhook(other.secret).verify(received.body, received.headers)
    [delivery] = _deliveries(db)
    assert (delivery.state, delivery.attempts, delivery.last_status) == ("delivered", 1, 204)
    assert delivery.delivered_at is not None
    # The worker again: nothing is sent twice.
    assert deliver(app, settings, minutes=120).claimed == 0
    assert len(receiver.received) == 1


def test_failures_are_retried_with_backoff_then_given_up(app, db, make, settings, receiver):
    settings = replace(settings, outbox_max_attempts=3)
    endpoint = _endpoint(db, settings, receiver.url, [])
    service.send_test(db, endpoint, now=clock.now())
    receiver.answer_next(500, "timeout", 503)

    assert deliver(app, settings).retried == 1
    [delivery] = _deliveries(db)
    assert (delivery.state, delivery.attempts, delivery.last_status) == ("pending", 1, 500)
    assert delivery.last_error == "HTTP 500 Internal Server Error"
    message = db.get(OutboxMessage, delivery.outbox_id)
    first_wait = message.next_attempt_at - clock.now()
    assert timedelta(seconds=50) < first_wait <= timedelta(minutes=1, seconds=7)
    assert deliver(app, settings).claimed == 0  # not due yet

    assert deliver(app, settings, minutes=2).retried == 1  # the receiver is too slow
    [delivery] = _deliveries(db)
    assert delivery.attempts == 2 and delivery.last_status is None
    assert "Timeout" in delivery.last_error
    db.refresh(message)
    assert message.next_attempt_at - clock.now() > timedelta(minutes=3)  # twice as long

    assert deliver(app, settings, minutes=10).failed == 1
    [delivery] = _deliveries(db)
    assert (delivery.state, delivery.attempts, delivery.last_status) == ("failed", 3, 503)
    assert [json.loads(r.body)["type"] for r in receiver.received] == ["webhook.test"] * 3
    # Every attempt had the same webhook-id, each signed afresh.
    assert len({r.headers["webhook-id"] for r in receiver.received}) == 1

    # Redelivered by hand: the same id and body again.
    assert service.redeliver(db, delivery)
    assert deliver(app, settings, minutes=11).sent == 1
    [delivery] = _deliveries(db)
    assert (delivery.state, delivery.attempts, delivery.last_status) == ("delivered", 4, 204)
    assert receiver.received[-1].body == receiver.received[0].body


def test_410_gone_switches_the_endpoint_off(app, db, make, settings, receiver):
    endpoint = _endpoint(db, settings, receiver.url, ["request.created"])
    receiver.answer_next(410)
    service.send_test(db, endpoint, now=clock.now())
    assert deliver(app, settings).failed == 1
    db.expire_all()
    endpoint = db.get(WebhookEndpoint, endpoint.id)
    assert not endpoint.active and endpoint.disabled_reason == "410 Gone"
    # A new request is no longer sent there.
    make.request()
    assert [d.event_type for d in _deliveries(db)] == ["webhook.test"]


ALL = [
    "request.created",
    "request.status_changed",
    "task.added",
    "task.done",
    "comment.added",
]


def _types(db):
    return [(d.event_type, json.loads(d.payload)["data"]) for d in _deliveries(db)]


def test_each_event_from_filing_to_done(app, client, db, make, settings, receiver):
    from portal.requests.service import Filing, submit_request
    from tests.factories import INSIDE

    _endpoint(db, settings, receiver.url, ALL)
    make.area()
    streets = make.department(code="streets", name="Streets")
    make.category(code="pothole", name="Pothole", department=streets)
    hidden = make.category(code="abuse", name="Abuse", department=streets, private=True)
    request = submit_request(
        db,
        settings=settings,
        filing=Filing(
            category_code="pothole",
            description="Deep hole",
            address="1 Main St",
            lat=INSIDE[0],
            lon=INSIDE[1],
            contact_name="Rita Resident",
            contact_email="rita@example.org",
        ),
    ).request
    events = _types(db)
    assert [t for t, _ in events] == ["request.created", "task.added"]
    created = events[0][1]["request"]
    assert created["service_request_id"] == request.reference
    assert created["agency_responsible"] == "Streets"  # after routing
    assert events[1][1]["task"]["department"] == "Streets"
    first_task = events[1][1]["task"]["id"]
    assert "assignee" not in events[1][1]["task"]

    # A private category's request sends nothing.
    submit_request(
        db,
        settings=settings,
        filing=Filing(
            category_code=hidden.code,
            description="Private",
            address="1 Main St",
            lat=INSIDE[0],
            lon=INSIDE[1],
            contact_email="rita@example.org",
        ),
    )
    assert len(_deliveries(db)) == 2

    water = make.department(code="water", name="Water")
    agent = make.staff(streets, name="Xavier")
    sign_in(client, agent)
    assert (
        act(client, request, "reply", body="We will fix it this week.", send="1").status_code == 302
    )
    assert act(client, request, "note", note="Contractor is late").status_code == 302
    assert (
        act(client, request, "tasks", department=str(water.id), title="Check the main").status_code
        == 302
    )
    events = _types(db)[2:]
    assert [t for t, _ in events] == ["comment.added", "task.added"]
    comment = events[0][1]["comment"]
    assert comment["description"] == "We will fix it this week." and comment["author"] == "staff"
    assert "Contractor" not in json.dumps(_types(db))  # an internal note is never sent
    assert events[1][1]["task"]["department"] == "Water"

    assert act(client, request, f"tasks/{first_task}/complete").status_code == 302
    events = _types(db)[4:]
    assert [t for t, _ in events] == ["task.done"]
    assert events[0][1]["task"] | {"created_at": None, "closed_at": None} == {
        "id": first_task,
        "title": "Pothole",
        "department": "Streets",
        "status": "done",
        "created_at": None,
        "closed_at": None,
    }

    # Every one of them reaches the receiver, in order, each verifying.
    endpoint = db.scalar(select(WebhookEndpoint))
    assert deliver(app, settings).sent >= 5
    hook = Webhook(endpoint.secret)
    assert [hook.verify(r.body, r.headers)["type"] for r in receiver.received] == [
        "request.created",
        "task.added",
        "comment.added",
        "task.added",
        "task.done",
    ]


def test_the_worker_purges_finished_deliveries_after_the_log_days(app, db, make, settings):
    from portal.core.worker import PERIODIC_JOBS
    from portal.webhooks.service import purge_webhook_deliveries

    settings = replace(settings, webhook_log_days=30)
    endpoint = _endpoint(db, settings, "https://hooks.example.com/x", [])
    old = service.send_test(db, endpoint, now=clock.now())
    old.state, old.created_at = "delivered", clock.now() - timedelta(days=31)
    waiting = service.send_test(db, endpoint, now=clock.now())
    waiting.created_at = clock.now() - timedelta(days=40)  # still to be sent: kept
    recent = service.send_test(db, endpoint, now=clock.now())
    recent.state = "failed"
    db.flush()
    database = app.extensions["portal.db"]
    assert purge_webhook_deliveries in PERIODIC_JOBS  # the worker runs it every round
    assert purge_webhook_deliveries(database, settings, clock.now()) == (
        "purged 1 webhook deliveries"
    )
    assert {d.id for d in _deliveries(db)} == {waiting.id, recent.id}


def test_a_name_that_resolves_to_loopback_is_refused_unless_allowed(
    app, client, db, make, settings, receiver
):
    """The host is resolved at each attempt and every address checked: ``localhost`` is
    refused without PORTAL_OUTBOUND_ALLOWED_NETWORKS (a permanent failure, with the reason in
    the log the admin reads); allowed, the connection goes to the checked address and still
    presents the name in its Host header."""
    url = receiver.url.replace("127.0.0.1", "localhost")
    port = url.split(":")[2].split("/")[0]
    endpoint = _endpoint(db, settings, url, [])
    service.send_test(db, endpoint, now=clock.now())
    strict = replace(settings, outbound_allowed_networks=())
    stats = deliver(app, strict)
    assert (stats.failed, stats.retried) == (1, 0)
    [delivery] = _deliveries(db)
    assert (delivery.state, delivery.attempts, delivery.last_status) == ("failed", 1, None)
    assert delivery.last_error.startswith(
        "refused destination: localhost (127.0.0.1) is a loopback address"
    )
    assert receiver.received == []
    sign_in(client, make.user(role="admin"))
    page = client.get(f"/staff/webhooks/{endpoint.id}").get_data(as_text=True)
    assert "refused destination: localhost (127.0.0.1) is a loopback address" in page

    service.send_test(db, endpoint, now=clock.now())
    assert deliver(app, settings).sent == 1
    [received] = receiver.received
    assert received.headers["host"] == f"localhost:{port}"
    assert received.path == "/hooks"


def test_a_redirect_is_not_followed(app, db, settings, receiver):
    endpoint = _endpoint(db, settings, receiver.url, [])
    service.send_test(db, endpoint, now=clock.now())
    receiver.answer_next(307)
    assert deliver(app, settings).retried == 1
    [delivery] = _deliveries(db)
    assert (delivery.state, delivery.last_status) == ("pending", 307)
    assert [r.path for r in receiver.received] == ["/hooks"]  # nothing went to /moved
