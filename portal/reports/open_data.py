"""Open data: the anonymised list of requests, as documented columns (no Flask here).

What a row holds, and what it never holds:
- never a name, email, phone, reporter or staff id, tracking or API token, API key, device or
  account id, nor any timeline text (status notes, comments, internal notes);
- a PRIVATE request (private category, or private by the reporter's choice) gives only its
  row id, category, department, area, status and dates, with the times rounded down to the
  hour: no reference, no description, no address, no coordinates, no channel;
- a public request also gives what the public pages already show: its reference,
  description, address, coordinates rounded to 4 decimals (about 10 m), channel and number of
  supporters.

Rows come in ``(created_at, id)`` order, in keyset batches over the
``ix_service_requests_created_id`` index, so a deep batch costs the same as the first.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import case, func, literal, or_, select, tuple_
from sqlalchemy.orm import Session, aliased

from portal.areas.models import Area
from portal.catalogue.models import Department, ServiceCategory
from portal.requests.models import OPEN_STATUSES, ServiceRequest
from portal.sla.models import SlaClock

#: The longest range one download may cover, in days (both ends included).
MAX_DAYS = 366
#: The default range: the last 30 days, today included.
DEFAULT_DAYS = 30
#: Rows fetched per query while streaming a download.
BATCH = 1000
#: Coordinates of public requests are rounded to this many decimals (about 10 m).
COORDINATE_DECIMALS = 4
FIRST_DAY = date(2000, 1, 1)
LAST_DAY = date(2099, 12, 31)


def _l(message: str) -> str:
    """Mark ``message`` for extraction (``-k _l``); the documentation page translates it."""
    return message


@dataclass(frozen=True)
class Column:
    """One documented column of the open data: its name, type and what it means."""

    name: str
    type: str
    description: str
    public_only: bool = False


COLUMNS: tuple[Column, ...] = (
    Column(
        "id",
        "integer",
        _l(
            "The request's number in this data set. It stays the same "
            "from one download to the next."
        ),
    ),
    Column(
        "reference",
        "string",
        _l("The public reference (for example SR-2026-000123). Empty for private requests."),
        public_only=True,
    ),
    Column(
        "visibility",
        "string",
        _l(
            '"public", or "private" when the category is private or the resident asked for privacy.'
        ),
    ),
    Column(
        "category_code", "string", _l("The service category's code (the Open311 service_code).")
    ),
    Column("category", "string", _l("The service category's name.")),
    Column("department_code", "string", _l("The code of the department that handles the request.")),
    Column("department", "string", _l("The name of the department that handles the request.")),
    Column(
        "area_code",
        "string",
        _l("The code of the city area the request is in. Empty when it is outside every area."),
    ),
    Column("area", "string", _l("The name of the city area the request is in.")),
    Column(
        "status",
        "string",
        _l(
            "The status: new, acknowledged, in_progress, "
            "waiting_on_resident, waiting_on_third_party, scheduled, "
            "resolved, closed, rejected or duplicate."
        ),
    ),
    Column(
        "is_open",
        "boolean",
        _l(
            "true while the request is being worked on, false once "
            "it is resolved, closed, rejected or a duplicate."
        ),
    ),
    Column(
        "requested_at",
        "date-time",
        _l(
            "When the request was filed, in UTC (ISO 8601). "
            "Rounded down to the hour for private requests."
        ),
    ),
    Column(
        "updated_at",
        "date-time",
        _l(
            "When the request last changed, in UTC (ISO 8601). "
            "Rounded down to the hour for private requests."
        ),
    ),
    Column(
        "resolved_at",
        "date-time",
        _l(
            "When the request was resolved, in UTC (ISO 8601); "
            "empty while it is not. Rounded down to the hour "
            "for private requests."
        ),
    ),
    Column(
        "channel",
        "string",
        _l(
            "How it was filed: web, mobile, phone, walk_in, email, "
            "social or api. Empty for private requests."
        ),
        public_only=True,
    ),
    Column(
        "description",
        "string",
        _l(
            "The resident's description, as shown on the public "
            "request page. Empty for private requests."
        ),
        public_only=True,
    ),
    Column(
        "address",
        "string",
        _l("The address, as shown on the public request page. Empty for private requests."),
        public_only=True,
    ),
    Column(
        "latitude",
        "number",
        _l("Latitude (WGS84) rounded to 4 decimals, about 10 m. Empty for private requests."),
        public_only=True,
    ),
    Column(
        "longitude",
        "number",
        _l("Longitude (WGS84) rounded to 4 decimals, about 10 m. Empty for private requests."),
        public_only=True,
    ),
    Column(
        "supporters",
        "integer",
        _l('How many people said "me too". Empty for private requests.'),
        public_only=True,
    ),
    # The columns New York ("Due Date", "Closed Date"), Boston (target_dt, closed_dt, ontime)
    # and Chicago publish (issue 23).
    Column(
        "target_at",
        "date-time",
        _l(
            "When the city promised to resolve it, in UTC (ISO 8601): its service level's "
            "deadline, moved by the time the request waited on the resident or a partner. "
            "Empty when its category has no resolution target. Rounded down to the hour for "
            "private requests."
        ),
    ),
    Column(
        "closed_at",
        "date-time",
        _l(
            "When the request stopped being worked on (resolved, closed, rejected or a "
            "duplicate), in UTC (ISO 8601); empty while it is open. Rounded down to the hour "
            "for private requests."
        ),
    ),
    Column(
        "on_time",
        "boolean",
        _l(
            "true when it was resolved by its target, false when the target passed first "
            "(even if it is still open); empty while the target is still ahead, or without one."
        ),
    ),
)
NAMES: tuple[str, ...] = tuple(column.name for column in COLUMNS)


class RangeError(ValueError):
    """A date range that cannot be downloaded; ``field`` is "start" or "end"."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def parse_range(start: str | None, end: str | None, *, today: date) -> tuple[date, date]:
    """The local dates ``start`` to ``end`` (both included) from ISO strings (YYYY-MM-DD).
    Missing: the last ``DEFAULT_DAYS`` days up to ``today``, or ``DEFAULT_DAYS`` days from or
    up to the given end. Raises ``RangeError`` for a date that does not exist, an end before
    the start or a range longer than ``MAX_DAYS`` days."""
    first = _date("start", start)
    last = _date("end", end)
    if first is None and last is None:
        last = today
    if last is None:
        assert first is not None
        last = min(today, first + timedelta(days=DEFAULT_DAYS - 1))
        last = max(last, first)
    if first is None:
        first = last - timedelta(days=DEFAULT_DAYS - 1)
    if last < first:
        raise RangeError("end", _l("The end date must be on or after the start date."))
    if (last - first).days + 1 > MAX_DAYS:
        raise RangeError("end", _l("Choose at most 366 days at a time."))
    return first, last


