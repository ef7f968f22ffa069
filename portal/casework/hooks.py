"""Events of a case's tasks and of its classification, for features above casework to react
to (see ``portal.core.hooks``). Each is fired by the one function that makes the change, in
``portal.casework.tasks`` (task hooks) and ``portal.casework.service`` (``case_reclassified``):

- ``task_opened``: ``add_task`` and ``transfer_task`` (the new task); a case's first task is
  opened by routing, whose ``case_routed`` hook starts its clock with the case's;
- ``task_closed``: every task that ends — done, cancelled, transferred, or closed with its case;
- ``task_assigned``: ``assign_task`` gave an open task to someone (or back to the queue);
- ``case_reclassified``: ``set_priority`` and ``change_category`` (the targets that apply may
  have changed).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from portal.auth.models import User
from portal.casework.models import Task
from portal.core.config import Settings
from portal.core.hooks import Hook
from portal.requests.models import ServiceRequest


@dataclass(frozen=True)
class TaskChanged:
    task: Task
    now: datetime


@dataclass(frozen=True)
class TaskAssigned:
    task: Task
    assignee: User | None
    actor: User
    settings: Settings | None


@dataclass(frozen=True)
class CaseReclassified:
    request: ServiceRequest
    reason: str


task_opened: Hook[TaskChanged] = Hook("task_opened", "A new open task (not the first).")
task_closed: Hook[TaskChanged] = Hook("task_closed", "A task ended, whatever the reason.")
task_assigned: Hook[TaskAssigned] = Hook("task_assigned", "An open task changed hands.")
case_reclassified: Hook[CaseReclassified] = Hook(
    "case_reclassified", "The case's priority or category changed."
)
