"""An account whose email address is not confirmed cannot file or follow requests as itself;
anonymous filing is unchanged."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from portal.requests.models import Follower, RequestDraft, ServiceRequest
from tests.conftest import sign_in
from tests.requests.test_filing import Journey, city  # noqa: F401 (the fixture)
from tests.requests.test_tracking import page_token


@pytest.mark.usefixtures("city")
def test_an_unverified_account_is_told_to_confirm_its_address_before_filing(client, db, make):
    unverified = make.user(email="new@example.org", email_verified_at=None)
    sign_in(client, unverified)
    for url in ("/report/", "/report/details", "/report/check"):
        response = client.get(url)
        assert response.status_code == 403
        page = response.get_data(as_text=True)
        assert "Confirm your email address first" in page
        assert "new@example.org" in page and 'href="/account"' in page
    csrf = page_token(client, "/account")
    posted = client.post("/report/", data={"csrf_token": csrf, "category": "pothole"})
    assert posted.status_code == 403
    assert db.scalar(select(func.count()).select_from(RequestDraft)) == 0
    assert db.scalar(select(func.count()).select_from(ServiceRequest)) == 0


@pytest.mark.usefixtures("city")
def test_a_verified_account_and_an_anonymous_resident_still_file(app, make):
    signed_in = app.test_client()
    sign_in(signed_in, make.user())
    assert "Confirm your email address" not in signed_in.get("/report/").get_data(as_text=True)
    anonymous = Journey(app.test_client())
    response = anonymous.through_location()
    assert response.headers["Location"].endswith("/report/photos")


def test_an_unverified_account_cannot_follow(client, db, make):
    unverified = make.user(email="new@example.org", email_verified_at=None)
    sr = make.request()
    sign_in(client, unverified)
    page = client.get(f"/requests/{sr.reference}").get_data(as_text=True)
    assert "Confirm your email address to follow requests" in page
    assert "Follow this request</button>" not in page
    csrf = page_token(client, f"/requests/{sr.reference}")
    response = client.post(f"/requests/{sr.reference}/follow", data={"csrf_token": csrf})
    assert response.status_code == 302
    after = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Confirm your email address first" in after
    assert db.scalar(select(func.count()).select_from(Follower)) == 0
