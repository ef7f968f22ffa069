"""The staff resident page, through HTTP: reached from the case page, what it joins (requests in
keyset pages, follows, programmes and attendance, survey answers, emails, account status), what
it must not show, who may open it (404 for anything else, no enumeration), bounded queries; and
in a browser: axe at 390 and 1280 px, English and Spanish."""

from __future__ import annotations

import hashlib
import re
import zlib
from datetime import timedelta
from pathlib import Path

import pytest

from portal.casework.views.residents import signed_key
from portal.mail_in.models import InboundMail
from portal.programmes.models import Attendance
from portal.requests.models import Follower
from tests.casework.test_related import NOW, _answer, make_town
from tests.conftest import sign_in

SECRET = "test-secret-key-that-is-long-enough-for-signing"  # the settings fixture's


@pytest.fixture(autouse=True)
def frozen(freeze_clock):
    freeze_clock(NOW)


@pytest.fixture
def town(make, db):
    return make_town(make, db)


def resident_url(client, case) -> str:
    """The resident page's address as the case page links to it."""
    html = client.get(f"/staff/cases/{case.reference}").get_data(as_text=True)
    return re.search(r'href="(/staff/residents/[^"]+)" data-resident-link', html).group(1)


def section(html: str, name: str) -> str:
    match = re.search(rf"data-resident-{name}>(.*?)</ul>", html, re.S)
    return match.group(1) if match else ""


def _mail(db, request, sender: str, subject: str) -> InboundMail:
    raw = f"From: {sender}\r\nSubject: {subject}\r\n\r\nHello\r\n".encode()
    mail = InboundMail(
        via="smtp",
        digest=hashlib.sha256(raw).hexdigest(),
        size=len(raw),
        raw_gz=zlib.compress(raw),
        from_address=sender.strip().lower(),  # as portal.mail_in.receive.accept stores it
        subject=subject,
        request_id=request.id,
        state="processed",
        outcome="comment",
    )
    db.add(mail)
    db.flush()
    return mail


def test_everything_about_the_resident_that_the_agent_may_see(app, client, make, db, town):
    water = make.request(category=town.leak, reporter_id=town.rita.id, description="Secret leak")
    followed = make.request(category=town.pothole, contact_email="sam@example.org")
    db.add(
        Follower(request_id=followed.id, email="rita@example.org", user_id=town.rita.id, token="f1")
    )
    water_followed = make.request(category=town.leak)
    db.add(Follower(request_id=water_followed.id, email="rita@example.org", token="f2"))
    programme = make.programme(title="Walk academy", sessions=3)
    enrolment = make.enrolment(programme, town.rita)
    sessions = sorted(programme.sessions, key=lambda s: s.starts_at)
    for s in sessions[:2]:
        s.starts_at -= timedelta(days=30)
    db.add(Attendance(session_id=sessions[0].id, enrolment_id=enrolment.id, present=True))
    db.add(Attendance(session_id=sessions[1].id, enrolment_id=enrolment.id, present=False))
    _answer(make, db, town.case, anonymous=False, comment="Quick work, thanks")
    done = make.request(category=town.pothole, reporter_id=town.rita.id, status="closed")
    _answer(make, db, done, anonymous=True, comment="Rude crew")
    _mail(db, town.case, "Rita@Example.org", "Re: the pothole")
    _mail(db, water, "rita@example.org", "Re: the leak")
    _mail(db, town.case, "someone@else.example", "Not hers")
    db.flush()

    sign_in(client, town.agent)
    url = resident_url(client, town.case)
    assert "rita" not in url.lower() and str(town.rita.id) != url.rsplit("/", 1)[1]
    html = client.get(url).get_data(as_text=True)
    assert "<h1" in html and "Rita Resident" in html
    assert "Active, email address confirmed" in html
    assert town.case.reference in section(html, "requests")
    assert done.reference in section(html, "requests")
    assert water.reference not in html and "Secret leak" not in html
    assert followed.reference in section(html, "follows")
    assert water_followed.reference not in html
    assert "Walk academy" in section(html, "programmes")
    assert "present at 1 of 2 sessions" in html and "1 marked absent" in html
    assert "Quick work, thanks" in section(html, "surveys")
    assert "Rude crew" not in html  # anonymous to staff: not for an agent
    assert "Re: the pothole" in section(html, "emails")
    assert "Re: the leak" not in html and "Not hers" not in html
    # Agents do not manage programmes: no link to the roster.
    assert f"/staff/programmes/{programme.id}/roster" not in html

    boss = app.test_client()
    sign_in(boss, town.boss)
    assert "Rude crew" in boss.get(url).get_data(as_text=True)
    admin = app.test_client()
    sign_in(admin, make.user(role="admin"))
    html = admin.get(url).get_data(as_text=True)
    assert water.reference in html and "Re: the leak" in html
    assert f"/staff/programmes/{programme.id}/roster" in html


