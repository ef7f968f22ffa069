"""The admins' mail page: every inbound message newest first, parked and unplaced ones above,
filters, keyset pages, and processing a parked message again (POST with CSRF)."""

from __future__ import annotations

import hashlib
import re
import zlib
from datetime import timedelta

import pytest

from portal.core import clock
from portal.mail_in.models import InboundMail
from portal.requests.models import Event
from tests.conftest import csrf_from, sign_in
from tests.mail_in.conftest import message


def _stored(db, raw: str | bytes, **fields) -> InboundMail:
    data = raw.encode() if isinstance(raw, str) else raw
    values = {
        "via": "smtp",
        "state": "processed",
        "outcome": "comment",
        "subject": "Hola",
        "from_address": "ana@example.org",
        "envelope_from": "ana@example.org",
        "received_at": clock.now(),
    }
    values.update(fields)
    mail = InboundMail(
        digest=hashlib.sha256(data).hexdigest(),
        size=len(data),
        raw_gz=zlib.compress(data),
        **values,
    )
    db.add(mail)
    db.flush()
    return mail


def _admin(client, make) -> None:
    sign_in(client, make.user(role="admin"))


def _ids(html: str, prefix: str = "") -> list[int]:
    return [int(n) for n in re.findall(rf'<tr id="{prefix}mail-(\d+)"', html)]


def test_parked_and_unplaced_come_first_then_everything_newest_first(client, make, db):
    done = _stored(db, "a", subject="Done <b>bold</b>")
    parked = _stored(db, "b", state="parked", outcome="parked", subject="Stuck")
    unmatched = _stored(db, "c", outcome="unmatched", subject="Nobody's")
    _admin(client, make)

    html = client.get("/staff/admin/mail/").get_data(as_text=True)

    assert _ids(html, "parked-") == [parked.id]
    assert _ids(html, "unplaced-") == [unmatched.id]
    assert _ids(html) == [unmatched.id, parked.id, done.id]
    assert "Done &lt;b&gt;bold&lt;/b&gt;" in html  # escaped
    assert f'href="/staff/emails/{done.id}"' in html  # the stored original
    assert html.count("Process again") == 2  # the parked row, in both lists


def test_filters_and_keyset_pages(client, make, db):
    mails = [_stored(db, f"m{n}", outcome="bounce") for n in range(55)]
    _stored(db, "other", outcome="comment")
    _admin(client, make)

    first = client.get("/staff/admin/mail/?outcome=bounce").get_data(as_text=True)
    assert "Needs a person" not in first  # a filtered list has no attention part
    assert _ids(first) == [m.id for m in reversed(mails)][:50]
    older = re.search(r'href="([^"]+after=[^"]+)"', first).group(1).replace("&amp;", "&")
    second = client.get(older).get_data(as_text=True)
    assert _ids(second) == [m.id for m in reversed(mails)][50:]
    newer = re.search(r'href="([^"]+before=[^"]+)"', second).group(1).replace("&amp;", "&")
    assert _ids(client.get(newer).get_data(as_text=True)) == _ids(first)

    bad = client.get("/staff/admin/mail/?state=nonsense&after=zzz")
    assert bad.status_code == 200
    assert "Not a valid choice" in bad.get_data(as_text=True)


def test_process_again_puts_a_parked_reply_on_its_case(
    client, make, db, mail_settings, token_address
):
    sr = make.request(contact_email="ana@example.org", status="in_progress")
    raw = message(to=token_address(sr.id), body="Sigue ahí.", message_id="<again@example.org>")
    parked = _stored(
        db,
        raw.replace("\n", "\r\n") if "\r\n" not in raw else raw,
        state="parked",
        outcome="parked",
        attempts=5,
        last_error="OperationalError: database is locked",
        envelope_to=token_address(sr.id),
    )
    _admin(client, make)
    page = client.get("/staff/admin/mail/").get_data(as_text=True)

    response = client.post(
        f"/staff/admin/mail/{parked.id}/process",
        data={"csrf_token": csrf_from(page), "next": "/staff/admin/mail/?state=parked"},
    )

    assert response.status_code == 302
    assert response.headers["Location"].endswith(
        f"/staff/admin/mail/?state=parked#mail-{parked.id}"
    )
    db.expire_all()
    assert (parked.state, parked.outcome, parked.request_id) == ("processed", "comment", sr.id)
    comment = db.query(Event).filter_by(request_id=sr.id, kind="comment").one()
    assert comment.body == "Sigue ahí."
    shown = client.get("/staff/admin/mail/").get_data(as_text=True)
    assert "Processed again: Comment from the resident." in shown

    again = client.post(
        f"/staff/admin/mail/{parked.id}/process", data={"csrf_token": csrf_from(shown)}
    )
    assert again.status_code == 302
    assert "nothing to process again" in client.get("/staff/admin/mail/").get_data(as_text=True)


def test_process_again_needs_the_csrf_token_and_a_real_message(client, make, db):
    parked = _stored(db, "p", state="parked", outcome="parked")
    _admin(client, make)
    assert client.post(f"/staff/admin/mail/{parked.id}/process").status_code == 400
    token = csrf_from(client.get("/staff/admin/mail/").get_data(as_text=True))
    missing = client.post("/staff/admin/mail/999999/process", data={"csrf_token": token})
    assert missing.status_code == 404
    db.expire_all()
    assert parked.state == "parked"


def test_the_page_is_in_spanish(client, make, db):
    _stored(db, "x", state="parked", outcome="parked", received_at=clock.now() - timedelta(1))
    _admin(client, make)
    html = client.get("/staff/admin/mail/?lang=es").get_data(as_text=True)
    assert "Correo recibido" in html
    assert "Procesar de nuevo" in html


@pytest.mark.markup
@pytest.mark.browser
def test_the_page_is_accessible_in_english_and_spanish_on_a_phone(
    committed_app, live_server, audited_phone
):
    from tests.casework.test_browser import sign_in as browser_sign_in
    from tests.factories import Factories
    from tests.requests.test_browser_filing import axe_violations

    session = committed_app.extensions["portal.db"].session(write=True)
    make = Factories(session, committed_app.extensions["portal.settings"])
    make.user(role="admin", email="ada@city.example")
    sr = make.request(contact_email="ana@example.org")
    _stored(session, "1", state="parked", outcome="parked", last_error="RuntimeError: boom")
    _stored(session, "2", outcome="unmatched", subject="¿Quién?")
    _stored(session, "3", outcome="comment", request_id=sr.id, subject="Re: bache")
    session.commit()
    session.close()
    page = audited_phone
    browser_sign_in(page, live_server, "ada@city.example")
    problems = {}
    for lang, heading in (("en", "Inbound mail"), ("es", "Correo recibido")):
        page.goto(f"{live_server}/staff/admin/mail/?lang={lang}")
        assert page.locator("h1").inner_text() == heading
        found = axe_violations(page)
        if found:
            problems[lang] = found
    assert not problems, problems
    page.get_by_role("button", name="Procesar de nuevo").first.click()
    page.wait_for_load_state()
    assert page.locator(".usa-alert").count() == 1
