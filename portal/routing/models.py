"""Ordered routing rules: the first active rule that matches a new request picks its department.

Empty conditions match anything; a rule with several conditions needs all of them.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.areas.models import Area
from portal.catalogue.models import Department, ServiceCategory
from portal.core import clock
from portal.core.db import Base


class RoutingRule(Base):
    __tablename__ = "routing_rules"
    __table_args__ = (Index("ix_routing_rules_active_position", "active", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    name: Mapped[str] = mapped_column(String(120))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    category_id: Mapped[int | None] = mapped_column(ForeignKey("service_categories.id"))
    area_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"))
    channel: Mapped[str | None] = mapped_column(String(16))
    #: Comma-separated words or phrases; any one of them in the description matches.
    keywords: Mapped[str] = mapped_column(String(400), default="")
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(default=clock.now)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}

    category: Mapped[ServiceCategory | None] = relationship()
    area: Mapped[Area | None] = relationship()
    department: Mapped[Department] = relationship()
