"""Test data of requests: filed requests, timeline events and photos, written directly."""

from __future__ import annotations

from typing import Any

from portal.core import clock
from portal.requests.models import OPEN_STATUSES, Event, ServiceRequest
from tests.areas.factories import INSIDE
from tests.factory_base import FactoryBase, next_n


class RequestFactories(FactoryBase):
    def request(self, **kw: Any) -> ServiceRequest:
        """A filed request written directly (for arranging state, not for testing filing)."""
        category = kw.pop("category", None) or self.category()
        kw.setdefault("description", "A deep pothole in the left lane")
        kw.setdefault("address", "100 Main Street")
        kw.setdefault("lat", INSIDE[0])
        kw.setdefault("lon", INSIDE[1])
        status = kw.pop("status", "new")
        sr = ServiceRequest(
            category=category,
            department_id=category.department_id,
            is_public=not (category.private or kw.get("private_by_reporter")),
            status=status,
            is_open=status in OPEN_STATUSES,
            **kw,
        )
        self._add(sr)
        sr.reference = f"{self.settings.reference_prefix}-{clock.now().year}-{sr.id:06d}"
        self._add(Event(request_id=sr.id, kind="submitted", public=True, actor_kind="resident"))
        return sr

    def event(self, request: ServiceRequest, kind: str = "comment", **kw: Any) -> Event:
        """A timeline event written directly (public, by staff when ``actor`` is given)."""
        actor = kw.pop("actor", None)
        kw.setdefault("public", True)
        kw.setdefault("body", f"Update {next_n()}")
        kw.setdefault("actor_kind", "staff" if actor is not None else "system")
        return self._add(
            Event(request_id=request.id, kind=kind, actor_id=actor.id if actor else None, **kw)
        )

    def photo(self, request: ServiceRequest, **kw: Any) -> Any:
        """A photo row of a filed request (no file is stored)."""
        from portal.requests.models import RequestPhoto

        kw.setdefault("storage_key", f"photo-{next_n()}")
        kw.setdefault("width", 640)
        kw.setdefault("height", 480)
        kw.setdefault("size_bytes", 1000)
        kw.setdefault("original_name", "photo.jpg")
        return self._add(RequestPhoto(request_id=request.id, **kw))
