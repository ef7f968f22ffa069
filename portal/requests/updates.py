"""What happens to a request after it is filed: status changes, messages, questions, reopening.

Every function checks the lifecycle (``InvalidTransition``) or raises an ``UpdateError``,
appends to the timeline with ``add_event``, and queues the emails in the same transaction
(flush, never commit). Who is told:

- the reporter (account email or contact email, in their language) on every status change,
  staff message and question that staff make;
- confirmed followers of a public request on every public status change and staff message.

Residents' own words are never emailed to followers and internal notes are never emailed. An
anonymous reporter's emails carry a signed, expiring private link (see ``access``) so they can
answer from the email.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal.auth.models import User
from portal.core import clock
from portal.core.config import Settings
from portal.core.i18n import gettext as translate
from portal.core.mail import MailThread, queue_email
from portal.requests import access, hooks
from portal.requests.events import add_event
from portal.requests.labels import status_name
from portal.requests.models import Event, Follower, RequestPhoto, ServiceRequest
from portal.requests.push_updates import push_update

MAX_MESSAGE = 2000
#: Photos a request can hold in all (filing plus later additions).
MAX_REQUEST_PHOTOS = 10
REOPENABLE = ("resolved", "closed")
_FOLLOWER_BATCH = 500


class UpdateError(ValueError):
    """A resident or staff action that cannot be done. ``code`` says why."""

    code = "invalid"

    def __init__(self, code: str | None = None) -> None:
        super().__init__(code or self.code)
        if code:
            self.code = code


class MessageRequired(UpdateError):
    code = "required"


class MessageTooLong(UpdateError):
    code = "too_long"


class RequestClosed(UpdateError):
    """Residents cannot add to a closed request (they reopen it instead)."""

    code = "closed"


class ReopenNotAllowed(UpdateError):
    """``code`` is ``status`` (not resolved or closed) or ``window`` (too long ago)."""

    code = "status"


class TooManyPhotos(UpdateError):
    code = "too_many"


def _clean(text: str) -> str:
    text = (text or "").strip()
    if not text:
        raise MessageRequired()
    if len(text) > MAX_MESSAGE:
        raise MessageTooLong()
    return text


# -- staff actions ---------------------------------------------------------------------------


def change_status(
    session: Session,
    *,
    settings: Settings,
    request: ServiceRequest,
    target: str,
    actor: User | None,
    note: str = "",
    actor_kind: str = "staff",
) -> Event:
    """Move ``request`` to ``target`` with an optional public ``note``; tell reporter/followers.

    Raises ``InvalidTransition`` for a move the lifecycle does not allow, ``MessageTooLong``.
    """
    note = (note or "").strip()
    if len(note) > MAX_MESSAGE:
        raise MessageTooLong()
    by_staff = actor_kind != "resident"
    return _move(
        session,
        settings=settings,
        request=request,
        target=target,
        kind="status_changed",
        body=note,
        actor=actor,
        actor_kind=actor_kind,
        tell_reporter=by_staff,
        with_message=by_staff,
    )


def _move(
    session: Session,
    *,
    settings: Settings,
    request: ServiceRequest,
    target: str,
    kind: str,
    body: str,
    actor: User | None,
    actor_kind: str,
    tell_reporter: bool,
    with_message: bool,
) -> Event:
    """Change status, record ``kind`` with the move in its data, and tell the followers (and
    the reporter when ``tell_reporter``). Raises ``InvalidTransition``."""
    previous = request.move_to(target)
    event = add_event(
        session,
        request,
        kind,
        actor=actor,
        actor_kind=actor_kind,
        body=body,
        data={"from": previous, "to": target},
    )
    hooks.case_status_changed.fire(
        session,
        hooks.StatusChanged(
            settings=settings,
            request=request,
            event=event,
            previous=previous,
            actor=actor,
            actor_kind=actor_kind,
        ),
    )
    if actor_kind == "staff" and (body or kind == "question"):
        hooks.staff_replied.fire(session, hooks.StaffReplied(request))
    notify(
        session,
        settings=settings,
        request=request,
        event=event,
        reporter=tell_reporter,
        followers=True,
        with_message=with_message,
    )
    return event


def post_comment(
    session: Session,
    *,
    settings: Settings,
    request: ServiceRequest,
    body: str,
    actor: User | None,
    actor_kind: str,
) -> Event:
    """A public message on the timeline. Staff messages are emailed; residents' are not."""
    body = _clean(body)
    event = add_event(session, request, "comment", actor=actor, actor_kind=actor_kind, body=body)
    hooks.comment_posted.fire(session, hooks.CommentPosted(settings, request, event))
    if actor_kind == "staff":
        hooks.staff_replied.fire(session, hooks.StaffReplied(request))
        notify(
            session,
            settings=settings,
            request=request,
            event=event,
            reporter=True,
            followers=True,
            with_message=True,
        )
    return event


