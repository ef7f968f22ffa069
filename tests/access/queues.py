"""Who may use the staff queues and their bulk actions."""

from sqlalchemy import select
from sqlalchemy.orm import object_session

from portal.casework.models import Task
from tests.access import ADMINS, CASEWORK, CASEWORK_X, RouteCheck


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
]
