"""SLA clocks follow the case: started when it is filed, paused while it waits, stopped when the
work is done, re-attached when its category or priority changes.

Casework and the request lifecycle call these hooks in the same transaction as the change (they
flush, never commit). Each takes ``now`` so a replayed history (the demo) runs at its own times.

Two layers of clocks:
- the case's (``task_id`` null): first response, resolution (the resident-facing promise behind
  ``ServiceRequest.expected_at``) and regular update, on the case's department's policy;
- each department task's resolution clock, on that department's policy and calendar.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.casework.models import Task
from portal.catalogue.models import Department
from portal.core import clock as wall
from portal.requests.events import add_event
from portal.requests.models import ServiceRequest
from portal.sla import clocks, forecasts
from portal.sla.calendar import WorkingCalendar, always_open, load_calendar
from portal.sla.models import LIVE_STAGES, SlaClock, SlaPolicy

CASE_KINDS = ("first_response", "resolution", "update")
UNIT_SECONDS = {"working_hours": 3600, "calendar_days": 86400}
#: Case statuses that end the resolution clock as met or breached (the others cancel it).
DONE_STATUSES = ("resolved", "closed")


# -- policies and calendars --------------------------------------------------------------------


def _score(policy: SlaPolicy) -> tuple[int, int, int]:
    fields = (policy.department_id, policy.area_id, policy.category_id, policy.priority)
    return (-sum(value is not None for value in fields), policy.position, policy.id)


def match_policy(session: Session, request: ServiceRequest, department_id: int) -> SlaPolicy | None:
    """The most specific active policy for the request's category, priority and area in
    ``department_id`` (empty fields match anything), then the lowest position."""
    candidates = session.scalars(
        select(SlaPolicy).where(
            SlaPolicy.active.is_(True),
            (SlaPolicy.category_id.is_(None)) | (SlaPolicy.category_id == request.category_id),
            (SlaPolicy.priority.is_(None)) | (SlaPolicy.priority == request.priority),
            (SlaPolicy.department_id.is_(None)) | (SlaPolicy.department_id == department_id),
            (SlaPolicy.area_id.is_(None)) | (SlaPolicy.area_id == request.area_id),
        )
    ).all()
    return min(candidates, key=_score) if candidates else None


def _target(policy: SlaPolicy, kind: str) -> tuple[int, str] | None:
    amount = getattr(policy, f"{kind}_amount")
    unit = getattr(policy, f"{kind}_unit")
    if not amount or amount <= 0 or unit not in UNIT_SECONDS:
        return None
    return amount * UNIT_SECONDS[unit], unit


def department_calendar(session: Session, department_id: int) -> WorkingCalendar:
    """The department's business calendar (for working time and for when to email it)."""
    department = session.get(Department, department_id)
    calendar_id = department.calendar_id if department is not None else None
    return load_calendar(session, calendar_id, default_timezone=wall.city_zone())


def calendar_for(session: Session, clock: SlaClock) -> WorkingCalendar:
    """What the clock counts on: its calendar, or the wall clock for calendar-day targets."""
    calendar = load_calendar(session, clock.calendar_id, default_timezone=wall.city_zone())
    return always_open(calendar.timezone) if clock.unit == "calendar_days" else calendar


def _new_clock(
    session: Session,
    *,
    request: ServiceRequest,
    task: Task | None,
    department_id: int,
    policy: SlaPolicy,
    kind: str,
    target: tuple[int, str],
    at: datetime,
    now: datetime,
    history: list[Any] | None = None,
) -> SlaClock:
    department = session.get(Department, department_id)
    clock = SlaClock(
        request_id=request.id,
        task_id=task.id if task else None,
        department_id=department_id,
        policy_id=policy.id,
        kind=kind,
        calendar_id=department.calendar_id if department else None,
        target_seconds=target[0],
        unit=target[1],
        pause_statuses=list(policy.pause_statuses or []),
    )
    calendar = calendar_for(session, clock)
    clocks.start(clock, calendar, at=at, now=now)
    if history:
        clock.pauses = [list(p) for p in history]
        clock.stage = "paused" if history[-1][1] is None else "running"
        clocks.catch_up(clock, calendar, now)
        clock.original_due_at = calendar.add(at, clock.target_seconds)
    forecasts.record(session, clock, request, calendar)
    session.add(clock)
    return clock


