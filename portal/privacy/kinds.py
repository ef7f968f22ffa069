"""Everything the portal holds about one account, kind by kind, as plain rows.

Each kind is a list of columns and a query; ``rows`` pages through it by id (keyset, a batch at
a time, plain rows: nothing stays in the session), so an export of a long history runs in
constant memory. docs/data-rights.md lists the tables and why each is (or is not) here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, false, func, literal, or_, select, tuple_
from sqlalchemy.orm import Session

from portal.areas.models import Area
from portal.auth.models import User
from portal.catalogue.models import ServiceCategory
from portal.core.audit import AuditEntry
from portal.core.outbox import OutboxMessage
from portal.notifications.models import StaffNotice
from portal.programmes.models import Attendance, Enrolment, Programme
from portal.push.models import PushSubscription
from portal.requests.models import (
    AreaSubscription,
    Event,
    Follower,
    RequestDraft,
    RequestPhoto,
    ServiceRequest,
    Support,
)
from portal.staff.models import StaffMembership
from portal.surveys.models import SurveyInvitation, SurveyOptOut, SurveyResponse

BATCH = 500


@dataclass(frozen=True)
class Person:
    """Who the data is about: the account, and its address once proved to be theirs (requests
    filed, follows and surveys under that address without signing in are theirs too)."""

    user_id: int
    email: str | None

    @classmethod
    def of(cls, user: User) -> Person:
        return cls(user.id, user.email if user.email_verified_at is not None else None)


def _by_email(column: Any, person: Person) -> ColumnElement[bool]:
    return column == person.email if person.email else false()


def own_requests(person: Person) -> ColumnElement[bool]:
    """The requests the person filed: signed in, or (address proved) with their address."""
    return or_(
        ServiceRequest.reporter_id == person.user_id,
        and_(ServiceRequest.reporter_id.is_(None), _by_email(ServiceRequest.contact_email, person)),
    )


def own_invitations(person: Person) -> ColumnElement[bool]:
    return or_(
        SurveyInvitation.user_id == person.user_id, _by_email(SurveyInvitation.email, person)
    )


def own_follows(person: Person) -> ColumnElement[bool]:
    return or_(Follower.user_id == person.user_id, _by_email(Follower.email, person))


_reference = ServiceRequest.reference.label("request")


def _account(p: Person) -> Select:
    return select(
        User.id,
        User.email,
        User.name,
        User.phone,
        User.locale,
        User.role,
        User.created_at,
        User.last_login_at,
        User.email_verified_at,
    ).where(User.id == p.user_id)


def _requests(p: Person) -> Select:
    return (
        select(
            ServiceRequest.id,
            ServiceRequest.reference,
            ServiceCategory.code.label("category"),
            ServiceRequest.status,
            ServiceRequest.description,
            ServiceRequest.answers,
            ServiceRequest.address,
            ServiceRequest.lat,
            ServiceRequest.lon,
            ServiceRequest.channel,
            ServiceRequest.channel_detail,
            ServiceRequest.contact_name,
            ServiceRequest.contact_email,
            ServiceRequest.contact_phone,
            ServiceRequest.private_by_reporter,
            ServiceRequest.is_public,
            ServiceRequest.created_at,
            ServiceRequest.resolved_at,
        )
        .join(ServiceCategory, ServiceCategory.id == ServiceRequest.category_id)
        .where(own_requests(p))
    )


def _comments(p: Person) -> Select:
    return (
        select(Event.id, _reference, Event.kind, Event.body, Event.public, Event.created_at)
        .join(ServiceRequest, ServiceRequest.id == Event.request_id)
        .where(Event.actor_id == p.user_id)
    )


def _photos(p: Person) -> Select:
    return (
        select(
            RequestPhoto.id,
            _reference,
            RequestPhoto.storage_key,
            RequestPhoto.original_name,
            RequestPhoto.width,
            RequestPhoto.height,
            RequestPhoto.size_bytes,
            RequestPhoto.created_at,
        )
        .join(ServiceRequest, ServiceRequest.id == RequestPhoto.request_id)
        .where(own_requests(p), RequestPhoto.added_by == "reporter")
    )


def _follows(p: Person) -> Select:
    return (
        select(Follower.id, _reference, Follower.email, Follower.confirmed_at, Follower.created_at)
        .join(ServiceRequest, ServiceRequest.id == Follower.request_id)
        .where(own_follows(p))
    )


def _supports(p: Person) -> Select:
    return (
        select(Support.id, _reference, Support.created_at)
        .join(ServiceRequest, ServiceRequest.id == Support.request_id)
        .where(Support.user_id == p.user_id)
    )


def _drafts(p: Person) -> Select:
    return select(
        RequestDraft.id, RequestDraft.data, RequestDraft.created_at, RequestDraft.expires_at
    ).where(RequestDraft.user_id == p.user_id)


def _alerts(p: Person) -> Select:
    return (
        select(
            AreaSubscription.id,
            Area.name.label("area"),
            AreaSubscription.category_ids,
            AreaSubscription.created_at,
            AreaSubscription.last_digest_at,
        )
        .join(Area, Area.id == AreaSubscription.area_id)
        .where(AreaSubscription.user_id == p.user_id)
    )


def _push_devices(p: Person) -> Select:
    """The devices with notifications on (not their push service's address or keys)."""
    return select(
        PushSubscription.id,
        PushSubscription.device_label,
        PushSubscription.language,
        PushSubscription.created_at,
        PushSubscription.last_success_at,
    ).where(PushSubscription.user_id == p.user_id)


def _survey_invitations(p: Person) -> Select:
    return (
        select(
            SurveyInvitation.id,
            SurveyInvitation.survey_key,
            _reference,
            SurveyInvitation.email,
            SurveyInvitation.state,
            SurveyInvitation.sent_at,
            SurveyInvitation.answered_at,
            SurveyInvitation.created_at,
        )
        .outerjoin(ServiceRequest, ServiceRequest.id == SurveyInvitation.request_id)
        .where(own_invitations(p))
    )


def _survey_answers(p: Person) -> Select:
    return (
        select(
            SurveyResponse.id,
            SurveyResponse.survey_key,
            SurveyResponse.version,
            SurveyResponse.csat,
            SurveyResponse.ces,
            SurveyResponse.nps,
            SurveyResponse.resolved,
            SurveyResponse.comment,
            SurveyResponse.contact_ok,
            SurveyResponse.answers,
            SurveyResponse.created_at,
        )
        .join(SurveyInvitation, SurveyInvitation.id == SurveyResponse.invitation_id)
        .where(own_invitations(p))
    )


def _survey_opt_outs(p: Person) -> Select:
    return select(SurveyOptOut.id, SurveyOptOut.email, SurveyOptOut.created_at).where(
        _by_email(SurveyOptOut.email, p)
    )


def _enrolments(p: Person) -> Select:
    attended = (
        select(func.count())
        .where(Attendance.enrolment_id == Enrolment.id, Attendance.present.is_(True))
        .scalar_subquery()
        .label("sessions_attended")
    )
    return (
        select(
            Enrolment.id,
            Programme.title.label("programme"),
            Enrolment.state,
            Enrolment.answers,
            Enrolment.check_in_code,
            Enrolment.queued_at,
            Enrolment.enrolled_at,
            Enrolment.cancelled_at,
            Enrolment.completed,
            attended,
            Enrolment.created_at,
        )
        .join(Programme, Programme.id == Enrolment.programme_id)
        .where(Enrolment.user_id == p.user_id)
    )


def _emails(p: Person) -> Select:
    addresses = [p.email] if p.email else []
    return select(
        OutboxMessage.id,
        OutboxMessage.kind,
        OutboxMessage.to_address,
        OutboxMessage.subject,
        OutboxMessage.body_text,
        OutboxMessage.state,
        OutboxMessage.created_at,
        OutboxMessage.sent_at,
    ).where(OutboxMessage.to_address.in_(addresses))


def _staff_notices(p: Person) -> Select:
    return select(StaffNotice.id, StaffNotice.kind, StaffNotice.data, StaffNotice.created_at).where(
        StaffNotice.user_id == p.user_id
    )


def _staff_memberships(p: Person) -> Select:
    return select(StaffMembership.id, StaffMembership.department_id, StaffMembership.role).where(
        StaffMembership.user_id == p.user_id
    )


def _audit_entries(p: Person) -> Select:
    return select(
        AuditEntry.id,
        AuditEntry.entity,
        AuditEntry.entity_id,
        AuditEntry.action,
        AuditEntry.created_at,
    ).where(AuditEntry.actor_id == p.user_id)


@dataclass(frozen=True)
class Part:
    """One query of a kind and the keys it is paged by (the last unique): the index order
    where the person's rows are found by an index (``(user, created_at)`` indexes hold the id
    too), so each page reads only its own rows."""

    query: Callable[[Person], Select]
    keys: tuple[Any, ...]


def _by_id(query: Callable[[Person], Select], key: Any) -> tuple[Part, ...]:
    return (Part(query, (key,)),)


def _own_filed(p: Person) -> Select:
    return _requests(p).where(ServiceRequest.reporter_id == p.user_id)


def _filed_under_address(p: Person) -> Select:
    return _requests(p).where(
        ServiceRequest.reporter_id.is_(None), _by_email(ServiceRequest.contact_email, p)
    )


#: name -> its parts, read one after the other. The order is the order of data.json.
KINDS: dict[str, tuple[Part, ...]] = {
    "account": _by_id(_account, User.id),
    "requests": (
        Part(_own_filed, (ServiceRequest.created_at, ServiceRequest.id)),
        Part(_filed_under_address, (ServiceRequest.id,)),
    ),
    "comments": (Part(_comments, (Event.created_at, Event.id)),),
    "photos": _by_id(_photos, RequestPhoto.id),
    "follows": _by_id(_follows, Follower.id),
    "supports": _by_id(_supports, Support.id),
    "drafts": _by_id(_drafts, RequestDraft.id),
    "alerts": _by_id(_alerts, AreaSubscription.id),
    "push_devices": _by_id(_push_devices, PushSubscription.id),
    "survey_invitations": _by_id(_survey_invitations, SurveyInvitation.id),
    "survey_answers": _by_id(_survey_answers, SurveyResponse.id),
    "survey_opt_outs": _by_id(_survey_opt_outs, SurveyOptOut.id),
    "enrolments": (Part(_enrolments, (Enrolment.created_at, Enrolment.id)),),
    "emails": _by_id(_emails, OutboxMessage.id),
    "staff_notices": _by_id(_staff_notices, StaffNotice.id),
    "staff_memberships": _by_id(_staff_memberships, StaffMembership.id),
    "audit_entries": (Part(_audit_entries, (AuditEntry.created_at, AuditEntry.id)),),
}


def columns(kind: str) -> list[str]:
    return [c.name for c in KINDS[kind][0].query(Person(0, None)).selected_columns]


def rows(session: Session, kind: str, person: Person, *, batch: int = BATCH) -> Iterator[dict]:
    """The person's rows of ``kind``, read ``batch`` at a time (keyset pages)."""
    for part in KINDS[kind]:
        yield from _part_rows(session, part, person, batch)


def _part_rows(session: Session, part: Part, person: Person, batch: int) -> Iterator[dict]:
    labels = [f"_key{n}" for n in range(len(part.keys))]
    statement = part.query(person).add_columns(
        *(key.label(label) for key, label in zip(part.keys, labels, strict=True))
    )
    last: list[Any] | None = None
    while True:
        page = statement
        if last is not None:
            bound = tuple_(*(literal(v, k.type) for v, k in zip(last, part.keys, strict=True)))
            page = page.where(tuple_(*part.keys) > bound)
        found = session.execute(page.order_by(*part.keys).limit(batch)).mappings().all()
        for row in found:
            yield {name: value for name, value in row.items() if name not in labels}
        if len(found) < batch:
            return
        last = [found[-1][label] for label in labels]
