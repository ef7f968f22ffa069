"""Reports around here (blueprint ``requests_around``): FixMyStreet's list and map of the
public reports near an address or a point, with status filters (open, recently fixed, all).

GET /around/?q=118 Main Street or ?lat=&lon=, &status=open|fixed|all, &before=/&after= cursors.
The list is the way through (keyboard, screen reader, no JavaScript); the map beside it draws
the same reports from GET /around/reports.geojson?bbox=...&status=... (capped, clustered).
"""

from __future__ import annotations

import math

from flask import Blueprint, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from portal.areas.geo import locate
from portal.core import clock
from portal.i18n import current_locale
from portal.places import features
from portal.places.geocode import geocode
from portal.requests import map_features
from portal.requests.labels import status_name
from portal.web import db_session, error_response, geojson_response, settings

bp = Blueprint("requests_around", __name__)

#: The longest address text read (longer is cut, like the address search does).
MAX_QUERY = 200
PER_PAGE = 20


def _coordinate(name: str, low: float, high: float) -> float | None:
    raw = request.args.get(name, "").strip()
    if not raw or len(raw) > 32:
        return None if not raw else math.nan
    try:
        value = float(raw)
    except ValueError:
        return math.nan
    return value if math.isfinite(value) and low <= value <= high else math.nan


@bp.get("/around/")
def index():
    db = db_session()
    status = map_features.status_filter(request.args.get("status"))
    query = request.args.get("q", "").strip()[:MAX_QUERY]
    lat = _coordinate("lat", -90, 90)
    lon = _coordinate("lon", -180, 180)
    errors: list[tuple[str, str]] = []
    choices: list = []
    centre: tuple[float, float] | None = None
    place = ""
    code = 200
    if lat is not None and lon is not None and not (math.isnan(lat) or math.isnan(lon)):
        if locate(db, lat, lon) is None:
            errors.append(
                (
                    "q",
                    _(
                        "That point is outside %(city)s.",
                        city=settings().city_text("name", current_locale()),
                    ),
                )
            )
            code = 400
        else:
            centre = (lat, lon)
            place = query  # a suggestion the address search chose: its label and point
    elif (lat is not None and math.isnan(lat)) or (lon is not None and math.isnan(lon)):
        errors.append(("q", _("Enter an address: the map point could not be read.")))
        code = 400
    elif query:
        # Without JavaScript the typed text is searched here, as the filing step does: one
        # address (or intersection) is the centre; a street named alone, its middle; several
        # candidates (units, a likely typo) are offered as links to choose from.
        answer = geocode(db, query)
        street = None if answer.found else features.place_for_text(db, query)
        if answer.found and answer.match is not None:
            centre = (answer.match.lat, answer.match.lon)
            place = answer.match.label
        elif street is not None:
            centre = (street.lat, street.lon)
            place = street.label
        elif answer.candidates:
            choices = answer.candidates
        else:
            errors.append(("q", _("We could not find that address. Try a street name and number.")))
            code = 400
    now = clock.now()
    before, after = request.args.get("before"), request.args.get("after")
    if centre is not None:
        page, items = map_features.reports_around(
            db,
            centre[0],
            centre[1],
            status=status,
            now=now,
            before=before,
            after=after,
            per_page=PER_PAGE,
        )
    else:
        page, items = map_features.reports_citywide(
            db, status=status, now=now, before=before, after=after, per_page=PER_PAGE
        )
    from_point = centre is not None and lat is not None
    keep = {
        k: v
        for k, v in {
            "q": query,
            "lat": f"{centre[0]:.6f}" if centre is not None and from_point else "",
            "lon": f"{centre[1]:.6f}" if centre is not None and from_point else "",
            "status": status,
        }.items()
        if v
    }
    return render_template(
        "requests/around/index.html",
        status=status,
        filters=[
            ("open", _("Open")),
            ("fixed", _("Recently fixed")),
            ("all", _("All")),
        ],
        query=query,
        place=place,
        centre=centre,
        items=items,
        page=page,
        keep=keep,
        errors=errors,
        choices=[
            (
                choice.label,
                url_for(
                    "requests_around.index",
                    q=choice.label,
                    lat=f"{choice.lat:.6f}",
                    lon=f"{choice.lon:.6f}",
                    status=status,
                ),
            )
            for choice in choices
        ],
        locale=current_locale(),
        reports_url=url_for("requests_around.reports", status=status),
    ), code


@bp.get("/around/reports.geojson")
def reports() -> Response:
    try:
        box = features.parse_bbox(request.args.get("bbox"))
    except features.BadBox as exc:
        return error_response(str(exc))
    status = map_features.status_filter(request.args.get("status"))
    data = map_features.requests_geojson(
        db_session(),
        (box.min_lon, box.min_lat, box.max_lon, box.max_lat),
        status=status,
        now=clock.now(),
        locale=current_locale(),
    )
    for feature in data["features"]:
        properties = feature["properties"]
        if "reference" in properties:
            properties["status_label"] = _(status_name(properties["status"]))
            properties["url"] = url_for("requests_tracking.show", reference=properties["reference"])
    # Statuses change and labels follow the resident's language: kept briefly, by this browser.
    return geojson_response(data, private=True, max_age=60)
