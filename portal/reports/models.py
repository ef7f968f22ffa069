"""Report roll-ups: the aggregates of one report for one period, kept by the worker.

A roll-up is a header row (``part`` "") that says when it was computed, plus one row per
part (a department's figures, the city's request counts...). Pages read these few rows
instead of counting a period's tasks, clocks and requests (see ``portal.reports.rollups``).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from portal.core.db import Base
from portal.core.models import BigId, JsonDoc


class ReportRollup(Base):
    __tablename__ = "report_rollups"
    __table_args__ = (UniqueConstraint("report", "period_kind", "period_start", "part"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    report: Mapped[str] = mapped_column(String(40))
    period_kind: Mapped[str] = mapped_column(String(10))
    period_start: Mapped[date]
    #: "" for the header row; otherwise the part's key (e.g. a department id).
    part: Mapped[str] = mapped_column(String(60), default="")
    computed_at: Mapped[datetime]
    payload: Mapped[Any] = mapped_column(JsonDoc, default=dict)
