"""A scratch database of its own (SQLite file or PostgreSQL), for tests where several
threads each need their own connection (the usual test database is one rolled-back
transaction)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

import pytest

from portal import create_app
from portal.migrate import upgrade
from tests.factories import Factories
from tests.postgres import scratch_postgres

#: Parametrise a test over both engines (PostgreSQL only where it is available).
ENGINES = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@contextmanager
def scratch(engine: str, tmp_path) -> Iterator[str]:
    if engine == "postgresql":
        with scratch_postgres() as url:
            yield url
    else:
        yield f"sqlite:///{tmp_path / 'programmes.db'}"


@contextmanager
def scratch_app(engine: str, settings, tmp_path) -> Iterator[Any]:
    with scratch(engine, tmp_path) as url:
        upgrade(url)
        app = create_app(replace(settings, database_url=url))
        try:
            yield app
        finally:
            app.extensions["portal.db"].dispose()


def arrange(app, build: Callable[[Factories], Any]) -> Any:
    db = app.extensions["portal.db"]
    session = db.session(write=True)
    try:
        result = build(Factories(session, app.extensions["portal.settings"]))
        session.commit()
        return result
    finally:
        session.close()
