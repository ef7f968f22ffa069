"""Staff notices: every member doing casework has their own; a notice is only its owner's."""

from __future__ import annotations

from sqlalchemy.orm import object_session

from portal.notifications.models import StaffNotice
from tests.access import CASEWORK, RouteCheck


def _notice_of_agent_x(world) -> int:
    """An unread notice of agent X (made once per world): the others get a 404."""
    notice = getattr(world, "_notice_x", None)
    if notice is None:
        session = object_session(world.dept_x)
        notice = StaffNotice(
            user_id=world.users["agent_x"].id,
            kind="task_assigned",
            request_id=world.request_x.id,
            data={"reference": world.request_x.reference},
        )
        session.add(notice)
        session.flush()
        world._notice_x = notice
    return notice.id


BASE = "/staff/notices"

CHECKS = [
    RouteCheck("notifications_notices.index", lambda w: BASE, CASEWORK),
    RouteCheck(
        "notifications_notices.read",
        lambda w: f"{BASE}/{_notice_of_agent_x(w)}/read",
        frozenset({"agent_x"}),
        method="POST",
    ),
    RouteCheck(
        "notifications_notices.read_all", lambda w: f"{BASE}/read-all", CASEWORK, method="POST"
    ),
    RouteCheck("notifications_notices.email_settings", lambda w: f"{BASE}/settings", CASEWORK),
    RouteCheck(
        "notifications_notices.email_settings",
        lambda w: f"{BASE}/settings",
        CASEWORK,
        method="POST",
        data=lambda w: {"notice_email": "daily"},
    ),
]
