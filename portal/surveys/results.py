"""Survey results: figures computed by the database, never from responses loaded into Python.

For one survey, a period ``[start, end)``, optional departments (None: every department) and an
optional category, ``survey_results`` runs **two grouped queries**, one over responses and one
over invitations, each grouped by (breakdown key, trend bucket). Every cell holds COUNTs and
SUMs only (``COUNT``, ``SUM``, ``SUM(CASE ...)``); the breakdown rows, the trend rows and the
total are sums of those cells, and averages and shares are computed from the sums at the end,
so every figure is exact.

What is counted:

- **Responses** by when they were answered (``survey_responses.created_at``).
- **Invitations**: invitations that went out (state ``sent`` or ``answered``), counted by when
  they were made (``survey_invitations.created_at``: the case's resolution). ``sent_at`` is not
  indexed; ``created_at`` is, in both (survey, department, created) and (survey, category,
  created). The **response rate** is the share of those invitations answered so far (a cohort
  rate: never above 100%, and comparable between periods).
- **CSAT**: average of the 1-5 answers and how many gave each score. **Share resolved**:
  "yes" over every answer to "was it resolved?" (partly, no and don't know included). **CES**:
  average of the 1-7 answers. **NPS**: % promoters (9-10) minus % detractors (0-6) over the
  0-10 answers, from -100 to 100.

So that no resident can be singled out, a row (breakdown row, trend bucket or total) with
fewer than ``MIN_RESPONSES`` responses carries no figures at all (``suppressed``), and within a
row a measure answered fewer than ``MIN_RESPONSES`` times is left out (None).

Trend buckets are weeks (from Monday) or calendar months in the city's time zone. Their
boundaries are computed here and the bucket of a row is a balanced tree of ``CASE WHEN
created_at < boundary`` (a handful of comparisons per row, the same SQL on SQLite and
PostgreSQL); the first and last buckets are cut to the period.

Indexes read: ``ix_survey_responses_survey_department_created`` /
``ix_survey_invitations_survey_department_created`` for given departments,
``ix_survey_responses_survey_created`` for every department, and the (survey, category,
created) pair when a category is chosen (the planner's choice). The verbatim comments are in
``portal.surveys.comments``. No Flask here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any

from sqlalchemy import ColumnElement, Integer, case, func, literal_column, select
from sqlalchemy.orm import Session

from portal.surveys.models import SurveyInvitation, SurveyResponse

BREAKDOWNS = ("department", "category", "overall")
TRENDS = ("month", "week")
#: A row with fewer responses than this shows no figures; a measure with fewer answers is
#: left out of its row.
MIN_RESPONSES = 5
#: At most this many trend buckets (five years of weeks).
MAX_BUCKETS = 260
#: Invitations that went out (``pending`` have not, ``cancelled`` never will).
SENT_STATES = ("sent", "answered")
CSAT_SCORES = (1, 2, 3, 4, 5)


class ResultsError(ValueError):
    """Arguments the results cannot be computed for (a bad breakdown, a reversed period...)."""


# -- trend buckets --------------------------------------------------------------------------


@dataclass(frozen=True)
class Bucket:
    """One period of the trend: ``[start, end)`` in UTC, and the local dates it covers."""

    index: int
    start: datetime
    end: datetime
    first_day: date
    last_day: date  # inclusive


def _local_midnight(day: date, zone: tzinfo) -> datetime:
    return datetime.combine(day, time.min, tzinfo=zone).astimezone(UTC)


def bucket_starts(start: datetime, end: datetime, trend: str, zone: tzinfo) -> list[datetime]:
    """The start of every week (Monday 00:00) or month (the 1st, 00:00) in the city's zone
    strictly inside ``(start, end)``, in UTC."""
    if trend not in TRENDS:
        raise ResultsError(f"unknown trend {trend!r}")
    local = start.astimezone(zone).date()
    if trend == "week":
        day = local - timedelta(days=local.weekday()) + timedelta(days=7)
    else:
        day = date(local.year + (local.month == 12), local.month % 12 + 1, 1)
    starts: list[datetime] = []
    while True:
        moment = _local_midnight(day, zone)
        if moment >= end:
            return starts
        if moment > start:
            if len(starts) + 2 > MAX_BUCKETS:  # this start makes one bucket too many
                raise ResultsError(f"more than {MAX_BUCKETS} {trend}s")
            starts.append(moment)
        day = (
            day + timedelta(days=7)
            if trend == "week"
            else date(day.year + (day.month == 12), day.month % 12 + 1, 1)
        )


def buckets(start: datetime, end: datetime, trend: str, zone: tzinfo) -> list[Bucket]:
    """The trend's periods covering ``[start, end)`` (the first and last cut to it).
    ``ResultsError`` when there would be more than ``MAX_BUCKETS``."""
    edges = [start, *bucket_starts(start, end, trend, zone), end]
    return [
        Bucket(
            index=n,
            start=a,
            end=b,
            first_day=a.astimezone(zone).date(),
            last_day=(b - timedelta(microseconds=1)).astimezone(zone).date(),
        )
        for n, (a, b) in enumerate(zip(edges, edges[1:], strict=False))
    ]


def bucket_of(column: Any, boundaries: Sequence[datetime]) -> ColumnElement[Any]:
    """SQL for the index of the bucket ``column`` falls in, given the starts of buckets
    1..n-1 (bucket 0 is everything before the first): a balanced tree of CASE expressions,
    so a row costs log2(n) comparisons on any engine."""

    def tree(low: int, high: int) -> ColumnElement[Any]:
        if low == high:
            return literal_column(str(int(low)), Integer)
        middle = (low + high + 1) // 2  # the first bucket of the upper half
        return case(
            (column < boundaries[middle - 1], tree(low, middle - 1)), else_=tree(middle, high)
        )

    return tree(0, len(boundaries))


# -- figures --------------------------------------------------------------------------------


@dataclass
class Tally:
    """The sums a row's figures come from (counts and sums of answers, never answers)."""

    invitations: int = 0
    answered: int = 0
    responses: int = 0
    csat_answers: int = 0
    csat_sum: int = 0
    csat_1: int = 0
    csat_2: int = 0
    csat_3: int = 0
    csat_4: int = 0
    csat_5: int = 0
    resolved_answers: int = 0
    resolved_yes: int = 0
    ces_answers: int = 0
    ces_sum: int = 0
    nps_answers: int = 0
    promoters: int = 0
    detractors: int = 0

    def add(self, other: Tally) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))


