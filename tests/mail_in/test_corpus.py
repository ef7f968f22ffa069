"""The corpus of real-world email shapes (tests/mail_corpus, issue 19), delivered over SMTP.

For each message of ``manifest.toml`` the case is arranged with the factories and the portal's
own conversation functions, so the portal queues the email being answered (a staff question, a
staff reply, a staff notice); its outbox row gives the real Reply-To token, Message-ID,
References and Subject, which fill the message's placeholders. The message is then delivered
by smtplib to the running receiver (``portal.mail_in.server``), and where it landed is checked:
the right case (or the case it was merged into, or a new request), the outcome, the text on the
timeline without the quoted history, the photos, no new case from a reply, and no email to the
sender of an auto-reply, a bounce or a reply.

The pure tests read every message with ``portal.mail_in.body`` alone.
"""

from __future__ import annotations

import email
import email.policy
import re
import tomllib
from dataclasses import dataclass
from email.header import Header
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from portal.casework import merging
from portal.casework import service as casework
from portal.core.outbox import OutboxMessage
from portal.mail_in.body import reply_body
from portal.mail_in.intake import DEFAULT_INTAKE_CATEGORY
from portal.notifications.staff import notify_staff
from portal.requests.models import Event, Follower, RequestPhoto, ServiceRequest
from tests.mail_in.conftest import DOMAIN, INTAKE

CORPUS = Path(__file__).resolve().parents[1] / "mail_corpus"
MANIFEST: list[dict[str, Any]] = tomllib.loads((CORPUS / "manifest.toml").read_text("utf-8"))[
    "message"
]
ENTRIES = {entry["file"]: entry for entry in MANIFEST}

QUESTION = {
    "en": "Is the pothole still there, and about how wide is it?",
    "es": "¿Sigue el bache ahí y qué tan ancho es?",
}
REPLY = {
    "en": "We have sent a crew to look at it. We will let you know when it is fixed.",
    "es": "Hemos enviado una cuadrilla a revisarlo. Le avisaremos cuando esté arreglado.",
}
ADDRESSES = {
    "reporter": "ana.reporter@example.org",
    "mailer": "ana.reporter@example.org",  # the reporter's address the portal's email bounced from
    "follower": "nate.follower@example.net",
    "stranger": "victor.neighbour@example.com",
    "new sender": "new.sender@example.org",
    # Staff read their notices at the city's own domain, which is also where answers go.
    "staff": f"jordan.crew@{DOMAIN}",
}
AUTOMATIC = {"auto_reply", "bounce"}
PLACEHOLDER = re.compile(rb"\{\{([A-Z_]+)(?::([a-z]+))?\}\}")


# -- filling a message ---------------------------------------------------------------------------


def _mangled(address: str, how: str | None) -> str:
    local, _, domain = address.partition("@")
    if how == "truncated":  # a client cut the long local part
        return f"{local[:-6]}@{domain}"
    if how == "wrapped":  # folded inside the address: unfolded, it has a space in the token
        return f"{local[:20]}\r\n {local[20:]}@{domain}"
    if how == "upper":
        return address.upper()
    return address


def fill(raw: bytes, values: dict[str, str]) -> bytes:
    """``raw`` with its ``{{NAME}}`` / ``{{NAME:variant}}`` placeholders filled in. A value that
    is not ASCII is an RFC 2047 encoded word (headers must be ASCII; bodies only quote it)."""

    def one(match: re.Match[bytes]) -> bytes:
        name, variant = match.group(1).decode(), (match.group(2) or b"").decode() or None
        value = values[name]
        if name == "REPLY_TO":
            value = _mangled(value, variant)
        if not value.isascii():
            value = Header(value, "utf-8").encode()
        return value.encode("ascii")

    return PLACEHOLDER.sub(one, raw)


def dummy_values(entry: dict[str, Any]) -> dict[str, str]:
    reference = "SR-2026-000001"
    return {
        "REPLY_TO": "reply+aaaabbbbccccddddeeeeffffgggghhhhiiiij@riverton.example",
        "MESSAGE_ID": "<sr-2026-000001.0a1b2c@riverton.example>",
        "REFERENCES": "<sr-2026-000001@riverton.example> <sr-2026-000001.0a1b2c@riverton.example>",
        "SUBJECT": f"A question about your request {reference}",
        "REFERENCE": reference,
        "FROM": ADDRESSES[entry["sender"]],
        "INTAKE": INTAKE,
        "CITY_DOMAIN": DOMAIN,
    }


def recipients(entry: dict[str, Any], values: dict[str, str]) -> list[str]:
    default = ["{{INTAKE}}"] if entry["answers"] == "nothing" else ["{{REPLY_TO}}"]
    filled = [fill(r.encode(), values).decode() for r in entry.get("to", default)]
    return [r.replace("\r\n ", "") for r in filled]


