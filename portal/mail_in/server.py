"""The SMTP/LMTP receiver the city's mail server delivers to (aiosmtpd).

Each message is stored and committed before the server answers: a database failure answers
451 so the sending server tries again later (nothing is lost), a message over the DATA limit
552. Once stored, it is processed in a transaction of its own before the 250 (so a sender, a
test or the benchmark sees the result when the answer comes); a failure there still answers 250
(the message is kept, and the worker's job retries it).

No Flask: ``start_receiver`` takes the database and the settings, so the CLI, the tests and
the benchmark run the same server.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.lmtp import LMTP
from aiosmtpd.smtp import SMTP

from portal.core import clock
from portal.core.db import Database
from portal.mail_in.receive import SettingsSource, accept, settings_now
from portal.mail_in.retry import process_stored

log = logging.getLogger(__name__)

#: The largest message the server takes at all, as a multiple of ``mail_in_max_bytes``
#: (between the two a message is stored and refused with an answer saying why).
HARD_LIMIT_FACTOR = 2


class MailHandler:
    """aiosmtpd's handler: store, commit, process, answer."""

    def __init__(self, db: Database, settings: SettingsSource, *, via: str) -> None:
        self.db = db
        self.settings = settings
        self.via = via

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        raw = envelope.original_content or envelope.content or b""
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            None, self.deliver, raw, envelope.mail_from or "", list(envelope.rcpt_tos)
        )

    def deliver(self, raw: bytes, mail_from: str, rcpt_tos: Sequence[str]) -> str:
        """Store ``raw`` (451 when that fails), then process it; the SMTP answer."""
        try:
            with self.db.transaction() as session:
                mail = accept(
                    session,
                    raw,
                    via=self.via,
                    envelope_from=mail_from,
                    envelope_to=rcpt_tos,
                    now=clock.now(),
                )
                mail_id = mail.id
        except Exception:  # noqa: BLE001 - the sending server keeps it and tries again
            log.exception("could not store an inbound message")
            return "451 4.3.0 Temporary failure storing the message, please try again later"
        try:
            process_stored(self.db, settings_now(self.settings), clock.now(), mail_id)
        except Exception:  # noqa: BLE001 - stored: the worker's job processes it later
            log.exception("inbound mail %s left for the worker", mail_id)
        return "250 2.0.0 Message accepted"


class _Controller(Controller):
    def __init__(self, handler: MailHandler, *, lmtp: bool, **kwargs: Any) -> None:
        self.lmtp = lmtp
        super().__init__(handler, **kwargs)

    def factory(self) -> SMTP:
        server_class = LMTP if self.lmtp else SMTP
        return server_class(self.handler, **self.SMTP_kwargs)


def start_receiver(
    db: Database,
    settings: SettingsSource,
    *,
    host: str = "127.0.0.1",
    port: int = 8025,
    lmtp: bool = False,
    max_size: int | None = None,
) -> Controller:
    """Start the receiver in a thread of its own; ``stop()`` the returned controller to end
    it. ``max_size``: the DATA limit in bytes (default ``HARD_LIMIT_FACTOR`` times
    ``settings.mail_in_max_bytes``). ``settings``: fixed, or a callable read for each message
    (the CLI passes the city's, so an import takes effect without a restart)."""
    limit = (
        max_size
        if max_size is not None
        else settings_now(settings).mail_in_max_bytes * HARD_LIMIT_FACTOR
    )
    controller = _Controller(
        MailHandler(db, settings, via="lmtp" if lmtp else "smtp"),
        lmtp=lmtp,
        hostname=host,
        port=port,
        data_size_limit=limit,
        ident="portal mail-in",
    )
    controller.start()
    return controller
