"""Failed sign-ins are counted per email address, in the database, whatever the client address."""

from __future__ import annotations

import re
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from werkzeug.security import generate_password_hash

from portal.auth.models import SignInThrottle, User
from portal.core import clock
from portal.core.outbox import OutboxMessage
from portal.core.senders import SmtpSender
from portal.core.worker import deliver_outbox
from portal.jobs import sweep_sign_in_counters
from tests.auth.test_auth import NEW_PASSWORD, _signed_in
from tests.conftest import csrf_from
from tests.factories import PASSWORD, Factories
from tests.smtp import body_html, body_text

START = datetime(2026, 11, 2, 15, 0, tzinfo=UTC)
ERROR_RE = re.compile(r'id="email-error-1">([^<]+)<')


def _attempt(client, email: str, password: str, address: str = "127.0.0.1"):
    """One sign-in from ``address``; returns (status, the message beside the email field)."""
    env = {"REMOTE_ADDR": address}
    token = csrf_from(client.get("/account/sign-in", environ_base=env).get_data(as_text=True))
    response = client.post(
        "/account/sign-in",
        data={"csrf_token": token, "email": email, "password": password},
        environ_base=env,
    )
    match = ERROR_RE.search(response.get_data(as_text=True))
    return response.status_code, (match.group(1) if match else None), response


def _fifty_wrong_then_right(client, email: str) -> list[tuple[int, str | None]]:
    outcomes = []
    for n in range(50):
        status, message, _ = _attempt(client, email, f"guess number {n}", f"203.0.113.{n % 10}")
        outcomes.append((status, message))
    status, message, _ = _attempt(client, email, PASSWORD, "203.0.113.99")
    outcomes.append((status, message))
    return outcomes


def _deliver(app, settings) -> int:
    stats = deliver_outbox(
        app.extensions["portal.db"], SmtpSender(settings), now=clock.now(), max_attempts=3
    )
    return stats.sent


WRONG = (
    "The email address or password is not right. Check them and try again, or reset your password."
)


def _too_many(minutes: int) -> str:
    unit = "minute" if minutes == 1 else "minutes"
    return (
        f"Too many failed sign-ins for this account. Try again in {minutes} {unit} "
        "or reset your password."
    )


def test_fifty_wrong_passwords_from_ten_addresses_lock_the_account(
    app, client, make, db, settings, smtp, freeze_clock
):
    freeze_clock(START)
    make.user(email="kim@example.org", name="Kim")

    outcomes = _fifty_wrong_then_right(client, "kim@example.org")

    assert not _signed_in(client)
    # Five free failures, then waits, then the lock; the right password is refused too.
    assert outcomes[:5] == [(200, WRONG)] * 5
    assert outcomes[5] == (200, _too_many(1))
    assert outcomes[6:] == [(429, _too_many(1))] * 45
    assert _sent_lock_emails(app, settings, smtp) == 0  # 6 failures: slowed down, not locked

    # Waiting out each delay: failures 7 to 10 wait 2, 4, 8, then the lock's 15 minutes.
    moment = START
    for wait in (1, 2, 4, 8):
        moment += timedelta(minutes=wait, seconds=1)
        freeze_clock(moment)
        status, message, _ = _attempt(client, "kim@example.org", "still guessing", "203.0.113.7")
        expected = _too_many(15) if wait == 8 else _too_many(wait * 2)
        assert (status, message) == (200, expected)
    status, message, response = _attempt(client, "kim@example.org", PASSWORD, "198.51.100.1")
    assert (status, message) == (429, _too_many(15))
    assert response.headers["Retry-After"] == "900"
    assert not _signed_in(client)

    # The owner hears once per lock, over SMTP, with a link to choose a new password.
    assert _sent_lock_emails(app, settings, smtp) == 1
    [mail] = smtp.to("kim@example.org")
    assert mail["Subject"] == "Signing in to your Riverton 311 account is paused"
    link = re.search(r"http://portal\.test(/account/reset/\S+)", body_text(mail)).group(1)
    assert link in body_html(mail)

    # More failures after the lock lapses lock again, but email no more.
    freeze_clock(moment + timedelta(minutes=16))
    assert _attempt(client, "kim@example.org", "another guess")[:2] == (200, _too_many(15))
    assert _sent_lock_emails(app, settings, smtp) == 0

    # After the lock, the right password works again and clears the count.
    freeze_clock(moment + timedelta(minutes=32))
    assert _attempt(client, "kim@example.org", PASSWORD)[0] == 302
    assert db.scalar(select(SignInThrottle)) is None


def _sent_lock_emails(app, settings, smtp) -> int:
    """Deliver the outbox over SMTP; how many messages went."""
    before = len(smtp.messages)
    sent = _deliver(app, settings)
    smtp.wait_for(before + sent)
    return sent


