"""Read-side queries of the residents' programme pages (no Flask, no writes).

Browsing lists open programmes in ``(starts_on, id)`` order (programmes without a date yet come
last) with keyset cursors, reading ``ix_programmes_status_starts`` (or the area/topic index
when that filter is chosen). A resident's enrolments are listed newest first on
``ix_enrolments_user_created``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Select, SQLColumnExpression, and_, func, literal, or_, select, tuple_
from sqlalchemy.orm import Session, selectinload

from portal.areas.models import Area
from portal.programmes.models import (
    KINDS,
    TOPICS,
    Attendance,
    Enrolment,
    Programme,
    ProgrammeSession,
)
from portal.requests.queries import MAX_ID, Page, keyset_page

#: Statuses a resident can browse; a closed programme's page stays reachable by its link.
BROWSABLE = ("open",)
#: Statuses whose page a resident may open (a draft is not published yet).
VISIBLE = ("open", "closed", "completed", "cancelled")
#: The ``area`` filter value for programmes that serve the whole city.
CITY_WIDE = "city"
PER_PAGE = 12
Q_MAX = 100
#: Sorts after every real date: the cursor of a programme that has no sessions yet.
NO_DATE = date.max


@dataclass(frozen=True)
class BrowseFilters:
    """What a resident narrowed the list to; every field optional (None: no filter)."""

    area_id: int | None = None
    city_wide: bool = False
    topic: str | None = None
    kind: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    q: str | None = None


@dataclass(frozen=True)
class FilterProblems:
    """Filter values that could not be used, by field (the list ignores them)."""

    filters: BrowseFilters
    problems: dict[str, str]


def parse_filters(session: Session, args: Any) -> FilterProblems:
    """Read the browse filters from a mapping of strings. Unknown or malformed values are
    dropped and reported (field -> ``unknown`` | ``not_a_date`` | ``range`` | ``too_long``),
    so a bad link still shows a list instead of failing."""
    problems: dict[str, str] = {}
    area_id, city_wide = None, False
    area = (args.get("area") or "").strip()
    if area == CITY_WIDE:
        city_wide = True
    elif area:
        found = (
            session.scalar(select(Area.id).where(Area.code == area[:40]))
            if len(area) <= 40
            else None
        )
        if found is None:
            problems["area"] = "unknown"
        else:
            area_id = found
    topic = (args.get("topic") or "").strip() or None
    if topic is not None and topic not in TOPICS:
        problems["topic"], topic = "unknown", None
    kind = (args.get("kind") or "").strip() or None
    if kind is not None and kind not in KINDS:
        problems["kind"], kind = "unknown", None
    date_from = _date(args.get("from"), "from", problems)
    date_to = _date(args.get("to"), "to", problems)
    if date_from and date_to and date_from > date_to:
        problems["to"], date_to = "range", None
    q = " ".join((args.get("q") or "").split()) or None
    if q is not None and len(q) > Q_MAX:
        problems["q"], q = "too_long", None
    return FilterProblems(
        BrowseFilters(
            area_id=area_id,
            city_wide=city_wide,
            topic=topic,
            kind=kind,
            date_from=date_from,
            date_to=date_to,
            q=q,
        ),
        problems,
    )


def _date(raw: str | None, name: str, problems: dict[str, str]) -> date | None:
    text = (raw or "").strip()
    if not text:
        return None
    try:
        if len(text) == 10:
            return date.fromisoformat(text)
    except ValueError:
        pass
    problems[name] = "not_a_date"
    return None


def _like(text: str) -> str:
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _browse_query(filters: BrowseFilters, locale: str) -> Select[Any]:
    query = select(Programme).where(Programme.status.in_(BROWSABLE))
    if filters.city_wide:
        query = query.where(Programme.area_id.is_(None))
    elif filters.area_id is not None:
        query = query.where(Programme.area_id == filters.area_id)
    if filters.topic:
        query = query.where(Programme.topic == filters.topic)
    if filters.kind:
        query = query.where(Programme.kind == filters.kind)
    # A programme without dates yet cannot be said to fall in a period: any date filter
    # leaves it out.
    if filters.date_to:
        query = query.where(Programme.starts_on <= filters.date_to)
    if filters.date_from:
        query = query.where(Programme.ends_on >= filters.date_from)
    if filters.q:
        pattern = _like(filters.q)
        fields: list[SQLColumnExpression[Any]] = [Programme.title, Programme.summary]
        if locale != "en":
            fields.append(Programme.translations[(locale, "title")].as_string())
        query = query.where(or_(*(func.lower(f).like(pattern, escape="\\") for f in fields)))
    return query.options(selectinload(Programme.sessions))


@dataclass(frozen=True)
class ProgrammePage:
    items: Sequence[Programme]
    next_cursor: str | None
    previous_cursor: str | None


def encode_cursor(programme: Programme) -> str:
    return f"{(programme.starts_on or NO_DATE).isoformat()}.{programme.id}"


def decode_cursor(raw: str | None) -> tuple[date, int] | None:
    """The ``(starts_on, id)`` in a cursor, or None when missing or malformed."""
    if not raw or len(raw) > 40:
        return None
    day, _, ident = raw.partition(".")
    try:
        key = date.fromisoformat(day), int(ident)
    except ValueError:
        return None
    return key if 0 < key[1] <= MAX_ID else None


def browse_programmes(
    session: Session,
    *,
    filters: BrowseFilters,
    locale: str = "en",
    after: str | None = None,
    before: str | None = None,
    per_page: int = PER_PAGE,
) -> ProgrammePage:
    """Open programmes matching ``filters``, by first session date then id, undated last.

    ``after`` gives the page following that cursor, ``before`` the page preceding it."""
    query = _browse_query(filters, locale)
    dated, undated = Programme.starts_on.is_not(None), Programme.starts_on.is_(None)
    key = tuple_(Programme.starts_on, Programme.id)
    limit = per_page + 1

    def bound(day: date, ident: int) -> Any:
        return tuple_(literal(day, Programme.starts_on.type), literal(ident, Programme.id.type))

    def run(select_: Select[Any], wanted: int) -> list[Programme]:
        return list(session.scalars(select_.limit(wanted))) if wanted > 0 else []

    before_key, after_key = decode_cursor(before), decode_cursor(after)
    if before_key is not None:
        day, ident = before_key
        if day == NO_DATE:
            rows = run(
                query.where(undated, Programme.id < ident).order_by(Programme.id.desc()), limit
            )
            rows += run(
                query.where(dated).order_by(Programme.starts_on.desc(), Programme.id.desc()),
                limit - len(rows),
            )
        else:
            rows = run(
                query.where(dated, key < bound(day, ident)).order_by(
                    Programme.starts_on.desc(), Programme.id.desc()
                ),
                limit,
            )
        items = list(reversed(rows[:per_page]))
        more_before, more_after = len(rows) > per_page, True
    else:
        rows = []
        if after_key is None or after_key[0] != NO_DATE:
            ordered = query.where(dated)
            if after_key is not None:
                ordered = ordered.where(key > bound(*after_key))
            rows = run(ordered.order_by(Programme.starts_on.asc(), Programme.id.asc()), limit)
        rest = query.where(undated)
        if after_key is not None and after_key[0] == NO_DATE:
            rest = rest.where(Programme.id > after_key[1])
        rows += run(rest.order_by(Programme.id.asc()), limit - len(rows))
        items = rows[:per_page]
        more_before, more_after = after_key is not None, len(rows) > per_page
    if not items:
        return ProgrammePage(items=[], next_cursor=None, previous_cursor=None)
    return ProgrammePage(
        items=items,
        next_cursor=encode_cursor(items[-1]) if more_after else None,
        previous_cursor=encode_cursor(items[0]) if more_before else None,
    )


def areas(session: Session) -> list[Area]:
    """The neighbourhoods, by name (for the filter)."""
    return list(session.scalars(select(Area).order_by(Area.name, Area.id)))


def area_names(session: Session, area_ids: set[int]) -> dict[int, str]:
    if not area_ids:
        return {}
    return dict(session.execute(select(Area.id, Area.name).where(Area.id.in_(area_ids))).all())


def visible_programme(session: Session, programme_id: int) -> Programme | None:
    """A published programme (not a draft) with its sessions and questions, or None."""
    if not 0 < programme_id <= MAX_ID:
        return None
    return session.scalar(
        select(Programme)
        .where(Programme.id == programme_id, Programme.status.in_(VISIBLE))
        .options(selectinload(Programme.sessions), selectinload(Programme.questions))
    )


def own_enrolment(session: Session, *, programme_id: int, user_id: int) -> Enrolment | None:
    """The resident's enrolment in a programme (at most one per programme), or None."""
    return session.scalar(
        select(Enrolment).where(
            Enrolment.programme_id == programme_id, Enrolment.user_id == user_id
        )
    )


