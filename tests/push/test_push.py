"""Web Push end to end (issue 21): a device subscribes over HTTP, a staff action queues a push
message in the outbox, the worker's sender delivers it to a push service on loopback that
checks the VAPID signature and decrypts the payload (tests/push_service.py); gone devices are
removed, busy services retried, nothing delivered twice; bad subscriptions refused."""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import select

from portal.core import clock
from portal.core.config import ConfigError, Settings
from portal.core.outbox import OutboxMessage
from portal.core.senders import channel_sender
from portal.core.vapid import new_key_pair
from portal.core.worker import deliver_outbox, run_round
from portal.push.models import PushSubscription
from tests.casework.test_case import act, make_office
from tests.conftest import csrf_from, sign_in
from tests.push_service import Browser, PushService, b64url
from tests.smtp import body_text

PRIVATE, PUBLIC = new_key_pair()
CHROME_ANDROID = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Mobile Safari/537.36"
)


@pytest.fixture
def settings(settings):
    return replace(
        settings,
        vapid_private_key=PRIVATE,
        vapid_public_key=PUBLIC,
        push_allow_loopback_http=True,
    )


@pytest.fixture
def service():
    with PushService(PUBLIC) as running:
        yield running


def _token(client, path: str) -> str:
    return csrf_from(client.get(path).get_data(as_text=True))


def _subscribe(client, subscription, *, request=None, page=None, language="en"):
    page = page or (f"/requests/{request}" if request else "/account")
    body = {"subscription": subscription}
    if request is not None:
        body["request"] = request
    return client.post(
        "/push/subscribe",
        json=body,
        headers={
            "X-CSRFToken": _token(client, page),
            "User-Agent": CHROME_ANDROID,
            "Accept-Language": language,
        },
    )


def _deliver(app, settings, *, minutes=0):
    db = app.extensions["portal.db"]
    return deliver_outbox(
        db,
        channel_sender(db, settings),
        now=clock.now() + timedelta(minutes=minutes),
        max_attempts=settings.outbox_max_attempts,
    )


def _push_rows(db):
    db.expire_all()
    return list(
        db.scalars(
            select(OutboxMessage).where(OutboxMessage.channel == "push").order_by(OutboxMessage.id)
        )
    )


