"""A follower's browser receives the push for a status change (issue 21), in Chromium at a
phone's 390x844 with the portal's real service worker (/sw.js importing js/sw-push.js).

The request's page shows "Turn on notifications on this device" (push.js); the subscription
goes to the portal through the page's own route with its CSRF token; a staff member changes the
status; the worker sends the push message to the push service on loopback
(tests/push_service.py), which checks the VAPID signature and decrypts the payload with the
browser's keys. Chromium headless can only subscribe through its own push service (FCM), so
the decrypted payload is handed to the page's service worker by the DevTools protocol
(ServiceWorker.deliverPushMessage), as the browser's push service would; the worker shows the
notification, in Spanish, and a click on it opens the request's page.
"""

from __future__ import annotations

import json
import time
from dataclasses import replace
from types import SimpleNamespace

import pytest

from portal.core import clock
from portal.core.senders import channel_sender
from portal.core.worker import deliver_outbox
from portal.requests.service import Filing, submit_request
from portal.staff.models import StaffMembership
from tests.auth.factories import PASSWORD
from tests.casework.test_case import act
from tests.conftest import sign_in
from tests.factories import INSIDE, Factories
from tests.push.test_push import PRIVATE, PUBLIC
from tests.push_service import Browser, PushService
from tests.requests.test_browser_filing import axe_violations

pytestmark = pytest.mark.browser

NOTIFICATIONS = """async () => {
  const registration = await navigator.serviceWorker.ready;
  return (await registration.getNotifications()).map(
    (n) => ({title: n.title, body: n.body, url: (n.data || {}).url}));
}"""

SUBSCRIBE = """async ([subscription, reference]) => {
  const box = document.querySelector("[data-push]");
  const response = await fetch(box.dataset.pushUrl, {
    method: "POST",
    credentials: "same-origin",
    headers: {"Content-Type": "application/json", "X-CSRFToken": box.dataset.pushCsrf},
    body: JSON.stringify(reference ? {subscription, request: reference} : {subscription}),
  });
  return response.status;
}"""


@pytest.fixture
def settings(settings):
    return replace(
        settings, vapid_private_key=PRIVATE, vapid_public_key=PUBLIC, push_allow_loopback_http=True
    )


@pytest.fixture
def case(committed_app):
    settings = committed_app.extensions["portal.settings"]
    session = committed_app.extensions["portal.db"].session(write=True)
    make = Factories(session, settings)
    streets = make.department(code="streets", name="Streets")
    make.area()
    make.category(
        code="pothole", name="Pothole", department=streets, translations={"es": {"name": "Bache"}}
    )
    agent = make.user(email="streets.agent@city.example", name="Streets agent", role="agent")
    session.add(StaffMembership(user_id=agent.id, department_id=streets.id, role="agent"))
    reference = submit_request(
        session,
        settings=settings,
        filing=Filing(
            category_code="pothole",
            description="A deep pothole by the school",
            address="8 Canal Street",
            lat=INSIDE[0],
            lon=INSIDE[1],
            contact_email="resident@example.org",
        ),
    ).request.reference
    session.commit()
    session.close()
    return SimpleNamespace(reference=reference, agent=agent)


def _registration_id(cdp, page, origin: str) -> str:
    found: list[dict] = []
    cdp.on("ServiceWorker.workerRegistrationUpdated", lambda e: found.extend(e["registrations"]))
    cdp.send("ServiceWorker.enable")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        for registration in found:
            if registration["scopeURL"] == f"{origin}/" and not registration["isDeleted"]:
                return registration["registrationId"]
        page.wait_for_timeout(100)
    raise AssertionError(f"no service worker registration for {origin}: {found}")


def _wait_for(page, script: str, *, seconds: float = 10):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = page.evaluate(script)
        if value:
            return value
        page.wait_for_timeout(100)
    return page.evaluate(script)


