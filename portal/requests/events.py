"""The timeline vocabulary and the one function that appends to it.

Kinds (``public`` says whether residents and the public see it):
- ``submitted``       public; actor_kind resident | staff | api
- ``status_changed``  public; data ``{"from": old, "to": new}``; body: optional public note
- ``comment``         public; a message from staff or the resident (actor_kind says which)
- ``question``        public; staff ask the resident something (status waiting_on_resident)
- ``answer``          public; the resident's reply to a question
- ``internal_note``   never public, never emailed
- ``reopened``        public; by the reporter, body is their required comment
- ``photo_added``     public; data ``{"photo_id": id}``
- ``duplicate``       public; data ``{"of": reference}``
- ``routed``          internal; data ``{"department": code, "rule": description}``
- ``expected_changed`` public; the expected resolution moved: data ``{"from": ISO | None,
                      "to": ISO | None, "reason": waiting status | "resumed" | "category" |
                      "priority" | "transfer" | "reopened", "paused_seconds": n}``
- ``sla``             internal; a threshold crossed or an escalation: data ``{"action":
                      "at_risk" | "breached" | "case_breached", "task_id", "department_name",
                      "level", "raised_priority", "queue"}``
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from portal.auth.models import User
from portal.core import clock
from portal.requests.models import Event, ServiceRequest

PUBLIC_KINDS = frozenset(
    {
        "submitted",
        "status_changed",
        "comment",
        "question",
        "answer",
        "reopened",
        "photo_added",
        "duplicate",
        "expected_changed",
    }
)
INTERNAL_KINDS = frozenset({"internal_note", "routed", "sla"})
ACTOR_KINDS = ("resident", "staff", "api", "system")


def add_event(
    session: Session,
    request: ServiceRequest,
    kind: str,
    *,
    actor: User | None = None,
    actor_kind: str = "system",
    body: str = "",
    data: dict[str, Any] | None = None,
    public: bool | None = None,
) -> Event:
    """Append one timeline entry and touch the request's ``updated_at`` (flush, no commit)."""
    if kind not in PUBLIC_KINDS | INTERNAL_KINDS:
        raise ValueError(f"unknown event kind {kind!r}")
    if actor_kind not in ACTOR_KINDS:
        raise ValueError(f"unknown actor kind {actor_kind!r}")
    is_public = kind in PUBLIC_KINDS if public is None else public
    if kind in INTERNAL_KINDS and is_public:
        raise ValueError(f"{kind} entries are never public")
    now = clock.now()
    event = Event(
        request_id=request.id,
        kind=kind,
        public=is_public,
        actor_id=actor.id if actor else None,
        actor_kind=actor_kind,
        body=body,
        data=data or {},
        created_at=now,
    )
    session.add(event)
    request.updated_at = now
    session.flush()
    return event