def _follow_anonymously(client, db, make, service, *, language):
    """Someone not signed in turns notifications on from the public request's page."""
    office = make_office(make, db)
    browser = Browser()
    subscription = service.subscribe(browser)
    page = f"/requests/{office.case.reference}?lang={language}"
    html = client.get(page).get_data(as_text=True)
    assert f'data-push-request="{office.case.reference}"' in html
    assert f'data-push-key="{PUBLIC}"' in html
    response = _subscribe(
        client, subscription, request=office.case.reference, page=page, language=language
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    return office, browser, subscription


def test_a_status_change_reaches_a_followers_device_in_their_language(
    app, client, db, make, settings, service
):
    office, browser, subscription = _follow_anonymously(client, db, make, service, language="es")
    device = db.scalar(select(PushSubscription))
    assert device.request_id == office.case.id and device.user_id is None
    assert device.language == "es" and device.device_label == "Chrome, Android"

    sign_in(client, office.agent_x)
    assert act(client, office.case, "status", target="in_progress").status_code == 302
    rows = _push_rows(db)
    assert [(row.to_address, row.locale) for row in rows] == [(str(device.id), "es")]

    stats = _deliver(app, settings)
    assert stats.sent == 2  # the reporter's email and the push message
    assert [row.state for row in _push_rows(db)] == ["sent"]
    [received] = service.received
    assert received.payload == {
        "title": f"{office.case.reference} ahora está: En curso",
        "body": "Pothole",
        "url": f"http://portal.test/requests/{office.case.reference}",
        "tag": received.payload["tag"],
    }
    assert int(received.headers["ttl"]) == 24 * 3600
    assert received.headers["urgency"] == "normal"
    assert received.claims["sub"] == "mailto:no-reply@riverton.example"
    db.expire_all()
    assert db.get(PushSubscription, device.id).last_success_at is not None
    # The worker again: nothing is sent twice.
    assert _deliver(app, settings, minutes=120).claimed == 0
    assert len(service.answers) == 1


def test_a_staff_question_reaches_the_reporters_devices(app, client, db, make, settings, service):
    office = make_office(make, db)
    rita = make.user(email="rita.account@example.org", locale="en")
    office.case.reporter_id = rita.id
    db.flush()
    sign_in(client, rita)
    browser = Browser()
    assert _subscribe(client, service.subscribe(browser)).status_code == 201
    client.post("/account/sign-out", data={"csrf_token": _token(client, "/account")})

    sign_in(client, office.agent_x)
    response = act(client, office.case, "question", question="Which side of the street?")
    assert response.status_code == 302
    assert _deliver(app, settings).sent >= 1
    [received] = service.received
    assert received.payload["title"] == f"Question about {office.case.reference}"
    assert received.payload["body"] == "Which side of the street?"


def test_gone_devices_are_removed_busy_services_retried_once(
    app, client, db, make, settings, service
):
    office, browser, gone = _follow_anonymously(client, db, make, service, language="en")
    other = Browser()
    busy = service.subscribe(other)
    assert _subscribe(client, busy, request=office.case.reference).status_code == 201
    service.fail_next(gone["endpoint"], 410)
    service.fail_next(busy["endpoint"], 429, 503)

    sign_in(client, office.agent_x)
    assert act(client, office.case, "status", target="in_progress").status_code == 302
    first = _deliver(app, settings)
    assert (first.failed, first.retried) == (1, 1)
    db.expire_all()
    endpoints = [row.endpoint for row in db.scalars(select(PushSubscription))]
    assert endpoints == [busy["endpoint"]]
    assert _deliver(app, settings).claimed == 0  # backoff: not due yet
    assert _deliver(app, settings, minutes=5).retried == 1  # the 503
    assert _deliver(app, settings, minutes=30).sent == 1
    assert _deliver(app, settings, minutes=300).claimed == 0
    busy_token = busy["endpoint"].rsplit("/", 1)[1]
    assert [status for token, status in service.answers if token == busy_token] == [
        429,
        503,
        201,
    ]
    assert len(service.received) == 1
    assert [row.state for row in _push_rows(db)] == ["failed", "sent"]


def test_the_same_news_is_queued_once_per_device(app, client, db, make, settings, service):
    office, browser, subscription = _follow_anonymously(client, db, make, service, language="en")
    # The same device again (the page's button pressed twice) stays one device.
    assert _subscribe(client, subscription, request=office.case.reference).status_code == 201
    sign_in(client, office.agent_x)
    act(client, office.case, "status", target="in_progress")
    assert len(_push_rows(db)) == 1
    assert db.scalar(select(PushSubscription.id).where(PushSubscription.id > 0)) is not None
    assert len(list(db.scalars(select(PushSubscription)))) == 1


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        (lambda s: s["keys"].update(p256dh=b64url(b"\x04" + b"\x01" * 64)), "p256dh", "P-256"),
        (lambda s: s["keys"].update(p256dh=s["keys"]["p256dh"][:40]), "p256dh", "P-256"),
        (lambda s: s["keys"].update(p256dh="not base64!"), "p256dh", "P-256"),
        (lambda s: s["keys"].update(auth=b64url(b"x" * 12)), "auth", "16 bytes"),
        (lambda s: s["keys"].pop("auth"), "auth", "16 bytes"),
        (lambda s: s.update(endpoint="http://push.example.org/x"), "endpoint", "https"),
        (lambda s: s.update(endpoint="https://10.0.0.7/push/x"), "endpoint", "internet"),
        (lambda s: s.update(endpoint="https://intranet/push/x"), "endpoint", "internet"),
        (lambda s: s.update(endpoint="ftp://push.example.org/x"), "endpoint", "https"),
        (lambda s: s.update(endpoint="https://user:pw@push.example.org/x"), "endpoint", "URL"),
        (lambda s: s.update(endpoint=42), "endpoint", "URL"),
    ],
)
def test_bad_subscriptions_are_refused_naming_the_problem(
    client, db, make, settings, service, change, field, message
):
    office = make_office(make, db)
    subscription = service.subscribe(Browser())
    subscription["keys"] = dict(subscription["keys"])
    change(subscription)
    response = _subscribe(client, subscription, request=office.case.reference)
    assert response.status_code == 400
    body = response.get_json()
    assert body["field"] == field and message in body["error"]
    assert db.scalar(select(PushSubscription)) is None


