"""Who may use the staff queues and their bulk actions."""

from sqlalchemy import select
from sqlalchemy.orm import object_session

from portal.casework.models import Task
from portal.casework.saved_views import SavedView
from tests.access import ADMINS, CASEWORK, CASEWORK_X, RouteCheck, made


def _task_x(world) -> int:
    """An open task of department X on request X (made on first use, in the walk's session)."""
    session = object_session(world.request_x)
    task_id = session.scalar(
        select(Task.id).where(
            Task.request_id == world.request_x.id, Task.department_id == world.dept_x.id
        )
    )
    if task_id is None:
        task = Task(request_id=world.request_x.id, department_id=world.dept_x.id, title="Fix")
        session.add(task)
        session.flush()
        task_id = task.id
    return task_id


def _saved_view_of_agent_x(world) -> int:
    """A saved view of agent X: only they may delete it (the others get a 404)."""
    return made(
        world,
        "_saved_view_x",
        lambda w: SavedView(user_id=w.users["agent_x"].id, name="Mine", view="mine", query=""),
    ).id


SINCE = "20260101000000000000"

CHECKS = [
    RouteCheck("casework_queue.queue", lambda w: "/staff/", CASEWORK),
    RouteCheck("casework_queue.department", lambda w: "/staff/queue/department", CASEWORK),
    RouteCheck("casework_queue.unassigned", lambda w: "/staff/queue/unassigned", CASEWORK),
    RouteCheck("casework_queue.waiting", lambda w: "/staff/queue/waiting", CASEWORK),
    RouteCheck("casework_queue.resolved", lambda w: "/staff/queue/resolved", CASEWORK),
    RouteCheck("casework_queue.everything", lambda w: "/staff/queue/everything", ADMINS),
    RouteCheck(
        "casework_queue.map_features",
        lambda w: "/staff/queue/map.geojson?view=mine&bbox=-87.02,40.98,-86.98,41.02",
        CASEWORK,
    ),
    RouteCheck(
        "casework_queue.bulk",
        lambda w: "/staff/queue/bulk",
        CASEWORK_X,
        method="POST",
        data=lambda w: {"task": str(_task_x(w)), "action": "priority", "bulk_priority": "high"},
    ),
    # Saved views: each member their own.
    RouteCheck(
        "casework_queue.save",
        lambda w: "/staff/queue/views",
        CASEWORK,
        method="POST",
        data=lambda w: {"name": "Walk", "view": "department", "query": "status=new"},
    ),
    RouteCheck(
        "casework_queue.delete",
        lambda w: f"/staff/queue/views/{_saved_view_of_agent_x(w)}/delete",
        frozenset({"agent_x"}),
        method="POST",
    ),
    # Polling: the member's own queue and unread count, never another department's.
    RouteCheck("casework_queue.updates", lambda w: "/staff/queue/updates", CASEWORK),
    RouteCheck(
        "casework_queue.updates",
        lambda w: f"/staff/queue/updates?view=department&since={SINCE}&department={w.dept_x.id}",
        CASEWORK_X,
    ),
]
