"""New email to the intake address, loops and floods, refusals and bad input, all delivered
over SMTP (or LMTP) to the running receiver; the CLI and the retries."""

from __future__ import annotations

import smtplib
import struct
import zlib
from dataclasses import replace
from datetime import timedelta
from email.message import EmailMessage
from io import BytesIO

import pytest
from PIL import Image
from sqlalchemy import func, select

from portal.core import clock
from portal.core.outbox import OutboxMessage
from portal.mail_in.models import InboundMail
from portal.mail_in.receive import accept
from portal.mail_in.retry import process_due
from portal.mail_in.server import start_receiver
from portal.requests.models import Event, RequestPhoto, ServiceRequest
from tests.mail_in.conftest import INTAKE, Receiver, message
from tests.smtp import _free_port


def _png(width: int = 64, height: int = 48) -> bytes:
    out = BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(out, format="PNG")
    return out.getvalue()


def _png_bomb(side: int = 30_000) -> bytes:
    """A PNG whose header says 900 megapixels (its data is a few bytes): decoding it would
    take gigabytes; it must be refused from the header."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )


def _with_attachment(
    data: bytes, filename: str, maintype: str, subtype: str, *, body: str, sender: str
) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = INTAKE
    msg["Subject"] = "Bache en la calle Mayor"
    msg["Message-ID"] = f"<{filename}@example.org>"
    msg.set_content(body)
    msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return bytes(msg)


def _outbox(db, **where):
    db.expire_all()
    query = select(OutboxMessage).order_by(OutboxMessage.id)
    for key, value in where.items():
        query = query.where(getattr(OutboxMessage, key) == value)
    return list(db.scalars(query))


def _requests(db) -> int:
    return db.scalar(select(func.count()).select_from(ServiceRequest))


@pytest.fixture
def general(make):
    return make.category(code="general", name="General enquiry")


def test_an_email_to_the_intake_address_becomes_a_request_with_its_photo(receiver, general, db):
    raw = _with_attachment(
        _png(),
        "bache.png",
        "image",
        "png",
        body="Hola, hay un bache muy grande en la calle desde hace una semana. Gracias.",
        sender="Ana García <ana@example.org>",
    )
    mail = receiver.send(raw)
    assert mail.outcome == "new_request" and mail.state == "processed"
    sr = db.get(ServiceRequest, mail.request_id)
    assert sr.channel == "email" and sr.category_id == general.id
    assert sr.contact_email == "ana@example.org" and sr.contact_name == "Ana García"
    assert sr.locale == "es"
    assert sr.description.startswith("Bache en la calle Mayor\n\nHola, hay un bache")
    photos = list(db.scalars(select(RequestPhoto).where(RequestPhoto.request_id == sr.id)))
    assert len(photos) == 1 and photos[0].original_name == "bache.png"
    (confirmation,) = _outbox(db, to_address="ana@example.org")
    assert confirmation.kind == "request_confirmation" and confirmation.locale == "es"
    assert sr.reference in confirmation.body_text
    note = db.scalar(select(Event).where(Event.request_id == sr.id, Event.kind == "internal_note"))
    assert note.data["action"] == "email_filed" and note.data["mail_id"] == mail.id
    # The confirmation is threaded: the resident's answer to it lands on the new case.
    assert confirmation.reply_to.startswith("reply+") and confirmation.message_id
    answer = message(
        to=confirmation.reply_to,
        subject=f"Re: {confirmation.subject}",
        body="Es frente al número 12.",
        headers={"In-Reply-To": confirmation.message_id},
        message_id="<answer@example.org>",
    )
    landed = receiver.send(answer, to=[confirmation.reply_to])
    assert (landed.outcome, landed.request_id) == ("comment", sr.id)
    assert _requests(db) == 1


def test_a_database_failure_answers_451_so_the_sender_retries(mail_settings, tmp_path):
    from portal.core.db import Database

    broken = Database(f"sqlite:///{tmp_path / 'missing' / 'nowhere.db'}")
    port = _free_port()
    controller = start_receiver(broken, mail_settings, port=port)
    try:
        with pytest.raises(smtplib.SMTPDataError) as refused, smtplib.SMTP("127.0.0.1", port) as s:
            s.sendmail("ana@example.org", [INTAKE], message(body="Hello").encode())
        assert refused.value.smtp_code == 451
    finally:
        controller.stop()
        broken.dispose()


def test_an_image_bomb_is_refused_from_its_header_and_the_request_filed_without_it(
    receiver, general, db
):
    raw = _with_attachment(
        _png_bomb(), "huge.png", "image", "png", body="Broken light.", sender="bo@example.org"
    )
    mail = receiver.send(raw, sender="bo@example.org")
    assert mail.outcome == "new_request"
    assert db.scalar(select(func.count()).select_from(RequestPhoto)) == 0
    note = db.scalar(
        select(Event).where(Event.request_id == mail.request_id, Event.kind == "internal_note")
    )
    assert note.data["refused_photos"] == ["huge.png: too_many_pixels"]


@pytest.mark.parametrize(
    "headers",
    [
        {"Auto-Submitted": "auto-replied"},
        {"Precedence": "bulk"},
        {"X-Autoreply": "yes"},
        {"X-Autorespond": "Out of office"},
        {"X-Auto-Response-Suppress": "All"},
    ],
)
def test_auto_replies_never_file_or_answer(receiver, general, db, headers):
    raw = message(subject="Out of office", body="I am away until Monday.", headers=headers)
    mail = receiver.send(raw)
    assert (mail.outcome, mail.request_id) == ("auto_reply", None)
    assert _requests(db) == 0 and _outbox(db) == []


def test_bounces_and_delivery_reports_never_file_or_answer(receiver, general, db):
    dsn = (
        "From: Mail Delivery System <MAILER-DAEMON@mx.example.org>\r\n"
        f"To: {INTAKE}\r\nSubject: Undelivered Mail Returned to Sender\r\n"
        "Message-ID: <dsn1@mx.example.org>\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n\r\n'
        "--B\r\nContent-Type: text/plain\r\n\r\nDelivery failed.\r\n"
        "--B\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.example.org\r\n\r\nFinal-Recipient: rfc822; x@y\r\n"
        "Action: failed\r\nStatus: 5.1.1\r\n--B--\r\n"
    )
    assert receiver.send(dsn, sender="").outcome == "bounce"  # MAIL FROM:<>
    plain = message(sender="postmaster@example.org", body="Your message was not delivered.")
    assert receiver.send(plain, sender="postmaster@example.org").outcome == "bounce"
    assert _requests(db) == 0 and _outbox(db) == []


def test_our_own_mail_coming_back_is_dropped(receiver, general, db):
    raw = message(sender="Riverton 311 <no-reply@riverton.example>", body="Your request...")
    assert receiver.send(raw, sender="no-reply@riverton.example").outcome == "looped"
    assert _requests(db) == 0 and _outbox(db) == []


def test_a_zip_attachment_is_refused_with_an_answer_in_the_senders_language(receiver, general, db):
    zip_bomb = b"PK\x03\x04" + b"\x00" * 200  # never unpacked: refused by what it is
    raw = _with_attachment(
        zip_bomb,
        "fotos.zip",
        "application",
        "zip",
        body="Hola, les envío las fotos del bache en la calle. Gracias.",
        sender="ana@example.org",
    )
    mail = receiver.send(raw)
    assert (mail.outcome, mail.request_id) == ("refused", None)
    assert _requests(db) == 0
    (answer,) = _outbox(db, to_address="ana@example.org")
    assert answer.kind == "mail_in_refused" and answer.locale == "es"
    assert "fotos.zip" in answer.body_text and "archivos comprimidos" in answer.body_text
    # A program renamed to look like a photo is refused by its bytes.
    raw = _with_attachment(
        b"MZ\x90\x00" + b"\x00" * 100,
        "photo.jpg",
        "image",
        "jpeg",
        body="See the photo",
        sender="ana@example.org",
    )
    assert receiver.send(raw).outcome == "refused"


def test_no_address_gets_more_than_three_answers_an_hour(receiver, general, db):
    for n in range(5):
        raw = _with_attachment(
            b"#!/bin/sh\n", f"run{n}.sh", "application", "x-sh", body="x", sender="eve@example.org"
        )
        assert receiver.send(raw, sender="eve@example.org").outcome == "refused"
    assert len(_outbox(db, to_address="eve@example.org")) == 3
    # ... and a new request past the limit is kept for an admin, not filed.
    raw = message(sender="eve@example.org", body="A real problem", message_id="<new@x>")
    assert receiver.send(raw, sender="eve@example.org").outcome == "rate_limited"
    assert _requests(db) == 0


def test_a_huge_message_is_refused_with_an_answer_and_one_past_the_limit_gets_552(
    app, db, mail_settings, general
):
    small = replace(mail_settings, mail_in_max_bytes=2_000)
    port = _free_port()
    controller = start_receiver(app.extensions["portal.db"], small, port=port, max_size=6_000)
    try:
        receiver = Receiver("127.0.0.1", port, small)
        receiver.session = db
        raw = message(body=("A" * 60 + "\n") * 50, message_id="<big@x>")
        mail = receiver.send(raw)
        assert mail.outcome == "refused" and mail.raw_bytes().startswith(b"From: Ana")
        (answer,) = _outbox(db, kind="mail_in_refused")
        assert "too large" in answer.body_text
        # Refused at MAIL FROM (the client declares SIZE) or at the end of DATA.
        with pytest.raises(smtplib.SMTPResponseException) as refused:
            receiver.send(message(body=("B" * 60 + "\n") * 130, message_id="<bigger@x>"))
        assert refused.value.smtp_code == 552
        assert db.scalar(select(func.count()).select_from(InboundMail)) == 1
    finally:
        controller.stop()


def test_malformed_mime_and_a_missing_from_are_kept_with_an_outcome(app, receiver, general, db):
    broken = (
        f"To: {INTAKE}\r\nSubject: =?utf-8?q?broken\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/mixed; boundary="nope"\r\n\r\n'
        "--other\r\nContent-Type: text/plain; charset=klingon\r\n"
        "Content-Transfer-Encoding: base64\r\n\r\n!!!not base64!!!\r\n"
    )
    mail = receiver.send(broken, sender="")  # no From and an empty envelope sender
    assert mail.state == "processed" and mail.outcome == "bounce"
    mail = receiver.send("X-Second: copy\r\n" + broken, sender="carl@example.org")
    assert mail.state == "processed" and mail.outcome == "new_request"
    no_from = message(sender="", body="Hi", message_id="<nofrom@x>")
    stored = accept(db, no_from.encode(), via="imap", now=clock.now())
    db.commit()
    process_due(app.extensions["portal.db"], receiver.settings, clock.now())
    db.expire_all()
    assert db.get(InboundMail, stored.id).outcome == "no_sender"
    assert db.get(InboundMail, stored.id).raw_bytes() == no_from.encode()


def test_lmtp_delivers_too(app, db, mail_settings, general):
    port = _free_port()
    controller = start_receiver(app.extensions["portal.db"], mail_settings, port=port, lmtp=True)
    try:
        receiver = Receiver("127.0.0.1", port, mail_settings)
        receiver.session = db
        mail = receiver.send(message(body="Street light out"), lmtp=True)
        assert (mail.via, mail.outcome) == ("lmtp", "new_request")
    finally:
        controller.stop()


def test_failures_are_retried_with_backoff_then_parked(app, receiver, db, freeze_clock):
    # No intake category is configured: processing fails, the message is kept and retried.
    mail = receiver.send(message(body="Tree down"))
    assert mail.state == "failed" and mail.attempts == 1
    assert "no active intake category" in mail.last_error
    db_ = app.extensions["portal.db"]
    start = clock.now()
    for attempt in range(2, 6):
        freeze_clock(start + timedelta(hours=7 * attempt))
        process_due(db_, receiver.settings, clock.now())
        db.expire_all()
        assert db.get(InboundMail, mail.id).attempts == attempt
    parked = db.get(InboundMail, mail.id)
    assert parked.state == "parked" and parked.outcome == "parked"
    assert "no active intake category" in parked.last_error


def test_flask_mail_in_process_takes_what_is_stored(app, db, runner, mail_settings, general):
    stored = accept(
        db,
        message(body="Graffiti on the bridge").encode(),
        via="imap",
        envelope_to=[],
        now=clock.now(),
    )
    db.commit()
    result = runner.invoke(args=["mail-in", "process"])
    assert result.exit_code == 0, result.output
    assert "1 message(s) processed." in result.output
    db.expire_all()
    assert db.get(InboundMail, stored.id).outcome == "new_request"