def test_a_followers_browser_shows_the_push_for_a_status_change(
    chromium, live_server, committed_app, case
):
    with PushService(PUBLIC) as service:
        context = chromium.new_context(
            viewport={"width": 390, "height": 844},
            device_scale_factor=2,
            is_mobile=True,
            has_touch=True,
            service_workers="allow",
            bypass_csp=True,  # axe-core is injected (test tooling)
        )
        context.grant_permissions(["notifications"], origin=live_server)
        page = context.new_page()
        page.goto(f"{live_server}/requests/{case.reference}?lang=es")
        page.evaluate("() => navigator.serviceWorker.ready")
        button = page.get_by_role(
            "button", name="Activar las notificaciones en este dispositivo", exact=True
        )
        button.wait_for(state="visible")
        assert axe_violations(page) == []
        # Pressed, the button asks the browser to subscribe; headless Chromium has no push
        # service of its own to subscribe with, and the page says so in the resident's words.
        button.click()
        page.wait_for_function("() => document.querySelector('[data-push-status]').textContent")
        assert page.locator("[data-push-status]").text_content() == (
            "No se pudieron activar las notificaciones. Inténtelo más tarde."
        )
        assert button.is_enabled()

        # What push.js sends once the browser has subscribed, with keys made as a browser does.
        subscription = service.subscribe(Browser())
        assert page.evaluate(SUBSCRIBE, [subscription, case.reference]) == 201

        staff = committed_app.test_client()
        sign_in(staff, case.agent)
        assert act(staff, case, "status", target="in_progress").status_code == 302
        db = committed_app.extensions["portal.db"]
        settings = committed_app.extensions["portal.settings"]
        stats = deliver_outbox(db, channel_sender(db, settings), now=clock.now(), max_attempts=3)
        assert stats.failed == 0
        [received] = service.received
        assert json.loads(received.text)["title"] == f"{case.reference} ahora está: En curso"

        cdp = context.new_cdp_session(page)
        registration_id = _registration_id(cdp, page, live_server)
        cdp.send(
            "ServiceWorker.deliverPushMessage",
            {"origin": live_server, "registrationId": registration_id, "data": received.text},
        )
        shown = _wait_for(page, NOTIFICATIONS)
        assert shown == [
            {
                "title": f"{case.reference} ahora está: En curso",
                "body": "Bache",
                "url": f"http://portal.test/requests/{case.reference}",
            }
        ]
        page.set_viewport_size({"width": 1280, "height": 900})
        page.goto(f"{live_server}/requests/{case.reference}?lang=en")
        page.get_by_role(
            "button", name="Turn on notifications on this device", exact=True
        ).wait_for()
        assert axe_violations(page) == []
        context.close()


@pytest.mark.parametrize(("language", "width"), [("es", 390), ("en", 1280)])
def test_the_account_lists_the_devices_and_removes_one(
    chromium, live_server, committed_app, language, width
):
    settings = committed_app.extensions["portal.settings"]
    session = committed_app.extensions["portal.db"].session(write=True)
    resident = Factories(session, settings).user(email="rosa@example.org", locale=language)
    session.commit()
    session.close()
    words = {
        "es": ("Activar las notificaciones en este dispositivo", "Quitar", "Eliminar"),
        "en": ("Turn on notifications on this device", "Remove", "Delete"),
    }[language]
    with PushService(PUBLIC) as service:
        context = chromium.new_context(
            viewport={"width": width, "height": 844},
            service_workers="allow",
            bypass_csp=True,  # axe-core is injected (test tooling)
        )
        page = context.new_page()
        page.goto(f"{live_server}/account/sign-in?lang={language}")
        page.locator("#email").fill(resident.email)
        page.locator("#password").fill(PASSWORD)
        with page.expect_navigation():
            page.locator("main button[type=submit]").click()
        page.goto(f"{live_server}/account")
        page.get_by_role("button", name=words[0], exact=True).wait_for()
        # Two devices, as push.js sends them (the account's own, no request).
        for _ in range(2):
            assert page.evaluate(SUBSCRIBE, [service.subscribe(Browser()), None]) == 201
        page.reload()
        devices = page.locator("[data-push-devices] > li")
        assert devices.count() == 2
        assert "HeadlessChrome" not in devices.first.text_content()
        assert axe_violations(page) == []

        devices.first.get_by_role("button", name=words[1]).click()
        dialog = page.get_by_role("alertdialog")
        dialog.wait_for()
        assert axe_violations(page) == []
        with page.expect_navigation():
            dialog.get_by_role("button", name=words[2], exact=True).click()
        assert page.locator("[data-push-devices] > li").count() == 1
        context.close()
