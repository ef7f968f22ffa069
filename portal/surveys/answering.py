"""Answering a survey, opting out, site feedback, and what staff see of a case's survey.

No Flask here. A resident answers through the single-use link of an invitation; the answers
are read against the version they were sent (its frozen copy in ``SurveyVersion.definition``),
so a later change to the file never alters a survey already sent.

Answering stores the ``SurveyResponse`` and marks the invitation answered in one transaction.
The invitation moves with a conditional update (only from "sent", only before it expires) and
``SurveyResponse.invitation_id`` is unique, so a double submit never makes two responses: the
second gets ``InvitationClosed("answered")``.

"No, it was not resolved" reopens the case (``updates.reopen``: back to in progress, the SLA
clocks restart through its hooks) with the resident's comment on the public timeline (or a
short default sentence in their language), and tells the supervisors of the case's department.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from portal.auth.models import User
from portal.core.config import Settings
from portal.core.i18n import _l
from portal.core.i18n import gettext as translate
from portal.notifications.staff import notify_staff
from portal.requests import updates
from portal.requests.models import ServiceRequest
from portal.staff.models import StaffMembership
from portal.surveys.invitations import MAX_TOKEN, cancel_pending_for, hash_token, normalise_email
from portal.surveys.models import SurveyInvitation, SurveyOptOut, SurveyResponse
from portal.surveys.schema import SCALES, Definition, localized, measures, read_answers
from portal.surveys.versions import definition_of, record_version

DEFAULT_NOT_RESOLVED = _l(
    "The resident said in the satisfaction survey that the problem is not resolved."
)
#: What a visitor may be shown for a token: "open" lets them answer.
STATES = ("open", "unknown", "expired", "answered", "cancelled")


class InvitationClosed(Exception):
    """The link cannot be answered: ``code`` is one of unknown, expired, answered, cancelled."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


class AnswerErrors(ValueError):
    """Bad input: ``errors`` by question id ("required", "choose", "too_long")."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(", ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


# -- the link --------------------------------------------------------------------------------


def invitation_by_token(session: Session, token: str) -> SurveyInvitation | None:
    """The invitation a link's token opens, or None (unknown, forged or never sent)."""
    if not token or len(token) > MAX_TOKEN:
        return None
    invitation = session.scalar(
        select(SurveyInvitation).where(SurveyInvitation.token_hash == hash_token(token))
    )
    if invitation is None or invitation.sent_at is None:
        # A pending invitation's hash belongs to a token that was never sent to anyone.
        return None
    return invitation


def link_state(invitation: SurveyInvitation | None, now: datetime) -> str:
    """One of ``STATES``."""
    if invitation is None:
        return "unknown"
    if invitation.state == "answered":
        return "answered"
    if invitation.state == "cancelled":
        return "cancelled"
    if invitation.state != "sent":
        return "unknown"
    if invitation.expires_at <= now:
        return "expired"
    return "open"


def definition_for_invitation(invitation: SurveyInvitation) -> Definition:
    """The version the invitation was sent with, from its frozen copy."""
    return definition_of(invitation.version)


# -- answering -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Answered:
    response: SurveyResponse
    #: The case went back to in progress ("not resolved").
    reopened: bool
    request: ServiceRequest | None


def answer_invitation(
    session: Session,
    *,
    settings: Settings,
    invitation: SurveyInvitation,
    form: Mapping[str, Any],
    now: datetime,
) -> Answered:
    """Store the answers to ``invitation`` (flush, no commit).

    Raises ``AnswerErrors`` for bad input (nothing stored), ``InvitationClosed`` when the link
    expired, was answered (also by a concurrent submit) or cancelled meanwhile. The caller
    should roll back after ``InvitationClosed``.
    """
    definition = definition_for_invitation(invitation)
    values, errors = read_answers(definition, form)
    state = link_state(invitation, now)
    if state != "open":
        raise InvitationClosed(state)
    if errors:
        raise AnswerErrors(errors)
    taken = cast(
        CursorResult[Any],
        session.execute(
            update(SurveyInvitation)
            .where(
                SurveyInvitation.id == invitation.id,
                SurveyInvitation.state == "sent",
                SurveyInvitation.expires_at > now,
            )
            .values(state="answered", answered_at=now),
            execution_options={"synchronize_session": False},
        ),
    )
    if taken.rowcount != 1:
        session.refresh(invitation)
        raise InvitationClosed(
            link_state(invitation, now) if invitation.state != "sent" else "expired"
        )
    invitation.state, invitation.answered_at = "answered", now
    response = _response(
        definition,
        values,
        version_id=invitation.survey_version_id,
        locale=invitation.locale,
        now=now,
        invitation=invitation,
    )
    try:
        with session.begin_nested():
            session.add(response)
            session.flush()
    except IntegrityError:
        raise InvitationClosed("answered") from None
    request = (
        session.get(ServiceRequest, invitation.request_id)
        if invitation.request_id is not None
        else None
    )
    reopened = False
    if request is not None and response.resolved == "no":
        reopened = not_resolved(
            session,
            settings=settings,
            request=request,
            comment=response.comment,
            locale=invitation.locale,
        )
    return Answered(response, reopened, request)


