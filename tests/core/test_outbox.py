"""Outbox delivery: SMTP and the mail folder, retries, exactly-once claims, the demo mailbox."""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select, text

from portal import create_app
from portal.core import clock, worker
from portal.core.config import ConfigError, Settings
from portal.core.mail import queue_email
from portal.core.outbox import OutboxMessage
from portal.core.senders import (
    EML_NAME_RE,
    FileSender,
    SmtpSender,
    TemporaryDeliveryError,
    sender_for,
)
from portal.core.worker import deliver_outbox, retry_delay
from portal.notifications.cli import outbox_cli
from tests.smtp import _free_port, body_html, body_text
from tests.threads import together

NOTE = 'Pothole <script>alert("x")</script> & co'


def _queue(session, settings, to="resident@example.org", ref="SR-2026-000001", **kw):
    message = queue_email(
        session,
        settings=settings,
        to=to,
        template="test_message",
        locale=kw.pop("locale", "en"),
        context={"ref": ref, "note": NOTE},
        **kw,
    )
    assert message is not None
    return message


def _database(app):
    return app.extensions["portal.db"]


def _reload(db, message) -> OutboxMessage:
    db.expire_all()
    return db.get(OutboxMessage, message.id)


# --- SMTP delivery ---------------------------------------------------------------------------


def test_a_queued_message_arrives_once_with_both_parts(app, db, settings, smtp):
    message = _queue(db, settings)
    db.commit()

    stats = deliver_outbox(_database(app), SmtpSender(settings), now=clock.now(), max_attempts=3)

    assert (stats.claimed, stats.sent, stats.retried, stats.failed) == (1, 1, 0, 0)
    received = smtp.wait_for(1)
    assert len(received) == 1
    mail = smtp.to("resident@example.org")[0]
    assert mail["Subject"] == "Test message SR-2026-000001"
    assert mail.get_content_type() == "multipart/alternative"
    assert mail["Auto-Submitted"] == "auto-generated"
    assert mail["Content-Language"] == "en"
    assert mail["Message-ID"].startswith(f"<outbox.{message.id}.")
    assert mail["Date"]
    assert "riverton.example" in mail["From"]
    # The text part is not escaped; the HTML part is.
    assert f"Test note: {NOTE}" in body_text(mail)
    html = body_html(mail)
    assert "&lt;script&gt;" in html and "<script>" not in html
    assert "&amp; co" in html

    row = _reload(db, message)
    assert (row.state, row.attempts, row.last_error) == ("sent", 1, "")
    assert row.sent_at is not None and row.claimed_until is None

    again = deliver_outbox(_database(app), SmtpSender(settings), now=clock.now(), max_attempts=3)
    assert again.claimed == 0
    assert len(smtp.wait_for(2, timeout=0.3)) == 1


def test_a_non_ascii_subject_is_encoded(app, db, settings, smtp):
    _queue(db, settings, ref="Peña-Ñandú")
    db.commit()
    deliver_outbox(_database(app), SmtpSender(settings), now=clock.now(), max_attempts=3)
    mail = smtp.wait_for(1)[0][1]
    raw = mail.get("Subject")
    assert "=?utf-8?" in raw.lower()
    from email.header import decode_header, make_header

    assert str(make_header(decode_header(raw))) == "Test message Peña-Ñandú"


