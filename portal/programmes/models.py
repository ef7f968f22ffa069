"""Community programmes: the programme, its sessions, its eligibility questions, the people
enrolled (and waiting), and who attended which session.

Capacity is counted in ``Programme.taken`` (people enrolled plus people holding an offer) and
only ever changed by a conditional ``UPDATE ... SET taken = taken + 1 WHERE taken < capacity``,
so concurrent enrolments can never overfill a programme (see ``portal.programmes.service``).
``Programme.waiting`` counts the waitlist, so a newcomer never jumps the queue: a free place
goes to the waitlist first.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.core import clock
from portal.core.db import Base
from portal.core.models import BigId, JsonDoc, OptionLabels, Timestamped, Translatable

#: What a programme is (shown as a filter).
KINDS = ("academy", "liaison", "workshop", "course", "event")
#: What it is about (residents search by topic).
TOPICS = (
    "civic",
    "safety",
    "environment",
    "housing",
    "youth",
    "seniors",
    "health",
    "business",
    "arts",
)
#: draft -> open -> closed -> completed; any but completed -> cancelled.
STATUSES = ("draft", "open", "closed", "completed", "cancelled")
#: first_come: places go in order; application: the coordinator approves after the window.
ADMISSIONS = ("first_come", "application")
#: applied (awaiting approval), enrolled, waitlisted, offered (a place held until a deadline),
#: cancelled (by the resident, the coordinator, an offer that lapsed or the programme ending),
#: rejected (an application not approved).
ENROLMENT_STATES = ("applied", "enrolled", "waitlisted", "offered", "cancelled", "rejected")
#: Why an enrolment was cancelled (``Enrolment.cancel_reason``).
CANCEL_REASONS = (
    "resident",
    "coordinator",
    "offer_expired",
    "offer_declined",
    "programme_cancelled",
    "capacity",
)
#: States that hold one of the programme's places.
HOLDS_PLACE = ("enrolled", "offered")


class Programme(Translatable, Timestamped, Base):
    """English title and description in the columns; Spanish in ``translations['es']``."""

    __tablename__ = "programmes"
    __table_args__ = (
        Index("ix_programmes_status_starts", "status", "starts_on", "id"),
        Index("ix_programmes_area_status_starts", "area_id", "status", "starts_on", "id"),
        Index("ix_programmes_topic_status_starts", "topic", "status", "starts_on", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(160))
    summary: Mapped[str] = mapped_column(String(300), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    kind: Mapped[str] = mapped_column(String(20), default="course")
    topic: Mapped[str] = mapped_column(String(20), default="civic")
    #: The neighbourhood it serves; None for the whole city.
    area_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"))
    capacity: Mapped[int] = mapped_column(Integer, default=20)
    #: Places held: enrolled plus offered. Only changed by conditional updates.
    taken: Mapped[int] = mapped_column(Integer, default=0)
    #: People on the waitlist.
    waiting: Mapped[int] = mapped_column(Integer, default=0)
    admission: Mapped[str] = mapped_column(String(12), default="first_come")
    status: Mapped[str] = mapped_column(String(12), default="draft")
    enrol_opens_at: Mapped[datetime | None]
    enrol_closes_at: Mapped[datetime | None]
    #: Date of the first and last session (kept in step with the sessions), for search.
    starts_on: Mapped[date | None]
    ends_on: Mapped[date | None]
    #: Completion: attended at least this many sessions (None: every session) and every
    #: mandatory one.
    completion_min_sessions: Mapped[int | None] = mapped_column(Integer)
    #: Hours a waitlisted resident has to accept an offered place (None: the city's default).
    offer_hours: Mapped[int | None] = mapped_column(Integer)
    #: Who to contact (shown on the programme page).
    contact_email: Mapped[str] = mapped_column(String(254), default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(default=clock.now, onupdate=clock.now)
    completed_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]

    sessions: Mapped[list[ProgrammeSession]] = relationship(
        back_populates="programme",
        order_by="(ProgrammeSession.starts_at, ProgrammeSession.id)",
        cascade="all, delete-orphan",
    )
    questions: Mapped[list[EligibilityQuestion]] = relationship(
        back_populates="programme",
        order_by="(EligibilityQuestion.position, EligibilityQuestion.id)",
        cascade="all, delete-orphan",
    )

    @property
    def places_left(self) -> int:
        return max(0, self.capacity - self.taken)


class ProgrammeSession(Translatable, Base):
    """One meeting: in a place, online, or both. ``reminded_at`` is set once its reminders
    are queued, so each session's reminders go out once."""

    __tablename__ = "programme_sessions"
    __table_args__ = (
        Index("ix_programme_sessions_programme_starts", "programme_id", "starts_at"),
        Index("ix_programme_sessions_reminder", "reminded_at", "starts_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programmes.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(160), default="")
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    place: Mapped[str] = mapped_column(String(300), default="")
    online_url: Mapped[str] = mapped_column(String(500), default="")
    mandatory: Mapped[bool] = mapped_column(Boolean, default=False)
    reminded_at: Mapped[datetime | None]

    programme: Mapped[Programme] = relationship(back_populates="sessions")


class EligibilityQuestion(OptionLabels, Translatable, Base):
    """A question asked when enrolling, of one of ``portal.catalogue.models.QUESTION_KINDS``,
    with the same shape as a category's question (``code``, ``kind``, ``prompt``, ``help``,
    ``required``, ``options``, ``max_length``) so the same answer checks apply, plus the rule
    that makes an answer eligible:

    - ``eligible_values``: for yesno/single, the accepted answers; for multi, at least one of
      them must be chosen (empty: any answer is eligible);
    - ``min_value``/``max_value``: for number, the accepted range (inclusive);
    - ``ineligible_message``: what a resident who does not qualify is told (translated in
      ``translations[locale]['ineligible_message']``).
    """

    __tablename__ = "programme_questions"
    __table_args__ = (UniqueConstraint("programme_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programmes.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(12))
    prompt: Mapped[str] = mapped_column(String(300))
    help: Mapped[str] = mapped_column(Text, default="")
    required: Mapped[bool] = mapped_column(Boolean, default=True)
    options: Mapped[list[dict[str, Any]]] = mapped_column(JsonDoc, default=list)
    max_length: Mapped[int | None] = mapped_column(Integer)
    eligible_values: Mapped[list[str]] = mapped_column(JsonDoc, default=list)
    min_value: Mapped[float | None] = mapped_column(Float)
    max_value: Mapped[float | None] = mapped_column(Float)
    ineligible_message: Mapped[str] = mapped_column(Text, default="")
    position: Mapped[int] = mapped_column(Integer, default=0)

    programme: Mapped[Programme] = relationship(back_populates="questions")

    @property
    def stop_values(self) -> list[str]:
        """Eligibility questions never end the form early (the answer checks ask)."""
        return []


class Enrolment(Base):
    """One resident's place (or wish for one) in one programme; a resident has at most one
    per programme, re-used if they enrol again after cancelling.

    The waitlist is ordered by ``queued_at`` then ``id``: when someone enrolled has to go back
    to the waitlist (the capacity was lowered) they keep their original ``queued_at`` and so
    come before people who signed up after them."""

    __tablename__ = "enrolments"
    __table_args__ = (
        UniqueConstraint("programme_id", "user_id"),
        UniqueConstraint("programme_id", "check_in_code"),
        Index("ix_enrolments_programme_state_queued", "programme_id", "state", "queued_at", "id"),
        Index("ix_enrolments_user_created", "user_id", "created_at"),
        Index("ix_enrolments_state_offer_expires", "state", "offer_expires_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programmes.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    state: Mapped[str] = mapped_column(String(12))
    answers: Mapped[dict[str, Any]] = mapped_column(JsonDoc, default=dict)
    #: Short code the participant gives at the door (unique within the programme).
    check_in_code: Mapped[str] = mapped_column(String(8))
    locale: Mapped[str] = mapped_column(String(8), default="en")
    queued_at: Mapped[datetime] = mapped_column(default=clock.now)
    offered_at: Mapped[datetime | None]
    offer_expires_at: Mapped[datetime | None]
    enrolled_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]
    cancel_reason: Mapped[str | None] = mapped_column(String(24))
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    #: Set when the programme completes: did they meet the completion rule?
    completed: Mapped[bool | None] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(default=clock.now, onupdate=clock.now)

    programme: Mapped[Programme] = relationship()
    user: Mapped[Any] = relationship("User", foreign_keys=[user_id])


class Attendance(Base):
    """A participant was at a session (a row exists) or marked absent (``present`` false)."""

    __tablename__ = "programme_attendance"
    __table_args__ = (Index("ix_programme_attendance_enrolment", "enrolment_id"),)

    session_id: Mapped[int] = mapped_column(
        ForeignKey("programme_sessions.id", ondelete="CASCADE"), primary_key=True
    )
    enrolment_id: Mapped[int] = mapped_column(
        ForeignKey("enrolments.id", ondelete="CASCADE"), primary_key=True
    )
    present: Mapped[bool] = mapped_column(Boolean, default=True)
    #: "name" (ticked on the roster) or "code" (the participant's check-in code).
    method: Mapped[str] = mapped_column(String(8), default="name")
    marked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    marked_at: Mapped[datetime] = mapped_column(default=clock.now)
