"""Report roll-ups: each report's aggregates per period, computed once and read by the pages.

A report's figures for a period of a million requests take the database seconds to count
(every task, clock, event and response of the period). The pages must answer in well under
a second, so they read **roll-ups**: the aggregates of one report (``Report``) for one
period, stored in ``report_rollups`` as a header row (when they were computed) and one row
per part (a department's figures, the city's request counts per area and category...).

Who computes them, and how fresh they are:

- The worker's ``refresh_report_rollups`` job (``portal.reports.catalogue``) keeps the last
  ``WINDOW`` periods of every kind current: each round it recomputes, newest period first,
  every roll-up that is missing or older than ``settings.report_refresh_seconds`` and not
  yet final, within a time budget (``BUDGET``; the rest waits for the next round).
  Periods that ended before the first request was filed are skipped (nothing to count).
  A round with nothing to do costs two indexed queries. A period's roll-up is **final**
  once it was computed at least ``SETTLE`` after the period ended: late changes (a clock stopped
  again after a reopening, a survey answered late) have settled by then, and the figures of
  a closed period no longer move.
- A page that finds no roll-up, or one the worker has left too old (three refresh intervals:
  the worker is behind or not running), computes it itself and stores it
  (``RollupReader.get``). The computation runs on the page's read session; only the storing
  takes a short write transaction.

Every figure is exactly what the live queries give at ``computed_at``; pages show that time.
No Flask here.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func, insert, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from portal.core import clock
from portal.core.db import Database
from portal.reports.models import ReportRollup
from portal.reports.periods import KINDS, Period
from portal.requests.models import ServiceRequest

#: Periods of each kind the worker keeps current (the current one and the 12 before it:
#: a trend chart's twelve points, and the six periods a spike baseline needs).
WINDOW = 13
#: A roll-up computed this long after its period ended is final.
SETTLE = timedelta(days=7)
#: A page recomputes a roll-up older than this many refresh intervals.
STALE_INTERVALS = 3
#: Seconds of computing per worker round (the round also delivers the outbox, so it is
#: kept short); what is left waits for the next round. At least one roll-up per round.
BUDGET = 5.0
HEADER = ""

#: ``compute(session, period, zone, now)`` returns the parts: {part key: JSON payload}.
Compute = Callable[[Session, Period, ZoneInfo, datetime], Mapping[str, Any]]


@dataclass(frozen=True)
class Report:
    name: str
    compute: Compute


@dataclass(frozen=True)
class Rollup:
    computed_at: datetime
    parts: dict[str, Any]


def _zone(tz: str | ZoneInfo) -> ZoneInfo:
    return ZoneInfo(tz) if isinstance(tz, str) else tz


def is_final(period: Period, computed_at: datetime, tz: str | ZoneInfo) -> bool:
    return computed_at >= period.bounds(_zone(tz))[1] + SETTLE


def _key(report: Report, period: Period) -> list[Any]:
    return [
        ReportRollup.report == report.name,
        ReportRollup.period_kind == period.kind,
        ReportRollup.period_start == period.start,
    ]


def read(
    session: Session, report: Report, period: Period, parts: Iterable[str] | None = None
) -> Rollup | None:
    """The stored roll-up (only the ``parts`` asked for; every part when None), or None."""
    query = select(ReportRollup.part, ReportRollup.computed_at, ReportRollup.payload).where(
        *_key(report, period)
    )
    if parts is not None:
        query = query.where(ReportRollup.part.in_([HEADER, *parts]))
    rows = session.execute(query).all()
    header = next((row for row in rows if row.part == HEADER), None)
    if header is None:
        return None
    return Rollup(header.computed_at, {row.part: row.payload for row in rows if row.part != HEADER})


def write(
    session: Session,
    report: Report,
    period: Period,
    parts: Mapping[str, Any],
    computed_at: datetime,
) -> None:
    """Replace the roll-up with ``parts``. The header row is written first, by an upsert:
    a second writer of the same roll-up waits on its row lock (PostgreSQL) or the database
    lock (SQLite) until the first commits, then replaces what the first wrote."""
    values = {
        "report": report.name,
        "period_kind": period.kind,
        "period_start": period.start,
        "computed_at": computed_at,
    }
    dialect = session.get_bind().dialect.name
    if dialect not in ("postgresql", "sqlite"):  # pragma: no cover - the portal's engines
        raise RuntimeError(f"unsupported database {dialect}")
    upsert = (postgresql if dialect == "postgresql" else sqlite).insert(ReportRollup)
    session.execute(
        upsert.values(**values, part=HEADER, payload={}).on_conflict_do_update(
            index_elements=["report", "period_kind", "period_start", "part"],
            set_={"computed_at": computed_at},
        )
    )
    session.execute(delete(ReportRollup).where(*_key(report, period), ReportRollup.part != HEADER))
    if parts:  # one executemany, not an INSERT per part
        session.execute(
            insert(ReportRollup),
            [{**values, "part": str(part), "payload": payload} for part, payload in parts.items()],
        )
    session.flush()


def compute_and_store(
    db: Database,
    session: Session,
    report: Report,
    period: Period,
    *,
    tz: str | ZoneInfo,
    now: datetime | None = None,
) -> Rollup:
    """Compute the roll-up on ``session`` (a read) and store it in its own transaction."""
    now = now or clock.now()
    parts = {str(k): v for k, v in report.compute(session, period, _zone(tz), now).items()}
    with db.transaction() as writer:
        write(writer, report, period, parts, now)
    return Rollup(now, parts)


class RollupReader:
    """What the pages use: the stored roll-up when it is fresh enough, otherwise computed
    and stored now."""

    def __init__(
        self,
        db: Database,
        session: Session,
        *,
        tz: str | ZoneInfo,
        refresh_seconds: int,
        now: datetime | None = None,
    ) -> None:
        self.db, self.session, self.zone = db, session, _zone(tz)
        self.max_age = timedelta(seconds=refresh_seconds * STALE_INTERVALS)
        self.now = now
        #: The oldest of the roll-ups read that may still change (pages show it), and
        #: whether any roll-up was read at all (all final when this one stays None).
        self.oldest_live: datetime | None = None
        self.read_any = False

    def _usable(self, rollup: Rollup, period: Period, now: datetime) -> bool:
        return (
            is_final(period, rollup.computed_at, self.zone)
            or rollup.computed_at >= now - self.max_age
        )

    def get(self, report: Report, period: Period, parts: Iterable[str] | None = None) -> Rollup:
        now = self.now or clock.now()
        wanted = None if parts is None else [str(p) for p in parts]
        rollup = read(self.session, report, period, wanted)
        if rollup is None or not self._usable(rollup, period, now):
            rollup = compute_and_store(self.db, self.session, report, period, tz=self.zone, now=now)
            if wanted is not None:
                rollup = Rollup(
                    rollup.computed_at, {k: v for k, v in rollup.parts.items() if k in wanted}
                )
        self.read_any = True
        if not is_final(period, rollup.computed_at, self.zone) and (
            self.oldest_live is None or rollup.computed_at < self.oldest_live
        ):
            self.oldest_live = rollup.computed_at
        return rollup


# -- the worker --------------------------------------------------------------------------------


def _window(today: Any) -> list[Period]:
    """The periods kept current, newest first (every kind's current period, then the ones
    before them)."""
    rows = [[Period.containing(kind, today)] for kind in KINDS]
    for series in rows:
        while len(series) < WINDOW:
            series.append(series[-1].previous())
    return [series[depth] for depth in range(WINDOW) for series in rows]


def refresh(
    db: Database,
    reports: Iterable[Report],
    *,
    tz: str | ZoneInfo,
    refresh_seconds: int,
    now: datetime,
    budget: float = BUDGET,
) -> int:
    """Recompute the window's missing, stale and unsettled roll-ups, newest first, until
    ``budget`` seconds have been spent. Returns how many were computed."""
    zone = _zone(tz)
    reports = list(reports)
    periods = _window(now.astimezone(zone).date())
    with db.transaction(write=False) as session:
        first = session.scalar(select(func.min(ServiceRequest.created_at)))
        if first is None:
            return 0
        headers = {
            (row.report, row.period_kind, row.period_start): row.computed_at
            for row in session.execute(
                select(
                    ReportRollup.report,
                    ReportRollup.period_kind,
                    ReportRollup.period_start,
                    ReportRollup.computed_at,
                ).where(
                    ReportRollup.part == HEADER,
                    ReportRollup.report.in_([r.name for r in reports]),
                    or_(
                        *[
                            (ReportRollup.period_kind == kind)
                            & (
                                ReportRollup.period_start
                                >= min(p.start for p in periods if p.kind == kind)
                            )
                            for kind in KINDS
                        ]
                    ),
                )
            )
        }
    stale_before = now - timedelta(seconds=refresh_seconds)
    started, done = time.monotonic(), 0
    for period in periods:
        if period.bounds(zone)[1] <= first:
            continue
        for report in reports:
            computed_at = headers.get((report.name, period.kind, period.start))
            if computed_at is not None and (
                is_final(period, computed_at, zone) or computed_at >= stale_before
            ):
                continue
            if done and time.monotonic() - started > budget:
                return done
            with db.transaction(write=False) as session:
                compute_and_store(db, session, report, period, tz=zone, now=now)
            done += 1
    return done
