"""Routing's event (see ``portal.core.hooks``): ``case_routed`` is fired by
``portal.routing.service.route_new_request`` once a new case has its department, its first
task and its "routed" timeline entry (the SLA clocks start here)."""

from __future__ import annotations

from dataclasses import dataclass

from portal.casework.models import Task
from portal.core.hooks import Hook
from portal.requests.models import ServiceRequest


@dataclass(frozen=True)
class CaseRouted:
    request: ServiceRequest
    task: Task


case_routed: Hook[CaseRouted] = Hook(
    "case_routed", "A new case has its department and its first task."
)
