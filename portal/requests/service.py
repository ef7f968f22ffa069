"""Filing a request: the one domain entry point for the web form, staff intake and Open311.

``submit_request`` checks everything again (a draft may be stale or forged), writes the case,
its first timeline entry, its photos and the confirmation email in one transaction, and sets
the public reference ``SR-<year>-<id>``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, replace
from typing import Any

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import select, update
from sqlalchemy.orm import Session, selectinload

from portal.areas.geo import bounding_box, distance_m, locate
from portal.areas.models import Area
from portal.auth.models import User
from portal.catalogue.models import ServiceCategory
from portal.core import clock
from portal.core.config import Settings
from portal.core.mail import queue_email
from portal.places.assets import active_layer, find_asset
from portal.places.geocode import FOUND, NOT_FOUND, geocode
from portal.places.models import AddressPoint, Asset
from portal.requests import access, hooks
from portal.requests.answers import check_answers
from portal.requests.events import add_event
from portal.requests.models import CHANNELS, RequestPhoto, ServiceRequest
from portal.requests.updates import resident_thread

DESCRIPTION_MAX = 4000
ADDRESS_MAX = 300
NAME_MAX = 120
PHONE_RE = re.compile(r"^[0-9+().\- ]{7,40}$")


class FilingError(ValueError):
    """What is wrong with a filing, as ``{field: error code}``.

    Fields: category, description, answers.<code>, address, location, area, asset, email, phone,
    name, photos. Codes: required, too_long, inactive, outside_city, invalid, unknown, stopped.
    """

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(", ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


@dataclass
class Filing:
    """What a resident (or an app, or a call-taker) tells us."""

    category_code: str
    description: str = ""
    answers: dict[str, Any] = field(default_factory=dict)
    address: str = ""
    lat: float | None = None
    lon: float | None = None
    area_code: str | None = None
    #: The city's address point the resident chose from the suggestions (portal.places).
    address_point_id: int | None = None
    #: The city's id of the asset picked ("SL-1042") when the category has an asset layer.
    asset_ref: str = ""
    contact_name: str = ""
    contact_email: str = ""
    contact_phone: str = ""
    private: bool = False
    locale: str = "en"
    channel: str = "web"
    photo_ids: list[int] = field(default_factory=list)


@dataclass
class Submitted:
    request: ServiceRequest
    #: The private tracking token, only when the reporter has no account (shown/emailed once).
    tracking_token: str | None


def active_category(session: Session, code: str | None) -> ServiceCategory | None:
    if not code:
        return None
    return session.scalar(
        select(ServiceCategory).where(ServiceCategory.code == code, ServiceCategory.active)
    )


def parse_coordinate(value: str | None) -> tuple[float | None, bool]:
    """(value, ok) for a latitude or longitude typed or posted as text; empty is fine,
    anything that is not a finite number is not."""
    if value is None or not value.strip():
        return None, True
    try:
        number = float(value)
    except ValueError:
        return None, False
    return (number, True) if math.isfinite(number) else (None, False)


def check_description(text: str, *, required: bool = True) -> str | None:
    text = text.strip()
    if not text:
        return "required" if required else None
    if len(text) > DESCRIPTION_MAX:
        return "too_long"
    return None


def resolve_location(
    session: Session,
    *,
    address: str,
    lat: float | None,
    lon: float | None,
    area_code: str | None,
) -> tuple[Area | None, dict[str, str]]:
    """The area for a location, or errors. A point must fall inside the city; an address
    alone is always enough (the resident may name the area)."""
    errors: dict[str, str] = {}
    address = address.strip()
    if len(address) > ADDRESS_MAX:
        errors["address"] = "too_long"
    has_point = lat is not None and lon is not None
    if (lat is None) != (lon is None):
        errors["location"] = "invalid"
    if not address and not has_point:
        errors["address"] = "required"
    area: Area | None = None
    if has_point and "location" not in errors:
        area = locate(session, lat, lon)  # type: ignore[arg-type]
        if area is None:
            errors["location"] = "outside_city"
    elif area_code:
        area = session.scalar(select(Area).where(Area.code == area_code, Area.active.is_(True)))
        if area is None:
            errors["area"] = "unknown"
    return area, errors


def check_contact(name: str, email: str, phone: str) -> tuple[str, dict[str, str]]:
    """Returns the normalised email and any errors; all three are optional."""
    errors: dict[str, str] = {}
    if len(name.strip()) > NAME_MAX:
        errors["name"] = "too_long"
    normalised = ""
    if email.strip():
        try:
            normalised = validate_email(email.strip(), check_deliverability=False).normalized
            normalised = normalised.lower()
        except EmailNotValidError:
            errors["email"] = "invalid"
    if phone.strip() and not PHONE_RE.match(phone.strip()):
        errors["phone"] = "invalid"
    return normalised, errors


@dataclass(frozen=True)
class Placed:
    lat: float | None
    lon: float | None
    point_id: int | None = None
    area_id: int | None = None
    #: ServiceRequest.location_status: "" (a map point or no address), "found", "not_found".
    status: str = ""


def place_address(session: Session, filing: Filing) -> Placed:
    """Where the filing is: its own point, the address point the resident chose, or the one
    its typed address names exactly (geocoded: the web form without JavaScript, staff intake
    and Open311 alike). An address that names none stays text, "not_found"."""
    address = filing.address.strip()
    if filing.address_point_id is not None:
        point = session.get(AddressPoint, filing.address_point_id)
        if point is not None and point.active:
            lat = filing.lat if filing.lat is not None else point.lat
            lon = filing.lon if filing.lon is not None else point.lon
            return Placed(lat, lon, point.id, point.area_id, FOUND)
    if filing.lat is not None or filing.lon is not None or not address:
        return Placed(filing.lat, filing.lon)
    if len(address) > ADDRESS_MAX:
        return Placed(None, None)
    answer = geocode(session, address)
    if answer.found and answer.match is not None:
        match = answer.match
        return Placed(match.lat, match.lon, match.id, match.area_id, FOUND)
    return Placed(None, None, status=NOT_FOUND)


def check_asset(
    session: Session, category: ServiceCategory, ref: str, *, required: bool = True
) -> tuple[Asset | None, str | None]:
    """(the asset, None) or (None, an error code) for the asset a filing names. Only a
    category with an active asset layer asks for one: ``unknown`` when the id is not one of
    the layer's active assets, ``required`` when none is given, the category needs one and
    ``required`` (staff intake may leave it empty: a caller may not know the number)."""
    layer = active_layer(session, category.asset_layer_id)
    if layer is None:
        return None, None
    if (ref or "").strip():
        asset = find_asset(session, layer_id=layer.id, ref=ref)
        return (asset, None) if asset is not None else (None, "unknown")
    return None, ("required" if category.asset_required and required else None)


def submit_request(
    session: Session,
    *,
    settings: Settings,
    filing: Filing,
    reporter: User | None = None,
    actor_kind: str = "resident",
) -> Submitted:
    """File a request or raise ``FilingError``. Flushes; the caller commits."""
    errors: dict[str, str] = {}
    category = active_category(session, filing.category_code)
    if category is None:
        raise FilingError({"category": "unknown"})
    if filing.channel not in CHANNELS:
        raise FilingError({"channel": "invalid"})
    # Open311 makes the description optional (the service and its answers may say it all).
    if problem := check_description(filing.description, required=filing.channel != "api"):
        errors["description"] = problem
    answers = check_answers(category, filing.answers)
    errors.update({f"answers.{code}": err for code, err in answers.errors.items()})
    if answers.stopper is not None:
        errors[f"answers.{answers.stopper.code}"] = "stopped"
    asset, asset_error = check_asset(
        session, category, filing.asset_ref, required=actor_kind != "staff"
    )
    if asset_error:
        errors["asset"] = asset_error
    if (
        asset is not None
        and filing.lat is None
        and filing.lon is None
        and filing.address_point_id is None
    ):
        filing = replace(filing, lat=asset.lat, lon=asset.lon)  # the asset says where it is
    placed = place_address(session, filing)
    area, location_errors = resolve_location(
        session,
        address=filing.address,
        lat=placed.lat,
        lon=placed.lon,
        area_code=filing.area_code,
    )
    if placed.area_id is not None and location_errors.get("location") == "outside_city":
        del location_errors["location"]  # the city's own address point, just off its areas
    if placed.area_id is not None:  # the city's own area for its address point
        area = session.get(Area, placed.area_id) or area
    errors.update(location_errors)
    email, contact_errors = check_contact(
        filing.contact_name, filing.contact_email, filing.contact_phone
    )
    errors.update(contact_errors)
    if len(filing.photo_ids) > settings.max_photos:
        errors["photos"] = "too_many"
    if errors:
        raise FilingError(errors)

    token, token_hash = (None, None) if reporter else access.new_token()
    now = clock.now()
    request = ServiceRequest(
        category_id=category.id,
        department_id=category.department_id,
        description=filing.description.strip(),
        answers=answers.answers,
        address=filing.address.strip(),
        lat=placed.lat,
        lon=placed.lon,
        area_id=area.id if area else None,
        address_point_id=placed.point_id,
        location_status=placed.status,
        asset_id=asset.id if asset else None,
        asset_ref=asset.source_id if asset else "",
        asset_label=asset.label if asset else "",
        channel=filing.channel,
        reporter_id=reporter.id if reporter else None,
        contact_name=filing.contact_name.strip() or (reporter.name if reporter else ""),
        contact_email=email or (reporter.email if reporter else ""),
        contact_phone=filing.contact_phone.strip() or (reporter.phone if reporter else ""),
        locale=filing.locale if filing.locale in settings.languages else "en",
        tracking_token_hash=token_hash,
        private_by_reporter=filing.private,
        is_public=not (filing.private or category.private),
        created_at=now,
        updated_at=now,
        status_changed_at=now,
    )
    session.add(request)
    session.flush()
    request.reference = f"{settings.reference_prefix}-{now.year}-{request.id:06d}"
    if filing.photo_ids:
        session.execute(
            update(RequestPhoto)
            .where(RequestPhoto.id.in_(filing.photo_ids), RequestPhoto.request_id.is_(None))
            .values(request_id=request.id, draft_id=None, public=request.is_public)
        )
    add_event(
        session,
        request,
        "submitted",
        actor=reporter,
        actor_kind=actor_kind,
        data={"channel": filing.channel},
    )
    # Routing picks the department, opens the first task and notes both on the timeline.
    hooks.case_filed.fire(session, hooks.CaseFiled(settings=settings, request=request))
    _queue_confirmation(
        session,
        settings=settings,
        request=request,
        category=category,
        token=token,
        reporter=reporter,
    )
    return Submitted(request, token)


def _queue_confirmation(
    session: Session,
    *,
    settings: Settings,
    request: ServiceRequest,
    category: ServiceCategory,
    token: str | None,
    reporter: User | None,
) -> None:
    to = reporter.email if reporter else request.contact_email
    if not to:
        return
    locale = reporter.locale if reporter else request.locale
    queue_email(
        session,
        settings=settings,
        to=to,
        template="request_confirmation",
        locale=locale,
        context={
            "reference": request.reference,
            "category": category.t("name", locale),
            "description": request.description,
            "address": request.address,
            "public_link": access.public_link(settings, request.reference or ""),
            "private_link": access.private_link(settings, request.reference or "", token)
            if token
            else None,
            "is_public": request.is_public,
            "has_account": reporter is not None,
        },
        dedupe_key=f"confirmation:{request.id}",
        thread=resident_thread(request, user_id=reporter.id if reporter else None),
    )


@dataclass(frozen=True)
class Nearby:
    request: ServiceRequest
    distance_m: float


def nearby_open_requests(
    session: Session,
    *,
    category_id: int,
    lat: float,
    lon: float,
    radius_m: float,
    limit: int = 5,
) -> list[Nearby]:
    """Open public requests of the same category within ``radius_m``, nearest first.

    Bounded: a box query on the (category_id, is_open, lat) index, at most 100 candidates.
    """
    min_lat, max_lat, min_lon, max_lon = bounding_box(lat, lon, radius_m)
    candidates = session.scalars(
        select(ServiceRequest)
        .where(
            ServiceRequest.category_id == category_id,
            ServiceRequest.is_open.is_(True),
            ServiceRequest.lat.between(min_lat, max_lat),
            ServiceRequest.lon.between(min_lon, max_lon),
            ServiceRequest.is_public.is_(True),
            ServiceRequest.duplicate_of_id.is_(None),
        )
        # The page shows each one's first public photo: one query for all of them.
        .options(selectinload(ServiceRequest.photos))
        .order_by(ServiceRequest.created_at.desc())
        .limit(100)
    ).all()
    found = [
        Nearby(sr, distance_m(lat, lon, sr.lat, sr.lon))  # type: ignore[arg-type]
        for sr in candidates
    ]
    found = [n for n in found if n.distance_m <= radius_m]
    found.sort(key=lambda n: n.distance_m)
    return found[:limit]
