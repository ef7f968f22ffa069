"""Equity (issue 23): whether some areas are served worse, or report less. No Flask here.

Per area and period (and for the city as a whole):

- **Requests per 1,000 residents**: requests filed in the period (every report, duplicates
  included) over the area's population (areas.geojson's ``population``; none: not shown).
- **Working hours to resolve**: the case resolution clocks that ended met or breached in the
  period, of requests in the area: median and 90th percentile (nearest rank, as on the
  scorecards), against the city's; and the **share resolved on time** (met / ended).
- **Estimated reporting rate** (Liu, Bhandaram and Garg, Nature Computational Science, 2023):
  how quickly an area's residents report a problem that is there to be reported, from the
  duplicate reports staff merged. Each incident first reported in the period is watched from
  its first report until it stopped being open (or the period's end, if later reports could
  still come); every further report of it (a request merged into it as a duplicate) is one
  event. With reports arriving at a steady rate while an incident is open, the rate's
  estimate is the events over the time watched (reports per incident-day, a Poisson rate),
  and its 90% interval λ·exp(±1.645/√n) for n events (the normal approximation on the log
  scale). An area with fewer than ``MIN_DUPLICATES`` later reports is marked as too few to
  say. The page shows each rate against the city's: "reports 0.4 times as fast".

The worker keeps it as a roll-up ("equity", one part "areas") like the other reports, so the
pages read one row. Queries walk each department's clocks by its index
(``ix_sla_clocks_department_kind_stopped``), the period's requests by
``ix_service_requests_created_id`` and the reports merged into each (their count and the
first) by ``ix_service_requests_duplicate_of_created``.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from portal.areas.models import Area
from portal.catalogue.models import Department
from portal.reports.periods import Period
from portal.reports.rollups import Report, RollupReader
from portal.requests.models import OPEN_STATUSES, ServiceRequest
from portal.sla.models import SlaClock

#: Fewer later reports than this in an area: too few to estimate its reporting rate (with 30
#: the 90% range is about ±30%; benchmarks/equity.py: within 10% from about 250).
MIN_DUPLICATES = 30
#: The 90% interval's normal quantile.
Z90 = 1.6449
#: An area's 90th percentile this many times the city's is served markedly worse.
SLOWER = 1.25
DAY = 86_400.0
CITY = "city"


@dataclass(frozen=True)
class AreaFigures:
    """One area's figures for a period (``area_id`` None: the city as a whole)."""

    area_id: int | None
    name: str
    population: int | None
    filed: int
    resolved: int
    on_time: int
    median_hours: float | None
    p90_hours: float | None
    incidents: int
    later_reports: int
    watched_days: float

    @property
    def per_thousand(self) -> float | None:
        if not self.population:
            return None
        return 1000 * self.filed / self.population

    @property
    def on_time_share(self) -> float | None:
        return self.on_time / self.resolved if self.resolved else None

    @property
    def rate(self) -> float | None:
        """Later reports per incident-day (None: nothing watched)."""
        if self.watched_days <= 0:
            return None
        return self.later_reports / self.watched_days

    @property
    def enough(self) -> bool:
        return self.later_reports >= MIN_DUPLICATES

    @property
    def interval(self) -> tuple[float, float] | None:
        """The rate's 90% interval (None without a later report)."""
        rate = self.rate
        if rate is None or self.later_reports == 0:
            return None
        spread = math.exp(Z90 / math.sqrt(self.later_reports))
        return rate / spread, rate * spread


def _nearest_rank(values: Sequence[float], p: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(math.ceil(p * len(ordered)), 1) - 1]


def _resolution(
    session: Session, start: datetime, end: datetime
) -> dict[int | None, tuple[list[float], int]]:
    """Per area: the working hours of the case resolution clocks that ended in the period,
    and how many ended met."""
    found: dict[int | None, tuple[list[float], int]] = defaultdict(lambda: ([], 0))
    for department_id in session.scalars(select(Department.id)):
        rows = session.execute(
            select(ServiceRequest.area_id, SlaClock.working_seconds, SlaClock.stage)
            .join(ServiceRequest, ServiceRequest.id == SlaClock.request_id)
            .where(
                SlaClock.department_id == department_id,
                SlaClock.kind == "resolution",
                SlaClock.stopped_at >= start,
                SlaClock.stopped_at < end,
                SlaClock.task_id.is_(None),
                SlaClock.stage.in_(("met", "breached")),
            )
        )
        for area_id, seconds, stage in rows:
            hours, met = found[area_id]
            hours.append(seconds / 3600)
            found[area_id] = (hours, met + (stage == "met"))
    return found


