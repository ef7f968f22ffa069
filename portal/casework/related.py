"""What is related to a case, as staff see it (no Flask here): the open and recent requests
at the same address, the reporter's other requests, and the requests of one person.

Every query is limited to what the member may open (``visible_to``: the case's department or
the department of one of its tasks, everything for admins; the rule of the case page and of
search) and capped (``LIMIT``, or keyset pages).

Who "the person" is: an account (``reporter_id``), with the requests filed without signing in
under its address once the address is confirmed (the rule of ``portal.privacy.kinds``); or,
for a resident without an account, the contact address of their requests.

Indexes: the reporter's requests use ``ix_service_requests_reporter_created``. The address
and contact-address matches are equalities on ``address_point_id``, ``lower(address)`` and
``contact_email``, which have no index yet (reported to the lead); the limits bound what is
read back, not what is scanned.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, exists, false, func, or_, select
from sqlalchemy.orm import Session, joinedload

from portal.auth.models import User
from portal.casework.models import Task
from portal.core.keyset import FAR_FUTURE, decode_cursor, encode_cursor, keyset
from portal.requests.models import ServiceRequest
from portal.staff.permissions import StaffAccess

#: "Recent": a closed request at the same address filed in the last this many days.
RECENT_DAYS = 90
#: At most this many of each kind on the case page.
LIMIT = 10
#: A resident's requests, this many a page.
PAGE_SIZE = 25
_CURSOR = "person"
_KINDS = ("dt", "int")
_SPACES = re.compile(r"\s+")


def visible_to(access: StaffAccess) -> ColumnElement[bool] | None:
    """A condition on ServiceRequest: the cases ``access`` may open (None: all, admins)."""
    if access.is_admin:
        return None
    departments = access.department_ids
    return or_(
        ServiceRequest.department_id.in_(departments),
        exists().where(Task.request_id == ServiceRequest.id, Task.department_id.in_(departments)),
    )


def _scoped(query: Select[Any], access: StaffAccess) -> Select[Any]:
    scope = visible_to(access)
    return query if scope is None else query.where(scope)


def normalise_address(text: str) -> str:
    """An address as compared: lower case, single spaces, no trailing punctuation."""
    return _SPACES.sub(" ", (text or "").strip().lower()).rstrip(" .,;")


# -- the person ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Person:
    """One resident: an account (``user_id``) and its confirmed address, or only an address."""

    user_id: int | None
    email: str | None

    @property
    def is_known(self) -> bool:
        return self.user_id is not None or bool(self.email)


def person_of_user(user: User) -> Person:
    email = user.email.lower() if user.email_verified_at is not None else None
    return Person(user.id, email)


def person_of_request(sr: ServiceRequest) -> Person:
    """Who filed ``sr``: its reporter's account, or its contact address (may be unknown)."""
    if sr.reporter is not None:
        return person_of_user(sr.reporter)
    return Person(None, (sr.contact_email or "").strip().lower() or None)


def owned_by(person: Person) -> ColumnElement[bool]:
    """A condition on ServiceRequest: the requests ``person`` filed."""
    by_email = (
        and_(ServiceRequest.reporter_id.is_(None), ServiceRequest.contact_email == person.email)
        if person.email
        else false()
    )
    if person.user_id is None:
        return by_email
    return or_(ServiceRequest.reporter_id == person.user_id, by_email)


def account_for(session: Session, email: str) -> User | None:
    """The account whose confirmed address is ``email`` (its requests belong to the account)."""
    user = session.scalar(select(User).where(User.email == email).limit(1))
    return user if user is not None and user.email_verified_at is not None else None


def may_see_person(session: Session, person: Person, access: StaffAccess) -> bool:
    """Whether ``access`` may open the person's page: admins; casework staff when at least one
    of the person's requests is a case they may open."""
    if access.is_admin:
        return person.is_known
    if not access.does_casework or not person.is_known:
        return False
    query = _scoped(select(ServiceRequest.id).where(owned_by(person)), access)
    return session.scalar(query.limit(1)) is not None


@dataclass
class RequestPage:
    rows: list[ServiceRequest]
    next_cursor: str | None  # older requests
    previous_cursor: str | None  # newer requests


