"""What the benchmark scripts share: a scratch database and app, a one-area city, query plans
and percentiles."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import event

from portal import create_app
from portal.areas.models import Area
from portal.core.config import Settings
from portal.core.db import Database
from portal.migrate import recreate
from portal.sla.models import SlaPolicy


def add_city(session: Any, lat0: float, lon0: float, span: float) -> None:
    """One square area of ``span`` degrees either side of (lat0, lon0), and a city-wide SLA
    policy, so each filing gets its area and starts its case and task clocks as in
    production."""
    ring = [
        [lon0 - span, lat0 - span],
        [lon0 + span, lat0 - span],
        [lon0 + span, lat0 + span],
        [lon0 - span, lat0 + span],
        [lon0 - span, lat0 - span],
    ]
    session.add(
        Area(
            code="city",
            name="City",
            geometry={"type": "Polygon", "coordinates": [ring]},
            min_lat=lat0 - span,
            max_lat=lat0 + span,
            min_lon=lon0 - span,
            max_lon=lon0 + span,
        )
    )
    session.add(
        SlaPolicy(name="Default", first_response_amount=8, resolution_amount=40, update_amount=16)
    )


def analyze(db: Database) -> None:
    """Refresh the planner's statistics after a bulk load (``VACUUM ANALYZE`` on PostgreSQL,
    ``ANALYZE`` on SQLite), as a database in service would have them."""
    if db.dialect == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
    else:
        with db.engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def scratch_url(scratch: tempfile.TemporaryDirectory, database_url: str = "") -> str:
    """``database_url`` (emptied and migrated) or a throw-away SQLite file in ``scratch``."""
    url = database_url or f"sqlite:///{Path(scratch.name) / 'bench.db'}"
    recreate(url)
    return url


def scratch_app(
    scratch: tempfile.TemporaryDirectory,
    database_url: str = "",
) -> tuple[Flask, Database]:
    """An app on a fresh scratch database, files kept in ``scratch``, no rate limits."""
    url = scratch_url(scratch, database_url)
    app = create_app(
        Settings(
            env="test",
            secret_key="b" * 40,
            database_url=url,
            upload_dir=scratch.name,
            mail_dir=scratch.name,
            ratelimit_enabled=False,
        )
    )
    db: Database = app.extensions["portal.db"]
    print(f"engine: {db.dialect}")
    return app, db


def print_plans(db: Database, label: str, run: Callable[[], Any]) -> None:
    """Run ``run()`` once, recording its SELECTs, and print each one's plan (SQLite's
    ``EXPLAIN QUERY PLAN`` or PostgreSQL's ``EXPLAIN``)."""
    statements: list[tuple[str, Any]] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith(("SELECT", "WITH")):
            statements.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        run()
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    explain = "EXPLAIN QUERY PLAN " if db.dialect == "sqlite" else "EXPLAIN "
    with db.engine.connect() as conn:
        for number, (statement, parameters) in enumerate(statements, start=1):
            print(f"-- plan: {label}, query {number}")
            for row in conn.exec_driver_sql(explain + statement, parameters):
                print("   ", row[-1])
