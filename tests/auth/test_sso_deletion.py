"""Deleting an account without a password (data rights): a resident who signs in only through
the city's provider confirms by signing in there again (``prompt=login``, ``max_age=0``), and
the portal checks the ID token's subject is the one linked to the account and its
``auth_time`` is from just now. Against the strict loopback provider (tests/auth/oidc_provider.py),
which records each sign-in's time as ``auth_time``."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from sqlalchemy import select

from portal.auth.models import User
from portal.core import clock
from portal.core.audit import AuditEntry
from portal.privacy.deletion import is_deleted
from tests.auth.oidc_provider import serve_provider
from tests.auth.test_sso import authorize_at_provider, person
from tests.conftest import csrf_from


@pytest.fixture(scope="module")
def strict():
    with serve_provider() as provider:
        provider.register("public-portal", auth_method="none")
        yield provider


@pytest.fixture
def settings(settings, strict):
    return replace(
        settings,
        sso_issuer=strict.url,
        sso_client_id="public-portal",
        sso_label="Springfield ID",
        sso_residents=True,
    )


def resident_through_the_provider(client, db, strict, email="ana@example.org"):
    """A resident whose account the provider's sign-in made (no password known to them)."""
    sub = person(strict.url, email)
    assert client.get(authorize_at_provider(client, sub)).status_code == 302
    user = db.scalar(select(User).where(User.email == email))
    assert user is not None
    return user, sub


def sign_in_again(client, strict, sub: str):
    """ "Confirm by signing in again" on the deletion page, then the provider's round trip;
    returns the portal's answer to the provider's redirect."""
    page = client.get("/account/delete").get_data(as_text=True)
    assert "Confirm by signing in again" in page
    form = page[page.index('action="/account/sso/reauthenticate"') :]
    response = client.post("/account/sso/reauthenticate", data={"csrf_token": csrf_from(form)})
    assert response.status_code == 302
    authorize = response.headers["Location"]
    query = parse_qs(urlsplit(authorize).query)
    assert query["prompt"] == ["login"] and query["max_age"] == ["0"]
    answer = requests.post(authorize, data={"sub": sub}, allow_redirects=False, timeout=5)
    back = urlsplit(answer.headers["Location"])
    return client.get(f"{back.path}?{back.query}")


def test_a_resident_confirms_by_signing_in_again_and_is_deleted(client, db, strict):
    ana, sub = resident_through_the_provider(client, db, strict)
    page = client.get("/account/delete").get_data(as_text=True)
    assert 'name="password"' in page and "No password?" in page
    response = sign_in_again(client, strict, sub)
    assert response.status_code == 302 and response.headers["Location"] == "/account/delete"
    page = client.get("/account/delete").get_data(as_text=True)
    assert "You signed in again with the city" in page
    assert 'name="password"' not in page and "Confirm by signing in again" not in page
    response = client.post(
        "/account/delete", data={"csrf_token": csrf_from(page), "understood": "y"}
    )
    assert response.status_code == 302 and response.headers["Location"] == "/"
    db.refresh(ana)
    assert is_deleted(ana) and not ana.active
    actions = db.scalars(select(AuditEntry.action).where(AuditEntry.entity_id == str(ana.id)))
    assert "sso_reauthenticated" in set(actions)
    assert client.get("/account").status_code == 302  # signed out


def test_signing_in_again_as_someone_else_confirms_nothing(client, db, strict):
    ana, _ = resident_through_the_provider(client, db, strict)
    someone = person(strict.url, "someone@example.org")
    response = sign_in_again(client, strict, someone)
    assert response.status_code == 403
    assert "That was not the person signed in here" in response.get_data(as_text=True)
    page = client.get("/account/delete").get_data(as_text=True)
    assert 'name="password"' in page  # still asked for a password (or to sign in again)
    response = client.post(
        "/account/delete", data={"csrf_token": csrf_from(page), "understood": "y"}
    )
    assert response.status_code == 200 and "Enter your password" in response.get_data(as_text=True)
    db.refresh(ana)
    assert not is_deleted(ana)
    assert client.get("/account").status_code == 200  # still Ana, still signed in


def test_a_provider_that_did_not_ask_again_confirms_nothing(client, db, strict):
    """The provider answered from its own session (auth_time an hour ago), ignoring prompt=login
    and max_age=0: not a fresh confirmation."""
    ana, sub = resident_through_the_provider(client, db, strict)
    strict.auth_time_shift = -3600
    try:
        response = sign_in_again(client, strict, sub)
    finally:
        strict.auth_time_shift = 0
    assert response.status_code == 403
    page = response.get_data(as_text=True)
    assert "The sign-in service did not check it was you just now" in page
    assert 'href="/account/delete"' in page
    assert 'name="password"' in client.get("/account/delete").get_data(as_text=True)
    db.refresh(ana)
    assert not is_deleted(ana)


def test_the_confirmation_lasts_ten_minutes(client, db, strict, freeze_clock):
    start = clock.now()
    freeze_clock(start)
    ana, sub = resident_through_the_provider(client, db, strict)
    assert sign_in_again(client, strict, sub).status_code == 302
    page = client.get("/account/delete").get_data(as_text=True)
    assert 'name="password"' not in page
    freeze_clock(start + timedelta(minutes=11))
    response = client.post(
        "/account/delete", data={"csrf_token": csrf_from(page), "understood": "y"}
    )
    assert response.status_code == 200
    assert "Enter your password" in response.get_data(as_text=True)
    db.refresh(ana)
    assert not is_deleted(ana)


def test_an_account_with_no_link_is_not_offered_it(client, make, db, strict):
    from tests.conftest import sign_in

    lee = make.user(email="lee@example.org")
    sign_in(client, lee)
    page = client.get("/account/delete").get_data(as_text=True)
    assert 'name="password"' in page and "Confirm by signing in again" not in page
    # Started by hand, the round trip confirms nothing: no one at the provider is linked to
    # this account (not even a person with its address).
    response = client.post("/account/sso/reauthenticate", data={"csrf_token": csrf_from(page)})
    answer = requests.post(
        response.headers["Location"],
        data={"sub": person(strict.url, "lee@example.org")},
        allow_redirects=False,
        timeout=5,
    )
    back = urlsplit(answer.headers["Location"])
    assert client.get(f"{back.path}?{back.query}").status_code == 403
    assert 'name="password"' in client.get("/account/delete").get_data(as_text=True)


def test_signed_out_people_cannot_start_it(client):
    token = csrf_from(client.get("/account/sign-in").get_data(as_text=True))
    response = client.post("/account/sso/reauthenticate", data={"csrf_token": token})
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == "/account/sign-in"