def test_a_resident_without_an_account_by_a_signed_key(client, make, db, town):
    first = make.request(
        category=town.pothole, contact_email="sam@example.org", contact_name="Sam Street"
    )
    second = make.request(category=town.pothole, contact_email="sam@example.org")
    sign_in(client, town.agent)
    url = resident_url(client, second)
    assert "sam" not in url.lower()
    html = client.get(url).get_data(as_text=True)
    assert "No account: known by the email address on their requests" in html
    assert first.reference in html and second.reference in html
    assert "Programmes need an account" in html


def test_a_key_of_an_address_that_became_an_account_leads_to_the_account(client, make, db, town):
    earlier = make.request(category=town.pothole, contact_email="rita@example.org")
    sign_in(client, town.agent)
    response = client.get(f"/staff/residents/{signed_key(SECRET, 'r', earlier.id)}")
    assert response.status_code == 301
    assert response.headers["Location"].endswith(signed_key(SECRET, "u", town.rita.id))


def test_unknown_forged_and_forbidden_keys_are_404(app, client, make, db, town):
    sign_in(client, town.agent)
    for key in (
        signed_key(SECRET, "u", 999_999),  # no such account
        signed_key(SECRET, "r", 999_999),
        signed_key(SECRET, "x", town.rita.id),
        signed_key("another-secret-that-is-long-enough-to-sign", "u", town.rita.id),
        str(town.rita.id),
        "rita@example.org",
        "a" * 500,
    ):
        assert client.get(f"/staff/residents/{key}").status_code == 404, key
    # Only Water knows Sam: Streets' agent gets the same 404.
    water_only = make.request(category=town.leak, contact_email="sam@example.org")
    assert (
        client.get(f"/staff/residents/{signed_key(SECRET, 'r', water_only.id)}").status_code == 404
    )
    water = app.test_client()
    sign_in(water, town.water_agent)
    assert (
        water.get(f"/staff/residents/{signed_key(SECRET, 'r', water_only.id)}").status_code == 200
    )
    coordinator = app.test_client()
    sign_in(coordinator, make.user(role="coordinator"))
    key = signed_key(SECRET, "u", town.rita.id)
    assert coordinator.get(f"/staff/residents/{key}").status_code == 403
    resident = app.test_client()
    sign_in(resident, town.rita)
    assert resident.get(f"/staff/residents/{key}").status_code == 403
    assert app.test_client().get(f"/staff/residents/{key}").status_code == 302


def test_requests_in_keyset_pages_newest_first(client, make, db, town):
    made = [town.case]
    for n in range(30):
        made.append(
            make.request(
                category=town.pothole,
                reporter_id=town.rita.id,
                created_at=NOW + timedelta(minutes=n + 1),
            )
        )
    newest_first = [sr.reference for sr in reversed(made)]
    sign_in(client, town.agent)
    url = resident_url(client, town.case)
    html = client.get(url).get_data(as_text=True)
    page1 = re.findall(r'data-request="([^"]+)"', html)
    assert page1 == newest_first[:25]
    older = (
        re.search(r'href="([^"]+)" class="usa-pagination__link usa-pagination__next-page"', html)
        .group(1)
        .replace("&amp;", "&")
    )
    html = client.get(older).get_data(as_text=True)
    assert re.findall(r'data-request="([^"]+)"', html) == newest_first[25:]
    assert "usa-pagination__next-page" not in html
    newer = (
        re.search(
            r'href="([^"]+)" class="usa-pagination__link usa-pagination__previous-page"', html
        )
        .group(1)
        .replace("&amp;", "&")
    )
    html = client.get(newer).get_data(as_text=True)
    assert re.findall(r'data-request="([^"]+)"', html) == newest_first[:25]
    # A bad cursor is the first page, never an error.
    assert client.get(url + "?after=junk.1.2").status_code == 200


