"""The mail server goes away in the middle of a delivery round and comes back: every message
arrives exactly once."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import timedelta

from sqlalchemy import func, select

from portal.core import clock
from portal.core.mail import queue_email
from portal.core.outbox import OutboxMessage
from portal.core.senders import SmtpSender
from portal.core.worker import deliver_outbox
from tests.faults.mailsink import CountingSink

MESSAGES = 12


def test_a_mail_server_outage_mid_round_delivers_every_message_exactly_once(
    committed_app, settings
):
    sink = CountingSink(delay=0.05)
    sink.start()
    db = committed_app.extensions["portal.db"]
    with db.transaction() as session:
        for n in range(MESSAGES):
            queue_email(
                session,
                settings=settings,
                to=f"resident{n}@example.org",
                template="test_message",
                locale="en",
                context={"ref": f"SR-2026-{n:06d}", "note": "outage"},
            )
    sender = SmtpSender(replace(settings, smtp_host=sink.host, smtp_port=sink.port))

    # The server stops (from another thread, as an outage would) after the 4th message.
    stopper = threading.Thread(
        target=lambda: sink.wait_until(lambda: sink.count() >= 4, timeout=30) and sink.stop()
    )
    stopper.start()
    try:
        now = clock.now()
        first = deliver_outbox(db, sender, now=now, max_attempts=8)
        stopper.join()
        assert first.claimed == MESSAGES and 4 <= first.sent < MESSAGES
        assert first.retried == MESSAGES - first.sent and first.failed == 0

        sink.start()  # back, on the same port
        for minutes in (2, 5, 10):  # the retries' backoff: 1 min, then 2
            deliver_outbox(db, sender, now=now + timedelta(minutes=minutes), max_attempts=8)
    finally:
        sink.stop()

    ids = sink.message_ids()
    assert len(ids) == MESSAGES
    assert set(ids.values()) == {1}, "a message was delivered twice"
    with db.transaction(write=False) as session:
        states = dict(
            session.execute(
                select(OutboxMessage.state, func.count()).group_by(OutboxMessage.state)
            ).all()
        )
    assert states == {"sent": MESSAGES}