def test_an_unreachable_server_means_backoff_then_failure(app, db, settings, smtp):
    down = replace(settings, smtp_port=_free_port(), smtp_timeout=2)
    message = _queue(db, settings)
    db.commit()
    now = clock.now()

    stats = deliver_outbox(_database(app), SmtpSender(down), now=now, max_attempts=3)
    assert (stats.sent, stats.retried, stats.failed) == (0, 1, 0)
    row = _reload(db, message)
    assert (row.state, row.attempts) == ("pending", 1)
    assert "SMTP unavailable" in row.last_error
    first_delay = row.next_attempt_at - now
    assert timedelta(minutes=1) <= first_delay <= timedelta(minutes=1.2)

    # Not due yet: nothing is claimed.
    assert (
        deliver_outbox(
            _database(app), SmtpSender(down), now=now + timedelta(seconds=30), max_attempts=3
        ).claimed
        == 0
    )

    now = row.next_attempt_at
    deliver_outbox(_database(app), SmtpSender(down), now=now, max_attempts=3)
    row = _reload(db, message)
    assert (row.state, row.attempts) == ("pending", 2)
    assert timedelta(minutes=2) <= row.next_attempt_at - now <= timedelta(minutes=2.4)

    stats = deliver_outbox(
        _database(app), SmtpSender(down), now=row.next_attempt_at, max_attempts=3
    )
    assert stats.failed == 1
    row = _reload(db, message)
    assert (row.state, row.attempts) == ("failed", 3)
    assert row.last_error
    assert (
        deliver_outbox(
            _database(app), SmtpSender(settings), now=now + timedelta(days=1), max_attempts=3
        ).claimed
        == 0
    )
    assert smtp.wait_for(1, timeout=0.2) == []


def test_backoff_doubles_up_to_an_hour():
    assert timedelta(minutes=1) <= retry_delay(1) <= timedelta(minutes=1.1)
    assert timedelta(minutes=4) <= retry_delay(3) <= timedelta(minutes=4.4)
    assert timedelta(hours=1) <= retry_delay(30) <= timedelta(hours=1.1)


class _Refusing:
    """Refuses one recipient with a permanent 550, accepts everyone else."""

    def __init__(self) -> None:
        self.received: list[str] = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        if address.startswith("nobody@"):
            return "550 5.1.1 No such user here"
        if address.startswith("busy@"):
            return "451 4.3.0 Try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        self.received.extend(envelope.rcpt_tos)
        return "250 Message accepted for delivery"


@pytest.fixture
def refusing_smtp():
    handler = _Refusing()
    controller = Controller(handler, hostname="127.0.0.1", port=_free_port())
    controller.start()
    yield controller, handler
    controller.stop()


def test_a_permanent_refusal_fails_at_once_and_a_4xx_is_retried(app, db, settings, refusing_smtp):
    controller, handler = refusing_smtp
    sender = SmtpSender(replace(settings, smtp_host=controller.hostname, smtp_port=controller.port))
    refused = _queue(db, settings, to="nobody@example.org")
    deferred = _queue(db, settings, to="busy@example.org")
    accepted = _queue(db, settings, to="someone@example.org")
    db.commit()

    stats = deliver_outbox(_database(app), sender, now=clock.now(), max_attempts=5)

    assert (stats.sent, stats.retried, stats.failed) == (1, 1, 1)
    assert handler.received == ["someone@example.org"]
    row = _reload(db, refused)
    assert (row.state, row.attempts) == ("failed", 1)
    assert "550" in row.last_error and "No such user" in row.last_error
    row = _reload(db, deferred)
    assert (row.state, row.attempts) == ("pending", 1)
    assert "451" in row.last_error
    assert _reload(db, accepted).state == "sent"


def test_a_header_injection_attempt_is_failed_not_sent(app, db, settings, smtp):
    message = _queue(db, settings, to="a@example.org\r\nBcc: everyone@example.org")
    db.commit()
    stats = deliver_outbox(_database(app), SmtpSender(settings), now=clock.now(), max_attempts=3)
    assert stats.failed == 1
    assert _reload(db, message).state == "failed"
    assert smtp.wait_for(1, timeout=0.2) == []


# --- claims ----------------------------------------------------------------------------------


