"""Calibrated expected dates (issue 23): beside the SLA promise, when work like this is usually
finished, from the city's own history. No Flask here.

**History.** Resolution clocks (a case's own, scope "case"; a task's, scope "task") that ended
met or breached in the last ``forecast_window_days``. A clock's ``working_seconds`` is how long
the work took on its calendar, pauses excluded (final once stopped).

**Groups** of similar work, most specific first: department, scope and unit with the category
and priority; with the category; the department alone. A group needs
``forecast_min_examples`` resolutions to be kept. Each keeps its distribution as quantiles at
``GRID`` (2% steps, nearest rank), so any percentile and the conditional ones below can be read
back without the rows.

**Forecast.** When a resolution clock starts, the promised percentile q (``forecast_percentile``,
80 by default) of its first group, times the department's **backlog factor**, is the working
time expected; the clock keeps it (``forecast_seconds``) and the moment it is reached on its
calendar (``forecast_at``). For a case still open after that moment, the tracking page asks
again given the time already worked *e*: the value *x* with F(x) = F(e) + q (1 - F(e)), the
q-th percentile of the work that took longer than *e*.

**Backlog factor** (Little's law). The wall time the department's clocks of the scope that
ended in the window were open, over the window's length, is about how many were open at a time
on average (L̄); with L open now, the remaining time is scaled by L / L̄, kept within
[0.8, 2], and only when L̄ is at least 5 (a handful of open clocks says little).

**Calibration.** Of the clocks started in the window that were given a forecast, those whose
forecast moment has passed are judged (neither cancelled nor transferred): finished by it, or
not. Judging by the moment, never by whether the clock has stopped, keeps early finishers from
counting before late ones can. A clock paused while waiting for the resident counts as late if
that pushed it past the date: the share is what residents experienced. Target: the percentile
promised, plus or minus ``CALIBRATION_TOLERANCE``.
"""

from __future__ import annotations

import bisect
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, delete, func, select
from sqlalchemy.orm import Session

from portal.core.audit import AuditEntry
from portal.core.config import Settings
from portal.requests.models import ServiceRequest
from portal.sla import clocks
from portal.sla.calendar import WorkingCalendar
from portal.sla.models import LIVE_STAGES, ForecastCalibration, ForecastGroup, SlaClock

#: The percentiles each group keeps: 0.02, 0.04, ... 1.0.
GRID = tuple((i + 1) / 50 for i in range(50))
#: The backlog factor's bounds, and the least typical backlog it is computed from.
FACTOR_BOUNDS = (0.8, 2.0)
MIN_TYPICAL_BACKLOG = 5.0
#: A calibration within this many points of the percentile promised is on target.
CALIBRATION_TOLERANCE = 0.05
ENDED = ("met", "breached")
SCOPES = ("case", "task")
ANY = "*"


# -- distributions ---------------------------------------------------------------------------


def sketch(values: Sequence[float]) -> list[float]:
    """The nearest-rank quantiles of ``values`` at ``GRID``."""
    ordered = sorted(values)
    n = len(ordered)
    return [float(ordered[max(math.ceil(p * n), 1) - 1]) for p in GRID]


def quantile(points: Sequence[float], p: float) -> float:
    """The value at percentile ``p`` (0 to 1), interpolated between the grid's points."""
    if p <= GRID[0]:
        return points[0]
    if p >= GRID[-1]:
        return points[-1]
    i = bisect.bisect_left(GRID, p)
    lo, hi = GRID[i - 1], GRID[i]
    return points[i - 1] + (points[i] - points[i - 1]) * (p - lo) / (hi - lo)


def share_within(points: Sequence[float], x: float) -> float:
    """The share of the work finished within ``x`` seconds (the inverse of ``quantile``)."""
    if x < points[0]:
        return GRID[0] * (x / points[0]) if points[0] > 0 else 0.0
    if x >= points[-1]:
        return 1.0
    i = bisect.bisect_right(points, x)
    lo, hi = points[i - 1], points[i]
    if hi == lo:
        return GRID[i]
    return GRID[i - 1] + (GRID[i] - GRID[i - 1]) * (x - lo) / (hi - lo)


