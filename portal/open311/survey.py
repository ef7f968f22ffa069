"""The satisfaction survey of a request, for the reporter's app (no Flask).

When a case is resolved the portal emails its reporter a survey invitation (``portal.surveys``).
An app holding the reporter's token for the request reads that survey (the version the
invitation was sent with: its questions, options and scales in the asked language) and sends
the answers, which go through ``portal.surveys.answering.answer_invitation`` exactly as the
emailed link's page does (one response per invitation, "not resolved" reopens the case and
tells the department's supervisors). The answers are form fields named by question id.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.core.config import Settings
from portal.open311.serialize import local
from portal.requests.models import ServiceRequest
from portal.surveys.answering import (
    Answered,
    AnswerErrors,
    InvitationClosed,
    answer_invitation,
    definition_for_invitation,
    link_state,
)
from portal.surveys.models import SurveyInvitation
from portal.surveys.schema import SCALES, YESNO, Question, localized


class SurveyError(ValueError):
    """A refused survey call: an HTTP status and one sentence per problem."""

    def __init__(self, status: int, *descriptions: str) -> None:
        super().__init__("; ".join(descriptions))
        self.status = status
        self.descriptions = list(descriptions)


CLOSED = {
    "expired": "The survey for this request has expired.",
    "answered": "The survey for this request was already answered.",
    "cancelled": "The survey for this request was withdrawn (the request was reopened).",
}


def invitation_for(session: Session, request: ServiceRequest) -> SurveyInvitation:
    """The latest survey invitation sent about ``request``. Raises ``SurveyError(404)`` when
    none was sent."""
    invitation = session.scalar(
        select(SurveyInvitation)
        .where(SurveyInvitation.request_id == request.id, SurveyInvitation.sent_at.is_not(None))
        .order_by(SurveyInvitation.id.desc())
        .limit(1)
    )
    if invitation is None:
        raise SurveyError(
            404, "No survey was sent about this request (it is sent once it is resolved)."
        )
    return invitation


def _question(question: Question, locale: str) -> dict[str, Any]:
    if question.kind in SCALES:
        scale: list[Any] | None = list(SCALES[question.kind])
    elif question.kind == "yesno":
        scale = list(YESNO)
    else:
        scale = None
    return {
        "id": question.id,
        "kind": question.kind,
        "label": localized(question.label, locale),
        "hint": localized(question.hint, locale) or None,
        "required": question.required,
        "options": [
            {"key": option.key, "label": localized(option.label, locale)}
            for option in question.options
        ],
        "scale": scale,
        "max_length": question.max_length,
        "show_if": {"question": question.show_if.question, "values": list(question.show_if.values)}
        if question.show_if is not None
        else None,
    }


def survey_document(
    invitation: SurveyInvitation,
    request: ServiceRequest,
    *,
    settings: Settings,
    locale: str,
    now: datetime,
) -> dict[str, Any]:
    """The survey as the app shows it: its state (``open`` may be answered), title,
    introduction and questions. Nothing about who was invited."""
    definition = definition_for_invitation(invitation)
    return {
        "service_request_id": request.reference,
        "survey_key": definition.key,
        "version": definition.version,
        "state": link_state(invitation, now),
        "expires_datetime": local(invitation.expires_at, settings),
        "title": localized(definition.title, locale),
        "introduction": localized(definition.introduction, locale) or None,
        "questions": [_question(q, locale) for q in definition.questions],
    }


def _problem(question_id: str, code: str, definition_questions: Mapping[str, Question]) -> str:
    question = definition_questions.get(question_id)
    if code == "required":
        return f"{question_id}: an answer is required."
    if code == "too_long" and question is not None and question.max_length is not None:
        return f"{question_id}: at most {question.max_length} characters."
    return f"{question_id}: choose one of the question's options or scale values."


def answer(
    session: Session,
    *,
    settings: Settings,
    invitation: SurveyInvitation,
    form: Mapping[str, Any],
    now: datetime,
) -> Answered:
    """Store the answers through the survey's own path (flush). Raises ``SurveyError`` 400 (one
    sentence per question) or 409 (expired, answered, withdrawn); the caller rolls back."""
    try:
        return answer_invitation(
            session, settings=settings, invitation=invitation, form=form, now=now
        )
    except AnswerErrors as exc:
        questions = {q.id: q for q in definition_for_invitation(invitation).questions}
        raise SurveyError(
            400, *(_problem(qid, code, questions) for qid, code in exc.errors.items())
        ) from exc
    except InvitationClosed as exc:
        raise SurveyError(409, CLOSED.get(exc.code, "This survey cannot be answered.")) from exc