def test_loopback_endpoints_need_the_setting(app, client, db, make, settings, service):
    app.extensions["portal.city"].clear(replace(settings, push_allow_loopback_http=False))
    office = make_office(make, db)
    response = _subscribe(client, service.subscribe(Browser()), request=office.case.reference)
    assert response.status_code == 400 and response.get_json()["field"] == "endpoint"


def test_subscribing_needs_csrf_and_a_request_or_an_account(client, db, make, service):
    subscription = service.subscribe(Browser())
    assert client.post("/push/subscribe", json={"subscription": subscription}).status_code == 400
    response = _subscribe(client, subscription, page="/account/sign-in")
    assert response.status_code == 403
    private = make.request(category=make.category(private=True))
    response = _subscribe(client, subscription, request=private.reference, page="/account/sign-in")
    assert response.status_code == 404
    assert db.scalar(select(PushSubscription)) is None


def test_settings_list_devices_and_remove_one(client, db, make, service):
    me = make.user()
    sign_in(client, me)
    for _ in range(2):
        assert _subscribe(client, service.subscribe(Browser())).status_code == 201
    page = client.get("/account").get_data(as_text=True)
    assert page.count('<li class="border-top') == 2 and "Chrome, Android" in page
    devices = list(db.scalars(select(PushSubscription).order_by(PushSubscription.id)))
    token = csrf_from(page)
    url = f"/account/devices/{devices[0].id}/remove"
    assert client.post(url, data={"csrf_token": token}).status_code == 302  # not confirmed
    assert len(list(db.scalars(select(PushSubscription)))) == 2
    response = client.post(url, data={"csrf_token": token, "confirm": "yes"})
    assert response.status_code == 302
    db.expire_all()
    assert [d.id for d in db.scalars(select(PushSubscription))] == [devices[1].id]
    # Someone else's device is a 404.
    stranger = make.user()
    client = client.application.test_client()
    sign_in(client, stranger)
    token = _token(client, "/account")
    other = f"/account/devices/{devices[1].id}/remove"
    assert client.post(other, data={"csrf_token": token, "confirm": "yes"}).status_code == 404


def test_unsubscribe_by_endpoint(client, db, make, service):
    office, browser, subscription = _follow_anonymously(client, db, make, service, language="en")
    token = _token(client, "/account/sign-in")
    response = client.post(
        "/push/unsubscribe",
        json={"endpoint": subscription["endpoint"]},
        headers={"X-CSRFToken": token},
    )
    assert response.get_json() == {"removed": True}
    assert db.scalar(select(PushSubscription)) is None


def test_flask_push_keys_prints_a_matching_pair(runner):
    from portal.core.config import vapid_problems

    result = runner.invoke(args=["push", "keys"])
    lines = dict(line.split("=", 1) for line in result.output.split())
    private, public = lines["PORTAL_VAPID_PRIVATE_KEY"], lines["PORTAL_VAPID_PUBLIC_KEY"]
    assert vapid_problems(private, public) == []
    assert vapid_problems(private, PUBLIC) != []


def test_a_programme_offer_reaches_the_waitlisted_residents_device_in_spanish(
    app, client, db, make, settings, service
):
    programme = make.programme(title="Pottery", capacity=1)
    holder, waiting = make.user(), make.user(locale="es")
    mine = make.enrolment(programme, holder)
    make.enrolment(programme, waiting, state="waitlisted", locale="es")
    sign_in(client, waiting)
    assert _subscribe(client, service.subscribe(Browser()), language="es").status_code == 201

    holder_client = client.application.test_client()
    sign_in(holder_client, holder)
    page = holder_client.get(f"/my/programmes/{mine.id}").get_data(as_text=True)
    response = holder_client.post(
        f"/my/programmes/{mine.id}/cancel", data={"csrf_token": csrf_from(page)}
    )
    assert response.status_code == 302
    assert [row.locale for row in _push_rows(db)] == ["es"]
    _deliver(app, settings)
    [received] = service.received
    assert received.payload["title"] == f"Una plaza para usted: {programme.t('title', 'es')}"
    assert received.payload["body"].startswith("Acéptela antes de: ")
    assert received.payload["url"].startswith("http://portal.test/my/programmes/")