def remaining(points: Sequence[float], q: float, worked: float) -> float:
    """Working seconds, from the start, by which a share ``q`` of the work that has already
    taken ``worked`` seconds is finished."""
    if worked <= 0:
        return quantile(points, q)
    before = share_within(points, worked)
    return max(quantile(points, before + q * (1 - before)), worked)


# -- the groups, rebuilt by the worker --------------------------------------------------------


def group_key(
    department_id: int, scope: str, unit: str, category_id: Any = ANY, priority: Any = ANY
) -> str:
    return f"{department_id}:{scope}:{unit}:{category_id}:{priority}"


def _keys(department_id: int, scope: str, unit: str, category_id: int, priority: str) -> list[str]:
    """A clock's groups, most specific first."""
    return [
        group_key(department_id, scope, unit, category_id, priority),
        group_key(department_id, scope, unit, category_id),
        group_key(department_id, scope, unit),
    ]


def _is_case() -> Any:
    """True for a case's own clock, false for a task's (grouped on as it is: the same SQL
    text in the select and the GROUP BY on every engine)."""
    return SlaClock.task_id.is_(None)


def _scope_of(is_case: Any) -> str:
    return "case" if is_case else "task"


def _history(session: Session, department_ids: Iterable[int], since: datetime) -> Iterable[Any]:
    """(department, a case's clock?, unit, category, priority, working seconds) of every resolution
    clock that ended in the window, one department at a time (its index range)."""
    for department_id in department_ids:
        yield from session.execute(
            select(
                SlaClock.department_id,
                _is_case(),
                SlaClock.unit,
                ServiceRequest.category_id,
                ServiceRequest.priority,
                SlaClock.working_seconds,
            )
            .join(ServiceRequest, ServiceRequest.id == SlaClock.request_id)
            .where(
                SlaClock.department_id == department_id,
                SlaClock.kind == "resolution",
                SlaClock.stopped_at >= since,
                SlaClock.stage.in_(ENDED),
            )
        )


def _backlog_factors(
    session: Session, department_ids: Sequence[int], since: datetime, now: datetime
) -> dict[tuple[int, str], float]:
    """Each department and scope's backlog factor (module docstring)."""
    ended = and_(SlaClock.stage.in_(ENDED), SlaClock.stopped_at >= since)
    factors: dict[tuple[int, str], float] = {}
    for department_id in department_ids:
        rows = session.execute(
            select(
                _is_case(),
                func.sum(case((ended, SlaClock.wall_seconds), else_=0)),
                func.sum(case((SlaClock.stage.in_(LIVE_STAGES), 1), else_=0)),
                func.min(SlaClock.started_at),
            )
            .where(
                SlaClock.department_id == department_id,
                SlaClock.kind == "resolution",
                SlaClock.stage.in_((*ENDED, *LIVE_STAGES)),
                # The live clocks, and the ended ones of the window.
                (SlaClock.stopped_at.is_(None)) | (SlaClock.stopped_at >= since),
            )
            .group_by(_is_case())
        )
        for is_case, open_seconds, open_now, first in rows:
            scope = _scope_of(is_case)
            # The time the clocks that ended in the window were open, over the window (from
            # the first clock, for a city with a shorter history): how many were open at a
            # time, on average.
            span = (now - max(since, first or now)).total_seconds()
            typical = float(open_seconds or 0) / span if span > 0 else 0.0
            factor = 1.0
            if typical >= MIN_TYPICAL_BACKLOG:
                factor = min(max((open_now or 0) / typical, FACTOR_BOUNDS[0]), FACTOR_BOUNDS[1])
            factors[(department_id, scope)] = factor
    return factors


