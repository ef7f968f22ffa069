"""What a task clock's threshold leaves on the case, and the escalation rules of a breach: the
one place both the sweep (``portal.sla.sweep``, which also tells people) and a replayed history
(the demo, which tells no one) apply them.

- 75% (at risk): an internal ``sla`` entry ``{"action": "at_risk", "task_id",
  "department_name"}``;
- 100% (breach): the entry ``{"action": "breached", ..., "level"}``; the task's escalation level
  goes up by one and the department's breach actions apply: its escalation queue
  (``"queue": "escalation"``), the case's priority one step higher (``"raised_priority"``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from portal.casework.models import Task
from portal.requests.events import add_event
from portal.requests.models import PRIORITIES, ServiceRequest

AT_RISK = 75
BREACHED = 100


def escalate(task: Task, request: ServiceRequest, *, now: datetime) -> dict[str, Any]:
    """Raise the task's escalation level and do what its department asks on a breach; returns
    what was done (for the timeline entry)."""
    task.escalation_level += 1
    task.updated_at = now
    done: dict[str, Any] = {"level": task.escalation_level}
    actions = task.department.breach_actions or []
    if "escalation_queue" in actions and task.queue != "escalation":
        task.queue = "escalation"
        done["queue"] = "escalation"
    if "raise_priority" in actions:
        position = PRIORITIES.index(request.priority) if request.priority in PRIORITIES else 0
        if position + 1 < len(PRIORITIES):
            # Deliberately not a re-attach: the breach is not a new promise.
            done["raised_priority"] = {"from": request.priority, "to": PRIORITIES[position + 1]}
            request.priority = PRIORITIES[position + 1]
    return done


def record_task_threshold(
    session: Session, *, request: ServiceRequest, task: Task, percent: int, now: datetime
) -> dict[str, Any]:
    """A task clock passed ``percent`` (75 or 100): write the case's internal ``sla`` entry
    (at the clock's ``now``) and, on a breach, escalate. Tells no one. Returns the entry's
    data. Raises ``ValueError`` for another threshold (50% only notifies)."""
    if percent not in (AT_RISK, BREACHED):
        raise ValueError(f"threshold {percent} leaves nothing on the case")
    data: dict[str, Any] = {
        "action": "at_risk" if percent == AT_RISK else "breached",
        "task_id": task.id,
        "department_name": task.department.name,
    }
    if percent == BREACHED:
        data.update(escalate(task, request, now=now))
    add_event(session, request, "sla", data=data)
    return data