#: The response columns of a tally, in query order.
_RESPONSE_SUMS = tuple(f.name for f in fields(Tally) if f.name not in ("invitations", "answered"))


@dataclass(frozen=True)
class Figures:
    """One row of results. With ``suppressed`` (fewer than ``MIN_RESPONSES`` responses) every
    figure is None; a measure answered fewer than ``MIN_RESPONSES`` times is None too."""

    key: int | None
    suppressed: bool
    invitations: int | None = None
    responses: int | None = None
    #: 0..1: invitations of the period answered so far (None without invitations).
    response_rate: float | None = None
    csat_answers: int | None = None
    csat_average: float | None = None
    #: Responses that gave each score, 1 to 5.
    csat_counts: tuple[int, ...] | None = None
    resolved_answers: int | None = None
    share_resolved: float | None = None  # 0..1
    ces_answers: int | None = None
    ces_average: float | None = None
    nps_answers: int | None = None
    nps: float | None = None  # -100..100

    @property
    def csat_shares(self) -> tuple[float, ...] | None:
        if self.csat_counts is None or not self.csat_answers:
            return None
        return tuple(count / self.csat_answers for count in self.csat_counts)


def figures(key: int | None, tally: Tally) -> Figures:
    """The figures of a row from its sums, with the small-numbers rules applied."""
    if tally.responses < MIN_RESPONSES:
        return Figures(key=key, suppressed=True)

    def enough(count: int) -> bool:
        return count >= MIN_RESPONSES

    csat = enough(tally.csat_answers)
    return Figures(
        key=key,
        suppressed=False,
        invitations=tally.invitations,
        responses=tally.responses,
        response_rate=min(1.0, tally.answered / tally.invitations) if tally.invitations else None,
        csat_answers=tally.csat_answers,
        csat_average=tally.csat_sum / tally.csat_answers if csat else None,
        csat_counts=tuple(getattr(tally, f"csat_{s}") for s in CSAT_SCORES) if csat else None,
        resolved_answers=tally.resolved_answers,
        share_resolved=tally.resolved_yes / tally.resolved_answers
        if enough(tally.resolved_answers)
        else None,
        ces_answers=tally.ces_answers,
        ces_average=tally.ces_sum / tally.ces_answers if enough(tally.ces_answers) else None,
        nps_answers=tally.nps_answers,
        nps=100 * (tally.promoters - tally.detractors) / tally.nps_answers
        if enough(tally.nps_answers)
        else None,
    )


# -- the results ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Selection:
    """What the results are about."""

    survey_key: str
    start: datetime
    end: datetime
    #: None: every department (admins); otherwise only these.
    department_ids: tuple[int, ...] | None = None
    category_id: int | None = None

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ResultsError("the period needs aware datetimes")
        if self.end <= self.start:
            raise ResultsError("the period ends before it starts")


@dataclass(frozen=True)
class Results:
    selection: Selection
    breakdown: str
    trend: str
    #: One per department / category with invitations or responses (key: its id, None for
    #: "not set"), in key order; a single row (key None) for the "overall" breakdown.
    rows: list[Figures]
    total: Figures
    buckets: list[Bucket]
    #: One per bucket, in time order (key: the bucket's index).
    trend_rows: list[Figures]