# -- reading -----------------------------------------------------------------------------------


def case_clocks(session: Session, request: ServiceRequest) -> list[SlaClock]:
    """Every clock of the case, its own and its tasks', oldest first."""
    return list(
        session.scalars(
            select(SlaClock).where(SlaClock.request_id == request.id).order_by(SlaClock.id)
        )
    )


def _live_case_clocks(session: Session, request: ServiceRequest) -> list[SlaClock]:
    return [
        c for c in case_clocks(session, request) if c.task_id is None and c.stage in LIVE_STAGES
    ]


def task_clock(session: Session, task: Task) -> SlaClock | None:
    return session.scalar(
        select(SlaClock).where(SlaClock.task_id == task.id).order_by(SlaClock.id.desc()).limit(1)
    )


def _mirror_task(task: Task, clock: SlaClock | None) -> None:
    """Copy what queues filter and sort on onto the task row."""
    if clock is None:
        task.sla_stage = task.due_at = task.at_risk_at = None
        return
    task.sla_stage = clock.stage
    task.due_at = clock.due_at
    task.at_risk_at = clock.at_risk_at if clock.stage in LIVE_STAGES else None


def _expected(
    session: Session,
    request: ServiceRequest,
    *,
    reason: str,
    now: datetime,
    paused_seconds: int = 0,
    live: list[SlaClock] | None = None,
) -> None:
    """Keep ``expected_at`` on the case resolution clock and tell the resident when it moves."""
    if live is None:
        live = _live_case_clocks(session, request)
    resolution = next((c for c in live if c.kind == "resolution"), None)
    new = resolution.due_at if resolution is not None and request.is_open else None
    old = request.expected_at
    if new == old:
        return
    request.expected_at = new
    if reason and request.is_open and (old is not None or new is not None):
        data: dict[str, Any] = {
            "from": old.isoformat() if old else None,
            "to": new.isoformat() if new else None,
            "reason": reason,
        }
        if paused_seconds:
            data["paused_seconds"] = paused_seconds
        add_event(session, request, "expected_changed", actor_kind="system", data=data)


def case_forecast(
    session: Session, request: ServiceRequest, *, now: datetime | None = None
) -> datetime | None:
    """When cases like this open one are usually resolved (``portal.sla.forecasts``): None
    when it is closed, its resolution clock is not running (no ``expected_at``: no clock, or
    a paused one), or there is too little history."""
    if not request.is_open or request.expected_at is None:
        return None
    now = now or wall.now()
    resolution = next(
        (c for c in _live_case_clocks(session, request) if c.kind == "resolution"), None
    )
    if resolution is None:
        return None
    return forecasts.current(
        session, resolution, request, calendar_for(session, resolution), now=now
    )


# -- hooks -------------------------------------------------------------------------------------


def start_case(
    session: Session,
    request: ServiceRequest,
    task: Task | None = None,
    *,
    now: datetime | None = None,
) -> list[SlaClock]:
    """Start the case's clocks on its department's policy, and its first task's clock."""
    now = now or wall.now()
    started: list[SlaClock] = []
    policy = match_policy(session, request, request.department_id)
    if policy is not None:
        for kind in CASE_KINDS:
            target = _target(policy, kind)
            if target is not None:
                started.append(
                    _new_clock(
                        session,
                        request=request,
                        task=None,
                        department_id=request.department_id,
                        policy=policy,
                        kind=kind,
                        target=target,
                        at=request.created_at,
                        now=now,
                    )
                )
    if task is not None:
        same = policy if task.department_id == request.department_id else None
        clock = start_task(session, task, now=now, at=request.created_at, policy=same)
        if clock is not None:
            started.append(clock)
    session.flush()
    _expected(session, request, reason="", now=now)
    return started


