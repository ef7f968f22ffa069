"""How the SLA clocks follow a case: handlers of the case's hooks (``portal.core.hooks``),
connected by ``connect()``. Each runs in the transaction of the change it reacts to."""

from __future__ import annotations

from sqlalchemy.orm import Session

from portal.casework import hooks as casework_hooks
from portal.requests import hooks as request_hooks
from portal.routing import hooks as routing_hooks
from portal.sla import service


def _routed(session: Session, routed: routing_hooks.CaseRouted) -> None:
    service.start_case(session, routed.request, routed.task)


def _task_opened(session: Session, change: casework_hooks.TaskChanged) -> None:
    service.start_task(session, change.task, now=change.now)


def _task_closed(session: Session, change: casework_hooks.TaskChanged) -> None:
    service.stop_task(session, change.task, now=change.now)


def _reclassified(session: Session, change: casework_hooks.CaseReclassified) -> None:
    service.reattach(session, change.request, reason=change.reason)


def _status_changed(session: Session, change: request_hooks.StatusChanged) -> None:
    service.sync_request(session, change.request)


def _staff_replied(session: Session, reply: request_hooks.StaffReplied) -> None:
    service.record_public_reply(session, reply.request)


def connect() -> None:
    routing_hooks.case_routed.connect(_routed)
    casework_hooks.task_opened.connect(_task_opened)
    casework_hooks.task_closed.connect(_task_closed)
    casework_hooks.case_reclassified.connect(_reclassified)
    request_hooks.case_status_changed.connect(_status_changed)
    request_hooks.staff_replied.connect(_staff_replied)
