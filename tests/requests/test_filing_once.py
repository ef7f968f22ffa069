"""The check step's "Send my request" files once per key: the page carries a hidden key made
when it is shown, a double submit (the second sent with the browser's old cookie, before the
first answer) lands on the same request's confirmation, and ten simultaneous submits through
a real threaded server file one request on both engines."""

from __future__ import annotations

import re
import threading

import httpx
import pytest
from sqlalchemy import func, select
from werkzeug.serving import make_server

from portal.core.idempotency import IdempotencyKey
from portal.requests.models import ServiceRequest
from tests.areas.factories import INSIDE
from tests.conftest import csrf_from
from tests.requests.test_filing import QUESTIONS, Journey, _to_check_page
from tests.scratch import ENGINES, arrange, scratch_app

KEY_RE = re.compile(r'name="idempotency_key" value="([A-Za-z0-9_-]{16,128})"')


@pytest.fixture
def city(make):
    make.area(name="Old Town", code="old-town")
    return make.category(code="pothole", name="Pothole", questions=QUESTIONS)


def _count(db, model) -> int:
    return db.scalar(select(func.count()).select_from(model))


def test_the_check_page_carries_a_new_key_each_time(client, city):
    journey = Journey(client)
    _to_check_page(journey, email="ana@example.org")
    first = KEY_RE.search(journey.get("/report/check").get_data(as_text=True))
    second = KEY_RE.search(journey.get("/report/check").get_data(as_text=True))
    assert first and second and first.group(1) != second.group(1)


def test_a_double_submit_lands_on_the_same_confirmation(client, db, city):
    journey = Journey(client)
    _to_check_page(journey, email="ana@example.org")
    page = journey.get("/report/check").get_data(as_text=True)
    form = {"idempotency_key": KEY_RE.search(page).group(1)}
    old_cookie = client.get_cookie("session").value
    first = journey.post("/report/check", form)
    assert first.headers["Location"].endswith("/report/done")
    reference = db.scalar(select(ServiceRequest.reference))
    # The second click went out before the first answer: with the old cookie (the draft).
    client.set_cookie("session", old_cookie)
    second = journey.post("/report/check", form)
    assert second.status_code == 302 and second.headers["Location"].endswith("/report/done")
    done = client.get("/report/done").get_data(as_text=True)
    assert reference in done
    assert _count(db, ServiceRequest) == 1
    # The browser may still act as the reporter (the grant survives the replay).
    assert client.get(f"/requests/{reference}").status_code == 200


def test_a_failed_submission_frees_its_key(client, db, city):
    journey = Journey(client)
    _to_check_page(journey, email="ana@example.org")
    page = journey.get("/report/check").get_data(as_text=True)
    form = {"idempotency_key": KEY_RE.search(page).group(1)}
    city.active = False
    db.flush()
    assert journey.post("/report/check", form).headers["Location"].endswith("/report/")
    assert _count(db, IdempotencyKey) == 0
    city.active = True
    db.flush()
    assert journey.post("/report/check", form).headers["Location"].endswith("/report/done")
    assert _count(db, ServiceRequest) == 1


def _walk(base: str) -> tuple[httpx.Client, dict]:
    """Through the form over HTTP to the check page: the browser and the check form."""
    browser = httpx.Client(base_url=base, timeout=30)

    def post(path, data):
        token = csrf_from(browser.get(path).text)
        response = browser.post(path, data={"csrf_token": token, **data})
        assert response.status_code in (302, 303), response.text[:500]

    post("/report/", {"category": "pothole"})
    post("/report/details", {"description": "Deep hole by the bus stop", "q_size": "large"})
    post("/report/location", {"address": "12 Mill Street", "lat": INSIDE[0], "lon": INSIDE[1]})
    post("/report/photos", {"action": "continue"})
    post("/report/contact", {"email": "ana@example.org"})
    page = browser.get("/report/check").text
    form = {"csrf_token": csrf_from(page), "idempotency_key": KEY_RE.search(page).group(1)}
    return browser, form


@pytest.mark.parametrize("engine", ENGINES)
def test_ten_simultaneous_submits_file_one_request(settings, engine, tmp_path):
    with scratch_app(engine, settings, tmp_path) as app:
        arrange(
            app,
            lambda make: (
                make.area(name="Old Town", code="old-town"),
                make.category(code="pothole", name="Pothole", questions=QUESTIONS),
            ),
        )
        server = make_server("127.0.0.1", 0, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        base = f"http://127.0.0.1:{server.server_port}"
        try:
            browser, form = _walk(base)
            jar = browser.cookies.jar
            barrier = threading.Barrier(10)
            answers: list[tuple[int, str, str]] = []
            errors: list[BaseException] = []

            def send() -> None:
                try:
                    with httpx.Client(base_url=base, timeout=60) as tab:
                        for cookie in jar:
                            tab.cookies.jar.set_cookie(cookie)
                        barrier.wait()
                        response = tab.post("/report/check", data=form)
                        done = tab.get("/report/done").text
                        found = re.search(r"SR-\d{4}-\d{6}", done)
                        answers.append(
                            (
                                response.status_code,
                                response.headers.get("Location", ""),
                                found.group(0) if found else "",
                            )
                        )
                except BaseException as exc:  # noqa: BLE001 - reported below
                    errors.append(exc)

            threads = [threading.Thread(target=send) for _ in range(10)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(90)
            browser.close()
        finally:
            server.shutdown()
            thread.join(5)
        assert not errors, errors
        assert {(code, location.endswith("/report/done")) for code, location, _r in answers} == {
            (302, True)
        }
        references = {reference for _c, _l, reference in answers}
        assert len(references) == 1 and "" not in references, answers
        session = app.extensions["portal.db"].session()
        try:
            assert _count(session, ServiceRequest) == 1
            assert _count(session, IdempotencyKey) == 1
        finally:
            session.close()
