"""Staff admin routes: admins only; a department's read-only list for its supervisors."""

from datetime import UTC, datetime

from portal.auth.models import UserIdentity
from tests.access import ADMINS, SUPERVISORS, RouteCheck, made


def _identity(world):
    """A single sign-on link of agent_y (issue 24)."""
    return made(
        world,
        "_identity_y",
        lambda w: UserIdentity(
            user_id=w.users["agent_y"].id,
            issuer="https://login.example",
            subject="agent-y",
            email=w.users["agent_y"].email,
            created_at=datetime(2026, 1, 1, tzinfo=UTC),
        ),
    )


CHECKS = [
    RouteCheck("staff.members", lambda w: "/staff/admin/staff/", ADMINS),
    RouteCheck("staff.members", lambda w: "/staff/admin/staff/?role=agent&status=active", ADMINS),
    RouteCheck("staff.new", lambda w: "/staff/admin/staff/new", ADMINS),
    RouteCheck(
        "staff.new",
        lambda w: "/staff/admin/staff/new",
        ADMINS,
        method="POST",
        data=lambda w: {"email": "", "name": ""},
    ),
    RouteCheck("staff.edit", lambda w: f"/staff/admin/staff/{w.users['agent_y'].id}", ADMINS),
    RouteCheck(
        "staff.edit",
        lambda w: f"/staff/admin/staff/{w.users['agent_y'].id}",
        ADMINS,
        method="POST",
        data=lambda w: {"name": ""},
    ),
    RouteCheck(
        "staff.deactivate",
        lambda w: f"/staff/admin/staff/{w.users['agent_y'].id}/deactivate",
        ADMINS,
        method="POST",
    ),
    RouteCheck(
        "staff.reactivate",
        lambda w: f"/staff/admin/staff/{w.users['agent_y'].id}/reactivate",
        ADMINS,
        method="POST",
    ),
    RouteCheck(
        "staff.unlink_sign_in",
        lambda w: (
            f"/staff/admin/staff/{w.users['agent_y'].id}/sign-in-links/{_identity(w).id}/remove"
        ),
        ADMINS,
        method="POST",
    ),
    RouteCheck(
        "staff.department",
        lambda w: f"/staff/admin/staff/department/{w.dept_x.code}",
        SUPERVISORS,
    ),
    RouteCheck(
        "staff.department", lambda w: f"/staff/admin/staff/department/{w.dept_y.code}", ADMINS
    ),
]