def landed_text(entry: dict[str, Any]) -> bool:
    return entry["outcome"] not in AUTOMATIC


# -- pure: the body of every message ---------------------------------------------------------------


@pytest.mark.pure
def test_the_corpus_is_complete_and_varied():
    files = sorted(p.name for p in CORPUS.glob("*.eml"))
    assert files == sorted(ENTRIES), "every .eml is in the manifest, and only those"
    assert len(files) >= 50

    def count(field: str, value: str) -> int:
        return sum(1 for e in MANIFEST if e[field] == value)

    replies = [e for e in MANIFEST if e["answers"] != "nothing" and e["outcome"] not in AUTOMATIC]
    assert len(replies) >= 30
    assert count("outcome", "auto_reply") >= 5 and count("outcome", "bounce") >= 4
    assert count("lands", "new request") >= 5 and count("lands", "survivor") >= 1
    assert count("sender", "staff") >= 2 and count("sender", "stranger") >= 1
    assert sum(1 for e in MANIFEST if e.get("locale") == "es") >= 8
    clients = " ".join(e["client"] for e in MANIFEST)
    for client in ("Gmail", "Outlook on the web", "Outlook 16", "Outlook for iOS", "Apple Mail",
                   "iPhone Mail", "Thunderbird", "Yahoo", "Samsung"):  # fmt: skip
        assert client in clients
    raw = b"".join((CORPUS / f).read_bytes() for f in files)
    for shape in (
        b"quoted-printable",
        b"base64",
        b"charset=iso-8859-1",
        b'charset="windows-1252"',
        b"ISO-2022-JP",
        b"Shift_JIS",
        b"multipart/report",
        b"Content-ID:",
        b"image/jpeg",
        b"\r\n",
    ):
        assert shape.lower() in raw.lower(), shape


@pytest.mark.pure
@pytest.mark.parametrize("name", [n for n, e in ENTRIES.items() if landed_text(e)])
def test_the_text_of_every_message(name):
    entry = ENTRIES[name]
    raw = fill((CORPUS / name).read_bytes(), dummy_values(entry))
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    text = reply_body(msg).text  # type: ignore[arg-type]
    if entry["lands"] == "new request":  # the subject starts the description
        text = f"{msg['Subject']}\n\n{text}"
    for expected in entry["text"]:
        assert expected in text, f"{expected!r} not in {text!r}"
    for quoted in entry.get("absent", []):
        assert quoted not in text, f"{quoted!r} in {text!r}"


# -- delivered over SMTP ---------------------------------------------------------------------------


@dataclass
class Arranged:
    values: dict[str, str]
    case: ServiceRequest | None = None
    survivor: ServiceRequest | None = None


def _email_to(db, address: str) -> OutboxMessage:
    row = db.scalar(
        select(OutboxMessage)
        .where(func.lower(OutboxMessage.to_address) == address.lower())
        .order_by(OutboxMessage.id.desc())
        .limit(1)
    )
    assert row is not None and row.reply_to and row.message_id, f"no threaded email to {address}"
    return row


def arrange(entry: dict[str, Any], make, db, settings) -> Arranged:
    """The case and the portal's email the message answers (nothing for a new request)."""
    locale = entry.get("locale", "en")
    sender = ADDRESSES[entry["sender"]]
    make.category(code=settings.mail_intake_category or DEFAULT_INTAKE_CATEGORY)
    values = {
        "FROM": sender,
        "INTAKE": INTAKE,
        "CITY_DOMAIN": DOMAIN,
        "REFERENCE": "",
        "REPLY_TO": "",
        "MESSAGE_ID": "",
        "REFERENCES": "",
        "SUBJECT": "",
    }
    if entry["answers"] == "nothing":
        return Arranged(values)

    category = make.category(code="pothole")
    agent = make.staff(category.department, email=ADDRESSES["staff"])
    case = make.request(
        category=category,
        contact_email=ADDRESSES["reporter"],
        contact_name="Ana Reporter",
        locale=locale,
        status="in_progress",
    )
    if entry["sender"] == "follower":
        db.add(
            Follower(
                request_id=case.id,
                email=ADDRESSES["follower"],
                locale=locale,
                token=f"corpus-follow-{case.id}",
                confirmed_at=case.created_at,
            )
        )
        db.flush()
    answered_by = ADDRESSES["reporter"]
    if entry["answers"] == "staff question":
        casework.ask_question(
            db,
            settings=settings,
            request=case,
            question=QUESTION[locale],
            actor=agent,
            version=case.version,
        )
    elif entry["answers"] == "staff reply":
        casework.reply(
            db,
            settings=settings,
            request=case,
            body=REPLY[locale],
            actor=agent,
            version=case.version,
        )
        if entry["sender"] == "follower":
            answered_by = ADDRESSES["follower"]
    else:  # a staff notification
        notify_staff(db, settings=settings, user=agent, kind=entry["notice"], request=case)
        answered_by = ADDRESSES["staff"]
    sent = _email_to(db, answered_by)
    values |= {
        "REFERENCE": case.reference or "",
        "REPLY_TO": sent.reply_to,
        "MESSAGE_ID": sent.message_id or "",
        "REFERENCES": sent.references_header,
        "SUBJECT": sent.subject,
    }
    arranged = Arranged(values, case=case)
    if entry["lands"] == "survivor":
        survivor = make.request(
            category=category, contact_email="other@example.org", status="in_progress"
        )
        merging.merge_duplicate(db, settings=settings, request=case, into=survivor, actor=agent)
        arranged.survivor = survivor
    return arranged


