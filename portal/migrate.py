"""Alembic, driven from code: ``flask db upgrade`` and the tests call these."""

from __future__ import annotations

from alembic import command
from alembic.config import Config

from portal.core.config import ROOT


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(ROOT / "migrations"))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(database_url), revision)


def recreate(database_url: str) -> None:
    """Empty a scratch database and migrate it to head (tests and benchmarks only)."""
    from sqlalchemy import text

    from portal.core.db import Database

    db = Database(database_url)
    if db.dialect == "postgresql":
        with db.engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    db.dispose()
    upgrade(database_url)
