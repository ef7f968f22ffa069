"""Single sign-on in a real browser (issue 24): a staff member clicks "Sign in with Riverton
ID" on the sign-in page, signs in at the OpenID Connect provider running on loopback, and
lands on the staff home signed in; signing out goes through the provider's logout and back.
The sign-in page with the button is checked with axe in English and Spanish."""

from __future__ import annotations

import re
import socket
import threading
from collections.abc import Iterator
from dataclasses import replace

import pytest
from playwright.sync_api import expect
from werkzeug.serving import make_server

from portal import create_app
from tests.auth.test_sso import person, provider  # noqa: F401 - the provider fixture
from tests.conftest import truncate_all
from tests.factories import Factories
from tests.requests.test_browser_filing import axe_violations

pytestmark = pytest.mark.browser


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def sso_server(settings, provider) -> Iterator[tuple[str, Factories]]:  # noqa: F811
    """The portal on loopback, committing, with single sign-on at the loopback provider (its
    base URL is its own address: the provider sends the browser back there)."""
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    app = create_app(
        replace(
            settings,
            base_url=base,
            sso_issuer=provider,
            sso_client_id="riverton-portal",
            sso_client_secret="client-secret-from-the-environment",
            sso_label="Riverton ID",
        )
    )
    db = app.extensions["portal.db"]
    session = db.session(write=True)
    make = Factories(session, app.extensions["portal.settings"])
    make.staff(make.department(name="Roads"), role="agent", email="kim.lee@riverton.example")
    session.commit()
    session.close()
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield base, make
    finally:
        server.shutdown()
        thread.join(5)
        truncate_all(db)
        db.dispose()


@pytest.fixture
def desk(chromium):
    """A page at a desk's viewport, under the portal's own Content-Security-Policy (its
    form-action lets sign-out go on to the provider's logout)."""
    context = chromium.new_context(viewport={"width": 1280, "height": 800})
    yield context.new_page()
    context.close()


def test_a_staff_member_signs_in_through_the_provider(desk, sso_server, provider):  # noqa: F811
    base, _ = sso_server
    sub = person(provider, "kim.lee@riverton.example")
    page = desk
    page.goto(f"{base}/account/sign-in")
    with page.expect_navigation():
        page.get_by_role("link", name="Sign in with Riverton ID").click()
    assert page.url.startswith(f"{provider}/oauth2/authorize")
    page.locator("input[name=sub]").fill(sub)
    with page.expect_navigation(url=re.compile(re.escape(f"{base}/staff/"))):
        page.get_by_role("button", name="Authorize").click()
    expect(page.locator("form[action$='/account/sign-out'] button")).to_have_count(1)
    assert page.url == f"{base}/staff/"

    # Signing out ends the provider's session too, then comes back to the portal's home.
    with page.expect_navigation():
        page.locator("form[action$='/account/sign-out'] button:visible").click()
    assert page.url.startswith(f"{provider}/oauth2/end_session")
    page.get_by_role("button", name="End session").click()
    page.wait_for_url(f"{base}/")
    page.goto(f"{base}/staff/")
    assert "/account/sign-in" in page.url


@pytest.mark.markup
@pytest.mark.parametrize("language", ["en", "es"])
def test_the_sign_in_page_with_the_button_meets_wcag_aa(audited_phone, sso_server, language):
    base, _ = sso_server
    page = audited_phone
    page.goto(f"{base}/account/sign-in?lang={language}")
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == language
    assert page.locator("#sso-sign-in").count() == 1
    assert axe_violations(page) == []
    # The page where a refusal is explained (here: an answer that matches no sign-in).
    page.goto(f"{base}/account/sso/callback?code=x&state=y")
    page.wait_for_load_state()
    assert page.locator("h1").count() == 1
    assert axe_violations(page) == []
