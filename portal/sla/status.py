"""How a clock or a task stands against its promise, for every screen that shows one."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from portal.core.i18n import _l
from portal.sla.models import DEFAULT_PAUSE_STATUSES

if TYPE_CHECKING:
    from portal.casework.models import Task
    from portal.requests.models import ServiceRequest
    from portal.sla.models import SlaClock

STATE_NAMES: dict[str, str] = {
    "none": _l("No target"),
    "on_time": _l("On time"),
    "at_risk": _l("At risk"),
    "breached": _l("Breached"),
    "paused": _l("Paused"),
    "met": _l("Met"),
    "missed": _l("Missed"),
    "cancelled": _l("Cancelled"),
    "transferred": _l("Transferred"),
}

#: USWDS utility classes for the state tags (text contrast checked against WCAG AA).
STATE_CLASSES: dict[str, str] = {
    "none": "bg-base-lighter text-ink",
    "on_time": "bg-success-darker",
    "at_risk": "bg-warning text-ink",
    "breached": "bg-secondary-darker",
    "paused": "bg-base-dark",
    "met": "bg-success-darker",
    "missed": "bg-secondary-darker",
    "cancelled": "bg-base-dark",
    "transferred": "bg-base-dark",
}

KIND_NAMES: dict[str, str] = {
    "first_response": _l("First response"),
    "resolution": _l("Resolution"),
    "update": _l("Regular update"),
}


@dataclass(frozen=True)
class SlaState:
    code: str
    due_at: datetime | None = None
    #: How late, in wall-clock seconds, when breached (running) or missed (stopped late).
    late_seconds: int = 0
    #: Share of the target used, for display only (decisions use exact seconds).
    percent: int = 0

    @property
    def is_late(self) -> bool:
        return self.code in ("breached", "missed")


def _live(
    due_at: datetime | None, at_risk_at: datetime | None, now: datetime, percent: int = 0
) -> SlaState:
    if due_at is not None and now > due_at:
        return SlaState("breached", due_at, int((now - due_at).total_seconds()), percent)
    if at_risk_at is not None and now >= at_risk_at:
        return SlaState("at_risk", due_at, 0, percent)
    return SlaState("on_time", due_at, 0, percent)


def clock_state(clock: SlaClock, now: datetime) -> SlaState:
    percent = int(100 * clock.working_seconds / clock.target_seconds) if clock.target_seconds else 0
    if clock.stage == "running":
        return _live(clock.due_at, clock.at_risk_at, now, percent)
    if clock.stage == "paused":
        if clock.breached_at is not None:
            late = int((now - clock.breached_at).total_seconds())
            return SlaState("breached", clock.due_at, late, percent)
        return SlaState("paused", None, 0, percent)
    if clock.stage == "breached":
        late = 0
        if clock.breached_at is not None and clock.stopped_at is not None:
            late = int((clock.stopped_at - clock.breached_at).total_seconds())
        return SlaState("missed", clock.due_at, late, percent)
    return SlaState(clock.stage, clock.due_at, 0, percent)


def task_state(task: Task, now: datetime) -> SlaState:
    """From the task's own columns only (cheap in lists)."""
    stage = task.sla_stage
    if stage is None:
        return SlaState("none")
    if stage == "running":
        return _live(task.due_at, task.at_risk_at, now)
    if stage == "paused":
        if task.due_at is not None and now > task.due_at:  # breached before the pause
            return SlaState("breached", task.due_at, int((now - task.due_at).total_seconds()))
        return SlaState("paused")
    if stage == "breached":
        return SlaState("missed", task.due_at)
    return SlaState(stage, task.due_at)


def case_state(request: ServiceRequest, now: datetime) -> SlaState:
    """The resident-facing promise from the case's own columns (cheap in lists): breached
    once ``expected_at`` has passed, paused while waiting, else on time."""
    if not request.is_open:
        return SlaState("none")
    if request.expected_at is None:
        paused = request.status in DEFAULT_PAUSE_STATUSES
        return SlaState("paused" if paused else "none")
    return _live(request.expected_at, None, now)
