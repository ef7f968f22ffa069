"""Public requests on a map and in the "reports around here" list.

Only what the public pages show: public requests (``is_public``; a private one is never on a
map, as its page is a 404 to everyone but its reporter), with a reference, a point, and not a
duplicate of another (the original stands for both). Coordinates are rounded as in the open
data (``COORDINATE_DECIMALS``).

A bounding box holding more than ``MAX_POINTS`` of them is answered with clusters: counts on
a grid over the box, so a city-wide view is a few dozen features however many requests match.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Integer, cast, func, select
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.sql.elements import ColumnElement

from portal.areas.geo import bounding_box, distance_m
from portal.requests.models import CLOSED_STATUSES, ServiceRequest
from portal.requests.queries import Page, keyset_page

#: The filters residents choose from: open, recently fixed, all.
STATUS_FILTERS = ("open", "fixed", "all")
#: "Recently fixed": resolved or closed within this many days.
RECENTLY_FIXED_DAYS = 30
#: Most single markers one answer holds; above it the answer is clustered.
MAX_POINTS = 500
#: Clusters: the box is cut into GRID x GRID cells.
GRID = 16
#: Public coordinates are rounded like the open data's (about 11 m).
COORDINATE_DECIMALS = 4
#: "Around here": the list covers a square this many metres from the centre each way.
AROUND_RADIUS_M = 1000

SR = ServiceRequest


def status_filter(value: str | None) -> str:
    """A known filter, or "open" for anything else."""
    return value if value in STATUS_FILTERS else "open"


def _visible(status: str, now: datetime) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [
        SR.is_public.is_(True),
        SR.reference.is_not(None),
        SR.lat.is_not(None),
        SR.lon.is_not(None),
        SR.duplicate_of_id.is_(None),
        SR.status != "duplicate",
    ]
    if status == "open":
        conditions.append(SR.is_open.is_(True))
    elif status == "fixed":
        conditions += [
            SR.status.in_([s for s in CLOSED_STATUSES if s in ("resolved", "closed")]),
            SR.resolved_at >= now - timedelta(days=RECENTLY_FIXED_DAYS),
        ]
    return conditions


def _in_box(
    min_lon: float, min_lat: float, max_lon: float, max_lat: float
) -> list[ColumnElement[bool]]:
    return [SR.lat >= min_lat, SR.lat <= max_lat, SR.lon >= min_lon, SR.lon <= max_lon]


def _round(value: float) -> float:
    return round(value, COORDINATE_DECIMALS)


def _point(sr: ServiceRequest, locale: str | None) -> dict[str, Any]:
    return {
        "type": "Feature",
        "id": sr.reference,
        "geometry": {"type": "Point", "coordinates": [_round(sr.lon), _round(sr.lat)]},  # type: ignore[arg-type]
        "properties": {
            "reference": sr.reference,
            "title": sr.category.t("name", locale),
            "status": sr.status,
            "open": sr.is_open,
            "created": sr.created_at.isoformat(),
        },
    }


def requests_geojson(
    session: Session,
    box: tuple[float, float, float, float],
    *,
    status: str,
    now: datetime,
    locale: str | None = None,
    extra: list[ColumnElement[bool]] | None = None,
    public_only: bool = True,
) -> dict[str, Any]:
    """Requests in ``box`` (minLon, minLat, maxLon, maxLat) as a GeoJSON FeatureCollection:
    each one when at most ``MAX_POINTS`` match, else grid clusters (``clustered: true``).
    ``extra`` narrows further (the staff queue's filter); ``public_only=False`` is for staff."""
    conditions = (
        _visible(status, now) if public_only else [SR.lat.is_not(None), SR.lon.is_not(None)]
    )
    conditions += _in_box(*box) + list(extra or [])
    matching = session.scalar(
        select(func.count()).select_from(
            select(SR.id).where(*conditions).limit(MAX_POINTS + 1).subquery()
        )
    )
    if (matching or 0) <= MAX_POINTS:
        rows = session.scalars(
            select(SR)
            .where(*conditions)
            .options(selectinload(SR.category))
            .order_by(SR.created_at.desc(), SR.id.desc())
        ).all()
        features = [_point(sr, locale) for sr in rows]
        return {
            "type": "FeatureCollection",
            "features": features,
            "truncated": False,
            "clustered": False,
        }
    return {
        "type": "FeatureCollection",
        "features": _clusters(session, box, conditions),
        "truncated": False,
        "clustered": True,
    }


def _clusters(
    session: Session,
    box: tuple[float, float, float, float],
    conditions: list[ColumnElement[bool]],
) -> list[dict[str, Any]]:
    min_lon, min_lat, max_lon, max_lat = box
    cell_lon = max((max_lon - min_lon) / GRID, 1e-6)
    cell_lat = max((max_lat - min_lat) / GRID, 1e-6)
    col = cast((SR.lon - min_lon) / cell_lon, Integer).label("col")
    row = cast((SR.lat - min_lat) / cell_lat, Integer).label("row")
    found = session.execute(
        select(col, row, func.count().label("n"), func.avg(SR.lat), func.avg(SR.lon))
        .where(*conditions)
        .group_by(col, row)
    ).all()
    return [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [_round(lon), _round(lat)]},
            "properties": {"cluster": True, "count": n},
        }
        for _c, _r, n, lat, lon in found
    ]


@dataclass(frozen=True)
class Around:
    """One report in the "around here" list, with how far it is from the centre."""

    request: ServiceRequest
    distance_m: float


def reports_around(
    session: Session,
    lat: float,
    lon: float,
    *,
    status: str,
    now: datetime,
    before: str | None = None,
    after: str | None = None,
    per_page: int = 20,
) -> tuple[Page, list[Around]]:
    """Public reports within ``AROUND_RADIUS_M`` (a square) of the point, newest first, a page
    at a time (keyset on created_at, id), each with its distance."""
    min_lat, max_lat, min_lon, max_lon = bounding_box(lat, lon, AROUND_RADIUS_M)
    query = (
        select(SR)
        .where(*_visible(status, now), *_in_box(min_lon, min_lat, max_lon, max_lat))
        .options(selectinload(SR.category))
    )
    page = keyset_page(
        session,
        query,
        created=SR.created_at,
        ident=SR.id,
        before=before,
        after=after,
        per_page=per_page,
    )
    items = [Around(sr, distance_m(lat, lon, sr.lat, sr.lon)) for sr in page.items]
    return page, items


def reports_citywide(
    session: Session,
    *,
    status: str,
    now: datetime,
    before: str | None = None,
    after: str | None = None,
    per_page: int = 20,
) -> tuple[Page, list[Around]]:
    """The city's public reports newest first, a page at a time (no centre, no distance)."""
    query = select(SR).where(*_visible(status, now)).options(selectinload(SR.category))
    page = keyset_page(
        session,
        query,
        created=SR.created_at,
        ident=SR.id,
        before=before,
        after=after,
        per_page=per_page,
    )
    return page, [Around(sr, math.nan) for sr in page.items]


def around_box(lat: float, lon: float) -> tuple[float, float, float, float]:
    """(minLon, minLat, maxLon, maxLat) of the "around here" square."""
    min_lat, max_lat, min_lon, max_lon = bounding_box(lat, lon, AROUND_RADIUS_M)
    return (min_lon, min_lat, max_lon, max_lat)
