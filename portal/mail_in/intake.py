"""A new email to the intake address (``settings.mail_intake``) becomes a new request through
``submit_request()`` on channel "email": the sender is the contact, the subject and text the
description, image attachments its photos (the same checks and re-encoding as uploads), filed
under ``settings.mail_intake_category`` (whose department's queue triages it) with the address
as text for staff to place. ``submit_request`` queues the confirmation, in the sender's
language, with the tracking link, threaded to the case so an answer lands on it."""

from __future__ import annotations

import io
import re
from datetime import datetime
from email.message import Message

from sqlalchemy.orm import Session

from portal.core.config import Settings
from portal.core.i18n import _l
from portal.core.i18n import gettext as translate
from portal.mail_in import outgoing, rules
from portal.mail_in.body import Attachment
from portal.mail_in.models import InboundMail
from portal.requests import photos
from portal.requests.events import add_event
from portal.requests.models import RequestPhoto
from portal.requests.service import (
    ADDRESS_MAX,
    DESCRIPTION_MAX,
    NAME_MAX,
    Filing,
    FilingError,
    active_category,
    submit_request,
)

#: The address of a request filed by email until staff place it (the case page offers the
#: address search for an address that was not found).
NO_ADDRESS = _l("Not given (sent by email)")
#: The category a new email is filed under when city.toml's [mail] intake_category and
#: PORTAL_MAIL_INTAKE_CATEGORY name none.
DEFAULT_INTAKE_CATEGORY = "general"
#: Inline images smaller than this are taken for logos and signatures, not photos.
MIN_INLINE_PHOTO_BYTES = 20_000
#: How many address-like phrases of an email are looked up in the city's address register.
MAX_ADDRESS_TRIES = 5
_ADDRESS_LINE = re.compile(
    r"\b\d{1,6}\s+[A-Za-zÁÉÍÓÚÑáéíóúñ][\wÁÉÍÓÚÑáéíóúñ.' -]{2,60}", re.UNICODE
)


class IntakeNotConfigured(RuntimeError):
    """The intake category is missing or inactive: the message waits (retried, then parked
    with this reason) until the city configures one."""


def _description(subject: str, text: str) -> str:
    parts = [p for p in (subject.strip(), text.strip()) if p]
    description = "\n\n".join(parts)
    if len(description) > DESCRIPTION_MAX:
        description = description[: DESCRIPTION_MAX - 1].rstrip() + "…"
    return description


def _address(session: Session, subject: str, text: str) -> str:
    """A street address the email names that the city's register knows, else ""."""
    from portal.places.geocode import geocode

    tried = 0
    for line in [subject, *text.splitlines()[:30]]:
        for match in _ADDRESS_LINE.finditer(line):
            candidate = match.group(0).strip(" .,")[:ADDRESS_MAX]
            answer = geocode(session, candidate)
            if answer.found and answer.match is not None:
                return candidate
            tried += 1
            if tried >= MAX_ADDRESS_TRIES:
                return ""
    return ""


def photo_candidates(images: list[Attachment]) -> list[Attachment]:
    """The images worth taking as photos, attached ones first: an inline image smaller than
    ``MIN_INLINE_PHOTO_BYTES`` is a logo or a signature."""
    return [a for a in images if not a.inline] + [
        a for a in images if a.inline and len(a.data) >= MIN_INLINE_PHOTO_BYTES
    ]


def _photos(
    session: Session, settings: Settings, images: list[Attachment]
) -> tuple[list[int], list[str]]:
    """Store the images as draft photos; returns their ids and what was not taken, and why."""
    ordered = photo_candidates(images)
    ids: list[int] = []
    refused: list[str] = []
    for image in ordered:
        name = (image.filename or image.content_type)[:200]
        if len(ids) >= settings.max_photos:
            refused.append(f"{name}: too_many")
            continue
        try:
            stored = photos.store_photo(io.BytesIO(image.data), settings=settings)
        except photos.PhotoError as exc:
            refused.append(f"{name}: {exc.code}")
            continue
        photo = RequestPhoto(
            storage_key=stored.storage_key,
            width=stored.width,
            height=stored.height,
            size_bytes=stored.size_bytes,
            original_name=(image.filename or "")[:200],
            phash=stored.phash,
        )
        session.add(photo)
        session.flush()
        ids.append(photo.id)
    return ids, refused


def file_request(
    session: Session,
    settings: Settings,
    now: datetime,
    *,
    mail: InboundMail,
    msg: Message,
    sender: str,
    sender_name: str,
    text: str,
    images: list[Attachment],
) -> tuple[str, int | None]:
    """File the email as a new request; (outcome, request id). Outcomes: "new_request",
    "rate_limited" (the address had its hour's answers: kept for an admin, nothing filed),
    "empty" (no words and no photo), "invalid_sender" (the From address is not one we could
    answer). Raises ``IntakeNotConfigured``."""
    code = settings.mail_intake_category or DEFAULT_INTAKE_CATEGORY
    category = active_category(session, code)
    if category is None:
        raise IntakeNotConfigured(
            f"no active intake category {code!r} (city.toml [mail] intake_category, or "
            "PORTAL_MAIL_INTAKE_CATEGORY)"
        )
    subject = rules.header(msg, "Subject")
    if not subject.strip() and not text.strip() and not images:
        return "empty", None
    if not outgoing.may_answer(session, settings, address=sender, now=now):
        return "rate_limited", None
    locale = rules.language(
        msg,
        f"{subject}\n{text}",
        languages=settings.languages,
        default=settings.default_language,
    )
    photo_ids, refused = _photos(session, settings, images)
    address = _address(session, subject, text) or translate(locale, NO_ADDRESS)
    filing = Filing(
        category_code=category.code,
        description=_description(subject, text) or translate(locale, NO_ADDRESS),
        address=address,
        contact_name=sender_name.strip()[:NAME_MAX],
        contact_email=sender,
        locale=locale,
        channel="email",
        photo_ids=photo_ids,
    )
    try:
        submitted = submit_request(session, settings=settings, filing=filing)
    except FilingError as exc:
        if "email" in exc.errors:
            return "invalid_sender", None
        raise
    request = submitted.request
    add_event(
        session,
        request,
        "internal_note",
        actor_kind="system",
        body="\n".join(refused),
        data={
            "action": "email_filed",
            "via": "email",
            "mail_id": mail.id,
            "from": sender,
            "refused_photos": refused,
        },
    )
    return "new_request", request.id
