"""The city's own map layers as GeoJSON: areas, streets and assets within a bounding box.

A map asks for what its view shows (``?bbox=minLon,minLat,maxLon,maxLat``); the answer is
capped (``truncated: true`` when rows were left out) and, for a view wider than a neighbourhood,
the lines are simplified, so a huge box costs the server no more than a small one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from shapely.geometry import mapping, shape
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.areas.geo import label_point
from portal.areas.models import Area
from portal.places.models import AddressPoint, Asset, AssetLayer, Street

#: Most features one answer holds, per layer.
MAX_STREETS = 1500
MAX_ASSETS = 1000
MAX_AREAS = 200
#: The longest bbox text accepted (four numbers with their signs and decimals).
MAX_BBOX_TEXT = 120
#: Above this span (degrees, the larger side) lines are simplified.
DETAIL_SPAN = 0.02


class BadBox(ValueError):
    """A bounding box that cannot be read; the message says why (shown to API clients)."""


@dataclass(frozen=True)
class BBox:
    min_lon: float
    min_lat: float
    max_lon: float
    max_lat: float

    @property
    def span(self) -> float:
        return max(self.max_lon - self.min_lon, self.max_lat - self.min_lat)

    def tolerance(self) -> float:
        """Simplification tolerance in degrees: none close up, ~1/1000 of the view beyond."""
        return 0.0 if self.span <= DETAIL_SPAN else self.span / 1000

    def key(self) -> str:
        return f"{self.min_lon:.5f},{self.min_lat:.5f},{self.max_lon:.5f},{self.max_lat:.5f}"


def parse_bbox(text: str | None) -> BBox:
    """``minLon,minLat,maxLon,maxLat`` in WGS84 degrees; raises BadBox with a clear reason."""
    if not text or not text.strip():
        raise BadBox("bbox is required: minLon,minLat,maxLon,maxLat")
    if len(text) > MAX_BBOX_TEXT:
        raise BadBox("bbox is too long: four numbers, minLon,minLat,maxLon,maxLat")
    parts = text.split(",")
    if len(parts) != 4:
        raise BadBox("bbox must be four numbers: minLon,minLat,maxLon,maxLat")
    try:
        min_lon, min_lat, max_lon, max_lat = (float(p) for p in parts)
    except ValueError as exc:
        raise BadBox("bbox must be four numbers: minLon,minLat,maxLon,maxLat") from exc
    values = (min_lon, min_lat, max_lon, max_lat)
    if not all(math.isfinite(v) for v in values):
        raise BadBox("bbox must be four finite numbers")
    if not (-180 <= min_lon <= 180 and -180 <= max_lon <= 180):
        raise BadBox("bbox longitudes must be between -180 and 180")
    if not (-90 <= min_lat <= 90 and -90 <= max_lat <= 90):
        raise BadBox("bbox latitudes must be between -90 and 90")
    if min_lon > max_lon or min_lat > max_lat:
        raise BadBox("bbox must be minLon,minLat,maxLon,maxLat with min <= max")
    return BBox(min_lon, min_lat, max_lon, max_lat)


def collection(features: list[dict[str, Any]], *, truncated: bool) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": features, "truncated": truncated}


def _geometry(geometry: dict[str, Any], tolerance: float) -> dict[str, Any]:
    if not tolerance:
        return geometry
    simplified = shape(geometry).simplify(tolerance, preserve_topology=True)
    if simplified.is_empty:
        return geometry
    return dict(mapping(simplified))


def areas_in(session: Session, box: BBox) -> dict[str, Any]:
    """The active areas whose extent meets the box, outlines simplified for a wide view, each
    with the point where a map writes its name (see ``_label``)."""
    rows = session.scalars(
        select(Area)
        .where(
            Area.active.is_(True),
            Area.min_lon <= box.max_lon,
            Area.max_lon >= box.min_lon,
            Area.min_lat <= box.max_lat,
            Area.max_lat >= box.min_lat,
        )
        .order_by(Area.id)
        .limit(MAX_AREAS + 1)
    ).all()
    features = []
    for area in rows[:MAX_AREAS]:
        geometry = _geometry(area.geometry, box.tolerance())
        features.append(
            {
                "type": "Feature",
                "id": area.code,
                "geometry": geometry,
                "properties": {"code": area.code, "name": area.name, **_label(geometry, box)},
            }
        )
    return collection(features, truncated=len(rows) > MAX_AREAS)


def _label(geometry: dict[str, Any], box: BBox) -> dict[str, Any]:
    """Where a map writes the area's name: ``label_point`` [lon, lat] inside the area's part
    in the box (null when the area does not reach into it) and ``label_room_m``, the radius in
    metres of the largest circle there (a map that must drop names keeps the roomiest)."""
    point = label_point(geometry, within=(box.min_lon, box.min_lat, box.max_lon, box.max_lat))
    if point is None:
        return {"label_point": None, "label_room_m": 0}
    return {
        "label_point": [round(point.lon, 6), round(point.lat, 6)],
        "label_room_m": round(point.room_m),
    }


def streets_in(session: Session, box: BBox) -> dict[str, Any]:
    """The active streets whose extent meets the box (the longest first when capped)."""
    rows = session.execute(
        select(Street.id, Street.name, Street.geometry)
        .where(
            Street.active.is_(True),
            Street.min_lat <= box.max_lat,
            Street.max_lat >= box.min_lat,
            Street.min_lon <= box.max_lon,
            Street.max_lon >= box.min_lon,
        )
        .order_by(
            ((Street.max_lat - Street.min_lat) + (Street.max_lon - Street.min_lon)).desc(),
            Street.id,
        )
        .limit(MAX_STREETS + 1)
    ).all()
    tolerance = box.tolerance()
    features = [
        {
            "type": "Feature",
            "id": row.id,
            "geometry": _geometry(row.geometry, tolerance),
            "properties": {"name": row.name},
        }
        for row in rows[:MAX_STREETS]
    ]
    return collection(features, truncated=len(rows) > MAX_STREETS)


def assets_in(session: Session, box: BBox, layer: str | None = None) -> dict[str, Any]:
    """Active assets in the box, of one layer (by code) or all active layers."""
    query = (
        select(Asset.id, Asset.source_id, Asset.label, Asset.category, Asset.lat, Asset.lon)
        .add_columns(AssetLayer.code)
        .join(AssetLayer, AssetLayer.id == Asset.layer_id)
        .where(
            Asset.active.is_(True),
            AssetLayer.active.is_(True),
            Asset.lat >= box.min_lat,
            Asset.lat <= box.max_lat,
            Asset.lon >= box.min_lon,
            Asset.lon <= box.max_lon,
        )
        .order_by(Asset.id)
        .limit(MAX_ASSETS + 1)
    )
    if layer:
        query = query.where(AssetLayer.code == layer)
    rows = session.execute(query).all()
    features = [
        {
            "type": "Feature",
            "id": row.id,
            "geometry": {"type": "Point", "coordinates": [row.lon, row.lat]},
            "properties": {
                "layer": row.code,
                "id": row.source_id,
                "label": row.label,
                "category": row.category,
            },
        }
        for row in rows[:MAX_ASSETS]
    ]
    return collection(features, truncated=len(rows) > MAX_ASSETS)


def city_bounds(session: Session) -> tuple[float, float, float, float] | None:
    """(minLon, minLat, maxLon, maxLat) of the active areas, or None without any."""
    from sqlalchemy import func

    row = session.execute(
        select(
            func.min(Area.min_lon),
            func.min(Area.min_lat),
            func.max(Area.max_lon),
            func.max(Area.max_lat),
        ).where(Area.active.is_(True))
    ).one()
    if row[0] is None:
        return None
    return (row[0], row[1], row[2], row[3])


@dataclass(frozen=True)
class Place:
    lat: float
    lon: float
    label: str


#: Most address points of one street read to find a number on it.
MAX_STREET_POINTS = 5000


def place_for_text(session: Session, text: str) -> Place | None:
    """Where a typed address is, for centring a map: the address point with that number on
    that street, else the street's middle; None when nothing matches. (An exact match on the
    normalised keys; the address search, portal.places.search, is the forgiving one.)"""
    from portal.places.normalise import number_key, parse_query

    parsed = parse_query(text)
    if not parsed.street:
        return None
    if parsed.number:
        wanted = number_key(parsed.number)
        rows = session.execute(
            select(AddressPoint.number, AddressPoint.lat, AddressPoint.lon, AddressPoint.label)
            .where(AddressPoint.street_key == parsed.street, AddressPoint.active.is_(True))
            .order_by(AddressPoint.id)
            .limit(MAX_STREET_POINTS)
        ).all()
        for row in rows:
            if number_key(row.number) == wanted:
                return Place(row.lat, row.lon, row.label)
    street = session.execute(
        select(Street.name, Street.min_lat, Street.max_lat, Street.min_lon, Street.max_lon)
        .where(Street.key == parsed.street, Street.active.is_(True))
        .order_by(Street.id)
        .limit(1)
    ).first()
    if street is None:
        return None
    return Place(
        (street.min_lat + street.max_lat) / 2, (street.min_lon + street.max_lon) / 2, street.name
    )
