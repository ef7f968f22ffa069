"""The webhooks admin pages in a real browser (Debian's chromium): an admin registers a
receiver on loopback and sends a test event with JavaScript off; every page passes axe
(WCAG 2.2 A/AA) at a phone's width, in English and Spanish."""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy import select
from standardwebhooks import Webhook

from portal.core import clock
from portal.webhooks.models import WebhookEndpoint
from tests.auth.factories import PASSWORD
from tests.casework.test_browser import sign_in
from tests.factories import Factories
from tests.requests.test_browser_filing import axe_violations
from tests.webhook_receiver import LOOPBACK, WebhookReceiver
from tests.webhooks.conftest import deliver

pytestmark = pytest.mark.browser


@pytest.fixture
def settings(settings):
    return replace(settings, outbound_allowed_networks=LOOPBACK, webhook_timeout=2)


@pytest.fixture
def admin(committed_app):
    session = committed_app.extensions["portal.db"].session(write=True)
    make = Factories(session, committed_app.extensions["portal.settings"])
    make.user(email="admin@city.example", role="admin")
    session.commit()
    session.close()


def test_an_admin_registers_a_receiver_and_sends_a_test_event_without_javascript(
    chromium, live_server, admin, committed_app, settings
):
    context = chromium.new_context(
        viewport={"width": 320, "height": 800}, java_script_enabled=False
    )
    page = context.new_page()
    with WebhookReceiver() as receiver:
        try:
            sign_in(page, live_server, "admin@city.example")
            page.goto(f"{live_server}/staff/webhooks/")
            page.get_by_role("link", name="Add an endpoint").click()
            page.get_by_label("Endpoint URL").fill(receiver.url)
            page.get_by_label("Description").fill("Works management")
            page.get_by_text("A request's status changes").click()  # the label, as people do
            page.get_by_role("button", name="Add the endpoint").click()
            secret = page.locator("#webhook-secret").input_value()
            assert secret.startswith("whsec_")
            page.get_by_role("link", name="Done").click()
            page.get_by_role("button", name="Send test event").click()
            assert "A test event is on its way" in page.content()
            assert deliver(committed_app, settings).sent == 1
            page.reload()
            row = page.locator("tr[id^=delivery-]").first
            assert "Delivered" in row.text_content() and "HTTP 204" in row.text_content()
        finally:
            context.close()
    [received] = receiver.received
    assert Webhook(secret).verify(received.body, received.headers)["type"] == "webhook.test"


@pytest.mark.markup
@pytest.mark.parametrize("language", ["en", "es"])
def test_the_webhooks_pages_meet_wcag_aa(
    audited_phone, live_server, admin, committed_app, language
):
    from portal.webhooks import service

    db = committed_app.extensions["portal.db"]
    with db.transaction() as session:
        endpoint = service.create_endpoint(
            session,
            settings=committed_app.extensions["portal.settings"],
            url="https://hooks.example.com/" + "portal/" * 20 + "webhooks",
            description="Works management",
            event_types=["request.created", "task.done"],
            by=None,
            now=clock.now(),
        )
        delivery = service.send_test(session, endpoint, now=clock.now())
        delivery.state, delivery.attempts, delivery.last_status = "failed", 8, 500
        delivery.last_error = "HTTP 500 Internal Server Error"
        service.send_test(session, endpoint, now=clock.now())
        endpoint_id = endpoint.id
    page = audited_phone
    page.goto(f"{live_server}/account/sign-in?lang={language}")
    page.locator("#email").fill("admin@city.example")
    page.locator("#password").fill(PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_load_state()
    seen = {}
    for name, path in [
        ("list", "/staff/webhooks/"),
        ("new", "/staff/webhooks/new"),
        ("endpoint", f"/staff/webhooks/{endpoint_id}"),
        ("edit", f"/staff/webhooks/{endpoint_id}/edit"),
        ("rotate", f"/staff/webhooks/{endpoint_id}/rotate"),
    ]:
        page.goto(f"{live_server}{path}")
        assert page.locator("html").get_attribute("lang") == language
        seen[name] = axe_violations(page)
        # At 320 px nothing scrolls sideways but a table's own region.
        page.set_viewport_size({"width": 320, "height": 800})
        assert page.evaluate("document.scrollingElement.scrollWidth") <= 320, (name, language)
        page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server}/staff/webhooks/new")
    page.locator("main form button[type=submit]").click()
    page.wait_for_load_state()
    assert page.locator("#error-summary").count() == 1
    seen["errors"] = axe_violations(page)
    page.goto(f"{live_server}/staff/webhooks/{endpoint_id}")
    page.locator("form[action$='/secret'] button").click()
    page.wait_for_load_state()
    seen["secret"] = axe_violations(page)
    assert {name: found for name, found in seen.items() if found} == {}
    with db.transaction() as session:
        assert session.scalar(select(WebhookEndpoint.id)) == endpoint_id
