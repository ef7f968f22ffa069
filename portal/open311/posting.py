"""Open311 POST requests: a posted form in, a filed request (or every problem found) out.

No Flask here: the view hands over the form fields (a multi-valued mapping), the uploaded files
and the caller's API key. The filing goes through ``portal.requests.service.submit_request``
like the web form (routing, tasks, SLA clocks, confirmation email), with channel ``api`` and
the key's label as the channel's detail (which app filed it).

Choices where the spec is silent (documented for client developers in the OpenAPI text):

- An empty parameter is the same as an absent one.
- An unknown or inactive ``service_code`` is a 400 (as in the spec's example errors), not 404.
- An ``attribute[CODE]`` the service does not define is a 400, one error per code: it catches
  client typos that would otherwise silently drop an answer.
- List attributes may be sent as ``attribute[CODE][]=a&attribute[CODE][]=b`` or as a repeated
  ``attribute[CODE]=a&attribute[CODE]=b``; a single-value attribute given two values is a 400.
- ``description`` is optional, as in the spec: the service and its answers may say it all.
- ``address_id`` alone is accepted (the city has no address repository to resolve it): the
  case's address reads ``address_id <id>`` so staff can see where it came from.
- Photos are any multipart file fields (``media`` is the usual name), up to
  ``settings.max_photos``, checked and re-encoded like the web form's.
- The answer carries both ``service_request_id`` (the case is filed at once) and ``token``
  (which ``GET tokens/{token}`` resolves), ``service_notice`` and ``account_id`` (an echo).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, BinaryIO, Protocol
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.catalogue.models import CategoryQuestion, ServiceCategory
from portal.core import clock
from portal.core.config import Settings
from portal.open311 import keys
from portal.open311.models import ApiKey
from portal.open311.serialize import ASSET_ATTRIBUTE
from portal.requests.answers import check_answers
from portal.requests.models import Event, RequestPhoto, ServiceRequest
from portal.requests.photos import PhotoError, StoredPhoto, delete_photo_file, store_photo
from portal.requests.service import (
    ADDRESS_MAX,
    DESCRIPTION_MAX,
    NAME_MAX,
    Filing,
    FilingError,
    active_category,
    check_contact,
    parse_coordinate,
    resolve_location,
    submit_request,
)

ADDRESS_ID_MAX = 64
MEDIA_URL_MAX = 500
CLIENT_ID_MAX = 100
ASSET_REF_MAX = 64
ATTRIBUTE_RE = re.compile(r"^attribute\[([^\[\]]+)\](\[\])?$")
YES = {"yes", "true", "1"}
NO = {"no", "false", "0"}


class FormData(Protocol):
    """A multi-valued mapping of posted fields (werkzeug's ``MultiDict`` is one)."""

    def __iter__(self) -> Iterator[str]: ...

    def getlist(self, key: str) -> list[str]: ...


@dataclass(frozen=True)
class Upload:
    """A posted file: the form field it came in, its name, and its content."""

    field: str
    filename: str
    stream: BinaryIO


class PostingError(ValueError):
    """Why a POST was refused: an HTTP status and one description per problem found."""

    def __init__(self, status: int, descriptions: list[str]) -> None:
        super().__init__("; ".join(descriptions))
        self.status = status
        self.descriptions = descriptions


@dataclass
class Posted:
    request: ServiceRequest
    category: ServiceCategory
    account_id: str | None

    def answer(self) -> dict[str, Any]:
        """The spec's one-entry answer to a POST."""
        return {
            "service_request_id": self.request.reference,
            "token": self.request.api_token,
            "service_notice": self.category.notice.strip() or None,
            "account_id": self.account_id,
        }


@dataclass
class _Parsed:
    filing: Filing
    category: ServiceCategory | None
    address_id: str = ""
    media_url: str = ""
    device_id: str | None = None
    account_id: str | None = None
    errors: list[str] = field(default_factory=list)

    def fail(self, message: str) -> None:
        if message not in self.errors:
            self.errors.append(message)


def value(form: FormData, name: str) -> str | None:
    """The first non-blank value of a parameter (stripped); blank and absent are the same."""
    for raw in form.getlist(name):
        if raw is not None and raw.strip():
            return raw.strip()
    return None


def file_request(
    session: Session,
    *,
    settings: Settings,
    form: FormData,
    uploads: list[Upload],
    api_key: ApiKey,
) -> Posted:
    """File the posted request, or raise ``PostingError`` (400) listing every problem found.

    Flushes; the caller commits (and rolls back on an error: photo files written here are
    removed again before raising)."""
    parsed = _parse(session, settings=settings, form=form)
    if parsed.errors:
        raise PostingError(400, parsed.errors)
    stored = _store_photos(uploads, settings=settings)
    try:
        return _file(session, settings=settings, parsed=parsed, stored=stored, api_key=api_key)
    except BaseException:
        for photo, _name in stored:
            delete_photo_file(settings, photo.storage_key)
        raise


def _file(
    session: Session,
    *,
    settings: Settings,
    parsed: _Parsed,
    stored: list[tuple[StoredPhoto, str]],
    api_key: ApiKey,
) -> Posted:
    category = parsed.category
    assert category is not None
    photos = [
        RequestPhoto(
            storage_key=photo.storage_key,
            width=photo.width,
            height=photo.height,
            size_bytes=photo.size_bytes,
            original_name=name[:200],
            phash=photo.phash,
        )
        for photo, name in stored
    ]
    session.add_all(photos)
    session.flush()
    parsed.filing.photo_ids = [photo.id for photo in photos]
    try:
        submitted = submit_request(session, settings=settings, filing=parsed.filing)
    except FilingError as exc:
        raise PostingError(400, filing_messages(exc.errors, category)) from exc
    request = submitted.request
    request.api_key_id = api_key.id
    request.channel_detail = api_key.label[:120]
    request.api_token = secrets.token_urlsafe(24)[:32]
    request.media_url = parsed.media_url
    request.address_id = parsed.address_id
    extra = {
        k: v for k, v in (("device_id", parsed.device_id), ("account_id", parsed.account_id)) if v
    }
    if extra:
        event = session.scalar(
            select(Event).where(Event.request_id == request.id, Event.kind == "submitted")
        )
        if event is not None:
            event.data = {**(event.data or {}), **extra}
    keys.record_use(session, api_key, filed=True, now=clock.now())
    session.flush()
    return Posted(request, category, parsed.account_id)


def _store_photos(uploads: list[Upload], *, settings: Settings) -> list[tuple[StoredPhoto, str]]:
    files = [u for u in uploads if u.filename or u.field]
    if len(files) > settings.max_photos:
        raise PostingError(
            400,
            [
                f"At most {settings.max_photos} photos may be sent with a "
                f"request; {len(files)} were sent."
            ],
        )
    stored: list[tuple[StoredPhoto, str]] = []
    errors: list[str] = []
    for upload in files:
        name = upload.filename or upload.field
        try:
            stored.append((store_photo(upload.stream, settings=settings), name))
        except PhotoError as exc:
            errors.append(photo_message(upload.field, name, exc.code, settings))
    if errors:
        for photo, _name in stored:
            delete_photo_file(settings, photo.storage_key)
        raise PostingError(400, errors)
    return stored


def photo_message(field_name: str, name: str, code: str, settings: Settings) -> str:
    megabytes = settings.max_photo_bytes // (1024 * 1024)
    reasons = {
        "not_image": "is not an image (send JPEG, PNG, GIF or WebP)",
        "too_large": f"is larger than {megabytes} MB",
        "too_many_pixels": "has too many pixels",
        "empty": "is empty",
    }
    return f"The file '{name}' in '{field_name}' {reasons.get(code, 'is not usable')}."


# --- parsing ----------------------------------------------------------------------------------


def _parse(session: Session, *, settings: Settings, form: FormData) -> _Parsed:
    code = value(form, "service_code")
    category = active_category(session, code) if code else None
    parsed = _Parsed(Filing(category_code=code or "", channel="api"), category)
    if code is None:
        parsed.fail("service_code was not provided.")
    elif category is None:
        parsed.fail(f"service_code '{code}' was not found: GET services lists the codes.")
    _parse_location(session, form, parsed)
    _parse_contact(form, parsed)
    _parse_text(form, parsed, settings)
    _parse_attributes(form, parsed, settings)
    return parsed


def _parse_location(session: Session, form: FormData, parsed: _Parsed) -> None:
    filing = parsed.filing
    before = len(parsed.errors)
    raw_lat, raw_lon = value(form, "lat"), value(form, "long")
    lat, lat_ok = parse_coordinate(raw_lat)
    lon, lon_ok = parse_coordinate(raw_lon)
    if not lat_ok or (lat is not None and not -90 <= lat <= 90):
        parsed.fail("lat must be a number of degrees between -90 and 90.")
        lat = None
    if not lon_ok or (lon is not None and not -180 <= lon <= 180):
        parsed.fail("long must be a number of degrees between -180 and 180.")
        lon = None
    if (raw_lat is None) != (raw_lon is None):
        parsed.fail("lat and long must be sent together.")
    address = value(form, "address_string") or ""
    address_id = value(form, "address_id") or ""
    if len(address) > ADDRESS_MAX:
        parsed.fail(f"address_string must be {ADDRESS_MAX} characters or fewer.")
    if len(address_id) > ADDRESS_ID_MAX:
        parsed.fail(f"address_id must be {ADDRESS_ID_MAX} characters or fewer.")
    if raw_lat is None and raw_lon is None and not address and not address_id:
        parsed.fail("A location is required: lat and long, address_string or address_id.")
    if len(parsed.errors) > before:
        return
    if lat is not None and lon is not None:
        filing.lat, filing.lon = lat, lon
    filing.address = address or (f"address_id {address_id}" if address_id else "")
    parsed.address_id = address_id
    _area, problems = resolve_location(
        session, address=filing.address, lat=filing.lat, lon=filing.lon, area_code=None
    )
    for name, problem in problems.items():
        parsed.fail(FILING_MESSAGES.get((name, problem), f"{name}: {problem}"))


def _parse_contact(form: FormData, parsed: _Parsed) -> None:
    filing = parsed.filing
    name = " ".join(part for part in (value(form, "first_name"), value(form, "last_name")) if part)
    email, phone = value(form, "email") or "", value(form, "phone") or ""
    _normalised, problems = check_contact(name, email, phone)
    for key, problem in problems.items():
        parsed.fail(FILING_MESSAGES.get((key, problem), f"{key}: {problem}"))
    filing.contact_name, filing.contact_email, filing.contact_phone = name, email, phone
    for key in ("device_id", "account_id"):
        raw = value(form, key)
        if raw is not None and len(raw) > CLIENT_ID_MAX:
            parsed.fail(f"{key} must be {CLIENT_ID_MAX} characters or fewer.")
            raw = None
        setattr(parsed, key, raw)


def _parse_text(form: FormData, parsed: _Parsed, settings: Settings) -> None:
    filing = parsed.filing
    description = value(form, "description") or ""
    if len(description) > DESCRIPTION_MAX:
        parsed.fail(
            f"description must be {DESCRIPTION_MAX:,} characters or fewer; "
            f"{len(description):,} were sent."
        )
    filing.description = description
    media_url = value(form, "media_url") or ""
    if media_url and not valid_media_url(media_url):
        parsed.fail(
            f"media_url must be an http or https URL of at most {MEDIA_URL_MAX} characters."
        )
    else:
        parsed.media_url = media_url
    locale = value(form, "locale")
    filing.locale = locale if locale in settings.languages else "en"


def valid_media_url(url: str) -> bool:
    if len(url) > MEDIA_URL_MAX or any(c.isspace() or ord(c) < 32 for c in url):
        return False
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def _posted_attributes(form: FormData) -> tuple[dict[str, list[str]], list[str]]:
    """``{code: [values]}`` from ``attribute[CODE]``, ``attribute[CODE][]`` (both may repeat);
    and the names of malformed ``attribute...`` parameters."""
    found: dict[str, list[str]] = {}
    malformed: list[str] = []
    for key in form:
        if not isinstance(key, str) or not key.startswith("attribute"):  # None: a nameless part
            continue
        match = ATTRIBUTE_RE.match(key)
        if match is None:
            malformed.append(key)
            continue
        values = [v.strip() for v in form.getlist(key) if v is not None and v.strip()]
        found.setdefault(match.group(1), []).extend(values)
    return found, malformed


def _parse_attributes(form: FormData, parsed: _Parsed, settings: Settings) -> None:
    posted, malformed = _posted_attributes(form)
    for key in malformed[:20]:
        parsed.fail(
            f"'{key[:60]}' is not an attribute parameter: use attribute[CODE] or "
            "attribute[CODE][] for lists."
        )
    category = parsed.category
    if category is None:
        return
    questions = {q.code: q for q in category.questions}
    _parse_asset(category, posted, parsed)
    for code in list(posted)[:50]:
        if code not in questions:
            parsed.fail(
                f"attribute[{code[:60]}] is not an attribute of service_code '{category.code}'."
            )
    raw: dict[str, Any] = {}
    for code, question in questions.items():
        values = list(dict.fromkeys(posted.get(code, [])))
        if question.kind == "multi":
            raw[code] = values
        elif len(values) > 1:
            parsed.fail(f"attribute[{code}] takes one value; {len(values)} were sent.")
        else:
            raw[code] = _single(question, values[0], settings) if values else ""
    checked = check_answers(category, raw)
    for code, problem in checked.errors.items():
        if not any(e.startswith(f"attribute[{code}] takes") for e in parsed.errors):
            parsed.fail(attribute_message(questions[code], problem))
    if checked.stopper is not None:
        parsed.fail(attribute_message(checked.stopper, "stopped"))
    parsed.filing.answers = raw


def _parse_asset(category: ServiceCategory, posted: dict[str, list[str]], parsed: _Parsed) -> None:
    """``attribute[asset_id]`` of a category with an asset layer (the asset's id in the city's
    data); taken out of ``posted``, and checked with the rest by ``submit_request``."""
    layer = category.asset_layer if category.asset_layer_id is not None else None
    if layer is None or not layer.active or ASSET_ATTRIBUTE in {q.code for q in category.questions}:
        return
    values = list(dict.fromkeys(posted.pop(ASSET_ATTRIBUTE, [])))
    if len(values) > 1:
        parsed.fail(f"attribute[{ASSET_ATTRIBUTE}] takes one value; {len(values)} were sent.")
        return
    ref = values[0] if values else ""
    if len(ref) > ASSET_REF_MAX:
        parsed.fail(f"attribute[{ASSET_ATTRIBUTE}] must be {ASSET_REF_MAX} characters or fewer.")
        return
    parsed.filing.asset_ref = ref


def _single(question: CategoryQuestion, text: str, settings: Settings) -> str:
    """Open311 spellings of our answers: true/false for yes/no questions, and a W3C date-time
    (taken as a date in the city's time zone) for date questions."""
    if question.kind == "yesno":
        lowered = text.lower()
        return "yes" if lowered in YES else "no" if lowered in NO else text
    if question.kind == "date" and "T" in text:
        return _date_of(text, settings) or text
    return text


def _date_of(text: str, settings: Settings) -> str | None:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is not None:
        moment = moment.astimezone(ZoneInfo(settings.timezone))
    return moment.date().isoformat()


# --- messages ---------------------------------------------------------------------------------

FILING_MESSAGES: dict[tuple[str, str], str] = {
    ("category", "unknown"): "service_code was not found: GET services lists the codes.",
    ("category", "inactive"): "service_code is no longer in service.",
    ("description", "required"): "description is required for this service.",
    ("description", "too_long"): f"description must be {DESCRIPTION_MAX:,} characters or fewer.",
    ("address", "required"): "A location is required: lat and long, address_string or address_id.",
    ("address", "too_long"): f"address_string must be {ADDRESS_MAX} characters or fewer.",
    ("location", "invalid"): "lat and long must be sent together.",
    ("location", "outside_city"): "lat/long is outside the area this jurisdiction serves.",
    ("area", "unknown"): "The area is not known.",
    ("email", "invalid"): "email is not a valid email address.",
    ("phone", "invalid"): "phone must be 7 to 40 digits, spaces, brackets, dashes or a plus sign.",
    ("name", "too_long"): f"first_name and last_name together must be {NAME_MAX} characters "
    "or fewer.",
    ("photos", "too_many"): "Too many photos were sent.",
    ("channel", "invalid"): "The request could not be filed.",
}


def attribute_message(question: CategoryQuestion, code: str) -> str:
    name = f"attribute[{question.code}]"
    if code == "stopped":
        message = " ".join((question.stop_message or "").split())
        return f"{name}: this service cannot be requested with that answer. {message}".strip()
    options = ", ".join(o["key"] for o in question.options or [])
    if question.kind == "yesno":
        options = "yes, no (or true, false)"
    messages = {
        "required": f"{name} is required for this service.",
        "not_a_number": f"{name} must be a number.",
        "not_a_date": f"{name} must be a date (YYYY-MM-DD) or a W3C date-time.",
        "bad_choice": f"{name} must be one of the keys of its values: {options}.",
        "too_long": f"{name} must be {question.max_length or 500} characters or fewer.",
    }
    return messages.get(code, f"{name} is not valid.")


def asset_message(category: ServiceCategory, code: str) -> str:
    layer = category.asset_layer
    which = f"one of the city's {layer.name} (asset layer '{layer.code}')" if layer else "an asset"
    if code == "required":
        return f"attribute[{ASSET_ATTRIBUTE}] is required for this service: the id of {which}."
    return (
        f"attribute[{ASSET_ATTRIBUTE}] is not the id of {which}: "
        f"GET services/{category.code} describes it."
    )


def filing_messages(errors: dict[str, str], category: ServiceCategory) -> list[str]:
    """``FilingError.errors`` as Open311 error descriptions."""
    questions = {q.code: q for q in category.questions}
    messages: list[str] = []
    for key, code in errors.items():
        if key.startswith("answers.") and key[8:] in questions:
            message = attribute_message(questions[key[8:]], code)
        elif key == "asset":
            message = asset_message(category, code)
        else:
            message = FILING_MESSAGES.get((key, code), f"{key}: {code}")
        if message not in messages:
            messages.append(message)
    return messages
