"""Outside systems (issue 24, outbound Open311): admins only (the list, send a task again)."""

from tests.access import ADMINS, RouteCheck


def _link_id(world) -> int:
    """A task of request X that an outside system refused (made on first use)."""
    from sqlalchemy.orm import object_session

    from portal.casework.models import Task
    from portal.outbound.models import OutboundTask

    found = getattr(world, "_outbound_link_id", None)
    if found is None:
        session = object_session(world.request_x)
        task = Task(request_id=world.request_x.id, department_id=world.dept_x.id, title="Out")
        session.add(task)
        session.flush()
        link = OutboundTask(
            task_id=task.id,
            system="Works",
            endpoint="https://works.example.com/open311/v2/",
            service_code="hole",
            idempotency_key="walk",
            state="failed",
            last_error="refused",
        )
        session.add(link)
        session.flush()
        world._outbound_link_id = found = link.id
    return found


CHECKS = [
    RouteCheck("outbound_admin.index", lambda w: "/staff/outbound/", ADMINS),
    RouteCheck("outbound_admin.index", lambda w: "/staff/outbound/?state=failed&before=9", ADMINS),
    RouteCheck(
        "outbound_admin.send_again",
        lambda w: f"/staff/outbound/{_link_id(w)}/send-again",
        ADMINS,
        method="POST",
    ),
]
