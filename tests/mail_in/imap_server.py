"""A real IMAP server for the tests: Debian's Dovecot, started as a process of its own on a
free loopback port with a configuration generated in a temporary folder (never the system's
dovecot service or /etc/dovecot).

Plaintext login is allowed (loopback only); users live in passwd-files, their mail in
maildirs under the same folder. ``running_dovecot()`` skips with the reason when
``/usr/sbin/dovecot`` is missing, except under CI (``CI=true``), where that is a failure:
``.ci/run`` installs Debian's dovecot-imapd.
"""

from __future__ import annotations

import imaplib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import pytest

DOVECOT = Path(os.environ.get("PORTAL_DOVECOT", "/usr/sbin/dovecot"))

CONFIG = """\
base_dir = {root}/run
state_dir = {root}/state
instance_name = portal-test-{instance}
log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
mailbox_idle_check_interval = 1 secs
default_login_user = {login_user}
default_internal_user = {internal_user}
first_valid_uid = 1
mail_location = maildir:{root}/mail/%u
passdb {{
  driver = passwd-file
  args = scheme=PLAIN {root}/users/%u
}}
userdb {{
  driver = static
  args = uid={mail_uid} gid={mail_gid} home={root}/mail/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
  # Auth cannot reach the penalty socket, so a failed login (the tests make some on
  # purpose) does not slow every later login from 127.0.0.1 by 2-15 s.
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
"""


@dataclass(frozen=True)
class ImapAccount:
    host: str
    port: int
    user: str
    password: str

    def env(self, **extra: str) -> dict[str, str]:
        """The ``MAIL_IN_IMAP_*`` environment of ``flask mail-in poll`` for this account."""
        return {
            "MAIL_IN_IMAP_HOST": self.host,
            "MAIL_IN_IMAP_PORT": str(self.port),
            "MAIL_IN_IMAP_USER": self.user,
            "MAIL_IN_IMAP_PASSWORD": self.password,
            "MAIL_IN_IMAP_SSL": "none",
            **extra,
        }

    @contextmanager
    def connect(self) -> Iterator[imaplib.IMAP4]:
        """A logged-in client of the test's own (to append and look)."""
        client = imaplib.IMAP4(self.host, self.port, timeout=10)
        try:
            client.login(self.user, self.password)
            yield client
        finally:
            with suppress(OSError, imaplib.IMAP4.error):
                client.logout()

    def append(self, raw: bytes, folder: str = "INBOX") -> None:
        with self.connect() as client:
            status, data = client.append(folder, "", None, raw)
            assert status == "OK", data

    def messages(self, folder: str) -> list[bytes]:
        """The raw messages in ``folder`` (not deleted), by UID; [] when it does not exist."""
        with self.connect() as client:
            status, _ = client.select(folder, readonly=True)
            if status != "OK":
                return []
            _, data = client.uid("SEARCH", "UNDELETED")
            found: list[bytes] = []
            for uid in data[0].split():
                _, parts = client.uid("FETCH", uid, "(BODY.PEEK[])")
                found.extend(p[1] for p in parts if isinstance(p, tuple))
            return found


class Dovecot:
    """One dovecot process; ``account()`` adds a fresh user (an empty mailbox per test)."""

    host = "127.0.0.1"

    def __init__(self) -> None:
        # A short path: dovecot's unix sockets live under it (108 bytes at most).
        self.root = Path(tempfile.mkdtemp(prefix="dovecot-", dir="/tmp"))
        self.port = _free_port()
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        if os.getuid() == 0:
            # Dovecot will not run mail processes as root: its own users (made by the
            # package) for login and internals, "nobody" for the mailboxes.
            login_user, internal_user = "dovenull", "dovecot"
            mail = pwd.getpwnam("nobody")
        else:
            mail = pwd.getpwuid(os.getuid())
            login_user = internal_user = mail.pw_name
        self.root.chmod(0o711)
        (self.root / "mail").mkdir()
        os.chown(self.root / "mail", mail.pw_uid, mail.pw_gid)
        (self.root / "users").mkdir(mode=0o755)
        config = self.root / "dovecot.conf"
        config.write_text(
            CONFIG.format(
                root=self.root,
                instance=uuid.uuid4().hex[:8],
                port=self.port,
                login_user=login_user,
                internal_user=internal_user,
                mail_uid=mail.pw_uid,
                mail_gid=mail.pw_gid,
            )
        )
        self.process = subprocess.Popen(
            [str(DOVECOT), "-F", "-c", str(config)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 15
        while True:
            try:
                with socket.create_connection((self.host, self.port), timeout=1) as sock:
                    if sock.recv(100).startswith(b"* OK"):
                        return
            except OSError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                log = self.log()
                self.stop()
                raise RuntimeError(f"dovecot did not start:\n{log}")
            time.sleep(0.05)

    def account(self, password: str = "secret-Passw0rd") -> ImapAccount:
        user = f"city{uuid.uuid4().hex[:10]}"
        # A passwd-file per user (the path names the user): a new file is read at once,
        # where an appended line might wait for the file's modification time to change.
        passwd = self.root / "users" / user
        passwd.write_text(f"{user}:{{PLAIN}}{password}::::::\n")
        passwd.chmod(0o644)
        return ImapAccount(self.host, self.port, user, password)

    def log(self) -> str:
        output = b""
        if self.process is not None and self.process.stdout and self.process.poll() is not None:
            output = self.process.stdout.read()
        path = self.root / "dovecot.log"
        text = path.read_text(errors="replace") if path.exists() else ""
        return (output.decode(errors="replace") + text)[-4000:]

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        if self.process is not None and self.process.stdout:
            self.process.stdout.close()
        shutil.rmtree(self.root, ignore_errors=True)


@contextmanager
def running_dovecot() -> Iterator[Dovecot]:
    """A started Dovecot, stopped (and its folder removed) afterwards. Without the binary the
    test is skipped with the reason, or fails under CI."""
    if not DOVECOT.exists():
        message = f"IMAP tests need Dovecot: {DOVECOT} not found (apt-get install dovecot-imapd)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{message}; CI must install it (.ci/run)")
        pytest.skip(message)
    server = Dovecot()
    try:
        server.start()
        yield server
    finally:
        server.stop()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
