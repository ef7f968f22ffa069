"""Storing a message as it arrives: before anything else, so nothing is ever lost."""

from __future__ import annotations

import email.policy
import hashlib
import zlib
from collections.abc import Callable, Sequence
from datetime import datetime
from email.message import EmailMessage
from email.parser import BytesHeaderParser
from email.utils import getaddresses

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from portal.core.config import Settings
from portal.mail_in.models import VIAS, InboundMail


def _header(headers: EmailMessage, name: str) -> str:
    """A header's decoded value, "" when it is missing or cannot be parsed."""
    try:
        value = headers.get(name)
        return " ".join(str(value).split()) if value is not None else ""
    except Exception:  # noqa: BLE001 - a malformed header is stored as empty, never raised
        try:
            raw = headers.get_all(name, failobj=[])
            return " ".join(str(raw[0]).split()) if raw else ""
        except Exception:  # noqa: BLE001
            return ""


def from_address(headers: EmailMessage) -> str:
    """The bare address of the From header, lower-cased, or ""."""
    value = _header(headers, "From")
    try:
        pairs = getaddresses([value])
    except Exception:  # noqa: BLE001
        return ""
    for _name, address in pairs:
        if "@" in address:
            return address.strip().lower()
    return ""


def parse_headers(raw: bytes) -> EmailMessage:
    """The headers of ``raw`` only (the body is not parsed), never raising."""
    try:
        parsed = BytesHeaderParser(policy=email.policy.default).parsebytes(raw)
    except Exception:  # noqa: BLE001
        parsed = EmailMessage()
    assert isinstance(parsed, EmailMessage)
    return parsed


def accept(
    session: Session,
    raw: bytes,
    *,
    via: str,
    envelope_from: str = "",
    envelope_to: Sequence[str] = (),
    now: datetime,
) -> InboundMail:
    """Store ``raw`` as delivered (flush; the caller commits) and return its row, state
    "received". The same bytes delivered again return the row already stored. Never raises on
    malformed input: headers that cannot be parsed are stored as empty strings. Refuses
    nothing: limits are decided when it is processed (the raw message is kept)."""
    if via not in VIAS:
        raise ValueError(f"via must be one of {VIAS}, not {via!r}")
    digest = hashlib.sha256(raw).hexdigest()
    existing = session.scalar(select(InboundMail).where(InboundMail.digest == digest))
    if existing is not None:
        return existing
    headers = parse_headers(raw)
    mail = InboundMail(
        received_at=now,
        via=via,
        envelope_from=(envelope_from or "")[:254],
        envelope_to=",".join(a.strip() for a in envelope_to if a and a.strip())[:1000],
        digest=digest,
        message_id=_header(headers, "Message-ID")[:250],
        from_address=from_address(headers)[:254],
        subject=_header(headers, "Subject")[:300],
        size=len(raw),
        raw_gz=zlib.compress(raw, 6),
        state="received",
        attempts=0,
        next_attempt_at=now,
        last_error="",
        outcome="",
    )
    try:
        with session.begin_nested():
            session.add(mail)
            session.flush()
    except IntegrityError:
        # Delivered twice at the same moment: the other delivery stored it first.
        stored = session.scalar(select(InboundMail).where(InboundMail.digest == digest))
        if stored is None:
            raise
        return stored
    return mail


#: The settings a long-running receiver uses: fixed, or read again for each message (the
#: city's, which an import may change while it runs: its mail domain, intake address...).
SettingsSource = Settings | Callable[[], Settings]


def settings_now(source: SettingsSource) -> Settings:
    """The settings to process the next message with."""
    return source() if callable(source) else source
