"""The SLA sweep: act on every clock that has crossed its next threshold, exactly once.

A clock carries ``next_threshold_at``, the instant its next unfired threshold (50, 75, 100% of
the target) falls, so a sweep reads only the clocks whose moment has come (an index range),
never the open work as a whole. Each batch is one transaction: the rows are locked with
``FOR UPDATE SKIP LOCKED`` on PostgreSQL (several workers share the work) and taken under the
write lock on SQLite, and each threshold is claimed with a conditional ``UPDATE`` on
``thresholds_fired``, so however many sweeps run, a threshold is acted on once.

What a threshold does:
- task clocks: 50% tells the assignee; 75% (at risk) tells the assignee and the department's
  supervisors; 100% (breach) tells both, raises the task's escalation level and applies the
  department's breach actions (its escalation queue, a higher case priority);
- case clocks (the promises made to the resident): a breach is written on the case; the
  notices and escalation belong to the task clocks (the departments' own promises), so a
  supervisor is not told twice about one late piece of work.
Several thresholds crossed at once (the worker was down) act as the highest one only. Emails
about a threshold crossed outside the department's working hours wait for its next working
period (the in-app notice appears at once).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.orm.exc import StaleDataError

from portal.auth.models import User
from portal.casework.models import Task
from portal.catalogue.models import Department
from portal.core.config import Settings
from portal.core.db import Database
from portal.notifications.staff import notify_staff
from portal.requests.events import add_event
from portal.requests.models import ServiceRequest
from portal.sla import clocks
from portal.sla.calendar import WorkingCalendar
from portal.sla.models import LIVE_STAGES, SlaClock
from portal.sla.service import _mirror_task, calendar_for, department_calendar
from portal.sla.thresholds import record_task_threshold
from portal.staff.models import StaffMembership

log = logging.getLogger(__name__)

NOTICE_KINDS = {50: "sla_half", 75: "sla_at_risk", 100: "sla_breached"}
BATCH = 200


@dataclass
class SweepStats:
    examined: int = 0
    fired: dict[int, int] = field(default_factory=lambda: {50: 0, 75: 0, 100: 0})
    notices: int = 0

    def __str__(self) -> str:
        return (
            f"{self.examined} clock(s) examined; fired 50%: {self.fired[50]}, "
            f"75%: {self.fired[75]}, breach: {self.fired[100]}; "
            f"{self.notices} notice(s)"
        )


def _supervisors(session: Session, department_id: int) -> list[User]:
    return list(
        session.scalars(
            select(User)
            .join(StaffMembership, StaffMembership.user_id == User.id)
            .where(
                StaffMembership.department_id == department_id,
                StaffMembership.role == "supervisor",
                User.active.is_(True),
            )
            .order_by(User.id)
        )
    )


def _claim(session: Session, clock: SlaClock, before: int, reached: int) -> bool:
    """Take the threshold for this sweep: only one transaction can move it from ``before``."""
    result = cast(
        CursorResult[Any],
        session.execute(
            update(SlaClock)
            .where(SlaClock.id == clock.id, SlaClock.thresholds_fired == before)
            .values(thresholds_fired=reached),
            execution_options={"synchronize_session": False},
        ),
    )
    return result.rowcount == 1


class _Sweep:
    """One batch's work. Rows the batch needs are loaded together and held here (the
    session's identity map holds them only weakly), so a batch costs a few statements per
    clock acted on, not a lookup per relation."""

    def __init__(
        self,
        session: Session,
        settings: Settings,
        now: datetime,
        stats: SweepStats,
        due: list[SlaClock],
    ) -> None:
        self.session, self.settings, self.now, self.stats = session, settings, now, stats
        task_ids = [c.task_id for c in due if c.task_id is not None]
        self.tasks = (
            {
                t.id: t
                for t in session.scalars(
                    select(Task)
                    .where(Task.id.in_(task_ids))
                    .options(selectinload(Task.assignee), selectinload(Task.department))
                )
            }
            if task_ids
            else {}
        )
        self.requests = (
            {
                r.id: r
                for r in session.scalars(
                    select(ServiceRequest).where(ServiceRequest.id.in_({c.request_id for c in due}))
                )
            }
            if due
            else {}
        )
        self.departments = (
            {
                d.id: d
                for d in session.scalars(
                    select(Department).where(Department.id.in_({c.department_id for c in due}))
                )
            }
            if due
            else {}
        )
        self._supervisors: dict[int, list[User]] = {}
        self._calendars: dict[Any, WorkingCalendar] = {}

    def calendar(self, clock: SlaClock) -> WorkingCalendar:
        key = (clock.calendar_id, clock.unit)
        if key not in self._calendars:
            self._calendars[key] = calendar_for(self.session, clock)
        return self._calendars[key]

    def department_calendar(self, department_id: int) -> WorkingCalendar:
        key = ("department", department_id)
        if key not in self._calendars:
            self._calendars[key] = department_calendar(self.session, department_id)
        return self._calendars[key]

    def supervisors(self, department_id: int) -> list[User]:
        if department_id not in self._supervisors:
            self._supervisors[department_id] = _supervisors(self.session, department_id)
        return self._supervisors[department_id]

    def _tell(
        self,
        users: list[User],
        *,
        kind: str,
        clock: SlaClock,
        request: ServiceRequest,
        task: Task | None,
        late: int,
    ) -> None:
        opens = self.department_calendar(clock.department_id).next_working_moment(self.now)
        department = self.departments.get(clock.department_id)
        data: dict[str, Any] = {
            "reference": request.reference,
            "department_name": department.name if department else "",
            "due_at": clock.due_at.isoformat() if clock.due_at else None,
            "percent": clock.thresholds_fired,
            "late_seconds": late,
            "clock": clock.kind,
        }
        if task is not None:
            data["task_title"] = task.title
        seen: set[int] = set()
        for user in users:
            if user.id in seen:
                continue
            seen.add(user.id)
            notice = notify_staff(
                self.session,
                settings=self.settings,
                user=user,
                kind=kind,
                request=request,
                task=task,
                data=data,
                email_not_before=opens,
            )
            if notice is not None:
                self.stats.notices += 1

    def act(self, clock: SlaClock, percent: int) -> None:
        session = self.session
        request = self.requests[clock.request_id]
        late = (
            int((self.now - clock.due_at).total_seconds()) if percent == 100 and clock.due_at else 0
        )
        if clock.task_id is None:
            if percent == 100:
                department = self.departments.get(clock.department_id)
                add_event(
                    session,
                    request,
                    "sla",
                    data={
                        "action": "case_breached",
                        "clock": clock.kind,
                        "late_seconds": late,
                        "department_name": department.name if department else "",
                    },
                )
            return
        task = self.tasks.get(clock.task_id)
        if task is None or not task.is_open:
            return
        assignee = [task.assignee] if task.assignee is not None else []
        if percent == 50:
            self._tell(
                assignee, kind=NOTICE_KINDS[50], clock=clock, request=request, task=task, late=0
            )
            return
        supervisors = self.supervisors(task.department_id)
        record_task_threshold(session, request=request, task=task, percent=percent, now=self.now)
        self._tell(
            assignee + supervisors,
            kind=NOTICE_KINDS[percent],
            clock=clock,
            request=request,
            task=task,
            late=late,
        )


def _batch(db: Database, settings: Settings, now: datetime, stats: SweepStats, batch: int) -> int:
    try:
        with db.transaction() as session:
            query = (
                select(SlaClock)
                .where(SlaClock.next_threshold_at < now)
                .order_by(SlaClock.next_threshold_at, SlaClock.id)
                .limit(batch)
            )
            if db.dialect == "postgresql":
                query = query.with_for_update(skip_locked=True)
            due = list(session.scalars(query))
            sweep = _Sweep(session, settings, now, stats, due)
            for clock in due:
                stats.examined += 1
                calendar = sweep.calendar(clock)
                before = clock.thresholds_fired
                reached = clocks.crossed(clock, calendar, now) if clock.stage in LIVE_STAGES else 0
                if reached > before:
                    if not _claim(session, clock, before, reached):
                        continue  # another sweep took it
                    clock.thresholds_fired = reached
                    clocks.refresh(clock, calendar, now)
                    stats.fired[reached] += 1
                    sweep.act(clock, reached)
                else:
                    clocks.refresh(clock, calendar, now)
                if clock.task_id is not None:
                    task = sweep.tasks.get(clock.task_id)
                    if task is not None and task.is_open:
                        _mirror_task(task, clock)
        return len(due)
    except StaleDataError:
        # A case or task changed under us: nothing was claimed; the next round retries.
        log.info("SLA sweep batch met a concurrent change; it will be retried")
        return 0


def sweep(
    db: Database,
    settings: Settings,
    now: datetime,
    *,
    batch: int = BATCH,
    max_batches: int = 50,
    budget_seconds: float = 15.0,
) -> SweepStats:
    """Act on every clock whose next threshold is behind ``now``, batch after batch, until
    none is left, ``max_batches`` ran or ``budget_seconds`` passed (a storm of crossings must
    not hold up the worker's email delivery; the rest waits for the next round)."""
    stats = SweepStats()
    started = time.monotonic()
    for _ in range(max_batches):
        if _batch(db, settings, now, stats, batch) < batch:
            break
        if time.monotonic() - started > budget_seconds:
            break
    return stats


def sweep_sla(db: Database, settings: Settings, now: datetime) -> str | None:
    """The worker's periodic job."""
    stats = sweep(db, settings, now)
    return str(stats) if stats.examined else None