def resident_enrolment(session: Session, *, enrolment_id: int, user_id: int) -> Enrolment | None:
    """Enrolment ``enrolment_id`` if it belongs to ``user_id``; None for anyone else's, so a
    guessed id looks exactly like an unknown one."""
    if not 0 < enrolment_id <= MAX_ID:
        return None
    return session.scalar(
        select(Enrolment)
        .where(Enrolment.id == enrolment_id, Enrolment.user_id == user_id)
        .options(selectinload(Enrolment.programme).selectinload(Programme.sessions))
    )


def resident_enrolments(
    session: Session,
    *,
    user_id: int,
    before: str | None = None,
    after: str | None = None,
    per_page: int = 20,
) -> Page:
    """A resident's enrolments, newest first (``before``: older than that cursor)."""
    query = (
        select(Enrolment)
        .where(Enrolment.user_id == user_id)
        .options(selectinload(Enrolment.programme))
    )
    return keyset_page(
        session,
        query,
        created=Enrolment.created_at,
        ident=Enrolment.id,
        before=before,
        after=after,
        per_page=per_page,
    )


def next_sessions(
    session: Session, programme_ids: set[int], now: datetime
) -> dict[int, ProgrammeSession]:
    """Each programme's next session that has not ended (by programme/start index)."""
    if not programme_ids:
        return {}
    first = (
        select(
            ProgrammeSession.programme_id, func.min(ProgrammeSession.starts_at).label("starts_at")
        )
        .where(ProgrammeSession.programme_id.in_(programme_ids), ProgrammeSession.ends_at >= now)
        .group_by(ProgrammeSession.programme_id)
        .subquery()
    )
    rows = session.scalars(
        select(ProgrammeSession)
        .join(
            first,
            and_(
                ProgrammeSession.programme_id == first.c.programme_id,
                ProgrammeSession.starts_at == first.c.starts_at,
            ),
        )
        .order_by(ProgrammeSession.id)
    )
    found: dict[int, ProgrammeSession] = {}
    for item in rows:
        found.setdefault(item.programme_id, item)
    return found


def attendance_by_session(session: Session, enrolment: Enrolment) -> dict[int, Attendance]:
    """The attendance marks of one enrolment, by session id."""
    return {
        a.session_id: a
        for a in session.scalars(select(Attendance).where(Attendance.enrolment_id == enrolment.id))
    }
