"""Pure serializers from the portal's models to the Open311 GeoReport v2 fields (no Flask).

The dicts they return go to ``portal.open311.views.api_formats.render`` unchanged. They carry
nothing personal: never the reporter, a contact name, email or phone, internal notes or staff
names.
IDs are strings; date-times are aware (rendered as W3C with the city's UTC offset).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from portal.catalogue.models import CategoryQuestion, ServiceCategory
from portal.core.config import Settings
from portal.places.models import AssetLayer
from portal.requests.labels import STATUS_NAMES
from portal.requests.models import OPEN_STATUSES, Event, ServiceRequest

#: Our question kinds as Open311 datatypes. Free text is "text" (multi-line, any length) unless
#: the question caps it at SHORT_TEXT characters or fewer, which is a one-line "string".
SHORT_TEXT = 100
DATATYPES = {
    "number": "number",
    "date": "datetime",
    "yesno": "singlevaluelist",
    "single": "singlevaluelist",
    "multi": "multivaluelist",
}
YES_NO = (("yes", "Yes"), ("no", "No"))
_YES_NO_ES = {"yes": "Sí", "no": "No"}

# A US ZIP (or ZIP+4) at the end of an address, optionally followed by the country.
_ZIP_RE = re.compile(
    r"(?:^|[\s,])(\d{5})(?:-\d{4})?\s*(?:,?\s*(?:USA|US|U\.S\.A\.|United States))?\s*\.?\s*\Z",
    re.IGNORECASE,
)


def status_of(sr: ServiceRequest) -> str:
    """The Open311 status: ``open`` while the case is in an open status, else ``closed``
    (resolved, closed, rejected and duplicates are all ``closed``)."""
    return "open" if sr.status in OPEN_STATUSES else "closed"


def zipcode(address: str | None) -> str | None:
    """The five-digit US ZIP at the end of ``address`` ("..., Springfield, IL 62704"), or None."""
    if not address:
        return None
    match = _ZIP_RE.search(address)
    return match.group(1) if match else None


def local(moment: datetime | None, settings: Settings) -> datetime | None:
    """``moment`` in the city's time zone (so it renders with the city's UTC offset)."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(ZoneInfo(settings.timezone))


def _keywords(raw: str) -> str:
    parts = [p.strip() for p in re.split(r"[,;\n]", raw or "") if p.strip()]
    return ",".join(parts)


def service_row(category: ServiceCategory, locale: str = "en") -> dict[str, Any]:
    """One entry of GET services: the spec's fields for an (active) category."""
    return {
        "service_code": category.code,
        "service_name": category.t("name", locale),
        "description": category.t("description", locale) or None,
        "metadata": bool(category.questions) or category.asset_layer_id is not None,
        "type": "realtime",
        "keywords": _keywords(category.keywords),
        "group": category.group.t("name", locale) if category.group is not None else None,
        # Extension: requests filed in a private service are not in public lists; the app
        # that filed one reads it back with its api_key.
        "private": bool(category.private),
    }


def datatype(question: CategoryQuestion) -> str:
    """The Open311 datatype of one of our questions (see ``DATATYPES`` and ``SHORT_TEXT``)."""
    if question.kind == "text":
        limit = question.max_length
        return "string" if limit is not None and limit <= SHORT_TEXT else "text"
    return DATATYPES[question.kind]


def _datatype_description(question: CategoryQuestion, kind: str) -> str | None:
    if question.kind == "number":
        return "A number, for example 3 or 2.5."
    if question.kind == "date":
        return "A W3C date-time, for example 2026-03-05T14:30:00-06:00, or a date (2026-03-05)."
    if question.kind == "multi":
        return "One or more of the keys listed in values."
    if kind == "singlevaluelist":
        return "One of the keys listed in values."
    if question.max_length:
        return f"At most {question.max_length} characters."
    return None


def _values(question: CategoryQuestion, locale: str) -> list[dict[str, str]] | None:
    if question.kind == "yesno":
        return [
            {"key": key, "name": _YES_NO_ES[key] if locale == "es" else name}
            for key, name in YES_NO
        ]
    if question.kind in ("single", "multi"):
        return [
            {
                "key": str(option.get("key", "")),
                "name": question.option_label(str(option.get("key", "")), locale),
            }
            for option in question.options or []
        ]
    return None


def attribute_row(question: CategoryQuestion, order: int, locale: str = "en") -> dict[str, Any]:
    """One attribute of a service definition (``order`` is 1-based)."""
    kind = datatype(question)
    row: dict[str, Any] = {
        "variable": True,
        "code": question.code,
        "datatype": kind,
        "required": bool(question.required),
        "datatype_description": _datatype_description(question, kind),
        "order": order,
        "description": question.t("prompt", locale),
    }
    values = _values(question, locale)
    if values is not None:
        row["values"] = values
    return row


