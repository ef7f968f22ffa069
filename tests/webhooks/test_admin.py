"""The webhooks admin pages (issue 24), through HTTP as an admin does: register a receiver on
loopback, see the secret, send a test event, read the log, send again, rotate the secret; bad
input answered beside its field; every change audited. And the Done-when, end to end: an admin
registers a receiver for status changes, staff change a request's status, the worker runs, the
receiver verifies the signed event with the standardwebhooks library."""

from __future__ import annotations

import json
import re
from dataclasses import replace

import pytest
from sqlalchemy import select
from standardwebhooks import Webhook, WebhookVerificationError

from portal.core import clock
from portal.core.audit import AuditEntry
from portal.webhooks.models import WebhookDelivery, WebhookEndpoint
from tests.casework.test_case import act, make_office
from tests.conftest import csrf_from, sign_in
from tests.webhook_receiver import LOOPBACK
from tests.webhooks.conftest import deliver


@pytest.fixture
def settings(settings):
    return replace(settings, outbound_allowed_networks=LOOPBACK, webhook_timeout=2)


def _post(client, page, target, **data):
    token = csrf_from(client.get(page).get_data(as_text=True))
    return client.post(target, data={"csrf_token": token, **data})


def _secret(html: str) -> str:
    match = re.search(r'id="webhook-secret"[^>]*value="(whsec_[^"]+)"', html)
    assert match, "no secret on the page"
    return match.group(1)


