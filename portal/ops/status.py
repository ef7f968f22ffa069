"""The worker's heartbeat job and the operational figures read at scrape time.

The worker runs every registered job each round, so ``record_worker_heartbeat`` (registered
first in ``portal/jobs.py``) stamps the start of each round. The SLA sweep keeps no "last run"
of its own: its lag is read from the clocks themselves, as how long the oldest threshold that
has been crossed has waited to be acted on (0 when the sweep is up to date). That is what an
operator wants to alert on, and it stays right with several workers.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from portal.core.config import Settings
from portal.core.db import Database
from portal.core.outbox import OutboxMessage
from portal.ops.models import WorkerHeartbeat
from portal.sla.models import SlaClock

#: A worker is stale when its last round started this long ago (or 5 polls, if longer).
STALE_AFTER = timedelta(minutes=5)
#: Heartbeats of workers gone this long are deleted.
FORGET_AFTER = timedelta(days=7)


def worker_name() -> str:
    """This process as a worker: ``host:pid`` (read at each call: gunicorn and the worker
    fork)."""
    return f"{socket.gethostname()}:{os.getpid()}"[:120]


def record_heartbeat(session: Session, *, worker: str, now: datetime) -> WorkerHeartbeat:
    """Stamp ``worker``'s round at ``now`` and forget workers silent for a week."""
    beat = session.get(WorkerHeartbeat, worker)
    if beat is None:
        beat = WorkerHeartbeat(worker=worker, started_at=now, seen_at=now, rounds=0)
        session.add(beat)
    beat.seen_at = now
    beat.rounds = (beat.rounds or 0) + 1
    session.execute(delete(WorkerHeartbeat).where(WorkerHeartbeat.seen_at < now - FORGET_AFTER))
    return beat


def record_worker_heartbeat(db: Database, settings: Settings, now: datetime) -> None:
    """The worker's periodic job: one short transaction per round, nothing printed."""
    with db.transaction() as session:
        record_heartbeat(session, worker=worker_name(), now=now)


@dataclass(frozen=True)
class OpsStatus:
    """What ``/metrics`` and ``/healthz`` report; ages in seconds at ``now``."""

    now: datetime
    heartbeat_at: datetime | None
    outbox_pending: int
    outbox_oldest_pending_at: datetime | None
    sla_oldest_due_at: datetime | None

    @property
    def heartbeat_age(self) -> float | None:
        return _age(self.now, self.heartbeat_at)

    @property
    def outbox_oldest_age(self) -> float:
        return _age(self.now, self.outbox_oldest_pending_at) or 0.0

    @property
    def sla_lag(self) -> float:
        return _age(self.now, self.sla_oldest_due_at) or 0.0

    def worker_state(self, settings: Settings) -> str:
        """``ok``, ``stale`` (no round for longer than ``stale_after``) or ``missing``."""
        age = self.heartbeat_age
        if age is None:
            return "missing"
        return "stale" if age > stale_after(settings).total_seconds() else "ok"


def stale_after(settings: Settings) -> timedelta:
    return max(STALE_AFTER, timedelta(seconds=5 * settings.worker_poll_seconds))


def _age(now: datetime, moment: datetime | None) -> float | None:
    if moment is None:
        return None
    return max((now - moment).total_seconds(), 0.0)


def snapshot(session: Session, *, now: datetime) -> OpsStatus:
    """Four small indexed reads."""
    heartbeat_at = session.scalar(select(func.max(WorkerHeartbeat.seen_at)))
    pending, oldest = session.execute(
        select(func.count(), func.min(OutboxMessage.created_at)).where(
            OutboxMessage.state == "pending"
        )
    ).one()
    due = session.scalar(
        select(func.min(SlaClock.next_threshold_at)).where(SlaClock.next_threshold_at < now)
    )
    return OpsStatus(
        now=now,
        heartbeat_at=_aware(heartbeat_at),
        outbox_pending=int(pending or 0),
        outbox_oldest_pending_at=_aware(oldest),
        sla_oldest_due_at=_aware(due),
    )


def _aware(value: datetime | None) -> datetime | None:
    """Aggregates skip the column type on SQLite (a naive UTC datetime or a string)."""

    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)
