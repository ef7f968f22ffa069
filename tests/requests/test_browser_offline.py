"""A report written with the network off, on a phone, is sent once when it returns (issue 21)."""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from portal.catalogue.models import ServiceCategory
from portal.core.idempotency import IdempotencyKey
from portal.requests.models import RequestPhoto, ServiceRequest
from tests.factories import INSIDE, OUTSIDE, PASSWORD, Factories
from tests.requests.test_browser_filing import axe_violations, city, photo_file  # noqa: F401

# The city of the wizard's browser tests: Old Town and "Pothole" with its size question.
pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("city")]

WHERE = {"latitude": INSIDE[0], "longitude": INSIDE[1], "accuracy": 12}


def counted(app, model) -> int:
    session = app.extensions["portal.db"].session()
    try:
        return session.scalar(select(func.count()).select_from(model))
    finally:
        session.close()


def context(chromium, *, width=390, height=844, **options):
    return chromium.new_context(
        viewport={"width": width, "height": height},
        device_scale_factor=2,
        is_mobile=width < 600,
        has_touch=width < 600,
        geolocation=WHERE,
        permissions=["geolocation"],
        **options,
    )


def write_report(page, tmp_path, description="Deep pothole by the bus stop"):
    page.get_by_label("What is the problem?").select_option(label="Pothole")
    page.get_by_text("Larger than a plate").click()
    page.get_by_label("Describe the problem").fill(description)
    page.get_by_role("button", name="Use my position").click()
    expect(page.locator("#offline-position")).to_contain_text("Your position is noted")
    page.locator("#offline-photos").set_input_files(str(photo_file(tmp_path)))
    page.get_by_label("Email address").fill("ana@example.org")
    page.get_by_role("button", name="Send report").click()


def test_written_offline_sent_once_when_the_network_returns(
    chromium, live_server, committed_app, tmp_path
):
    ctx = context(chromium)
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    posts: list[str] = []
    page.on(
        "request",
        lambda r: (
            posts.append(r.headers.get("idempotency-key", ""))
            if r.method == "POST" and r.url.endswith("/report/offline-submit")
            else None
        ),
    )
    page.goto(f"{live_server}/report/offline")
    ctx.set_offline(True)
    write_report(page, tmp_path)

    status = page.locator("[data-offline-status-text]")
    expect(status).to_contain_text("No connection: your report is kept on this device")
    waiting = page.get_by_role("region", name="Waiting to send")
    expect(waiting).to_be_visible()
    expect(waiting.locator("[data-offline-report]")).to_have_count(1)
    expect(waiting).to_contain_text("Pothole")
    expect(waiting).to_contain_text("Deep pothole by the bus stop")
    assert counted(committed_app, ServiceRequest) == 0
    page.screenshot(path="tests/screenshots/offline-waiting-390.png", full_page=True)

    ctx.set_offline(False)
    expect(status).to_contain_text(re.compile(r"Sent\. Your reference is SR-\d{4}-\d{6}\."))
    expect(waiting).to_be_hidden()
    session = committed_app.extensions["portal.db"].session()
    filed = session.scalars(select(ServiceRequest)).all()
    assert len(filed) == 1
    assert filed[0].description == "Deep pothole by the bus stop"
    assert filed[0].answers == {"size": "large"}
    assert (filed[0].lat, filed[0].lon) == pytest.approx(INSIDE)
    assert filed[0].contact_email == "ana@example.org"
    session.close()
    assert counted(committed_app, RequestPhoto) == 1
    assert len(posts) == 1 and re.fullmatch(r"[0-9a-f-]{36}", posts[0])

    # Nothing is left to send: a reload (the next visit) sends nothing more.
    page.reload()
    page.wait_for_load_state("networkidle")
    expect(page.get_by_role("region", name="Waiting to send")).to_be_hidden()
    assert len(posts) == 1
    assert counted(committed_app, ServiceRequest) == 1
    assert counted(committed_app, IdempotencyKey) == 1
    assert not errors, errors
    ctx.close()


def test_a_withdrawn_category_is_told_and_the_report_kept(
    chromium, live_server, committed_app, tmp_path
):
    ctx = context(chromium)
    page = ctx.new_page()
    page.goto(f"{live_server}/report/offline?lang=es")
    ctx.set_offline(True)
    page.get_by_label("¿Cuál es el problema?").select_option(index=1)
    page.locator("label[for=offline-q_size]").click()
    page.get_by_label("Describa el problema").fill("Un bache profundo")
    page.get_by_role("button", name="Usar mi posición").click()
    expect(page.locator("#offline-position")).to_contain_text("Su posición quedó anotada")
    page.get_by_role("button", name="Enviar reporte").click()
    waiting = page.get_by_role("region", name="Esperando para enviar")
    expect(waiting.locator("[data-offline-report]")).to_have_count(1)

    session = committed_app.extensions["portal.db"].session(write=True)
    session.scalar(select(ServiceCategory).where(ServiceCategory.code == "pothole")).active = False
    session.commit()
    session.close()
    ctx.set_offline(False)
    expect(waiting).to_contain_text("Este tipo de problema ya no se puede reportar aquí")
    expect(waiting.locator("[data-offline-report]")).to_have_count(1)
    assert counted(committed_app, ServiceRequest) == 0
    # The resident deletes it from the device.
    waiting.get_by_role("button", name=re.compile("^Eliminar")).click()
    expect(waiting).to_be_hidden()
    ctx.close()


