"""What the staff maps show: a queue's requests (its current filter) and the open requests
near a case. The points come from ``portal.requests.map_features`` (capped, clustered)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.sql.elements import ColumnElement

from portal.areas.geo import bounding_box, distance_m
from portal.requests.models import ServiceRequest


def queue_requests(query: Select[Any]) -> ColumnElement[bool]:
    """The requests a queue's rows belong to (its view and filters), as a condition."""
    ids = query.with_only_columns(ServiceRequest.id, maintain_column_froms=True).order_by(None)
    return ServiceRequest.id.in_(ids)


def open_near_case(
    case: ServiceRequest, department_ids: Sequence[int] | None
) -> list[ColumnElement[bool]]:
    """Open requests other than ``case`` in the member's departments (None: all, for admins)."""
    conditions: list[ColumnElement[bool]] = [
        ServiceRequest.is_open.is_(True),
        ServiceRequest.id != case.id,
    ]
    if department_ids is not None:
        conditions.append(ServiceRequest.department_id.in_(list(department_ids)))
    return conditions


#: "Nearby" on the case page: this many metres, at most this many listed.
NEARBY_RADIUS_M = 250
NEARBY_LIMIT = 10


def nearby_open(
    session: Session, case: ServiceRequest, department_ids: Sequence[int] | None
) -> list[tuple[ServiceRequest, float]]:
    """The open requests near ``case`` (nearest first, with their distance in metres): the
    list beside the case page's map."""
    if case.lat is None or case.lon is None:
        return []
    min_lat, max_lat, min_lon, max_lon = bounding_box(case.lat, case.lon, NEARBY_RADIUS_M)
    rows = session.scalars(
        select(ServiceRequest)
        .where(
            *open_near_case(case, department_ids),
            ServiceRequest.lat.between(min_lat, max_lat),
            ServiceRequest.lon.between(min_lon, max_lon),
        )
        .options(selectinload(ServiceRequest.category))
        .order_by(ServiceRequest.created_at.desc())
        .limit(100)
    ).all()
    found = [
        (sr, distance_m(case.lat, case.lon, sr.lat, sr.lon))  # type: ignore[arg-type]
        for sr in rows
    ]
    found = [item for item in found if item[1] <= NEARBY_RADIUS_M]
    found.sort(key=lambda item: item[1])
    return found[:NEARBY_LIMIT]
