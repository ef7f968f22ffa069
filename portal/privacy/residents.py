"""What the city knows about one resident, as a staff member may see it (no Flask here): the
staff resident page and the case page's "Related" panel read it.

The requests themselves are ``portal.casework.related``'s (who the person is, which cases the
member may open). This module adds what lives in higher features: follows, programme
enrolments with attendance, survey answers and the emails received from the person. Every list
is capped; every query starts from an indexed column (``followers.user_id``,
``enrolments.user_id``, ``survey_invitations.email``, ``inbound_mails.request_id``) except a
follow by an address without an account (``followers.email`` has no index yet).

Survey answers follow the surveys' staff-anonymity rule (``portal.surveys`` results and the case
page): a member sees an answer about a case of a department they work in, and, when the survey
is anonymous to staff, only as a supervisor of that department (admins everything). An answer
the member may not see is left out altogether, so nothing links it to the person. Answers to
surveys about no department (programme surveys) are for admins.

Emails: those from the person's address that landed on one of their requests the member may
open (the rule of the original-email page); a message on no case is for the admins' mail page.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select, true
from sqlalchemy.orm import Session, defer, joinedload

from portal.casework.related import Person, owned_by, visible_to
from portal.mail_in.models import InboundMail
from portal.programmes.models import Attendance, Enrolment, ProgrammeSession
from portal.requests.models import Follower, ServiceRequest
from portal.staff.permissions import StaffAccess
from portal.surveys.answering import definition_for_invitation
from portal.surveys.models import SurveyInvitation, SurveyResponse
from portal.surveys.schema import Definition

#: At most this many of each kind on the resident page (newest first).
LIMIT = 20


def _scoped(query: Any, access: StaffAccess) -> Any:
    scope = visible_to(access)
    return query if scope is None else query.where(scope)


# -- follows -------------------------------------------------------------------------------


def _not_owned_by(person: Person) -> ColumnElement[bool]:
    """Not one of the person's own requests (``~owned_by`` would drop rows whose reporter is
    NULL: SQL's NOT of an unknown is unknown)."""
    reporter = ServiceRequest.reporter_id
    conditions: list[ColumnElement[bool]] = []
    if person.user_id is not None:
        conditions.append(or_(reporter.is_(None), reporter != person.user_id))
    if person.email:
        conditions.append(or_(reporter.is_not(None), ServiceRequest.contact_email != person.email))
    return and_(*conditions) if conditions else true()


def follows(
    session: Session, person: Person, *, access: StaffAccess, limit: int = LIMIT
) -> list[ServiceRequest]:
    """The requests the person follows (not their own) that the member may open."""
    conditions: list[ColumnElement[bool]] = []
    if person.user_id is not None:
        conditions.append(Follower.user_id == person.user_id)
    if person.email:
        conditions.append(Follower.email == person.email)
    if not conditions:
        return []
    query = (
        select(ServiceRequest)
        .join(Follower, Follower.request_id == ServiceRequest.id)
        .where(or_(*conditions), _not_owned_by(person))
        .options(joinedload(ServiceRequest.category))
        .order_by(Follower.id.desc())
        .limit(limit)
    )
    return list(session.scalars(_scoped(query, access)).unique())


# -- programmes ----------------------------------------------------------------------------


@dataclass(frozen=True)
class EnrolmentSummary:
    enrolment: Enrolment
    #: Sessions the person was marked present at, of the programme's sessions held so far.
    attended: int
    absent: int
    held: int