def test_a_crashed_workers_lease_is_taken_over_only_after_it_expires(app, db, settings, smtp):
    now = clock.now()
    message = _queue(db, settings)
    message.state, message.attempts = "sending", 1
    message.claimed_until = now + timedelta(minutes=5)
    db.commit()

    assert (
        deliver_outbox(_database(app), SmtpSender(settings), now=now, max_attempts=3).claimed == 0
    )
    stats = deliver_outbox(
        _database(app), SmtpSender(settings), now=now + timedelta(minutes=6), max_attempts=3
    )
    assert stats.sent == 1
    row = _reload(db, message)
    assert (row.state, row.attempts) == ("sent", 2)
    assert len(smtp.wait_for(1)) == 1


def test_racing_workers_send_each_message_once(committed_app, settings, smtp):
    database = _database(committed_app)
    session = database.session(write=True)
    addresses = [f"resident{n}@example.org" for n in range(24)]
    for address in addresses:
        _queue(session, settings, to=address)
    session.commit()
    session.close()

    def work() -> int:
        sent = 0
        while True:
            stats = deliver_outbox(
                database, SmtpSender(settings), now=clock.now(), batch=4, max_attempts=3
            )
            sent += stats.sent
            if stats.claimed == 0:
                return sent

    totals, errors = together([work] * 3)

    assert errors == []
    assert sum(totals) == len(addresses)
    received = smtp.wait_for(len(addresses))
    assert sorted(r for rcpts, _m in received for r in rcpts) == sorted(addresses)
    check = database.session()
    states = check.scalars(select(OutboxMessage.state)).all()
    check.close()
    assert states == ["sent"] * len(addresses)


class _Killed(BaseException):
    """Stands for SIGKILL or a lost machine: nothing after it runs, not even ``except``."""


class _DiesAfter:
    """Really sends (the message reaches the server), then the worker dies on the n-th."""

    def __init__(self, sender, count: int) -> None:
        self.sender, self.count, self.sent = sender, count, 0

    def send(self, message) -> None:
        self.sender.send(message)
        self.sent += 1
        if self.sent == self.count:
            raise _Killed


def _message_ids(received) -> Counter:
    return Counter(mail["Message-ID"] for _rcpts, mail in received)


def test_a_worker_killed_mid_round_strands_only_the_message_in_flight(app, db, settings, smtp):
    addresses = [f"resident{n}@example.org" for n in range(5)]
    for address in addresses:
        _queue(db, settings, to=address)
    db.commit()
    now = clock.now()

    with pytest.raises(_Killed):  # handed the 3rd message over, died before recording it
        worker.run_round(_database(app), _DiesAfter(SmtpSender(settings), 3), settings, now=now)
    assert len(smtp.wait_for(3)) == 3

    # The next worker, a second later, takes the two the dead one never reached...
    ok, _more = worker.run_round(
        _database(app), SmtpSender(settings), settings, now=now + timedelta(seconds=1)
    )
    assert ok
    assert len(smtp.wait_for(5)) == 5
    # ...and the one in flight once its short lease has passed (well within a minute).
    worker.run_round(_database(app), SmtpSender(settings), settings, now=now + timedelta(minutes=1))
    received = smtp.wait_for(6)
    assert sorted(r for rcpts, _m in received for r in rcpts) == sorted([*addresses, addresses[2]])
    # The copy carries the first one's Message-ID, so the receiver can drop it.
    assert sorted(_message_ids(received).values()) == [1, 1, 1, 1, 2]
    db.expire_all()
    assert db.scalars(select(OutboxMessage.state)).all() == ["sent"] * 5


def _refuse_to_record_sent(db, address: str) -> None:
    """A real database error (a trigger) whenever ``address``'s message is marked sent."""
    if db.get_bind().dialect.name == "postgresql":
        db.execute(
            text(
                "CREATE FUNCTION test_refuse_sent() RETURNS trigger LANGUAGE plpgsql AS $$ "
                "BEGIN RAISE EXCEPTION 'recording refused'; END $$"
            )
        )
        db.execute(
            text(
                "CREATE TRIGGER test_refuse_sent BEFORE UPDATE ON outbox_messages FOR EACH ROW "
                f"WHEN (NEW.state = 'sent' AND NEW.to_address = '{address}') "
                "EXECUTE FUNCTION test_refuse_sent()"
            )
        )
    else:
        db.execute(
            text(
                "CREATE TRIGGER test_refuse_sent BEFORE UPDATE ON outbox_messages FOR EACH ROW "
                f"WHEN NEW.state = 'sent' AND NEW.to_address = '{address}' "
                "BEGIN SELECT RAISE(ABORT, 'recording refused'); END"
            )
        )


