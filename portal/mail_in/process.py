"""The one processor every way in hands a stored message to (SMTP/LMTP, IMAP, the retry job).

In order: loops and floods (auto-replies, bounces and reports, our own mail) are dropped and
never answered; a message too large or carrying a program, script or archive is refused with an
answer saying why; then the message is threaded to its case (``threads``) and becomes what the
case's own conversation functions make of it, or, sent to the intake address, a new request
(``intake``). Whatever happens, the raw message stays stored and ``mail.outcome`` says what
became of it. Runs inside the caller's transaction (flush, never commit).
"""

from __future__ import annotations

import email
import email.policy
import io
from dataclasses import dataclass
from datetime import datetime
from email.message import Message
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.auth.models import User
from portal.casework import service as casework
from portal.core.config import Settings
from portal.mail_in import intake, outgoing, rules, threads
from portal.mail_in.body import Attachment, attachments, reply_body
from portal.mail_in.models import InboundMail
from portal.mail_in.receive import parse_headers
from portal.requests import photos, updates
from portal.requests.events import add_event
from portal.requests.models import Event, ServiceRequest

#: Outcomes that put something on a case.
LANDED = frozenset(
    {"comment", "answer", "staff_reply", "internal_note", "review_note", "reopened", "closed_note"}
)
#: Outcomes of messages dropped without an answer.
DROPPED = frozenset({"auto_reply", "bounce", "looped", "duplicate"})


@dataclass
class Incoming:
    """A message being processed: the row, the parsed message and who sent it."""

    mail: InboundMail
    msg: Message
    sender: str
    sender_name: str
    envelope_to: list[str]


def parse(raw: bytes, *, headers_only: bool = False) -> Message:
    """The message in ``raw``; its headers only when ``headers_only`` or when the body cannot
    be parsed at all (never raises)."""
    if not headers_only:
        try:
            return email.message_from_bytes(raw, policy=email.policy.default)
        except Exception:  # noqa: BLE001 - malformed MIME is kept, and read as far as it goes
            pass
    return parse_headers(raw)


def process(session: Session, settings: Settings, now: datetime, mail: InboundMail) -> str:
    """Process ``mail`` once and return its outcome (a processed message returns the outcome
    it had). Raises on a database or programming error: the caller rolls back and records the
    failure (``retry``), the message is tried again later."""
    if mail.state == "processed":
        return mail.outcome
    mail.last_error = ""  # a note of what was not taken may be written while deciding
    outcome, request_id = _decide(session, settings, now, mail)
    mail.outcome = outcome
    mail.request_id = request_id
    mail.state = "processed"
    mail.processed_at = now
    session.flush()
    return outcome


def _decide(
    session: Session, settings: Settings, now: datetime, mail: InboundMail
) -> tuple[str, int | None]:
    too_large = mail.size > settings.mail_in_max_bytes
    msg = parse(mail.raw_bytes(), headers_only=too_large)
    name, address = rules.sender(msg)
    if not address and "@" in mail.envelope_from:
        address = mail.envelope_from.strip().strip("<>").lower()
    dropped = _dropped(settings, mail, msg, address)
    if dropped is not None:
        return dropped, None
    earlier = _same_message(session, mail, address)
    if earlier is not None:
        return "duplicate", earlier.request_id
    incoming = Incoming(mail, msg, address, name, mail.envelope_recipients)

    if too_large:
        return _refuse(session, settings, now, incoming, "too_large", []), None
    body = reply_body(msg)
    found_attachments = attachments(msg)
    forbidden = [
        a.filename or a.content_type
        for a in found_attachments
        if rules.forbidden_attachment(a.filename, a.content_type, a.data)
    ]
    if forbidden:
        return _refuse(session, settings, now, incoming, "forbidden", forbidden), None

    found = threads.find_thread(
        session, settings, msg, envelope_to=incoming.envelope_to, sender=address
    )
    images = [a for a in found_attachments if rules.is_image(a.filename, a.content_type)]
    if found.thread is not None:
        text = (body.text or "").strip()
        if not text:
            return "empty", found.thread.request.id
        outcome = _on_case(session, settings, incoming, found.thread, text, images)
        return outcome, found.thread.request.id
    if _to_intake(settings, incoming):
        return intake.file_request(
            session,
            settings,
            now,
            mail=mail,
            msg=msg,
            sender=address,
            sender_name=name,
            text=(body.text or body.full_text or "").strip(),
            images=images,
        )
    if found.bad_token:
        return "forged_token", None
    if found.unknown_case:
        return "unknown_case", None
    return "unmatched", None


