"""The IMAP poller against a real Dovecot on loopback (tests/mail_in/imap_server.py)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import replace

import pytest
from sqlalchemy import func, select

from portal import create_app
from portal.mail_in.imap import (
    ImapConfigError,
    ImapConnectionError,
    ImapLoginError,
    ImapMailbox,
    ImapSettings,
    encode_folder,
    run_poller,
)
from portal.mail_in.models import InboundMail
from portal.requests.models import Event, ServiceRequest
from tests.mail_in.conftest import INTAKE, message
from tests.mail_in.imap_server import Dovecot, ImapAccount, running_dovecot


@pytest.fixture(scope="module")
def dovecot() -> Iterator[Dovecot]:
    with running_dovecot() as server:
        yield server


@pytest.fixture
def account(dovecot: Dovecot) -> ImapAccount:
    return dovecot.account()


def raw_message(number: int, subject: str = "Bache") -> bytes:
    return (
        f"From: Vecina {number} <vecina{number}@example.org>\r\n"
        f"To: 311@riverton.example\r\n"
        f"Subject: {subject} {number}\r\n"
        f"Message-ID: <imap-{number}-{time.monotonic_ns()}@example.org>\r\n"
        f"Date: Mon, 07 Dec 2026 10:00:00 +0000\r\n"
        f"Content-Type: text/plain; charset=utf-8\r\n"
        f"\r\n"
        f"Hay un bache en la calle {number}.\r\n"
    ).encode()


def settings_for(account: ImapAccount, **changes: str) -> ImapSettings:
    return ImapSettings.from_env(account.env(**changes))


class Store:
    """What the poller hands on: kept in memory, optionally failing."""

    def __init__(self, fail: int = 0) -> None:
        self.raws: list[bytes] = []
        self.fail = fail
        self.lock = threading.Lock()

    def __call__(self, raw: bytes) -> int:
        with self.lock:
            if self.fail:
                self.fail -= 1
                raise RuntimeError("database is locked")
            self.raws.append(raw)
            return len(self.raws)

    def wait_for(self, count: int, timeout: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.raws) >= count:
                    return True
            time.sleep(0.05)
        return False


# -- settings ----------------------------------------------------------------------------------


@pytest.mark.pure
def test_settings_come_from_the_environment_with_safe_defaults():
    settings = ImapSettings.from_env(
        {
            "MAIL_IN_IMAP_HOST": "imap.example.org",
            "MAIL_IN_IMAP_USER": "311@riverton.example",
            "MAIL_IN_IMAP_PASSWORD": "s3cret",
        }
    )
    assert (settings.security, settings.port) == ("ssl", 993)
    assert (settings.folder, settings.processed_folder) == ("INBOX", "Processed")
    assert "s3cret" not in repr(settings)

    starttls = ImapSettings.from_env(
        {
            "MAIL_IN_IMAP_HOST": "imap.example.org",
            "MAIL_IN_IMAP_USER": "u",
            "MAIL_IN_IMAP_PASSWORD": "p",
            "MAIL_IN_IMAP_SSL": "starttls",
            "MAIL_IN_IMAP_PROCESSED_FOLDER": "Procesados",
        }
    )
    assert (starttls.security, starttls.port, starttls.processed_folder) == (
        "starttls",
        143,
        "Procesados",
    )


@pytest.mark.pure
@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({}, "set MAIL_IN_IMAP_HOST, MAIL_IN_IMAP_USER, MAIL_IN_IMAP_PASSWORD"),
        ({"MAIL_IN_IMAP_SSL": "maybe"}, "must be ssl, starttls or none, not 'maybe'"),
        ({"MAIL_IN_IMAP_SSL": "none"}, "only allowed on loopback"),
        ({"MAIL_IN_IMAP_PORT": "imaps"}, "MAIL_IN_IMAP_PORT must be a number"),
        ({"MAIL_IN_IMAP_PROCESSED_FOLDER": "INBOX"}, "must differ from the folder"),
    ],
)
def test_wrong_settings_are_named(env, message):
    base = {"MAIL_IN_IMAP_HOST": "imap.example.org", "MAIL_IN_IMAP_USER": "u"}
    base["MAIL_IN_IMAP_PASSWORD"] = "p"
    with pytest.raises(ImapConfigError, match=message):
        ImapSettings.from_env(env if not env else {**base, **env})


@pytest.mark.pure
def test_folder_names_are_quoted_in_modified_utf7():
    assert encode_folder("Processed") == '"Processed"'
    assert encode_folder("Correo procesado/Año") == '"Correo procesado/A&APE-o"'
    assert encode_folder('A&B "x"') == '"A&-B \\"x\\""'


# -- against Dovecot ---------------------------------------------------------------------------


def test_messages_are_stored_then_moved_to_a_processed_folder_it_creates(account):
    raws = [raw_message(1), raw_message(2)]
    for raw in raws:
        account.append(raw)
    store = Store()

    assert run_poller(settings_for(account), store=store, once=True, echo=lambda _: None)

    assert store.raws == raws  # byte for byte, oldest first
    assert account.messages("INBOX") == []
    assert account.messages("Processed") == raws
    with account.connect() as client:  # fetched with PEEK: not marked read by the poller
        client.select("Processed", readonly=True)
        _, unseen = client.search(None, "UNSEEN")
        assert len(unseen[0].split()) == 2


def test_without_move_it_copies_flags_and_expunges(account):
    raw = raw_message(3)
    account.append(raw)
    account.append(raw_message(4))
    mailbox = ImapMailbox(settings_for(account, MAIL_IN_IMAP_PROCESSED_FOLDER="Año 2026"))
    mailbox.use_move = False
    mailbox.open()
    try:
        assert mailbox.capabilities >= {"MOVE", "UIDPLUS", "IDLE"}
        first = mailbox.uids()[0]
        assert mailbox.fetch(first) == raw
        mailbox.move(first)
        assert len(mailbox.uids()) == 1
    finally:
        mailbox.close()
    with account.connect() as client:
        status, _ = client.select(encode_folder("Año 2026"), readonly=True)
        assert status == "OK"
        _, data = client.uid("SEARCH", "ALL")
        assert len(data[0].split()) == 1


def test_a_message_that_cannot_be_stored_stays_and_is_taken_next_time(account):
    raws = [raw_message(5), raw_message(6)]
    for raw in raws:
        account.append(raw)
    store = Store(fail=1)
    lines: list[str] = []

    assert not run_poller(settings_for(account), store=store, once=True, echo=lines.append)

    assert store.raws == []
    assert account.messages("INBOX") == raws  # nothing moved, nothing lost
    said = "not stored, left in the folder: RuntimeError: database is locked"
    assert any(said in line for line in lines)

    assert run_poller(settings_for(account), store=store, once=True, echo=lines.append)
    assert store.raws == raws
    assert account.messages("INBOX") == []


def test_bad_password_and_unreachable_server_are_clear_errors(account, dovecot):
    wrong = ImapSettings.from_env(account.env(MAIL_IN_IMAP_PASSWORD="wrong"))
    with pytest.raises(ImapLoginError, match=f"refused the login of '{account.user}'"):
        run_poller(wrong, store=Store(), once=True)
    closed = ImapSettings.from_env(account.env(MAIL_IN_IMAP_PORT="1"))
    with pytest.raises(ImapConnectionError, match="cannot connect to the IMAP server 127.0.0.1:1"):
        run_poller(closed, store=Store(), once=True)


def test_waits_with_idle_takes_new_mail_and_stops_when_asked(account):
    stopping = threading.Event()
    store = Store()
    lines: list[str] = []
    poller = threading.Thread(
        target=run_poller,
        kwargs={
            "settings": settings_for(account),
            "store": store,
            "stop": stopping.is_set,
            "echo": lines.append,
        },
    )
    poller.start()
    try:
        time.sleep(0.5)  # the first round found nothing: it is idling
        account.append(raw_message(7))
        assert store.wait_for(1, timeout=5), lines
        account.append(raw_message(8))
        assert store.wait_for(2, timeout=5), lines
    finally:
        stopping.set()
        poller.join(5)
    assert not poller.is_alive()
    assert account.messages("INBOX") == []


# -- flask mail-in poll, on the portal's database ----------------------------------------------


def _mails(db) -> list[InboundMail]:
    db.expire_all()
    return list(db.scalars(select(InboundMail).order_by(InboundMail.id)))


def _crlf(text: str) -> bytes:
    return text.replace("\r\n", "\n").replace("\n", "\r\n").encode()


def test_poll_stores_processes_and_moves_replies_and_new_requests(
    runner, account, make, db, mail_settings, token_address
):
    make.area()
    make.category(code="general")
    sr = make.request(contact_email="ana@example.org", status="in_progress")
    db.commit()
    reply = _crlf(
        message(
            to=token_address(sr.id),
            subject=f"Re: Update on your request {sr.reference}",
            body="Still there.\n\nOn Mon, City wrote:\n> Any news?\n",
            message_id="<imap-reply@example.org>",
        )
    )
    intake = _crlf(
        message(
            sender="Luis Vecino <luis@example.org>",
            to=INTAKE,
            subject="Farola apagada en Main Street",
            body="La farola frente al 12 de Main Street no enciende.",
            message_id="<imap-new@example.org>",
        )
    )
    account.append(reply)
    account.append(intake)
    requests_before = db.scalar(select(func.count()).select_from(ServiceRequest))

    result = runner.invoke(args=["mail-in", "poll", "--once"], env=account.env())

    assert result.exit_code == 0, result.output
    first, second = _mails(db)
    assert (first.via, first.state, first.outcome, first.request_id) == (
        "imap",
        "processed",
        "comment",
        sr.id,
    )
    comment = db.scalars(
        select(Event).where(Event.request_id == sr.id, Event.kind == "comment")
    ).one()
    assert comment.body == "Still there."
    assert (second.state, second.outcome) == ("processed", "new_request")
    filed = db.get(ServiceRequest, second.request_id)
    assert filed.channel == "email" and filed.contact_email == "luis@example.org"
    assert db.scalar(select(func.count()).select_from(ServiceRequest)) == requests_before + 1
    assert account.messages("INBOX") == []
    assert account.messages("Processed") == [reply, intake]
    assert "2 message(s) taken" in result.output


def test_the_same_message_twice_is_stored_and_processed_once(
    runner, account, make, db, mail_settings, token_address
):
    sr = make.request(contact_email="ana@example.org", status="in_progress")
    db.commit()
    raw = _crlf(message(to=token_address(sr.id), body="Twice.", message_id="<twice@example.org>"))
    account.append(raw)
    account.append(raw)  # a crash between the commit and the move fetches it again

    result = runner.invoke(args=["mail-in", "poll", "--once"], env=account.env())

    assert result.exit_code == 0, result.output
    [mail] = _mails(db)
    assert mail.outcome == "comment"
    comments = db.scalars(select(Event).where(Event.request_id == sr.id, Event.kind == "comment"))
    assert len(list(comments)) == 1
    assert account.messages("INBOX") == []
    assert len(account.messages("Processed")) == 2


def test_a_database_failure_leaves_the_message_in_the_mailbox_for_the_next_poll(
    runner, account, db, settings, mail_settings, tmp_path
):
    raw = _crlf(message(subject="Hola", body="Nada que perder.", message_id="<dbdown@ex.org>"))
    account.append(raw)
    broken = create_app(
        replace(mail_settings, database_url=f"sqlite:///{tmp_path}/missing/folder/portal.db")
    )

    failed = broken.test_cli_runner().invoke(args=["mail-in", "poll", "--once"], env=account.env())

    assert failed.exit_code == 1
    assert "not stored, left in the folder: OperationalError" in failed.output
    assert "Traceback" not in failed.output
    assert account.messages("INBOX") == [raw]
    assert account.messages("Processed") == []
    assert _mails(db) == []

    result = runner.invoke(args=["mail-in", "poll", "--once"], env=account.env())
    assert result.exit_code == 0, result.output
    [mail] = _mails(db)
    assert mail.raw_bytes() == raw
    assert account.messages("INBOX") == []


def test_bad_credentials_and_settings_are_a_clear_error_not_a_traceback(runner, dovecot):
    account = dovecot.account()
    wrong = runner.invoke(
        args=["mail-in", "poll", "--once"], env=account.env(MAIL_IN_IMAP_PASSWORD="nope")
    )
    assert wrong.exit_code == 1
    assert f"Error: the IMAP server 127.0.0.1:{account.port} refused the login" in wrong.output
    assert "AUTHENTICATIONFAILED" in wrong.output
    assert wrong.exception is None or isinstance(wrong.exception, SystemExit)

    unset = runner.invoke(args=["mail-in", "poll", "--once"], env={"MAIL_IN_IMAP_HOST": ""})
    assert unset.exit_code == 1
    assert "Error: set MAIL_IN_IMAP_HOST" in unset.output
