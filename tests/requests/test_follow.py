"""Following a request by email and supporting it ("me too")."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from portal.core.outbox import OutboxMessage
from portal.requests.follows import NotPublic, follow_request, support_request
from portal.requests.models import Follower, Support
from tests.conftest import csrf_from
from tests.requests.test_tracking import page_token, private_request, sign_in


def _followers(db, sr) -> list[Follower]:
    db.expire_all()
    return list(db.scalars(select(Follower).where(Follower.request_id == sr.id)))


def _confirm_emails(db) -> list[OutboxMessage]:
    return list(
        db.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.kind == "follow_confirm")
            .order_by(OutboxMessage.id)
        )
    )


def test_signed_in_resident_follows_at_once(client, db, make):
    me = make.user(email="me@example.org")
    sr = make.request()
    sign_in(client, me)
    csrf = page_token(client, f"/requests/{sr.reference}")
    response = client.post(f"/requests/{sr.reference}/follow", data={"csrf_token": csrf})
    assert response.status_code == 302
    [follower] = _followers(db, sr)
    assert follower.email == "me@example.org" and follower.user_id == me.id
    assert follower.confirmed_at is not None
    assert _confirm_emails(db) == []
    page = client.get(f"/requests/{sr.reference}").get_data(as_text=True)
    assert "Stop updates" in page

    again = client.post(f"/requests/{sr.reference}/follow", data={"csrf_token": csrf})
    assert again.status_code == 302
    assert len(_followers(db, sr)) == 1

    stop = client.post(f"/requests/{sr.reference}/unfollow", data={"csrf_token": csrf})
    assert stop.status_code == 302
    assert _followers(db, sr) == []


def test_anonymous_follow_needs_confirmation(client, db, make):
    sr = make.request()
    csrf = page_token(client, f"/requests/{sr.reference}")
    response = client.post(
        f"/requests/{sr.reference}/follow",
        data={"csrf_token": csrf, "follow_email": " Fan@Example.org "},
    )
    assert response.status_code == 302
    [follower] = _followers(db, sr)
    assert follower.email == "fan@example.org" and follower.confirmed_at is None
    [email] = _confirm_emails(db)
    assert email.to_address == "fan@example.org"
    link = f"http://portal.test/follow/confirm/{follower.token}"
    assert link in email.body_text and link in email.body_html

    # Asking again neither duplicates the follower nor sends a second email today.
    client.post(
        f"/requests/{sr.reference}/follow",
        data={"csrf_token": csrf, "follow_email": "fan@example.org"},
    )
    assert len(_followers(db, sr)) == 1
    assert len(_confirm_emails(db)) == 1

    confirmed = client.get(f"/follow/confirm/{follower.token}")
    assert confirmed.status_code == 200
    assert "You are following this request" in confirmed.get_data(as_text=True)
    [follower] = _followers(db, sr)
    assert follower.confirmed_at is not None
    assert client.get("/follow/confirm/not-a-real-token").status_code == 404


@pytest.mark.parametrize("email", ["", "not-an-email", "a@b@c"])
def test_anonymous_follow_shows_email_errors_next_to_the_field(client, db, make, email):
    sr = make.request()
    csrf = page_token(client, f"/requests/{sr.reference}")
    response = client.post(
        f"/requests/{sr.reference}/follow", data={"csrf_token": csrf, "follow_email": email}
    )
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert 'id="follow_email-error-1"' in html
    assert 'href="#follow_email"' in html  # the error summary links to the field
    assert _followers(db, sr) == []


def test_private_requests_cannot_be_followed_or_supported(client, db, make, settings):
    sr, token = private_request(make)
    with pytest.raises(NotPublic):
        follow_request(db, settings=settings, request=sr, email="x@example.org", locale="en")
    with pytest.raises(NotPublic):
        support_request(db, request=sr, supporter_key="a:xyz", user_id=None)
    client.get(f"/requests/{sr.reference}/access/{token}")
    html = client.get(f"/requests/{sr.reference}").get_data(as_text=True)
    assert "Follow this request" not in html and "Me too" not in html
    response = client.post(
        f"/requests/{sr.reference}/follow",
        data={"csrf_token": csrf_from(html), "follow_email": "x@example.org"},
    )
    assert response.status_code == 404


def test_unsubscribe_asks_first_then_stops_on_post(client, db, make, settings):
    sr = make.request()
    follower = follow_request(
        db,
        settings=settings,
        request=sr,
        email="fan@example.org",
        user=make.user(email="fan@example.org"),
        locale="en",
    )
    url = f"/follow/unsubscribe/{follower.token}"
    page = client.get(url)
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Stop these emails" in html and 'method="post"' in html
    assert len(_followers(db, sr)) == 1  # a mail scanner's GET changes nothing

    assert client.post(url, data={}).status_code == 400  # no CSRF token
    assert len(_followers(db, sr)) == 1
    done = client.post(url, data={"csrf_token": csrf_from(html)})
    assert done.status_code == 200
    assert "You will not get more emails about this request" in done.get_data(as_text=True)
    assert _followers(db, sr) == []
    assert client.get(url).status_code == 404


def _support(client, sr):
    csrf = page_token(client, f"/requests/{sr.reference}")
    response = client.post(f"/requests/{sr.reference}/support", data={"csrf_token": csrf})
    assert response.status_code == 302
    return client.get(response.headers["Location"]).get_data(as_text=True)


def test_support_twice_counts_once(app, db, make):
    sr = make.request()
    browser = app.test_client()
    first = _support(browser, sr)
    assert "Your support for this request has been counted" in first
    second = _support(browser, sr)
    assert "You already support this request" in second
    db.refresh(sr)
    assert sr.support_count == 1

    resident = make.user()
    signed_in = app.test_client()
    sign_in(signed_in, resident)
    _support(signed_in, sr)
    assert "You already support this request" in _support(signed_in, sr)
    db.refresh(sr)
    assert sr.support_count == 2
    keys = set(db.scalars(select(Support.supporter_key).where(Support.request_id == sr.id)))
    assert f"u:{resident.id}" in keys
    assert any(re.fullmatch(r"a:[\w-]+", key) for key in keys)


def test_support_request_service_is_idempotent(db, make):
    sr = make.request()
    assert support_request(db, request=sr, supporter_key="u:1", user_id=None) is True
    assert support_request(db, request=sr, supporter_key="u:1", user_id=None) is False
    assert support_request(db, request=sr, supporter_key="a:other", user_id=None) is True
    assert sr.support_count == 2
    assert (
        db.scalar(select(func.count()).select_from(Support).where(Support.request_id == sr.id)) == 2
    )


def test_closed_requests_cannot_be_supported(client, db, make):
    sr = make.request(status="closed")
    html = client.get(f"/requests/{sr.reference}").get_data(as_text=True)
    assert "Me too" not in html
    csrf = page_token(client, "/account/sign-in")
    client.post(f"/requests/{sr.reference}/support", data={"csrf_token": csrf})
    db.refresh(sr)
    assert sr.support_count == 0


def test_support_from_the_filing_journey_lands_on_the_page_with_a_message(client, make):
    sr = make.request()
    response = client.get(f"/requests/{sr.reference}?supported=1")
    assert response.status_code == 302
    assert response.headers["Location"] == f"/requests/{sr.reference}"
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Your support for this request has been counted" in page
