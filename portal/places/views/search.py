"""Address suggestions and reverse geocoding for the address box and the map (blueprint
``places_search``), public and rate limited per client.

GET /places/suggest?q=118%20main  -> [{"label", "lat", "lon", "id", "kind"}, ...] (at most 8)
GET /places/reverse?lat=&lon=     -> {"found": true, "label": "118 Main Street", ...} or
                                     {"found": false} when no address point is within 150 m.
A query longer than MAX_QUERY characters, or a malformed coordinate, is a 400 with a JSON
error body.
"""

from __future__ import annotations

import json
import math
from typing import Any

from flask import Blueprint, request
from werkzeug.wrappers import Response

from portal.extensions import limiter
from portal.places import geocode, search
from portal.web import db_session

bp = Blueprint("places_search", __name__, url_prefix="/places")

#: Suggestions are asked for as a resident types (a few a second at most, debounced).
SUGGEST_LIMIT = "120 per minute"
REVERSE_LIMIT = "60 per minute"
MAX_QUERY = 200


def _json(data: Any, status: int = 200, *, max_age: int = 60) -> Response:
    response = Response(
        json.dumps(data, separators=(",", ":"), ensure_ascii=False),
        status=status,
        mimetype="application/json",
    )
    if status == 200:
        response.cache_control.public = True
        response.cache_control.max_age = max_age
    else:
        response.cache_control.no_store = True
    return response


def _error(message: str) -> Response:
    return _json({"error": message}, 400)


@bp.get("/suggest")
@limiter.limit(SUGGEST_LIMIT)
def suggest() -> Response:
    query = request.args.get("q", "")
    if len(query) > MAX_QUERY:
        return _error(f"q is longer than {MAX_QUERY} characters")
    found = search.suggest(db_session(), query)
    return _json([s.as_json() for s in found])


def _coordinate(name: str, bound: float) -> float | None:
    raw = request.args.get(name, "")
    if len(raw) > 32:
        return None
    try:
        value = float(raw)
    except ValueError:
        return None
    return value if math.isfinite(value) and -bound <= value <= bound else None


@bp.get("/reverse")
@limiter.limit(REVERSE_LIMIT)
def reverse() -> Response:
    lat, lon = _coordinate("lat", 90), _coordinate("lon", 180)
    if lat is None or lon is None:
        return _error("lat and lon must be numbers (lat between -90 and 90, lon -180 to 180)")
    nearest = geocode.reverse(db_session(), lat, lon)
    if nearest is None:
        return _json({"found": False})
    return _json({"found": True, **nearest.as_json()})
