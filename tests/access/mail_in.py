"""The original of an email: staff who may open its case; a message on no case, admins."""

from __future__ import annotations

import hashlib
import zlib

from portal.mail_in.models import InboundMail
from tests.access import ADMINS, CASEWORK_X, RouteCheck, made

RAW = b"From: ana@example.org\r\nSubject: Hi\r\n\r\nHello <b>there</b>\r\n"


def _mail(world, request_id):
    raw = RAW + str(request_id).encode()
    return InboundMail(
        via="smtp",
        digest=hashlib.sha256(raw).hexdigest(),
        size=len(raw),
        raw_gz=zlib.compress(raw),
        request_id=request_id,
        state="processed",
        outcome="comment" if request_id else "unmatched",
    )


def _on_case(world) -> str:
    mail = made(world, "_mail_x", lambda w: _mail(w, w.request_x.id))
    return f"/staff/emails/{mail.id}"


def _on_nothing(world) -> str:
    mail = made(world, "_mail_none", lambda w: _mail(w, None))
    return f"/staff/emails/{mail.id}"


CHECKS = [
    RouteCheck("mail_in_original.show", _on_case, CASEWORK_X),
    RouteCheck("mail_in_original.show", _on_nothing, ADMINS),
    RouteCheck("mail_in_original.raw", lambda w: _on_case(w) + "/original.eml", CASEWORK_X),
    RouteCheck("mail_in_original.raw", lambda w: _on_nothing(w) + "/original.eml", ADMINS),
]
