"""The tests' network guard: no connection leaves the machine (issue 22, "never phones home").

An audit hook (PEP 578) sees every Python-level socket operation in the process: ``connect``
and ``connect_ex`` (also inside ``create_connection``, smtplib, http.client, urllib3, redis,
asyncio), ``sendto``/``sendmsg`` (UDP), and the name lookups (``getaddrinfo``,
``gethostbyname``, ``gethostbyaddr``, ``getnameinfo``). One aimed anywhere but the machine
itself is refused with ``NetworkBlocked`` (a ``PermissionError``, as a firewall's refusal is)
naming the test and the destination, and counted.

Allowed: loopback (127.0.0.0/8, ::1, IPv4-mapped loopback), the unspecified address (what a
server binds to), ``localhost`` and ``*.localhost``, this machine's own host name (smtplib
looks it up for its HELO; /etc/hosts answers), and sockets that are not IP (Unix, netlink).

Not seen: sockets opened by C code that bypasses Python's ``socket`` module (libpq inside
psycopg connects in C: its host is the test database's, 127.0.0.1) and other programs
(Chromium, Dovecot, pg_dump). Python child processes are guarded too:
``tests/guard_site`` is on their ``PYTHONPATH`` and its ``sitecustomize`` installs this guard.

Every blocked attempt is appended to the file ``PORTAL_TEST_NETWORK_LOG`` names (one line per
attempt, from any process) so the pytest session can count its children's attempts too.
This module imports nothing from the project or pytest: ``sitecustomize`` loads it first thing.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

LOG_VARIABLE = "PORTAL_TEST_NETWORK_LOG"

#: Audit events that reach for another machine (or ask DNS about one).
EVENTS = frozenset(
    {
        "socket.connect",
        "socket.sendto",
        "socket.sendmsg",
        "socket.getaddrinfo",
        "socket.gethostbyname",
        "socket.gethostbyaddr",
        "socket.getnameinfo",
    }
)
_IP_FAMILIES = {socket.AF_INET, socket.AF_INET6}
_LOCAL_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"}


class NetworkBlocked(PermissionError):
    """A test (or code it ran) tried to reach a machine other than this one."""


@dataclass(frozen=True)
class Attempt:
    test: str
    event: str
    destination: str

    def line(self) -> str:
        return f"{os.getpid()}\t{self.test}\t{self.event}\t{self.destination}"


#: Attempts refused in this process (an ``expect_blocked`` block's go to ``expected``).
attempts: list[Attempt] = []
expected: list[Attempt] = []
_state = {"installed": False, "expecting": 0, "log": ""}
_lock = threading.Lock()


def _own_names() -> set[str]:
    try:
        name = socket.gethostname().lower()
    except OSError:
        return set()
    return {name, name.split(".")[0]}


_OWN_NAMES: set[str] = set()


def is_local(host: object) -> bool:
    """Whether ``host`` (an address or a name, str or bytes, or None) is this machine."""
    if host is None:
        return True
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    if not isinstance(host, str):
        return False
    host = host.strip("[]").split("%", 1)[0].rstrip(".").lower()
    if host in ("", "*"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host in _LOCAL_NAMES or host.endswith(".localhost") or host in _OWN_NAMES
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback or address.is_unspecified


def _destination(event: str, args: tuple) -> tuple[object, str] | None:
    """The host an event reaches for and how to name it; None when it reaches no IP host."""
    if event in ("socket.connect", "socket.sendto", "socket.sendmsg"):
        sock, address = args[0], args[1]
        if getattr(sock, "family", None) not in _IP_FAMILIES or not isinstance(address, tuple):
            return None  # Unix, netlink...; or sendmsg on a connected socket
        host = address[0]
        return host, f"{host}:{address[1]}" if len(address) > 1 else str(host)
    if event == "socket.getaddrinfo":
        host, port = args[0], args[1]
        return host, f"{host}:{port} (name lookup)"
    if event == "socket.getnameinfo":
        sockaddr = args[0]
        host = sockaddr[0] if isinstance(sockaddr, tuple) and sockaddr else sockaddr
        return host, f"{host!r} (reverse lookup)"
    return args[0], f"{args[0]!r} (name lookup)"  # gethostbyname(_ex), gethostbyaddr


def current_test() -> str:
    running = os.environ.get("PYTEST_CURRENT_TEST")
    return running.rsplit(" (", 1)[0] if running else "outside any test (start-up or collection)"


def _audit(event: str, args: tuple) -> None:
    if event not in EVENTS:
        return
    found = _destination(event, args)
    if found is None or is_local(found[0]):
        return
    attempt = Attempt(current_test(), event, found[1])
    with _lock:
        if _state["expecting"]:
            expected.append(attempt)
        else:
            attempts.append(attempt)
            _write(attempt)
    raise NetworkBlocked(
        f"network guard: {attempt.test} tried to reach {attempt.destination} ({event}); the "
        "tests may only use loopback (tests/network_guard.py)"
    )


def _write(attempt: Attempt) -> None:
    path = _state["log"]
    if not path:
        return
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(descriptor, (attempt.line().replace("\n", " ") + "\n").encode())
    finally:
        os.close(descriptor)


def install(log_path: str | None = None) -> None:
    """Refuse non-local network access in this process from now on (once per process: an
    audit hook cannot be removed). ``log_path``, else ``$PORTAL_TEST_NETWORK_LOG``, is where
    refused attempts are written."""
    with _lock:
        _state["log"] = log_path or os.environ.get(LOG_VARIABLE, "") or _state["log"]
        if _state["installed"]:
            return
        _OWN_NAMES.update(_own_names())
        _state["installed"] = True
    sys.addaudithook(_audit)


def installed() -> bool:
    return bool(_state["installed"])


@contextmanager
def expect_blocked() -> Iterator[list[Attempt]]:
    """For the guard's own tests: attempts inside the block are still refused, but listed in
    the list yielded instead of counting against the session."""
    with _lock:
        _state["expecting"] += 1
        start = len(expected)
    try:
        seen: list[Attempt] = []
        yield seen
    finally:
        with _lock:
            _state["expecting"] -= 1
            seen.extend(expected[start:])


def logged(path: str) -> list[str]:
    """The attempts written to the log at ``path`` (by every process)."""
    try:
        with open(path, encoding="utf-8") as log:
            return [line.rstrip("\n") for line in log if line.strip()]
    except FileNotFoundError:
        return []
