"""Read-side queries of the Open311 API (no Flask): the request list's filters, the list itself
on the indexes, and the batch loads behind each row (no query per row).

Only public requests (``is_public``) are ever read here.

Filters of GET requests (an empty parameter is an absent one):
- ``service_request_id``: comma list of references (at most ``MAX_IDS``); when present it
  overrides every other filter, paging included.
- ``service_code``: comma list; a code that names no service is a 400 (one error per code).
- ``status``: comma list of ``open`` and ``closed``; anything else is a 400.
- ``start_date`` / ``end_date``: W3C date-times with a zone (no zone is a 400), over
  ``requested_datetime``. Both given: end not before start and at most ``MAX_SPAN``
  apart. Only start: the window ends ``MAX_SPAN`` later; only end: it starts ``MAX_SPAN``
  earlier; neither: the last ``MAX_SPAN`` up to now.
- ``updated_after`` / ``updated_before`` (SeeClickFix's and FixMyStreet's extension, how
  apps and city systems sync): W3C date-times with a zone over ``updated_datetime``, strictly
  after and at or before. With either, the default 90-day ``requested_datetime`` window does
  not apply (a sync reads every change since), and the list is in update order, oldest change
  first (ties by id), so a client pages forward and then asks for ``updated_after`` the last
  ``updated_datetime`` it saw. Reads ``ix_service_requests_updated``.
- ``lat`` / ``long`` / ``radius``: requests within ``radius`` metres (default
  ``DEFAULT_RADIUS``, at most ``MAX_RADIUS``) of the point; ``lat`` and ``long`` go together.
  A lat/lon box on the index, then the distance (equirectangular, like
  ``portal.places.search.distance_m``) in SQL, so paging stays exact.
- ``page`` (from 1) and ``page_size`` (1 to ``MAX_PAGE_SIZE``, default ``MAX_PAGE_SIZE``).
Every problem found is reported, not just the first.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from portal.catalogue.models import ServiceCategory, ServiceGroup
from portal.requests.models import Event, RequestPhoto, ServiceRequest
from portal.requests.queries import normalise_reference

MAX_SPAN = timedelta(days=90)
MAX_PAGE_SIZE = 1000
MAX_IDS = 100
MAX_CODES = 100
#: Public history entries per request with ``extensions=true`` (the latest ones).
NOTES_PER_REQUEST = 50
#: Public photos per request in ``extended_attributes``.
PHOTOS_PER_REQUEST = 20
DEFAULT_RADIUS = 1000
MAX_RADIUS = 10_000
#: Metres per degree of latitude (and of longitude at the equator), as ``distance_m`` uses.
METRES_PER_DEGREE = math.radians(1) * 6_371_000
_NUMBER_RE = re.compile(r"\A[+-]?(\d+(\.\d*)?|\.\d+)\Z")
#: ``status_notes`` of a request whose latest status move is the reporter's reopening.
REOPENED_NOTE = "Reopened: the work on this request continues."
_INT_RE = re.compile(r"\A\+?\d{1,9}\Z")


class FilterError(ValueError):
    """Bad list parameters: one sentence per problem found."""

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = list(problems)


@dataclass(frozen=True)
class RequestFilter:
    """A checked GET requests query: either ``references`` alone, or the other fields."""

    references: tuple[str, ...] | None = None
    category_ids: tuple[int, ...] | None = None
    open_only: bool | None = None  # True: open, False: closed, None: both
    start: datetime | None = None
    end: datetime | None = None
    #: ``updated_after`` (strictly after) and ``updated_before`` (at or before).
    updated_after: datetime | None = None
    updated_before: datetime | None = None
    #: ``(lat, lon, radius in metres)``.
    near: tuple[float, float, float] | None = None
    page: int = 1
    page_size: int = MAX_PAGE_SIZE


@dataclass
class RowExtras:
    """What one row needs beyond the request and its category/department."""

    status_notes: str | None = None
    photo_ids: list[int] = field(default_factory=list)
    notes: list[Event] = field(default_factory=list)


def _value(args: Mapping[str, str], name: str) -> str | None:
    value = args.get(name)
    if value is None or not value.strip():
        return None
    return value.strip()


def _comma_list(raw: str) -> list[str]:
    seen: dict[str, None] = {}
    for part in raw.split(","):
        if part.strip():
            seen.setdefault(part.strip(), None)
    return list(seen)


def parse_datetime(raw: str) -> datetime:
    """A W3C date-time with its zone ("2026-03-05T14:30:00-06:00", "...Z"); ValueError for
    anything else, a date-time without a zone included."""
    text = raw.strip()
    if "T" not in text.upper():
        raise ValueError(raw)
    if text[-1:] in ("Z", "z"):
        text = text[:-1] + "+00:00"
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(raw)
    return moment


def _positive(
    args: Mapping[str, str], name: str, problems: list[str], *, default: int, largest: int
) -> int:
    raw = _value(args, name)
    if raw is None:
        return default
    if not _INT_RE.match(raw) or not 1 <= int(raw) <= largest:
        problems.append(f"{name} must be a whole number from 1 to {largest}; got '{raw[:40]}'.")
        return default
    return int(raw)


def _moments(
    args: Mapping[str, str], names: tuple[str, str], problems: list[str]
) -> dict[str, datetime | None]:
    parsed: dict[str, datetime | None] = {}
    for name in names:
        raw = _value(args, name)
        parsed[name] = None
        if raw is None:
            continue
        try:
            parsed[name] = parse_datetime(raw)
        except ValueError:
            problems.append(
                f"{name} must be a W3C date-time with a time zone, for example "
                f"2026-03-05T14:30:00-06:00 or 2026-03-05T20:30:00Z; got "
                f"'{raw[:40]}'."
            )
    return parsed


def _updated(
    args: Mapping[str, str], problems: list[str]
) -> tuple[datetime | None, datetime | None]:
    parsed = _moments(args, ("updated_after", "updated_before"), problems)
    after, before = parsed["updated_after"], parsed["updated_before"]
    if after is not None and before is not None and before < after:
        problems.append("updated_before must not be before updated_after.")
    return after, before


def _number(
    args: Mapping[str, str], name: str, problems: list[str], low: float, high: float
) -> float | None:
    raw = _value(args, name)
    if raw is None:
        return None
    if not _NUMBER_RE.match(raw) or not low <= float(raw) <= high:
        problems.append(f"{name} must be a number from {low:g} to {high:g}; got '{raw[:40]}'.")
        return None
    return float(raw)


def _near(args: Mapping[str, str], problems: list[str]) -> tuple[float, float, float] | None:
    given = {n for n in ("lat", "long", "radius") if _value(args, n) is not None}
    if not given:
        return None
    count = len(problems)
    lat = _number(args, "lat", problems, -90, 90)
    lon = _number(args, "long", problems, -180, 180)
    radius = _number(args, "radius", problems, 1, MAX_RADIUS)
    if not {"lat", "long"} <= given:
        problems.append("lat and long must be given together (radius is optional).")
    if len(problems) > count or lat is None or lon is None:
        return None
    return lat, lon, radius if radius is not None else float(DEFAULT_RADIUS)


def _dates(
    args: Mapping[str, str], now: datetime, problems: list[str], *, default_window: bool = True
) -> tuple[datetime | None, datetime | None]:
    parsed = _moments(args, ("start_date", "end_date"), problems)
    start, end = parsed["start_date"], parsed["end_date"]
    if (_value(args, "start_date") is not None and start is None) or (
        _value(args, "end_date") is not None and end is None
    ):
        return None, None
    if start is None and end is None:
        return (now - MAX_SPAN, now) if default_window else (None, None)
    if start is None and end is not None:
        return end - MAX_SPAN, end
    if end is None and start is not None:
        return start, start + MAX_SPAN
    assert start is not None and end is not None  # noqa: S101 - for the type checker
    if end < start:
        problems.append("end_date must not be before start_date.")
    elif end - start > MAX_SPAN:
        problems.append(f"start_date and end_date may be at most {MAX_SPAN.days} days apart.")
    return start, end


def parse_filter(
    session: Session, args: Mapping[str, str], *, now: datetime, reference_prefix: str = "SR"
) -> RequestFilter:
    """Check GET requests' parameters; raises ``FilterError`` listing every problem."""
    problems: list[str] = []
    ids = _value(args, "service_request_id")
    if ids is not None:
        references = _comma_list(ids)
        if len(references) > MAX_IDS:
            raise FilterError([f"service_request_id may list at most {MAX_IDS} ids."])
        normal = tuple(normalise_reference(r, reference_prefix) or r[:40] for r in references)
        return RequestFilter(references=normal)

    category_ids: tuple[int, ...] | None = None
    codes_raw = _value(args, "service_code")
    if codes_raw is not None:
        codes = _comma_list(codes_raw)
        if len(codes) > MAX_CODES:
            problems.append(f"service_code may list at most {MAX_CODES} codes.")
        else:
            found = dict(
                session.execute(
                    select(ServiceCategory.code, ServiceCategory.id).where(
                        ServiceCategory.code.in_(codes)
                    )
                ).all()
            )
            problems.extend(
                f"Unknown service_code '{code[:40]}'." for code in codes if code not in found
            )
            category_ids = tuple(found[c] for c in codes if c in found)

    open_only: bool | None = None
    status_raw = _value(args, "status")
    if status_raw is not None:
        statuses = {s.lower() for s in _comma_list(status_raw)}
        bad = sorted(statuses - {"open", "closed"})
        if bad:
            problems.append(
                "status must be open or closed (or both, comma separated); got "
                + ", ".join(f"'{b[:40]}'" for b in bad)
                + "."
            )
        elif statuses == {"open"}:
            open_only = True
        elif statuses == {"closed"}:
            open_only = False

    updated_after, updated_before = _updated(args, problems)
    syncing = _value(args, "updated_after") is not None or (
        _value(args, "updated_before") is not None
    )
    start, end = _dates(args, now, problems, default_window=not syncing)
    near = _near(args, problems)
    page = _positive(args, "page", problems, default=1, largest=10**6)
    page_size = _positive(args, "page_size", problems, default=MAX_PAGE_SIZE, largest=MAX_PAGE_SIZE)
    if problems:
        raise FilterError(problems)
    return RequestFilter(
        category_ids=category_ids,
        open_only=open_only,
        start=start,
        end=end,
        updated_after=updated_after,
        updated_before=updated_before,
        near=near,
        page=page,
        page_size=page_size,
    )