#: The attribute a category with an asset layer adds to its service definition: the id of the
#: asset in the city's data ("SL-1042"), as FixMyStreet sends a picked asset's id in an
#: attribute the service definition declares (docs/open311.md, "Assets").
ASSET_ATTRIBUTE = "asset_id"


def asset_attribute_row(layer: AssetLayer, required: bool, order: int, locale: str) -> dict:
    return {
        "variable": True,
        "code": ASSET_ATTRIBUTE,
        "datatype": "string",
        "required": required,
        "datatype_description": (
            f"The id of one of the city's {layer.name} (asset layer '{layer.code}'), for "
            f"example as GET /places/map/assets.geojson?layer={layer.code}&bbox=... lists "
            "them in properties.id."
        ),
        "order": order,
        "description": layer.t("name", locale),
    }


def service_definition(category: ServiceCategory, locale: str = "en") -> dict[str, Any]:
    """GET services/{code}: the category's extra questions as Open311 attributes, in the order
    the web form asks them; then, for a category with an asset layer, ``asset_id``."""
    attributes = [attribute_row(q, n, locale) for n, q in enumerate(category.questions, start=1)]
    layer = category.asset_layer if category.asset_layer_id is not None else None
    if layer is not None and layer.active:
        attributes.append(
            asset_attribute_row(layer, category.asset_required, len(attributes) + 1, locale)
        )
    return {"service_code": category.code, "attributes": attributes}


def photo_url(settings: Settings, reference: str, photo_id: int) -> str:
    """The public address of a public photo (served by the tracking page's photo route)."""
    return f"{settings.base_url}/requests/{reference}/photos/{photo_id}"


def note_row(event: Event, settings: Settings) -> dict[str, Any]:
    """One public timeline entry as an Open311 note (the ``extensions=true`` history)."""
    return {
        "datetime": local(event.created_at, settings),
        "description": note_text(event),
        "type": event.kind,
    }


def note_text(event: Event) -> str:
    """The public text of a timeline entry: its body, or a plain sentence for entries without
    one. Never who wrote it."""
    if event.body:
        return event.body
    data = event.data or {}
    if event.kind == "submitted":
        return "Request submitted."
    if event.kind == "status_changed":
        target = STATUS_NAMES.get(str(data.get("to")), str(data.get("to") or ""))
        return f"Status changed to {target}." if target else "Status changed."
    if event.kind == "photo_added":
        return "Photo added."
    if event.kind == "duplicate":
        of = data.get("of")
        return f"Marked as a duplicate of {of}." if of else "Marked as a duplicate."
    if event.kind == "expected_changed":
        return "Expected resolution date updated."
    if event.kind == "reopened":
        return "Request reopened."
    return event.kind.replace("_", " ").capitalize() + "."


def request_row(
    sr: ServiceRequest,
    *,
    settings: Settings,
    extensions: bool = False,
    notes: Sequence[Event] | None = None,
    status_notes: str | None = None,
    photo_ids: Iterable[int] = (),
    locale: str = "en",
) -> dict[str, Any]:
    """One service request with the spec's fields, nothing personal.

    ``status_notes`` is the latest public status note; ``photo_ids`` the request's public
    photos, oldest first (the first one is the media_url when the request has none of its
    own). With ``extensions`` the row adds ``notes`` (the public history) and
    ``extended_attributes`` (channel, public photo URLs).
    """
    photos = [photo_url(settings, sr.reference or "", pid) for pid in photo_ids]
    category = sr.category
    row: dict[str, Any] = {
        "service_request_id": sr.reference,
        "status": status_of(sr),
        "status_notes": status_notes or None,
        "service_name": category.t("name", locale),
        "service_code": category.code,
        "description": sr.description or None,
        "agency_responsible": sr.department.t("name", locale) if sr.department else None,
        "service_notice": category.t("notice", locale) or None,
        "requested_datetime": local(sr.created_at, settings),
        "updated_datetime": local(sr.updated_at, settings),
        "expected_datetime": local(sr.expected_at, settings),
        "address": sr.address or None,
        "address_id": sr.address_id or None,
        "zipcode": zipcode(sr.address),
        "lat": sr.lat,
        "long": sr.lon,
        "media_url": sr.media_url or (photos[0] if photos else None),
    }
    if extensions:
        row["notes"] = [note_row(e, settings) for e in notes or ()]
        row["extended_attributes"] = {"channel": sr.channel, "photos": photos}
        if sr.asset_ref:
            row["extended_attributes"]["asset"] = {"id": sr.asset_ref, "label": sr.asset_label}
    return row