def test_a_database_error_recording_one_outcome_does_not_strand_the_others(app, db, settings, smtp):
    first = _queue(db, settings, to="first@example.org")
    broken = _queue(db, settings, to="broken@example.org")
    rest = [_queue(db, settings, to=f"later{n}@example.org") for n in range(2)]
    _refuse_to_record_sent(db, "broken@example.org")
    db.commit()
    now = clock.now()

    printed: list[str] = []
    ok, _more = worker.run_round(
        _database(app), SmtpSender(settings), settings, now=now, echo=printed.append
    )

    assert not ok  # `flask worker --once` exits non-zero: the database needs a look
    assert printed[0].endswith("outbox: 3 sent, 0 to retry, 0 failed, 1 not recorded")
    assert len(smtp.wait_for(4)) == 4
    for message in (first, *rest):
        assert _reload(db, message).state == "sent"
    assert _reload(db, broken).state == "sending"  # taken again when the lease is over

    db.execute(
        text(
            "DROP TRIGGER test_refuse_sent"
            + (" ON outbox_messages" if db.get_bind().dialect.name == "postgresql" else "")
        )
    )
    db.commit()
    later = deliver_outbox(
        _database(app),
        SmtpSender(settings),
        now=now + timedelta(seconds=20),
        max_attempts=3,
        lease=worker.lease_for(settings),
    )
    assert (later.claimed, later.sent) == (1, 1)
    assert _reload(db, broken).state == "sent"
    assert sorted(_message_ids(smtp.wait_for(5)).values()) == [1, 1, 1, 2]


def test_a_late_workers_outcome_does_not_overwrite_the_worker_that_took_over(
    app, db, settings, smtp
):
    message = _queue(db, settings)
    db.commit()
    now = clock.now()
    taken_over: list[worker.DeliveryStats] = []

    class _StalledThenFailed:
        """Stalls past its lease (another worker takes the message over and sends it), then
        reports a timeout."""

        def send(self, outbox_message) -> None:
            taken_over.append(
                deliver_outbox(
                    _database(app),
                    SmtpSender(settings),
                    now=now + timedelta(hours=1),
                    max_attempts=3,
                )
            )
            raise TemporaryDeliveryError("timed out")

    stale = deliver_outbox(_database(app), _StalledThenFailed(), now=now, max_attempts=3)

    assert taken_over[0].sent == 1 and stale.claimed == 1
    row = _reload(db, message)
    assert (row.state, row.attempts) == ("sent", 2)  # not put back to be sent a third time
    assert len(smtp.wait_for(1)) == 1


