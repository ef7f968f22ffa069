"""What the admins' mail page reads: the inbound mail newest first (keyset pages, optionally
one state or outcome) and what needs a person first (parked, then landed nowhere); and
putting a parked or failed message back to be processed.

Domain module (no Flask): functions take ``session`` (and ``now``) explicitly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, defer

from portal.core.keyset import decode_cursor, encode_cursor, keyset
from portal.mail_in.models import InboundMail

PAGE_SIZE = 50
#: How many of each kind the "needs attention" part of the page shows (a link lists them all).
ATTENTION_LIMIT = 20
#: Outcomes of messages processed but put nowhere: a person decides what they are.
UNPLACED = ("unmatched", "unknown_case", "forged_token", "no_sender")
#: States a message can be sent back to processing from.
RETRYABLE = ("parked", "failed")
_CURSOR = "mail"
_KINDS = ("int",)


@dataclass
class MailPage:
    rows: list[InboundMail]
    next_cursor: str | None  # older messages
    previous_cursor: str | None  # newer messages


@dataclass
class Attention:
    parked: list[InboundMail] = field(default_factory=list)
    unplaced: list[InboundMail] = field(default_factory=list)


def _listed() -> Any:
    return select(InboundMail).options(defer(InboundMail.raw_gz), defer(InboundMail.last_error))


def mail_page(
    session: Session,
    *,
    state: str | None = None,
    outcome: str | None = None,
    after: str | None = None,
    before: str | None = None,
    per_page: int = PAGE_SIZE,
) -> MailPage:
    """One page of inbound mail, newest first; ``after`` a cursor of older, ``before`` of
    newer messages (a bad cursor gives the first page)."""
    query = _listed()
    if state:
        query = query.where(InboundMail.state == state)
    if outcome:
        query = query.where(InboundMail.outcome == outcome)
    older = decode_cursor(after, _CURSOR, _KINDS)
    newer = decode_cursor(before, _CURSOR, _KINDS) if older is None else None
    keys: list[Any] = [InboundMail.id]
    # keyset() pages ascending; newest first is its pages read backwards.
    if newer is not None:
        rows, more_older, more_newer = keyset(
            session, query, keys, after=newer, before=None, per_page=per_page
        )
    else:
        bound = older if older is not None else [2**62]
        rows, more_older, _ = keyset(
            session, query, keys, after=None, before=bound, per_page=per_page
        )
        more_newer = older is not None
    mails = [row[0] for row in reversed(rows)]
    return MailPage(
        rows=mails,
        next_cursor=encode_cursor(_CURSOR, [mails[-1].id]) if mails and more_older else None,
        previous_cursor=encode_cursor(_CURSOR, [mails[0].id]) if mails and more_newer else None,
    )


def attention(session: Session, *, limit: int = ATTENTION_LIMIT) -> Attention:
    """The newest parked messages and the newest processed ones that landed nowhere."""
    newest = InboundMail.id.desc()
    parked = session.scalars(
        _listed().where(InboundMail.state == "parked").order_by(newest).limit(limit)
    )
    unplaced = session.scalars(
        _listed()
        .where(InboundMail.state == "processed", InboundMail.outcome.in_(UNPLACED))
        .order_by(newest)
        .limit(limit)
    )
    return Attention(parked=list(parked), unplaced=list(unplaced))


class NotRetryable(Exception):
    """The message is not parked or failed (already processed, or being processed)."""


def queue_again(session: Session, mail: InboundMail, *, now: datetime) -> None:
    """Put a parked or failed message back to be processed now, with a fresh set of attempts
    (its last error is kept until it is processed). Raises NotRetryable otherwise."""
    if mail.state not in RETRYABLE:
        raise NotRetryable(mail.state)
    mail.state = "received"
    mail.outcome = ""
    mail.attempts = 0
    mail.next_attempt_at = now
    session.flush()
