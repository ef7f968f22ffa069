"""Place a point in one of the city's areas (point-in-polygon), and draw the areas as SVG.

Polygons are cached per process, keyed by area id and the row's ``created_at`` so an edited
area is picked up; candidates come from the bounding-box columns so the query stays small.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
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


@dataclass(frozen=True)
class MapArea:
    code: str
    name: str
    path: str
    label_x: float
    label_y: float


@dataclass(frozen=True)
class CityMap:
    """The areas as SVG paths: x = lon * cos(mid latitude), y = -lat (true shape locally)."""

    view_box: str
    areas: list[MapArea]
    lon_scale: float
    label_size: float


def city_map(areas: list[Area]) -> CityMap | None:
    if not areas:
        return None
    min_lon = min(a.min_lon for a in areas)
    max_lon = max(a.max_lon for a in areas)
    min_lat = min(a.min_lat for a in areas)
    max_lat = max(a.max_lat for a in areas)
    k = math.cos(math.radians((min_lat + max_lat) / 2))
    pad_x = (max_lon - min_lon) * k * 0.02
    pad_y = (max_lat - min_lat) * 0.02
    view_box = (
        f"{min_lon * k - pad_x:.6f} {-(max_lat + pad_y):.6f} "
        f"{(max_lon - min_lon) * k + 2 * pad_x:.6f} {max_lat - min_lat + 2 * pad_y:.6f}"
    )
    drawn = []
    for area in areas:
        centre = shape(area.geometry).representative_point()
        drawn.append(
            MapArea(area.code, area.name, _svg_path(area.geometry, k), centre.x * k, -centre.y)
        )
    return CityMap(view_box, drawn, k, (max_lat - min_lat) * 0.035)


def _svg_path(geometry: dict[str, Any], k: float) -> str:
    polygons = geometry["coordinates"]
    if geometry["type"] == "Polygon":
        polygons = [polygons]
    parts = []
    for polygon in polygons:
        for ring in polygon:
            points = " L".join(f"{lon * k:.6f},{-lat:.6f}" for lon, lat in ring)
            parts.append(f"M{points} Z")
    return " ".join(parts)


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
