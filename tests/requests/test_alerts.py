"""Area alerts: subscribing, and the daily digest of new public requests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from portal.core import clock
from portal.core.outbox import OutboxMessage
from portal.core.senders import SmtpSender
from portal.core.worker import PERIODIC_JOBS, deliver_outbox
from portal.requests.alerts import DIGEST_LIMIT, send_area_digests, subscribe
from portal.requests.models import AreaSubscription
from tests.conftest import csrf_from
from tests.requests.test_tracking import page_token, sign_in
from tests.smtp import body_html, body_text

MORNING = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)  # after the default 07:00 UTC digest hour


@pytest.fixture(autouse=True)
def _real_time():
    yield
    clock.freeze(None)


def _digests(db) -> list[OutboxMessage]:
    return list(
        db.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.kind == "area_digest")
            .order_by(OutboxMessage.id)
        )
    )


def _subscriptions(db, user) -> list[AreaSubscription]:
    db.expire_all()
    return list(db.scalars(select(AreaSubscription).where(AreaSubscription.user_id == user.id)))


# --- the alerts page ------------------------------------------------------------------------


def test_alerts_need_sign_in(client):
    response = client.get("/my/alerts/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/account/sign-in?next=")


def test_subscribe_list_and_remove(client, db, make):
    me = make.user()
    area = make.area(name="Riverside")
    potholes = make.category(name="Potholes")
    make.category(name="Graffiti")
    sign_in(client, me)
    page = client.get("/my/alerts/")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Riverside" in html and "Potholes" in html and 'for="area"' in html

    response = client.post(
        "/my/alerts/",
        data={
            "csrf_token": csrf_from(html),
            "area": str(area.id),
            "categories": [str(potholes.id)],
        },
    )
    assert response.status_code == 302
    [sub] = _subscriptions(db, me)
    assert sub.area_id == area.id and sub.category_ids == [potholes.id]
    listed = client.get("/my/alerts/").get_data(as_text=True)
    assert "Only: Potholes" in listed

    # Saving the same area again changes the choice instead of adding a second alert.
    client.post("/my/alerts/", data={"csrf_token": csrf_from(html), "area": str(area.id)})
    [sub] = _subscriptions(db, me)
    assert sub.category_ids == []

    other = make.user()
    theirs = subscribe(db, user=other, area_id=area.id, category_ids=[], now=clock.now())
    assert (
        client.post(
            f"/my/alerts/{theirs.id}/remove", data={"csrf_token": csrf_from(html)}
        ).status_code
        == 404
    )
    assert (
        client.post(f"/my/alerts/{sub.id}/remove", data={"csrf_token": csrf_from(html)}).status_code
        == 302
    )
    assert _subscriptions(db, me) == []
    assert len(_subscriptions(db, other)) == 1


@pytest.mark.parametrize(
    "data, field",
    [
        ({"area": "0"}, "area"),
        ({"area": "999999"}, "area"),
        ({"area": "nonsense"}, "area"),
        ({"area": "AREA", "categories": ["999999"]}, "categories"),
    ],
)
def test_subscribe_errors_are_shown_next_to_the_field(client, db, make, data, field):
    me = make.user()
    area = make.area()
    sign_in(client, me)
    csrf = page_token(client, "/my/alerts/")
    data = {k: (str(area.id) if v == "AREA" else v) for k, v in data.items()}
    response = client.post("/my/alerts/", data={"csrf_token": csrf, **data})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert f'id="{field}-error' in html
    assert _subscriptions(db, me) == []


def test_an_unconfirmed_account_cannot_subscribe(client, db, make):
    """Alerts email the account's address daily: it must be confirmed first."""
    me = make.user(email_verified_at=None)
    area = make.area()
    sign_in(client, me)
    csrf = page_token(client, "/my/alerts/")
    response = client.post("/my/alerts/", data={"csrf_token": csrf, "area": str(area.id)})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert 'id="area-error' in html and "Confirm your email address first" in html
    assert _subscriptions(db, me) == []


def test_subscribe_without_csrf_is_400(client, db, make):
    me = make.user()
    area = make.area()
    sign_in(client, me)
    response = client.post("/my/alerts/", data={"area": str(area.id)})
    assert response.status_code == 400
    assert _subscriptions(db, me) == []


# --- the digest -----------------------------------------------------------------------------