def _filtered(query: Any, model: Any, selection: Selection) -> Any:
    query = query.where(
        model.survey_key == selection.survey_key,
        model.created_at >= selection.start,
        model.created_at < selection.end,
    )
    ids = selection.department_ids
    if ids is not None:
        query = query.where(
            model.department_id == ids[0] if len(ids) == 1 else model.department_id.in_(sorted(ids))
        )
    if selection.category_id is not None:
        query = query.where(model.category_id == selection.category_id)
    return query


def _group_column(model: Any, breakdown: str) -> ColumnElement[Any]:
    if breakdown == "department":
        return model.department_id
    if breakdown == "category":
        return model.category_id
    return literal_column("0", Integer)


def _grouped(
    session: Session,
    model: Any,
    selection: Selection,
    breakdown: str,
    boundaries: Sequence[datetime],
    aggregates: Callable[[Any], list[Any]],
    extra: Any = None,
) -> list[Any]:
    """(group key, bucket, *aggregates) per cell. The grouping columns are computed in a
    subquery, so both engines group on plain column names (PostgreSQL would not match a
    CASE with bound parameters in GROUP BY to the same CASE in the select list)."""
    measured = (
        [SurveyResponse.csat, SurveyResponse.resolved, SurveyResponse.ces, SurveyResponse.nps]
        if model is SurveyResponse
        else [SurveyInvitation.state]
    )
    inner = select(
        _group_column(model, breakdown).label("grp"),
        bucket_of(model.created_at, boundaries).label("bucket"),
        *measured,
    )
    inner = _filtered(inner, model, selection)
    if extra is not None:
        inner = inner.where(extra)
    cells = inner.subquery("cells")
    query = select(cells.c.grp, cells.c.bucket, *aggregates(cells.c)).group_by(
        cells.c.grp, cells.c.bucket
    )
    return list(session.execute(query).all())


def _count_if(condition: Any) -> ColumnElement[Any]:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _response_sums(c: Any) -> list[ColumnElement[Any]]:
    """The response columns of a tally (``_RESPONSE_SUMS``), in order."""
    return [
        func.count(),
        func.count(c.csat),
        func.coalesce(func.sum(c.csat), 0),
        *(_count_if(c.csat == score) for score in CSAT_SCORES),
        func.count(c.resolved),
        _count_if(c.resolved == "yes"),
        func.count(c.ces),
        func.coalesce(func.sum(c.ces), 0),
        func.count(c.nps),
        _count_if(c.nps >= 9),
        _count_if(c.nps <= 6),
    ]


def _invitation_sums(c: Any) -> list[ColumnElement[Any]]:
    return [func.count(), _count_if(c.state == "answered")]


def survey_results(
    session: Session,
    selection: Selection,
    *,
    breakdown: str = "department",
    trend: str = "month",
    zone: tzinfo = UTC,
) -> Results:
    """The results of ``selection``: breakdown rows, total and trend (see the module)."""
    if breakdown not in BREAKDOWNS:
        raise ResultsError(f"unknown breakdown {breakdown!r}")
    periods = buckets(selection.start, selection.end, trend, zone)
    boundaries = [b.start for b in periods[1:]]
    cells: dict[tuple[int | None, int], Tally] = {}
    if selection.department_ids != ():
        for row in _grouped(
            session, SurveyResponse, selection, breakdown, boundaries, _response_sums
        ):
            tally = cells.setdefault((row[0], int(row[1])), Tally())
            for name, value in zip(_RESPONSE_SUMS, row[2:], strict=True):
                setattr(tally, name, int(value or 0))
        for row in _grouped(
            session,
            SurveyInvitation,
            selection,
            breakdown,
            boundaries,
            _invitation_sums,
            extra=SurveyInvitation.state.in_(SENT_STATES),
        ):
            tally = cells.setdefault((row[0], int(row[1])), Tally())
            tally.invitations, tally.answered = int(row[2] or 0), int(row[3] or 0)
    by_key: dict[int | None, Tally] = {}
    by_bucket: dict[int, Tally] = {b.index: Tally() for b in periods}
    total = Tally()
    for (key, bucket), tally in cells.items():
        by_key.setdefault(None if breakdown == "overall" else key, Tally()).add(tally)
        by_bucket[bucket].add(tally)
        total.add(tally)
    if breakdown == "overall":
        rows = [figures(None, total)]
    else:
        rows = [
            figures(key, by_key[key]) for key in sorted(by_key, key=lambda k: (k is None, k or 0))
        ]
    return Results(
        selection=selection,
        breakdown=breakdown,
        trend=trend,
        rows=rows,
        total=figures(None, total),
        buckets=periods,
        trend_rows=[figures(index, by_bucket[index]) for index in sorted(by_bucket)],
    )


__all__ = [
    "BREAKDOWNS",
    "MIN_RESPONSES",
    "TRENDS",
    "Bucket",
    "Figures",
    "Results",
    "ResultsError",
    "Selection",
    "Tally",
    "bucket_of",
    "buckets",
    "figures",
    "survey_results",
]