def _register(client, url, events):
    response = _post(
        client,
        "/staff/webhooks/new",
        "/staff/webhooks/new",
        url=url,
        description="Works management",
        events=events,
        active="y",
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    assert response.headers["Cache-Control"] == "no-store"
    return _secret(response.get_data(as_text=True))


def test_done_when_a_status_change_reaches_a_loopback_receiver_signed(
    app, client, db, make, settings, receiver
):
    office = make_office(make, db)
    admin = make.user(role="admin")
    sign_in(client, admin)
    secret = _register(client, receiver.url, ["request.status_changed"])
    endpoint = db.scalar(select(WebhookEndpoint))
    assert endpoint.url == receiver.url and endpoint.events == ["request.status_changed"]
    assert secret == endpoint.secret and secret.startswith("whsec_")

    colleague = app.test_client()  # a member of the case's department, in their own browser
    sign_in(colleague, office.agent_x)
    response = act(
        colleague,
        office.case,
        "status",
        target="in_progress",
        status_note="Crew booked for Monday.",
    )
    assert response.status_code == 302

    stats = deliver(app, settings)
    assert stats.failed == 0 and stats.sent >= 1
    [received] = receiver.received
    event = Webhook(secret).verify(received.body, received.headers)  # raises if it does not
    assert event["type"] == "request.status_changed"
    assert event["data"]["request"]["service_request_id"] == office.case.reference
    assert event["data"]["status"] == "in_progress"
    assert event["data"]["note"] == "Crew booked for Monday."
    assert event["data"]["request"]["status_notes"] == "Crew booked for Monday."
    # A changed byte, or a replay signed for another id, does not verify.
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(received.body.replace(b"in_progress", b"resolved"), received.headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(received.body, {**received.headers, "webhook-id": "msg_other"})


def test_admin_pages_register_test_log_redeliver_rotate(app, client, db, make, settings, receiver):
    admin = make.user(role="admin")
    sign_in(client, admin)
    assert "Webhooks" in client.get("/staff/webhooks/").get_data(as_text=True)
    secret = _register(client, receiver.url, ["request.created", "comment.added"])
    endpoint = db.scalar(select(WebhookEndpoint))
    page = f"/staff/webhooks/{endpoint.id}"
    html = client.get("/staff/webhooks/").get_data(as_text=True)
    assert receiver.url in html and "A public comment is added" in html

    # The secret again, on request: audited, not cached.
    shown = _post(client, page, f"{page}/secret")
    assert shown.status_code == 200 and shown.headers["Cache-Control"] == "no-store"
    assert _secret(shown.get_data(as_text=True)) == secret
    assert client.get(f"{page}/secret").status_code == 405

    # "Send test event": through the outbox, then in the log.
    receiver.answer_next(500)
    response = _post(client, page, f"{page}/test")
    assert response.status_code == 302
    assert deliver(app, settings).retried == 1
    html = client.get(page).get_data(as_text=True)
    assert "Test event" in html and "HTTP 500" in html and "Next try" in html
    assert deliver(app, settings, minutes=5).sent == 1
    hook = Webhook(secret)
    assert [hook.verify(r.body, r.headers)["type"] for r in receiver.received] == [
        "webhook.test",
        "webhook.test",
    ]
    html = client.get(page).get_data(as_text=True)
    assert "Delivered" in html and "HTTP 204" in html
    delivery = db.scalar(select(WebhookDelivery))
    assert delivery.attempts == 2

    # Send it again by hand: the same id and body.
    response = _post(client, page, f"{page}/deliveries/{delivery.id}/redeliver")
    assert response.status_code == 302
    assert deliver(app, settings, minutes=10).sent == 1
    assert receiver.received[-1].body == receiver.received[0].body
    assert receiver.received[-1].headers["webhook-id"] == delivery.message_id
    assert _post(client, page, f"{page}/deliveries/999999/redeliver").status_code == 404

    # A new secret: the old one no longer verifies what is sent next.
    confirm = client.get(f"{page}/rotate").get_data(as_text=True)
    assert "stops working at once" in confirm
    rotated = _post(client, f"{page}/rotate", f"{page}/rotate")
    new_secret = _secret(rotated.get_data(as_text=True))
    assert new_secret != secret
    _post(client, page, f"{page}/test")
    deliver(app, settings, minutes=20)
    last = receiver.received[-1]
    assert Webhook(new_secret).verify(last.body, last.headers)["type"] == "webhook.test"
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(last.body, last.headers)

    # Edit: fewer events, switched off; the secret never reaches the audit trail.
    response = _post(
        client, f"{page}/edit", f"{page}/edit", url=receiver.url, description="", events=[]
    )
    assert response.status_code == 302
    db.expire_all()
    endpoint = db.get(WebhookEndpoint, endpoint.id)
    assert endpoint.events == [] and not endpoint.active
    actions = [
        a.action
        for a in db.scalars(
            select(AuditEntry)
            .where(AuditEntry.entity == "webhook_endpoint")
            .order_by(AuditEntry.id)
        )
    ]
    assert actions == ["create", "show_secret", "rotate_secret", "update"]
    trail = json.dumps(
        [
            (a.before, a.after)
            for a in db.scalars(select(AuditEntry).where(AuditEntry.entity == "webhook_endpoint"))
        ]
    )
    assert "whsec_" not in trail


def test_the_log_pages_newest_first(app, client, db, make, settings):
    from portal.webhooks import service

    admin = make.user(role="admin")
    sign_in(client, admin)
    endpoint = service.create_endpoint(
        db,
        settings=settings,
        url="https://hooks.example.com/x",
        description="",
        event_types=[],
        by=None,
        now=clock.now(),
    )
    ids = [service.send_test(db, endpoint, now=clock.now()).id for _ in range(30)]
    html = client.get(f"/staff/webhooks/{endpoint.id}").get_data(as_text=True)
    shown = [int(i) for i in re.findall(r'id="delivery-(\d+)"', html)]
    assert shown == sorted(ids, reverse=True)[:25]
    more = re.search(r'href="([^"]*before=(\d+))"', html)
    assert more and int(more.group(2)) == shown[-1]
    html = client.get(more.group(1).replace("&amp;", "&")).get_data(as_text=True)
    assert [int(i) for i in re.findall(r'id="delivery-(\d+)"', html)] == sorted(ids)[:5][::-1]


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("", "Enter the endpoint&#39;s URL"),
        ("hooks.example.com", "Enter a URL like https://example.com/webhooks"),
    ],
)
def test_bad_input_is_answered_beside_the_field(client, db, make, url, message):
    sign_in(client, make.user(role="admin"))
    response = _post(
        client, "/staff/webhooks/new", "/staff/webhooks/new", url=url, events=["nonsense"]
    )
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert message in html and "Choose events from the list" in html
    assert db.scalar(select(WebhookEndpoint)) is None
