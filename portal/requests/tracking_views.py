"""Residents track a request: the public page, follow, support, conversation, reopen."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("tracking", __name__)


@bp.get("/requests")
def find():
    return "find"


@bp.get("/my/requests")
def mine():
    return "mine"
