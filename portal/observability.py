"""Request ids, one structured log line per request, the request metrics, and one log line
per database outage (not a traceback per failed request).

- Every request gets an id: a fresh ``uuid4`` hex, or the client's ``X-Request-ID`` when the
  portal stands behind trusted proxies (``PORTAL_TRUSTED_PROXIES`` > 0) and the value is a
  safe token. It goes back in the ``X-Request-ID`` header, into every log line written while
  the request runs, onto error pages ("Reference: ...") and into API error bodies.
- Each request is logged once on the ``portal.request`` logger: id, method, route (the URL
  rule, never the path or the query string), endpoint, status and duration in ms; nothing a
  resident typed. In production (``PORTAL_ENV=production``) the ``portal`` loggers write one
  JSON object per line to stderr; in development a readable line. Tests add no handler, so
  pytest's ``caplog`` sees every record.
- ``portal_http_requests_total`` and ``portal_http_request_duration_seconds`` count and time
  requests by route and status class; ``/metrics`` (``portal.ops.views``) exposes them, in
  prometheus_client's multiprocess mode when ``PROMETHEUS_MULTIPROC_DIR`` is set.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import threading
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from flask import Flask, g, has_request_context, request
from flask.logging import default_handler
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest, multiprocess
from sqlalchemy import event

from portal.core.config import Settings

REQUEST_ID_HEADER = "X-Request-ID"
#: What a client's X-Request-ID may be to be kept: a short token with no spaces or markup.
SAFE_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
UNMATCHED = "unmatched"
#: Methods counted by name; anything else a client sends is counted as OTHER.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

request_log = logging.getLogger("portal.request")
outage_log = logging.getLogger("portal.outage")

#: The request metrics of this process (or, in multiprocess mode, written to its files).
REGISTRY = CollectorRegistry(auto_describe=True)
REQUESTS = Counter(
    "portal_http_requests",
    "HTTP requests answered, by route (URL rule), method and status class.",
    ["route", "method", "status"],
    registry=REGISTRY,
)
LATENCY = Histogram(
    "portal_http_request_duration_seconds",
    "Time to answer HTTP requests, by route (URL rule) and status class.",
    ["route", "status"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
    registry=REGISTRY,
)


def current_request_id() -> str | None:
    """The id of the request being answered (None outside a request)."""
    if not has_request_context():
        return None
    return g.get("request_id")


def choose_request_id(header: str | None, settings: Settings) -> str:
    """The client's id when trusted proxies stand in front and it is a safe token, else a
    new one."""
    if settings.trusted_proxies > 0 and header and SAFE_REQUEST_ID.fullmatch(header):
        return header
    return uuid.uuid4().hex


def route_label() -> str:
    rule = request.url_rule
    return rule.rule if rule is not None else UNMATCHED


def request_metrics_text() -> bytes:
    """The request metrics in Prometheus' text format: this process's, or every process's
    when ``PROMETHEUS_MULTIPROC_DIR`` is set."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry)
    return generate_latest(REGISTRY)


# -- logging ----------------------------------------------------------------------------------

#: Fields a record may carry into the JSON line (set with ``extra=``).
LOG_FIELDS = ("request_id", "method", "route", "endpoint", "status", "duration_ms")


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, the request's fields."""

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in LOG_FIELDS:
            if hasattr(record, name):
                data[name] = getattr(record, name)
        if "request_id" not in data and (request_id := current_request_id()):
            data["request_id"] = request_id
        if record.exc_info:
            data["exception"] = self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False, default=str)


