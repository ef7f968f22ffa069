"""The admins' mail page: admins only."""

from __future__ import annotations

import hashlib
import zlib

from portal.mail_in.models import InboundMail
from tests.access import ADMINS, RouteCheck, made

BASE = "/staff/admin/mail"
RAW = b"From: ana@example.org\r\nSubject: Parked\r\n\r\nHello\r\n"


def _parked(world) -> int:
    return made(
        world,
        "_mail_parked",
        lambda w: InboundMail(
            via="smtp",
            digest=hashlib.sha256(RAW).hexdigest(),
            size=len(RAW),
            raw_gz=zlib.compress(RAW),
            state="parked",
            outcome="parked",
            last_error="RuntimeError: boom",
        ),
    ).id


CHECKS = [
    RouteCheck("mail_in_admin.index", lambda w: f"{BASE}/", ADMINS),
    RouteCheck(
        "mail_in_admin.process_again",
        lambda w: f"{BASE}/{_parked(w)}/process",
        ADMINS,
        method="POST",
    ),
]
