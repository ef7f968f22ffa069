"""Test harness: migrate once per session, then each test runs in a rolled-back transaction.

The engine is SQLite unless ``DATABASE_URL`` points at PostgreSQL (``.ci/run`` runs the suite
on both). Tests that need a committed database (a live server for the browser, concurrency)
use ``committed_app`` and clean up by truncation.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from portal import create_app
from portal.core import clock
from portal.core.config import Settings
from portal.core.db import Base, Database
from portal.extensions import limiter
from portal.migrate import recreate
from tests.client import ClosingClient
from tests.factories import PASSWORD, Factories
from tests.smtp import SmtpSink

pytest_plugins = ["tests.browser_plugin"]

# Every app the tests build closes its requests' body streams (see tests/client.py).
Flask.test_client_class = ClosingClient


def _database_url(tmp_root: Path) -> str:
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith("postgres"):
        return Settings.from_env({"DATABASE_URL": url}).database_url
    return f"sqlite:///{tmp_root / 'test.db'}"


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = _database_url(tmp_path_factory.mktemp("db"))
    recreate(url)
    return url


@pytest.fixture(scope="session")
def smtp() -> Iterator[SmtpSink]:
    sink = SmtpSink()
    sink.start()
    yield sink
    sink.stop()


@pytest.fixture
def settings(database_url: str, tmp_path: Path, smtp: SmtpSink) -> Settings:
    smtp.clear()
    return Settings(
        env="test",
        secret_key="test-secret-key-that-is-long-enough-for-signing",
        database_url=database_url,
        base_url="http://portal.test",
        smtp_host=smtp.host,
        smtp_port=smtp.port,
        mail_dir=str(tmp_path / "mail"),
        upload_dir=str(tmp_path / "uploads"),
        ratelimit_enabled=False,
        # The city most tests are set in (no city configuration is imported for them).
        city_name="City of Riverton",
        short_name="Riverton 311",
        mail_from="Riverton 311 <no-reply@riverton.example>",
        open311_jurisdiction="riverton.example",
        open311_contact="Riverton 311 API team, open311@riverton.example",
        open311_key_service="mailto:open311@riverton.example",
    )


#: Apps built once per set of settings (building one compiles every URL rule: ~0.1 s, which
#: over a thousand tests is minutes). Per-test folders are not part of the key.
_APPS: dict[Settings, Flask] = {}


def _shared_app(settings: Settings) -> Flask:
    key = replace(settings, mail_dir="", upload_dir="")
    application = _APPS.get(key)
    if application is None:
        application = _APPS[key] = create_app(settings)
    application.extensions["portal.settings"] = settings
    # The city's profile is read again for each test (its row is rolled back after one).
    application.extensions["portal.city"].clear(settings)
    application.config.update(settings.as_flask_config())
    # The limiter is one object for every app: a test that built its own app with limits on
    # has re-initialised it.
    limiter.enabled = application.config["RATELIMIT_ENABLED"]
    return application


@pytest.fixture
def app(settings: Settings) -> Iterator[Flask]:
    """An app whose every session joins one outer transaction, rolled back after the test.
    The app object is shared by tests with the same settings; its config is restored after
    each test, so a test may change it."""
    application = _shared_app(settings)
    config = dict(application.config)
    db: Database = application.extensions["portal.db"]
    connection = db.engine.connect()
    outer = connection.begin()
    db.pin(connection)
    try:
        yield application
    finally:
        db.pin(None)
        if outer.is_active:
            outer.rollback()
        connection.close()
        application.config.clear()
        application.config.update(config)


@contextmanager
def own_app_client(settings: Settings) -> Iterator[FlaskClient]:
    """A client of an app of its own, built from ``settings`` (for example with the rate
    limiter on), rolled back like the ``app`` fixture."""
    application = create_app(settings)
    db: Database = application.extensions["portal.db"]
    connection = db.engine.connect()
    outer = connection.begin()
    db.pin(connection)
    try:
        yield application.test_client()
    finally:
        db.pin(None)
        outer.rollback()
        connection.close()
        db.dispose()


@pytest.fixture
def committed_app(settings: Settings) -> Iterator[Flask]:
    """An app on the real, committing database; every table is emptied afterwards."""
    application = create_app(replace(settings))
    yield application
    db: Database = application.extensions["portal.db"]
    truncate_all(db)
    db.dispose()


def truncate_all(db: Database) -> None:
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    with db.engine.begin() as conn:
        if db.dialect == "postgresql":
            conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for name in tables:
                conn.execute(text(f"DELETE FROM {name}"))


@pytest.fixture
def freeze_clock() -> Iterator[Callable[[datetime | None], None]]:
    """``portal.core.clock.freeze`` for the test: the clock runs again afterwards."""
    yield clock.freeze
    clock.freeze(None)


@pytest.fixture
def db(app: Flask) -> Iterator[Session]:
    """A session on the test's transaction, for arranging data and checking results."""
    session = app.extensions["portal.db"].session(write=True)
    yield session
    session.close()


@pytest.fixture
def make(db: Session, app: Flask) -> Factories:
    return Factories(db, app.extensions["portal.settings"])


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask):
    return app.test_cli_runner()


CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def csrf_from(html: str) -> str:
    """The CSRF token from a rendered form (tests post like a browser does)."""
    match = CSRF_RE.search(html)
    assert match, "no CSRF token in the page"
    return match.group(1)


def sign_in(client: FlaskClient, user) -> None:
    """Sign ``user`` in through the real form (with its CSRF token), like a browser."""
    token = csrf_from(client.get("/account/sign-in").get_data(as_text=True))
    response = client.post(
        "/account/sign-in", data={"csrf_token": token, "email": user.email, "password": PASSWORD}
    )
    assert response.status_code == 302, response.get_data(as_text=True)
