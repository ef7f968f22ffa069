"""``/metrics``: Prometheus' text format, only for the allowed networks; request counts and
latency by route and status class; the outbox backlog, the SLA sweep's lag and the worker's
heartbeat read from the database at scrape time; every gunicorn process's requests together
in prometheus_client's multiprocess mode."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families

from portal.core.outbox import OutboxMessage
from tests.conftest import own_app_client

NOW = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
OUTSIDER = {"REMOTE_ADDR": "203.0.113.9"}


def samples(response) -> dict[tuple[str, frozenset], float]:
    assert response.status_code == 200, response.status_code
    assert response.content_type.startswith("text/plain; version=0.0.4")
    text = response.get_data(as_text=True)
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(found: dict, name: str, **labels: str) -> float:
    return found.get((name, frozenset(labels.items())), 0.0)


def test_metrics_are_for_loopback_only_by_default(client):
    assert client.get("/metrics").status_code == 200
    hidden = client.get("/metrics", environ_base=OUTSIDER)
    assert hidden.status_code == 404
    assert "portal_" not in hidden.get_data(as_text=True)


def test_the_allowed_networks_come_from_the_settings(settings):
    allowed = replace(settings, metrics_allow=("203.0.113.0/24",))
    with own_app_client(allowed) as client:
        assert client.get("/metrics", environ_base=OUTSIDER).status_code == 200
        assert client.get("/metrics").status_code == 404  # loopback is no longer listed


def test_behind_a_proxy_the_real_client_counts(settings):
    """A local load balancer forwarding an outside client: the client is the outsider."""
    with own_app_client(replace(settings, trusted_proxies=1)) as client:
        forwarded = {"X-Forwarded-For": "198.51.100.7"}
        assert client.get("/metrics", headers=forwarded).status_code == 404
        assert client.get("/metrics", headers={"X-Forwarded-For": "127.0.0.1"}).status_code == 200


def test_requests_are_counted_and_timed_by_route_and_status_class(client, make):
    request = make.request()
    before = samples(client.get("/metrics"))
    client.get(f"/requests/{request.reference}")
    client.get("/requests/SR-2026-999999")
    client.get("/requests/SR-2026-999998")
    after = samples(client.get("/metrics"))
    route = {"route": "/requests/<reference>"}
    count = "portal_http_requests_total"
    for status, added in (("2xx", 1), ("4xx", 2)):
        labels = {**route, "method": "GET", "status": status}
        assert value(after, count, **labels) - value(before, count, **labels) == added
    histogram = "portal_http_request_duration_seconds_count"
    assert (
        value(after, histogram, **route, status="4xx")
        - value(before, histogram, **route, status="4xx")
        == 2
    )
    assert (
        "portal_http_request_duration_seconds_bucket",
        frozenset({**route, "status": "2xx", "le": "+Inf"}.items()),
    ) in after
    # Never the path itself.
    assert not any(request.reference in dict(labels).get("route", "") for _n, labels in after)


def test_outbox_backlog_sla_lag_and_heartbeat_are_read_at_scrape_time(
    client, make, db, freeze_clock
):
    from portal.ops.models import WorkerHeartbeat

    freeze_clock(NOW)
    for minutes, state in ((10, "pending"), (4, "pending"), (60, "sent")):
        db.add(
            OutboxMessage(
                kind="email",
                to_address="someone@example.org",
                subject="s",
                body_text="b",
                body_html="b",
                state=state,
                created_at=NOW - timedelta(minutes=minutes),
                next_attempt_at=NOW,
            )
        )
    request = make.request()
    make.sla_clock(request, next_threshold_at=NOW - timedelta(minutes=3))
    make.sla_clock(request, next_threshold_at=NOW + timedelta(hours=1))  # not due yet
    db.add(WorkerHeartbeat(worker="w1:1", started_at=NOW, seen_at=NOW - timedelta(seconds=42)))
    db.flush()
    found = samples(client.get("/metrics"))
    assert value(found, "portal_database_up") == 1
    assert value(found, "portal_outbox_pending_messages") == 2
    assert value(found, "portal_outbox_oldest_pending_age_seconds") == 600
    assert value(found, "portal_sla_sweep_lag_seconds") == 180
    assert value(found, "portal_worker_heartbeat_age_seconds") == 42


def test_with_nothing_waiting_the_lags_are_zero_and_no_worker_is_infinite(client):
    found = samples(client.get("/metrics"))
    assert value(found, "portal_outbox_pending_messages") == 0
    assert value(found, "portal_outbox_oldest_pending_age_seconds") == 0
    assert value(found, "portal_sla_sweep_lag_seconds") == 0
    assert value(found, "portal_worker_heartbeat_age_seconds") == float("inf")


def test_metrics_answer_while_the_database_is_away(settings, tmp_path):
    from portal import create_app

    app = create_app(replace(settings, database_url=f"sqlite:///{tmp_path}/gone/portal.db"))
    found = samples(app.test_client().get("/metrics"))
    assert value(found, "portal_database_up") == 0
    app.extensions["portal.db"].dispose()


MULTIPROCESS_SCRIPT = textwrap.dedent(
    """
    import sys
    from portal import create_app
    from portal.core.config import Settings

    app = create_app(Settings(env="test", secret_key="k" * 8 + "multiprocess-test-secret-key-1",
                              database_url=sys.argv[1], ratelimit_enabled=False))
    client = app.test_client()
    for _ in range(int(sys.argv[2])):
        assert client.get("/healthz").status_code == 200
    if sys.argv[3] == "scrape":
        sys.stdout.write(client.get("/metrics").get_data(as_text=True))
    """
)


def test_multiprocess_mode_adds_up_every_process(settings, tmp_path):
    """Two processes (like two gunicorn workers) with PROMETHEUS_MULTIPROC_DIR: the second
    one's scrape counts the first one's requests too."""
    folder = tmp_path / "prometheus"
    folder.mkdir()
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(folder)}

    def run(count: int, action: str) -> str:
        done = subprocess.run(
            [sys.executable, "-c", MULTIPROCESS_SCRIPT, settings.database_url, str(count), action],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stderr[-2000:]
        return done.stdout

    run(3, "quiet")
    text = run(2, "scrape")
    found = {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
    healthz = {"route": "/healthz", "method": "GET", "status": "2xx"}
    assert value(found, "portal_http_requests_total", **healthz) == 5
    assert value(found, "portal_database_up") == 1


@pytest.mark.parametrize("address", ["", "not-an-address", "::1", "127.0.0.2"])
def test_odd_client_addresses(client, address):
    expected = 200 if address in ("::1", "127.0.0.2") else 404
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": address}).status_code == expected
