"""A webhook receiver on loopback for the tests: an HTTP server in a thread that records every
POST (path, headers, raw body) and answers 204, or the statuses queued with ``answer_next``
(``"timeout"`` makes it answer later than the sender waits; a 3xx sends ``Location: /moved``)."""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

#: The networks of a receiver on this machine: tests that deliver to one allow them
#: (``Settings.outbound_allowed_networks``); without them loopback is refused, as in production.
LOOPBACK = ("127.0.0.0/8", "::1/128")


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


class WebhookReceiver:
    def __init__(self) -> None:
        self.received: list[Received] = []
        self._answers: deque[int | str] = deque()
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the http.server name
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                with receiver._lock:
                    receiver.received.append(
                        Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                    )
                    answer = receiver._answers.popleft() if receiver._answers else 204
                if answer == "timeout":
                    time.sleep(2.5)
                    answer = 204
                self.send_response(int(answer))
                if 300 <= int(answer) < 400:
                    self.send_header("Location", "/moved")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/hooks"

    def answer_next(self, *answers: int | str) -> None:
        with self._lock:
            self._answers.extend(answers)

    def __enter__(self) -> WebhookReceiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)
