"""Place a point in one of the city's areas (point-in-polygon), one at a time or a batch at once.

Polygons are cached per process, keyed by area id and the row's ``created_at`` so an edited
area is picked up; candidates come from the bounding-box columns so the query stays small.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Any

import shapely
from shapely.geometry import Point, shape
from shapely.prepared import PreparedGeometry, prep
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.areas.models import Area

EARTH_RADIUS_M = 6_371_008.8


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
