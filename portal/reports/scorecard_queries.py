"""The queries behind the department scorecards (what each figure counts is in the
``portal.reports.scorecards`` docstring): for one period, tasks opened and closed, SLA
compliance and nearest-rank working hours of the clocks that ended, the backlog by age, reopen
rate and satisfaction, each counted by the database (one aggregate row per group, never rows
loaded into Python), by department and by the department's categories, areas or agents, into
``DepartmentFigures``. No Flask here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, case, exists, func, or_, select, true
from sqlalchemy.orm import InstrumentedAttribute, Session

from portal.casework.models import Task
from portal.core import clock
from portal.reports.periods import Period
from portal.requests.models import Event, ServiceRequest
from portal.sla.models import SlaClock
from portal.surveys.models import SurveyResponse
from portal.surveys.results import MIN_RESPONSES  # the survey results' rule

#: Backlog age buckets: (label, lower bound in days inclusive); the last is open-ended.
AGE_BUCKETS = (
    ("under_2_days", 0),
    ("2_to_7_days", 2),
    ("7_to_30_days", 7),
    ("30_days_and_over", 30),
)
#: Clock kinds measured, and the stages that count (met or breached).
ENDED_STAGES = ("met", "breached")


@dataclass
class DepartmentFigures:
    """One department's figures for one period (or one category, area or agent of it in a
    drill-down: ``group_id`` and ``name`` are then the category's, area's or agent's)."""

    department_id: int
    name: str
    group_id: int | None = None
    tasks_opened: int = 0
    tasks_closed: int = 0
    resolution_compliance: float | None = None
    resolution_clocks: int = 0
    first_response_compliance: float | None = None
    first_response_clocks: int = 0
    median_first_response_hours: float | None = None
    p90_first_response_hours: float | None = None
    median_resolution_hours: float | None = None
    p90_resolution_hours: float | None = None
    backlog: int = 0
    backlog_ages: dict[str, int] = field(
        default_factory=lambda: {label: 0 for label, _days in AGE_BUCKETS}
    )
    reopened: int | None = 0
    resolved: int | None = 0
    reopen_rate: float | None = None
    satisfaction: float | None = None
    responses: int | None = 0
    #: Requests filed in the period, and those of them whose category staff changed (None:
    #: not counted, as for an agent, or a roll-up stored before the figure existed).
    filed: int | None = None
    recategorised: int | None = None
    recategorisation_rate: float | None = None


# -- grouping -------------------------------------------------------------------------------


def _key(by: str, *, task: bool = False, clock_: bool = False) -> InstrumentedAttribute[int | None]:
    """The group key of a row, given what the query reads (tasks, clocks, or cases)."""
    if by == "department":
        if task:
            return Task.department_id
        if clock_:
            return SlaClock.department_id
        return ServiceRequest.department_id
    if by == "agent":
        return Task.assignee_id
    return ServiceRequest.category_id if by == "category" else ServiceRequest.area_id


def _hours(seconds: Any) -> float | None:
    return None if seconds is None else seconds / 3600


def _rank_of(n: ColumnElement[Any], numerator: int, denominator: int) -> ColumnElement[Any]:
    """``ceil(numerator / denominator * n)`` in integer arithmetic (nearest-rank)."""
    return (n * numerator + denominator - 1) // denominator


# -- the queries (each returns {group key: aggregates}) ------------------------------------


def _task_counts(
    session: Session,
    by: str,
    scope: ColumnElement[bool],
    column: Any,
    start: datetime,
    end: datetime,
) -> dict[tuple[int, Any], int]:
    key = _key(by, task=True)
    query = (
        select(Task.department_id.label("d"), key.label("k"), func.count())
        .select_from(Task)
        .where(scope, column >= start, column < end)
    )
    if by in ("category", "area"):
        query = query.join(ServiceRequest, ServiceRequest.id == Task.request_id)
    return {(d, k): n for d, k, n in session.execute(query.group_by(Task.department_id, key))}


def _clock_figures(
    session: Session, by: str, scope: ColumnElement[bool], start: datetime, end: datetime
) -> dict[tuple[int, Any, str], list[Any]]:
    key = _key(by, clock_=True)
    measured = or_(
        and_(SlaClock.kind == "resolution", SlaClock.task_id.is_not(None)),
        and_(SlaClock.kind == "first_response", SlaClock.task_id.is_(None)),
    )
    late = case((or_(SlaClock.stage == "breached", SlaClock.breached_at.is_not(None)), 1), else_=0)
    partition = (SlaClock.department_id, key, SlaClock.kind)
    ranked = (
        select(
            SlaClock.department_id.label("d"),
            key.label("k"),
            SlaClock.kind.label("kind"),
            SlaClock.working_seconds.label("ws"),
            late.label("late"),
            func.row_number()
            .over(partition_by=partition, order_by=SlaClock.working_seconds)
            .label("rn"),
            func.count().over(partition_by=partition).label("n"),
        )
        .select_from(SlaClock)
        .where(
            scope,
            SlaClock.kind.in_(("resolution", "first_response")),
            SlaClock.stopped_at >= start,
            SlaClock.stopped_at < end,
            SlaClock.stage.in_(ENDED_STAGES),
            measured,
        )
    )
    if by in ("category", "area"):
        ranked = ranked.join(ServiceRequest, ServiceRequest.id == SlaClock.request_id)
    elif by == "agent":
        ranked = ranked.join(Task, Task.id == SlaClock.task_id)
    sub = ranked.subquery()
    query = select(
        sub.c.d,
        sub.c.k,
        sub.c.kind,
        func.count(),
        func.sum(sub.c.late),
        func.max(case((sub.c.rn == _rank_of(sub.c.n, 1, 2), sub.c.ws))),
        func.max(case((sub.c.rn == _rank_of(sub.c.n, 9, 10), sub.c.ws))),
    ).group_by(sub.c.d, sub.c.k, sub.c.kind)
    return {(d, k, kind): rest for d, k, kind, *rest in session.execute(query).all()}


