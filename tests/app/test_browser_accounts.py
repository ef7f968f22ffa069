"""The pages issue 17 added, in a real browser at a phone's width, checked with axe in English
and Spanish: sign-up's "check your email", an unconfirmed account, filing blocked until it is
confirmed, the personal-details warning, a sign-in wait, and the data-rights pages."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.auth.factories import PASSWORD
from tests.factories import Factories
from tests.requests.test_browser_filing import axe_violations

pytestmark = pytest.mark.browser


@pytest.fixture
def people(committed_app):
    db = committed_app.extensions["portal.db"]
    session = db.session(write=True)
    make = Factories(session, committed_app.extensions["portal.settings"])
    make.area(name="Old Town", code="old-town")
    make.category(code="pothole", name="Pothole")
    make.user(email="new@example.org", email_verified_at=None)
    make.user(email="kim@example.org")
    session.commit()
    session.close()


@pytest.mark.markup
@pytest.mark.parametrize("language", ["en", "es"])
def test_new_account_and_privacy_pages_meet_wcag_aa(audited_phone, live_server, people, language):
    page = audited_phone
    seen: dict[str, list[str]] = {}

    def check(name: str) -> None:
        page.wait_for_load_state()
        assert page.locator("html").get_attribute("lang") == language, name
        seen[name] = axe_violations(page)

    def signed_out() -> None:  # a new visitor in the same language
        page.context.clear_cookies()
        page.goto(f"{live_server}/?lang={language}")

    def submit(button: str = "main form button[type=submit]") -> None:
        """Send the form and wait for the answer (the next step starts from it)."""
        with page.expect_navigation():
            page.locator(button).click()

    def sign_in(email: str, password: str = PASSWORD) -> None:
        page.goto(f"{live_server}/account/sign-in")
        page.locator("#email").fill(email)
        page.locator("#password").fill(password)
        submit()

    signed_out()

    # Sign-up answers "check your email" whether or not the address has an account.
    page.goto(f"{live_server}/account/sign-up")
    page.locator("#name").fill("Ana Resident")
    page.locator("#email").fill("kim@example.org")
    page.locator("#password").fill("a long and unusual passphrase")
    page.locator("#confirm").fill("a long and unusual passphrase")
    submit()
    expect(page.locator("#confirm")).to_have_count(0)  # the "check your email" page
    check("sign-up sent")

    # An unconfirmed account: the account page says so; filing explains how to confirm.
    sign_in("new@example.org")
    page.goto(f"{live_server}/account")
    assert page.locator("form[action$='/account/confirm']").count() == 1
    check("account, unconfirmed")
    page.goto(f"{live_server}/report/")
    assert page.locator("a[href$='/account']").count() >= 1
    check("filing, unconfirmed")
    signed_out()

    # Anonymous filing with an email address in a public description gets the warning.
    page.goto(f"{live_server}/report/?category=pothole")
    page.locator("#description").fill("Call me on 555-867-5309 or ana.r@example.net")
    submit("form.usa-form button[type=submit]")
    page.locator("#address").fill("12 Mill Street")
    submit("form.usa-form button[type=submit]")
    submit("button[value=continue]")  # no photos
    submit("form.usa-form button[type=submit]")  # no contact
    page.wait_for_url(re.compile("/report/check"))
    assert page.locator("#personal-details").is_visible()
    check("check, personal details")

    # The data-rights pages, and a refused deletion.
    sign_in("kim@example.org")
    page.goto(f"{live_server}/account")
    check("account")
    page.goto(f"{live_server}/account/download")
    check("download")
    page.goto(f"{live_server}/account/delete")
    check("delete")
    page.locator("#password").fill("not my password")
    submit()
    expect(page.locator(".usa-error-message").first).to_be_visible()
    check("delete, errors")
    page.goto(f"{live_server}/account/download/not-a-real-link")
    check("download link problem")
    signed_out()

    # Wrong passwords for one address: after the free ones, a wait is asked for.
    for _ in range(6):
        sign_in("kim@example.org", "wrong password")
    expect(page.locator("main .usa-error-message").first).to_contain_text(
        re.compile(r"\b[1-9] min")
    )
    check("sign-in, waiting")

    problems = {name: found for name, found in seen.items() if found}
    assert not problems, problems