def _with_names(statement):
    return statement.options(
        selectinload(ServiceRequest.category), selectinload(ServiceRequest.department)
    )


def list_requests(session: Session, query: RequestFilter) -> list[ServiceRequest]:
    """Public requests matching ``query``, newest first (requested_datetime, then id).

    Reads ``ix_service_requests_public_created`` (or ``..._category_created`` with
    service codes); at most ``page_size`` rows.
    """
    statement = select(ServiceRequest).where(ServiceRequest.is_public.is_(True))
    if query.references is not None:
        statement = statement.where(ServiceRequest.reference.in_(query.references))
        return list(
            session.scalars(
                _with_names(
                    statement.order_by(ServiceRequest.created_at.desc(), ServiceRequest.id.desc())
                )
            )
        )
    if query.category_ids is not None:
        if not query.category_ids:
            return []
        statement = statement.where(ServiceRequest.category_id.in_(query.category_ids))
    if query.start is not None:
        statement = statement.where(ServiceRequest.created_at >= query.start)
    if query.end is not None:
        statement = statement.where(ServiceRequest.created_at <= query.end)
    if query.open_only is not None:
        statement = statement.where(ServiceRequest.is_open.is_(query.open_only))
    if query.updated_after is not None:
        statement = statement.where(ServiceRequest.updated_at > query.updated_after)
    if query.updated_before is not None:
        statement = statement.where(ServiceRequest.updated_at <= query.updated_before)
    if query.near is not None:
        statement = _within(statement, *query.near)
    if query.updated_after is not None or query.updated_before is not None:
        order = (ServiceRequest.updated_at.asc(), ServiceRequest.id.asc())
    else:
        order = (ServiceRequest.created_at.desc(), ServiceRequest.id.desc())
    statement = (
        statement.order_by(*order).limit(query.page_size).offset((query.page - 1) * query.page_size)
    )
    return list(session.scalars(_with_names(statement)))