def _reports(
    session: Session, start: datetime, end: datetime, now: datetime
) -> dict[int | None, tuple[int, int, int, float]]:
    """Per area: requests filed, incidents first reported, their later reports and the days
    they were watched."""
    later = aliased(ServiceRequest)
    counts = (
        select(func.count(), func.min(later.created_at))
        .where(later.duplicate_of_id == ServiceRequest.id)
        .correlate(ServiceRequest)
    )
    found: dict[int | None, tuple[int, int, int, float]] = defaultdict(lambda: (0, 0, 0, 0.0))
    horizon = min(end, now)
    rows = session.execute(
        select(
            ServiceRequest.area_id,
            ServiceRequest.status,
            ServiceRequest.created_at,
            ServiceRequest.resolved_at,
            ServiceRequest.status_changed_at,
            counts.with_only_columns(func.count()).scalar_subquery(),
            counts.with_only_columns(func.min(later.created_at)).scalar_subquery(),
        ).where(ServiceRequest.created_at >= start, ServiceRequest.created_at < end)
    )
    for area_id, status, created, resolved, changed, duplicates, first_duplicate in rows:
        filed, incidents, reports, days = found[area_id]
        filed += 1
        if status != "duplicate":
            first = min(created, first_duplicate) if first_duplicate else created
            closed = None if status in OPEN_STATUSES else (resolved or changed)
            until = min(closed or horizon, horizon)
            incidents += 1
            reports += int(duplicates or 0)
            days += max((until - first).total_seconds(), 0.0) / DAY
        found[area_id] = (filed, incidents, reports, days)
    return found


def figures(session: Session, period: Period, zone: ZoneInfo, now: datetime) -> list[AreaFigures]:
    """Every active area's figures for the period, then the city's (``area_id`` None)."""
    start, end = period.bounds(zone)
    resolution = _resolution(session, start, end)
    reports = _reports(session, start, end, now)
    areas = session.scalars(select(Area).where(Area.active.is_(True)).order_by(Area.name))
    out = []
    all_hours: list[float] = []
    for area in areas:
        hours, met = resolution.get(area.id, ([], 0))
        filed, incidents, later_reports, days = reports.get(area.id, (0, 0, 0, 0.0))
        out.append(
            AreaFigures(
                area.id,
                area.name,
                area.population,
                filed,
                len(hours),
                met,
                _nearest_rank(hours, 0.5),
                _nearest_rank(hours, 0.9),
                incidents,
                later_reports,
                days,
            )
        )
    for hours, _met in resolution.values():
        all_hours.extend(hours)
    populations = [a.population for a in out if a.population]
    out.append(
        AreaFigures(
            None,
            "",
            sum(populations) if populations else None,
            sum(r[0] for r in reports.values()),
            len(all_hours),
            sum(met for _h, met in resolution.values()),
            _nearest_rank(all_hours, 0.5),
            _nearest_rank(all_hours, 0.9),
            sum(r[1] for r in reports.values()),
            sum(r[2] for r in reports.values()),
            sum(r[3] for r in reports.values()),
        )
    )
    return out


def _compute(session: Session, period: Period, zone: ZoneInfo, now: datetime) -> dict[str, Any]:
    return {"areas": [asdict(f) for f in figures(session, period, zone, now)]}


EQUITY = Report("equity", _compute)


def area_figures(
    session: Session,
    period: Period,
    *,
    tz: str | ZoneInfo,
    now: datetime,
    rollups: RollupReader | None = None,
) -> tuple[list[AreaFigures], AreaFigures]:
    """The areas' figures and the city's, from the roll-up when a reader is given."""
    zone = ZoneInfo(tz) if isinstance(tz, str) else tz
    if rollups is None:
        rows = figures(session, period, zone, now)
    else:
        rows = [AreaFigures(**row) for row in rollups.get(EQUITY, period).parts.get("areas", [])]
    areas = [r for r in rows if r.area_id is not None]
    city = next((r for r in rows if r.area_id is None), None) or AreaFigures(
        None, "", None, 0, 0, 0, None, None, 0, 0, 0.0
    )
    return areas, city


