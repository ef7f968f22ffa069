"""Address text to a point (geocode) and a point to the nearest address (reverse). No Flask.

``geocode`` answers one of: ``found`` (one address point, or one intersection), ``ambiguous``
(several candidates to choose from: units of a building, a typo's likely meanings, a street
without a number) or ``not_found``. Only an exact reading is ``found``: a corrected typo is
offered as a candidate, never taken silently.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.places.models import AddressPoint
from portal.places.normalise import MAX_QUERY_LENGTH, parse_query, unit_key
from portal.places.search import (
    Suggestion,
    distance_m,
    intersections,
    points_at_number,
    suggest,
)

FOUND = "found"
AMBIGUOUS = "ambiguous"
NOT_FOUND = "not_found"

#: Reverse geocoding looks this far (metres) for the nearest address point.
REVERSE_RADIUS_M = 150.0
#: At most this many points are read from one bounding box (a dense block of flats).
_BOX_CAP = 2000


@dataclass(frozen=True)
class Geocoded:
    status: str
    match: Suggestion | None = None
    candidates: list[Suggestion] = field(default_factory=list)

    @property
    def found(self) -> bool:
        return self.status == FOUND


def _suggestion(point: AddressPoint) -> Suggestion:
    return Suggestion("address", point.label, point.lat, point.lon, point.id, point.area_id)


def geocode(session: Session, address_text: str, *, limit: int = 8) -> Geocoded:
    """The one address point ``address_text`` names, or the candidates, or nothing."""
    parsed = parse_query((address_text or "")[:MAX_QUERY_LENGTH])
    if parsed.kind == "empty":
        return Geocoded(NOT_FOUND)
    if parsed.kind == "intersection":
        found = intersections(session, parsed.street, parsed.cross, limit)
        if len(found) == 1:
            return Geocoded(FOUND, found[0], found)
        return Geocoded(AMBIGUOUS if found else NOT_FOUND, None, found)
    if parsed.kind == "address" and parsed.street:
        points = points_at_number(session, parsed.street, parsed.number, 50)
        if parsed.unit:
            units = [p for p in points if unit_key(p.unit) == parsed.unit]
            if len(units) == 1:
                return Geocoded(FOUND, _suggestion(units[0]), [_suggestion(units[0])])
            if units:
                return Geocoded(AMBIGUOUS, None, [_suggestion(p) for p in units[:limit]])
        # A unit the register does not hold is at its building's point.
        building = [p for p in points if not p.unit]
        one = points[0] if len(points) == 1 else (building[0] if len(building) == 1 else None)
        if one is not None:
            return Geocoded(FOUND, _suggestion(one), [_suggestion(one)])
        if points:
            return Geocoded(AMBIGUOUS, None, [_suggestion(p) for p in points[:limit]])
    candidates = suggest(session, address_text, limit=limit)
    return Geocoded(AMBIGUOUS if candidates else NOT_FOUND, None, candidates)


@dataclass(frozen=True)
class Nearest:
    point: AddressPoint
    distance_m: float

    def as_json(self) -> dict[str, object]:
        point = self.point
        return {
            "id": point.id,
            "label": point.label,
            "address": f"{point.number} {point.street}",
            "lat": point.lat,
            "lon": point.lon,
            "distance_m": round(self.distance_m, 1),
        }


def reverse(
    session: Session, lat: float, lon: float, *, radius_m: float = REVERSE_RADIUS_M
) -> Nearest | None:
    """The active address point nearest (lat, lon) within ``radius_m``, or None.

    A small box first (a fifth of the radius), the whole radius only when it is empty: both
    are range scans of the (lat, lon) index."""
    for box in (radius_m / 5, radius_m):
        dlat = box / 111_320
        dlon = box / (111_320 * max(0.01, abs(math.cos(math.radians(lat)))))
        points = session.scalars(
            select(AddressPoint)
            .where(
                AddressPoint.lat.between(lat - dlat, lat + dlat),
                AddressPoint.lon.between(lon - dlon, lon + dlon),
                AddressPoint.active.is_(True),
            )
            .limit(_BOX_CAP)
        ).all()
        if points:
            scored = sorted(
                ((distance_m(lat, lon, p.lat, p.lon), p.unit != "", p.id, p) for p in points),
                key=lambda item: item[:3],
            )
            best_distance, _unit, _id, best = scored[0]
            if best_distance <= radius_m:
                return Nearest(best, best_distance)
    return None
