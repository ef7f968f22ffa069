"""Which errors mean "the database is away" (503) and which are bugs (500)."""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import IntegrityError, OperationalError, PendingRollbackError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from portal.core.outage import database_unavailable

pytestmark = pytest.mark.pure


class _Base(DeclarativeBase):
    pass


class Row(_Base):
    __tablename__ = "rows"
    x: Mapped[int] = mapped_column(primary_key=True)


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


def test_a_dropped_connection_used_again_is_unavailable_a_failed_flush_is_not(tmp_path):
    """SQLAlchemy raises PendingRollbackError, with no cause, when code goes on using a
    transaction whose connection dropped (8s2b: an outage met a statement later) and when it
    goes on after a failed flush (a bug)."""
    engine = create_engine(f"sqlite:///{tmp_path / 'dropped.db'}")
    with engine.connect() as conn:
        conn.begin()
        conn.execute(text("SELECT 1"))
        conn.invalidate()  # what a terminated backend does to the connection
        with pytest.raises(PendingRollbackError) as dropped:
            conn.execute(text("SELECT 1"))
    assert dropped.value.__cause__ is None and database_unavailable(dropped.value)

    Row.metadata.create_all(engine)
    with Session(engine) as session:
        session.add(Row(x=1))
        session.commit()
        session.add(Row(x=1))
        with pytest.raises(IntegrityError):
            session.flush()
        session.add(Row(x=2))
        with pytest.raises(PendingRollbackError) as failed_flush:
            session.flush()
    assert not database_unavailable(failed_flush.value)  # a bug: a 500
    engine.dispose()
