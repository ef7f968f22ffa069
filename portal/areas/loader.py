"""Read the city's areas from a GeoJSON FeatureCollection (``areas.geojson``), checking all of it.

Each feature needs ``properties.code`` and ``properties.name`` and a Polygon or MultiPolygon
geometry in lon/lat (WGS84) with closed rings; ``properties.population`` (residents, a whole
number) is optional, and ``properties.active = false`` keeps a retired area for its old
requests. Polygons must be valid (shapely) and must not overlap one another; sharing edges is
expected. ``portal.city.importer`` writes the areas, matched by ``code``.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import shapely
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry
from shapely.validation import explain_validity

CODE_RE = re.compile(r"^[a-z0-9]+(?:[_-][a-z0-9]+)*\Z")
MAX_POPULATION = 100_000_000
#: Overlaps smaller than this (in square degrees, about 1 m²) are rounding, not overlap.
OVERLAP_TOLERANCE = 1e-10


class AreaError(ValueError):
    """The areas file is not valid. ``problems`` names the area of each problem found."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        super().__init__(
            f"{source} is not a valid areas file:\n" + "\n".join(f"- {p}" for p in problems)
        )


def read_areas(path: str | Path) -> list[dict[str, Any]]:
    """Parse and check the file; return column values per area. Raises ``AreaError``."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise AreaError(str(path), [f"cannot be read: {exc.strerror or exc}"]) from exc
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise AreaError(str(path), [f"is not valid JSON: {exc}"]) from exc
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection":
        raise AreaError(str(path), ["must be a GeoJSON FeatureCollection"])
    features = data.get("features")
    if not isinstance(features, list) or not features:
        raise AreaError(str(path), ["has no features"])
    problems: list[str] = []
    areas: list[dict[str, Any]] = []
    shapes: list[tuple[str, BaseGeometry]] = []
    for index, feature in enumerate(features, start=1):
        found = _feature(feature, index, problems)
        if found is not None:
            area, geometry = found
            areas.append(area)
            shapes.append((area["code"], geometry))
    for code, count in Counter(a["code"] for a in areas).items():
        if count > 1:
            problems.append(f'area "{code}" is defined {count} times')
    problems.extend(_overlaps(shapes))
    if problems:
        raise AreaError(str(path), problems)
    return areas


def _feature(
    feature: Any, index: int, problems: list[str]
) -> tuple[dict[str, Any], BaseGeometry] | None:
    if not isinstance(feature, dict) or feature.get("type") != "Feature":
        problems.append(f"features[{index - 1}]: is not a GeoJSON Feature")
        return None
    properties = feature.get("properties") or {}
    if not isinstance(properties, dict):
        problems.append(f"features[{index - 1}]: properties must be an object")
        return None
    code = properties.get("code")
    where = (
        f'features[{index - 1}] (area "{code}")'
        if isinstance(code, str) and code
        else f"features[{index - 1}]"
    )
    before = len(problems)
    if not isinstance(code, str) or not CODE_RE.match(code) or len(code) > 40:
        problems.append(
            f"{where}: properties.code {code!r} must be 1-40 lowercase letters, digits, '-' or '_'"
        )
    name = properties.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > 120:
        problems.append(f"{where}: properties.name must be text of 1-120 characters")
    active = properties.get("active", True)
    if not isinstance(active, bool):
        problems.append(f"{where}: properties.active must be true or false")
    population = properties.get("population")
    if population is not None and (
        not isinstance(population, int)
        or isinstance(population, bool)
        or not 0 <= population <= MAX_POPULATION
    ):
        problems.append(
            f"{where}: properties.population must be a whole number of residents "
            f"from 0 to {MAX_POPULATION:,}"
        )
    geometry = feature.get("geometry")
    polygon = _geometry(where, geometry, problems)
    if polygon is None or len(problems) > before:
        return None
    # No problem was added, so the checks above passed: a name, a geometry object.
    assert isinstance(name, str) and isinstance(geometry, dict)
    min_lon, min_lat, max_lon, max_lat = polygon.bounds
    area = {
        "code": code,
        "name": name.strip(),
        "geometry": {"type": geometry["type"], "coordinates": geometry["coordinates"]},
        "min_lat": min_lat,
        "max_lat": max_lat,
        "min_lon": min_lon,
        "max_lon": max_lon,
        "population": population,
        "active": active,
    }
    return area, polygon


def _geometry(where: str, geometry: Any, problems: list[str]) -> BaseGeometry | None:
    if not isinstance(geometry, dict) or geometry.get("type") not in ("Polygon", "MultiPolygon"):
        problems.append(f"{where}: geometry must be a Polygon or MultiPolygon")
        return None
    coordinates = geometry.get("coordinates")
    polygons = [coordinates] if geometry["type"] == "Polygon" else coordinates
    if not isinstance(polygons, list) or not polygons:
        problems.append(f"{where}: geometry has no coordinates")
        return None
    for polygon in polygons:
        if not isinstance(polygon, list) or not polygon:
            problems.append(f"{where}: every polygon needs at least one ring")
            return None
        for ring in polygon:
            message = _ring_problem(ring)
            if message:
                problems.append(f"{where}: {message}")
                return None
    try:
        result = shape(geometry)
    except (ValueError, TypeError, shapely.errors.ShapelyError) as exc:
        problems.append(f"{where}: geometry cannot be read ({exc})")
        return None
    if not result.is_valid:
        problems.append(f"{where}: polygon is not valid ({explain_validity(result)})")
        return None
    return result


def _ring_problem(ring: Any) -> str | None:
    if not isinstance(ring, list) or len(ring) < 4:
        return "every ring needs at least 4 positions (a closed triangle)"
    for position in ring:
        if (
            not isinstance(position, list)
            or len(position) < 2
            or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in position[:2])
        ):
            return f"position {position!r} is not [longitude, latitude]"
        lon, lat = position[0], position[1]
        if not (-180 <= lon <= 180 and -90 <= lat <= 90):
            return f"position {position!r} is not a longitude and latitude"
    if ring[0][:2] != ring[-1][:2]:
        return f"ring is not closed: it starts at {ring[0]!r} and ends at {ring[-1]!r}"
    return None


def _overlaps(shapes: list[tuple[str, BaseGeometry]]) -> list[str]:
    """Pairs of areas whose interiors overlap (shared edges are fine)."""
    tree = shapely.STRtree([g for _, g in shapes])
    problems = []
    for i, (code, geometry) in enumerate(shapes):
        for j in tree.query(geometry):
            if j <= i:
                continue
            other_code, other = shapes[int(j)]
            if geometry.intersection(other).area > OVERLAP_TOLERANCE:
                problems.append(f'areas "{code}" and "{other_code}" overlap')
    return problems
