"""Alembic upgrades an empty database to head on both engines, and matches the models."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from portal.casework.search import include_name
from portal.core.db import Base, Database
from portal.migrate import alembic_config, upgrade
from tests.postgres import scratch_postgres


def _check(url: str) -> None:
    upgrade(url)
    db = Database(url)
    try:
        with db.engine.connect() as conn:
            context = MigrationContext.configure(
                conn, opts={"compare_type": True, "include_name": include_name}
            )
            assert (
                context.get_current_revision()
                == ScriptDirectory.from_config(alembic_config(url)).get_current_head()
            )
            assert compare_metadata(context, Base.metadata) == []
            names = {c["name"] for c in inspect(conn).get_unique_constraints("service_requests")}
            assert "uq_service_requests_reference" in names  # the naming convention
    finally:
        db.dispose()


# SQLAlchemy cannot reflect SQLite's expression indexes (ix_service_requests_address_lower,
# lower(address)); the comparison skips them on both sides, PostgreSQL's test compares it.
@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index")
@pytest.mark.filterwarnings("ignore:autogenerate skipping metadata-specified expression-based")
def test_sqlite_upgrade_to_head_matches_the_models(tmp_path):
    _check(f"sqlite:///{tmp_path / 'fresh.db'}")


@pytest.mark.postgres
def test_postgresql_upgrade_to_head_matches_the_models():
    with scratch_postgres() as url:
        _check(url)


def test_there_is_one_head():
    assert len(ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads()) == 1