def _backlog(
    session: Session, by: str, scope: ColumnElement[bool], moment: datetime
) -> dict[tuple[int, Any], list[int]]:
    """Tasks created before ``moment`` and not closed before it, by age bucket. "Created
    before" is counted in the sums, not filtered on, so that the only index ranges the
    planner can take are the bounded ones (never "every task created before the moment")."""
    key = _key(by, task=True)
    edges = [moment - timedelta(days=days) for _label, days in AGE_BUCKETS]  # newest first
    buckets = []
    for i, newest in enumerate(edges):
        condition = Task.created_at <= newest if i else Task.created_at < newest
        if i + 1 < len(edges):
            condition = and_(condition, Task.created_at > edges[i + 1])
        buckets.append(func.sum(case((condition, 1), else_=0)))
    parts = (
        # Never closed: (department, closed_at null) in ix_tasks_department_closed or
        # (department, is_open) in ix_tasks_department_open_created: the open backlog.
        and_(Task.is_open == true(), Task.closed_at.is_(None)),
        # Closed at or after the moment, whatever since (ix_tasks_department_closed); a task
        # closed before the moment and reopened later was not open at the moment.
        Task.closed_at >= moment,
    )
    totals: dict[tuple[int, Any], list[int]] = {}
    for part in parts:
        query = (
            select(Task.department_id.label("d"), key.label("k"), *buckets)
            .select_from(Task)
            .where(scope, part)
        )
        if by in ("category", "area"):
            query = query.join(ServiceRequest, ServiceRequest.id == Task.request_id)
        for d, k, *counts in session.execute(query.group_by(Task.department_id, key)).all():
            if not any(counts):
                continue
            row = totals.setdefault((d, k), [0] * len(AGE_BUCKETS))
            for i, count in enumerate(counts):
                row[i] += int(count or 0)
    return totals


def _event_requests(
    session: Session,
    by: str,
    scope: ColumnElement[bool],
    condition: ColumnElement[bool],
    start: datetime,
    end: datetime,
) -> dict[tuple[int, Any], int]:
    """Distinct cases with a matching event in the period, by the case's group."""
    key = _key(by)
    query = (
        select(
            ServiceRequest.department_id.label("d"),
            key.label("k"),
            func.count(func.distinct(Event.request_id)),
        )
        .select_from(Event)
        .join(ServiceRequest, ServiceRequest.id == Event.request_id)
        .where(scope, condition, Event.created_at >= start, Event.created_at < end)
        .group_by(ServiceRequest.department_id, key)
    )
    return {(d, k): n for d, k, n in session.execute(query)}


def _recategorised(
    session: Session, by: str, department_ids: Sequence[int], start: datetime, end: datetime
) -> dict[tuple[int, Any], tuple[int, int]]:
    """Requests filed in the period (``ix_service_requests_created_id``), and how many of
    them staff re-filed under another category (casework's internal entry ``{"action":
    "category"}``, looked up per request in ``ix_request_events_request_id_id``), by the
    case's current department and group. The period's range is the only condition the
    database sees (a department's index would read its whole history); the departments asked
    for are kept from the grouped rows."""
    key = _key(by)
    changed = exists().where(
        Event.request_id == ServiceRequest.id,
        Event.kind == "internal_note",
        Event.data["action"].as_string() == "category",
    )
    query = (
        select(
            ServiceRequest.department_id.label("d"),
            key.label("k"),
            func.count(),
            func.sum(case((changed, 1), else_=0)),
        )
        .select_from(ServiceRequest)
        .where(ServiceRequest.created_at >= start, ServiceRequest.created_at < end)
        .group_by(ServiceRequest.department_id, key)
    )
    wanted = set(department_ids)
    return {(d, k): (n, int(m or 0)) for d, k, n, m in session.execute(query) if d in wanted}


