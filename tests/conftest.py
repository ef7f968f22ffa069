"""Test harness: migrate once per session, then each test runs in a rolled-back transaction.

The engine is SQLite unless ``DATABASE_URL`` points at PostgreSQL (``.ci/run`` runs the suite
on both). Tests that need a committed database (a live server for the browser, concurrency)
use ``committed_app`` and clean up by truncation.

The migrated schema is built once and reused while the migrations are unchanged: a template
SQLite file in a cache folder (``PORTAL_TEST_CACHE``, else ``$TMPDIR/portal-test-schema-UID``),
or a template database on the PostgreSQL server, named by a hash of the migrations, the code
they import and the models. The session's database is a copy (``CREATE DATABASE ... TEMPLATE``
on PostgreSQL). ``PORTAL_TEST_MIGRATE=1`` runs the migrations instead; tests/app/test_migrations.py
always does. Under pytest-xdist each worker has a database of its own.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import sqlite3
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager, suppress
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
from portal.core.config import ROOT, Settings
from portal.core.db import Base, Database
from portal.extensions import limiter
from tests.client import ClosingClient
from tests.factories import PASSWORD, Factories
from tests.smtp import SmtpSink

# tests.network_guard: no test reaches another machine (issue 22); the run fails if one tries.
pytest_plugins = ["tests.network_guard", "tests.browser_plugin"]

# Every app the tests build closes its requests' body streams (see tests/client.py).
Flask.test_client_class = ClosingClient

#: A test marked ``pure`` uses none of these (every app, client and database fixture does).
IMPURE_FIXTURES = {"database_url", "smtp"}


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """``pytest -m pure`` reads only the test files that mark tests pure: importing every other
    file (the whole portal, schemathesis, playwright) only to deselect its tests took ~10 s."""
    if (
        config.option.markexpr.strip() == "pure"
        and collection_path.suffix == ".py"
        and collection_path.name.startswith("test_")
        and b"mark.pure" not in collection_path.read_bytes()
    ):
        return True
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        used = IMPURE_FIXTURES.intersection(getattr(item, "fixturenames", ()))
        if used and item.get_closest_marker("pure"):
            raise pytest.UsageError(f"{item.nodeid} is marked pure but uses {sorted(used)}")


def _database_url(tmp_root: Path) -> str:
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith("postgres"):
        return Settings.from_env({"DATABASE_URL": url}).database_url
    return f"sqlite:///{tmp_root / 'test.db'}"


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The session's migrated database (each pytest-xdist worker's own)."""
    url = _database_url(tmp_path_factory.mktemp("db"))
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if url.startswith("sqlite"):
        _copy_sqlite_schema(url)  # the folder is the worker's own already
        yield url
        return
    from sqlalchemy.engine import make_url

    if worker:  # gw0, gw1...: a database beside the one DATABASE_URL names
        url = make_url(url).set(database=f"{make_url(url).database}_{worker}")
        url = url.render_as_string(hide_password=False)
    _clone_postgres_schema(url, fresh=bool(worker))
    yield url
    if worker:
        with _postgres_admin(url) as (admin, name):
            admin.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


# -- the migrated schema, built once ---------------------------------------------------------

#: What the migrated schema depends on (paths from the project's root): the migrations, the
#: code they import and the models. A change to any of them builds a new template.
SCHEMA_SOURCES = (
    "migrations/**/*.py",
    "portal/migrate.py",
    "portal/models.py",
    "portal/core/*.py",
    "portal/casework/search.py",
    "portal/**/models.py",
    "portal/**/models/*.py",
)


def schema_key(dialect: str) -> str:
    """A hash of everything the migrated schema depends on, for ``dialect``."""
    from importlib.metadata import version

    digest = hashlib.sha256(
        f"{dialect} alembic {version('alembic')} sqlalchemy {version('sqlalchemy')}".encode()
    )
    files = {path for pattern in SCHEMA_SOURCES for path in ROOT.glob(pattern)}
    for path in sorted(p for p in files if "__pycache__" not in p.parts):
        digest.update(b"\0" + str(path.relative_to(ROOT)).encode() + b"\0")
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _recreate(url: str) -> None:
    from portal.migrate import recreate  # imports alembic: only when migrating

    recreate(url)


