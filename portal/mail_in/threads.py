"""Which case a message answers: the reply token, then the threading headers, then a case
reference in the subject (only from the case's reporter or a follower). A merged case's mail
lands on the case it was merged into."""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.message import Message

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal.core.config import Settings
from portal.core.outbox import OutboxMessage
from portal.core.replies import ReplyToken, read_token, token_in_address
from portal.mail_in import rules
from portal.requests.models import Follower, ServiceRequest

#: How many merges a case's mail follows to the surviving case.
MAX_MERGE_HOPS = 10
#: How many Message-IDs of References are looked up (the root and the newest matter).
MAX_REFERENCES = 20


@dataclass(frozen=True)
class Thread:
    """The case a message answers. ``via`` is "token", "headers" or "subject"; ``token`` is the
    verified reply token (only when ``via`` is "token"); ``merged_from`` the reference of the
    case it named when that case was merged into ``request``."""

    request: ServiceRequest
    via: str
    token: ReplyToken | None = None
    merged_from: str | None = None


@dataclass(frozen=True)
class Found:
    thread: Thread | None
    #: A ``reply+...`` address whose token is malformed or forged was seen (and ignored).
    bad_token: bool = False
    #: A token, header or subject named a case that does not exist (any more).
    unknown_case: bool = False


def surviving(session: Session, request: ServiceRequest) -> ServiceRequest:
    """The case ``request`` was merged into (following merges), or ``request`` itself."""
    current = request
    for _ in range(MAX_MERGE_HOPS):
        if current.duplicate_of_id is None:
            return current
        into = session.get(ServiceRequest, current.duplicate_of_id)
        if into is None:
            return current
        current = into
    return current


def _thread(session: Session, request: ServiceRequest, via: str, **kw: object) -> Thread:
    kept = surviving(session, request)
    merged = request.reference if kept.id != request.id else None
    return Thread(kept, via, merged_from=merged, **kw)  # type: ignore[arg-type]


def find_thread(
    session: Session,
    settings: Settings,
    msg: Message,
    *,
    envelope_to: list[str],
    sender: str,
) -> Found:
    """The case ``msg`` belongs to, by token, headers or subject (in that order)."""
    bad_token = unknown = False
    for address in [*envelope_to, *rules.recipients(msg)]:
        raw = token_in_address(address)
        if raw is None:
            if address.lower().startswith(("reply+", "<reply+")):
                bad_token = True  # a reply+ address whose token was cut or mangled
            continue
        if address.rpartition("@")[2].strip(">").lower() != settings.reply_domain:
            continue
        token = read_token(settings.secret_key, raw)
        if token is None:
            bad_token = True
            continue
        request = session.get(ServiceRequest, token.request_id)
        if request is None:
            unknown = True
            continue
        return Found(_thread(session, request, "token", token=token), bad_token, unknown)

    by_headers = _by_headers(session, settings, msg)
    if by_headers is not None:
        return Found(_thread(session, by_headers, "headers"), bad_token, unknown)

    reference = _subject_reference(settings, rules.header(msg, "Subject"))
    if reference is not None:
        request = session.scalar(
            select(ServiceRequest).where(ServiceRequest.reference == reference)
        )
        if request is None:
            unknown = True
        elif sender and (is_reporter(request, sender) or is_follower(session, request, sender)):
            return Found(_thread(session, request, "subject"), bad_token, unknown)
    return Found(None, bad_token, unknown)


def _by_headers(session: Session, settings: Settings, msg: Message) -> ServiceRequest | None:
    """The case whose email (or root Message-ID) In-Reply-To or References names."""
    ids = rules.message_ids(rules.header(msg, "In-Reply-To"))
    ids += [i for i in rules.message_ids(rules.header(msg, "References")) if i not in ids]
    ids = ids[:MAX_REFERENCES] + ids[-MAX_REFERENCES:] if len(ids) > MAX_REFERENCES * 2 else ids
    if not ids:
        return None
    domain = "@" + settings.reply_domain
    ours = [i for i in ids if i.lower().endswith(domain + ">")]
    if not ours:
        return None
    reference = session.scalar(
        select(OutboxMessage.thread_ref)
        .where(OutboxMessage.message_id.in_(ours), OutboxMessage.thread_ref.is_not(None))
        .order_by(OutboxMessage.id.desc())
        .limit(1)
    )
    candidates = [reference] if reference else []
    # The case's root id "<sr-2026-000123@domain>" (never sent, named by every email of the
    # case), or one of its emails' "<sr-2026-000123.<hex>@domain>" whose row is gone.
    for message_id in ours:
        local = message_id[1:].rpartition("@")[0].partition(".")[0]
        if local:
            candidates.append(local)
    for candidate in candidates:
        request = session.scalar(
            select(ServiceRequest).where(func.lower(ServiceRequest.reference) == candidate.lower())
        )
        if request is not None:
            return request
    return None


def _subject_reference(settings: Settings, subject: str) -> str | None:
    prefix = re.escape(settings.reference_prefix)
    match = re.search(rf"\b{prefix}-(\d{{4}})-(\d{{1,9}})\b", subject or "", re.IGNORECASE)
    if match is None:
        return None
    year, number = match.groups()
    return f"{settings.reference_prefix}-{year}-{int(number):06d}"


def is_reporter(request: ServiceRequest, address: str) -> bool:
    """True when ``address`` is the request's contact email or its reporter's account email."""
    address = (address or "").strip().lower()
    if not address:
        return False
    emails = {(request.contact_email or "").lower()}
    if request.reporter is not None:
        emails.add((request.reporter.email or "").lower())
    return address in emails


def is_follower(session: Session, request: ServiceRequest, address: str) -> bool:
    """True when ``address`` follows the request (a confirmed follow)."""
    return (
        session.scalar(
            select(Follower.id)
            .where(
                Follower.request_id == request.id,
                func.lower(Follower.email) == (address or "").strip().lower(),
                Follower.confirmed_at.is_not(None),
            )
            .limit(1)
        )
        is not None
    )