def _survey_figures(
    session: Session, by: str, scope: ColumnElement[bool], start: datetime, end: datetime
) -> dict[tuple[int, Any], list[Any]]:
    key = {
        "department": SurveyResponse.department_id,
        "category": SurveyResponse.category_id,
        "area": ServiceRequest.area_id,
    }[by]
    query = (
        select(
            SurveyResponse.department_id.label("d"),
            key.label("k"),
            func.count(),
            func.count(SurveyResponse.csat),
            func.sum(SurveyResponse.csat),
        )
        .select_from(SurveyResponse)
        .where(scope, SurveyResponse.created_at >= start, SurveyResponse.created_at < end)
    )
    if by == "area":
        query = query.join(ServiceRequest, ServiceRequest.id == SurveyResponse.request_id)
    query = query.group_by(SurveyResponse.department_id, key)
    # The scope (department_id IN (...)) leaves out responses without a department.
    return {(cast(int, d), k): rest for d, k, *rest in session.execute(query).all()}


# -- assembling -----------------------------------------------------------------------------


def _scopes(by: str, department_ids: Sequence[int]) -> dict[str, ColumnElement[bool]]:
    """The department condition for each table read (an index prefix in every case)."""
    ids = list(department_ids)
    return {
        "task": Task.department_id.in_(ids),
        "clock": SlaClock.department_id.in_(ids),
        "case": ServiceRequest.department_id.in_(ids),
        "response": SurveyResponse.department_id.in_(ids),
    }


def _case_figures(
    session: Session,
    by: str,
    scope: dict[str, ColumnElement[bool]],
    department_ids: Sequence[int],
    start: datetime,
    end: datetime,
    row: Callable[[tuple[int, Any]], DepartmentFigures],
) -> None:
    """The figures of the cases (not of one agent): reopen rate, re-categorisation rate and
    satisfaction, into ``row(key)``."""
    reopened = _event_requests(session, by, scope["case"], Event.kind == "reopened", start, end)
    resolved = _event_requests(
        session,
        by,
        scope["case"],
        and_(Event.kind == "status_changed", Event.data["to"].as_string() == "resolved"),
        start,
        end,
    )
    for key in set(reopened) | set(resolved):
        figures = row(key)
        figures.reopened, figures.resolved = reopened.get(key, 0), resolved.get(key, 0)
        figures.reopen_rate = (figures.reopened / figures.resolved) if figures.resolved else None
    for key, (filed, changed) in _recategorised(session, by, department_ids, start, end).items():
        figures = row(key)
        figures.filed, figures.recategorised = filed, changed
        figures.recategorisation_rate = changed / filed
    for key, (n, answered, total) in _survey_figures(
        session, by, scope["response"], start, end
    ).items():
        figures = row(key)
        figures.responses = n
        figures.satisfaction = total / answered if answered >= MIN_RESPONSES else None


def count_figures(
    session: Session,
    period: Period,
    *,
    tz: str | ZoneInfo,
    by: str,
    department_ids: Sequence[int],
    now: datetime | None,
) -> dict[tuple[int, Any], DepartmentFigures]:
    """Every figure for the period, by department and ``by`` ("department", "category",
    "area", "agent"), over the departments given: {(department id, group key): figures}
    (for "department" the group key is the department id). A row for every group with any
    figure."""
    start, end = period.bounds(tz)
    moment = min(end, now or clock.now())
    scope = _scopes(by, department_ids)
    rows: dict[tuple[int, Any], DepartmentFigures] = {}

    def row(key: tuple[int, Any]) -> DepartmentFigures:
        if key not in rows:
            rows[key] = DepartmentFigures(
                department_id=key[0], name="", group_id=None if by == "department" else key[1]
            )
        return rows[key]

    for key, n in _task_counts(session, by, scope["task"], Task.created_at, start, end).items():
        row(key).tasks_opened = n
    for key, n in _task_counts(session, by, scope["task"], Task.closed_at, start, end).items():
        row(key).tasks_closed = n
    for (d, k, kind), (n, late, median, p90) in _clock_figures(
        session, by, scope["clock"], start, end
    ).items():
        figures = row((d, k))
        compliance = (n - (late or 0)) / n
        if kind == "resolution":
            figures.resolution_clocks, figures.resolution_compliance = n, compliance
            figures.median_resolution_hours, figures.p90_resolution_hours = (
                _hours(median),
                _hours(p90),
            )
        else:
            figures.first_response_clocks, figures.first_response_compliance = n, compliance
            figures.median_first_response_hours, figures.p90_first_response_hours = (
                _hours(median),
                _hours(p90),
            )
    for key, counts in _backlog(session, by, scope["task"], moment).items():
        figures = row(key)
        figures.backlog = sum(counts)
        figures.backlog_ages = {
            label: count for (label, _), count in zip(AGE_BUCKETS, counts, strict=True)
        }
    if by == "agent":
        for figures in rows.values():
            figures.reopened = figures.resolved = figures.responses = None
        return rows
    _case_figures(session, by, scope, department_ids, start, end, row)
    for figures in rows.values():
        if figures.filed is None:
            figures.filed = figures.recategorised = 0
    return rows


__all__ = [
    "AGE_BUCKETS",
    "ENDED_STAGES",
    "MIN_RESPONSES",
    "DepartmentFigures",
    "count_figures",
]