def start_task(
    session: Session,
    task: Task,
    *,
    now: datetime | None = None,
    at: datetime | None = None,
    policy: SlaPolicy | None = None,
) -> SlaClock | None:
    """Start a task's resolution clock on its department's policy (``policy`` when the caller
    has already matched it) and calendar."""
    now = now or wall.now()
    request = task.request or session.get(ServiceRequest, task.request_id)
    if policy is None:
        assert request is not None  # a task's case exists
        policy = match_policy(session, request, task.department_id)
    target = _target(policy, "resolution") if policy is not None else None
    if policy is None or target is None:
        _mirror_task(task, None)
        return None
    assert request is not None
    clock = _new_clock(
        session,
        request=request,
        task=task,
        department_id=task.department_id,
        policy=policy,
        kind="resolution",
        target=target,
        at=at or task.created_at or now,
        now=now,
    )
    if _should_pause(clock, request, task):
        clocks.pause(clock, calendar_for(session, clock), now)
    _mirror_task(task, clock)
    session.flush()
    return clock


def stop_task(session: Session, task: Task, *, now: datetime | None = None) -> None:
    """The task ended: its clock is met or breached (done), cancelled, or transferred."""
    now = now or wall.now()
    clock = task_clock(session, task)
    if clock is None or clock.stage not in LIVE_STAGES:
        _mirror_task(task, clock)
        return
    outcome = task.status if task.status in ("cancelled", "transferred") else None
    clocks.stop(clock, calendar_for(session, clock), now, outcome=outcome)
    _mirror_task(task, clock)
    session.flush()


def transfer_task(
    session: Session, old: Task, new: Task, *, now: datetime | None = None
) -> SlaClock | None:
    """The old department's clock ends as "transferred" with its time kept on record; the
    receiving department's starts now on its own policy and calendar. The case clock runs
    on."""
    now = now or wall.now()
    stop_task(session, old, now=now)
    return start_task(session, new, now=now, at=now)


def _should_pause(clock: SlaClock, request: ServiceRequest, task: Task | None) -> bool:
    if request.status in (clock.pause_statuses or []):
        return True
    return task is not None and task.status == "waiting"


def sync_request(session: Session, request: ServiceRequest, *, now: datetime | None = None) -> None:
    """After a status change: pause or resume the live clocks, stop the case's when it
    closes, and start fresh case clocks when a closed case is reopened."""
    now = now or wall.now()
    every = case_clocks(session, request)
    live = [c for c in every if c.task_id is None and c.stage in LIVE_STAGES]
    if not request.is_open:
        outcome = None if request.status in DONE_STATUSES else "cancelled"
        for clock in live:
            kind_outcome = "cancelled" if clock.kind == "update" else outcome
            clocks.stop(clock, calendar_for(session, clock), now, outcome=kind_outcome)
        session.flush()
        _expected(session, request, reason="", now=now, live=[])
        return
    if not any(c.kind == "resolution" for c in live):
        _restart(session, request, now=now)
        every = case_clocks(session, request)
        live = [c for c in every if c.task_id is None and c.stage in LIVE_STAGES]
    reason, paused_for = "", 0
    tasks = {
        t.id: t
        for t in session.scalars(
            select(Task).where(Task.request_id == request.id, Task.is_open.is_(True))
        )
    }
    task_clocks = [c for c in every if c.task_id in tasks and c.stage in LIVE_STAGES]
    for clock in [*live, *task_clocks]:
        task = tasks.get(clock.task_id) if clock.task_id else None
        calendar = calendar_for(session, clock)
        if _should_pause(clock, request, task) and clock.stage == "running":
            clocks.pause(clock, calendar, now)
            reason = request.status
        elif not _should_pause(clock, request, task) and clock.stage == "paused":
            clocks.resume(clock, calendar, now)
            last = clocks.pauses(clock)[-1]
            paused_for = max(paused_for, int((now - last[0]).total_seconds()))
            reason = "resumed"
        if task is not None:
            _mirror_task(task, clock)
    session.flush()
    _expected(session, request, reason=reason, now=now, paused_seconds=paused_for, live=live)


