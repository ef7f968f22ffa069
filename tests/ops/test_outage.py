"""Database loss: every request answers 503 with Retry-After in the client's format (the
portal's page, JSON, the Open311 error collection), the outage is logged once rather than a
traceback per request, and the portal works again on the next request once the database is
back. The PostgreSQL version (backends terminated during a burst of filings) is
tests/ops/test_fault.py."""

from __future__ import annotations

import json
import logging
import shutil
import sqlite3
from dataclasses import replace
from xml.etree import ElementTree as ET  # noqa: N817

import pytest
from sqlalchemy import event

from portal import create_app
from tests.conftest import csrf_from

#: Pages that read the database: the home page, a request's page, the Open311 reads.
PAGES = ["/", "/requests/SR-2026-000001", "/programmes"]


@pytest.fixture
def lost(settings, tmp_path):
    """An app whose database file cannot be opened (its folder does not exist), like a
    server that went away; ``lost.restore()`` puts a migrated database there (SQLite)."""
    missing = tmp_path / "gone" / "portal.db"
    app = create_app(replace(settings, database_url=f"sqlite:///{missing}"))
    app.config["PROPAGATE_EXCEPTIONS"] = False  # as in production

    def restore() -> None:
        if not settings.database_url.startswith("sqlite"):
            pytest.skip("restoring copies the session's SQLite database")
        missing.parent.mkdir()
        shutil.copyfile(settings.database_url.removeprefix("sqlite:///"), missing)

    app.restore = restore  # type: ignore[attr-defined]
    yield app
    app.extensions["portal.db"].dispose()


def _retry_after(response) -> int:
    return int(response.headers["Retry-After"])


def test_pages_answer_503_with_retry_after_and_the_portals_page(lost):
    client = lost.test_client()
    for page in PAGES:
        response = client.get(page)
        assert response.status_code == 503, page
        assert _retry_after(response) >= 1
        html = response.get_data(as_text=True)
        assert "The service is temporarily unavailable" in html
        assert 'class="usa-header' in html  # the portal's own layout
        reference = response.headers["X-Request-ID"]
        assert f"Reference: {reference}" in html


def test_json_clients_get_a_json_503(lost):
    response = lost.test_client().get("/", headers={"Accept": "application/json"})
    assert response.status_code == 503 and _retry_after(response) >= 1
    assert response.json["error"]["code"] == 503
    assert response.json["error"]["request_id"] == response.headers["X-Request-ID"]


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_the_open311_api_answers_503_in_its_error_format(lost, fmt):
    client = lost.test_client()
    for path in (f"/open311/v2/services.{fmt}", f"/open311/v2/requests.{fmt}"):
        response = client.get(path)
        assert response.status_code == 503, path
        assert _retry_after(response) >= 1
        reference = response.headers["X-Request-ID"]
        if fmt == "json":
            assert response.content_type == "application/json; charset=utf-8"
            (error,) = json.loads(response.data)
            assert error["code"] == "503"
            description = error["description"]
        else:
            assert response.content_type == "text/xml; charset=utf-8"
            root = ET.fromstring(response.data)
            assert root.tag == "errors"
            assert root.findtext("error/code") == "503"
            description = root.findtext("error/description")
        assert f"Reference: {reference}" in description


def test_an_outage_is_logged_once_without_tracebacks(lost, caplog):
    caplog.set_level(logging.INFO)
    client = lost.test_client()
    for _ in range(5):
        for page in PAGES:
            assert client.get(page).status_code == 503
    problems = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(problems) == 1, [r.getMessage() for r in problems]
    (line,) = problems
    assert line.name == "portal.outage" and line.levelno == logging.ERROR
    assert "database unavailable" in line.getMessage()
    assert not any(r.exc_info for r in caplog.records)
    assert "Traceback" not in caplog.text


def test_the_portal_recovers_on_the_next_request(lost, caplog):
    caplog.set_level(logging.INFO)
    client = lost.test_client()
    for _ in range(3):
        assert client.get("/").status_code == 503
    lost.restore()
    assert client.get("/").status_code == 200
    assert client.get("/open311/v2/services.json").status_code == 200
    back = [r.getMessage() for r in caplog.records if "available again" in r.getMessage()]
    assert len(back) == 1 and "3 request(s) answered 503" in back[0]


def test_a_write_on_a_locked_sqlite_database_answers_503(committed_app, make_user_committed):
    """A form posted while another process holds SQLite's write lock past the busy timeout:
    503 with Retry-After, and the same form works once the lock is released."""
    db = committed_app.extensions["portal.db"]
    if db.dialect != "sqlite":
        pytest.skip("SQLite's file lock")
    committed_app.config["PROPAGATE_EXCEPTIONS"] = False

    @event.listens_for(db.engine, "connect")
    def _short_busy_timeout(dbapi_connection, _record) -> None:
        dbapi_connection.execute("PRAGMA busy_timeout=50")

    db.engine.dispose()  # new connections get the short timeout
    client = committed_app.test_client()
    token = csrf_from(client.get("/account/sign-in").get_data(as_text=True))
    form = {"csrf_token": token, "email": make_user_committed, "password": "x" * 12}
    holder = sqlite3.connect(db.engine.url.database, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        locked = client.post("/account/sign-in", data=form)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert locked.status_code == 503, locked.get_data(as_text=True)[:500]
    assert _retry_after(locked) >= 1
    assert client.post("/account/sign-in", data=form).status_code < 500


@pytest.fixture
def make_user_committed(committed_app) -> str:
    from tests.factories import Factories

    db = committed_app.extensions["portal.db"]
    with db.transaction() as session:
        user = Factories(session, committed_app.extensions["portal.settings"]).user()
        email = user.email
    return email
