"""Business calendars, SLA policies and the clocks that measure cases and tasks against them."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Boolean, Date, Float, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.catalogue.models import BREACH_ACTIONS  # noqa: F401 - where the SLA code reads it
from portal.core import clock
from portal.core.db import Base
from portal.core.models import BigId, JsonDoc, Timestamped

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
#: A target is counted on the department's business calendar or on the wall clock.
UNITS = ("working_hours", "calendar_days")
CLOCK_KINDS = ("first_response", "resolution", "update")
LIVE_STAGES = ("running", "paused")
CLOCK_STAGES = ("running", "paused", "met", "breached", "cancelled", "transferred")
#: Percent of the target at which the sweep acts: notify, at risk, breach.
THRESHOLDS = (50, 75, 100)
#: Case statuses that pause clocks unless a policy says otherwise.
DEFAULT_PAUSE_STATUSES = ("waiting_on_resident", "waiting_on_third_party", "scheduled")


class BusinessCalendar(Timestamped, Base):
    """When a department works. ``hours`` maps ``mon``..``sun`` to ``[["08:00", "12:00"],
    ["13:00", "17:00"]]`` (a lunch break is two periods); public holidays come from the
    ``holidays`` package for ``holiday_country``/``holiday_subdivision``, the city's own
    closures from ``CalendarClosure``. ``always_open`` is the 24/7 calendar."""

    __tablename__ = "business_calendars"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    timezone: Mapped[str] = mapped_column(String(64), default="America/Chicago")
    always_open: Mapped[bool] = mapped_column(Boolean, default=False)
    hours: Mapped[dict[str, Any]] = mapped_column(JsonDoc, default=dict)
    holiday_country: Mapped[str] = mapped_column(String(2), default="")
    holiday_subdivision: Mapped[str] = mapped_column(String(10), default="")
    updated_at: Mapped[datetime] = mapped_column(default=clock.now)

    closures: Mapped[list[CalendarClosure]] = relationship(
        back_populates="calendar",
        order_by="CalendarClosure.day",
        cascade="all, delete-orphan",
    )


class CalendarClosure(Timestamped, Base):
    """A day the city closes on top of the public holidays (a snow day, a local holiday)."""

    __tablename__ = "calendar_closures"
    __table_args__ = (UniqueConstraint("calendar_id", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    calendar_id: Mapped[int] = mapped_column(
        ForeignKey("business_calendars.id", ondelete="CASCADE")
    )
    day: Mapped[date] = mapped_column(Date)
    name: Mapped[str] = mapped_column(String(120), default="")

    calendar: Mapped[BusinessCalendar] = relationship(back_populates="closures")


class SlaPolicy(Timestamped, Base):
    """Targets for the cases and tasks it matches. Empty match fields match anything; the most
    specific active policy wins (department, area, category, priority), then ``position``.

    Each target is an amount with its unit (``UNITS``); a missing target means no clock.
    ``pause_statuses`` lists the case statuses during which this policy's clocks stop."""

    __tablename__ = "sla_policies"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    category_id: Mapped[int | None] = mapped_column(ForeignKey("service_categories.id"), index=True)
    priority: Mapped[str | None] = mapped_column(String(10))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"), index=True)
    area_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"))
    first_response_amount: Mapped[int | None] = mapped_column(Integer)
    first_response_unit: Mapped[str] = mapped_column(String(16), default="working_hours")
    resolution_amount: Mapped[int | None] = mapped_column(Integer)
    resolution_unit: Mapped[str] = mapped_column(String(16), default="working_hours")
    update_amount: Mapped[int | None] = mapped_column(Integer)
    update_unit: Mapped[str] = mapped_column(String(16), default="working_hours")
    pause_statuses: Mapped[list[str]] = mapped_column(
        JsonDoc, default=lambda: list(DEFAULT_PAUSE_STATUSES)
    )
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(default=clock.now)


