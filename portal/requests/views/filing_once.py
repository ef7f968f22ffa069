"""The check step's "Send my request", once: a double click (or a browser resending the form)
lands on the same request's confirmation instead of filing it twice.

The check page carries a hidden ``idempotency_key``, made when the page is shown; the POST
claims it (``portal.core.idempotency``, scope ``web-filing``, as the offline page's POST
does) with a fingerprint of the draft it files. The first claim files and records the
reference; a second POST with the key gets that reference and goes to the confirmation, even
when it was sent before the first answer came back (its cookie still holding the draft):
the two meet on the key's unique constraint. A POST without a key (a page from before this
change) is handled as before. No JavaScript is needed.
"""

from __future__ import annotations

import secrets

from flask import redirect, request, session, url_for
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from portal.core import clock, idempotency
from portal.requests.models import ServiceRequest
from portal.requests.views.filing_steps import DRAFT_KEY, signed_in_user
from portal.requests.views.tracking import grant

FIELD = "idempotency_key"
SCOPE = "web-filing"


def new_key() -> str:
    """A key for one showing of the check page (32 URL-safe characters)."""
    return secrets.token_urlsafe(24)


def claim(db: Session) -> tuple[idempotency.IdempotencyKey | None, Response | None]:
    """Claim the POST's key: ``(row, None)`` to file (then ``record``), ``(None, redirect)``
    when this submission was already filed, ``(None, None)`` without a usable key."""
    key = request.form.get(FIELD, "")
    if not idempotency.valid_key(key):
        return None, None
    user = signed_in_user()
    digest = idempotency.fingerprint({"check": session.get(DRAFT_KEY) or ""})
    try:
        row, replay = idempotency.claim(
            db,
            scope=SCOPE,
            key=key,
            owner=f"user:{user.id}" if user is not None else "anonymous",
            digest=digest,
            now=clock.now(),
        )
    except idempotency.KeyReused:
        # The key's draft was filed and this browser has moved on (its draft is gone): the
        # confirmation if it has one, else the check page again with a new key.
        if session.get("filed_reference"):
            return None, redirect(url_for("requests_filing.done"))
        return None, redirect(url_for("requests_filing.check"))
    if replay is None:
        return row, None
    session.pop(DRAFT_KEY, None)
    session["filed_reference"] = replay.response.get("reference")
    filed = db.get(ServiceRequest, replay.result_id) if replay.result_id else None
    if filed is not None and replay.response.get("granted"):
        grant(filed)
    return None, redirect(url_for("requests_filing.done"))


def record(row: idempotency.IdempotencyKey | None, filed: ServiceRequest, *, granted: bool) -> None:
    if row is not None:
        idempotency.record(
            row,
            status_code=303,
            response={"reference": filed.reference, "granted": granted},
            result_id=filed.id,
        )


def release(db: Session, row: idempotency.IdempotencyKey | None) -> None:
    """A claim that filed nothing (a step missing, a refusal) is let go, so the key is free."""
    if row is not None and row.result_id is None:
        db.delete(row)
        db.flush()