def enrolments(
    session: Session,
    person: Person,
    *,
    now: Any,
    limit: int = LIMIT,
    attendance: bool = True,
) -> list[EnrolmentSummary]:
    """The person's programme enrolments (an account's only), newest first, with attendance
    (two more statements; without ``attendance`` the counts are 0)."""
    if person.user_id is None:
        return []
    rows = list(
        session.scalars(
            select(Enrolment)
            .where(Enrolment.user_id == person.user_id)
            .options(joinedload(Enrolment.programme))
            .order_by(Enrolment.created_at.desc(), Enrolment.id.desc())
            .limit(limit)
        )
    )
    if not rows or not attendance:
        return [EnrolmentSummary(enrolment=e, attended=0, absent=0, held=0) for e in rows]
    marks: dict[int, dict[bool, int]] = {}
    for enrolment_id, present, count in session.execute(
        select(Attendance.enrolment_id, Attendance.present, func.count())
        .where(Attendance.enrolment_id.in_([e.id for e in rows]))
        .group_by(Attendance.enrolment_id, Attendance.present)
    ):
        marks.setdefault(enrolment_id, {})[bool(present)] = count
    held = dict(
        session.execute(
            select(ProgrammeSession.programme_id, func.count())
            .where(
                ProgrammeSession.programme_id.in_({e.programme_id for e in rows}),
                ProgrammeSession.starts_at <= now,
            )
            .group_by(ProgrammeSession.programme_id)
        ).all()
    )
    return [
        EnrolmentSummary(
            enrolment=e,
            attended=marks.get(e.id, {}).get(True, 0),
            absent=marks.get(e.id, {}).get(False, 0),
            held=held.get(e.programme_id, 0),
        )
        for e in rows
    ]


# -- surveys -------------------------------------------------------------------------------


@dataclass(frozen=True)
class SurveyAnswer:
    response: SurveyResponse
    definition: Definition
    #: The case the survey was about (None for a programme survey or a deleted case).
    reference: str | None


def may_see_answer(access: StaffAccess, definition: Definition, department_id: int | None) -> bool:
    """The staff-anonymity rule (see the module's docstring)."""
    if access.is_admin:
        return True
    if department_id is None or not access.can_work(department_id):
        return False
    return not definition.anonymous_to_staff or access.supervises(department_id)


def _definition(invitation: SurveyInvitation) -> Definition | None:
    try:
        return definition_for_invitation(invitation)
    except (KeyError, TypeError, ValueError):  # a copy that cannot be read: shown to nobody
        return None


def survey_answers(
    session: Session, person: Person, *, access: StaffAccess, limit: int = LIMIT
) -> list[SurveyAnswer]:
    """The person's survey answers the member may see linked to them, newest first."""
    conditions: list[ColumnElement[bool]] = []
    if person.email:
        conditions.append(SurveyInvitation.email == person.email)
    if person.user_id is not None:
        conditions.append(SurveyInvitation.user_id == person.user_id)
    if not conditions:
        return []
    if not access.is_admin and not access.department_ids:
        return []
    query = (
        select(SurveyResponse, SurveyInvitation, ServiceRequest.reference)
        .join(SurveyInvitation, SurveyInvitation.id == SurveyResponse.invitation_id)
        .outerjoin(ServiceRequest, ServiceRequest.id == SurveyResponse.request_id)
        .where(or_(*conditions))
        .options(joinedload(SurveyInvitation.version))
        .order_by(SurveyResponse.created_at.desc(), SurveyResponse.id.desc())
        .limit(limit)
    )
    if not access.is_admin:
        query = query.where(SurveyResponse.department_id.in_(access.department_ids))
    found = []
    for response, invitation, reference in session.execute(query):
        definition = _definition(invitation)
        if definition is not None and may_see_answer(access, definition, response.department_id):
            found.append(SurveyAnswer(response, definition, reference))
    return found


# -- emails --------------------------------------------------------------------------------


def emails(
    session: Session, person: Person, *, access: StaffAccess, limit: int = LIMIT
) -> list[tuple[InboundMail, str]]:
    """Emails from the person's address on their requests the member may open, newest first,
    with the reference of the case each landed on."""
    if not person.email:
        return []
    query = (
        select(InboundMail, ServiceRequest.reference)
        .join(ServiceRequest, ServiceRequest.id == InboundMail.request_id)
        .where(owned_by(person), InboundMail.from_address == person.email)
        .options(defer(InboundMail.raw_gz), defer(InboundMail.last_error))
        .order_by(InboundMail.id.desc())
        .limit(limit)
    )
    return [(mail, reference) for mail, reference in session.execute(_scoped(query, access))]
