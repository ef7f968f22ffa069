"""Outbox delivery: SMTP and the mail folder, retries, exactly-once claims, the demo mailbox."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from portal import create_app
from portal.core import clock, worker
from portal.core.config import ConfigError, Settings
from portal.core.mail import queue_email
from portal.core.outbox import OutboxMessage
from portal.core.senders import EML_NAME_RE, FileSender, SmtpSender, sender_for
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


def test_the_mailbox_is_404_outside_development(client, settings):
    assert client.get("/dev/mail/").status_code == 404  # env "test"
    production = create_app(
        Settings(
            env="production",
            secret_key="p" * 40,
            smtp_host="mail.example",
            database_url="postgresql+psycopg://nobody@127.0.0.1:1/none",
        )
    )
    assert production.test_client().get("/dev/mail/").status_code == 404
    production.extensions["portal.db"].dispose()
