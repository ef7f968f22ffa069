"""Alembic environment: the portal's metadata, its naming convention, both engines."""

from __future__ import annotations

from alembic import context

import portal.models  # noqa: F401  (fills the metadata)
from portal.casework.search import include_name
from portal.core.config import Settings
from portal.core.db import Base, make_engine

config = context.config
url = config.get_main_option("sqlalchemy.url") or Settings.from_env().database_url
target_metadata = Base.metadata


def run_migrations_offline() -> None:
    context.configure(
        url=url,
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=url.startswith("sqlite"),
        include_name=include_name,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connectable = config.attributes.get("connection")
    if connectable is not None:
        _run(connectable)
        return
    engine = make_engine(url)
    with engine.connect() as connection:
        _run(connection)
    engine.dispose()


def render_item(kind, obj, autogen_context):
    """Write the portal's own column types by name, so migrations import them cleanly."""
    from portal.core import models as models_base

    if kind == "type":
        for name in ("JsonDoc", "BigId"):
            if obj is getattr(models_base, name):
                autogen_context.imports.add("import portal.core.models")
                return f"portal.core.models.{name}"
    return False


def _run(connection) -> None:
    if connection.dialect.name == "sqlite":
        # Batch migrations rebuild tables; with foreign keys enforced, dropping a referenced
        # table fails. Switch enforcement off outside any transaction (it is a no-op inside).
        connection.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        render_item=render_item,
        include_name=include_name,  # the full-text index is hand-written (0003)
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