def _migrate_every_time() -> bool:
    return os.environ.get("PORTAL_TEST_MIGRATE", "") not in ("", "0")


def _copy_sqlite_schema(url: str) -> None:
    """Copy the migrated template into the (new) SQLite file of ``url``, building the template
    first when there is none for these migrations."""
    target = Path(url.removeprefix("sqlite:///"))
    if _migrate_every_time():
        _recreate(url)
        return
    cache = Path(
        os.environ.get("PORTAL_TEST_CACHE")
        or Path(tempfile.gettempdir()) / f"portal-test-schema-{os.getuid()}"
    )
    template = cache / f"sqlite-{schema_key('sqlite')}.db"
    if not template.exists():
        cache.mkdir(mode=0o700, parents=True, exist_ok=True)
        building = cache / f".building-{os.getpid()}-{uuid.uuid4().hex[:8]}.db"
        try:
            _recreate(f"sqlite:///{building}")
            with closing(sqlite3.connect(building)) as conn:  # the template is one file
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            os.replace(building, template)  # atomic: a racing session builds the same file
        finally:
            for leftover in cache.glob(f"{building.name}*"):
                leftover.unlink()
        for old in cache.glob("sqlite-*.db"):  # other migrations' templates, a day old
            if old != template and time.time() - old.stat().st_mtime > 86400:
                old.unlink(missing_ok=True)
    shutil.copyfile(template, target)


@contextmanager
def _postgres_admin(url: str) -> Iterator[tuple]:
    """An autocommit connection to the server's ``postgres`` database, and the name of the
    database of ``url``."""
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    engine = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            yield conn, parsed.database
    finally:
        engine.dispose()


def _clone_postgres_schema(url: str, *, fresh: bool) -> None:
    """Make the database of ``url`` a copy of the migrated template database on the server
    (``CREATE DATABASE ... TEMPLATE``), building the template first when there is none for
    these migrations. When that cannot be done (a connection to the database, no right to
    create databases) the database is emptied and migrated as before."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import DBAPIError

    template = f"portal_schema_{schema_key('postgresql')}"
    known = text("SELECT 1 FROM pg_database WHERE datname = :name")
    try:
        if _migrate_every_time():
            raise LookupError("PORTAL_TEST_MIGRATE is set")
        with _postgres_admin(url) as (admin, name):
            if admin.scalar(known, {"name": template}) is None:
                building = f"{template}_{os.getpid()}_{uuid.uuid4().hex[:6]}"
                admin.execute(text(f'CREATE DATABASE "{building}"'))
                try:
                    _recreate(make_url(url).set(database=building).render_as_string(False))
                    admin.execute(text(f'ALTER DATABASE "{building}" RENAME TO "{template}"'))
                finally:
                    admin.execute(text(f'DROP DATABASE IF EXISTS "{building}" WITH (FORCE)'))
                _drop_old_templates(admin, keep=template)
            admin.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
            admin.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    except (DBAPIError, LookupError):
        with suppress(DBAPIError), _postgres_admin(url) as (admin, name):
            if fresh or admin.scalar(known, {"name": name}) is None:
                admin.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
                admin.execute(text(f'CREATE DATABASE "{name}"'))
        _recreate(url)


def _drop_old_templates(admin, *, keep: str) -> None:
    """Templates of other migrations go (one still being copied from stays)."""
    from sqlalchemy.exc import DBAPIError

    names = admin.scalars(
        text("SELECT datname FROM pg_database WHERE datname LIKE 'portal\\_schema\\_%'")
    )
    for old in [n for n in names if n != keep and n.count("_") == 2]:
        with suppress(DBAPIError):
            admin.execute(text(f'DROP DATABASE IF EXISTS "{old}"'))


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
