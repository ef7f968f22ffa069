"""The background worker: delivers the outbox, then runs the registered periodic jobs.

Delivery takes one due message at a time: it claims it in one short transaction (``SELECT ...
FOR UPDATE SKIP LOCKED`` on PostgreSQL, a conditional ``UPDATE ... RETURNING`` under ``BEGIN
IMMEDIATE`` on SQLite), sends it outside any transaction, and records the outcome in another
short one, so several workers never send the same message twice. A claim is a short lease
(``lease_for``: the SMTP timeout, which bounds a whole SMTP conversation, plus a margin). A
worker that is killed or loses its database while sending leaves only the message in flight
behind, taken again once its lease has passed (SMTP delivery is at-least-once in that one case,
and the copy keeps the Message-ID, so receivers can drop it); every other due message is still
unclaimed and goes to the next worker at once. The outcome is written only while the claim is
still ours (``claimed_until`` is the lease's token), and a database error while recording one
message is logged and the round goes on with the next.
"""

from __future__ import annotations

import logging
import random
import signal
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import and_, or_, select, update
from sqlalchemy.exc import SQLAlchemyError

from portal.core import clock
from portal.core.config import Settings
from portal.core.db import Database
from portal.core.outbox import OutboxMessage
from portal.core.senders import DeliveryError, Sender, channel_sender

log = logging.getLogger(__name__)


class WorkerApp(Protocol):
    """What the worker needs of the Flask app (the core imports no Flask)."""

    extensions: dict[str, Any]

    def app_context(self) -> AbstractContextManager[object]: ...


#: How much longer than the SMTP timeout a claim lasts (the sender stops a conversation at the
#: timeout; this covers rendering and recording the outcome).
LEASE_MARGIN = timedelta(seconds=5)
#: The lease when no settings are at hand: the default 10 s SMTP timeout plus the margin.
LEASE = timedelta(seconds=10) + LEASE_MARGIN
FIRST_RETRY = timedelta(minutes=1)
MAX_RETRY = timedelta(hours=1)
ERROR_LENGTH = 1000

PeriodicJob = Callable[[Database, Settings, datetime], object]
#: Jobs run after every delivery round. Each opens and commits its own sessions, decides
#: itself whether anything is due at ``now``, is harmless to re-run, and returns something
#: truthy (printed) when it did work.
PERIODIC_JOBS: list[PeriodicJob] = []


def register_job(job: PeriodicJob) -> PeriodicJob:
    """Add ``job(db, settings, now)`` to every worker round (usable as a decorator)."""
    if job not in PERIODIC_JOBS:
        PERIODIC_JOBS.append(job)
    return job


@dataclass
class DeliveryStats:
    claimed: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0
    #: Outcomes the database refused to record (the message is taken again after its lease).
    unrecorded: int = 0

    def __str__(self) -> str:
        text = f"{self.sent} sent, {self.retried} to retry, {self.failed} failed"
        return text + (f", {self.unrecorded} not recorded" if self.unrecorded else "")


def lease_for(settings: Settings) -> timedelta:
    """How long a claimed message is ours: one SMTP conversation (or one push service's or
    webhook endpoint's or outside Open311 endpoint's answer) at most, plus a margin."""
    longest = max(
        settings.smtp_timeout,
        settings.push_timeout,
        settings.webhook_timeout,
        settings.outbound_timeout,
    )
    return timedelta(seconds=longest) + LEASE_MARGIN


def retry_delay(attempts: int) -> timedelta:
    """1 min after the first failed attempt, then 2, 4, ... capped at 1 h, plus up to 10%."""
    exponent = min(max(attempts - 1, 0), 12)
    base = min(FIRST_RETRY * (2**exponent), MAX_RETRY)
    return base + base * random.uniform(0, 0.1)  # jitter, not a secret


def _due(now: datetime) -> Any:
    return or_(
        and_(OutboxMessage.state == "pending", OutboxMessage.next_attempt_at <= now),
        and_(OutboxMessage.state == "sending", OutboxMessage.claimed_until < now),
    )


def _claim_one(db: Database, *, now: datetime, lease: timedelta) -> OutboxMessage | None:
    """Mark the next due message as ours (state ``sending`` until ``now + lease``), count the
    attempt, commit. None when nothing is due (or every due message is another worker's)."""
    picked = (
        select(OutboxMessage.id)
        .where(_due(now))
        .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
        .limit(1)
    )
    with db.transaction() as session:
        if db.dialect == "postgresql":
            ids = list(session.scalars(picked.with_for_update(skip_locked=True)))
            if not ids:
                return None
            target = OutboxMessage.id.in_(ids)
        else:
            # SQLite has no row locks: the write transaction (BEGIN IMMEDIATE) serialises
            # workers, and the condition is checked again by the UPDATE itself.
            target = OutboxMessage.id.in_(picked.scalar_subquery())
        claim = (
            update(OutboxMessage)
            .where(target, _due(now))
            .values(state="sending", claimed_until=now + lease, attempts=OutboxMessage.attempts + 1)
            .returning(OutboxMessage)
        )
        return session.scalars(claim, execution_options={"synchronize_session": False}).first()


def _record(db: Database, message: OutboxMessage, **values: Any) -> bool:
    """Write one message's outcome in its own transaction, if the claim is still ours (no other
    worker took it over after the lease). False, logged, when the database refused it."""
    try:
        with db.transaction() as session:
            session.execute(
                update(OutboxMessage)
                .where(
                    OutboxMessage.id == message.id,
                    OutboxMessage.state == "sending",
                    OutboxMessage.claimed_until == message.claimed_until,
                )
                .values(claimed_until=None, **values),
                execution_options={"synchronize_session": False},
            )
    except SQLAlchemyError:
        log.exception(
            "outbox message %s: could not record %s; it is taken again after its lease",
            message.id,
            values.get("state"),
        )
        return False
    return True


