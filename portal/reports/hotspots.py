"""Hotspots: where requests come from, where they suddenly pile up, and how residents feel.

Every figure is counted by the database: ``COUNT``/``SUM`` grouped on indexed columns, never
requests loaded into Python. Requests are read through ``ix_service_requests_created_id``,
``ix_service_requests_area_created`` (one area) or ``ix_service_requests_category_created``
(one category); survey responses through ``ix_survey_responses_survey_created`` (every
survey key, an ``IN`` list) joined on the request's primary key.

**Volumes**: requests created in a period by (area, category); every area appears in the
per-area totals, with 0 when it had none (the map shades each one). When every area has a
population (the areas file's ``properties.population``), each area also has its rate, the
requests per 1,000 residents, and the map is shaded by it: a large area does not look like a
hotspot for being large.

**Trend**: requests per period for the last ``n`` periods of a kind: one statement of ``n``
scalar ``COUNT`` subqueries, each one index range (an index-only count on SQLite; a ``CASE``
bucket per row over two years of a million requests took 0.9 s, the ranges take far less).

**Spikes** (the rule, and why). For each (area, category) with requests in the period:

- *baseline*: the mean count of that pair over the ``BASELINE_PERIODS`` (6) previous periods
  of the same kind. Flag "baseline" when ``count >= 3 × baseline`` AND ``count >= baseline +
  3·sqrt(max(baseline, 1))`` AND ``count >= MIN_COUNT`` (5).
- *city*: what the area would have if the category's city-wide count in the period were
  spread evenly: over its residents (``city_count × area population / city population``)
  when every area has a population, otherwise over the areas (``city_count / areas``). This
  expected count is ``city_rate``. Flag "city" when ``count >= 3 × city_rate`` with the same
  sigma guard and minimum.
- "both" when both hold.

Why: a ratio alone flags tiny numbers (1 → 4 is "4 times"), and counts of independent
reports are roughly Poisson, whose standard deviation is the square root of the mean; asking
for three standard deviations above the expected count as well (with the mean floored at 1)
keeps ordinary week-to-week wobble (8–12 around 10) quiet, and the minimum of 5 keeps a
handful of reports from paging anyone. The comparison with the pair's own history catches a
change in one place; the comparison with the city catches a place that is always worse.
A pair with no history (baseline 0) can still flag on the baseline rule once it reaches the
minimum; its baseline ratio is None (there is nothing to divide by).

Survey sentiment per area is in ``portal.reports.sentiment``, each flag in words in
``portal.reports.spike_sentences``, the weekly email digest of the flags in
``portal.reports.digest``. No Flask here.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal.areas.models import Area
from portal.core import clock
from portal.reports.lookups import area_names, as_zone, category_names, within
from portal.reports.periods import KINDS, Period
from portal.reports.rollups import Report, RollupReader
from portal.requests.models import ServiceRequest

#: Spike rule parameters (see the module docstring).
BASELINE_PERIODS = 6
FACTOR = 3.0
SIGMAS = 3.0
MIN_COUNT = 5
MAX_TREND_PERIODS = 120


def _populations(session: Session) -> dict[int, int]:
    """Residents of each area, when *every* area has a (positive) population; else {}."""
    rows = session.execute(select(Area.id, Area.population)).all()
    populations = {area_id: population for area_id, population in rows if population}
    if not rows or len(populations) < len(rows):
        return {}
    return populations


# -- volumes ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class VolumeCell:
    area_id: int | None  # None: requests without an area
    area_name: str | None
    category_id: int
    category_name: str
    count: int


@dataclass(frozen=True)
class AreaCount:
    area_id: int | None
    area_name: str | None
    count: int
    population: int | None = None  # residents, when every area has a population

    @property
    def per_thousand(self) -> float | None:
        """Requests per 1,000 residents (None without a population)."""
        return self.count * 1000 / self.population if self.population else None


@dataclass(frozen=True)
class CategoryCount:
    category_id: int
    category_name: str
    count: int


@dataclass(frozen=True)
class Volumes:
    period: Period
    cells: list[VolumeCell]  # by area name (no area last), then category name
    by_area: list[AreaCount]  # every area (0 when none), then "no area" when there are some
    by_category: list[CategoryCount]  # categories with requests, most first
    total: int

    @property
    def per_resident(self) -> bool:
        """Every area shown has a population, so areas compare by their rate."""
        shown = [a for a in self.by_area if a.area_id is not None]
        return bool(shown) and all(a.population for a in shown)


def _filters(area_id: int | None, category_id: int | None) -> list[Any]:
    where: list[Any] = []
    if area_id is not None:
        where.append(ServiceRequest.area_id == area_id)
    if category_id is not None:
        where.append(ServiceRequest.category_id == category_id)
    return where


def _pair_counts(
    session: Session,
    start: datetime,
    end: datetime,
    *,
    area_ids: Sequence[int] | None,
    where: Sequence[Any] = (),
) -> list[tuple[int | None, int, int]]:
    """(area_id, category_id, count) of requests created in ``[start, end)``, in
    ``area_ids`` (None: requests without an area). The areas are an ``IN`` list, so every
    engine reads the (area_id, created_at...) index by equality and range without needing
    statistics to pick it."""
    if area_ids is not None and not area_ids:
        return []
    in_area = (
        ServiceRequest.area_id.is_(None)
        if area_ids is None
        else ServiceRequest.area_id.in_(sorted(area_ids))
    )
    query = (
        select(ServiceRequest.area_id, ServiceRequest.category_id, func.count())
        .where(in_area, *within(ServiceRequest.created_at, start, end), *where)
        .group_by(ServiceRequest.area_id, ServiceRequest.category_id)
    )
    return [(a, c, int(n)) for a, c, n in session.execute(query).all()]


def _all_pairs(
    session: Session, period: Period, zone: ZoneInfo, _now: datetime | None = None
) -> dict[str, Any]:
    """The roll-up of requests by (area, category): one part, "all", of [area, category,
    count] (area None: requests without an area)."""
    start, end = period.bounds(zone)
    area_ids = list(session.scalars(select(Area.id)))
    pairs = _pair_counts(session, start, end, area_ids=area_ids) + _pair_counts(
        session, start, end, area_ids=None
    )
    return {"all": [list(pair) for pair in pairs]}


#: Requests per (area, category) and period, read by volumes, trends and spikes.
PAIRS = Report("requests-area-category", _all_pairs)


def _rolled_pairs(
    rollups: RollupReader,
    period: Period,
    area_id: int | None = None,
    category_id: int | None = None,
) -> list[tuple[int | None, int, int]]:
    rows = rollups.get(PAIRS, period).parts.get("all", [])
    return [
        (a, c, n)
        for a, c, n in rows
        if (area_id is None or a == area_id) and (category_id is None or c == category_id)
    ]


def volumes(
    session: Session,
    period: Period,
    *,
    tz: str | ZoneInfo,
    area_id: int | None = None,
    category_id: int | None = None,
    locale: str = "en",
    rollups: RollupReader | None = None,
) -> Volumes:
    """Requests created in ``period`` by area × category (optionally one area or category);
    category names in ``locale``. From the roll-up when ``rollups`` is given."""
    start, end = period.bounds(as_zone(tz))
    areas = area_names(session)
    where = _filters(None, category_id)
    if rollups is not None:
        pairs = _rolled_pairs(rollups, period, area_id, category_id)
    elif area_id is not None:
        pairs = _pair_counts(session, start, end, area_ids=[area_id], where=where)
    else:
        pairs = _pair_counts(session, start, end, area_ids=list(areas), where=where) + _pair_counts(
            session, start, end, area_ids=None, where=where
        )
    categories = category_names(session, sorted({c for _, c, _ in pairs}), locale)
    cells = sorted(
        (
            VolumeCell(a, areas.get(a) if a is not None else None, c, categories.get(c, ""), n)
            for a, c, n in pairs
        ),
        key=lambda v: (v.area_id is None, v.area_name or "", v.category_name, v.category_id),
    )
    per_area: dict[int | None, int] = defaultdict(int)
    per_category: dict[int, int] = defaultdict(int)
    for a, c, n in pairs:
        per_area[a] += n
        per_category[c] += n
    shown = [area_id] if area_id is not None else sorted(areas, key=lambda i: (areas[i], i))
    residents = _populations(session)
    by_area = [
        AreaCount(a, areas.get(a), per_area.get(a, 0), residents.get(a))
        for a in shown
        if a in areas
    ]
    if per_area.get(None):
        by_area.append(AreaCount(None, None, per_area[None]))
    by_category = sorted(
        (CategoryCount(c, categories.get(c, ""), n) for c, n in per_category.items()),
        key=lambda r: (-r.count, r.category_name, r.category_id),
    )
    return Volumes(period, cells, by_area, by_category, sum(per_category.values()))


# -- trend -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class TrendPoint:
    period: Period
    count: int


def trend(
    session: Session,
    *,
    kind: str,
    periods: int,
    tz: str | ZoneInfo,
    area_id: int | None = None,
    category_id: int | None = None,
    last: Period | None = None,
    rollups: RollupReader | None = None,
) -> list[TrendPoint]:
    """Requests created per period for the ``periods`` periods of ``kind`` ending with
    ``last`` (default: the period holding today), oldest first; from the roll-ups when
    ``rollups`` is given. ``ValueError`` for an unknown kind or a number of periods outside
    1..``MAX_TREND_PERIODS``."""
    if kind not in KINDS:
        raise ValueError(f"Unknown period kind {kind!r}: use week, month or quarter.")
    if not 1 <= periods <= MAX_TREND_PERIODS:
        raise ValueError(f"A trend has 1 to {MAX_TREND_PERIODS} periods.")
    zone = as_zone(tz)
    if last is None:
        last = Period.containing(kind, clock.now().astimezone(zone).date())
    elif last.kind != kind:
        raise ValueError("The last period must be of the trend's kind.")
    series = [last]
    while len(series) < periods:
        series.insert(0, series[0].previous())
    if rollups is not None:
        return [
            TrendPoint(p, sum(n for _a, _c, n in _rolled_pairs(rollups, p, area_id, category_id)))
            for p in series
        ]
    where = _filters(area_id, category_id)
    counts = [
        select(func.count())
        .select_from(ServiceRequest)
        .where(*within(ServiceRequest.created_at, *p.bounds(zone)), *where)
        .scalar_subquery()
        for p in series
    ]
    row = session.execute(select(*counts)).one()
    return [TrendPoint(p, int(n)) for p, n in zip(series, row, strict=True)]


# -- spikes ----------------------------------------------------------------------------------


def _exceeds(count: int, expected: float) -> bool:
    """``count`` is well above ``expected``: 3 times it, 3 Poisson sigmas above it (the mean
    floored at 1) and at least ``MIN_COUNT``."""
    return (
        count >= MIN_COUNT
        and count >= FACTOR * expected
        and count >= expected + SIGMAS * math.sqrt(max(expected, 1.0))
    )


@dataclass(frozen=True)
class Spike:
    """One flagged (area, category) with the figures that justify the flag."""

    period: Period
    area_id: int
    area_name: str
    category_id: int
    category_name: str
    count: int
    #: Mean count of the pair over the ``baseline_periods`` previous periods.
    baseline: float
    baseline_periods: int
    baseline_ratio: float | None  # count / baseline; None when the baseline is 0
    city_count: int  # the category's requests in the whole city in the period
    areas: int  # the number of areas the city count is spread over
    #: What the area would have at the city's rate: city_count / areas, or, when every
    #: area has a population, city_count × population / city_population.
    city_rate: float
    city_ratio: float  # count / city_rate
    reason: str  # "baseline" | "city" | "both"
    population: int | None = None  # the area's residents (when every area has some)
    city_population: int | None = None

    @property
    def per_thousand(self) -> float | None:
        """The area's requests per 1,000 residents (None without populations)."""
        return self.count * 1000 / self.population if self.population else None

    @property
    def city_per_thousand(self) -> float | None:
        """The city's requests in the category per 1,000 residents."""
        return self.city_count * 1000 / self.city_population if self.city_population else None

    @property
    def ratio(self) -> float | None:
        """The headline ratio: against what flagged (the larger one for "both")."""
        if self.reason == "city":
            return self.city_ratio
        if self.reason == "baseline":
            return self.baseline_ratio
        return max(self.city_ratio, self.baseline_ratio or 0.0)