def _restart(session: Session, request: ServiceRequest, *, now: datetime) -> None:
    """A reopened case gets a new resolution (and update) promise counted from now."""
    policy = match_policy(session, request, request.department_id)
    if policy is None:
        return
    for kind in ("resolution", "update"):
        target = _target(policy, kind)
        if target is not None:
            _new_clock(
                session,
                request=request,
                task=None,
                department_id=request.department_id,
                policy=policy,
                kind=kind,
                target=target,
                at=now,
                now=now,
            )
    session.flush()


def record_public_reply(
    session: Session, request: ServiceRequest, *, now: datetime | None = None
) -> None:
    """Staff said something public: the first-response clock is met (or breached), and the
    regular-update clock starts over."""
    now = now or wall.now()
    for clock in _live_case_clocks(session, request):
        calendar = calendar_for(session, clock)
        if clock.kind == "first_response":
            clocks.stop(clock, calendar, now)
        elif clock.kind == "update" and request.is_open:
            paused = clock.stage == "paused"
            clocks.stop(clock, calendar, now)
            policy = session.get(SlaPolicy, clock.policy_id) if clock.policy_id else None
            if policy is not None and (target := _target(policy, "update")) is not None:
                fresh = _new_clock(
                    session,
                    request=request,
                    task=None,
                    department_id=clock.department_id,
                    policy=policy,
                    kind="update",
                    target=target,
                    at=now,
                    now=now,
                )
                if paused:
                    clocks.pause(fresh, calendar_for(session, fresh), now)
    session.flush()


def reattach(
    session: Session, request: ServiceRequest, *, reason: str, now: datetime | None = None
) -> None:
    """The category or priority changed: every live clock takes the policy that now applies,
    still counted from its own start with its pauses, and thresholds already passed are marked
    without notifying anyone (no burst for time already lost)."""
    now = now or wall.now()
    tasks = {t.id: t for t in session.scalars(select(Task).where(Task.request_id == request.id))}
    for clock in case_clocks(session, request):
        if clock.stage not in LIVE_STAGES:
            continue
        policy = match_policy(session, request, clock.department_id)
        target = _target(policy, clock.kind) if policy is not None else None
        calendar = calendar_for(session, clock)
        if policy is None or target is None:
            clocks.stop(clock, calendar, now, outcome="cancelled")
        else:
            clock.policy_id = policy.id
            clock.target_seconds, clock.unit = target
            clock.pause_statuses = list(policy.pause_statuses or [])
            calendar = calendar_for(session, clock)
            clocks.catch_up(clock, calendar, now)
            clock.original_due_at = calendar.add(clock.started_at, clock.target_seconds)
        if clock.task_id in tasks:
            _mirror_task(tasks[clock.task_id], clock)
    session.flush()
    _add_missing_case_clocks(session, request, now=now)
    _expected(session, request, reason=reason, now=now)


def _add_missing_case_clocks(session: Session, request: ServiceRequest, *, now: datetime) -> None:
    """A re-attached policy may promise something the old one did not: count it from the
    case's creation, with the case's pauses."""
    if not request.is_open:
        return
    policy = match_policy(session, request, request.department_id)
    if policy is None:
        return
    existing = case_clocks(session, request)
    kinds = {c.kind for c in existing if c.task_id is None}
    history = next((c.pauses for c in existing if c.task_id is None and c.pauses), None)
    for kind in CASE_KINDS:
        target = _target(policy, kind)
        if target is not None and kind not in kinds:
            _new_clock(
                session,
                request=request,
                task=None,
                department_id=request.department_id,
                policy=policy,
                kind=kind,
                target=target,
                at=request.created_at,
                now=now,
                history=history,
            )
    session.flush()