def slower(area: AreaFigures, city: AreaFigures) -> bool:
    """The area's 90th percentile is above ``SLOWER`` times the city's."""
    if area.p90_hours is None or not city.p90_hours:
        return False
    return area.p90_hours > SLOWER * city.p90_hours


def relative_rate(area: AreaFigures, city: AreaFigures) -> tuple[float, float, float] | None:
    """The area's rate and its interval as multiples of the city's rate."""
    interval, base = area.interval, city.rate
    if interval is None or not base or area.rate is None:
        return None
    return area.rate / base, interval[0] / base, interval[1] / base


# -- the alert to supervisors -----------------------------------------------------------------

ALERT_ENTITY = "equity_alert"
#: Weeks in a row an area must be slower than ``SLOWER`` times the city's 90th percentile.
ALERT_WEEKS = 4


@dataclass(frozen=True)
class SlowArea:
    area_id: int
    name: str
    #: (week label, the area's 90th percentile, the city's), oldest week first.
    weeks: list[tuple[str, float, float]]


def slow_areas(
    session: Session, last_week: Period, zone: ZoneInfo, now: datetime, locale: str = "en"
) -> list[SlowArea]:
    """The areas whose 90th percentile of working hours to resolve was above ``SLOWER`` times
    the city's in each of the ``ALERT_WEEKS`` weeks up to ``last_week``."""
    weeks = [last_week]
    for _ in range(ALERT_WEEKS - 1):
        weeks.insert(0, weeks[0].previous())
    found: dict[int, SlowArea] = {}
    for i, week in enumerate(weeks):
        rows = figures(session, week, zone, now)
        city = next(r for r in rows if r.area_id is None)
        slow_now = {r.area_id: r for r in rows if r.area_id is not None and slower(r, city)}
        label = week.label(locale)
        if i == 0:
            found = {
                a: SlowArea(a, r.name, [(label, r.p90_hours or 0, city.p90_hours or 0)])
                for a, r in slow_now.items()
            }
            continue
        found = {
            a: SlowArea(
                a, s.name, [*s.weeks, (label, slow_now[a].p90_hours or 0, city.p90_hours or 0)]
            )
            for a, s in found.items()
            if a in slow_now
        }
        if not found:
            break
    return sorted(found.values(), key=lambda s: s.name.casefold())


def send_equity_alerts(db: Any, settings: Any, now: datetime) -> str | None:
    """Worker job: from Monday's digest hour, once a week, email supervisors and admins the
    areas served markedly slower than the city for four weeks running (nothing when none)."""
    from portal.core.mail import queue_email
    from portal.reports.digest import (
        digest_recipients,
        digest_week,
        mark_week_done,
        recipient_locale,
        week_done,
    )

    week = digest_week(settings, now)
    if week is None:
        return None
    done = week_done(ALERT_ENTITY, week)
    zone = ZoneInfo(settings.timezone)
    with db.transaction(write=False) as session:
        if session.scalar(done) is not None:
            return None
        locales = sorted(
            {recipient_locale(settings, u) for u in digest_recipients(session)} | {"en"}
        )
        found = {locale: slow_areas(session, week, zone, now, locale) for locale in locales}
    sent = 0
    with db.transaction() as session:
        if session.scalar(done) is not None:
            return None
        for user in digest_recipients(session) if found["en"] else []:
            locale = recipient_locale(settings, user)
            areas = found.get(locale)
            if areas is None:
                continue
            sent += (
                queue_email(
                    session,
                    settings=settings,
                    to=user.email,
                    template="equity_alert",
                    locale=locale,
                    context={
                        "name": user.name,
                        "areas": areas,
                        "weeks": ALERT_WEEKS,
                        "times": SLOWER,
                        "page_url": f"{settings.base_url}/performance/equity"
                        f"?period=month&start={week.start.isoformat()}",
                    },
                    dedupe_key=f"equity_alert:{week.key}:{user.id}",
                )
                is not None
            )
        mark_week_done(
            session, ALERT_ENTITY, week, {"areas": [a.name for a in found["en"]], "emails": sent}
        )
    return f"queued {sent} equity alert(s) for the week of {week.key}" if sent else None
