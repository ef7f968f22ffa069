"""Programme surveys as survey subjects (``portal.surveys.subjects``): a participant's
invitation is about their enrolment ("enrolment:<id>"); it names the programme, and is
cancelled when the enrolment or the programme is gone or the programme was cancelled."""

from __future__ import annotations

from sqlalchemy.orm import Session

from portal.programmes.models import Enrolment, Programme
from portal.surveys.subjects import SubjectKind, Titled, register


def _programme(session: Session, enrolment_id: int) -> Programme | None:
    enrolment = session.get(Enrolment, enrolment_id)
    return enrolment.programme if enrolment is not None else None


def _not_cancelled(programme: Titled) -> bool:
    return getattr(programme, "status", None) != "cancelled"


ENROLMENT = SubjectKind(
    prefix="enrolment:",
    template="programme_survey",
    title_key="programme",
    find=_programme,
    wanted=_not_cancelled,
)


def enrolment_subject(enrolment_id: int) -> str:
    """``SurveyInvitation.subject_key`` of a programme participant's invitation."""
    return ENROLMENT.key(enrolment_id)


def connect() -> None:
    register(ENROLMENT)