def test_an_address_without_an_account_gets_the_same_answers(
    app, client, make, db, settings, freeze_clock
):
    freeze_clock(START)
    make.user(email="kim@example.org")
    existing = _fifty_wrong_then_right(client, "kim@example.org")
    unknown = _fifty_wrong_then_right(client, "nobody@example.org")
    assert existing == unknown
    locks = db.scalars(
        select(OutboxMessage.to_address).where(OutboxMessage.kind == "sign_in_locked")
    )
    assert locks.all() == []  # nobody to tell yet: kim has 6 failures, nobody has no account


def test_the_wait_refuses_even_the_right_password_and_a_sign_in_clears_the_count(
    client, make, db, freeze_clock
):
    freeze_clock(START)
    make.user(email="kim@example.org")
    for n in range(5):
        assert _attempt(client, "Kim@Example.org ", f"wrong {n}")[:2] == (200, WRONG)
    assert _attempt(client, "kim@example.org", "wrong 5")[:2] == (200, _too_many(1))
    status, message, response = _attempt(client, "kim@example.org", PASSWORD)
    assert (status, message) == (429, _too_many(1))
    assert response.headers["Retry-After"] == "60"
    assert not _signed_in(client)

    freeze_clock(START + timedelta(seconds=61))
    assert _attempt(client, "kim@example.org", PASSWORD)[0] == 302
    assert _signed_in(client)
    client.post(
        "/account/sign-out",
        data={"csrf_token": csrf_from(client.get("/account").get_data(as_text=True))},
    )
    # The count starts again from nothing.
    assert _attempt(client, "kim@example.org", "wrong again")[:2] == (200, WRONG)


def test_a_password_reset_lifts_the_lock(client, make, db, freeze_clock):
    freeze_clock(START)
    make.user(email="kim@example.org")
    moment = START
    for n in range(10):
        _attempt(client, "kim@example.org", f"wrong {n}")
        moment += timedelta(minutes=9)
        freeze_clock(moment)
    moment -= timedelta(minutes=9)
    freeze_clock(moment + timedelta(minutes=1))
    assert _attempt(client, "kim@example.org", PASSWORD)[:2] == (429, _too_many(14))

    lock = db.scalar(select(OutboxMessage).where(OutboxMessage.kind == "sign_in_locked"))
    link = re.search(r"http://portal\.test(/account/reset/\S+)", lock.body_text).group(1)
    token = csrf_from(client.get(link).get_data(as_text=True))
    response = client.post(
        link, data={"csrf_token": token, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    )
    assert response.status_code == 302
    assert _attempt(client, "kim@example.org", NEW_PASSWORD)[0] == 302


def test_counters_store_no_address_or_password_and_are_forgotten(
    app, client, make, db, settings, freeze_clock
):
    freeze_clock(START)
    make.user(email="kim@example.org")
    for n in range(3):
        _attempt(client, "kim@example.org", f"secret guess {n}")
    row = db.scalar(select(SignInThrottle))
    assert row.failures == 3
    stored = " ".join(str(getattr(row, c.key)) for c in SignInThrottle.__table__.columns)
    assert "kim" not in stored and "secret guess" not in stored

    # A day after the last failure the count starts again, and the worker sweeps the row.
    freeze_clock(START + timedelta(hours=24, minutes=1))
    for n in range(5):
        assert _attempt(client, "kim@example.org", f"wrong {n}")[:2] == (200, WRONG)
    freeze_clock(START + timedelta(hours=49))
    job = sweep_sign_in_counters(app.extensions["portal.db"], settings, clock.now())
    assert job == "swept 1 sign-in counter(s)"
    assert db.scalar(select(SignInThrottle)) is None
    assert db.scalar(select(User).where(User.email == "kim@example.org")) is not None


def test_concurrent_attempts_from_many_processes_are_each_counted(committed_app, freeze_clock):
    """Web processes share the count: simultaneous wrong passwords are counted one by one
    (the counter's row is locked while it changes), so exactly 6 are checked and the rest
    refused, whatever order they arrive in."""
    freeze_clock(START)
    db = committed_app.extensions["portal.db"]
    with db.transaction() as session:
        factories = Factories(session, committed_app.extensions["portal.settings"])
        # The app's own (slow) hash: attempts overlap while their passwords are checked.
        factories.user(email="kim@example.org", password_hash=generate_password_hash(PASSWORD))
    attempts = 12
    start = threading.Barrier(attempts)
    outcomes: list[tuple[int, str | None]] = []
    lock = threading.Lock()

    def attempt(n: int) -> None:
        client = committed_app.test_client()
        token = csrf_from(client.get("/account/sign-in").get_data(as_text=True))
        start.wait()
        response = client.post(
            "/account/sign-in",
            data={"csrf_token": token, "email": "kim@example.org", "password": f"guess {n}"},
            environ_base={"REMOTE_ADDR": f"203.0.113.{n}"},
        )
        match = ERROR_RE.search(response.get_data(as_text=True))
        with lock:
            outcomes.append((response.status_code, match.group(1) if match else None))

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(attempts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert Counter(outcomes) == Counter(
        {(200, WRONG): 5, (200, _too_many(1)): 1, (429, _too_many(1)): attempts - 6}
    )
    with db.transaction(write=False) as session:
        [row] = session.scalars(select(SignInThrottle)).all()
        assert row.failures == 6