def test_in_spanish(client, make, db, town):
    town.agent.locale = "es"
    db.flush()
    sign_in(client, town.agent)
    html = client.get(resident_url(client, town.case) + "?lang=es").get_data(as_text=True)
    assert "Solicitudes" in html and "Respuestas a encuestas" in html
    assert "Correos recibidos" in html


def test_statements_do_not_grow_with_the_rows(app, client, make, db, town):
    from tests.app.test_query_counts import counting

    sign_in(client, town.agent)
    url = resident_url(client, town.case)

    def add(n: int) -> None:
        for _ in range(n):
            sr = make.request(category=town.pothole, reporter_id=town.rita.id, status="closed")
            _answer(make, db, sr, anonymous=False, comment="Fine")
            _mail(db, sr, "rita@example.org", f"Re: {sr.reference}")
            followed = make.request(category=town.pothole)
            db.add(
                Follower(
                    request_id=followed.id,
                    email="rita@example.org",
                    user_id=town.rita.id,
                    token=f"t{followed.id}",
                )
            )
            programme = make.programme(sessions=1)
            enrolment = make.enrolment(programme, town.rita)
            db.add(Attendance(session_id=programme.sessions[0].id, enrolment_id=enrolment.id))
        db.flush()

    def count() -> int:
        client.get(url)
        with counting(app) as statements:
            assert client.get(url).status_code == 200
        return len(statements)

    add(1)
    few = count()
    add(30)
    assert count() == few
    assert few <= 16, few


@pytest.mark.markup
@pytest.mark.browser
def test_the_page_is_accessible_in_english_and_spanish_at_390_and_1280(
    committed_app, live_server, chromium
):
    from tests.casework.test_browser import sign_in as browser_sign_in
    from tests.factories import Factories
    from tests.requests.test_browser_filing import axe_violations

    session = committed_app.extensions["portal.db"].session(write=True)
    make = Factories(session, committed_app.extensions["portal.settings"])
    town = make_town(make, session)
    town.agent.email = "agent@city.example"
    make.request(category=town.pothole, reporter_id=town.rita.id, status="closed")
    make.enrolment(make.programme(title="Walk academy", sessions=2), town.rita)
    _answer(make, session, town.case, anonymous=False, comment="Quick work, thanks")
    _mail(session, town.case, "rita@example.org", "Re: the pothole")
    session.commit()
    url = f"{live_server}/staff/residents/{signed_key(committed_app.secret_key, 'u', town.rita.id)}"
    reference = town.case.reference
    session.close()
    shots = Path(__file__).resolve().parents[1] / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    problems = {}
    for width in (390, 1280):
        phone = {"device_scale_factor": 2, "is_mobile": True, "has_touch": True}
        context = chromium.new_context(
            viewport={"width": width, "height": 900},
            bypass_csp=True,
            **(phone if width < 600 else {}),
        )
        page = context.new_page()
        browser_sign_in(page, live_server, "agent@city.example")
        for lang, heading in (("en", "Requests"), ("es", "Solicitudes")):
            page.goto(f"{url}?lang={lang}", wait_until="networkidle")
            assert page.locator("#requests-heading").inner_text() == heading
            page.locator("[data-resident-surveys] summary").first.click()  # open an answer
            found = axe_violations(page)
            if found:
                problems[(width, lang)] = found
            wide = page.evaluate("document.documentElement.scrollWidth")
            assert wide <= width, (width, lang, wide)
            page.screenshot(path=str(shots / f"resident-view-{lang}-{width}.png"), full_page=True)
        # From the case page's Related panel, one click.
        page.goto(f"{live_server}/staff/cases/{reference}")
        page.locator("[data-resident-link]").click()
        page.wait_for_load_state()
        assert page.url.startswith(f"{live_server}/staff/residents/")
        context.close()
    assert not problems, problems