def _dropped(settings: Settings, mail: InboundMail, msg: Message, address: str) -> str | None:
    """Why the message is dropped unanswered: "bounce", "auto_reply", "looped" (our own
    mail), "no_sender"; None when it is not."""
    smtp = mail.via in ("smtp", "lmtp")
    automatic = rules.automatic_kind(msg, envelope_from=mail.envelope_from if smtp else None)
    if automatic is not None:
        return automatic
    own = {
        "reply_domain": settings.reply_domain,
        "mail_from": settings.mail_from,
        "intake": settings.mail_intake,
    }
    if rules.is_our_own(address, **own) or (smtp and rules.is_our_own(mail.envelope_from, **own)):
        return "looped"
    return None if address else "no_sender"


def _same_message(session: Session, mail: InboundMail, sender: str) -> InboundMail | None:
    """The same message (its Message-ID, from the same sender) processed before: delivered
    again by another way in (IMAP after SMTP, a second route), with other trace headers."""
    if not mail.message_id:
        return None
    return session.scalar(
        select(InboundMail)
        .where(
            InboundMail.message_id == mail.message_id,
            InboundMail.from_address == sender,
            InboundMail.id != mail.id,
            InboundMail.state == "processed",
        )
        .order_by(InboundMail.id)
        .limit(1)
    )


def _to_intake(settings: Settings, incoming: Incoming) -> bool:
    intake_address = settings.mail_intake.strip().lower()
    if not intake_address:
        return False
    named = [a.strip().strip("<>").lower() for a in incoming.envelope_to]
    named += rules.recipients(incoming.msg)
    return intake_address in named


def _refuse(
    session: Session,
    settings: Settings,
    now: datetime,
    incoming: Incoming,
    reason: str,
    names: list[str],
) -> str:
    """Answer why the message is refused (unless the address had its hour's answers)."""
    if outgoing.may_answer(session, settings, address=incoming.sender, now=now):
        subject = rules.header(incoming.msg, "Subject")
        locale = rules.language(
            incoming.msg,
            subject,
            languages=settings.languages,
            default=settings.default_language,
        )
        outgoing.queue_refusal(
            session,
            settings,
            to=incoming.sender,
            locale=locale,
            reason=reason,
            subject=subject[:200],
            names=names[:10],
            mail_id=incoming.mail.id,
        )
    return "refused"


# -- on a case ----------------------------------------------------------------------------------


def _staff_sender(session: Session, thread: threads.Thread, address: str) -> User | None:
    """The staff member who answers: the token's user, whose email is the sender's."""
    token = thread.token
    if token is None or token.role not in ("p", "i") or not token.user_id:
        return None
    user = session.get(User, token.user_id)
    if user is None or not user.active or not user.is_staff:
        return None
    return user if (user.email or "").lower() == address else None


def _fit(text: str) -> str:
    if len(text) <= updates.MAX_MESSAGE:
        return text
    return text[: updates.MAX_MESSAGE - 1].rstrip() + "…"


def _tag(session: Session, event: Event, incoming: Incoming, **extra: Any) -> None:
    event.data = {**(event.data or {}), "via": "email", "mail_id": incoming.mail.id, **extra}
    session.flush()