@dataclass(frozen=True)
class Rebuilt:
    groups: int
    clocks: int
    calibrated: int

    def __str__(self) -> str:
        return (
            f"forecasts from {self.clocks} resolution(s) in {self.groups} group(s); "
            f"calibration of {self.calibrated} forecast(s)"
        )


def rebuild(session: Session, *, settings: Settings, now: datetime) -> Rebuilt:
    """Replace the groups and the calibration with what the window's history says."""
    from portal.catalogue.models import Department

    since = now - timedelta(days=settings.forecast_window_days)
    department_ids = list(session.scalars(select(Department.id).order_by(Department.id)))
    values: dict[str, list[float]] = defaultdict(list)
    described: dict[str, tuple[int, str, str, int | None, str | None]] = {}
    count = 0
    for department_id, is_case, unit, category_id, priority, seconds in _history(
        session, department_ids, since
    ):
        count += 1
        scope = _scope_of(is_case)
        for key, category, prio in zip(
            _keys(department_id, scope, unit, category_id, priority),
            (category_id, category_id, None),
            (priority, None, None),
            strict=True,
        ):
            values[key].append(float(seconds))
            described[key] = (department_id, scope, unit, category, prio)
    factors = _backlog_factors(session, department_ids, since, now)
    q = settings.forecast_percentile / 100
    session.execute(delete(ForecastGroup))
    kept = 0
    for key, seconds in values.items():
        if len(seconds) < settings.forecast_min_examples:
            continue
        department_id, scope, unit, category_id, priority = described[key]
        session.add(
            ForecastGroup(
                key=key,
                department_id=department_id,
                scope=scope,
                unit=unit,
                category_id=category_id,
                priority=priority,
                examples=len(seconds),
                quantile=q,
                sketch=sketch(seconds),
                backlog_factor=factors.get((department_id, scope), 1.0),
                computed_at=now,
            )
        )
        kept += 1
    calibrated = _rebuild_calibration(session, since=since, now=now)
    session.flush()
    return Rebuilt(groups=kept, clocks=count, calibrated=calibrated)


def _rebuild_calibration(session: Session, *, since: datetime, now: datetime) -> int:
    judged = and_(SlaClock.forecast_at <= now, SlaClock.stage.not_in(("cancelled", "transferred")))
    finished = and_(judged, SlaClock.stage.in_(ENDED), SlaClock.stopped_at <= SlaClock.forecast_at)
    rows = session.execute(
        select(
            SlaClock.department_id,
            ServiceRequest.category_id,
            _is_case(),
            func.sum(case((judged, 1), else_=0)),
            func.sum(case((finished, 1), else_=0)),
        )
        .join(ServiceRequest, ServiceRequest.id == SlaClock.request_id)
        .where(
            SlaClock.kind == "resolution",
            SlaClock.started_at >= since,
            SlaClock.forecast_at.is_not(None),
        )
        .group_by(SlaClock.department_id, ServiceRequest.category_id, _is_case())
    )
    session.execute(delete(ForecastCalibration))
    total = 0
    for department_id, category_id, is_case, judged_count, finished_count in rows:
        if not judged_count:
            continue
        scope = _scope_of(is_case)
        total += int(judged_count)
        session.add(
            ForecastCalibration(
                department_id=department_id,
                category_id=category_id,
                scope=scope,
                judged=int(judged_count),
                finished_by=int(finished_count or 0),
                computed_at=now,
            )
        )
    return total


# -- forecasting one clock --------------------------------------------------------------------


def _group_for(session: Session, clock: SlaClock, request: ServiceRequest) -> ForecastGroup | None:
    scope = "case" if clock.task_id is None else "task"
    keys = _keys(clock.department_id, scope, clock.unit, request.category_id, request.priority)
    found = {
        g.key: g for g in session.scalars(select(ForecastGroup).where(ForecastGroup.key.in_(keys)))
    }
    return next((found[k] for k in keys if k in found), None)


def forecast_seconds(group: ForecastGroup, worked: float = 0.0) -> float:
    """The working seconds from the start by which the group's percentile of work like this is
    finished, given ``worked`` seconds already, the remaining part scaled by the backlog."""
    total = remaining(group.sketch, group.quantile, worked)
    return worked + (total - worked) * group.backlog_factor


