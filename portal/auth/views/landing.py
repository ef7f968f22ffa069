"""What the sign-in pages share with single sign-on (``portal.auth.views.oidc``): where a
person lands after signing in, the safe ``next`` target, the sign-in attempts' limit."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import url_for

from portal.auth.models import User
from portal.staff.permissions import staff_access
from portal.web import db_session

#: Per client address; tests run with rate limiting off except the one that checks it.
ATTEMPTS_LIMIT = "10 per minute"


def safe_next(target: str | None) -> str | None:
    """``target`` if it is a path on this site, else None (no open redirects)."""
    if not target or len(target) > 2000:
        return None
    if not target.startswith("/") or target.startswith("//"):
        return None
    if any(ch in target for ch in "\\") or any(ord(ch) < 32 or ord(ch) == 127 for ch in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


def landing_page(user: User) -> str:
    """Where a person starts after signing in: staff where they work (coordinators on the
    programmes, supervisors on the escalations, agents and admins on the queue), residents
    and staff without a department on their account."""
    access = staff_access(db_session(), user)
    if access is None:
        return url_for("auth.account")
    if access.is_coordinator:
        return url_for("programmes_admin.index")
    if not access.is_admin and access.supervised_department_ids:
        return url_for("sla_escalations.index")
    if access.does_casework:
        return url_for("casework_queue.queue")
    return url_for("auth.account")


__all__ = ["ATTEMPTS_LIMIT", "landing_page", "safe_next"]
