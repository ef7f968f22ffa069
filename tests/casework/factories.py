"""Test data of casework: tasks written directly."""

from __future__ import annotations

from typing import Any

from portal.catalogue.models import Department
from portal.core import clock
from portal.requests.models import ServiceRequest
from tests.factory_base import FactoryBase


class CaseworkFactories(FactoryBase):
    def task(self, request: ServiceRequest, department: Department | None = None, **kw: Any) -> Any:
        """A task written directly; SLA columns (``due_at``, ``sla_stage``...) as given."""
        from portal.casework.models import OPEN_TASK_STATUSES, Task

        kw.setdefault("title", "Fix it")
        kw.setdefault("status", "open")
        kw.setdefault("is_open", kw["status"] in OPEN_TASK_STATUSES)
        kw.setdefault("created_at", clock.now())
        department_id = department.id if department else request.department_id
        return self._add(Task(request_id=request.id, department_id=department_id, **kw))
