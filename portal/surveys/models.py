"""Survey versions as answered, invitations (one per case), responses and opt-outs.

The definitions themselves are files in the top-level ``surveys/`` folder; a
``SurveyVersion`` row freezes the version residents were shown (its fingerprint and a copy of
the definition), so a response can always be read against the questions it answered.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.core import clock
from portal.core.db import Base
from portal.core.models import BigId, JsonDoc

TRIGGERS = ("request_resolved", "programme_completed", "site_feedback")
INVITATION_STATES = ("pending", "sent", "answered", "cancelled")
#: Answers to "was your request resolved?" (``SurveyResponse.resolved``).
RESOLVED_ANSWERS = ("yes", "partly", "no", "dont_know")


class SurveyVersion(Base):
    __tablename__ = "survey_versions"
    __table_args__ = (UniqueConstraint("survey_key", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    survey_key: Mapped[str] = mapped_column(String(60))
    version: Mapped[int] = mapped_column(Integer)
    #: sha256 of the version's questions as residents saw them: a changed file with the same
    #: version number and responses on record fails ``flask surveys check``.
    fingerprint: Mapped[str] = mapped_column(String(64))
    definition: Mapped[dict[str, Any]] = mapped_column(JsonDoc, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=clock.now)


class SurveyInvitation(Base):
    """One resident asked once: a single-use link (only its hash is stored) that expires.

    ``(request_id, survey_key)`` is unique: a case can never produce a second invitation, however
    many of its tasks end. ``department_id``/``category_id`` are the case's when invited, so
    results group on indexed columns of this table and of responses."""

    __tablename__ = "survey_invitations"
    __table_args__ = (
        UniqueConstraint("request_id", "survey_key"),
        #: Programme surveys: one invitation per enrolment (``subject_key`` "enrolment:<id>").
        UniqueConstraint("survey_key", "subject_key"),
        Index("ix_survey_invitations_state_send_after", "state", "send_after"),
        Index("ix_survey_invitations_email_created", "email", "created_at"),
        Index(
            "ix_survey_invitations_survey_department_created",
            "survey_key",
            "department_id",
            "created_at",
        ),
        Index(
            "ix_survey_invitations_survey_category_created",
            "survey_key",
            "category_id",
            "created_at",
        ),
        Index("ix_survey_invitations_survey_created", "survey_key", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    survey_key: Mapped[str] = mapped_column(String(60))
    survey_version_id: Mapped[int] = mapped_column(ForeignKey("survey_versions.id"))
    request_id: Mapped[int | None] = mapped_column(
        ForeignKey("service_requests.id", ondelete="CASCADE")
    )
    #: For programme surveys (issue 7): the enrolment surveyed, when there is one.
    subject_key: Mapped[str | None] = mapped_column(String(60))
    email: Mapped[str] = mapped_column(String(254))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    locale: Mapped[str] = mapped_column(String(8), default="en")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    state: Mapped[str] = mapped_column(String(12), default="pending")
    send_after: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    expires_at: Mapped[datetime]
    answered_at: Mapped[datetime | None]
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    category_id: Mapped[int | None] = mapped_column(ForeignKey("service_categories.id"))
    created_at: Mapped[datetime] = mapped_column(default=clock.now)

    version: Mapped[SurveyVersion] = relationship()


class SurveyResponse(Base):
    """What a resident answered. The measures results are computed from are typed columns
    (CSAT 1-5, CES 1-7, NPS 0-10, resolved, comment, permission to contact); every answer is
    also kept in ``answers``."""

    __tablename__ = "survey_responses"
    __table_args__ = (
        Index(
            "ix_survey_responses_survey_department_created",
            "survey_key",
            "department_id",
            "created_at",
        ),
        Index(
            "ix_survey_responses_survey_category_created", "survey_key", "category_id", "created_at"
        ),
        Index("ix_survey_responses_survey_created", "survey_key", "created_at"),
        Index("ix_survey_responses_request", "request_id"),
        # Reports: a department's satisfaction in a period, whatever the survey.
        Index("ix_survey_responses_department_created", "department_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    invitation_id: Mapped[int | None] = mapped_column(
        ForeignKey("survey_invitations.id", ondelete="CASCADE"), unique=True
    )
    survey_key: Mapped[str] = mapped_column(String(60))
    survey_version_id: Mapped[int] = mapped_column(ForeignKey("survey_versions.id"))
    version: Mapped[int] = mapped_column(Integer)
    request_id: Mapped[int | None] = mapped_column(
        ForeignKey("service_requests.id", ondelete="SET NULL")
    )
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    category_id: Mapped[int | None] = mapped_column(ForeignKey("service_categories.id"))
    locale: Mapped[str] = mapped_column(String(8), default="en")
    csat: Mapped[int | None] = mapped_column(SmallInteger)
    ces: Mapped[int | None] = mapped_column(SmallInteger)
    nps: Mapped[int | None] = mapped_column(SmallInteger)
    resolved: Mapped[str | None] = mapped_column(String(12))
    comment: Mapped[str] = mapped_column(Text, default="")
    contact_ok: Mapped[bool | None] = mapped_column(Boolean)
    answers: Mapped[dict[str, Any]] = mapped_column(JsonDoc, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=clock.now)


class SurveyOptOut(Base):
    """An address that asked never to be surveyed again (stored lower-cased)."""

    __tablename__ = "survey_opt_outs"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