def ask_resident(
    session: Session,
    *,
    settings: Settings,
    request: ServiceRequest,
    question: str,
    actor: User | None,
) -> Event:
    """Staff ask the reporter something: event ``question``, status ``waiting_on_resident``."""
    question = _clean(question)
    return _move(
        session,
        settings=settings,
        request=request,
        target="waiting_on_resident",
        kind="question",
        body=question,
        actor=actor,
        actor_kind="staff",
        tell_reporter=True,
        with_message=True,
    )


# -- the reporter's actions ------------------------------------------------------------------


def resident_reply(
    session: Session,
    *,
    settings: Settings,
    request: ServiceRequest,
    body: str,
    actor: User | None = None,
) -> Event:
    """The reporter writes to staff. Waiting for their reply, it is the ``answer`` and the
    request goes back to ``in_progress``; otherwise it is a ``comment``. Either way the
    ``resident_wrote`` hook fires (staff are told).

    Raises ``MessageRequired``, ``MessageTooLong``, ``RequestClosed``.
    """
    body = _clean(body)
    if not request.is_open:
        raise RequestClosed()
    if request.status == "waiting_on_resident":
        event = _move(
            session,
            settings=settings,
            request=request,
            target="in_progress",
            kind="answer",
            body=body,
            actor=actor,
            actor_kind="resident",
            tell_reporter=False,
            with_message=False,
        )
    else:
        event = post_comment(
            session,
            settings=settings,
            request=request,
            body=body,
            actor=actor,
            actor_kind="resident",
        )
    hooks.resident_wrote.fire(session, hooks.ResidentWrote(settings, request, event))
    return event


def reopen_deadline(settings: Settings, request: ServiceRequest) -> Any:
    """Until when the reporter may reopen ``request`` (None unless resolved or closed)."""
    if request.status not in REOPENABLE:
        return None
    resolved = request.resolved_at or request.status_changed_at
    return resolved + timedelta(days=settings.reopen_days)


def reopen(
    session: Session,
    *,
    settings: Settings,
    request: ServiceRequest,
    comment: str,
    actor: User | None = None,
    check_window: bool = True,
) -> Event:
    """The reporter says it is not fixed: event ``reopened``, status back to ``in_progress``.

    Only within ``settings.reopen_days`` of resolution (unless not ``check_window``: the
    satisfaction survey's link has its own expiry). Raises ``ReopenNotAllowed("status")``,
    ``ReopenNotAllowed("window")``, ``MessageRequired``, ``MessageTooLong``.
    """
    comment = _clean(comment)
    deadline = reopen_deadline(settings, request)
    if deadline is None:
        raise ReopenNotAllowed("status")
    if check_window and clock.now() > deadline:
        raise ReopenNotAllowed("window")
    return _move(
        session,
        settings=settings,
        request=request,
        target="in_progress",
        kind="reopened",
        body=comment,
        actor=actor,
        actor_kind="resident",
        tell_reporter=False,
        with_message=False,
    )


def add_photo(
    session: Session,
    *,
    request: ServiceRequest,
    storage_key: str,
    width: int,
    height: int,
    size_bytes: int,
    original_name: str = "",
    actor: User | None = None,
    added_by: str = "reporter",
    phash: str | None = None,
) -> RequestPhoto:
    """Attach an already re-encoded photo (see ``portal.requests.photos.store_photo``).

    The photo is public when the request is. Raises ``TooManyPhotos``, ``RequestClosed``.
    """
    if added_by == "reporter" and not request.is_open:
        raise RequestClosed()
    count = (
        session.scalar(
            select(func.count())
            .select_from(RequestPhoto)
            .where(RequestPhoto.request_id == request.id)
        )
        or 0
    )
    if count >= MAX_REQUEST_PHOTOS:
        raise TooManyPhotos()
    photo = RequestPhoto(
        request_id=request.id,
        storage_key=storage_key,
        width=width,
        height=height,
        size_bytes=size_bytes,
        original_name=original_name[:200],
        added_by=added_by,
        public=request.is_public,
        phash=phash,
    )
    session.add(photo)
    session.flush()
    add_event(
        session,
        request,
        "photo_added",
        actor=actor,
        actor_kind="resident" if added_by == "reporter" else "staff",
        data={"photo_id": photo.id},
    )
    return photo


# -- emails ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Recipient:
    email: str
    locale: str
    unsubscribe_url: str | None = None
    #: Their account (0: none), named in the Reply-To token of the emails they get.
    user_id: int = 0


