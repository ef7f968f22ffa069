"""The work behind a demo case: its department task and SLA clocks, moved along with its story.

``portal.demo.timeline`` writes what happened; ``CaseWork`` does to the task and the clocks what
casework does at the same moments, through ``portal.sla.service`` with the story's own times:
the clocks start when the case is filed, a public staff reply meets the first response, waiting
statuses pause them, finishing the task stops its clock and resolving the case stops the case's.
Thresholds are acted on as a worker sweeping all along would have: before each step of the
story (and once more at the load's "now") the task clock's thresholds passed since are written
on the case at their own moments, at risk and breached, and a breach escalates the task with the
department's rules (``portal.sla.thresholds``: level, escalation queue, priority), so a task
weeks late shows the level it would have reached. Nobody is told (it is history). ``settle`` then
marks the case clocks' thresholds already crossed as fired, so loading the demo sends no burst of
SLA notices when the worker starts.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.casework.models import Task
from portal.core import clock as wall
from portal.requests.models import ServiceRequest
from portal.sla import clocks
from portal.sla import service as sla
from portal.sla.models import LIVE_STAGES, THRESHOLDS, SlaClock
from portal.sla.thresholds import AT_RISK, BREACHED, record_task_threshold

#: The task's status for each case status (closed work is done, refused work cancelled).
TASK_STATUS = {
    "new": "open",
    "acknowledged": "open",
    "in_progress": "in_progress",
    "waiting_on_resident": "waiting",
    "waiting_on_third_party": "waiting",
    "scheduled": "in_progress",
    "resolved": "done",
    "closed": "done",
    "rejected": "cancelled",
    "duplicate": "cancelled",
}
CLOSED_TASK = ("done", "cancelled")


class CaseWork:
    """One demo case's task (in the case's department) and clocks, from its filing on.

    New cases wait unassigned in the queue; the rest belong to ``assignee``.
    ``pause_statuses`` are every case status a policy pauses on: a move that neither opens,
    closes, nor enters or leaves a pause changes no clock, so it is not synced (the load makes
    thousands of moves; this keeps it fast)."""

    def __init__(
        self,
        session: Session,
        request: ServiceRequest,
        *,
        title: str,
        assignee_id: int | None,
        pause_statuses: frozenset[str],
    ) -> None:
        self.session = session
        self.request = request
        self.title = title
        self.assignee_id = assignee_id
        self.pause_statuses = pause_statuses
        self.task = self._new_task(request.created_at)
        self.state = self._state()
        started = sla.start_case(session, request, self.task, now=request.created_at)
        #: The open task's resolution clock (None when no policy gives it one).
        self.clock = next((c for c in started if c.task_id == self.task.id), None)

    def _state(self) -> tuple[bool, bool]:
        """Whether the case is open, and whether its clocks would be paused."""
        return self.request.is_open, (
            self.request.status in self.pause_statuses or self.task.status == "waiting"
        )

    def _new_task(self, at: datetime) -> Task:
        task = Task(
            request_id=self.request.id,
            department_id=self.request.department_id,
            assignee_id=self.assignee_id,
            title=self.title,
            status=TASK_STATUS[self.request.status],
            is_open=True,
            created_at=at,
            updated_at=at,
        )
        self.session.add(task)
        self.session.flush()
        return task

    def moved(self, *, now: datetime, staff_reply: bool) -> None:
        """The case has just moved to its current status (its event written)."""
        task, status = self.task, TASK_STATUS[self.request.status]
        if task.is_open and status in CLOSED_TASK:
            task.status, task.is_open, task.closed_at, task.updated_at = status, False, now, now
            sla.stop_task(self.session, task, now=now)
        elif task.is_open and task.status != status:
            task.status, task.updated_at = status, now
        before, self.state = self.state, self._state()
        if self.state != before:
            sla.sync_request(self.session, self.request, now=now)
        if not task.is_open and self.request.is_open:  # reopened: the crew has work again
            self.task = self._new_task(now)
            self.clock = sla.start_task(self.session, self.task, now=now, at=now)
            self.state = self._state()
        if staff_reply:
            self.replied(now=now)

    def catch_up(self, now: datetime) -> None:
        """Act on the task clock's thresholds passed before ``now``, each at its own moment
        (the shared clock is left frozen at the last one): the at-risk and breached entries and
        the breach's escalation. A clock with no threshold due costs one comparison."""
        clock, task = self.clock, self.task
        if clock is None or not task.is_open or clock.stage not in LIVE_STAGES:
            return
        if clock.next_threshold_at is None or clock.next_threshold_at >= now:
            return
        calendar = sla.calendar_for(self.session, clock)
        for percent in THRESHOLDS:
            if percent <= clock.thresholds_fired:
                continue
            moment = clocks.threshold_moment(clock, calendar, percent)
            if moment is None or moment >= now:
                break
            clock.thresholds_fired = percent
            if percent in (AT_RISK, BREACHED):
                wall.freeze(moment)
                record_task_threshold(
                    self.session, request=self.request, task=task, percent=percent, now=moment
                )
        clocks.refresh(clock, calendar, now)

    def replied(self, *, now: datetime) -> None:
        """Staff said something public to the resident (a closed case's clocks are stopped:
        nothing to record)."""
        if self.request.is_open:
            sla.record_public_reply(self.session, self.request, now=now)


def settle(session: Session, *, first_request_id: int, now: datetime) -> int:
    """Mark the thresholds the demo's live clocks have already crossed as fired, without
    telling anyone (the sweep would otherwise notify for months of replayed time); the task
    clocks' were acted on already (``CaseWork.catch_up``). Returns how many clocks were
    settled."""
    live = session.scalars(
        select(SlaClock).where(
            SlaClock.request_id >= first_request_id, SlaClock.stage.in_(LIVE_STAGES)
        )
    )
    count = 0
    for clock in live:
        clocks.catch_up(clock, sla.calendar_for(session, clock), now)
        count += 1
    session.flush()
    return count
