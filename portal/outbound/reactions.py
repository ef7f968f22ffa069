"""Outbound Open311's handlers (``portal.core.hooks``): a task opened for a department served
by an outside endpoint is handed to it, in the transaction that opens the task."""

from __future__ import annotations

from sqlalchemy.orm import Session

from portal.casework import hooks as casework_hooks
from portal.outbound import service
from portal.routing import hooks as routing_hooks


def _routed(session: Session, routed: routing_hooks.CaseRouted) -> None:
    service.hand_over(session, routed.task)


def _task_opened(session: Session, change: casework_hooks.TaskChanged) -> None:
    service.hand_over(session, change.task)


def connect() -> None:
    routing_hooks.case_routed.connect(_routed)
    casework_hooks.task_opened.connect(_task_opened)
