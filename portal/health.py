"""Liveness and database readiness for load balancers."""

from __future__ import annotations

from flask import Blueprint
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from portal.web import database

bp = Blueprint("health", __name__)


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
    return {"status": "ok", "database": "ok"}, 200