def spikes(
    session: Session,
    period: Period,
    *,
    tz: str | ZoneInfo,
    locale: str = "en",
    rollups: RollupReader | None = None,
) -> list[Spike]:
    """The flagged (area, category) pairs of ``period`` (see the module docstring for the
    rule), the largest ratio first. Counted now: three grouped queries (the period, the
    baseline periods and the number of areas); with ``rollups``: the periods' roll-ups."""
    zone = as_zone(tz)
    start, end = period.bounds(zone)
    earlier = [period.previous()]
    while len(earlier) < BASELINE_PERIODS:
        earlier.append(earlier[-1].previous())
    base_start = earlier[-1].bounds(zone)[0]
    areas = area_names(session)
    history: dict[tuple[int | None, int], int] = defaultdict(int)
    if rollups is not None:
        current = [(a, c, n) for a, c, n in _rolled_pairs(rollups, period) if a in areas]
        for before in earlier:
            for a, c, n in _rolled_pairs(rollups, before):
                history[a, c] += n
    else:
        # Never None here: the query reads only these areas.
        current = [
            (a, c, n)
            for a, c, n in _pair_counts(session, start, end, area_ids=list(areas))
            if a is not None
        ]
        for a, c, n in _pair_counts(session, base_start, start, area_ids=list(areas)):
            history[a, c] += n
    city: dict[int, int] = defaultdict(int)
    for _, c, n in current:
        city[c] += n
    residents = _populations(session)
    city_population = sum(residents.values()) or None

    def expected(a: int, c: int) -> float:
        """The area's share of the category's city-wide count (by residents or evenly)."""
        if city_population:
            return city[c] * residents[a] / city_population
        return city[c] / len(areas)

    found: list[tuple[int, int, int, str]] = []
    for a, c, n in current:
        baseline = history.get((a, c), 0) / BASELINE_PERIODS
        by_baseline = _exceeds(n, baseline)
        by_city = _exceeds(n, expected(a, c))
        if by_baseline or by_city:
            found.append(
                (
                    a,
                    c,
                    n,
                    "both" if by_baseline and by_city else "baseline" if by_baseline else "city",
                )
            )
    names = category_names(session, sorted({c for _, c, _, _ in found}), locale)
    flags = []
    for a, c, n, reason in found:
        baseline = history.get((a, c), 0) / BASELINE_PERIODS
        rate = expected(a, c)
        flags.append(
            Spike(
                period=period,
                area_id=a,
                area_name=areas[a],
                category_id=c,
                category_name=names.get(c, ""),
                count=n,
                baseline=baseline,
                baseline_periods=BASELINE_PERIODS,
                baseline_ratio=n / baseline if baseline else None,
                city_count=city[c],
                areas=len(areas),
                city_rate=rate,
                city_ratio=n / rate,
                reason=reason,
                population=residents.get(a),
                city_population=city_population,
            )
        )
    flags.sort(
        key=lambda s: (
            -(math.inf if s.ratio is None else s.ratio),
            -s.count,
            s.area_name,
            s.category_name,
        )
    )
    return flags


__all__ = [
    "BASELINE_PERIODS",
    "MIN_COUNT",
    "PAIRS",
    "Spike",
    "TrendPoint",
    "Volumes",
    "spikes",
    "trend",
    "volumes",
]
