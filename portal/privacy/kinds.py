"""Everything the portal holds about one account, kind by kind, as plain rows.

Each kind is a list of columns and a query; ``rows`` pages through it by id (keyset, a batch at
a time, plain rows: nothing stays in the session), so an export of a long history runs in
constant memory. docs/data-rights.md lists the tables and why each is (or is not) here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, false, func, or_, select
from sqlalchemy.orm import Session

from portal.areas.models import Area
from portal.auth.models import User
from portal.catalogue.models import ServiceCategory
from portal.core.audit import AuditEntry
from portal.core.outbox import OutboxMessage
from portal.notifications.models import StaffNotice
from portal.programmes.models import Attendance, Enrolment, Programme
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


#: name -> (the query's id column, the query). The order is the order of data.json.
KINDS: dict[str, tuple[Any, Callable[[Person], Select]]] = {
    "account": (User.id, _account),
    "requests": (ServiceRequest.id, _requests),
    "comments": (Event.id, _comments),
    "photos": (RequestPhoto.id, _photos),
    "follows": (Follower.id, _follows),
    "supports": (Support.id, _supports),
    "drafts": (RequestDraft.id, _drafts),
    "alerts": (AreaSubscription.id, _alerts),
    "survey_invitations": (SurveyInvitation.id, _survey_invitations),
    "survey_answers": (SurveyResponse.id, _survey_answers),
    "survey_opt_outs": (SurveyOptOut.id, _survey_opt_outs),
    "enrolments": (Enrolment.id, _enrolments),
    "emails": (OutboxMessage.id, _emails),
    "staff_notices": (StaffNotice.id, _staff_notices),
    "staff_memberships": (StaffMembership.id, _staff_memberships),
    "audit_entries": (AuditEntry.id, _audit_entries),
}


def columns(kind: str) -> list[str]:
    key, query = KINDS[kind]
    return [c.name for c in query(Person(0, None)).selected_columns]


def rows(session: Session, kind: str, person: Person, *, batch: int = BATCH) -> Iterator[dict]:
    """The person's rows of ``kind`` in id order, read ``batch`` at a time."""
    key, query = KINDS[kind]
    statement = query(person)
    last: Any = None
    while True:
        page = statement if last is None else statement.where(key > last)
        found = session.execute(page.order_by(key).limit(batch)).mappings().all()
        for row in found:
            yield dict(row)
        if len(found) < batch:
            return
        last = found[-1]["id"]