def _response(
    definition: Definition,
    values: Mapping[str, Any],
    *,
    version_id: int,
    locale: str,
    now: datetime,
    invitation: SurveyInvitation | None = None,
) -> SurveyResponse:
    typed = measures(definition, values)
    return SurveyResponse(
        invitation_id=invitation.id if invitation else None,
        survey_key=definition.key,
        survey_version_id=version_id,
        version=definition.version,
        request_id=invitation.request_id if invitation else None,
        department_id=invitation.department_id if invitation else None,
        category_id=invitation.category_id if invitation else None,
        locale=locale,
        csat=typed["csat"],
        ces=typed["ces"],
        nps=typed["nps"],
        resolved=typed["resolved"],
        comment=typed["comment"] or "",
        contact_ok=typed["contact_ok"],
        answers=dict(values),
        created_at=now,
    )


def supervisors(session: Session, department_id: int) -> list[User]:
    return list(
        session.scalars(
            select(User)
            .join(StaffMembership, StaffMembership.user_id == User.id)
            .where(
                StaffMembership.department_id == department_id,
                StaffMembership.role == "supervisor",
                User.active.is_(True),
            )
            .order_by(User.id)
            .limit(200)
        )
    )


def not_resolved(
    session: Session, *, settings: Settings, request: ServiceRequest, comment: str, locale: str
) -> bool:
    """The resident says the problem is not resolved: reopen the case with their words on
    the public timeline and tell the department's supervisors. Returns whether it reopened
    (a case staff already reopened only gets the comment)."""
    body = (comment or "").strip()[: updates.MAX_MESSAGE] or translate(
        locale if locale in settings.languages else "en", DEFAULT_NOT_RESOLVED
    )
    reporter = (
        request.reporter
        if request.reporter is not None and request.reporter.role == "resident"
        else None
    )
    reopened = False
    if request.status in updates.REOPENABLE:
        updates.reopen(
            session,
            settings=settings,
            request=request,
            comment=body,
            actor=reporter,
            check_window=False,
        )
        reopened = True
    else:
        updates.post_comment(
            session,
            settings=settings,
            request=request,
            body=body,
            actor=reporter,
            actor_kind="resident",
        )
    for user in supervisors(session, request.department_id):
        notify_staff(
            session,
            settings=settings,
            user=user,
            kind="survey_not_resolved",
            request=request,
            data={"department_name": request.department.t("name", user.locale)},
        )
    return reopened


# -- site feedback ---------------------------------------------------------------------------


def submit_feedback(
    session: Session, *, definition: Definition, form: Mapping[str, Any], locale: str, now: datetime
) -> SurveyResponse:
    """Store an answer to an open survey (no invitation); raises ``AnswerErrors``."""
    values, errors = read_answers(definition, form)
    if errors:
        raise AnswerErrors(errors)
    version = record_version(session, definition)
    response = _response(definition, values, version_id=version.id, locale=locale, now=now)
    session.add(response)
    session.flush()
    return response


# -- opting out ------------------------------------------------------------------------------


def opt_out(session: Session, *, email: str, now: datetime) -> int:
    """Never survey ``email`` again (idempotent); cancels its invitations not yet sent and
    returns how many."""
    address = normalise_email(email)
    if session.scalar(select(SurveyOptOut.id).where(SurveyOptOut.email == address)) is None:
        try:
            with session.begin_nested():
                session.add(SurveyOptOut(email=address, created_at=now))
                session.flush()
        except IntegrityError:
            pass  # a concurrent opt-out of the same address
    return cancel_pending_for(session, address)


# -- what staff see --------------------------------------------------------------------------


@dataclass(frozen=True)
class CaseSurvey:
    invitation: SurveyInvitation
    definition: Definition
    response: SurveyResponse | None


def case_survey(session: Session, request_id: int) -> CaseSurvey | None:
    """The case's invitation with its version and response, or None when not invited."""
    invitation = session.scalar(
        select(SurveyInvitation)
        .where(SurveyInvitation.request_id == request_id)
        .order_by(SurveyInvitation.id.desc())
        .limit(1)
    )
    if invitation is None:
        return None
    response = session.scalar(
        select(SurveyResponse).where(SurveyResponse.invitation_id == invitation.id)
    )
    return CaseSurvey(invitation, definition_for_invitation(invitation), response)


def answer_rows(
    definition: Definition, answers: Mapping[str, Any], locale: str, yes_no: Mapping[str, str]
) -> list[tuple[str, str]]:
    """(question label, answer) in ``locale`` for each answered question, in the file's
    order. ``yes_no`` words "yes" and "no" in the reader's language."""
    rows = []
    for question in definition.questions:
        value = answers.get(question.id)
        if value in (None, "", []):
            continue
        labels = {o.key: localized(o.label, locale) for o in question.options}
        if question.kind == "multi":
            text = ", ".join(labels.get(str(v), str(v)) for v in value)
        elif question.kind == "yesno":
            text = yes_no.get(str(value), str(value))
        elif question.kind in SCALES:
            high = SCALES[question.kind][-1]
            label = labels.get(str(value))
            text = f"{value} / {high}" + (f" ({label})" if label else "")
        elif question.kind == "single":
            text = labels.get(str(value), str(value))
        else:
            text = str(value)
        rows.append((localized(question.label, locale), text))
    return rows
