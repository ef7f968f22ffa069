"""A request's conversation over Open311 (no Flask): FixMyStreet's ``servicerequestupdates``
extension, read and written.

Reading: the public updates of requests (status changes, staff messages and questions, the
resident's replies, reopenings, duplicates, photos added), oldest first, each with the status
the request had after it, in FixMyStreet's vocabulary (``STATUS_NAMES``) and this portal's own
status as ``external_status_code``. Never an internal note, a staff member's or resident's
name, an email or a phone: only what the public request page shows. A request that is not
public is read only by the API key that filed it.

Writing: the reporter's reply (or, on a resolved request, their "it is not fixed"), sent by an
app with the reporter's token for that request: the ``token`` a ``POST requests`` answered
with, or the private tracking link's token the portal emailed. It goes through
``portal.requests.updates.resident_reply`` / ``reopen`` exactly as the web reply does (the
same events, hooks, staff notifications, reopening window). A client's ``update_id`` makes a
retry return the update it already made.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from portal.core.config import Settings
from portal.open311.models import ApiKey
from portal.open311.posting import Upload, photo_message
from portal.open311.queries import parse_datetime
from portal.open311.serialize import local, note_text, photo_url
from portal.requests import access
from portal.requests import updates as conversation
from portal.requests.models import Event, ServiceRequest
from portal.requests.photos import PhotoError, delete_photo_file, store_photo
from portal.requests.queries import normalise_reference

#: The timeline entries that are updates (``submitted`` and ``expected_changed`` are not).
UPDATE_KINDS = (
    "status_changed",
    "comment",
    "question",
    "answer",
    "reopened",
    "duplicate",
    "photo_added",
)
#: The entries that move the status (their data's ``to``).
MOVE_KINDS = frozenset({"status_changed", "question", "answer", "reopened", "duplicate"})
#: This portal's statuses in FixMyStreet's update vocabulary (its client maps each to a state).
STATUS_NAMES = {
    "new": "open",
    "acknowledged": "investigating",
    "in_progress": "in_progress",
    "waiting_on_resident": "investigating",
    "waiting_on_third_party": "investigating",
    "scheduled": "action_scheduled",
    "resolved": "fixed",
    "closed": "closed",
    "rejected": "no_further_action",
    "duplicate": "duplicate",
}
#: What a reply's ``status`` may say: the resident says it is (still) open.
OPEN_WORDS = frozenset({"open", "reopen", "reopened", "not_fixed", "confirmed"})
DEFAULT_WINDOW = timedelta(days=1)
MAX_WINDOW = timedelta(days=31)
DEFAULT_PAGE_SIZE = 200
MAX_PAGE_SIZE = 1000
CLIENT_ID_MAX = 100
MEDIA_URL_MAX = 500


class UpdatesError(ValueError):
    """A refused call: an HTTP status and one sentence per problem found."""

    def __init__(self, status: int, *descriptions: str) -> None:
        super().__init__("; ".join(descriptions))
        self.status = status
        self.descriptions = list(descriptions)


@dataclass(frozen=True)
class UpdatesQuery:
    start: datetime
    end: datetime
    page: int = 1
    page_size: int = DEFAULT_PAGE_SIZE


def _value(args: Mapping[str, str], name: str) -> str | None:
    raw = args.get(name)
    if raw is None or not raw.strip():
        return None
    return raw.strip()


def _moment(args: Mapping[str, str], name: str, problems: list[str]) -> datetime | None:
    raw = _value(args, name)
    if raw is None:
        return None
    try:
        return parse_datetime(raw)
    except ValueError:
        problems.append(
            f"{name} must be a W3C date-time with a time zone, for example "
            f"2026-03-05T14:30:00-06:00 or 2026-03-05T20:30:00Z; got '{raw[:40]}'."
        )
        return None


def _whole(
    args: Mapping[str, str], name: str, problems: list[str], *, default: int, largest: int
) -> int:
    raw = _value(args, name)
    if raw is None:
        return default
    if not raw.isdigit() or len(raw) > 9 or not 1 <= int(raw) <= largest:
        problems.append(f"{name} must be a whole number from 1 to {largest}; got '{raw[:40]}'.")
        return default
    return int(raw)


def parse_query(args: Mapping[str, str], *, now: datetime) -> UpdatesQuery:
    """``start_date`` / ``end_date`` (W3C with a zone; updates made after start and at or
    before end; neither: the last day; one: a day from or to it; at most ``MAX_WINDOW``
    apart), ``page`` and ``page_size``. Raises ``UpdatesError(400)`` listing every problem."""
    problems: list[str] = []
    start = _moment(args, "start_date", problems)
    end = _moment(args, "end_date", problems)
    page = _whole(args, "page", problems, default=1, largest=1_000_000)
    size = _whole(args, "page_size", problems, default=DEFAULT_PAGE_SIZE, largest=MAX_PAGE_SIZE)
    if problems:
        raise UpdatesError(400, *problems)
    if start is None and end is None:
        end = now
    if start is None:
        assert end is not None
        start = end - DEFAULT_WINDOW
    if end is None:
        end = start + DEFAULT_WINDOW
    if end < start:
        raise UpdatesError(400, "end_date must not be before start_date.")
    if end - start > MAX_WINDOW:
        raise UpdatesError(
            400, f"start_date and end_date may be at most {MAX_WINDOW.days} days apart."
        )
    return UpdatesQuery(start, end, page, size)


def readable(api_key: ApiKey | None) -> Any:
    """The SQL condition for the requests a caller may read: public ones, and those its own
    key filed."""
    if api_key is None:
        return ServiceRequest.is_public.is_(True)
    return or_(ServiceRequest.is_public.is_(True), ServiceRequest.api_key_id == api_key.id)


def _updates_of(statement: Any) -> Any:
    return statement.where(
        Event.public.is_(True), Event.kind.in_(UPDATE_KINDS), ServiceRequest.reference.is_not(None)
    )


@dataclass(frozen=True)
class Update:
    """One update as read: only the columns a row needs (no ORM objects: a page of 1,000
    built as entities cost several times more)."""

    id: int
    kind: str
    body: str
    data: dict[str, Any]
    created_at: datetime
    actor_kind: str
    request_id: int
    reference: str


_COLUMNS = (
    Event.id,
    Event.kind,
    Event.body,
    Event.data,
    Event.created_at,
    Event.actor_kind,
    Event.request_id,
    ServiceRequest.reference,
)


def _read(session: Session, statement: Any) -> list[Update]:
    return [Update(*row) for row in session.execute(statement)]


def list_updates(session: Session, query: UpdatesQuery, *, api_key: ApiKey | None) -> list[Update]:
    """The public updates made in the query's window to requests the caller may read, oldest
    first (ties by id), one page. Reads ``ix_request_events_created``."""
    statement = _updates_of(
        select(*_COLUMNS)
        .join(ServiceRequest, ServiceRequest.id == Event.request_id)
        .where(Event.created_at > query.start, Event.created_at <= query.end, readable(api_key))
    )
    statement = (
        statement.order_by(Event.created_at, Event.id)
        .limit(query.page_size)
        .offset((query.page - 1) * query.page_size)
    )
    return _read(session, statement)


def find_request(
    session: Session,
    reference: str,
    *,
    settings: Settings,
    api_key: ApiKey | None,
    any_: bool = False,
) -> ServiceRequest | None:
    """The request with this reference if the caller may read it (public, or filed by its
    key; any request with ``any_``: a reply proves itself with the reporter's token), else
    None."""
    normal = normalise_reference(reference, settings.reference_prefix) or reference[:40]
    statement = select(ServiceRequest).where(ServiceRequest.reference == normal)
    if not any_:
        statement = statement.where(readable(api_key))
    return session.scalar(statement)


def request_updates(
    session: Session, request: ServiceRequest, *, limit: int = MAX_PAGE_SIZE
) -> list[Update]:
    """Every public update of one request, oldest first (the latest ``limit``)."""
    newest = _updates_of(
        select(*_COLUMNS)
        .join(ServiceRequest, ServiceRequest.id == Event.request_id)
        .where(Event.request_id == request.id)
    )
    return list(reversed(_read(session, newest.order_by(Event.id.desc()).limit(limit))))


def _statuses(session: Session, found: Sequence[Update]) -> dict[int, str]:
    """The status each update left its request in: the last move at or before it (``new``
    before any). One query for the page's requests' moves."""
    if not found:
        return {}
    last = max(update.id for update in found)
    request_ids = sorted({update.request_id for update in found})
    moves: dict[int, list[tuple[int, str]]] = {rid: [] for rid in request_ids}
    for start in range(0, len(request_ids), 500):
        chunk = request_ids[start : start + 500]
        for request_id, event_id, data in session.execute(
            select(Event.request_id, Event.id, Event.data)
            .where(
                and_(
                    Event.request_id.in_(chunk),
                    Event.kind.in_(MOVE_KINDS),
                    Event.id <= last,
                )
            )
            .order_by(Event.request_id, Event.id)
        ):
            target = (data or {}).get("to")
            if isinstance(target, str):
                moves[request_id].append((event_id, target))
    statuses: dict[int, str] = {}
    for update in found:
        status = "new"
        for event_id, target in moves[update.request_id]:
            if event_id > update.id:
                break
            status = target
        statuses[update.id] = status
    return statuses


def update_rows(
    session: Session, found: Sequence[Update], *, settings: Settings
) -> list[dict[str, Any]]:
    """FixMyStreet's ``request_update`` fields for each update, nothing personal: ``author`` is
    ``resident`` or ``city``, never a name; ``media_url`` only when the update has media."""
    statuses = _statuses(session, found)
    rows = []
    for event in found:
        status = statuses[event.id]
        data = event.data or {}
        media = None
        if event.kind == "photo_added" and data.get("photo_id"):
            media = photo_url(settings, event.reference, int(data["photo_id"]))
        elif isinstance(data.get("media_url"), str):
            media = data["media_url"]
        row = {
            "update_id": str(event.id),
            "service_request_id": event.reference,
            "status": STATUS_NAMES.get(status, "open"),
            "external_status_code": status,
            "updated_datetime": local(event.created_at, settings),
            "description": note_text(cast(Event, event)),  # the same fields as an Event's
            "update_type": event.kind,
            "author": "resident" if event.actor_kind == "resident" else "city",
        }
        # Only when there is one: FixMyStreet's client (XML::Simple) reads an empty element as
        # a hash, which is true, and then tries to download it.
        if media is not None:
            row["media_url"] = media
        rows.append(row)
    return rows


# -- the reporter's reply from an app -------------------------------------------------------


def token_matches(request: ServiceRequest, token: str | None) -> bool:
    """Whether ``token`` is the reporter's for ``request``: the token its ``POST requests``
    answered with, or the private tracking link's token."""
    if not token or len(token) > 200:
        return False
    if request.api_token and hmac.compare_digest(request.api_token.encode(), token.encode()):
        return True
    return access.token_matches(token, request.tracking_token_hash)


@dataclass(frozen=True)
class Reply:
    """A checked reply: the reporter's text, whether they say it is not fixed, the client's
    own id for it and a link to its media."""

    description: str
    reopen: bool
    client_update_id: str | None
    media_url: str | None


def parse_reply(form: Mapping[str, str]) -> Reply:
    """The reply fields of a POST. Raises ``UpdatesError(400)`` listing every problem."""
    problems: list[str] = []
    description = _value(form, "description") or ""
    if not description:
        problems.append("description was not provided: write the reply's text.")
    elif len(description) > conversation.MAX_MESSAGE:
        problems.append(
            f"description must be at most {conversation.MAX_MESSAGE} characters; "
            f"it has {len(description)}."
        )
    status = (_value(form, "status") or "").lower()
    if status and status not in OPEN_WORDS:
        problems.append(
            f"status '{status[:40]}' cannot be sent by a resident: send open (or reopen) to say "
            "the problem is not fixed, or leave it out."
        )
    client_id = _value(form, "update_id")
    if client_id is not None and len(client_id) > CLIENT_ID_MAX:
        problems.append(f"update_id must be at most {CLIENT_ID_MAX} characters.")
    media_url = _value(form, "media_url")
    if media_url is not None and (
        len(media_url) > MEDIA_URL_MAX or not media_url.lower().startswith(("https://", "http://"))
    ):
        problems.append(
            f"media_url must be an http(s) address of at most {MEDIA_URL_MAX} characters."
        )
    if problems:
        raise UpdatesError(400, *problems)
    return Reply(description, bool(status), client_id, media_url)


def earlier_reply(
    session: Session, request: ServiceRequest, *, api_key: ApiKey, client_update_id: str
) -> Event | None:
    """The update this key already made on ``request`` with the client's ``update_id``."""
    for event in session.scalars(
        select(Event)
        .where(Event.request_id == request.id, Event.actor_kind == "resident")
        .order_by(Event.id.desc())
        .limit(500)
    ):
        data = event.data or {}
        if data.get("api_key_id") == api_key.id and data.get("update_id") == client_update_id:
            return event
    return None


@dataclass(frozen=True)
class StoredUpload:
    storage_key: str
    width: int
    height: int
    size_bytes: int
    name: str
    phash: str | None


def post_reply(
    session: Session,
    *,
    settings: Settings,
    request: ServiceRequest,
    reply: Reply,
    api_key: ApiKey,
    photos: Sequence[StoredUpload] = (),
) -> tuple[Event, bool]:
    """The reporter's reply through the web's own path; returns ``(event, created)`` (not
    created: the client's ``update_id`` was already used here, nothing is added).

    On an open request it is ``resident_reply`` (an ``answer`` when staff asked, else a
    ``comment``). On a resolved or closed one it is ``reopen`` when ``reply.reopen`` (within
    the portal's reopening window), else refused. Photos are added after it, as the web
    does. Raises ``UpdatesError`` 409 (closed, or too late to reopen) or 400 (too many
    photos). Flushes; the caller commits (and removes the photo files on an error)."""
    if reply.client_update_id is not None:
        earlier = earlier_reply(
            session, request, api_key=api_key, client_update_id=reply.client_update_id
        )
        if earlier is not None:
            return earlier, False
    reporter = request.reporter
    try:
        if request.is_open:
            event = conversation.resident_reply(
                session, settings=settings, request=request, body=reply.description, actor=reporter
            )
        elif reply.reopen:
            event = conversation.reopen(
                session,
                settings=settings,
                request=request,
                comment=reply.description,
                actor=reporter,
            )
        else:
            raise conversation.RequestClosed()
        for photo in photos:
            conversation.add_photo(
                session,
                request=request,
                storage_key=photo.storage_key,
                width=photo.width,
                height=photo.height,
                size_bytes=photo.size_bytes,
                original_name=photo.name,
                actor=reporter,
                phash=photo.phash,
            )
    except conversation.ReopenNotAllowed as exc:
        if exc.code == "window":
            raise UpdatesError(
                409,
                f"This request was resolved more than {settings.reopen_days} days ago, so it "
                "can no longer be reopened: file a new request.",
            ) from exc
        raise UpdatesError(
            409, "This request is closed (not accepted or a duplicate) and cannot be reopened."
        ) from exc
    except conversation.RequestClosed as exc:
        raise UpdatesError(
            409,
            "This request is closed for replies. If the problem is not fixed, send status=open "
            f"with the reply to reopen it (within {settings.reopen_days} days of its "
            "resolution).",
        ) from exc
    except conversation.TooManyPhotos as exc:
        raise UpdatesError(
            400, f"A request can hold up to {conversation.MAX_REQUEST_PHOTOS} photos."
        ) from exc
    data: dict[str, Any] = {"app": api_key.label, "api_key_id": api_key.id}
    if reply.client_update_id is not None:
        data["update_id"] = reply.client_update_id
    if reply.media_url is not None:
        data["media_url"] = reply.media_url
    event.data = {**(event.data or {}), **data}
    session.flush()
    return event, True


def store_uploads(uploads: Sequence[Upload], *, settings: Settings) -> list[StoredUpload]:
    """Check and re-encode a reply's photos (at most ``settings.max_photos``) as the filing
    does. Raises ``UpdatesError(400)`` naming each refused file (nothing is kept then)."""
    files = [u for u in uploads if u.filename or u.field]
    if len(files) > settings.max_photos:
        raise UpdatesError(
            400,
            f"At most {settings.max_photos} photos may be sent with a reply; "
            f"{len(files)} were sent.",
        )
    stored: list[StoredUpload] = []
    problems: list[str] = []
    for upload in files:
        name = (upload.filename or upload.field)[:200]
        try:
            photo = store_photo(upload.stream, settings=settings)
        except PhotoError as exc:
            problems.append(photo_message(upload.field, name, exc.code, settings))
            continue
        stored.append(
            StoredUpload(
                photo.storage_key, photo.width, photo.height, photo.size_bytes, name, photo.phash
            )
        )
    if problems:
        cleanup(settings, stored)
        raise UpdatesError(400, *problems)
    return stored


def cleanup(settings: Settings, photos: Sequence[StoredUpload]) -> None:
    """Remove stored photo files of a refused reply."""
    for photo in photos:
        delete_photo_file(settings, photo.storage_key)