@pytest.mark.markup
@pytest.mark.parametrize("width", [390, 1280])
@pytest.mark.parametrize("language", ["en", "es"])
def test_axe_finds_nothing(chromium, live_server, committed_app, tmp_path, width, language):
    ctx = context(chromium, width=width, height=900, bypass_csp=True)
    page = ctx.new_page()
    page.goto(f"{live_server}/report/offline?lang={language}")
    ctx.set_offline(True)
    page.locator("#offline-category").select_option(index=1)
    page.locator("label[for=offline-q_size]").click()
    page.locator("#offline-description").fill("A pothole")
    page.locator("[data-offline-locate]").click()
    expect(page.locator("#offline-position")).not_to_be_empty()
    page.locator("form [type=submit]").click()
    expect(page.locator("[data-offline-report]")).to_have_count(1)
    found = {"offline page, one waiting": axe_violations(page)}
    page.locator("form [type=submit]").click()  # empty: the errors beside the fields
    expect(page.locator("[data-offline-error]").first).to_be_visible()
    found["offline page, errors"] = axe_violations(page)
    ctx.set_offline(False)
    page.goto(f"{live_server}/report/?lang={language}")
    page.wait_for_load_state("networkidle")
    found["start page"] = axe_violations(page)
    assert found == {name: [] for name in found}
    ctx.close()


def test_with_the_service_worker_the_page_opens_offline_and_sends_once(
    chromium, live_server, committed_app, tmp_path
):
    """The installed worker (/sw.js with static/js/sw-offline-reports.js) keeps the page: opened
    with no connection, a report written there is sent once when the network returns, even
    though the page and Background Sync may both try (the idempotency key)."""
    # Chromium grants Background Sync to sites by default; a test context must be told to.
    ctx = context(chromium, service_workers="allow")
    ctx.grant_permissions(["geolocation", "background-sync"])
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{live_server}/report/")
    page.evaluate("() => navigator.serviceWorker.ready")
    page.reload()
    page.wait_for_load_state("load")
    assert page.evaluate("() => navigator.serviceWorker.controller !== null")

    ctx.set_offline(True)
    page.goto(f"{live_server}/report/offline")
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Report a problem without a connection"
    )
    write_report(page, tmp_path, description="Written with no connection at all")
    waiting = page.get_by_role("region", name="Waiting to send")
    expect(waiting.locator("[data-offline-report]")).to_have_count(1)
    assert counted(committed_app, ServiceRequest) == 0
    # Background Sync is asked to send it even if the page is closed.
    tags = page.evaluate("() => navigator.serviceWorker.ready.then((r) => r.sync.getTags())")
    assert tags == ["portal-offline-reports"]

    ctx.set_offline(False)
    expect(page.locator("[data-offline-status-text]")).to_contain_text("Sent.")
    expect(waiting).to_be_hidden()
    page.reload()
    page.wait_for_load_state("networkidle")
    assert counted(committed_app, ServiceRequest) == 1
    assert counted(committed_app, RequestPhoto) == 1
    assert not errors, errors
    ctx.close()


def test_background_sync_sends_it_with_the_page_closed(
    chromium, live_server, committed_app, tmp_path
):
    ctx = context(chromium, service_workers="allow")
    ctx.grant_permissions(["geolocation", "background-sync"])
    page = ctx.new_page()
    page.goto(f"{live_server}/report/")
    page.evaluate("() => navigator.serviceWorker.ready")
    ctx.set_offline(True)
    page.goto(f"{live_server}/report/offline")
    write_report(page, tmp_path, description="Sent by the service worker")
    expect(page.locator("[data-offline-report]")).to_have_count(1)
    page.close()  # no page left to send it: only the worker's "sync" can

    ctx.set_offline(False)
    deadline = time.monotonic() + 20
    while not counted(committed_app, ServiceRequest) and time.monotonic() < deadline:
        time.sleep(0.25)
    assert counted(committed_app, ServiceRequest) == 1
    assert counted(committed_app, RequestPhoto) == 1
    # The worker deleted it from the device: a new visit lists nothing and sends nothing.
    page = ctx.new_page()
    page.goto(f"{live_server}/report/offline")
    page.wait_for_load_state("networkidle")
    expect(page.get_by_role("region", name="Waiting to send")).to_be_hidden()
    assert counted(committed_app, ServiceRequest) == 1
    ctx.close()