TEXT_FORMAT = "[%(asctime)s] %(levelname)s %(name)s: %(message)s"


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is at the time (not the stream of the moment the
    app was built)."""

    portal_handler = True

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


def log_format(settings: Settings) -> str:
    return "json" if settings.is_production else "text"


def configure_logging(settings: Settings) -> None:
    """INFO for the ``portal`` loggers, and (outside tests) one handler on ``portal`` in the
    chosen format. Safe to call for every app built: the handler is replaced, not added."""
    portal = logging.getLogger("portal")
    if portal.level == logging.NOTSET:
        portal.setLevel(logging.INFO)
    portal.removeHandler(default_handler)
    for old in [h for h in portal.handlers if getattr(h, "portal_handler", False)]:
        portal.removeHandler(old)
    if settings.env == "test":
        return  # records propagate to the root logger, where pytest's caplog listens
    handler = _StderrHandler()
    handler.setFormatter(
        JsonFormatter() if log_format(settings) == "json" else logging.Formatter(TEXT_FORMAT)
    )
    portal.addHandler(handler)


# -- database outages ---------------------------------------------------------------------------


class OutageLog:
    """Logs a database outage once: the first failure (an error line, no traceback), a
    summary at most every ``quiet`` seconds while it lasts, and one line when the database
    answers again (a transaction commits). Failures within ``quiet`` of the last line are
    counted, not logged, so a flapping database cannot flood the log either."""

    def __init__(self, logger: logging.Logger = outage_log, *, quiet: float = 60.0) -> None:
        self.logger = logger
        self.quiet = quiet
        self._lock = threading.Lock()
        self.announced = False
        self.failures = 0  # since the outage was announced
        self.unlogged = 0  # since the last line
        self.started = 0.0
        self.last_line: float | None = None

    def failed(self, error: BaseException) -> None:
        now = time.monotonic()
        with self._lock:
            self.failures += 1
            self.unlogged += 1
            recently = self.last_line is not None and now - self.last_line < self.quiet
            if not self.announced and not recently:
                self.announced, self.started = True, now
                self.logger.error(
                    "database unavailable (%s); answering 503 until it is back, further "
                    "failures are counted, not logged (request %s)",
                    describe(error),
                    current_request_id() or "-",
                )
            elif self.announced and not recently:
                self.logger.warning(
                    "database still unavailable after %.0f s: %d request(s) answered 503 "
                    "since the last report (%s)",
                    now - self.started,
                    self.unlogged,
                    describe(error),
                )
            else:
                return
            self.unlogged, self.last_line = 0, now

    def recovered(self) -> None:
        if not self.announced:  # the common case, without the lock
            return
        now = time.monotonic()
        with self._lock:
            if not self.announced:
                return
            self.logger.warning(
                "database available again after %.0f s: %d request(s) answered 503",
                now - self.started,
                self.failures,
            )
            self.announced, self.failures, self.unlogged, self.last_line = False, 0, 0, now


def describe(error: BaseException) -> str:
    """The error's class and the driver's first line: never the SQL or its parameters."""
    original = getattr(error, "orig", None) or error
    lines = str(original).strip().splitlines()
    return f"{type(error).__name__}: {(lines[0] if lines else '')[:200]}"


def outage(app: Flask) -> OutageLog:
    return app.extensions["portal.outage"]


# -- per request --------------------------------------------------------------------------------


def init_app(app: Flask, settings: Settings) -> None:
    """Call before the other ``init_app``s: its ``after_request`` is registered first, so it
    runs last (Flask runs them in reverse) and sees the final status of the response."""
    configure_logging(settings)
    outages = app.extensions["portal.outage"] = OutageLog()
    event.listen(app.extensions["portal.db"].engine, "commit", lambda _conn: outages.recovered())

    @app.before_request
    def _start() -> None:
        g.request_started = time.perf_counter()
        g.request_id = choose_request_id(request.headers.get(REQUEST_ID_HEADER), settings)

    @app.after_request
    def _finish(response: Any) -> Any:
        request_id = g.get("request_id") or uuid.uuid4().hex
        response.headers[REQUEST_ID_HEADER] = request_id
        started = g.get("request_started")
        seconds = time.perf_counter() - started if started is not None else 0.0
        route, status = route_label(), response.status_code
        method = request.method if request.method in METHODS else "OTHER"
        status_class = f"{status // 100}xx"
        REQUESTS.labels(route, method, status_class).inc()
        LATENCY.labels(route, status_class).observe(seconds)
        request_log.info(
            "%s %s %s %.1f ms",
            method,
            route,
            status,
            seconds * 1000,
            extra={
                "request_id": request_id,
                "method": method,
                "route": route,
                "endpoint": request.endpoint or UNMATCHED,
                "status": status,
                "duration_ms": round(seconds * 1000, 1),
            },
        )
        return response
