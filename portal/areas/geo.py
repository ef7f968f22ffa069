"""Place a point in one of the city's areas (point-in-polygon), one at a time or a batch at once;
and where on a map to write an area's name (``label_point``).

Polygons are cached per process, keyed by area id and the row's ``created_at`` so an edited
area is picked up; candidates come from the bounding-box columns so the query stays small.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import shapely
from shapely.errors import ShapelyError
from shapely.geometry import MultiPolygon, Point, Polygon, shape
from shapely.ops import nearest_points
from shapely.prepared import PreparedGeometry, prep
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.areas.models import Area

EARTH_RADIUS_M = 6_371_008.8
#: Metres in a degree of latitude (and of longitude at the equator).
METRES_PER_DEGREE = math.pi * EARTH_RADIUS_M / 180
#: A name goes where the room (the largest circle around it inside the area) is at least this
#: share of the largest there is, as near the area's middle as that allows.
ROOMY = 0.8


@lru_cache(maxsize=512)
def _prepared(area_id: int, fingerprint: str, geometry_json: str) -> PreparedGeometry:
    import json

    return prep(shape(json.loads(geometry_json)))


def _shape_of(area: Area) -> PreparedGeometry:
    import json

    text = json.dumps(area.geometry, sort_keys=True)
    return _prepared(area.id, str(hash(text)), text)


def locate(session: Session, lat: float, lon: float) -> Area | None:
    """The area containing (lat, lon), or ``None`` when the point is outside the city."""
    if not (math.isfinite(lat) and math.isfinite(lon)) or abs(lat) > 90 or abs(lon) > 180:
        return None
    candidates = session.scalars(
        select(Area).where(
            Area.active.is_(True),
            Area.min_lat <= lat,
            Area.max_lat >= lat,
            Area.min_lon <= lon,
            Area.max_lon >= lon,
        )
    ).all()
    point = Point(lon, lat)
    for area in candidates:
        if _shape_of(area).covers(point):
            return area
    return None


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(a))


def bounding_box(lat: float, lon: float, radius_m: float) -> tuple[float, float, float, float]:
    """(min_lat, max_lat, min_lon, max_lon) enclosing a circle of ``radius_m``."""
    dlat = math.degrees(radius_m / EARTH_RADIUS_M)
    dlon = math.degrees(radius_m / (EARTH_RADIUS_M * max(math.cos(math.radians(lat)), 1e-6)))
    return lat - dlat, lat + dlat, lon - dlon, lon + dlon


class AreaIndex:
    """Many points placed at once (an import of a million addresses): the areas' polygons in a
    shapely STRtree, built once, queried a batch of points at a time. ``keys[i]`` names the
    area of ``geometries[i]`` (an id or a code)."""

    def __init__(self, areas: list[tuple[Any, dict[str, Any]]]) -> None:
        self.keys = [key for key, _ in areas]
        self.tree = shapely.STRtree([shape(geometry) for _, geometry in areas])

    def locate_many(self, lats: list[float], lons: list[float]) -> list[Any]:
        """The key of the area covering each point (an edge counts), or ``None`` outside."""
        found: list[Any] = [None] * len(lats)
        if not lats or not self.keys:
            return found
        points = shapely.points(lons, lats)
        inputs, hits = self.tree.query(points, predicate="covered_by")
        for i, hit in zip(inputs.tolist(), hits.tolist(), strict=True):
            if found[i] is None:
                found[i] = self.keys[hit]
        return found


@dataclass(frozen=True)
class LabelPoint:
    """Where to write an area's name: a point inside it, and the room around that point (the
    radius in metres of the largest circle inside the area, or inside its part in view)."""

    lon: float
    lat: float
    room_m: float


def _polygonal(geometry: Any) -> Polygon | MultiPolygon | None:
    """The polygons of a geometry (an intersection may add lines and points), or None."""
    if isinstance(geometry, Polygon | MultiPolygon):
        return None if geometry.is_empty else geometry
    parts = [g for g in shapely.get_parts(geometry) if isinstance(g, Polygon) and not g.is_empty]
    return MultiPolygon(parts) if parts else None


def label_point(
    geometry: dict[str, Any], *, within: tuple[float, float, float, float] | None = None
) -> LabelPoint | None:
    """Where to write an area's name: near its pole of inaccessibility (the centre of the
    largest circle inside it), so the name sits inside even a U- or L-shaped area whose
    centroid and bounding-box centre fall outside it; of the points nearly as roomy, the one
    nearest the area's middle (the middle of a long strip, not one end). With ``within``
    (minLon, minLat, maxLon, maxLat: a map's view) only the area's part in that box counts, so
    a map showing a corner of an area still names it, inside the view. Longitudes are scaled by
    the cosine of the latitude, so the circle is round on the ground. None when the area has
    no surface in the box or its geometry cannot be read."""
    try:
        area = shape(geometry)
        if within is not None:
            # Clipped first (cheap, and never fails on a bad ring), so only the part in view
            # is checked and, if need be, repaired.
            area = shapely.clip_by_rect(area, *within)
        if not area.is_valid:
            area = shapely.make_valid(area)
        polygons = _polygonal(area)
        if polygons is None or polygons.area <= 0:
            return None
        min_lon, min_lat, max_lon, max_lat = polygons.bounds
        k = max(math.cos(math.radians((min_lat + max_lat) / 2)), 1e-6)
        scaled = shapely.transform(polygons, lambda xy: xy * (k, 1.0))
        # To 1/100 of the shape's size: plenty for placing a name (GEOS's default is 1/1000).
        size = max(max_lon - min_lon, max_lat - min_lat)
        circle = shapely.maximum_inscribed_circle(scaled, size / 100)
        (x, y), (edge_x, edge_y) = circle.coords
        radius = math.hypot(x - edge_x, y - edge_y)
        # Many points are about as roomy (along a strip, across a wide view): of those with
        # at least ROOMY of the best room, the one nearest the middle of the shape.
        roomy = scaled.buffer(-ROOMY * radius, quad_segs=2)
        if not roomy.is_empty:
            x, y = nearest_points(roomy, scaled.centroid)[0].coords[0]
    except (ShapelyError, ValueError, TypeError, AttributeError, KeyError, IndexError):
        return None
    return LabelPoint(lon=x / k, lat=y, room_m=radius * METRES_PER_DEGREE)