def requests_of(
    session: Session,
    person: Person,
    *,
    access: StaffAccess,
    after: str | None = None,
    before: str | None = None,
    per_page: int = PAGE_SIZE,
) -> RequestPage:
    """The person's requests the member may open, newest first, a keyset page at a time:
    ``after`` a cursor of older, ``before`` of newer requests (a bad cursor: the first page)."""
    query = _scoped(
        select(ServiceRequest)
        .where(owned_by(person))
        .options(joinedload(ServiceRequest.category), joinedload(ServiceRequest.department)),
        access,
    )
    older = decode_cursor(after, _CURSOR, _KINDS)
    newer = decode_cursor(before, _CURSOR, _KINDS) if older is None else None
    keys: list[Any] = [ServiceRequest.created_at, ServiceRequest.id]
    # keyset() pages ascending; newest first is its pages read backwards.
    if newer is not None:
        rows, more_older, more_newer = keyset(
            session, query, keys, after=newer, before=None, per_page=per_page
        )
    else:
        bound = older if older is not None else [FAR_FUTURE, 2**62]
        rows, more_older, _ = keyset(
            session, query, keys, after=None, before=bound, per_page=per_page
        )
        more_newer = older is not None
    found = [row[0] for row in reversed(rows)]

    def cursor(sr: ServiceRequest) -> str:
        return encode_cursor(_CURSOR, [sr.created_at, sr.id])

    return RequestPage(
        rows=found,
        next_cursor=cursor(found[-1]) if found and more_older else None,
        previous_cursor=cursor(found[0]) if found and more_newer else None,
    )


# -- the case page's panel -----------------------------------------------------------------


@dataclass
class Related:
    """The case page's "Related" panel (each list newest first, at most ``LIMIT``)."""

    person: Person
    same_address: list[ServiceRequest] = field(default_factory=list)
    #: The open requests within the nearby radius: ``portal.casework.maps.nearby_open``.
    nearby: list[tuple[ServiceRequest, float]] = field(default_factory=list)
    reporter_requests: list[ServiceRequest] = field(default_factory=list)
    #: More of the reporter's requests than listed (the resident page has them all).
    reporter_more: bool = False


def same_address(
    session: Session, sr: ServiceRequest, *, access: StaffAccess, now: datetime
) -> list[ServiceRequest]:
    """Open requests, and those filed in the last ``RECENT_DAYS``, at the address of ``sr``:
    the same address point, or (a case on no point) the same address text; newest first."""
    if sr.address_point_id is not None:
        where: ColumnElement[bool] = ServiceRequest.address_point_id == sr.address_point_id
    elif normalise_address(sr.address):
        where = and_(
            ServiceRequest.address_point_id.is_(None),
            func.lower(ServiceRequest.address) == normalise_address(sr.address),
        )
    else:
        return []
    since = now - timedelta(days=RECENT_DAYS)
    query = _scoped(
        select(ServiceRequest)
        .where(
            where,
            ServiceRequest.id != sr.id,
            or_(ServiceRequest.is_open.is_(True), ServiceRequest.created_at >= since),
        )
        .options(joinedload(ServiceRequest.category))
        .order_by(ServiceRequest.created_at.desc(), ServiceRequest.id.desc())
        .limit(LIMIT),
        access,
    )
    return list(session.scalars(query))


def related_to_case(
    session: Session,
    sr: ServiceRequest,
    *,
    access: StaffAccess,
    now: datetime,
    nearby: list[tuple[ServiceRequest, float]],
) -> Related:
    """The panel's requests: at the same address, ``nearby`` (the case page's list, not read
    again) without those at the same address, and the reporter's other requests."""
    person = person_of_request(sr)
    here = same_address(session, sr, access=access, now=now)
    at_address = {other.id for other in here}
    mine: list[ServiceRequest] = []
    if person.is_known:
        mine = list(
            session.scalars(
                _scoped(
                    select(ServiceRequest)
                    .where(owned_by(person), ServiceRequest.id != sr.id)
                    .options(joinedload(ServiceRequest.category))
                    .order_by(ServiceRequest.created_at.desc(), ServiceRequest.id.desc())
                    .limit(LIMIT + 1),
                    access,
                )
            )
        )
    return Related(
        person=person,
        same_address=here,
        nearby=[(other, metres) for other, metres in nearby if other.id not in at_address],
        reporter_requests=mine[:LIMIT],
        reporter_more=len(mine) > LIMIT,
    )
