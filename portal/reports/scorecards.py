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

- **Re-categorisation rate**: of the requests filed in the period (``created_at``, by the
  case's current department), the share whose category staff changed (casework's
  ``change_category`` internal entry, ``{"action": "category"}``, at any time up to the count),
  with the count (``recategorised`` of ``filed``). None when nothing was filed. It tells how
  often residents (helped by the category suggestions) chose a category staff corrected.

Drill-downs group the same figures by the case's category or area (joined through the case)
or by the task's assignee (agents: tasks, resolution clocks and backlog only; first response,
reopenings and satisfaction belong to the case, not to one agent, and stay None).

The board ranks departments fairly (issue 23): only a department with at least ``min_tasks``
resolution clocks ended in the period (met or breached: ``resolution_clocks``) is ranked, by
the **lower bound of the 95% Wilson score interval** of its on-time share (highest first: the
share its results show at the least, so 2 tasks on time of 2 do not outrank 95 of 100), then
median working hours to resolution (lowest first), then name. The others are not ranked
(``rank`` None) and come last, by name.

The queries group by department *and* the grouping, so one pass computes every department's
figures: that is the roll-up the worker stores per period (``ROLLUPS``, one part per
department; see ``portal.reports.rollups``). Given a ``RollupReader``, ``department_board``
and ``department_detail`` read the roll-up; without one they count now (the queries are in
``portal.reports.scorecard_queries``). No Flask here.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, fields, replace
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.areas.models import Area
from portal.auth.models import User
from portal.catalogue.models import Department, ServiceCategory
from portal.reports.periods import Period
from portal.reports.rollups import Compute, Report, Rollup, RollupReader
from portal.reports.scorecard_queries import AGE_BUCKETS, DepartmentFigures, count_figures

GROUPINGS = ("category", "area", "agent")


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
    "recategorisation_rate",
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


# -- roll-ups (what the pages read; see portal.reports.rollups) --------------------------------


def _compute(by: str) -> Compute:
    """The roll-up of every department's figures by ``by``: one part per department, a list
    of [group key, figures]."""

    def compute(session: Session, period: Period, zone: ZoneInfo, now: datetime) -> dict[str, Any]:
        ids = list(session.scalars(select(Department.id)))
        parts: dict[str, Any] = defaultdict(list)
        for (d, k), figures in count_figures(
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
        return count_figures(session, period, tz=tz, by=by, department_ids=department_ids, now=now)
    parts = [str(department_id) for department_id in department_ids]
    return _from_rollup(rollups.get(ROLLUPS[by], period, parts=parts))


#: The ranking's minimum volume when none is given (``Settings.wall_min_tasks``).
MIN_TASKS = 20
#: The normal quantile of the 95% Wilson interval.
WILSON_Z = 1.959964


def wilson_lower_bound(share: float, n: int, z: float = WILSON_Z) -> float:
    """The lower end of the Wilson score interval of a share ``share`` of ``n`` trials."""
    if n <= 0:
        return 0.0
    z2 = z * z
    centre = share + z2 / (2 * n)
    spread = z * math.sqrt(share * (1 - share) / n + z2 / (4 * n * n))
    return max((centre - spread) / (1 + z2 / n), 0.0)


def ranking_score(figures: DepartmentFigures) -> float | None:
    """What the board ranks on: the Wilson lower bound of the on-time share (None: no
    resolution clock ended)."""
    if figures.resolution_compliance is None:
        return None
    return wilson_lower_bound(figures.resolution_compliance, figures.resolution_clocks)


def _sort_key(figures: DepartmentFigures) -> tuple:
    median = figures.median_resolution_hours
    return (
        -(ranking_score(figures) or 0.0),
        median if median is not None else float("inf"),
        figures.name.casefold(),
    )


def is_ranked(figures: DepartmentFigures, min_tasks: int = MIN_TASKS) -> bool:
    return figures.resolution_compliance is not None and figures.resolution_clocks >= min_tasks


def _ranked(
    figures: Iterable[DepartmentFigures], min_tasks: int = MIN_TASKS
) -> list[tuple[int | None, DepartmentFigures]]:
    """Departments in board order with their rank (None: too few tasks to rank them on)."""
    figures = list(figures)
    ranked = sorted((f for f in figures if is_ranked(f, min_tasks)), key=_sort_key)
    rest = sorted(
        (f for f in figures if not is_ranked(f, min_tasks)), key=lambda f: f.name.casefold()
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
    min_tasks: int = MIN_TASKS,
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
    previous_ranks = {f.department_id: rank for rank, f in _ranked(previous, min_tasks)}
    previous_by_id = {f.department_id: f for f in previous}
    return [
        BoardRow(
            figures=f,
            previous=previous_by_id[f.department_id],
            rank=rank,
            previous_rank=previous_ranks[f.department_id],
        )
        for rank, f in _ranked(current, min_tasks)
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
    if by == "category":
        categories = session.scalars(select(ServiceCategory).where(ServiceCategory.id.in_(ids)))
        return {o.id: o.t("name", locale) for o in categories}
    areas = session.scalars(select(Area).where(Area.id.in_(ids)))
    return {o.id: o.name for o in areas}


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
    "COMPARED",
    "GROUPINGS",
    "BoardRow",
    "as_table",
    "department_board",
    "department_detail",
    "wall_of_fame",
    "wall_of_shame",
]