def _arrange(make, db):
    """A subscriber to area A, potholes only, subscribed yesterday morning."""
    clock.freeze(MORNING - timedelta(days=1))
    me = make.user(email="alerts@example.org")
    area, elsewhere = make.area(name="Riverside"), make.area(name="Hilltop")
    potholes, graffiti = make.category(name="Potholes"), make.category(name="Graffiti")
    sub = subscribe(db, user=me, area_id=area.id, category_ids=[potholes.id], now=clock.now())
    return me, area, elsewhere, potholes, graffiti, sub


def test_digest_lists_only_new_public_requests_in_the_area_and_categories(
    app, db, make, settings, smtp
):
    me, area, elsewhere, potholes, graffiti, sub = _arrange(make, db)
    clock.freeze(MORNING - timedelta(days=2))
    too_old = make.request(category=potholes, area_id=area.id)
    clock.freeze(MORNING - timedelta(hours=5))
    wanted = make.request(category=potholes, area_id=area.id, address="12 River Road")
    wrong_kind = make.request(category=graffiti, area_id=area.id)
    wrong_area = make.request(category=potholes, area_id=elsewhere.id)
    private = make.request(category=potholes, area_id=area.id, private_by_reporter=True)
    clock.freeze(None)
    assert send_area_digests in PERIODIC_JOBS  # registered with the worker

    database = app.extensions["portal.db"]
    assert send_area_digests(database, settings, MORNING) == 1
    [digest] = _digests(db)
    assert digest.to_address == "alerts@example.org"
    assert wanted.reference in digest.body_text and "12 River Road" in digest.body_text
    for other in (too_old, wrong_kind, wrong_area, private):
        assert other.reference not in digest.body_text
        assert other.reference not in digest.body_html
    unsubscribe = f"http://portal.test/alerts/unsubscribe/{sub.token}"
    assert unsubscribe in digest.body_text

    # The same day again: nothing more; the next day with nothing new: no email either.
    assert send_area_digests(database, settings, MORNING + timedelta(hours=3)) == 0
    assert send_area_digests(database, settings, MORNING + timedelta(days=1)) == 0
    assert len(_digests(db)) == 1
    db.expire_all()
    assert db.get(AreaSubscription, sub.id).last_digest_at == MORNING + timedelta(days=1)

    deliver_outbox(database, SmtpSender(settings), now=clock.now(), max_attempts=3)
    [received] = smtp.wait_for(1)[-1:]
    message = received[1]
    assert "1 new request in Riverside" in message["Subject"]
    assert unsubscribe in body_text(message) and unsubscribe in body_html(message)


def test_digest_waits_for_the_digest_hour(app, db, make, settings):
    me, area, _elsewhere, potholes, _graffiti, _sub = _arrange(make, db)
    clock.freeze(MORNING - timedelta(hours=3))
    make.request(category=potholes, area_id=area.id)
    clock.freeze(None)
    early = MORNING.replace(hour=settings.digest_hour_utc - 1)
    assert send_area_digests(app.extensions["portal.db"], settings, early) == 0
    assert _digests(db) == []
    assert send_area_digests(app.extensions["portal.db"], settings, MORNING) == 1


def test_digest_lists_fifty_and_says_how_many_more(app, db, make, settings):
    me, area, _elsewhere, potholes, _graffiti, _sub = _arrange(make, db)
    for minute in range(DIGEST_LIMIT + 3):
        clock.freeze(MORNING - timedelta(hours=10) + timedelta(minutes=minute))
        make.request(category=potholes, area_id=area.id)
    clock.freeze(None)
    assert send_area_digests(app.extensions["portal.db"], settings, MORNING) == 1
    [digest] = _digests(db)
    assert digest.body_text.count("http://portal.test/requests/") == DIGEST_LIMIT
    assert "And 3 more." in digest.body_text
    assert "53 new requests in Riverside" in digest.subject


def test_digest_unsubscribe_link_asks_then_stops(client, db, make):
    me, area, _elsewhere, _potholes, _graffiti, sub = _arrange(make, db)
    clock.freeze(None)
    url = f"/alerts/unsubscribe/{sub.token}"
    page = client.get(url)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Riverside" in html
    assert len(_subscriptions(db, me)) == 1
    done = client.post(url, data={"csrf_token": csrf_from(html)})
    assert done.status_code == 200
    assert _subscriptions(db, me) == []
    assert client.get(url).status_code == 404