def _date(field: str, raw: str | None) -> date | None:
    if raw is None or not raw.strip():
        return None
    try:
        value = date.fromisoformat(raw.strip())
    except ValueError:
        raise RangeError(field, _l("Enter a real date, like 2026-03-31.")) from None
    if not FIRST_DAY <= value <= LAST_DAY:
        raise RangeError(field, _l("Enter a date between 2000 and 2099."))
    return value


def bounds(first: date, last: date, *, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """Aware UTC datetimes from the start of ``first`` to the end of ``last`` (exclusive), local
    days in ``tz``."""
    start = datetime.combine(first, time(), tzinfo=tz).astimezone(UTC)
    end = datetime.combine(last + timedelta(days=1), time(), tzinfo=tz).astimezone(UTC)
    return start, end


_CATEGORY = aliased(ServiceCategory)
_DEPARTMENT = aliased(Department)
_AREA = aliased(Area)
SR = ServiceRequest
_CLOCK = aliased(SlaClock)
#: The case's own resolution clock (its latest, when a new policy started another).
_CASE_CLOCK = (
    _CLOCK.request_id == SR.id,
    _CLOCK.task_id.is_(None),
    _CLOCK.kind == "resolution",
)
_TARGET = (
    select(func.coalesce(_CLOCK.due_at, _CLOCK.original_due_at))
    .where(*_CASE_CLOCK)
    .order_by(_CLOCK.id.desc())
    .limit(1)
    .scalar_subquery()
)
_ON_TIME = (
    select(
        case(
            (_CLOCK.stage == "met", literal(1)),
            (or_(_CLOCK.stage == "breached", _CLOCK.breached_at.is_not(None)), literal(0)),
            else_=None,
        )
    )
    .where(*_CASE_CLOCK, _CLOCK.stage.not_in(("cancelled", "transferred")))
    .order_by(_CLOCK.id.desc())
    .limit(1)
    .scalar_subquery()
)

#: Only these columns are ever read: no contact, reporter, token, key or timeline column.
_SELECTED = (
    SR.id,
    SR.reference,
    SR.is_public,
    SR.status,
    SR.created_at,
    SR.updated_at,
    SR.resolved_at,
    SR.channel,
    SR.description,
    SR.address,
    SR.lat,
    SR.lon,
    SR.support_count,
    _CATEGORY.code.label("category_code"),
    _CATEGORY.name.label("category_name"),
    _DEPARTMENT.code.label("department_code"),
    _DEPARTMENT.name.label("department_name"),
    _AREA.code.label("area_code"),
    _AREA.name.label("area_name"),
    SR.status_changed_at,
    _TARGET.label("target_at"),
    _ON_TIME.label("on_time"),
)


def rows(
    session: Session,
    start: datetime,
    end: datetime,
    *,
    after_id: int | None = None,
    limit: int = BATCH,
) -> list[dict[str, Any]]:
    """Up to ``limit`` anonymised rows of requests filed in ``[start, end)`` (aware UTC), in
    ``(requested_at, id)`` order, after the request ``after_id`` (the last row of the previous
    batch; an id that does not exist starts from the beginning)."""
    after = None
    if after_id is not None:
        created = session.scalar(select(SR.created_at).where(SR.id == after_id))
        if created is not None:
            after = (created, after_id)
    return [
        dict(zip(NAMES, values[:-1], strict=True))
        for values in _batch(session, start, end, after=after, limit=limit)
    ]


def iter_rows(
    session: Session, start: datetime, end: datetime, *, batch: int = BATCH
) -> Iterator[dict[str, Any]]:
    """Every anonymised row of requests filed in ``[start, end)``, fetched ``batch`` at a time
    (constant memory whatever the range)."""
    after: tuple[datetime, int] | None = None
    while True:
        found = _batch(session, start, end, after=after, limit=batch)
        for values in found:
            yield dict(zip(NAMES, values[:-1], strict=True))
        if len(found) < batch:
            return
        after = found[-1][-1]


def _batch(
    session: Session,
    start: datetime,
    end: datetime,
    *,
    after: tuple[datetime, int] | None,
    limit: int,
) -> list[Any]:
    """Rows as value tuples in ``NAMES`` order, each followed by its ``(created_at, id)``
    keyset key."""
    query = (
        select(*_SELECTED)
        .join(_CATEGORY, _CATEGORY.id == SR.category_id)
        .join(_DEPARTMENT, _DEPARTMENT.id == SR.department_id)
        .outerjoin(_AREA, _AREA.id == SR.area_id)
        .where(SR.created_at >= start, SR.created_at < end)
        .order_by(SR.created_at, SR.id)
        .limit(max(1, limit))
    )
    if after is not None:
        # The extra bound lets every planner start the index range at the cursor.
        query = query.where(
            SR.created_at >= after[0],
            tuple_(SR.created_at, SR.id)
            > tuple_(literal(after[0], SR.created_at.type), literal(after[1], SR.id.type)),
        )
    return [(*anonymise(row), (row.created_at, row.id)) for row in session.execute(query)]


def anonymise(row: Any) -> tuple[Any, ...]:
    """The values of one selected row in ``NAMES`` order: a private request's free text,
    location, reference and channel left out and its times rounded down to the hour."""
    public = bool(row.is_public)
    moment = _stamp if public else _hour
    return (
        row.id,
        row.reference if public else None,
        "public" if public else "private",
        row.category_code,
        row.category_name,
        row.department_code,
        row.department_name,
        row.area_code,
        row.area_name,
        row.status,
        row.status in OPEN_STATUSES,
        moment(row.created_at),
        moment(row.updated_at),
        moment(row.resolved_at),
        row.channel if public else None,
        row.description if public else None,
        row.address if public else None,
        _round(row.lat) if public else None,
        _round(row.lon) if public else None,
        row.support_count if public else None,
        moment(row.target_at),
        _closed(row, moment),
        None if row.on_time is None else bool(row.on_time),
    )


def _closed(row: Any, moment: Any) -> str | None:
    """When a closed request stopped being worked on: when it was resolved, or when it moved
    to its closed status (closed, rejected, duplicate)."""
    if row.status in OPEN_STATUSES:
        return None
    return moment(row.resolved_at if row.status == "resolved" else row.status_changed_at)


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, COORDINATE_DECIMALS)


def _stamp(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def _hour(value: datetime | None) -> str | None:
    if value is None:
        return None
    return _stamp(value.astimezone(UTC).replace(minute=0, second=0, microsecond=0))
