"""Test data of service levels: clocks written directly."""

from __future__ import annotations

from typing import Any

from portal.core import clock
from portal.requests.models import ServiceRequest
from tests.factory_base import FactoryBase


class SlaFactories(FactoryBase):
    def sla_clock(self, request: ServiceRequest, *, task: Any = None, **kw: Any) -> Any:
        """An SLA clock written directly (a task clock when ``task`` is given)."""
        from portal.sla.models import SlaClock

        kw.setdefault("kind", "resolution")
        kw.setdefault("target_seconds", 8 * 3600)
        kw.setdefault("started_at", clock.now())
        kw.setdefault("department_id", task.department_id if task else request.department_id)
        return self._add(SlaClock(request_id=request.id, task_id=task.id if task else None, **kw))
