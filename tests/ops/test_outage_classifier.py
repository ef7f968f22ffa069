"""Which errors mean "the database is away" (503) and which are bugs (500)."""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from portal.core.outage import database_unavailable

pytestmark = pytest.mark.pure


def test_a_locked_sqlite_database_is_unavailable_not_a_bug(tmp_path):
    path = tmp_path / "locked.db"
    engine = create_engine(f"sqlite:///{path}", connect_args={"timeout": 0})
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (x INTEGER)"))
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(OperationalError) as locked, engine.begin() as conn:
            conn.execute(text("INSERT INTO t VALUES (1)"))
        assert "locked" in str(locked.value)
        assert database_unavailable(locked.value)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    with pytest.raises(OperationalError) as missing_table, engine.connect() as conn:
        conn.execute(text("SELECT * FROM no_such_table"))
    assert not database_unavailable(missing_table.value)  # a bug: a 500, not a 503
    engine.dispose()


def test_database_unavailable_follows_the_cause():
    error = OperationalError("SELECT 1", {}, sqlite3.OperationalError("database is locked"))
    try:
        try:
            raise error
        except OperationalError as exc:
            raise RuntimeError("while rendering") from exc
    except RuntimeError as wrapped:
        assert database_unavailable(wrapped)
    assert not database_unavailable(RuntimeError("nothing to do with it"))
    assert not database_unavailable(None)
