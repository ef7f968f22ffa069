"""The running receiver (``portal.mail_in.server``) on a free loopback port, on the test's
database, and helpers to write and send messages to it over real SMTP."""

from __future__ import annotations

import smtplib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace

import pytest
from sqlalchemy import select

from portal.core.config import Settings
from portal.core.replies import reply_address
from portal.mail_in.models import InboundMail
from portal.mail_in.server import start_receiver
from tests.smtp import _free_port

INTAKE = "311@riverton.example"
DOMAIN = "riverton.example"


@dataclass
class Receiver:
    host: str
    port: int
    settings: Settings

    def send(
        self,
        raw: bytes | str,
        *,
        to: list[str] | None = None,
        sender: str = "ana@example.org",
        lmtp: bool = False,
    ) -> InboundMail | None:
        """Deliver ``raw`` by SMTP; the stored row (or None when nothing was stored)."""
        data = raw.encode("utf-8") if isinstance(raw, str) else raw
        data = data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        client = smtplib.LMTP(self.host, self.port) if lmtp else smtplib.SMTP(self.host, self.port)
        with client as smtp:
            smtp.sendmail(sender, to or [INTAKE], data)
        return self.last()

    def last(self) -> InboundMail | None:
        self.session.expire_all()  # type: ignore[attr-defined]
        return self.session.scalar(select(InboundMail).order_by(InboundMail.id.desc()).limit(1))

    session: object = None


@pytest.fixture
def mail_settings(app, settings) -> Iterator[Settings]:
    """The test settings with an intake address and mail domain; the app uses them too (its
    environment settings and the city's, which the mail-in commands read)."""
    changed = replace(settings, mail_intake=INTAKE, mail_domain=DOMAIN)
    city = app.extensions["portal.city"]
    before = (app.extensions["portal.settings"], city.base)
    app.extensions["portal.settings"] = changed
    city.base = changed
    city.clear()
    try:
        yield changed
    finally:
        app.extensions["portal.settings"], city.base = before
        city.clear()


@pytest.fixture
def receiver(app, db, mail_settings) -> Iterator[Receiver]:
    port = _free_port()
    controller = start_receiver(
        app.extensions["portal.db"], mail_settings, host="127.0.0.1", port=port
    )
    found = Receiver("127.0.0.1", port, mail_settings)
    found.session = db
    try:
        yield found
    finally:
        controller.stop()
    db.expire_all()


@pytest.fixture
def token_address(mail_settings) -> Callable[..., str]:
    def make(request_id: int, *, user_id: int = 0, role: str = "r") -> str:
        return reply_address(
            mail_settings.secret_key, DOMAIN, request_id=request_id, user_id=user_id, role=role
        )

    return make


def message(
    *,
    sender: str = "Ana Resident <ana@example.org>",
    to: str = INTAKE,
    subject: str = "Hello",
    body: str = "Some text.",
    headers: dict[str, str] | None = None,
    message_id: str = "<m1@example.org>",
) -> str:
    """A plain text message as a mail client writes it."""
    lines = [f"From: {sender}"] if sender else []
    lines += [f"To: {to}", f"Subject: {subject}", f"Message-ID: {message_id}"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    lines += ["MIME-Version: 1.0", "Content-Type: text/plain; charset=utf-8", "", body, ""]
    return "\r\n".join(lines)
