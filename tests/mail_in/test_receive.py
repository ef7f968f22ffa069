"""Storing a message as it arrives (portal.mail_in.receive.accept): kept raw, once."""

from __future__ import annotations

from sqlalchemy import func, select

from portal.core import clock
from portal.mail_in.models import InboundMail
from portal.mail_in.receive import accept

RAW = (
    b"From: Ana Resident <Ana@Example.org>\r\n"
    b"To: 311@riverton.example\r\n"
    b"Subject: =?utf-8?q?Bache_en_la_calle?=\r\n"
    b"Message-ID: <abc@example.org>\r\n"
    b"\r\n"
    b"Hay un bache.\r\n"
)


def test_accept_stores_the_raw_message_and_its_headers(db):
    mail = accept(
        db, RAW, via="smtp", envelope_from="ana@example.org", envelope_to=["311@x"], now=clock.now()
    )
    db.commit()
    stored = db.get(InboundMail, mail.id)
    assert stored.raw_bytes() == RAW
    assert stored.state == "received"
    assert stored.from_address == "ana@example.org"
    assert stored.subject == "Bache en la calle"
    assert stored.message_id == "<abc@example.org>"
    assert stored.envelope_recipients == ["311@x"]
    assert stored.size == len(RAW)


def test_the_same_message_delivered_twice_is_stored_once(db):
    first = accept(db, RAW, via="smtp", now=clock.now())
    second = accept(db, RAW, via="imap", now=clock.now())
    assert first.id == second.id
    assert db.scalar(select(func.count()).select_from(InboundMail)) == 1


def test_garbage_is_stored_with_empty_headers(db):
    raw = b"\xff\xfe\x00 not a message at all \x00\r\n\r\n\x80\x81"
    mail = accept(db, raw, via="lmtp", now=clock.now())
    assert mail.raw_bytes() == raw
    assert mail.from_address == ""
    mail2 = accept(db, b"", via="smtp", now=clock.now())
    assert mail2.size == 0 and mail2.subject == ""
