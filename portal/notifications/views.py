"""Development-only: the demo mailbox of messages written to disk."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("mail", __name__, url_prefix="/dev/mail")


@bp.get("/")
def outbox():
    return "mailbox"
