"""Ways to deliver an outbox message: SMTP in production, a folder of .eml files in development.

A sender's ``send(message)`` returns when the message has been handed over and raises
``TemporaryDeliveryError`` (try again later: connection refused, timeout, 4xx reply) or
``PermanentDeliveryError`` (retrying cannot help: 5xx recipient refused, a malformed address).
"""

from __future__ import annotations

import os
import re
import smtplib
import ssl
import time
from collections.abc import Callable
from datetime import datetime
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import format_datetime, parseaddr
from pathlib import Path
from typing import Any, ClassVar, Protocol

from portal.core import clock
from portal.core.config import ConfigError, Settings
from portal.core.db import Database
from portal.core.outbox import OutboxMessage

#: Files written by ``FileSender``: ``20260301T120000123456Z-42.eml`` (UTC time, message id).
EML_NAME_RE = re.compile(r"\A[0-9]{8}T[0-9]{12}Z-[0-9]{1,19}\.eml\Z")


class DeliveryError(Exception):
    """A message could not be handed over."""

    permanent: ClassVar[bool] = False


class TemporaryDeliveryError(DeliveryError):
    """Worth retrying later (the server is down, busy, or answered 4xx)."""


class PermanentDeliveryError(DeliveryError):
    """Retrying cannot help (the recipient was refused with 5xx, the message is malformed)."""

    permanent = True


def split_timeout(seconds: float, *, share: float, cap: float) -> tuple[float, float]:
    """An HTTP sender's (connect, read) timeouts summing to ``seconds``, so one attempt ends
    within the worker's lease on the message: connecting takes at most ``share`` of it and
    never more than ``cap`` seconds; the rest is left for the answer."""
    connect = min(cap, seconds * share)
    return connect, seconds - connect


class Sender(Protocol):
    def send(self, message: OutboxMessage) -> None:
        """Hand ``message`` over, or raise a ``DeliveryError``."""
        ...


def _domain(address: str) -> str:
    _name, addr = parseaddr(address)
    return addr.rpartition("@")[2] or "localhost"


def build_email(message: OutboxMessage, *, mail_from: str, date: datetime) -> EmailMessage:
    """The multipart/alternative email (text, then HTML) for an outbox message.

    The Message-ID depends only on the outbox row, so a retried message keeps its identity.
    Raises ``PermanentDeliveryError`` for a recipient or subject that would break the headers.
    """
    for value in (message.to_address, message.subject):
        if "\r" in value or "\n" in value:
            raise PermanentDeliveryError("line break in a header value")
    _name, to_addr = parseaddr(message.to_address)
    if "@" not in to_addr:
        raise PermanentDeliveryError(f"not an email address: {message.to_address!r}")
    mime = EmailMessage(policy=SMTP_POLICY)
    mime["From"] = mail_from
    mime["To"] = message.to_address
    mime["Subject"] = message.subject
    mime["Date"] = format_datetime(date)
    created = message.created_at or date
    mime["Message-ID"] = (
        message.message_id
        or f"<outbox.{message.id or 0}.{created:%Y%m%d%H%M%S}@{_domain(mail_from)}>"
    )
    if message.reply_to:
        mime["Reply-To"] = message.reply_to
    if message.in_reply_to:
        mime["In-Reply-To"] = message.in_reply_to
    if message.references_header:
        mime["References"] = message.references_header
    mime["Auto-Submitted"] = "auto-generated"
    mime["X-Auto-Response-Suppress"] = "All"
    mime.set_content(message.body_text, subtype="plain", charset="utf-8")
    mime.add_alternative(message.body_html, subtype="html", charset="utf-8")
    mime["Content-Language"] = message.locale or "en"  # after: set_content drops Content-*
    return mime


def _refusal(exc: smtplib.SMTPRecipientsRefused) -> DeliveryError:
    codes = [code for code, _reply in exc.recipients.values()]
    detail = "; ".join(
        f"{addr}: {code} {_text(reply)}" for addr, (code, reply) in exc.recipients.items()
    )
    if codes and all(code >= 500 for code in codes):
        return PermanentDeliveryError(f"recipient refused: {detail}")
    return TemporaryDeliveryError(f"recipient deferred: {detail}")


def _text(reply: bytes | str) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)


class _Deadline(smtplib.SMTP):
    """An SMTP client whose whole conversation (connect, greeting, every command and reply)
    ends by ``deadline`` (``time.monotonic()``), not only each step: the worker's claim on a
    message is a lease of the timeout plus a margin, so a server that answers slowly but
    within each step's timeout cannot keep a message past it (another worker would send it
    too)."""

    deadline: float

    def _left(self) -> float:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("SMTP conversation timed out")
        return left

    # Connecting takes at most the timeout itself: the deadline is that far from the start.

    def send(self, s: Any) -> None:
        if self.sock is not None:
            self.sock.settimeout(self._left())
        super().send(s)

    def getreply(self) -> tuple[int, bytes]:
        if self.sock is not None:
            self.sock.settimeout(self._left())
        return super().getreply()


class _DeadlineSMTP(_Deadline):
    def __init__(self, host: str, port: int, *, timeout: float, deadline: float) -> None:
        self.deadline = deadline
        super().__init__(host, port, timeout=timeout)


