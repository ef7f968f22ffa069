"""What query plans a piece of code gets on SQLite (to check it reads the index it should)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import event


def sqlite_plans(db, run: Callable[[], object]) -> list[str]:
    """The SQLite query plans of the SELECTs ``run`` sends, one line per statement (the test
    is skipped on other databases: their plans depend on statistics, not only on indexes)."""
    statements = []
    bind = db.get_bind()
    if bind.dialect.name != "sqlite":
        pytest.skip("query plans are checked on SQLite")

    def record(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append((statement, parameters))

    event.listen(bind, "before_cursor_execute", record)
    try:
        run()
    finally:
        event.remove(bind, "before_cursor_execute", record)
    plans = []
    for statement, parameters in statements:
        rows = db.connection().exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)
        plans.append(" | ".join(str(r[-1]) for r in rows))
    return plans
