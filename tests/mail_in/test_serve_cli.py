"""`flask mail-in serve` as the city runs it: a process of its own on a database migrated by
`flask db upgrade`, reading the city's [mail] settings from its imported city.toml, stopped by
SIGTERM. (The receiver itself is tested in-process by the other files here.)"""

from __future__ import annotations

import os
import signal
import smtplib
import sqlite3
import subprocess
import sys
from email.message import EmailMessage
from pathlib import Path

import pytest

from tests.smtp import _free_port

ROOT = Path(__file__).resolve().parents[2]
PORT_ALDER = ROOT / "tests" / "cities" / "port-alder"
FLASK = [sys.executable, "-m", "flask", "--app", "portal"]


def _run(env, *args):
    done = subprocess.run(
        [*FLASK, *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@pytest.fixture
def city_env(tmp_path):
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'portal.db'}",
        "PORTAL_MAIL_DIR": str(tmp_path / "mail"),
        "PORTAL_UPLOAD_DIR": str(tmp_path / "uploads"),
        "PORTAL_ENV": "development",
        # Port Alder's catalogue has no "general": its leaks desk takes the city's email.
        "PORTAL_MAIL_INTAKE_CATEGORY": "leak",
    }
    for name in ("PORTAL_MAIL_INTAKE", "PORTAL_MAIL_DOMAIN"):
        env.pop(name, None)
    _run(env, "db", "upgrade")
    _run(env, "city", "import", str(PORT_ALDER))
    return env, tmp_path / "portal.db"


def test_serve_takes_mail_for_the_citys_intake_address_and_stops_on_sigterm(city_env):
    env, database = city_env
    port = _free_port()
    server = subprocess.Popen(
        [*FLASK, "mail-in", "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert server.stdout is not None
        first = server.stdout.readline()
        assert f"SMTP on 127.0.0.1:{port}" in first, first
        message = EmailMessage()
        message["From"] = "Ana Ruiz <ana@example.org>"
        message["To"] = "fixit@portalder.example"  # city.toml [mail] intake, no env variable
        message["Subject"] = "Water running down Harbour Road"
        message["Message-ID"] = "<serve-cli-1@example.org>"
        message.set_content("Clean water has been running down the road since this morning.")
        with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
            smtp.send_message(message)
        with sqlite3.connect(database) as conn:
            state, outcome, request_id = conn.execute(
                "SELECT state, outcome, request_id FROM inbound_mails"
            ).fetchone()
            assert (state, outcome) == ("processed", "new_request")
            channel, code = conn.execute(
                "SELECT r.channel, c.code FROM service_requests r "
                "JOIN service_categories c ON c.id = r.category_id WHERE r.id = ?",
                (request_id,),
            ).fetchone()
            assert (channel, code) == ("email", "leak")
            reply_to = conn.execute(
                "SELECT reply_to FROM outbox_messages WHERE to_address = 'ana@example.org'"
            ).fetchone()[0]
            assert reply_to.startswith("reply+") and reply_to.endswith("@fixit.portalder.example")
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            rest, _ = server.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            raise
    assert server.returncode == 0, rest
    assert "mail-in: stopped" in rest
