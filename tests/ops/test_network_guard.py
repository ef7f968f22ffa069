"""Nothing leaves the city's machine (issue 22): the worker's every job, run for several rounds
with mail and push to deliver, makes no attempt to reach another machine; and the guard that
says so (tests/network_guard.py, on for the whole suite) does refuse and count one, in this
process and in a child process."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from portal.core import clock
from portal.core.config import ROOT
from portal.core.outbox import OutboxMessage
from portal.core.vapid import new_key_pair
from portal.push.models import PushSubscription
from tests.conftest import sign_in
from tests.privacy.test_download import _ask as _ask_for_my_data
from tests.push.test_push import _subscribe
from tests.push_service import Browser, PushService

PRIVATE, PUBLIC = new_key_pair()
TEST_NET = ("192.0.2.1", 9)  # RFC 5737 TEST-NET-1: documentation only, never routed


@pytest.fixture
def settings(settings):
    return replace(
        settings, vapid_private_key=PRIVATE, vapid_public_key=PUBLIC, push_allow_loopback_http=True
    )


def test_the_worker_runs_every_job_for_weeks_of_rounds_without_reaching_another_machine(
    app, client, db, make, runner, smtp, network_guard
):
    refused_before = len(network_guard.attempts)
    loaded = runner.invoke(args=["demo", "load", "--requests", "60"])
    assert loaded.exit_code == 0, loaded.output
    with PushService(PUBLIC) as service:
        resident = make.user(name="Dana Fields")
        sign_in(client, resident)
        assert _subscribe(client, service.subscribe(Browser())).status_code == 201
        _ask_for_my_data(client)  # the worker builds the archive, then mails the link
        device = db.scalar(select(PushSubscription))
        db.add(
            OutboxMessage(
                kind="push_request_update",
                channel="push",
                to_address=str(device.id),
                subject="Your request was updated",
                body_text='{"title": "Riverton 311", "body": "Your request was updated"}',
                body_html="",
                next_attempt_at=clock.now(),
            )
        )
        db.flush()
        start = clock.now()
        said = []
        # A day of rounds, then the weekly, monthly and yearly jobs come due.
        for later in (0, 1, 2, 24, 24 * 8, 24 * 32, 24 * 400):
            clock.freeze(start + timedelta(hours=later))
            try:
                result = runner.invoke(args=["worker", "--once"])
            finally:
                clock.freeze(None)
            assert result.exit_code == 0, result.output
            said.append(result.output)
        assert len(service.received) == 1  # the push service on loopback was reached
    assert smtp.messages, "no mail reached the SMTP sink on loopback"
    sent = db.scalar(select(func.count()).where(OutboxMessage.state == "sent"))
    assert sent >= 20, "\n".join(said)
    busy = {line.split()[1] for output in said for line in output.splitlines()}
    for job in ("outbox:", "sweep_sla:", "send_due_invitations:", "build_data_exports:"):
        assert any(name.endswith(job) for name in busy), (job, said)
    assert len(busy) >= 7, said  # ...and offers, reminders, roll-ups
    assert network_guard.attempts[refused_before:] == []


def test_the_guard_refuses_and_counts_an_attempt_to_reach_another_machine(network_guard, smtp):
    assert network_guard.installed()
    refused_before = len(network_guard.attempts)
    with network_guard.expect_blocked() as seen:
        with pytest.raises(network_guard.NetworkBlocked, match=r"192\.0\.2\.1:9") as refused:
            socket.create_connection(TEST_NET, timeout=1)
        assert "test_the_guard_refuses_and_counts" in str(refused.value)
        with pytest.raises(network_guard.NetworkBlocked, match="example.com"):
            socket.getaddrinfo("example.com", 443)
        with (
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp,
            pytest.raises(network_guard.NetworkBlocked),
        ):
            udp.sendto(b"?", ("192.0.2.1", 53))
        with (
            socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as tcp6,
            pytest.raises(network_guard.NetworkBlocked),
        ):
            tcp6.connect_ex(("2001:db8::1", 80))
    assert [attempt.event for attempt in seen] == [
        "socket.getaddrinfo",  # create_connection looks the address up first
        "socket.getaddrinfo",
        "socket.sendto",
        "socket.connect",
    ]
    # Counted apart from the session's tally, which must stay honest.
    assert network_guard.attempts[refused_before:] == []
    # This machine is still reachable.
    with socket.create_connection((smtp.host, smtp.port), timeout=5) as local:
        assert local.recv(3) == b"220"
    assert socket.getaddrinfo("localhost", 25)


def test_a_python_child_process_is_guarded_and_its_attempts_are_logged(tmp_path):
    log = tmp_path / "child-network.log"
    env = {**os.environ, "PORTAL_TEST_NETWORK_LOG": str(log)}  # not the session's log
    script = (
        "import socket\n"
        "try:\n"
        "    socket.create_connection(('192.0.2.1', 9), timeout=1)\n"
        "except PermissionError as exc:\n"
        "    print(type(exc).__name__, exc)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, cwd=ROOT, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("NetworkBlocked network guard: tests/ops/test_network_guard.py")
    [line] = log.read_text().splitlines()
    assert line.endswith("socket.getaddrinfo\t192.0.2.1:9 (name lookup)")