class _Slow:
    """Answers every command, each a little under the client's timeout."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.received = 0

    async def handle_MAIL(self, server, session, envelope, address, mail_options):  # noqa: N802
        await asyncio.sleep(self.delay)
        envelope.mail_from = address
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        await asyncio.sleep(self.delay)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        await asyncio.sleep(self.delay)
        self.received += 1
        return "250 Message accepted for delivery"


def test_a_whole_smtp_conversation_ends_at_the_timeout(app, db, settings):
    """Each reply within the timeout, but all of them past it: the sender gives up (and the
    message is retried) rather than outlive its lease, after which another worker would send
    it too."""
    handler = _Slow(delay=0.6)
    controller = Controller(handler, hostname="127.0.0.1", port=_free_port())
    controller.start()
    try:
        slow = replace(
            settings, smtp_host=controller.hostname, smtp_port=controller.port, smtp_timeout=1
        )
        message = _queue(db, settings)
        db.commit()
        stats = deliver_outbox(_database(app), SmtpSender(slow), now=clock.now(), max_attempts=3)
    finally:
        controller.stop()
    assert stats.retried == 1
    row = _reload(db, message)
    assert row.state == "pending"
    assert "timed out" in row.last_error or "Timeout" in row.last_error


# --- the worker ------------------------------------------------------------------------------


def test_flask_worker_once_delivers_and_runs_the_jobs(app, db, settings, smtp, monkeypatch):
    _queue(db, settings)
    db.commit()
    monkeypatch.setattr(worker, "PERIODIC_JOBS", [])
    calls: list[str] = []

    @worker.register_job
    def broken(database, job_settings, now):
        raise RuntimeError("this job is broken")

    @worker.register_job
    def counting(database, job_settings, now):
        calls.append(job_settings.env)
        return "2 digests queued"

    result = app.test_cli_runner().invoke(args=["worker", "--once"])

    assert len(smtp.wait_for(1)) == 1
    assert "outbox: 1 sent, 0 to retry, 0 failed" in result.output
    assert calls == ["test"]
    assert "counting: 2 digests queued" in result.output
    assert "broken: error" in result.output
    assert result.exit_code == 1  # something failed: cron and CI can see it

    monkeypatch.setattr(worker, "PERIODIC_JOBS", [])
    quiet = app.test_cli_runner().invoke(args=["worker", "--once"])
    assert (quiet.exit_code, quiet.output) == (0, "")
    assert len(smtp.wait_for(2, timeout=0.2)) == 1


def test_outbox_status_and_retry(app, db, settings, runner):
    message = _queue(db, settings)
    message.state = "failed"
    _queue(db, settings, to="other@example.org")
    db.commit()

    status = runner.invoke(outbox_cli, ["status"])
    assert status.exit_code == 0
    assert re.search(r"^pending\s+1$", status.output, re.M)
    assert re.search(r"^failed\s+1$", status.output, re.M)

    retried = runner.invoke(outbox_cli, ["retry", str(message.id)])
    assert "1 message(s) queued again" in retried.output
    row = _reload(db, message)
    assert (row.state, row.attempts) == ("pending", 0)


# --- the mail folder and the demo mailbox ----------------------------------------------------


def test_sender_for_picks_smtp_or_the_folder(settings):
    assert isinstance(sender_for(settings), SmtpSender)
    assert isinstance(sender_for(replace(settings, smtp_host="")), FileSender)
    with pytest.raises(ConfigError):
        sender_for(Settings(env="production"))


@pytest.fixture
def dev_client(settings):
    application = create_app(replace(settings, env="development"))
    yield application.test_client()
    application.extensions["portal.db"].dispose()  # the city profile was read through it


def test_the_folder_sender_feeds_the_demo_mailbox(app, db, settings, dev_client):
    message = _queue(db, settings, to="maria@example.org", locale="es")
    db.commit()
    folder = replace(settings, smtp_host="")

    stats = deliver_outbox(_database(app), sender_for(folder), now=clock.now(), max_attempts=3)

    assert stats.sent == 1
    files = list(Path(settings.mail_dir).iterdir())
    assert len(files) == 1 and EML_NAME_RE.match(files[0].name)
    listing = dev_client.get("/dev/mail/")
    assert listing.status_code == 200
    page = listing.get_data(as_text=True)
    assert "Test message SR-2026-000001" in page
    assert "maria@example.org" in page
    link = re.search(r'href="(/dev/mail/[^"/]+\.eml)"', page).group(1)

    shown = dev_client.get(link)
    assert shown.status_code == 200
    html = shown.get_data(as_text=True)
    assert "Test note: Pothole &lt;script&gt;" in html  # the text part, escaped by the page
    assert f"outbox.{message.id}." in html
    assert "<iframe" in html and 'sandbox=""' in html

    frame = dev_client.get(link + "/html")
    assert frame.status_code == 200
    csp = frame.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "sandbox" in csp
    assert frame.headers["X-Content-Type-Options"] == "nosniff"
    assert b'lang="es"' in frame.data
    assert b"&lt;script&gt;" in frame.data and b"<script>" not in frame.data


def test_the_mailbox_pages_newest_first(settings, dev_client):
    sender = FileSender(settings.mail_dir, mail_from=settings.mail_from)
    for n in range(1, 24):
        sender.send(
            OutboxMessage(
                id=n,
                to_address=f"r{n}@example.org",
                locale="en",
                subject=f"Number {n}",
                body_text="t",
                body_html="<p>h</p>",
                created_at=clock.now(),
            )
        )
    first = dev_client.get("/dev/mail/").get_data(as_text=True)
    assert first.count('href="/dev/mail/2') == 20
    assert first.index("Number 23") < first.index("Number 22")
    assert "Number 3<" not in first
    older = re.search(r'href="(/dev/mail/\?before=[^"]+)"', first).group(1)
    second = dev_client.get(older).get_data(as_text=True)
    assert "Number 3<" in second and "Number 1<" in second and "Number 23" not in second
    assert "Older emails" not in second


@pytest.mark.parametrize(
    "path",
    [
        "/dev/mail/..%2f..%2fetc%2fpasswd",
        "/dev/mail/../../etc/passwd",
        "/dev/mail/notes.eml",
        "/dev/mail/20260101T000000000000Z-1.eml",  # the right shape, but no such file
        "/dev/mail/20260101T000000000000Z-1.eml/html",
        "/dev/mail/?before=../x",
    ],
)
def test_the_mailbox_only_opens_its_own_files(dev_client, path):
    assert dev_client.get(path).status_code == 404


def test_the_mailbox_is_shown_only_to_this_machine(settings, dev_client):
    FileSender(settings.mail_dir, mail_from=settings.mail_from).send(
        OutboxMessage(
            id=7,
            to_address="r@example.org",
            locale="en",
            subject="Reset your password",
            body_text="https://portal.test/account/reset/secret-token",
            body_html="<p>h</p>",
            created_at=clock.now(),
        )
    )
    page = dev_client.get("/dev/mail/")  # the test client comes from 127.0.0.1
    assert page.status_code == 200
    assert "shown only to this machine" in page.get_data(as_text=True)
    link = re.search(r'href="(/dev/mail/[^"/]+\.eml)"', page.get_data(as_text=True)).group(1)
    assert dev_client.get(link, environ_base={"REMOTE_ADDR": "::1"}).status_code == 200
    for path in ("/dev/mail/", link, link + "/html"):
        response = dev_client.get(path, environ_base={"REMOTE_ADDR": "192.0.2.5"})
        assert response.status_code == 404
        assert b"secret-token" not in response.data


def test_behind_a_proxy_the_mailbox_goes_by_the_forwarded_client(settings):
    application = create_app(replace(settings, env="development", trusted_proxies=1))
    try:
        client = application.test_client()
        assert client.get("/dev/mail/").status_code == 200
        forwarded = client.get("/dev/mail/", headers={"X-Forwarded-For": "192.0.2.5"})
        assert forwarded.status_code == 404
    finally:
        application.extensions["portal.db"].dispose()


def test_the_mailbox_is_404_outside_development(client, settings):
    assert client.get("/dev/mail/").status_code == 404  # env "test"
    production = create_app(
        Settings(
            env="production",
            secret_key="production-secret-9f8e7d6c5b4a3210-ZyXwVuTs",
            smtp_host="mail.example",
            database_url="postgresql+psycopg://nobody@127.0.0.1:1/none",
        )
    )
    assert production.test_client().get("/dev/mail/").status_code == 404
    production.extensions["portal.db"].dispose()