def _count(db, model, **where) -> int:
    query = select(func.count()).select_from(model)
    for name, value in where.items():
        query = query.where(getattr(model, name) == value)
    return db.scalar(query)


@pytest.mark.parametrize("name", list(ENTRIES))
def test_every_message_lands_where_it_belongs(name, request, receiver, make, db, mail_settings):
    entry = ENTRIES[name]
    if entry.get("pending"):
        request.applymarker(pytest.mark.xfail(reason=entry["pending"], strict=True))
    arranged = arrange(entry, make, db, mail_settings)
    db.commit()
    target = arranged.survivor or arranged.case
    cases_before = _count(db, ServiceRequest)
    outbox_before = db.scalar(select(func.coalesce(func.max(OutboxMessage.id), 0)))
    events_before = _count(db, Event, request_id=target.id) if target else 0
    photos_before = _count(db, RequestPhoto, request_id=target.id) if target else 0

    raw = fill((CORPUS / name).read_bytes(), arranged.values)
    sender = entry.get("envelope_from", arranged.values["FROM"])
    mail = receiver.send(raw, to=recipients(entry, arranged.values), sender=sender)
    assert mail is not None and mail.state == "processed", mail and mail.last_error
    assert mail.outcome == entry["outcome"], (mail.outcome, mail.last_error)
    db.expire_all()

    new_cases = _count(db, ServiceRequest) - cases_before
    answers = list(
        db.scalars(
            select(OutboxMessage).where(
                OutboxMessage.id > outbox_before,
                func.lower(OutboxMessage.to_address) == arranged.values["FROM"].lower(),
            )
        )
    )
    if entry["lands"] == "new request":
        assert new_cases == 1
        request = db.get(ServiceRequest, mail.request_id)
        assert request is not None and request.channel == "email"
        assert request.contact_email == arranged.values["FROM"]
        assert request.locale == entry.get("locale", "en")
        for expected in entry["text"]:
            assert expected in request.description
        for quoted in entry.get("absent", []):
            assert quoted not in request.description
        assert _count(db, RequestPhoto, request_id=request.id) == entry["photos"]
        # The confirmation with the tracking link, and nothing else.
        assert [a.kind for a in answers] == ["request_confirmation"]
        return

    assert new_cases == 0, "a reply, auto-reply or bounce never makes a case"
    assert answers == [], "nothing is sent back to the sender of a reply or of automatic mail"
    if entry["outcome"] in AUTOMATIC:  # and nothing at all is sent because of it
        assert db.scalar(select(func.count()).where(OutboxMessage.id > outbox_before)) == 0
    assert target is not None
    if entry["lands"] == "none":
        assert _count(db, Event, request_id=target.id) == events_before
        return
    assert mail.request_id == target.id
    entries = list(
        db.scalars(select(Event).where(Event.request_id == target.id).order_by(Event.id))
    )
    landed = [e for e in entries if (e.data or {}).get("mail_id") == mail.id]
    assert len(landed) == 1, [(e.kind, e.body) for e in entries[events_before:]]
    body = landed[0].body or ""
    for expected in entry["text"]:
        assert expected in body, f"{expected!r} not in {body!r}"
    for quoted in entry.get("absent", []):
        assert quoted not in body, f"{quoted!r} in {body!r}"
    assert _count(db, RequestPhoto, request_id=target.id) - photos_before == entry["photos"]
    if entry["outcome"] == "answer":
        assert db.get(ServiceRequest, target.id).status == "in_progress"  # the clocks resume
    if entry["outcome"] in ("comment", "answer", "staff_reply"):
        assert landed[0].public
    if entry["outcome"] in ("internal_note", "review_note"):
        assert not landed[0].public