def test_personal_details_are_asked_about_and_sent_as_they_are(
    chromium, live_server, committed_app, tmp_path
):
    ctx = context(chromium)
    page = ctx.new_page()
    page.goto(f"{live_server}/report/offline")
    ctx.set_offline(True)
    write_report(page, tmp_path, description="Call me on 555-010-2030 when it is fixed")
    ctx.set_offline(False)
    waiting = page.get_by_role("region", name="Waiting to send")
    expect(waiting).to_contain_text("A phone number: 555-010-2030")
    assert counted(committed_app, ServiceRequest) == 0
    waiting.get_by_role("button", name=re.compile("^Send it as it is")).click()
    expect(page.locator("[data-offline-status-text]")).to_contain_text("Sent.")
    expect(waiting).to_be_hidden()
    assert counted(committed_app, ServiceRequest) == 1
    ctx.close()


def test_a_photo_too_large_is_told_and_nothing_kept(chromium, live_server, committed_app, tmp_path):
    """Over the portal's per-photo limit: told beside the photo field before anything is
    kept. (The device's own room, navigator.storage.estimate() and a QuotaExceededError, is not
    exercised here: Chromium's Storage.overrideQuotaForOrigin changed neither the estimate nor
    what IndexedDB accepts in these headless contexts.)"""
    ctx = context(chromium)
    page = ctx.new_page()
    page.goto(f"{live_server}/report/offline")
    ctx.set_offline(True)
    big = tmp_path / "huge.jpg"
    big.write_bytes(b"\xff\xd8" + b"0" * (10 * 1024 * 1024 + 1))
    page.get_by_label("What is the problem?").select_option(label="Pothole")
    page.get_by_label("Describe the problem").fill("With a photo over the limit")
    page.get_by_label("Street address or nearest intersection").fill("12 Mill Street")
    page.locator("#offline-photos").set_input_files(str(big))
    page.get_by_role("button", name="Send report").click()
    expect(page.locator("#offline-error-photos")).to_have_text(
        "huge.jpg is larger than 10 MB. Choose a smaller photo."
    )
    expect(page.locator("#offline-photos")).to_be_focused()
    expect(page.get_by_role("region", name="Waiting to send")).to_be_hidden()
    ctx.close()


def test_a_refused_report_waits_on_my_requests(chromium, live_server, committed_app, tmp_path):
    """Signed in: the report is filed as the resident's (no contact fields asked); one the
    server refused is listed on "My requests" too, with its message, until deleted."""
    session = committed_app.extensions["portal.db"].session(write=True)
    resident = Factories(session, committed_app.extensions["portal.settings"]).user()
    email, user_id = resident.email, resident.id
    session.commit()
    session.close()
    ctx = context(chromium)
    page = ctx.new_page()
    page.goto(f"{live_server}/account/sign-in")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_load_state()
    page.goto(f"{live_server}/report/offline")
    expect(page.get_by_label("Email address")).to_have_count(0)
    ctx.set_offline(True)
    page.get_by_label("What is the problem?").select_option(label="Pothole")
    page.get_by_text("Larger than a plate").click()
    page.get_by_label("Describe the problem").fill("Written on the bus")
    page.get_by_role("button", name="Use my position").click()
    expect(page.locator("#offline-position")).to_contain_text("Your position is noted")
    page.get_by_role("button", name="Send report").click()
    expect(page.locator("[data-offline-report]")).to_have_count(1)
    ctx.set_offline(False)
    expect(page.locator("[data-offline-status-text]")).to_contain_text("Sent.")
    session = committed_app.extensions["portal.db"].session()
    assert session.scalar(select(ServiceRequest.reporter_id)) == user_id
    session.close()

    ctx.set_offline(True)
    page.get_by_label("What is the problem?").select_option(label="Pothole")
    page.get_by_text("Larger than a plate").click()
    page.get_by_label("Describe the problem").fill("Far out of town")
    ctx.set_geolocation({"latitude": OUTSIDE[0], "longitude": OUTSIDE[1]})  # out of town
    page.get_by_role("button", name="Use my position").click()
    expect(page.locator("#offline-position")).to_contain_text("Your position is noted")
    page.get_by_role("button", name="Send report").click()
    expect(page.locator("[data-offline-report]")).to_have_count(1)
    ctx.set_offline(False)
    page.goto(f"{live_server}/my/requests")
    waiting = page.get_by_role("region", name="Waiting to send")
    expect(waiting).to_contain_text("That point is outside City of Riverton")
    expect(waiting).to_contain_text("Far out of town")
    assert counted(committed_app, ServiceRequest) == 1
    waiting.get_by_role("button", name=re.compile("^Delete")).click()
    expect(waiting).to_be_hidden()
    ctx.close()