def resident_thread(request: ServiceRequest, *, user_id: int | None) -> MailThread | None:
    """How an email about ``request`` to a resident (``user_id`` their account; none for the
    request's contact address or a follower without an account) threads: its Reply-To
    brings their answer back to the case as the resident's (``portal.core.replies``)."""
    if not request.reference:
        return None
    return MailThread(request.id, request.reference, user_id=user_id or 0, role="r")


def reporter_recipient(request: ServiceRequest) -> Recipient | None:
    """The reporter's address and language, if they gave an email."""
    if request.reporter is not None:
        if not request.reporter.email:
            return None
        return Recipient(
            request.reporter.email,
            request.reporter.locale or request.locale,
            user_id=request.reporter.id,
        )
    if request.contact_email:
        return Recipient(request.contact_email, request.locale or "en")
    return None


def dedupe_key(prefix: str, email: str) -> str:
    """``prefix:email``, hashed when it would not fit the outbox's 160-character key."""
    key = f"{prefix}:{email.lower()}"
    if len(key) <= 160:
        return key
    return f"{prefix}:{hashlib.sha256(email.lower().encode()).hexdigest()[:40]}"


def unsubscribe_url(settings: Settings, follower: Follower) -> str:
    return f"{settings.base_url}/follow/unsubscribe/{follower.token}"


def notify(
    session: Session,
    *,
    settings: Settings,
    request: ServiceRequest,
    event: Event,
    reporter: bool,
    followers: bool,
    with_message: bool,
) -> int:
    """Queue ``request_update`` emails about a public ``event``; returns how many were queued."""
    if not event.public:
        return 0
    queued = 0
    seen: set[str] = set()
    if reporter and (to := reporter_recipient(request)) is not None:
        seen.add(to.email.lower())
        queued += _queue_update(
            session,
            settings=settings,
            request=request,
            event=event,
            recipient=to,
            for_reporter=True,
            with_message=with_message,
        )
    if followers and request.is_public:
        last_id = 0
        while True:
            batch = list(
                session.scalars(
                    select(Follower)
                    .where(
                        Follower.request_id == request.id,
                        Follower.confirmed_at.is_not(None),
                        Follower.id > last_id,
                    )
                    .order_by(Follower.id)
                    .limit(_FOLLOWER_BATCH)
                )
            )
            for follower in batch:
                if follower.email.lower() in seen:
                    continue
                seen.add(follower.email.lower())
                to = Recipient(
                    follower.email,
                    follower.locale,
                    unsubscribe_url(settings, follower),
                    user_id=follower.user_id or 0,
                )
                queued += _queue_update(
                    session,
                    settings=settings,
                    request=request,
                    event=event,
                    recipient=to,
                    for_reporter=False,
                    with_message=with_message,
                )
            if len(batch) < _FOLLOWER_BATCH:
                break
            last_id = batch[-1].id
    push_update(
        session,
        settings=settings,
        request=request,
        event=event,
        reporter=reporter,
        followers=followers,
        with_message=with_message,
    )
    return queued


def _queue_update(
    session: Session,
    *,
    settings: Settings,
    request: ServiceRequest,
    event: Event,
    recipient: Recipient,
    for_reporter: bool,
    with_message: bool,
) -> int:
    locale = recipient.locale if recipient.locale in settings.languages else "en"
    reference = request.reference or ""
    # A private request's page only opens for its account holder or with a private link.
    link = (
        access.public_link(settings, reference)
        if request.is_public or request.reporter_id is not None
        else None
    )
    if for_reporter and request.reporter_id is None and request.tracking_token_hash:
        # An anonymous reporter can answer from the email itself.
        link = access.signed_private_link(
            settings,
            request_id=request.id,
            reference=reference,
            token_hash=request.tracking_token_hash,
        )
    message = queue_email(
        session,
        settings=settings,
        to=recipient.email,
        template="request_update",
        locale=locale,
        context={
            "reference": reference,
            "category": request.category.t("name", locale),
            "kind": event.kind,
            "status": translate(locale, status_name(request.status)),
            "status_changed": "to" in (event.data or {}),
            "message": event.body if with_message else "",
            "link": link,
            "for_reporter": for_reporter,
            # Only a city that set its mail domain receives answers (``flask mail-in``).
            "can_answer": for_reporter and event.kind == "question" and bool(settings.mail_domain),
            "unsubscribe_url": recipient.unsubscribe_url,
        },
        dedupe_key=dedupe_key(f"update:{event.id}", recipient.email),
        thread=resident_thread(request, user_id=recipient.user_id),
    )
    return 1 if message is not None else 0