def deliver_outbox(
    db: Database,
    sender: Sender,
    *,
    now: datetime,
    batch: int = 50,
    max_attempts: int,
    lease: timedelta = LEASE,
) -> DeliveryStats:
    """Send up to ``batch`` due messages once each, one claim at a time, and record what
    happened.

    A temporary error puts the message back as pending with exponential backoff; a permanent
    one, or the ``max_attempts``-th temporary one, marks it failed. An outcome the database
    refuses is counted as ``unrecorded`` and the round goes on; a failing claim propagates.
    """
    stats = DeliveryStats()
    started = time.monotonic()
    while stats.claimed < batch:
        # ``now`` moves on with the round (a round of slow sends must not claim with a lease
        # that has already run out).
        moment = now + timedelta(seconds=time.monotonic() - started)
        message = _claim_one(db, now=moment, lease=lease)
        if message is None:
            break
        stats.claimed += 1
        outcome, values = _deliver(sender, message, max_attempts=max_attempts, now=moment)
        if _record(db, message, **values):
            setattr(stats, outcome, getattr(stats, outcome) + 1)
        else:
            stats.unrecorded += 1
    return stats


def _deliver(
    sender: Sender, message: OutboxMessage, *, max_attempts: int, now: datetime
) -> tuple[str, dict[str, Any]]:
    """Send one claimed message: the stats field to count it in, and the values to record."""
    if message.attempts > max_attempts:
        # Only a lease taken over after workers died while sending gets here.
        return "failed", {
            "state": "failed",
            "last_error": "gave up: the worker stopped while sending it too often",
        }
    try:
        sender.send(message)
    except DeliveryError as exc:
        permanent, error = exc.permanent, str(exc)
    except Exception as exc:  # a bug must not stop the round: retry like a timeout
        log.exception("outbox message %s: unexpected error while sending", message.id)
        permanent, error = False, repr(exc)
    else:
        return "sent", {"state": "sent", "sent_at": now, "last_error": ""}
    error = error[:ERROR_LENGTH]
    if permanent or message.attempts >= max_attempts:
        log.warning("outbox message %s failed: %s", message.id, error)
        return "failed", {"state": "failed", "last_error": error}
    log.info("outbox message %s will be retried: %s", message.id, error)
    return "retried", {
        "state": "pending",
        "last_error": error,
        "next_attempt_at": now + retry_delay(message.attempts),
    }


def _job_name(job: PeriodicJob) -> str:
    return f"{getattr(job, '__module__', '?')}.{getattr(job, '__qualname__', repr(job))}"


def run_round(
    db: Database,
    sender: Sender,
    settings: Settings,
    *,
    now: datetime,
    echo: Callable[[str], object] = print,
) -> tuple[bool, bool]:
    """One delivery round and every periodic job. Returns ``(ok, more_waiting)``.

    No error escapes: a failing delivery or job is logged and the others still run.
    """
    ok, more = True, False
    try:
        stats = deliver_outbox(
            db,
            sender,
            now=now,
            batch=settings.outbox_batch,
            max_attempts=settings.outbox_max_attempts,
            lease=lease_for(settings),
        )
    except Exception:
        log.exception("outbox delivery failed")
        echo(f"{now:%H:%M:%S} outbox: error (see the log)")
        ok = False
    else:
        if stats.claimed:
            echo(f"{now:%H:%M:%S} outbox: {stats}")
        more = stats.claimed >= settings.outbox_batch
        ok = not stats.unrecorded  # the database refused an outcome: worth an alert
    for job in list(PERIODIC_JOBS):
        name = _job_name(job)
        try:
            result = job(db, settings, now)
        except Exception:
            log.exception("periodic job %s failed", name)
            echo(f"{now:%H:%M:%S} {name}: error (see the log)")
            ok = False
        else:
            if result:
                echo(f"{now:%H:%M:%S} {name}: {result}")
    return ok, more


class _StopFlag:
    """Set by SIGINT/SIGTERM; a second signal stops at once."""

    def __init__(self) -> None:
        self.requested = False

    def __call__(self, signum: int, _frame: object) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True

    def sleep(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while not self.requested and time.monotonic() < deadline:
            time.sleep(min(0.1, max(deadline - time.monotonic(), 0)))


def run_worker(app: WorkerApp, *, once: bool, echo: Callable[[str], object] = print) -> bool:
    """Deliver and run jobs until SIGINT/SIGTERM (or one round with ``once``).

    A signal lets the current round finish. Returns False when something failed in the
    last round (the CLI exits non-zero for ``--once``).
    """
    city = app.extensions["portal.city"]
    settings: Settings = city.settings()
    db: Database = app.extensions["portal.db"]
    sender = channel_sender(db, settings)
    stop = _StopFlag()
    previous: dict[signal.Signals, Any] = {}
    if not once and threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGINT, signal.SIGTERM):
            previous[signum] = signal.signal(signum, stop)
    if not once:
        echo(
            f"worker: delivering with {type(sender.email).__name__}, "
            f"{len(PERIODIC_JOBS)} periodic job(s), polling every "
            f"{settings.worker_poll_seconds:g}s (Ctrl-C stops)"
        )
    try:
        with app.app_context():
            while True:
                # The city's profile may change under a running worker (a new import).
                current = city.settings()
                if current is not settings:
                    settings, sender = current, channel_sender(db, current)
                ok, more = run_round(db, sender, settings, now=clock.now(), echo=echo)
                if once or stop.requested:
                    break
                if not more:
                    stop.sleep(settings.worker_poll_seconds)
                if stop.requested:
                    break
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    if not once:
        echo("worker: stopped")
    return ok
