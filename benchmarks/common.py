"""What the benchmark scripts share: a scratch database and app, and percentiles."""

from __future__ import annotations

import tempfile
from pathlib import Path

from flask import Flask

from portal import create_app
from portal.config import Settings
from portal.db import Database
from portal.migrate import recreate


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def scratch_url(scratch: tempfile.TemporaryDirectory, database_url: str = "") -> str:
    """``database_url`` (emptied and migrated) or a throw-away SQLite file in ``scratch``."""
    url = database_url or f"sqlite:///{Path(scratch.name) / 'bench.db'}"
    recreate(url)
    return url


def scratch_app(scratch: tempfile.TemporaryDirectory, database_url: str = "",
                ) -> tuple[Flask, Database]:
    """An app on a fresh scratch database, files kept in ``scratch``, no rate limits."""
    url = scratch_url(scratch, database_url)
    app = create_app(Settings(env="test", secret_key="b" * 40, database_url=url,
                              upload_dir=scratch.name, mail_dir=scratch.name,
                              ratelimit_enabled=False))
    db: Database = app.extensions["portal.db"]
    print(f"engine: {db.dialect}")
    return app, db
