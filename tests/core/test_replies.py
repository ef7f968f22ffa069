"""Reply tokens and the threading headers of emails about a case (issue 19)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from portal.core.config import Settings
from portal.core.mail import MailThread, queue_email, thread_root
from portal.core.replies import make_token, read_token, reply_address, token_in_address
from portal.core.senders import build_email

SECRET = "s" * 40


@pytest.mark.pure
@pytest.mark.parametrize("role", ["r", "p", "i"])
def test_token_round_trip(role):
    token = make_token(SECRET, request_id=123456, user_id=42, role=role)
    assert len(token) == 37 and token == token.lower()
    read = read_token(SECRET, token)
    assert read is not None and (read.request_id, read.user_id, read.role) == (123456, 42, role)
    # Mail systems may fold the local part's case.
    assert read_token(SECRET, token.upper()) == read


@pytest.mark.pure
def test_forged_or_mangled_tokens_are_refused():
    token = make_token(SECRET, request_id=7, user_id=0, role="r")
    assert read_token("another secret" * 3, token) is None
    flipped = token[:-1] + ("a" if token[-1] != "a" else "b")
    assert read_token(SECRET, flipped) is None
    assert read_token(SECRET, token[:-1]) is None
    assert read_token(SECRET, token + "a") is None
    assert read_token(SECRET, "") is None
    assert read_token(SECRET, "0" * 37) is None  # not base32
    with pytest.raises(ValueError):
        make_token(SECRET, request_id=7, user_id=0, role="x")


@pytest.mark.pure
def test_reply_address_fits_a_local_part_and_is_found_again():
    address = reply_address(SECRET, "riverton.example", request_id=99, user_id=3, role="p")
    local, _, domain = address.partition("@")
    assert domain == "riverton.example" and len(local) <= 64
    assert token_in_address(address) == local.removeprefix("reply+")
    assert token_in_address(address.upper()) == local.removeprefix("reply+")
    assert token_in_address("311@riverton.example") is None
    assert token_in_address("reply+short@riverton.example") is None


@pytest.mark.pure
def test_reply_domain_defaults():
    base = Settings(secret_key=SECRET)
    assert base.reply_domain == "127.0.0.1"
    assert replace(base, mail_from="Riverton 311 <no-reply@Riverton.Example>").reply_domain == (
        "riverton.example"
    )
    assert replace(base, mail_from="x@a.example", mail_domain="b.example").reply_domain == (
        "b.example"
    )
    env = Settings.from_env(
        {"PORTAL_MAIL_DOMAIN": " Mail.City.Example ", "PORTAL_MAIL_INTAKE": "311@mail.city.example"}
    )
    assert env.reply_domain == "mail.city.example" and env.mail_intake == "311@mail.city.example"


def _send(db, settings, to, thread):
    message = queue_email(
        db,
        settings=settings,
        to=to,
        template="test_message",
        locale="en",
        context={"ref": thread.reference if thread else "", "note": "n"},
        thread=thread,
    )
    assert message is not None
    return message


def test_emails_about_a_case_chain_their_headers(db, settings):
    settings = replace(settings, mail_domain="riverton.example")
    thread = MailThread(request_id=5, reference="SR-2026-000005", user_id=0, role="r")
    first = _send(db, settings, "ana@example.org", thread)
    root = thread_root("SR-2026-000005", "riverton.example")
    assert root == "<sr-2026-000005@riverton.example>"
    assert first.message_id.startswith("<sr-2026-000005.") and first.message_id.endswith(
        "@riverton.example>"
    )
    assert first.in_reply_to == root and first.references_header == root
    token = token_in_address(first.reply_to)
    read = read_token(settings.secret_key, token)
    assert read is not None and (read.request_id, read.user_id, read.role) == (5, 0, "r")

    # Another recipient's messages are not in this one's chain.
    _send(db, settings, "staff@example.org", replace(thread, user_id=9, role="i"))
    second = _send(db, settings, "ana@example.org", thread)
    third = _send(db, settings, "ana@example.org", thread)
    assert second.in_reply_to == first.message_id
    assert third.in_reply_to == second.message_id
    assert third.references_header.split() == [root, first.message_id, second.message_id]
    assert len({first.message_id, second.message_id, third.message_id}) == 3

    mime = build_email(
        third, mail_from="Riverton 311 <no-reply@riverton.example>", date=third.created_at
    )
    assert mime["Message-ID"] == third.message_id
    assert mime["In-Reply-To"] == second.message_id
    assert mime["Reply-To"] == third.reply_to
    assert mime["References"].split() == third.references_header.split()


def test_mail_about_no_case_has_no_thread(db, settings):
    message = _send(db, settings, "ana@example.org", None)
    assert message.message_id is None and message.reply_to == ""
    mime = build_email(message, mail_from="x <no-reply@riverton.example>", date=message.created_at)
    assert mime["Reply-To"] is None and mime["In-Reply-To"] is None
    assert mime["Message-ID"].startswith("<outbox.")
