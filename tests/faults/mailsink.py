"""SMTP servers for fault tests: a real aiosmtpd server a test can stop and start again on
the same port, optionally slow, that counts what it receives by Message-ID."""

from __future__ import annotations

import asyncio
import email
import threading
import time
import weakref
from collections import Counter

from aiosmtpd.controller import Controller

from tests.smtp import _free_port


class _ClosingController(Controller):
    """A Controller whose stop() first closes the connections still open, as a server going
    down does. aiosmtpd's own stop() only cancels tasks: a client mid-message left its
    server-side transport open, and its garbage collection later raised a ResourceWarning in
    whatever test was running then."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.sessions: weakref.WeakSet = weakref.WeakSet()

    def factory(self):
        smtp = super().factory()
        self.sessions.add(smtp)
        return smtp

    def stop(self, no_assert: bool = False) -> None:
        closed = threading.Event()

        def close_all() -> None:
            for smtp in list(self.sessions):
                transport = getattr(smtp, "transport", None)
                if transport is not None:
                    transport.close()
            closed.set()

        if self.loop.is_running():
            self.loop.call_soon_threadsafe(close_all)
            closed.wait(5)
        super().stop(no_assert)


class CountingSink:
    """Keeps each accepted message's Message-ID and recipients; ``delay`` seconds per message
    (before it is accepted) make delivery slow enough to interrupt."""

    def __init__(self, *, delay: float = 0.0) -> None:
        self.host = "127.0.0.1"
        self.port = _free_port()
        self.delay = delay
        self.lock = threading.Lock()
        self.received: list[tuple[str, list[str]]] = []
        self.controller: _ClosingController | None = None

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        if self.delay:
            await asyncio.sleep(self.delay)
        message = email.message_from_bytes(envelope.content)
        with self.lock:
            self.received.append((str(message["Message-ID"]), list(envelope.rcpt_tos)))
        return "250 Message accepted for delivery"

    def start(self) -> None:
        self.controller = _ClosingController(self, hostname=self.host, port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def count(self) -> int:
        with self.lock:
            return len(self.received)

    def message_ids(self) -> Counter:
        with self.lock:
            return Counter(message_id for message_id, _rcpts in self.received)

    def wait_until(self, predicate, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return True
            time.sleep(0.05)
        return predicate()
