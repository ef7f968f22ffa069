"""Sign-up never tells whether an address has an account; new accounts confirm their address
from an emailed link before they can file or follow."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from portal.auth.models import User
from portal.auth.service import email_verified
from portal.core import clock
from portal.core.outbox import OutboxMessage
from portal.core.senders import SmtpSender
from portal.core.worker import deliver_outbox
from tests.auth.test_auth import (
    NEW_PASSWORD,
    _post_form,
    _reset_link,
    _sign_in,
    _sign_up,
    _signed_in,
)
from tests.conftest import csrf_from
from tests.smtp import body_html, body_text

START = datetime(2026, 11, 2, 15, 0, tzinfo=UTC)
CONFIRM_RE = re.compile(r"http://portal\.test(/account/confirm/\S+)")


def _deliver(app, settings, smtp) -> None:
    before = len(smtp.messages)
    stats = deliver_outbox(
        app.extensions["portal.db"], SmtpSender(settings), now=clock.now(), max_attempts=3
    )
    smtp.wait_for(before + stats.sent)


def _confirm_link(db, email: str) -> str:
    message = db.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.to_address == email, OutboxMessage.kind == "confirm_email")
        .order_by(OutboxMessage.id.desc())
    ).first()
    assert message is not None, "no confirmation email queued"
    return CONFIRM_RE.search(message.body_text).group(1)


# --- Sign-up with an address that already has an account -------------------------------------


def test_sign_up_with_a_taken_address_looks_like_a_new_one_and_emails_the_owner(
    app, client, make, db, settings, smtp
):
    owner = make.user(email="taken@example.org", name="Tam Owner", phone="555 010 0100")
    before = (owner.name, owner.phone, owner.password_hash, owner.session_version, owner.locale)

    new = _sign_up(app.test_client(), email="fresh@example.org")
    taken = _sign_up(client, email="Taken@Example.org", name="Someone Else", locale="es")

    assert new.status_code == taken.status_code == 200
    assert new.get_data(as_text=True).replace("fresh@", "X@") == taken.get_data(
        as_text=True
    ).replace("taken@", "X@")
    assert "<h1>Check your email</h1>" in taken.get_data(as_text=True)
    assert not _signed_in(client)

    db.refresh(owner)
    assert (owner.name, owner.phone, owner.password_hash, owner.session_version, owner.locale) == (
        before
    )
    assert len(db.scalars(select(User).where(User.email == "taken@example.org")).all()) == 1

    _deliver(app, settings, smtp)
    [mail] = smtp.to("taken@example.org")
    assert mail["Subject"] == "Someone tried to create a Riverton 311 account with your address"
    text = body_text(mail)
    assert "you already have an account with this address" in text
    assert "http://portal.test/account/sign-in" in text
    assert "http://portal.test/account/reset" in body_html(mail)
    assert "/account/confirm/" not in text  # nothing that would change the account

    # Repeats within the hour do not flood the owner.
    _sign_up(client, email="taken@example.org")
    kinds = db.scalars(select(OutboxMessage.kind).where(OutboxMessage.to_address == owner.email))
    assert kinds.all() == ["account_exists"]


# --- Confirming the address -------------------------------------------------------------------


def test_sign_up_link_confirms_the_address_and_signs_in_once(app, client, db, settings, smtp):
    _sign_up(client, email="ana@example.org")
    user = db.scalar(select(User).where(User.email == "ana@example.org"))
    assert user.email_verified_at is None and not email_verified(user)

    _deliver(app, settings, smtp)
    [mail] = smtp.to("ana@example.org")
    assert mail["Subject"] == "Welcome to Riverton 311: confirm your email address"
    link = CONFIRM_RE.search(body_text(mail)).group(1)
    assert link in body_html(mail)
    assert "The link works for 3 days." in body_text(mail)

    response = client.get(link)
    assert response.status_code == 302
    assert response.headers["Location"] == "/account"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    db.refresh(user)
    assert user.email_verified_at is not None and email_verified(user)
    page = client.get("/account").get_data(as_text=True)
    assert "Your email address is confirmed." in page
    assert "Send the link again" not in page

    # A second use changes nothing and signs nobody in.
    confirmed_at = user.email_verified_at
    other = app.test_client()
    response = other.get(link)
    assert response.status_code == 302
    assert response.headers["Location"] == "/account/sign-in"
    assert not _signed_in(other)
    db.refresh(user)
    assert user.email_verified_at == confirmed_at


def test_unconfirmed_account_can_sign_in_and_send_the_link_again(
    app, client, make, db, settings, smtp, freeze_clock
):
    freeze_clock(START)
    user = make.user(email="lee@example.org", email_verified_at=None)
    _sign_in(client, "lee@example.org")
    page = client.get("/account").get_data(as_text=True)
    assert "usa-alert--warning" in page and "Confirm your email address" in page
    assert 'action="/account/confirm"' in page

    assert client.post("/account/confirm").status_code == 400  # no CSRF token
    response = _post_form(client, "/account/confirm", {}, page="/account")
    assert response.status_code == 302
    assert "We have sent a new link to lee@example.org" in client.get("/account").get_data(
        as_text=True
    )
    # Pressing again at once queues nothing more.
    _post_form(client, "/account/confirm", {}, page="/account")
    _deliver(app, settings, smtp)
    [mail] = smtp.to("lee@example.org")
    assert mail["Subject"] == "Confirm your email address for Riverton 311"

    link = CONFIRM_RE.search(body_text(mail)).group(1)
    assert client.get(link).status_code == 302
    db.refresh(user)
    assert email_verified(user)


def test_a_link_expires_after_three_days(client, db, freeze_clock):
    freeze_clock(START)
    _sign_up(client, email="ana@example.org")
    link = _confirm_link(db, "ana@example.org")
    freeze_clock(START + timedelta(days=3, minutes=1))
    response = client.get(link)
    assert response.status_code == 400
    assert "This link has expired" in response.get_data(as_text=True)
    user = db.scalar(select(User).where(User.email == "ana@example.org"))
    assert user.email_verified_at is None


def test_a_link_for_an_old_address_does_not_confirm_a_new_one(client, db):
    _sign_up(client, email="ana@example.org")
    link = _confirm_link(db, "ana@example.org")
    user = db.scalar(select(User).where(User.email == "ana@example.org"))
    user.email = "ana.new@example.org"
    db.flush()
    response = client.get(link)
    assert response.status_code == 400
    assert "This link no longer works" in response.get_data(as_text=True)
    db.refresh(user)
    assert user.email_verified_at is None
    for bad in (link[:-3] + "abc", "/account/confirm/nonsense"):
        assert client.get(bad).status_code == 400


def test_a_password_reset_by_emailed_link_confirms_the_address(client, make, db):
    user = make.user(email="kim@example.org", email_verified_at=None)
    _post_form(client, "/account/reset", {"email": "kim@example.org"})
    link = _reset_link(db, "kim@example.org")
    token = csrf_from(client.get(link).get_data(as_text=True))
    response = client.post(
        link, data={"csrf_token": token, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    )
    assert response.status_code == 302
    db.refresh(user)
    assert email_verified(user)
