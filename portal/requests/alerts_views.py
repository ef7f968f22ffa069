"""Residents subscribe to a daily digest of new requests in an area."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("alerts", __name__, url_prefix="/my/alerts")


@bp.get("/")
def index():
    return "alerts"
