"""Liveness and database readiness for load balancers, and what the worker is doing.

``/healthz`` is 503 only when the database cannot be reached: that is when this web process
cannot serve. A stale or missing worker heartbeat, or an outbox backlog, is reported (in
``worker`` and ``outbox``) but keeps the answer 200: a load balancer routes web traffic by this
page, and a dead worker is no reason to take the web down (alert on ``/metrics`` instead).
"""

from __future__ import annotations

from flask import Blueprint
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from portal.core import clock
from portal.ops.status import snapshot
from portal.web import database, settings

bp = Blueprint("health", __name__)


def _iso(moment) -> str | None:
    return moment.isoformat(timespec="seconds") if moment is not None else None


@bp.get("/healthz")
def healthz():
    try:
        with database().engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        return {
            "status": "unavailable",
            "database": "unreachable",
            "error": type(exc).__name__,
        }, 503
    return {"status": "ok", "database": "ok", **_operations()}, 200


def _operations() -> dict[str, object]:
    """The worker's heartbeat and the outbox backlog (unknown, not an error, when they cannot
    be read: before ``flask db upgrade`` made their tables)."""
    try:
        with database().transaction(write=False) as session:
            status = snapshot(session, now=clock.now())
    except SQLAlchemyError:
        return {"worker": {"status": "unknown"}, "outbox": None}
    age = status.heartbeat_age
    return {
        "worker": {
            "status": status.worker_state(settings()),
            "last_heartbeat": _iso(status.heartbeat_at),
            "heartbeat_age_seconds": round(age) if age is not None else None,
        },
        "outbox": {
            "pending": status.outbox_pending,
            "oldest_pending_age_seconds": round(status.outbox_oldest_age),
        },
    }
