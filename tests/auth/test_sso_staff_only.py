"""Staff who sign in only through the provider (``PORTAL_SSO_STAFF_ONLY``): their invitation
points at the provider's button instead of a password link, and "Forgotten your password?"
emails them the same pointer, while the page answers as for any address (no enumeration).
Mail goes through the outbox to the suite's SMTP sink."""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy import select

from portal.core import clock
from portal.core.outbox import OutboxMessage
from portal.core.senders import SmtpSender
from portal.core.worker import deliver_outbox
from tests.auth.test_sso import person, provider, sso_sign_in  # noqa: F401 - the fixture
from tests.conftest import csrf_from
from tests.smtp import body_html, body_text


@pytest.fixture
def settings(settings, provider):  # noqa: F811
    return replace(
        settings,
        sso_issuer=provider,
        sso_client_id="springfield-portal",
        sso_client_secret="client-secret-from-the-environment",
        sso_label="Springfield ID",
        sso_staff_only=True,
    )


def deliver(app, settings, smtp) -> None:
    before = len(smtp.messages)
    stats = deliver_outbox(
        app.extensions["portal.db"], SmtpSender(settings), now=clock.now(), max_attempts=3
    )
    smtp.wait_for(before + stats.sent)


def test_an_invited_member_is_told_to_use_the_providers_button(
    app,
    client,
    make,
    db,
    settings,
    smtp,
    provider,  # noqa: F811
):
    roads = make.department(code="roads")
    make.staff(roads, role="admin", email="ada@springfield.example")
    assert sso_sign_in(client, person(provider, "ada@springfield.example")).status_code == 302
    page = client.get("/staff/admin/staff/new").get_data(as_text=True)
    response = client.post(
        "/staff/admin/staff/new",
        data={
            "csrf_token": csrf_from(page),
            "email": "nia@springfield.example",
            "name": "Nia Agent",
            "role": "agent",
            f"dept_{roads.id}": "agent",
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    deliver(app, settings, smtp)
    [mail] = smtp.to("nia@springfield.example")
    text, html = body_text(mail), body_html(mail)
    for body in (text, html):
        assert "City staff do not use a password here" in body
        assert "Sign in with Springfield ID" in body
        assert "http://portal.test/account/sign-in" in body
        assert "/account/reset" not in body and "choose your password" not in body.lower()


def test_a_staff_reset_sends_a_pointer_and_the_page_says_nothing_more(
    app, client, make, db, settings, smtp
):
    make.staff(make.department(name="Roads"), email="kim@springfield.example")
    make.user(email="resident@example.org")
    page = client.get("/account/reset").get_data(as_text=True)
    assert "City staff have no password here" in page
    answers = []
    for email in ("kim@springfield.example", "resident@example.org", "nobody@example.org"):
        response = client.post(
            "/account/reset", data={"csrf_token": csrf_from(page), "email": email}
        )
        assert response.status_code == 200
        answers.append(response.get_data(as_text=True))
    # The same page for a staff address, a resident's and an unknown one.
    assert answers[0] == answers[1] == answers[2]
    assert "If an account exists for that address" in answers[0]
    deliver(app, settings, smtp)
    [staff_mail] = smtp.to("kim@springfield.example")
    assert staff_mail["Subject"] == "Signing in to Riverton 311"
    for body in (body_text(staff_mail), body_html(staff_mail)):
        assert "City staff do not use a password here" in body
        assert "Sign in with Springfield ID" in body
        assert "http://portal.test/account/sign-in" in body
        assert "/account/reset/" not in body
    # Residents keep their passwords: theirs is the usual link.
    [resident_mail] = smtp.to("resident@example.org")
    assert "/account/reset/" in body_text(resident_mail)
    assert smtp.to("nobody@example.org") == []
    kinds = db.scalars(select(OutboxMessage.kind).order_by(OutboxMessage.id)).all()
    assert kinds[-2:] == ["password_reset_sso", "password_reset"]


def test_a_reset_link_from_before_is_no_way_round(client, make, db, settings):
    """A link sent before staff passwords were switched off shows the provider's button and
    sets no password."""
    from portal.auth.service import make_reset_token

    kim = make.staff(make.department(name="Roads"), email="kim@springfield.example")
    before = kim.password_hash
    link = f"/account/reset/{make_reset_token(replace(settings, sso_staff_only=False), kim)}"
    page = client.get(link)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "City staff sign in through the city" in html and "Sign in with Springfield ID" in html
    assert 'name="password"' not in html
    token = csrf_from(client.get("/account/sign-in").get_data(as_text=True))
    password = "a long enough password"
    response = client.post(
        link, data={"csrf_token": token, "password": password, "confirm": password}
    )
    assert response.status_code == 200
    db.refresh(kim)
    assert kim.password_hash == before