def _on_case(
    session: Session,
    settings: Settings,
    incoming: Incoming,
    thread: threads.Thread,
    text: str,
    images: list[Attachment],
) -> str:
    request = thread.request
    text = _fit(text)
    staff = _staff_sender(session, thread, incoming.sender)
    if staff is not None and thread.token is not None:
        if thread.token.role == "p":
            event = casework.reply(
                session,
                settings=settings,
                request=request,
                body=text,
                actor=staff,
                version=request.version,
            )
            _tag(session, event, incoming)
            return "staff_reply"
        event = casework.add_internal_note(session, request=request, body=text, actor=staff)
        _tag(session, event, incoming)
        return "internal_note"
    if threads.is_reporter(request, incoming.sender):
        outcome = _from_reporter(session, settings, incoming, request, text)
        if outcome in ("comment", "answer", "reopened"):
            _reporter_photos(session, settings, incoming, request, images)
        return outcome
    follower = threads.is_follower(session, request, incoming.sender)
    _note(session, incoming, request, text, action="email_review", follower=follower)
    return "review_note"


def _from_reporter(
    session: Session,
    settings: Settings,
    incoming: Incoming,
    request: ServiceRequest,
    text: str,
) -> str:
    reporter = request.reporter
    actor = reporter if reporter is not None and reporter.email.lower() == incoming.sender else None
    if request.is_open:
        event = updates.resident_reply(
            session, settings=settings, request=request, body=text, actor=actor
        )
        _tag(session, event, incoming)
        return "answer" if event.kind == "answer" else "comment"
    try:
        event = updates.reopen(
            session, settings=settings, request=request, comment=text, actor=actor
        )
    except updates.ReopenNotAllowed:
        _note(session, incoming, request, text, action="email_closed")
        return "closed_note"
    _tag(session, event, incoming)
    return "reopened"


def _reporter_photos(
    session: Session,
    settings: Settings,
    incoming: Incoming,
    request: ServiceRequest,
    images: list[Attachment],
) -> None:
    """The reporter's photos in a reply join the case, as on the tracking page (the same checks
    and re-encoding as uploads, public when the request is, up to the request's limit); what
    was not taken, and why, is kept on the mail row. Others' photos stay in the original."""
    reporter = request.reporter
    actor = reporter if reporter is not None and reporter.email.lower() == incoming.sender else None
    refused: list[str] = []
    for image in intake.photo_candidates(images):
        name = (image.filename or image.content_type)[:200]
        try:
            stored = photos.store_photo(io.BytesIO(image.data), settings=settings)
        except photos.PhotoError as exc:
            refused.append(f"{name}: {exc.code}")
            continue
        try:
            updates.add_photo(
                session,
                request=request,
                storage_key=stored.storage_key,
                width=stored.width,
                height=stored.height,
                size_bytes=stored.size_bytes,
                original_name=image.filename or "",
                actor=actor,
                phash=stored.phash,
            )
        except (updates.TooManyPhotos, updates.RequestClosed):
            photos.delete_photo_file(settings, stored.storage_key)
            refused.append(f"{name}: too_many")
    if refused:
        incoming.mail.last_error = ("photos not taken: " + "; ".join(refused))[:2000]


def _note(
    session: Session,
    incoming: Incoming,
    request: ServiceRequest,
    text: str,
    *,
    action: str,
    **extra: Any,
) -> Event:
    """An internal note for staff carrying the email's text (``action`` "email_review": from
    someone who is neither the reporter nor the token's staff member, to be checked;
    "email_closed": the reporter wrote after the case closed for good)."""
    event = add_event(
        session,
        request,
        "internal_note",
        actor_kind="system",
        body=text,
        data={"action": action, "from": incoming.sender, **extra},
    )
    _tag(session, event, incoming)
    return event


__all__ = ["DROPPED", "LANDED", "parse", "process"]