class SlaClock(Base):
    """One promise measured: the case's first response, resolution or regular update (no
    ``task_id``), or a department task's resolution (``task_id``).

    ``pauses`` is the list of ``[start, end]`` ISO instants (``end`` null while paused), so the
    elapsed time can be counted again on any calendar when a policy is re-attached.
    ``working_seconds``/``wall_seconds``/``paused_seconds`` are as of ``updated_at`` (final once
    stopped). ``due_at`` moves with pauses and is null while paused; ``original_due_at`` does
    not move. ``next_threshold_at`` is when the next unfired threshold is crossed: the sweep
    reads only clocks whose moment has come."""

    __tablename__ = "sla_clocks"
    __table_args__ = (
        Index("ix_sla_clocks_next_threshold", "next_threshold_at"),
        Index("ix_sla_clocks_request_kind", "request_id", "kind"),
        Index("ix_sla_clocks_task", "task_id"),
        Index(
            "ix_sla_clocks_department_stage_fired",
            "department_id",
            "stage",
            "thresholds_fired",
            "due_at",
        ),
        # Reports: the clocks of a department that stopped in a period.
        Index("ix_sla_clocks_department_kind_stopped", "department_id", "kind", "stopped_at"),
        # Forecasts: the clocks started in the calibration window.
        Index("ix_sla_clocks_kind_started", "kind", "started_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("service_requests.id", ondelete="CASCADE"))
    task_id: Mapped[int | None] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"))
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))
    calendar_id: Mapped[int | None] = mapped_column(ForeignKey("business_calendars.id"))
    policy_id: Mapped[int | None] = mapped_column(
        ForeignKey("sla_policies.id", ondelete="SET NULL")
    )
    kind: Mapped[str] = mapped_column(String(16))
    stage: Mapped[str] = mapped_column(String(12), default="running")
    unit: Mapped[str] = mapped_column(String(16), default="working_hours")
    target_seconds: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime]
    stopped_at: Mapped[datetime | None]
    pauses: Mapped[list[list[str | None]]] = mapped_column(JsonDoc, default=list)
    pause_statuses: Mapped[list[str]] = mapped_column(JsonDoc, default=list)
    working_seconds: Mapped[int] = mapped_column(Integer, default=0)
    wall_seconds: Mapped[int] = mapped_column(Integer, default=0)
    paused_seconds: Mapped[int] = mapped_column(Integer, default=0)
    due_at: Mapped[datetime | None]
    original_due_at: Mapped[datetime | None]
    at_risk_at: Mapped[datetime | None]
    breached_at: Mapped[datetime | None]
    #: The highest threshold (percent) already acted on: 0, 50, 75 or 100.
    thresholds_fired: Mapped[int] = mapped_column(Integer, default=0)
    next_threshold_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=clock.now)
    #: A resolution clock's calibrated expected completion, made when it started
    #: (``portal.sla.forecasts``): working seconds on its calendar, and that moment.
    forecast_seconds: Mapped[int | None] = mapped_column(Integer)
    forecast_at: Mapped[datetime | None]


class ForecastGroup(Base):
    """How long similar resolved work took (``portal.sla.forecasts``): for one department, the
    case's or its tasks' resolution clocks (``scope``), on one unit, and optionally one category
    and priority, the distribution of working seconds to resolve in the recent window as
    quantiles at ``forecasts.GRID``; the quantile promised (``quantile``) and the department's
    current backlog factor. Rebuilt whole by the worker (``key`` names the group)."""

    __tablename__ = "forecast_groups"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(80), unique=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id", ondelete="CASCADE"))
    scope: Mapped[str] = mapped_column(String(8))
    unit: Mapped[str] = mapped_column(String(16))
    category_id: Mapped[int | None] = mapped_column(
        ForeignKey("service_categories.id", ondelete="CASCADE")
    )
    priority: Mapped[str | None] = mapped_column(String(10))
    examples: Mapped[int] = mapped_column(Integer)
    quantile: Mapped[float] = mapped_column(Float)
    sketch: Mapped[list[float]] = mapped_column(JsonDoc, default=list)
    backlog_factor: Mapped[float] = mapped_column(Float, default=1.0)
    computed_at: Mapped[datetime]


class ForecastCalibration(Base):
    """Of the resolution clocks given a forecast in the window, for one department, category
    and scope: how many could be judged (finished, or past their forecast) and how many
    finished within it. Rebuilt whole by the worker with the groups."""

    __tablename__ = "forecast_calibration"
    __table_args__ = (Index("ix_forecast_calibration_scope_department", "scope", "department_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id", ondelete="CASCADE"))
    category_id: Mapped[int | None] = mapped_column(
        ForeignKey("service_categories.id", ondelete="CASCADE")
    )
    scope: Mapped[str] = mapped_column(String(8))
    judged: Mapped[int] = mapped_column(Integer)
    finished_by: Mapped[int] = mapped_column(Integer)
    computed_at: Mapped[datetime]
