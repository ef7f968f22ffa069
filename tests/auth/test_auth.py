"""Resident accounts: sign up, sign in, sign out, password reset and the account page."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from portal.auth.models import User
from portal.core import clock
from portal.core.outbox import OutboxMessage
from portal.core.senders import SmtpSender
from portal.core.worker import deliver_outbox
from tests.conftest import csrf_from, own_app_client
from tests.factories import PASSWORD
from tests.smtp import body_html, body_text

NEW_PASSWORD = "a brand new passphrase"


def _error_next_to(html: str, field_id: str) -> str:
    match = re.search(rf'id="{field_id}-error-1">([^<]+)<', html)
    assert match, f"no error next to #{field_id}"
    return match.group(1)


def _post_form(client, url: str, data: dict[str, str], *, page: str | None = None):
    token = csrf_from(client.get(page or url).get_data(as_text=True))
    return client.post(url, data={"csrf_token": token, **data})


def _sign_up(client, **overrides: str):
    data = {
        "name": "Ana Resident",
        "email": "ana@example.org",
        "phone": "",
        "locale": "en",
        "password": NEW_PASSWORD,
        "confirm": NEW_PASSWORD,
    }
    data.update(overrides)
    return _post_form(client, "/account/sign-up", data)


def _sign_in(client, email: str, password: str = PASSWORD, next_: str | None = None):
    url = "/account/sign-in" + (f"?next={next_}" if next_ is not None else "")
    return _post_form(client, url, {"email": email, "password": password}, page="/account/sign-in")


def _signed_in(client) -> bool:
    return client.get("/account").status_code == 200


def _reset_link(db, email: str) -> str:
    message = db.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.to_address == email, OutboxMessage.kind == "password_reset")
        .order_by(OutboxMessage.id.desc())
    ).first()
    assert message is not None, "no reset email queued"
    match = re.search(r"http://portal\.test(/account/reset/\S+)", message.body_text)
    assert match, message.body_text
    assert match.group(1) in message.body_html
    return match.group(1)


# --- Sign up -------------------------------------------------------------------------------


def test_sign_up_creates_the_account_and_asks_to_confirm_the_address(client, db):
    response = _sign_up(client, email="  Ana.Resident@Example.ORG ", phone="555 010 0199")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "<h1>Check your email</h1>" in page
    assert "ana.resident@example.org" in page
    assert not _signed_in(client)  # the emailed link signs in (tests/auth/test_email_links.py)
    user = db.scalar(select(User).where(User.email == "ana.resident@example.org"))
    assert user is not None
    assert user.password_hash.startswith("scrypt:")
    assert NEW_PASSWORD not in user.password_hash
    assert (user.name, user.phone, user.role, user.locale) == (
        "Ana Resident",
        "555 010 0199",
        "resident",
        "en",
    )
    assert user.email_verified_at is None
    welcome = db.scalar(select(OutboxMessage).where(OutboxMessage.kind == "confirm_email"))
    assert welcome is not None and welcome.to_address == "ana.resident@example.org"
    assert welcome.subject == "Welcome to Riverton 311: confirm your email address"


@pytest.mark.parametrize(
    "overrides, field_id, message",
    [
        ({"email": "not-an-email"}, "email", "Enter an email address in the correct format"),
        ({"email": ""}, "email", "Enter your email address"),
        ({"name": "   "}, "name", "Enter your name"),
        (
            {"password": "short", "confirm": "short"},
            "password",
            "Password must be at least 8 characters",
        ),
        (
            {"password": "a" * 12, "confirm": "a" * 12},
            "password",
            "Password must not be one character repeated",
        ),
        (
            {"password": "x" + "y" * 128, "confirm": "x" + "y" * 128},
            "password",
            "Password must be 128 characters or fewer",
        ),
        ({"confirm": "something else entirely"}, "confirm", "The passwords do not match"),
        ({"phone": "call me maybe"}, "phone", "Enter a phone number"),
        ({"locale": "fr"}, "locale", "Not a valid choice"),
    ],
)
def test_sign_up_shows_bad_input_next_to_the_field(client, db, overrides, field_id, message):
    response = _sign_up(client, **overrides)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert message in _error_next_to(html, field_id)
    assert 'id="error-summary"' in html
    assert db.scalar(select(User).where(User.email == "ana@example.org")) is None


def test_sign_up_page_has_labels_and_autocomplete(client):
    html = client.get("/account/sign-up").get_data(as_text=True)
    assert "<h1>Create an account</h1>" in html
    for field_id, autocomplete in [
        ("name", "name"),
        ("email", "email"),
        ("phone", "tel"),
        ("password", "new-password"),
        ("confirm", "new-password"),
    ]:
        assert f'for="{field_id}"' in html
        tag = re.search(rf'<[^>]*\bid="{field_id}"[^>]*>', html).group(0)
        assert f'autocomplete="{autocomplete}"' in tag
    assert 'href="/account/sign-in"' in html


# --- Sign in -------------------------------------------------------------------------------


def test_sign_in_with_the_right_password(client, make, db):
    user = make.user(email="kim@example.org")
    response = _sign_in(client, " KIM@example.org ")
    assert response.status_code == 302
    assert response.headers["Location"] == "/account"
    assert _signed_in(client)
    db.refresh(user)
    assert user.last_login_at is not None


def test_wrong_password_and_unknown_email_get_the_same_answer(client, make):
    make.user(email="kim@example.org")
    wrong = _sign_in(client, "kim@example.org", "not the password at all")
    unknown = _sign_in(client, "nobody@example.org", "not the password at all")
    assert wrong.status_code == unknown.status_code == 200
    expected = (
        "The email address or password is not right. Check them and try again, "
        "or reset your password."
    )
    for response in (wrong, unknown):
        assert _error_next_to(response.get_data(as_text=True), "email") == expected
    assert not _signed_in(client)


def test_inactive_account_cannot_sign_in(client, make):
    make.user(email="gone@example.org", active=False)
    response = _sign_in(client, "gone@example.org")
    assert response.status_code == 200
    assert not _signed_in(client)


def test_next_takes_the_resident_back_to_a_local_page(client, make):
    make.user(email="kim@example.org")
    response = client.get("/account/password")
    assert response.status_code == 302
    target = urlsplit(response.headers["Location"])
    assert target.path == "/account/sign-in"
    assert parse_qs(target.query) == {"next": ["/account/password"]}

    response = _sign_in(client, "kim@example.org", next_="%2Faccount%2Fpassword")
    assert response.headers["Location"] == "/account/password"


@pytest.mark.parametrize(
    "next_",
    [
        "https://evil.example/",
        "//evil.example/x",
        "/\\evil.example",
        "javascript:alert(1)",
        "http:/evil.example",
        "%2F%2Fevil.example",
        "/%0d%0aSet-Cookie:x=1",
        "\t//evil.example",
    ],
)
def test_next_never_leaves_the_site(client, make, next_):
    make.user(email="kim@example.org")
    response = _sign_in(client, "kim@example.org", next_=next_)
    assert response.status_code == 302
    assert response.headers["Location"] == "/account"


def test_sign_in_without_a_csrf_token_is_refused_in_the_layout(client, make):
    make.user(email="kim@example.org")
    response = client.post(
        "/account/sign-in", data={"email": "kim@example.org", "password": PASSWORD}
    )
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "the security token was missing or wrong" in html
    assert 'class="usa-skipnav"' in html
    assert not _signed_in(client)


def test_sign_in_is_rate_limited_per_address(settings):
    with own_app_client(replace(settings, ratelimit_enabled=True)) as client:
        # An empty password fails validation before any hashing, but the attempt still counts.
        statuses = [_sign_in(client, "nobody@example.org", "").status_code for _ in range(11)]
        assert statuses[:10] == [200] * 10
        assert statuses[10] == 429
        response = _post_form(
            client, "/account/sign-in", {"email": "x@example.org", "password": "y"}
        )
        assert response.status_code == 429
        html = response.get_data(as_text=True)
        assert "Too many attempts" in html and 'class="usa-skipnav"' in html
        assert client.get("/account/sign-in").status_code == 200  # reading the form is fine


# --- Sign out ------------------------------------------------------------------------------


def test_sign_out_ends_a_copied_session_cookie(app, client, make):
    make.user(email="kim@example.org")
    _sign_in(client, "kim@example.org")
    copied = client.get_cookie("session").value

    thief = app.test_client()
    thief.set_cookie("session", copied)
    assert thief.get("/account").status_code == 200  # the copy works while signed in

    token = csrf_from(client.get("/account").get_data(as_text=True))
    response = client.post("/account/sign-out", data={"csrf_token": token})
    assert response.status_code == 302
    assert not _signed_in(client)

    response = thief.get("/account")
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == "/account/sign-in"


def test_sign_out_needs_post_with_csrf(client, make):
    make.user(email="kim@example.org")
    _sign_in(client, "kim@example.org")
    assert client.get("/account/sign-out").status_code == 405
    assert client.post("/account/sign-out").status_code == 400
    assert _signed_in(client)


# --- Password reset ------------------------------------------------------------------------


def test_password_reset_end_to_end(app, client, make, db, settings, smtp):
    make.user(email="kim@example.org")
    response = _post_form(client, "/account/reset", {"email": "Kim@Example.org"})
    assert response.status_code == 200
    assert "If an account exists for that address, we have sent a link" in response.get_data(
        as_text=True
    )

    stats = deliver_outbox(
        app.extensions["portal.db"], SmtpSender(settings), now=clock.now(), max_attempts=3
    )
    assert stats.sent == 1
    smtp.wait_for(1)
    [mail] = smtp.to("kim@example.org")
    assert mail["Subject"] == "Reset your Riverton 311 password"
    match = re.search(r"http://portal\.test(/account/reset/\S+)", body_text(mail))
    assert match, body_text(mail)
    link = match.group(1)
    assert link in body_html(mail)

    page = client.get(link)
    assert page.status_code == 200
    assert page.headers["Referrer-Policy"] == "no-referrer"
    html = page.get_data(as_text=True)
    assert "<h1>Choose a new password</h1>" in html
    response = client.post(
        link,
        data={"csrf_token": csrf_from(html), "password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/account/sign-in"

    fresh = app.test_client()
    assert _sign_in(fresh, "kim@example.org", PASSWORD).status_code == 200  # old one refused
    assert not _signed_in(fresh)
    assert _sign_in(fresh, "kim@example.org", NEW_PASSWORD).status_code == 302
    assert _signed_in(fresh)

    again = client.get(link)
    assert again.status_code == 400
    assert "This link no longer works" in again.get_data(as_text=True)


def test_reset_ends_sessions_signed_in_before(app, client, make, db):
    make.user(email="kim@example.org")
    _sign_in(client, "kim@example.org")
    other = app.test_client()
    _post_form(other, "/account/reset", {"email": "kim@example.org"})
    link = _reset_link(db, "kim@example.org")
    token = csrf_from(other.get(link).get_data(as_text=True))
    other.post(link, data={"csrf_token": token, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert not _signed_in(client)


def test_reset_link_expires_after_an_hour(client, make, db):
    make.user(email="kim@example.org")
    start = clock.now()
    try:
        clock.freeze(start)
        _post_form(client, "/account/reset", {"email": "kim@example.org"})
        link = _reset_link(db, "kim@example.org")
        clock.freeze(start + timedelta(minutes=59))
        assert client.get(link).status_code == 200
        clock.freeze(start + timedelta(minutes=61))
        response = client.get(link)
        assert response.status_code == 400
        assert "This link has expired" in response.get_data(as_text=True)
        response = client.post(link, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
        assert response.status_code == 400
    finally:
        clock.freeze(None)
    assert _sign_in(client, "kim@example.org", NEW_PASSWORD).status_code == 200


def test_tampered_reset_link_does_not_work(client, make, db):
    make.user(email="kim@example.org")
    _post_form(client, "/account/reset", {"email": "kim@example.org"})
    link = _reset_link(db, "kim@example.org")
    for bad in (link[:-2] + ("AA" if not link.endswith("AA") else "BB"), "/account/reset/x.y.z"):
        response = client.get(bad)
        assert response.status_code == 400
        assert "This link no longer works" in response.get_data(as_text=True)


def test_reset_rejects_a_weak_new_password_next_to_the_field(client, make, db):
    make.user(email="kim@example.org")
    _post_form(client, "/account/reset", {"email": "kim@example.org"})
    link = _reset_link(db, "kim@example.org")
    token = csrf_from(client.get(link).get_data(as_text=True))
    response = client.post(
        link, data={"csrf_token": token, "password": "short", "confirm": "short"}
    )
    assert response.status_code == 200
    assert _error_next_to(response.get_data(as_text=True), "password") == (
        "Password must be at least 8 characters"
    )
    assert client.get(link).status_code == 200  # still usable


def test_reset_for_an_unknown_email_looks_the_same(client, make, db):
    make.user(email="kim@example.org")
    known = _post_form(client, "/account/reset", {"email": "kim@example.org"})
    unknown = _post_form(client, "/account/reset", {"email": "nobody@example.org"})
    assert known.status_code == unknown.status_code == 200
    assert known.get_data() == unknown.get_data()
    queued = db.scalars(
        select(OutboxMessage.to_address).where(OutboxMessage.kind == "password_reset")
    ).all()
    assert queued == ["kim@example.org"]


def test_reset_request_needs_a_valid_email(client):
    response = _post_form(client, "/account/reset", {"email": "nope"})
    assert response.status_code == 200
    assert "Enter an email address in the correct format" in _error_next_to(
        response.get_data(as_text=True), "email"
    )


# --- The account page and language -----------------------------------------------------------


def test_account_page_needs_sign_in(client):
    response = client.get("/account")
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == "/account/sign-in"


def test_account_details_can_be_edited(client, make, db):
    user = make.user(email="kim@example.org", name="Kim", phone="")
    _sign_in(client, "kim@example.org")
    response = _post_form(
        client, "/account", {"name": "Kim Lee", "phone": "+1 555 010 0199", "locale": "en"}
    )
    assert response.status_code == 302
    db.refresh(user)
    assert (user.name, user.phone) == ("Kim Lee", "+1 555 010 0199")
    response = _post_form(client, "/account", {"name": "", "phone": "", "locale": "en"})
    assert _error_next_to(response.get_data(as_text=True), "name") == "Enter your name"


def test_preferred_language_is_stored_and_used(client, db):
    _sign_up(client, email="sol@example.org", locale="es")
    user = db.scalar(select(User).where(User.email == "sol@example.org"))
    assert user.locale == "es"
    confirm = db.scalar(select(OutboxMessage).where(OutboxMessage.to_address == "sol@example.org"))
    assert confirm.locale == "es"
    link = re.search(r"http://portal\.test(/account/confirm/\S+)", confirm.body_text).group(1)
    assert client.get(link).status_code == 302  # confirms the address and signs in
    assert '<html lang="es">' in client.get("/").get_data(as_text=True)
    assert '<html lang="es">' in client.get("/account").get_data(as_text=True)

    _post_form(client, "/account", {"name": "Sol", "phone": "", "locale": "en"})
    assert '<html lang="en">' in client.get("/").get_data(as_text=True)


def test_spanish_account_signs_in_to_spanish_pages(client, make):
    make.user(email="luz@example.org", locale="es")
    assert '<html lang="en">' in client.get("/").get_data(as_text=True)
    _sign_in(client, "luz@example.org")
    assert '<html lang="es">' in client.get("/").get_data(as_text=True)


def test_change_password_keeps_this_browser_and_ends_others(app, client, make):
    make.user(email="kim@example.org")
    _sign_in(client, "kim@example.org")
    other = app.test_client()
    _sign_in(other, "kim@example.org")

    response = _post_form(
        client,
        "/account/password",
        {"current_password": "not my password", "password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
    )
    assert _error_next_to(response.get_data(as_text=True), "current_password") == (
        "Your current password is not right"
    )

    response = _post_form(
        client,
        "/account/password",
        {"current_password": PASSWORD, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
    )
    assert response.status_code == 302
    assert _signed_in(client)
    assert not _signed_in(other)