def record(
    session: Session, clock: SlaClock, request: ServiceRequest, calendar: WorkingCalendar
) -> None:
    """Give a resolution clock that just started its forecast (none without a group)."""
    if clock.kind != "resolution":
        return
    group = _group_for(session, clock, request)
    if group is None:
        clock.forecast_seconds = clock.forecast_at = None
        return
    seconds = forecast_seconds(group)
    clock.forecast_seconds = int(round(seconds))
    clock.forecast_at = clocks.moment_at(clock, calendar, seconds)


def current(
    session: Session,
    clock: SlaClock,
    request: ServiceRequest,
    calendar: WorkingCalendar,
    *,
    now: datetime,
) -> datetime | None:
    """When work like this live clock's is usually finished, as of ``now``: the forecast made
    at its start while that is ahead, else asked again given the time worked; None while it
    is paused, once it has stopped, or with no group."""
    if clock.stage != "running":
        return None
    if clock.forecast_at is not None and clock.forecast_at > now:
        return clock.forecast_at
    group = _group_for(session, clock, request)
    if group is None:
        return None
    worked = clocks.elapsed(clock, calendar, now).working
    moment = clocks.moment_at(clock, calendar, forecast_seconds(group, worked))
    return moment if moment is not None and moment > now else None


# -- the calibration table --------------------------------------------------------------------


@dataclass(frozen=True)
class CalibrationRow:
    """Forecasts judged (their date has passed) and those finished by their date."""

    group_id: int | None
    judged: int
    finished_by: int

    @property
    def share(self) -> float:
        return self.finished_by / self.judged if self.judged else 0.0


@dataclass(frozen=True)
class DepartmentCalibration:
    department_id: int
    total: CalibrationRow
    categories: list[CalibrationRow]


def calibration(session: Session, *, scope: str = "case") -> list[DepartmentCalibration]:
    """The calibration of each department with judged forecasts, and of its categories (the
    table has one row per department and category: bounded by the catalogue)."""
    found: dict[int, list[CalibrationRow]] = defaultdict(list)
    for row in session.scalars(
        select(ForecastCalibration)
        .where(ForecastCalibration.scope == scope)
        .order_by(ForecastCalibration.department_id, ForecastCalibration.id)
    ):
        found[row.department_id].append(
            CalibrationRow(row.category_id, row.judged, row.finished_by)
        )
    return [
        DepartmentCalibration(
            department_id,
            CalibrationRow(None, sum(r.judged for r in rows), sum(r.finished_by for r in rows)),
            sorted(rows, key=lambda r: -r.judged),
        )
        for department_id, rows in found.items()
    ]


def on_target(share: float, percentile: float) -> bool:
    return abs(share - percentile) <= CALIBRATION_TOLERANCE + 1e-9


#: The audit entry that marks each daily rebuild, so a city with nothing to forecast yet (no
#: group has MIN_EXAMPLES resolved clocks) is not rebuilt again every worker round.
REBUILT = ("forecasts", "rebuild")


def rebuild_forecasts(db: Any, settings: Settings, now: datetime) -> str | None:
    """Worker job: once a day (city time does not matter: a day since the last rebuild)."""
    entity, entity_id = REBUILT
    with db.transaction(write=False) as session:
        latest = session.scalar(
            select(func.max(AuditEntry.created_at)).where(
                AuditEntry.entity == entity, AuditEntry.entity_id == entity_id
            )
        )
    if latest is not None and now - latest < timedelta(days=1):
        return None
    with db.transaction() as session:
        rebuilt = rebuild(session, settings=settings, now=now)
        session.add(
            AuditEntry(
                actor_id=None,
                entity=entity,
                entity_id=entity_id,
                action="rebuilt",
                after={"result": str(rebuilt)},
                created_at=now,
            )
        )
        return str(rebuilt)
