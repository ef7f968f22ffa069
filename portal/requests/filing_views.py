"""Residents file a request: the multi-step form."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("filing", __name__, url_prefix="/report")


@bp.get("/")
def start():
    return "start"
