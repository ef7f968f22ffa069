"""Residents: file a request, track it, follow it, talk with staff."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("requests", __name__)


@bp.get("/report")
def start():
    return "start"


@bp.get("/requests")
def find():
    return "find"


@bp.get("/my/requests")
def mine():
    return "mine"


@bp.get("/my/alerts")
def alerts():
    return "alerts"
