"""The city's own map layers as GeoJSON (blueprint ``places_map``), and what every map needs
to draw itself (the template globals ``map_config`` and ``map_layers`` used by
templates/places/_map.html).

GET /places/map/areas.geojson?bbox=minLon,minLat,maxLon,maxLat, streets.geojson and
assets.geojson (``&layer=code``): capped answers with ``truncated``; a malformed bbox is a 400
with a JSON error. The answers are public and cacheable (ETag and a short max-age).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, request, url_for
from werkzeug.routing import BuildError
from werkzeug.wrappers import Response

from portal.places import features
from portal.web import db_session, error_response, geojson_response, settings

bp = Blueprint("places_map", __name__, url_prefix="/places/map")

#: The longest layer code accepted in ``?layer=``.
MAX_LAYER_CODE = 40


def _box() -> features.BBox:
    return features.parse_bbox(request.args.get("bbox"))


@bp.get("/areas.geojson")
def areas() -> Response:
    try:
        box = _box()
    except features.BadBox as exc:
        return error_response(str(exc))
    return geojson_response(features.areas_in(db_session(), box))


@bp.get("/streets.geojson")
def streets() -> Response:
    try:
        box = _box()
    except features.BadBox as exc:
        return error_response(str(exc))
    return geojson_response(features.streets_in(db_session(), box))


@bp.get("/assets.geojson")
def assets() -> Response:
    try:
        box = _box()
    except features.BadBox as exc:
        return error_response(str(exc))
    layer = request.args.get("layer", "").strip()
    if len(layer) > MAX_LAYER_CODE:
        return error_response("layer is too long")
    return geojson_response(features.assets_in(db_session(), box, layer or None))


LAYER_ENDPOINTS = {
    "areas": "places_map.areas",
    "streets": "places_map.streets",
    "assets": "places_map.assets",
}


@bp.app_template_global("map_layers")
def map_layers(
    layers: tuple[str, ...] | list[str],
    requests: str | None = None,
    cluster: bool = False,
    asset_layer: str | None = None,
    asset_input: str | None = None,
) -> list[dict[str, Any]]:
    """The layer list a map's configuration holds: the city's own layers, then requests.
    ``asset_layer`` keeps the assets layer to one layer (by code); ``asset_input`` is the id
    of the form input a tap on an asset writes the asset's id into."""
    specs: list[dict[str, Any]] = []
    for kind in layers:
        if kind == "assets" and asset_layer:
            spec: dict[str, Any] = {
                "kind": kind,
                "url": url_for(LAYER_ENDPOINTS[kind], layer=asset_layer),
            }
            if asset_input:
                spec["pick"] = asset_input
            specs.append(spec)
        else:
            specs.append({"kind": kind, "url": url_for(LAYER_ENDPOINTS[kind])})
    if requests:
        specs.append({"kind": "requests", "url": requests, "cluster": bool(cluster)})
    return specs


@bp.app_template_global("map_config")
def map_config(bounds: bool = True) -> dict[str, Any]:
    """The basemap, the reverse-geocoding URL (when it exists) and, when ``bounds`` (a map
    with no centre of its own), the city's extent."""
    current = settings()
    try:
        reverse = url_for("places_search.reverse")
    except BuildError:
        reverse = None
    extent = features.city_bounds(db_session()) if bounds else None
    return {
        "tiles": current.map_tiles_url,
        "attribution": current.map_attribution,
        "bounds": list(extent) if extent else None,
        "reverse_url": reverse,
    }