class _DeadlineSMTPSSL(_Deadline, smtplib.SMTP_SSL):
    def __init__(
        self, host: str, port: int, *, timeout: float, deadline: float, context: ssl.SSLContext
    ) -> None:
        self.deadline = deadline
        smtplib.SMTP_SSL.__init__(self, host, port, timeout=timeout, context=context)


class SmtpSender:
    """One SMTP connection per message: slower than reusing one, but nothing to go stale.
    ``smtp_timeout`` bounds the whole conversation with the server, not each step."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        deadline = time.monotonic() + s.smtp_timeout
        if s.smtp_ssl:
            return _DeadlineSMTPSSL(
                s.smtp_host,
                s.smtp_port,
                timeout=s.smtp_timeout,
                deadline=deadline,
                context=ssl.create_default_context(),
            )
        smtp = _DeadlineSMTP(s.smtp_host, s.smtp_port, timeout=s.smtp_timeout, deadline=deadline)
        if s.smtp_starttls:
            smtp.starttls(context=ssl.create_default_context())
        return smtp

    def send(self, message: OutboxMessage) -> None:
        mime = build_email(message, mail_from=self.settings.mail_from, date=clock.now())
        envelope_from = parseaddr(self.settings.mail_from)[1]
        smtp: smtplib.SMTP | None = None
        try:
            smtp = self._connect()
            if self.settings.smtp_user:
                smtp.login(self.settings.smtp_user, self.settings.smtp_password)
            smtp.send_message(mime, from_addr=envelope_from, to_addrs=[message.to_address])
        except smtplib.SMTPRecipientsRefused as exc:
            raise _refusal(exc) from exc
        except smtplib.SMTPAuthenticationError as exc:
            # Our credentials, not this message: retry (and alert) rather than fail it.
            raise TemporaryDeliveryError(f"SMTP login refused: {exc.smtp_code}") from exc
        except smtplib.SMTPNotSupportedError as exc:
            raise PermanentDeliveryError(f"server cannot take this message: {exc}") from exc
        except smtplib.SMTPResponseException as exc:
            error = PermanentDeliveryError if exc.smtp_code >= 500 else TemporaryDeliveryError
            raise error(f"SMTP {exc.smtp_code} {_text(exc.smtp_error)}") from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise TemporaryDeliveryError(f"SMTP unavailable: {exc!r}") from exc
        finally:
            if smtp is not None:
                _quit(smtp)


def _quit(smtp: smtplib.SMTP) -> None:
    """Say goodbye; the message is already accepted, so a failure here is not a failure."""
    try:
        smtp.quit()
    except (smtplib.SMTPException, OSError):
        smtp.close()


def eml_name(moment: datetime, message_id: int | None) -> str:
    return f"{moment:%Y%m%dT%H%M%S%f}Z-{message_id or 0}.eml"


class FileSender:
    """Development only: each message becomes an .eml file in ``mail_dir``, newest name last."""

    def __init__(self, mail_dir: str | Path, *, mail_from: str) -> None:
        self.mail_dir = Path(mail_dir)
        self.mail_from = mail_from

    def send(self, message: OutboxMessage) -> None:
        moment = clock.now()
        mime = build_email(message, mail_from=self.mail_from, date=moment)
        name = eml_name(moment, message.id)
        try:
            self.mail_dir.mkdir(parents=True, exist_ok=True)
            partial = self.mail_dir / f".{name}.part"
            partial.write_bytes(mime.as_bytes())
            os.replace(partial, self.mail_dir / name)  # the mailbox never sees half a file
        except OSError as exc:
            raise TemporaryDeliveryError(f"cannot write {name}: {exc}") from exc


def sender_for(settings: Settings) -> Sender:
    """SMTP when ``smtp_host`` is set; otherwise the mail folder, outside production only."""
    if settings.smtp_host:
        return SmtpSender(settings)
    if settings.is_production:
        raise ConfigError("SMTP_HOST must be set: production mail is never written to disk")
    return FileSender(settings.mail_dir, mail_from=settings.mail_from)


#: Delivery channels other than email (``OutboxMessage.channel``), each a factory of its
#: sender, registered at start-up by the feature that owns the channel (``portal.jobs``).
ChannelFactory = Callable[[Database, Settings], Sender | None]
CHANNELS: dict[str, ChannelFactory] = {}


def register_channel(name: str, factory: ChannelFactory) -> None:
    """Deliver outbox messages of channel ``name`` with ``factory(db, settings)``'s sender."""
    CHANNELS[name] = factory


class ChannelSender:
    """Hands each message to the sender of its channel: email, or a registered one."""

    def __init__(self, email: Sender, others: dict[str, Sender]) -> None:
        self.email = email
        self.others = others

    def send(self, message: OutboxMessage) -> None:
        channel = message.channel or "email"
        if channel == "email":
            self.email.send(message)
            return
        sender = self.others.get(channel)
        if sender is None:
            raise TemporaryDeliveryError(f"no sender for the {channel!r} channel")
        sender.send(message)


def channel_sender(db: Database, settings: Settings) -> ChannelSender:
    """Email by ``sender_for(settings)`` and every registered channel's sender (a factory
    that returns None, a channel not configured, leaves its messages waiting)."""
    others: dict[str, Sender] = {}
    for name, factory in CHANNELS.items():
        sender = factory(db, settings)
        if sender is not None:
            others[name] = sender
    return ChannelSender(sender_for(settings), others)
