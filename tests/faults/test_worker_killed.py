"""``flask worker`` killed with SIGKILL in the middle of a round, then a second worker: the
message in flight may arrive twice (same Message-ID), every other one exactly once, and all
within a minute (the killed worker's claim is a short lease, and it claimed only that one)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from contextlib import contextmanager

import pytest
from sqlalchemy import func, select

from portal.core.config import ROOT
from portal.core.db import Database
from portal.core.mail import queue_email
from portal.core.outbox import OutboxMessage
from portal.migrate import upgrade
from tests.faults.mailsink import CountingSink
from tests.scratch import ENGINES, scratch

MESSAGES = 30
DELAY = 0.2  # seconds the server takes per message: the kill lands mid-round


@contextmanager
def _worker(database_url: str, sink: CountingSink, log_path):
    env = {
        **os.environ,
        "PORTAL_ENV": "test",
        "SECRET_KEY": "fault-test-secret-key-0123456789abcdefghij",
        "DATABASE_URL": database_url,
        "SMTP_HOST": sink.host,
        "SMTP_PORT": str(sink.port),
        "MAIL_FROM": "Riverton 311 <no-reply@riverton.example>",
        "PYTHONUNBUFFERED": "1",
    }
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "portal", "worker"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _sent(db: Database) -> int:
    with db.transaction(write=False) as session:
        return session.scalar(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.state == "sent")
        )


@pytest.mark.parametrize("engine", ENGINES)
def test_a_worker_killed_mid_round_loses_nothing_and_sends_at_most_one_twice(
    engine, settings, tmp_path
):
    sink = CountingSink(delay=DELAY)
    sink.start()
    log_path = tmp_path / "workers.log"
    with scratch(engine, tmp_path) as url:
        upgrade(url)
        db = Database(url)
        try:
            with db.transaction() as session:
                for n in range(MESSAGES):
                    queue_email(
                        session,
                        settings=settings,
                        to=f"resident{n}@example.org",
                        template="test_message",
                        locale="en",
                        context={"ref": f"SR-2026-{n:06d}", "note": "kill"},
                    )

            with _worker(url, sink, log_path) as first:
                started = sink.wait_until(lambda: sink.count() >= 5, timeout=30)
                assert started, log_path.read_text()
                first.send_signal(signal.SIGKILL)
                first.wait()
            killed_at = time.monotonic()
            delivered_by_first = sink.count()
            assert delivered_by_first < MESSAGES

            with _worker(url, sink, log_path):
                # Every message the killed worker had not claimed goes at once; the one in
                # flight once its lease has passed.
                sink.wait_until(lambda: len(sink.message_ids()) >= MESSAGES - 1, timeout=60)
                unclaimed_in = time.monotonic() - killed_at
                done = sink.wait_until(lambda: len(sink.message_ids()) == MESSAGES, timeout=60)
                resumed_in = time.monotonic() - killed_at
                assert done, f"not all delivered within a minute:\n{log_path.read_text()}"
                assert sink.wait_until(lambda: _sent(db) == MESSAGES, timeout=10)
            ids = sink.message_ids()
            duplicates = sum(count - 1 for count in ids.values())
            print(
                f"{engine}: killed after {delivered_by_first} of {MESSAGES}; all but one "
                f"delivered {unclaimed_in:.1f} s after the kill, all {resumed_in:.1f} s after; "
                f"{duplicates} duplicate(s)"
            )
            assert duplicates <= 1, ids
        finally:
            db.dispose()
            sink.stop()
