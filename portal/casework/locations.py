"""Staff place a case whose address was not found (no Flask).

A request whose typed address names no address point keeps the text (``location_status``
"not_found", no lat/lon). Staff place it, by the address as the register writes it (a chosen
suggestion's point, or the typed text geocoded on the server: an exact match is used, several
are offered as a choice) or by coordinates inside the city. Placing sets lat/lon, the area, the
address point (by address) and ``location_status`` "placed", and appends an internal timeline
entry (``data["action"] == "location"``), which the audit trail lists with the actor.

Placing does not re-route: the case stays with its department (the area may now say another
department would have had it; staff transfer or re-categorise when it matters).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from portal.areas.geo import locate
from portal.auth.models import User
from portal.casework.service import _internal, check_version
from portal.core.config import Settings
from portal.places.geocode import geocode
from portal.places.models import AddressPoint
from portal.places.search import Suggestion
from portal.requests.models import Event, ServiceRequest
from portal.requests.service import ADDRESS_MAX

PLACED = "placed"
#: Largest candidate index accepted from a form (the geocoder offers at most a few).
_MAX_CHOICE = 50


class PlaceError(ValueError):
    """Placing failed. ``field`` ("address" or "lat") is where the message goes; ``code``:
    required, too_long, not_found, unknown_point, invalid, incomplete, outside_city."""

    def __init__(self, field: str, code: str) -> None:
        super().__init__(f"{field}: {code}")
        self.field = field
        self.code = code


@dataclass(frozen=True)
class Placement:
    """The outcome: ``event`` when placed, else ``candidates`` to choose from."""

    event: Event | None = None
    candidates: list[Suggestion] = field(default_factory=list)


def needs_placing(request: ServiceRequest) -> bool:
    """Whether staff should be offered to place the case."""
    return request.location_status == "not_found" or request.lat is None or request.lon is None


def _coordinate(raw: str | None, limit: float) -> float | None:
    text = (raw or "").strip()
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        raise PlaceError("lat", "invalid") from None
    if not math.isfinite(value) or abs(value) > limit:
        raise PlaceError("lat", "invalid")
    return value


def place_case(
    session: Session,
    *,
    settings: Settings,
    request: ServiceRequest,
    actor: User,
    now: datetime,
    address: str = "",
    point_id: int | None = None,
    choice: str = "",
    lat: str = "",
    lon: str = "",
    version: int | None,
    since_event_id: int | None = None,
) -> Placement:
    """Place ``request`` at an address point (``point_id``, or ``address`` geocoded, with
    ``choice`` the index of one of the candidates offered before) or at coordinates (``lat``,
    ``lon`` as typed). Raises ``PlaceError``, ``StaleCase``."""
    check_version(session, request=request, version=version, since_event_id=since_event_id)
    address = (address or "").strip()
    if len(address) > ADDRESS_MAX:
        raise PlaceError("address", "too_long")
    if point_id is not None:
        point = session.get(AddressPoint, point_id)
        if point is None or not point.active:
            raise PlaceError("address", "unknown_point")
        return Placement(_at_point(session, request, actor, now, point, typed=address))
    y, x = _coordinate(lat, 90), _coordinate(lon, 180)
    if y is not None or x is not None:
        return Placement(_at_coordinates(session, request, actor, now, y, x))
    if not address:
        raise PlaceError("address", "required")
    return _by_address(session, request, actor, now, address, choice)


def _at_coordinates(
    session: Session,
    request: ServiceRequest,
    actor: User,
    now: datetime,
    y: float | None,
    x: float | None,
) -> Event:
    if y is None or x is None:
        raise PlaceError("lat", "incomplete")
    area = locate(session, y, x)
    if area is None:
        raise PlaceError("lat", "outside_city")
    before = _before(request)
    request.lat, request.lon, request.area_id = y, x, area.id
    request.address_point_id = None
    request.location_status = PLACED
    request.updated_at = now
    return _internal(
        session,
        request,
        actor=actor,
        action="location",
        lat=y,
        lon=x,
        area=area.name,
        previous=before,
    )


def _by_address(
    session: Session,
    request: ServiceRequest,
    actor: User,
    now: datetime,
    address: str,
    choice: str,
) -> Placement:
    answer = geocode(session, address)
    picked: Suggestion | None = answer.match if answer.found else None
    if (
        picked is None
        and choice.isdigit()
        and int(choice) < min(len(answer.candidates), _MAX_CHOICE)
    ):
        picked = answer.candidates[int(choice)]
    if picked is None:
        if not answer.candidates:
            raise PlaceError("address", "not_found")
        return Placement(candidates=answer.candidates)
    if picked.id is not None:
        point = session.get(AddressPoint, picked.id)
        if point is not None and point.active:
            return Placement(_at_point(session, request, actor, now, point, typed=address))
    # An intersection (no address point): its point, and its name as the address.
    area_id = picked.area_id
    if area_id is None:
        area = locate(session, picked.lat, picked.lon)
        area_id = area.id if area else None
    before = _before(request)
    request.address = picked.label[:ADDRESS_MAX]
    request.lat, request.lon, request.area_id = picked.lat, picked.lon, area_id
    request.address_point_id = None
    request.location_status = PLACED
    request.updated_at = now
    event = _internal(
        session,
        request,
        actor=actor,
        action="location",
        address=picked.label,
        lat=picked.lat,
        lon=picked.lon,
        typed=address,
        previous=before,
    )
    return Placement(event)


def _before(request: ServiceRequest) -> dict[str, object]:
    return {
        "address": request.address,
        "lat": request.lat,
        "lon": request.lon,
        "status": request.location_status,
    }


def _at_point(
    session: Session,
    request: ServiceRequest,
    actor: User,
    now: datetime,
    point: AddressPoint,
    *,
    typed: str,
) -> Event:
    before = _before(request)
    area_id = point.area_id
    if area_id is None:
        area = locate(session, point.lat, point.lon)
        area_id = area.id if area else request.area_id
    request.address = point.label[:ADDRESS_MAX]
    request.lat, request.lon, request.area_id = point.lat, point.lon, area_id
    request.address_point_id = point.id
    request.location_status = PLACED
    request.updated_at = now
    return _internal(
        session,
        request,
        actor=actor,
        action="location",
        address=point.label,
        lat=point.lat,
        lon=point.lon,
        address_point_id=point.id,
        typed=typed,
        previous=before,
    )
