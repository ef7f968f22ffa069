"""``/metrics``: Prometheus' text format, only for the networks in ``PORTAL_METRICS_ALLOW``
(loopback by default; ``request.remote_addr`` is the real client behind trusted proxies,
ProxyFix sees to it). Anyone else gets a 404, as if there were nothing here.

The request counters and latency histogram come from ``portal.observability`` (every gunicorn
worker's together when ``PROMETHEUS_MULTIPROC_DIR`` is set); the operational figures are read
from the database at scrape time: the outbox backlog and its oldest pending message, the SLA
sweep's lag and the worker's heartbeat (``portal.ops.status``). ``portal_database_up`` is 0
when they could not be read.
"""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Iterable, Iterator

from flask import Blueprint, Response, abort, request
from prometheus_client import CONTENT_TYPE_PLAIN_0_0_4, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy.exc import SQLAlchemyError

from portal.core import clock
from portal.observability import request_metrics_text
from portal.ops.status import OpsStatus, snapshot
from portal.web import database, settings

bp = Blueprint("ops", __name__)


def allowed(address: str | None, networks: Iterable[str]) -> bool:
    try:
        client = ipaddress.ip_address(address or "")
    except ValueError:
        return False
    return any(client in ipaddress.ip_network(net, strict=False) for net in networks)


class _OpsCollector(Collector):
    def __init__(self, status: OpsStatus | None) -> None:
        self.status = status

    def collect(self) -> Iterator[Metric]:
        status = self.status
        yield GaugeMetricFamily(
            "portal_database_up",
            "1 when the operational figures could be read from the database at this scrape.",
            value=0 if status is None else 1,
        )
        if status is None:
            return
        yield GaugeMetricFamily(
            "portal_outbox_pending_messages",
            "Messages waiting in the outbox (state pending).",
            value=status.outbox_pending,
        )
        yield GaugeMetricFamily(
            "portal_outbox_oldest_pending_age_seconds",
            "Age of the oldest pending outbox message (0 when none).",
            value=status.outbox_oldest_age,
        )
        yield GaugeMetricFamily(
            "portal_sla_sweep_lag_seconds",
            "How long the oldest crossed SLA threshold has waited for the sweep (0 when none).",
            value=status.sla_lag,
        )
        age = status.heartbeat_age
        yield GaugeMetricFamily(
            "portal_worker_heartbeat_age_seconds",
            "Seconds since a worker last started a round (+Inf when none ever did).",
            value=math.inf if age is None else age,
        )


@bp.get("/metrics")
def metrics() -> Response:
    if not allowed(request.remote_addr, settings().metrics_allow):
        abort(404)
    status: OpsStatus | None
    try:
        with database().transaction(write=False) as session:
            status = snapshot(session, now=clock.now())
    except SQLAlchemyError:
        status = None
    registry = CollectorRegistry()
    registry.register(_OpsCollector(status))
    body = request_metrics_text() + generate_latest(registry)
    return Response(body, content_type=CONTENT_TYPE_PLAIN_0_0_4)
