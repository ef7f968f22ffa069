"""What supervisors chase: every live task clock at risk or breached (no Flask here).

A row is one task clock (``SlaClock.task_id`` set, stage running or paused) whose sweep has
fired the at-risk threshold (``thresholds_fired >= 75``), with its task and case. Rows come in
due order (soonest, so the latest breaches, first; paused clocks, which have no due time, last),
a page at a time with a keyset on (due_at, id). The clocks of the supervised departments are
read through ``ix_sla_clocks_department_stage_fired`` (department, stage, thresholds_fired).

"Who used the clock": for the cases on a page, one more query sums the time counted on every
task clock of the case (running, stopped or transferred) per department.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session, selectinload

from portal.casework.models import Task
from portal.catalogue.models import Department
from portal.core.keyset import decode_cursor, encode_cursor, nulls_last_keyset
from portal.requests.models import ServiceRequest
from portal.sla.models import LIVE_STAGES, SlaClock

PAGE_SIZE = 50
#: The threshold (percent of the target) from which a clock is at risk, and breached.
AT_RISK = 75
BREACHED = 100
STATES = ("at_risk", "breached")
_CURSOR = "esc"
_KINDS = ("dt", "int")


@dataclass(frozen=True)
class Usage:
    """Time one department's task clocks counted on a case (working time on the business
    calendar, or wall time for calendar-day targets)."""

    department_id: int
    seconds: int


@dataclass(frozen=True)
class EscalationRow:
    clock: SlaClock
    task: Task
    request: ServiceRequest
    #: Who used the case's clock, most time first.
    usage: list[Usage]


@dataclass(frozen=True)
class EscalationPage:
    rows: list[EscalationRow]
    next_cursor: str | None
    previous_cursor: str | None
    #: Names of the departments in ``usage`` (and of the rows' tasks), by id.
    departments: dict[int, Department]


def state_condition(state: str | None, now: datetime) -> Any:
    """Clocks past the at-risk threshold in ``state``: "breached" once the sweep fired 100%
    or the due time passed; "at_risk" otherwise; None for both."""
    breached = or_(SlaClock.thresholds_fired >= BREACHED, SlaClock.due_at < now)
    if state == "breached":
        return breached
    if state == "at_risk":
        return and_(
            SlaClock.thresholds_fired < BREACHED,
            or_(SlaClock.due_at.is_(None), SlaClock.due_at >= now),
        )
    if state is None:
        return None
    raise ValueError(f"unknown escalation state {state!r}")


def escalations_page(
    session: Session,
    *,
    department_ids: Sequence[int] | None,
    now: datetime,
    state: str | None = None,
    after: str | None = None,
    before: str | None = None,
    per_page: int = PAGE_SIZE,
) -> EscalationPage:
    """One page of at-risk and breached task clocks of ``department_ids`` (None: every
    department, for admins). Bad cursors give the first page."""
    query = (
        select(SlaClock, Task, ServiceRequest)
        .join(Task, Task.id == SlaClock.task_id)
        .join(ServiceRequest, ServiceRequest.id == SlaClock.request_id)
        .where(
            SlaClock.stage.in_(LIVE_STAGES),
            SlaClock.thresholds_fired >= AT_RISK,
            SlaClock.task_id.is_not(None),
        )
        .options(selectinload(Task.assignee), selectinload(Task.department))
    )
    if department_ids is not None:
        ids = list(department_ids)
        query = query.where(
            SlaClock.department_id == ids[0] if len(ids) == 1 else SlaClock.department_id.in_(ids)
        )
    condition = state_condition(state, now)
    if condition is not None:
        query = query.where(condition)
    start = decode_cursor(after, _CURSOR, _KINDS)
    end = decode_cursor(before, _CURSOR, _KINDS) if start is None else None
    results, more_before, more_after = nulls_last_keyset(
        session,
        query,
        column=SlaClock.due_at,
        ident=SlaClock.id,
        after=start,
        before=end,
        per_page=per_page,
    )
    usage = clock_usage(session, request_ids={r[2].id for r in results})
    wanted = {u.department_id for used in usage.values() for u in used}
    wanted |= {r[1].department_id for r in results}
    departments = (
        {
            d.id: d
            for d in session.scalars(select(Department).where(Department.id.in_(sorted(wanted))))
        }
        if wanted
        else {}
    )
    return EscalationPage(
        rows=[
            EscalationRow(clock=r[0], task=r[1], request=r[2], usage=usage.get(r[2].id, []))
            for r in results
        ],
        next_cursor=encode_cursor(_CURSOR, results[-1][-2:]) if results and more_after else None,
        previous_cursor=encode_cursor(_CURSOR, results[0][-2:])
        if results and more_before
        else None,
        departments=departments,
    )


def clock_usage(session: Session, *, request_ids: set[int]) -> dict[int, list[Usage]]:
    """Per case, the time each department's task clocks counted (every stage, transferred
    included), most first: one grouped query over ``ix_sla_clocks_request_kind``."""
    if not request_ids:
        return {}
    counted = case(
        (SlaClock.unit == "calendar_days", SlaClock.wall_seconds), else_=SlaClock.working_seconds
    )
    rows = session.execute(
        select(SlaClock.request_id, SlaClock.department_id, func.sum(counted))
        .where(
            SlaClock.request_id.in_(sorted(request_ids)),
            SlaClock.kind == "resolution",
            SlaClock.task_id.is_not(None),
        )
        .group_by(SlaClock.request_id, SlaClock.department_id)
    ).all()
    usage: dict[int, list[Usage]] = {}
    for request_id, department_id, seconds in rows:
        usage.setdefault(request_id, []).append(Usage(department_id, int(seconds or 0)))
    for used in usage.values():
        used.sort(key=lambda u: (-u.seconds, u.department_id))
    return usage
