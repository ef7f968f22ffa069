"""Department scorecards: every figure computed by the database for one period, never from
rows loaded into Python (each query returns one aggregate row per group).

For a period ``[start, end)`` (local midnights as UTC instants, see ``periods.Period.bounds``):

- **Tasks opened / closed**: tasks whose ``created_at`` / ``closed_at`` falls in the period
  (``ix_tasks_department_created`` / ``ix_tasks_department_closed``).
- **SLA compliance**: clocks that stopped in the period (``ix_sla_clocks_department_kind_
  stopped``) and ended met or breached (cancelled and transferred clocks measured nothing).
  Resolution: the department's *task* resolution clocks; first response: the *case* clocks
  (``task_id`` null) of the case's department. ``clocks.stop`` decides met/breached by exact
  working seconds against the target; a clock that has a recorded breach (``breached_at``)
  counts as breached even if it ended "met" (a later, longer target does not undo a breach).
  Compliance is met / (met + breached); None when no clock ended.
- **Working hours to first response / resolution**: ``working_seconds`` of those same clocks
  (final once stopped), exact. Percentiles are **nearest-rank**: the value at rank
  ``ceil(p * n)`` of the n values in ascending order, so the median of 4 values is the 2nd
  and the 90th percentile of 10 values the 9th (of 1 value: that value). Ranks come from
  ``row_number()`` over the group, ordered by working seconds; ``ceil`` is integer arithmetic
  (``(a*n + b - 1) // b`` for ``p = a/b``), the same SQL on SQLite and PostgreSQL.
- **Backlog** at the period end (or now, for a period not over yet): tasks created before it
  and not closed before it. Bounded by two index ranges, never the whole history: tasks never
  closed (open now; ``closed_at`` null, created before the end) plus tasks closed at or after
  the end (``ix_tasks_department_closed``: department, closed_at >= end, created_at in the
  index). For a recent period that is about the open backlog; the further back the period,
  the more tasks closed since it are read. **Ages** by wall time at that moment, in
  ``AGE_BUCKETS``: under 2 days, 2 to 7, 7 to 30, 30 days and over (an age exactly on a
  boundary goes to the older bucket).
- **Reopen rate**: requests with a "reopened" event in the period over requests moved to
  "resolved" in the period (``status_changed`` events), each request counted once
  (``ix_request_events_kind_created``), by the case's current department. It can exceed 1
  when cases resolved earlier are reopened; None when nothing was resolved.
- **Satisfaction**: mean CSAT (1-5) of survey responses answered in the period, any survey,
  by the response's department (``ix_survey_responses_department_created``); None with fewer
  than ``MIN_RESPONSES`` CSAT answers (the survey results' rule), ``responses`` is the count.

Drill-downs group the same figures by the case's category or area (joined through the case)
or by the task's assignee (agents: tasks, resolution clocks and backlog only; first response,
reopenings and satisfaction belong to the case, not to one agent, and stay None).

The board ranks departments by resolution compliance (highest first), then median working
hours to resolution (lowest first), then name; departments with no resolution clock ended
in the period are not ranked (``rank`` None) and come last.

The queries group by department *and* the grouping, so one pass computes every department's
figures: that is the roll-up the worker stores per period (``ROLLUPS``, one part per
department; see ``portal.reports.rollups``). Given a ``RollupReader``, ``department_board``
and ``department_detail`` read the roll-up; without one they count now. No Flask here.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, case, func, or_, select, true
from sqlalchemy.orm import Session

from portal.areas.models import Area
from portal.auth.models import User
from portal.casework.models import Task
from portal.catalogue.models import Department, ServiceCategory
from portal.core import clock
from portal.reports.periods import Period
from portal.reports.rollups import Compute, Report, Rollup, RollupReader
from portal.requests.models import Event, ServiceRequest
from portal.sla.models import SlaClock
from portal.surveys.models import SurveyResponse
from portal.surveys.results import MIN_RESPONSES  # the survey results' rule

GROUPINGS = ("category", "area", "agent")
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


#: Figures compared with the previous period on the board.
COMPARED = (
    "tasks_opened",
    "tasks_closed",
    "resolution_compliance",
    "first_response_compliance",
    "median_first_response_hours",
    "median_resolution_hours",
    "backlog",
    "reopen_rate",
    "satisfaction",
)


@dataclass
class BoardRow:
    """A department on the board: this period's figures, the previous period's, and ranks."""

    figures: DepartmentFigures
    previous: DepartmentFigures
    rank: int | None
    previous_rank: int | None

    def change(self, name: str) -> float | None:
        """This period's value of figure ``name`` minus the previous one (None when either is
        missing). Shares are fractions: 0.05 is five percentage points."""
        now, before = getattr(self.figures, name), getattr(self.previous, name)
        if now is None or before is None:
            return None
        return now - before

    @property
    def rank_change(self) -> int | None:
        """Places climbed since the previous period (negative: places lost)."""
        if self.rank is None or self.previous_rank is None:
            return None
        return self.previous_rank - self.rank


# -- grouping -------------------------------------------------------------------------------


def _key(by: str, *, task: bool = False, clock_: bool = False) -> ColumnElement[Any]:
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
) -> dict[tuple[int, Any, str], tuple]:
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


def _survey_figures(
    session: Session, by: str, scope: ColumnElement[bool], start: datetime, end: datetime
) -> dict[tuple[int, Any], tuple]:
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
    return {(d, k): rest for d, k, *rest in session.execute(query).all()}


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


def _figures(
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
    for key, (n, answered, total) in _survey_figures(
        session, by, scope["response"], start, end
    ).items():
        figures = row(key)
        figures.responses = n
        figures.satisfaction = total / answered if answered >= MIN_RESPONSES else None
    return rows


# -- roll-ups (what the pages read; see portal.reports.rollups) --------------------------------


def _compute(by: str) -> Compute:
    """The roll-up of every department's figures by ``by``: one part per department, a list
    of [group key, figures]."""

    def compute(session: Session, period: Period, zone: ZoneInfo, now: datetime) -> dict[str, Any]:
        ids = list(session.scalars(select(Department.id)))
        parts: dict[str, Any] = defaultdict(list)
        for (d, k), figures in _figures(
            session, period, tz=zone, by=by, department_ids=ids, now=now
        ).items():
            parts[str(d)].append([k, asdict(figures)])
        return parts

    return compute


#: One roll-up per grouping: "scorecards-department", "scorecards-category", ...
ROLLUPS = {by: Report(f"scorecards-{by}", _compute(by)) for by in ("department", *GROUPINGS)}


def _from_rollup(rollup: Rollup) -> dict[tuple[int, Any], DepartmentFigures]:
    return {
        (int(d), k): DepartmentFigures(**figures)
        for d, rows in rollup.parts.items()
        for k, figures in rows
    }


def _period_figures(
    session: Session,
    period: Period,
    *,
    tz: str | ZoneInfo,
    by: str,
    department_ids: Sequence[int],
    now: datetime | None,
    rollups: RollupReader | None,
) -> dict[tuple[int, Any], DepartmentFigures]:
    """The figures from the roll-up when a reader is given, else counted now."""
    if rollups is None:
        return _figures(session, period, tz=tz, by=by, department_ids=department_ids, now=now)
    return _from_rollup(rollups.get(ROLLUPS[by], period, parts=department_ids))


def _sort_key(figures: DepartmentFigures) -> tuple:
    median = figures.median_resolution_hours
    return (
        -(figures.resolution_compliance or 0.0),
        median if median is not None else float("inf"),
        figures.name.casefold(),
    )


def _ranked(figures: Iterable[DepartmentFigures]) -> list[tuple[int | None, DepartmentFigures]]:
    """Departments in board order with their rank (None: nothing to rank them on)."""
    ranked = sorted((f for f in figures if f.resolution_compliance is not None), key=_sort_key)
    rest = sorted(
        (f for f in figures if f.resolution_compliance is None), key=lambda f: f.name.casefold()
    )
    return [(i, f) for i, f in enumerate(ranked, 1)] + [(None, f) for f in rest]


def department_board(
    session: Session,
    period: Period,
    *,
    tz: str | ZoneInfo,
    locale: str = "en",
    now: datetime | None = None,
    include_inactive: bool = False,
    rollups: RollupReader | None = None,
) -> list[BoardRow]:
    """Every (active) department's figures for ``period`` and the previous period, in rank
    order (see the module docstring for the rule); from the roll-ups when ``rollups`` is
    given, else counted now."""
    query = select(Department).order_by(Department.name)
    if not include_inactive:
        query = query.where(Department.active.is_(True))
    departments = list(session.scalars(query))
    ids = [d.id for d in departments]
    names = {d.id: d.t("name", locale) for d in departments}

    def complete(of: Period) -> list[DepartmentFigures]:
        found = _period_figures(
            session, of, tz=tz, by="department", department_ids=ids, now=now, rollups=rollups
        )
        out = []
        for department_id in ids:
            figures = found.get((department_id, department_id)) or DepartmentFigures(
                department_id, ""
            )
            out.append(replace(figures, department_id=department_id, name=names[department_id]))
        return out

    current, previous = complete(period), complete(period.previous())
    previous_ranks = {f.department_id: rank for rank, f in _ranked(previous)}
    previous_by_id = {f.department_id: f for f in previous}
    return [
        BoardRow(
            figures=f,
            previous=previous_by_id[f.department_id],
            rank=rank,
            previous_rank=previous_ranks[f.department_id],
        )
        for rank, f in _ranked(current)
    ]


def wall_of_fame(board: Sequence[BoardRow], size: int = 3) -> list[BoardRow]:
    """The best ranked departments, best first: at most ``size``, and at most half of the
    ranked departments (so that no department is on both walls)."""
    ranked = [row for row in board if row.rank is not None]
    return ranked[: min(size, len(ranked) // 2)]


def wall_of_shame(board: Sequence[BoardRow], size: int = 3) -> list[BoardRow]:
    """The worst ranked departments, worst first (at most ``size``, at most half)."""
    ranked = [row for row in board if row.rank is not None]
    return list(reversed(ranked))[: min(size, len(ranked) // 2)]


def _group_names(session: Session, by: str, ids: list[Any], locale: str) -> dict[Any, str]:
    ids = [i for i in ids if i is not None]
    if not ids:
        return {}
    if by == "agent":
        return dict(session.execute(select(User.id, User.name).where(User.id.in_(ids))).all())
    model = ServiceCategory if by == "category" else Area
    objects = session.scalars(select(model).where(model.id.in_(ids)))
    if by == "category":
        return {o.id: o.t("name", locale) for o in objects}
    return {o.id: o.name for o in objects}


def department_detail(
    session: Session,
    department_id: int,
    period: Period,
    *,
    tz: str | ZoneInfo,
    by: str,
    include_agents: bool = False,
    locale: str = "en",
    now: datetime | None = None,
    rollups: RollupReader | None = None,
) -> list[DepartmentFigures]:
    """One department's figures for ``period`` grouped ``by`` "category", "area" or "agent",
    ordered by name (the group without an area or an assignee, ``group_id`` None and name
    "", last). Agent rows only with ``include_agents`` (the caller checks the viewer may see
    them). Raises ``ValueError`` for an unknown grouping, or agents not allowed."""
    if by not in GROUPINGS:
        raise ValueError(f"Unknown drill-down {by!r}: use category, area or agent.")
    if by == "agent" and not include_agents:
        raise ValueError("Agent figures are for supervisors of the department and admins.")
    found = _period_figures(
        session, period, tz=tz, by=by, department_ids=[department_id], now=now, rollups=rollups
    )
    names = _group_names(session, by, [k for _d, k in found], locale)
    rows = [
        replace(f, department_id=department_id, name=names.get(k, ""))
        for (_d, k), f in found.items()
    ]
    return sorted(rows, key=lambda f: (f.group_id is None, f.name.casefold(), f.group_id or 0))


def as_table(rows: Iterable[DepartmentFigures]) -> tuple[list[str], list[list[Any]]]:
    """Column names and plain values of ``rows`` (for CSV exports): one column per figure,
    the backlog ages spread over one column per bucket."""
    names = [f.name for f in fields(DepartmentFigures) if f.name != "backlog_ages"]
    header = names + [f"backlog_{label}" for label, _days in AGE_BUCKETS]
    body = [
        [getattr(r, n) for n in names] + [r.backlog_ages[label] for label, _ in AGE_BUCKETS]
        for r in rows
    ]
    return header, body


__all__ = [
    "AGE_BUCKETS",
    "COMPARED",
    "GROUPINGS",
    "MIN_RESPONSES",
    "BoardRow",
    "DepartmentFigures",
    "as_table",
    "department_board",
    "department_detail",
    "wall_of_fame",
    "wall_of_shame",
]