def _within(statement, lat: float, lon: float, radius: float):
    """Requests within ``radius`` metres of (lat, lon): a box the lat/lon index reads, then
    the equirectangular distance (plain arithmetic, the same on both engines)."""
    scale = math.cos(math.radians(lat))
    dlat = radius / METRES_PER_DEGREE
    dlon = radius / (METRES_PER_DEGREE * max(scale, 0.01))
    dy = (ServiceRequest.lat - lat) * METRES_PER_DEGREE
    dx = (ServiceRequest.lon - lon) * (METRES_PER_DEGREE * scale)
    return statement.where(
        ServiceRequest.lat.between(lat - dlat, lat + dlat),
        ServiceRequest.lon.between(lon - dlon, lon + dlon),
        dx * dx + dy * dy <= radius * radius,
    )


def public_request(
    session: Session, reference: str, *, reference_prefix: str = "SR"
) -> ServiceRequest | None:
    """The public request with this reference (any spelling ``normalise_reference`` takes),
    or None for an unknown or private one."""
    normal = normalise_reference(reference, reference_prefix) or reference[:40]
    return session.scalar(
        _with_names(
            select(ServiceRequest).where(
                ServiceRequest.reference == normal, ServiceRequest.is_public.is_(True)
            )
        )
    )


def request_by_token(session: Session, token: str) -> ServiceRequest | None:
    """The request a client filed and got ``token`` for (public or not: the token holder
    filed it, and the answer is only its reference)."""
    if not token or len(token) > 40:
        return None
    return session.scalar(select(ServiceRequest).where(ServiceRequest.api_token == token))


