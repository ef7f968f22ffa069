"""Passwords follow NIST SP 800-63B wherever one is set: length, not common, not the address."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from portal.auth.models import User
from portal.staff.cli import staff_cli
from tests.auth.test_auth import (
    NEW_PASSWORD,
    _error_next_to,
    _post_form,
    _reset_link,
    _sign_in,
    _sign_up,
)
from tests.conftest import csrf_from
from tests.factories import PASSWORD

COMMON = "This password is among the most commonly used; choose another"
EMAIL = "Your password must not be your email address; choose another"


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("password1", COMMON),
        ("Sunshine", COMMON),  # the list is compared ignoring case
        ("QWERTYUIOP", COMMON),
        ("iloveyou", COMMON),
        ("ana.perez@example.org", EMAIL),
        ("Ana.Perez", EMAIL),  # the part before the @
        ("seven77", "Password must be at least 8 characters"),
    ],
)
def test_sign_up_refuses_common_passwords_and_the_address(client, db, password, message):
    response = _sign_up(client, email="ana.perez@example.org", password=password, confirm=password)
    assert response.status_code == 200
    assert _error_next_to(response.get_data(as_text=True), "password") == message
    assert db.scalar(select(User).where(User.email == "ana.perez@example.org")) is None


@pytest.mark.parametrize(
    "password",
    [
        "eight ch",  # 8 characters, a space among them
        "Ünïcödé pässwörd ✓ 🦉",  # any Unicode
        "a long passphrase of many plain words " * 3,  # well over 64 characters
        "nocomposition",  # no rules about digits, cases or symbols
    ],
)
def test_sign_up_accepts_long_spaced_and_unicode_passwords(client, db, password):
    response = _sign_up(client, email="ana@example.org", password=password, confirm=password)
    assert response.status_code == 200
    assert "<h1>Check your email</h1>" in response.get_data(as_text=True)
    user = db.scalar(select(User).where(User.email == "ana@example.org"))
    user.email_verified_at = user.created_at
    db.flush()
    assert _sign_in(client, "ana@example.org", password).status_code == 302


def test_reset_and_change_refuse_common_passwords_and_the_address(client, make, db):
    make.user(email="kimberly.lee@example.org")
    _post_form(client, "/account/reset", {"email": "kimberly.lee@example.org"})
    link = _reset_link(db, "kimberly.lee@example.org")
    for password, message in (("baseball", COMMON), ("KIMBERLY.LEE", EMAIL)):
        token = csrf_from(client.get(link).get_data(as_text=True))
        response = client.post(
            link, data={"csrf_token": token, "password": password, "confirm": password}
        )
        assert response.status_code == 200
        assert _error_next_to(response.get_data(as_text=True), "password") == message

    _sign_in(client, "kimberly.lee@example.org")
    for password, message in (("football", COMMON), ("kimberly.lee@example.org", EMAIL)):
        response = _post_form(
            client,
            "/account/password",
            {"current_password": PASSWORD, "password": password, "confirm": password},
        )
        assert response.status_code == 200
        assert _error_next_to(response.get_data(as_text=True), "password") == message
    response = _post_form(
        client,
        "/account/password",
        {"current_password": PASSWORD, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
    )
    assert response.status_code == 302


def test_staff_cli_refuses_common_passwords_and_the_address(runner, db):
    for password, message in (
        ("trustno1", "the password is among the most commonly used"),
        ("HelpDesk", "the password must not be the email address"),
    ):
        result = runner.invoke(
            staff_cli,
            ["create", "helpdesk@city.example", "--name", "IT", "--role", "admin"]
            + ["--password", password],
        )
        assert result.exit_code != 0
        assert message in result.output
        assert db.scalar(select(User).where(User.email == "helpdesk@city.example")) is None


def test_password_hints_say_eight_characters(client):
    html = client.get("/account/sign-up").get_data(as_text=True)
    assert re.search(r"At least 8 characters\.", html)
