"""The events webhooks send, from the case's own hooks (``portal.core.hooks``): a request filed
(after routing chose its department), a status change, a task added (a case's first task with
the filing) or done, a public comment. Connected by ``connect()``, last."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.casework import hooks as casework_hooks
from portal.casework.models import Task
from portal.core import clock
from portal.requests import hooks as request_hooks
from portal.requests.models import ServiceRequest
from portal.webhooks import events


def _public(request: ServiceRequest | None) -> bool:
    return request is not None and bool(request.is_public)


def _filed(session: Session, change: request_hooks.CaseFiled) -> None:
    """request.created, then task.added for the first task routing opened (its own hook,
    ``case_routed``, fires while the case is being filed, before this one)."""
    request = change.request
    if not _public(request) or not events.subscribed(
        session, events.REQUEST_CREATED, events.TASK_ADDED
    ):
        return
    data = {"request": events.request_data(request, change.settings)}
    events.emit(session, events.REQUEST_CREATED, data, now=clock.now())
    first = session.scalars(select(Task).where(Task.request_id == request.id).order_by(Task.id))
    for task in first:
        _task(session, events.TASK_ADDED, task)


def _status_changed(session: Session, change: request_hooks.StatusChanged) -> None:
    if not _public(change.request) or not events.subscribed(session, events.STATUS_CHANGED):
        return
    note = (change.event.body or None) if change.event.public else None
    data = {
        "request": events.request_data(change.request, change.settings, status_notes=note),
        "previous_status": change.previous,
        "status": change.request.status,
        "note": note,
    }
    events.emit(session, events.STATUS_CHANGED, data, now=clock.now())


def _comment(session: Session, change: request_hooks.CommentPosted) -> None:
    if (
        not _public(change.request)
        or not change.event.public
        or not events.subscribed(session, events.COMMENT_ADDED)
    ):
        return
    data = {
        "request": events.request_data(change.request, change.settings),
        "comment": events.comment_data(change.event, change.settings),
    }
    events.emit(session, events.COMMENT_ADDED, data, now=clock.now())


def _task(session: Session, event_type: str, task: Task) -> None:
    request = task.request
    if not _public(request) or not events.subscribed(session, event_type):
        return
    data = {"request": events.request_data(request, None), "task": events.task_data(task)}
    events.emit(session, event_type, data, now=clock.now())


def _task_opened(session: Session, change: casework_hooks.TaskChanged) -> None:
    _task(session, events.TASK_ADDED, change.task)


def _task_closed(session: Session, change: casework_hooks.TaskChanged) -> None:
    if change.task.status == "done":
        _task(session, events.TASK_DONE, change.task)


def connect() -> None:
    request_hooks.case_filed.connect(_filed)
    request_hooks.case_status_changed.connect(_status_changed)
    request_hooks.comment_posted.connect(_comment)
    casework_hooks.task_opened.connect(_task_opened)
    casework_hooks.task_closed.connect(_task_closed)
