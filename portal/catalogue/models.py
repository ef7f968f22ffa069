"""The service catalogue: departments, groups, categories and their extra questions."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.core.db import Base
from portal.core.models import JsonDoc, OptionLabels, Timestamped, Translatable
from portal.places.models import AssetLayer

QUESTION_KINDS = ("text", "number", "yesno", "single", "multi", "date")
#: What a department may ask for when one of its tasks breaches.
BREACH_ACTIONS = ("escalation_queue", "raise_priority")


class Department(Translatable, Timestamped, Base):
    __tablename__ = "departments"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    email: Mapped[str] = mapped_column(String(254), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    #: How a new task reaches an agent: queue (left unassigned), round_robin, least_loaded.
    assignment_mode: Mapped[str] = mapped_column(String(16), default="queue")
    #: Round-robin cursor: the agent who got the last task.
    last_assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    #: The business calendar its SLA clocks count on (None: the city's default calendar).
    calendar_id: Mapped[int | None] = mapped_column(ForeignKey("business_calendars.id"))
    #: What happens when one of its tasks breaches (``BREACH_ACTIONS``).
    breach_actions: Mapped[list[str]] = mapped_column(JsonDoc, default=list)


class ServiceGroup(Translatable, Base):
    __tablename__ = "service_groups"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    position: Mapped[int] = mapped_column(Integer, default=0)

    categories: Mapped[list[ServiceCategory]] = relationship(
        back_populates="group", order_by="ServiceCategory.position"
    )


class ServiceCategory(Translatable, Timestamped, Base):
    """What a resident can report. ``code`` is the Open311 service_code."""

    __tablename__ = "service_categories"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("service_groups.id"), index=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text, default="")
    keywords: Mapped[str] = mapped_column(String(400), default="")
    # Shown at the top of the details step: seasonal information or a safety warning.
    notice: Mapped[str] = mapped_column(Text, default="")
    notice_level: Mapped[str] = mapped_column(String(12), default="info")  # info|warning|emergency
    private: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    #: Days after a request closes before the retention sweep removes its reporter's contact
    #: details and free text; None: the city's default (``Settings.retention_days``).
    retention_days: Mapped[int | None] = mapped_column(Integer)
    #: The layer of city assets (portal.places AssetLayer) a resident picks one of, e.g. the
    #: streetlight that is out; None: none asked. No foreign key (migration 0021 says why).
    asset_layer_id: Mapped[int | None] = mapped_column(Integer)
    #: True: a request must name one of the layer's assets (the web form, staff intake and
    #: Open311 refuse one without); False: "none of these / I don't know" is accepted.
    asset_required: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    group: Mapped[ServiceGroup] = relationship(back_populates="categories")
    department: Mapped[Department] = relationship()
    #: The asset layer (portal.places) it asks residents to pick from, if any.
    asset_layer: Mapped[AssetLayer | None] = relationship(
        primaryjoin="foreign(ServiceCategory.asset_layer_id) == AssetLayer.id", viewonly=True
    )
    #: The questions residents are asked (active ones), in order.
    questions: Mapped[list[CategoryQuestion]] = relationship(
        primaryjoin="and_(ServiceCategory.id == CategoryQuestion.category_id, "
        "CategoryQuestion.active.is_(True))",
        order_by="CategoryQuestion.position",
        viewonly=True,
    )
    #: Every question, deactivated ones included (old answers name them): the configuration
    #: import and export and the case page read these.
    all_questions: Mapped[list[CategoryQuestion]] = relationship(
        back_populates="category",
        order_by="CategoryQuestion.position",
        cascade="all, delete-orphan",
    )


class CategoryQuestion(OptionLabels, Translatable, Base):
    """An extra question a category asks (an Open311 attribute).

    ``options`` is a list of ``{"key", "label", "translations": {"es": {"label"}}}`` for the
    choice kinds. ``stop_values`` lists answers that end the form with ``stop_message``
    instead of filing (for example "yes, I smell gas").
    """

    __tablename__ = "category_questions"
    __table_args__ = (UniqueConstraint("category_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    category_id: Mapped[int] = mapped_column(
        ForeignKey("service_categories.id", ondelete="CASCADE")
    )
    code: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(12))
    prompt: Mapped[str] = mapped_column(String(300))
    help: Mapped[str] = mapped_column(Text, default="")
    required: Mapped[bool] = mapped_column(Boolean, default=False)
    options: Mapped[list[dict[str, Any]]] = mapped_column(JsonDoc, default=list)
    stop_values: Mapped[list[str]] = mapped_column(JsonDoc, default=list)
    stop_message: Mapped[str] = mapped_column(Text, default="")
    max_length: Mapped[int | None] = mapped_column(Integer)
    position: Mapped[int] = mapped_column(Integer, default=0)
    #: A question residents have answered is never retyped or deleted: it is deactivated.
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    category: Mapped[ServiceCategory] = relationship(back_populates="all_questions")
