"""The staff resident page: admins, and casework staff who may open one of the person's
requests (here a resident whose only request is in department X); coordinators, residents and
staff of other departments are refused (403 or 404)."""

from __future__ import annotations

from datetime import UTC, datetime

from portal.auth.models import User
from portal.casework.views.residents import signed_key
from portal.requests.models import ServiceRequest
from tests.access import CASEWORK_X, RouteCheck, made

#: The ``settings`` fixture's secret key (tests/conftest.py): the walk builds URLs outside the app.
SECRET = "test-secret-key-that-is-long-enough-for-signing"


def _resident(world) -> User:
    def build(w) -> User:
        return User(
            email="walk-resident@example.org",
            password_hash="!",
            name="Walk Resident",
            email_verified_at=datetime(2026, 1, 1, tzinfo=UTC),
        )

    user = made(world, "_resident", build)
    made(world, "_resident_request", lambda w: _request(w.request_x, reporter_id=user.id))
    return user


def _request(like: ServiceRequest, **kw) -> ServiceRequest:
    """A request of the same category and department as ``like`` (the walk's own requests
    change as it goes: their versions move)."""
    return ServiceRequest(
        category_id=like.category_id,
        department_id=like.department_id,
        description="Walk",
        reference=f"SR-WALK-{like.id}",
        **kw,
    )


def _by_account(world) -> str:
    return f"/staff/residents/{signed_key(SECRET, 'u', _resident(world).id)}"


def _by_request(world) -> str:
    request = made(
        world,
        "_no_account_request",
        lambda w: _request(w.request_y, contact_email="no-account@example.org"),
    )
    return f"/staff/residents/{signed_key(SECRET, 'r', request.id)}"


CHECKS = [
    RouteCheck("staff_residents.show", _by_account, CASEWORK_X),
    RouteCheck("staff_residents.show", _by_request, frozenset({"agent_y", "admin"})),
]