PRODUCTION = {
    "PORTAL_ENV": "production",
    "SECRET_KEY": "9f1c04be27d86a53e0b4c7192fd85a6e",
    "DATABASE_URL": "postgres://db/portal",
    "SMTP_HOST": "mail",
}


def test_production_reads_the_vapid_pair_and_refuses_a_mismatch():
    pair = {"PORTAL_VAPID_PRIVATE_KEY": PRIVATE, "PORTAL_VAPID_PUBLIC_KEY": PUBLIC}
    read = Settings.from_env({**PRODUCTION, **pair})
    assert (read.vapid_private_key, read.vapid_public_key) == (PRIVATE, PUBLIC)
    with pytest.raises(ConfigError, match="PORTAL_VAPID_PUBLIC_KEY must be the public key"):
        Settings.from_env({**PRODUCTION, **pair, "PORTAL_VAPID_PUBLIC_KEY": new_key_pair()[1]})
    with pytest.raises(ConfigError, match="PORTAL_VAPID_PRIVATE_KEY is not a P-256"):
        Settings.from_env({**PRODUCTION, **pair, "PORTAL_VAPID_PRIVATE_KEY": "c2hvcnQ"})
    assert Settings.from_env(PRODUCTION).vapid_public_key == ""  # no pair: push is off


def test_a_residents_data_lists_their_devices_and_deleting_the_account_removes_them(
    app, client, db, make, settings, service, smtp
):
    from tests.privacy.test_delete import _delete
    from tests.privacy.test_download import LINK_RE, _ask

    me = make.user(name="Dana Fields")
    sign_in(client, me)
    assert _subscribe(client, service.subscribe(Browser())).status_code == 201
    device = db.scalar(select(PushSubscription))
    waiting = OutboxMessage(
        kind="push_request_update",
        channel="push",
        to_address=str(device.id),
        subject="t",
        body_text="{}",
        body_html="",
        next_attempt_at=clock.now() + timedelta(days=1),  # a retry, waiting for tomorrow
    )
    db.add(waiting)
    db.flush()
    waiting_id = waiting.id

    _ask(client)
    database = app.extensions["portal.db"]
    for _round in range(2):  # builds, then sends the email with the link
        sender = channel_sender(database, settings)
        run_round(database, sender, settings, now=clock.now(), echo=lambda _: None)
    [message] = smtp.to(me.email)
    [token] = set(LINK_RE.findall(body_text(message)))
    response = client.get(f"/account/download/{token}")
    archive = zipfile.ZipFile(io.BytesIO(response.get_data()))
    response.close()
    [listed] = json.loads(archive.read("data.json"))["push_devices"]
    assert listed["device_label"] == "Chrome, Android" and "endpoint" not in listed
    assert "push_devices.csv" in archive.namelist()

    assert _delete(client).status_code == 302
    db.expire_all()
    assert db.scalar(select(PushSubscription)) is None
    assert db.get(OutboxMessage, waiting_id) is None


def test_an_endpoint_the_destination_policy_refuses_is_removed_at_delivery(
    app, client, db, make, settings, service
):
    """The endpoint is the resident's browser's URL: at delivery its address is checked again
    (a name can resolve elsewhere later). Here it was accepted while loopback push services
    were allowed; without that setting the sender refuses to connect and drops the device."""
    office, _browser, subscription = _follow_anonymously(client, db, make, service, language="en")
    sign_in(client, office.agent_x)
    assert act(client, office.case, "status", target="in_progress").status_code == 302
    assert _deliver(app, replace(settings, push_allow_loopback_http=False)).failed == 1
    assert service.received == [] and service.answers == []
    db.expire_all()
    assert db.scalars(select(PushSubscription)).all() == []
    [message] = _push_rows(db)
    host = subscription["endpoint"].split("/")[2].rsplit(":", 1)[0]
    assert message.state == "failed"
    assert f"push endpoint {host} is a loopback address" in message.last_error
