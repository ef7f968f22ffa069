"""The worker's heartbeat and what ``/healthz`` reports: the database (503 when it cannot be
reached), the worker's last round and the outbox backlog. A stale or missing worker is
reported but keeps /healthz at 200: load balancers route web traffic by it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from portal.core.outbox import OutboxMessage

NOW = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)


def test_a_worker_round_stamps_its_heartbeat(app, runner, db, freeze_clock):
    freeze_clock(NOW)
    result = runner.invoke(args=["worker", "--once"])
    assert result.exit_code == 0, result.output
    health = app.test_client().get("/healthz")
    assert health.status_code == 200
    worker = health.json["worker"]
    assert worker["status"] == "ok"
    assert worker["last_heartbeat"] == NOW.isoformat(timespec="seconds")
    assert worker["heartbeat_age_seconds"] == 0
    freeze_clock(NOW + timedelta(seconds=30))
    runner.invoke(args=["worker", "--once"])
    from portal.ops.models import WorkerHeartbeat

    (beat,) = db.scalars(select(WorkerHeartbeat)).all()  # one row per worker process
    assert beat.rounds == 2 and beat.seen_at == NOW + timedelta(seconds=30)


def test_a_stale_worker_is_reported_and_the_web_stays_up(client, runner, freeze_clock):
    freeze_clock(NOW)
    assert runner.invoke(args=["worker", "--once"]).exit_code == 0
    freeze_clock(NOW + timedelta(minutes=20))
    health = client.get("/healthz")
    assert health.status_code == 200
    assert health.json["status"] == "ok" and health.json["database"] == "ok"
    assert health.json["worker"]["status"] == "stale"
    assert health.json["worker"]["heartbeat_age_seconds"] == 20 * 60


def test_without_any_worker_the_heartbeat_is_missing(client):
    health = client.get("/healthz")
    assert health.status_code == 200
    assert health.json["worker"] == {
        "status": "missing",
        "last_heartbeat": None,
        "heartbeat_age_seconds": None,
    }


def test_healthz_reports_the_outbox_backlog(client, db, freeze_clock):
    freeze_clock(NOW)
    for minutes in (7, 2):
        db.add(
            OutboxMessage(
                kind="email",
                to_address="someone@example.org",
                subject="s",
                body_text="b",
                body_html="b",
                created_at=NOW - timedelta(minutes=minutes),
            )
        )
    db.flush()
    assert db.scalar(select(func.count()).select_from(OutboxMessage)) == 2
    health = client.get("/healthz")
    assert health.json["outbox"] == {"pending": 2, "oldest_pending_age_seconds": 420}


def test_old_heartbeats_are_forgotten(db):
    from portal.ops.models import WorkerHeartbeat
    from portal.ops.status import record_heartbeat

    db.add(WorkerHeartbeat(worker="gone:1", started_at=NOW, seen_at=NOW - timedelta(days=8)))
    db.flush()
    record_heartbeat(db, worker="here:2", now=NOW)
    db.flush()
    assert db.scalars(select(WorkerHeartbeat.worker)).all() == ["here:2"]