def active_services(session: Session) -> list[ServiceCategory]:
    """Every active category, by group position then category position, with its group and
    questions loaded."""
    return list(
        session.scalars(
            select(ServiceCategory)
            .join(ServiceGroup, ServiceCategory.group_id == ServiceGroup.id)
            .where(ServiceCategory.active.is_(True))
            .order_by(
                ServiceGroup.position, ServiceGroup.id, ServiceCategory.position, ServiceCategory.id
            )
            .options(selectinload(ServiceCategory.group), selectinload(ServiceCategory.questions))
        )
    )


def active_service(session: Session, code: str) -> ServiceCategory | None:
    """The active category with this service_code, its questions loaded; None otherwise."""
    if len(code) > 40:
        return None
    return session.scalar(
        select(ServiceCategory)
        .where(ServiceCategory.code == code, ServiceCategory.active.is_(True))
        .options(selectinload(ServiceCategory.questions), selectinload(ServiceCategory.group))
    )


def _chunks(ids: Sequence[int], size: int = 500) -> Iterable[Sequence[int]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def row_extras(
    session: Session, requests: Sequence[ServiceRequest], *, extensions: bool
) -> dict[int, RowExtras]:
    """Status notes and public photos (and, with ``extensions``, the public history) of
    ``requests``, in a few queries whatever their number."""
    extras = {sr.id: RowExtras() for sr in requests}
    ids = list(extras)
    for chunk in _chunks(ids):
        latest = (
            select(func.max(Event.id))
            .where(
                Event.request_id.in_(chunk),
                Event.kind.in_(("status_changed", "reopened")),
                Event.public.is_(True),
            )
            .group_by(Event.request_id)
        )
        for request_id, kind, body in session.execute(
            select(Event.request_id, Event.kind, Event.body).where(Event.id.in_(latest))
        ):
            # A reopen's note is the resident's; the status note says the work goes on.
            extras[request_id].status_notes = (
                REOPENED_NOTE if kind == "reopened" else body
            ) or None
        photos: dict[int, list[int]] = defaultdict(list)
        for photo_request_id, photo_id in session.execute(
            select(RequestPhoto.request_id, RequestPhoto.id)
            .where(RequestPhoto.request_id.in_(chunk), RequestPhoto.public.is_(True))
            .order_by(RequestPhoto.request_id, RequestPhoto.id)
        ):
            assert photo_request_id is not None  # in_(chunk): a filed request's photo
            if len(photos[photo_request_id]) < PHOTOS_PER_REQUEST:
                photos[photo_request_id].append(photo_id)
        for request_id, photo_ids in photos.items():
            extras[request_id].photo_ids = photo_ids
        if extensions:
            for event in session.scalars(
                select(Event)
                .where(Event.request_id.in_(chunk), Event.public.is_(True))
                .order_by(Event.request_id, Event.id)
            ):
                extras[event.request_id].notes.append(event)
    if extensions:
        for extra in extras.values():
            del extra.notes[:-NOTES_PER_REQUEST]
    return extras
