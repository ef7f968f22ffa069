"""Read-side queries shared by the residents' views (no Flask, no writes).

Lists use keyset pagination on ``(created_at, id)`` so a page costs the same however deep it is.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import Session, selectinload

from portal.requests.models import Event, Follower, RequestPhoto, ServiceRequest

#: The largest key a column can hold (BIGINT); larger numbers in URLs cannot be rows.
MAX_ID = 2**63 - 1
#: How many timeline entries a page shows at most (a case rarely has more than a few dozen).
TIMELINE_LIMIT = 200
_REFERENCE_RE = re.compile(r"\A([A-Z]{1,6})?[\s\-_/.]*(\d{4})[\s\-_/.]*(\d{1,12})\Z")


def normalise_reference(raw: str | None, prefix: str) -> str | None:
    """``" sr-2026-123 "`` -> ``"SR-2026-000123"``; None when it cannot be a reference.

    Case, spaces and separators do not matter and the number is zero-padded to six digits.
    A prefix, when typed, must be ``prefix``.
    """
    if not raw:
        return None
    text = raw.strip().upper()
    if len(text) > 40:
        return None
    match = _REFERENCE_RE.match(text)
    if match is None:
        return None
    typed_prefix, year, number = match.groups()
    if typed_prefix is not None and typed_prefix != prefix.upper():
        return None
    value = int(number)
    if value <= 0:
        return None
    return f"{prefix}-{year}-{value:06d}"


def request_by_reference(session: Session, reference: str) -> ServiceRequest | None:
    return session.scalar(
        select(ServiceRequest)
        .where(ServiceRequest.reference == reference)
        .options(selectinload(ServiceRequest.category), selectinload(ServiceRequest.area))
    )


def public_timeline(session: Session, request: ServiceRequest) -> list[Event]:
    """The public entries of a request's timeline, oldest first (internal notes never)."""
    newest = (
        select(Event)
        .where(Event.request_id == request.id, Event.public.is_(True))
        .order_by(Event.id.desc())
        .limit(TIMELINE_LIMIT)
    )
    return sorted(session.scalars(newest), key=lambda e: e.id)


def visible_photos(
    session: Session, request: ServiceRequest, *, reporter_view: bool
) -> list[RequestPhoto]:
    """Photos anyone who may see the page may see; the reporter also sees their own."""
    condition: Any = RequestPhoto.public.is_(True)
    if reporter_view:
        condition = or_(condition, RequestPhoto.added_by == "reporter")
    return list(
        session.scalars(
            select(RequestPhoto)
            .where(RequestPhoto.request_id == request.id, condition)
            .order_by(RequestPhoto.id)
            .limit(20)
        )
    )


def photo_count(session: Session, request: ServiceRequest) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(RequestPhoto)
            .where(RequestPhoto.request_id == request.id)
        )
        or 0
    )


def follower_for_user(session: Session, request: ServiceRequest, user_id: int) -> Follower | None:
    return session.scalar(
        select(Follower).where(Follower.request_id == request.id, Follower.user_id == user_id)
    )


# -- keyset pagination ---------------------------------------------------------------------

_CURSOR_FORMAT = "%Y%m%d%H%M%S%f"


def encode_cursor(created_at: datetime, row_id: int) -> str:
    return f"{created_at.astimezone(UTC).strftime(_CURSOR_FORMAT)}-{row_id}"


def decode_cursor(raw: str | None) -> tuple[datetime, int] | None:
    """The ``(created_at, id)`` in a cursor, or None for a missing or malformed one."""
    if not raw or len(raw) > 60:
        return None
    stamp, _, row_id = raw.partition("-")
    try:
        moment, ident = datetime.strptime(stamp, _CURSOR_FORMAT).replace(tzinfo=UTC), int(row_id)
    except ValueError:
        return None
    return (moment, ident) if 0 < ident <= MAX_ID else None


@dataclass(frozen=True)
class Page:
    items: Sequence[Any]
    older: str | None  # cursor for the next page of older rows
    newer: str | None  # cursor for the previous page of newer rows


def keyset_page(
    session: Session,
    query: Select[Any],
    *,
    created: Any,
    ident: Any,
    before: str | None = None,
    after: str | None = None,
    per_page: int = 20,
) -> Page:
    """Newest-first page of ``query`` (selecting one entity with ``created``/``ident`` columns).

    ``before`` shows the rows older than that cursor, ``after`` the rows newer than it.
    """
    before_key, after_key = decode_cursor(before), decode_cursor(after)
    if after_key is not None:
        stamp, row_id = after_key
        rows = list(
            session.scalars(
                query.where(or_(created > stamp, and_(created == stamp, ident > row_id)))
                .order_by(created.asc(), ident.asc())
                .limit(per_page + 1)
            )
        )
        more_newer = len(rows) > per_page
        items = list(reversed(rows[:per_page]))
        more_older = True
    else:
        if before_key is not None:
            stamp, row_id = before_key
            query = query.where(or_(created < stamp, and_(created == stamp, ident < row_id)))
        rows = list(
            session.scalars(query.order_by(created.desc(), ident.desc()).limit(per_page + 1))
        )
        more_older = len(rows) > per_page
        items = rows[:per_page]
        more_newer = before_key is not None
    if not items:
        return Page(items=[], older=None, newer=None)
    first, last = items[0], items[-1]
    return Page(
        items=items,
        older=encode_cursor(last.created_at, last.id) if more_older else None,
        newer=encode_cursor(first.created_at, first.id) if more_newer else None,
    )


def reporter_requests(
    session: Session,
    *,
    user_id: int,
    before: str | None = None,
    after: str | None = None,
    per_page: int = 20,
) -> Page:
    """The requests a resident filed with their account, newest first (reporter/created index)."""
    query = (
        select(ServiceRequest)
        .where(ServiceRequest.reporter_id == user_id)
        .options(selectinload(ServiceRequest.category))
    )
    return keyset_page(
        session,
        query,
        created=ServiceRequest.created_at,
        ident=ServiceRequest.id,
        before=before,
        after=after,
        per_page=per_page,
    )


def followed_requests(session: Session, *, user_id: int, limit: int = 50) -> list[ServiceRequest]:
    """Public requests the resident follows with their account, most recently followed first."""
    return list(
        session.scalars(
            select(ServiceRequest)
            .join(Follower, Follower.request_id == ServiceRequest.id)
            .where(
                Follower.user_id == user_id,
                Follower.confirmed_at.is_not(None),
                ServiceRequest.is_public.is_(True),
            )
            .order_by(Follower.id.desc())
            .limit(limit)
            .options(selectinload(ServiceRequest.category))
        )
    )
