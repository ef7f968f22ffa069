"""The case page and its actions: staff of the case's department (or of one of its tasks)."""

from __future__ import annotations

from sqlalchemy.orm import object_session

from portal.casework.models import Task
from tests.access import CASEWORK_X, RouteCheck


def _task_x(world) -> int:
    """An open task of department X on request X (made once per world)."""
    task = getattr(world, "_case_task_x", None)
    if task is None:
        session = object_session(world.request_x)
        task = Task(
            request_id=world.request_x.id, department_id=world.dept_x.id, title="Look at it"
        )
        session.add(task)
        session.flush()
        world._case_task_x = task
    return task.id


def _case(world) -> str:
    return f"/staff/cases/{world.request_x.reference}"


def _post(endpoint: str, action: str) -> RouteCheck:
    # Empty forms: allowed users get a form error or an edit conflict, nothing is saved.
    return RouteCheck(endpoint, lambda w: f"{_case(w)}/{action}", CASEWORK_X, method="POST")


def _task_post(endpoint: str, action: str) -> RouteCheck:
    return RouteCheck(
        endpoint, lambda w: f"{_case(w)}/tasks/{_task_x(w)}/{action}", CASEWORK_X, method="POST"
    )


CHECKS = [
    RouteCheck("casework_case.show", _case, CASEWORK_X),
    RouteCheck(
        "casework_case.nearby_map",
        lambda w: f"{_case(w)}/nearby.geojson?bbox=-87.02,40.98,-86.98,41.02",
        CASEWORK_X,
    ),
    # No such photo: a 404 for everyone (serving real photos is tested in
    # tests/casework/test_case.py), but anonymous visitors are still asked to sign in and
    # residents refused.
    RouteCheck("casework_case.photo", lambda w: f"{_case(w)}/photos/999999", frozenset()),
    _post("casework_case.acknowledge", "acknowledge"),
    _post("casework_case.priority", "priority"),
    _post("casework_case.category", "category"),
    _post("casework_case.status", "status"),
    _post("casework_case.reply", "reply"),
    _post("casework_case.note", "note"),
    _post("casework_case.question", "question"),
    _post("casework_case.compose", "compose"),
    _post("casework_case.merge", "merge"),
    _post("casework_case.not_duplicate", "not-duplicate"),
    _post("casework_case.reopen", "reopen"),
    _post("casework_case.place", "place"),
    _post("casework_case.add_task", "tasks"),
    _task_post("casework_case.assign_task", "assign"),
    _task_post("casework_case.complete_task", "complete"),
    _task_post("casework_case.cancel_task", "cancel"),
    _task_post("casework_case.transfer_task", "transfer"),
]
