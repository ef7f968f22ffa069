"""Small lookups shared by the hotspot and sentiment reports: the city's zone, a period's
range on a column, and the display names of areas and categories."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.areas.models import Area
from portal.catalogue.models import ServiceCategory


def as_zone(tz: str | ZoneInfo) -> ZoneInfo:
    return ZoneInfo(tz) if isinstance(tz, str) else tz


def within(column: Any, start: datetime, end: datetime) -> list[Any]:
    return [column >= start, column < end]


def category_names(session: Session, ids: Sequence[int], locale: str) -> dict[int, str]:
    if not ids:
        return {}
    rows = session.scalars(select(ServiceCategory).where(ServiceCategory.id.in_(sorted(ids))))
    return {c.id: c.t("name", locale) for c in rows}


def area_names(session: Session) -> dict[int, str]:
    return dict(session.execute(select(Area.id, Area.name)).all())
