"""The audit trail: request timeline events and audit entries, merged, newest first (no Flask).

Pages are keyed by (created_at, source, id), so each page is two index range scans
(ix_request_events_actor_created / ix_request_events_created and ix_audit_entries_*) of at
most ``limit + 1`` rows each, however long the trail is.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session, selectinload

from portal.auth.models import User
from portal.core.audit import AuditEntry
from portal.requests.models import Event, ServiceRequest

PER_PAGE = 50
#: AuditEntry.entity values that name a case (entity_id is its reference or id).
CASE_ENTITIES = ("request", "service_request", "case")
#: At the same instant, events sort before audit entries (descending by source name).
SOURCES = ("audit", "event")


@dataclass(frozen=True)
class AuditFilter:
    actor_id: int | None = None
    request: ServiceRequest | None = None
    since: datetime | None = None  # inclusive
    until: datetime | None = None  # exclusive


@dataclass(frozen=True)
class Cursor:
    created_at: datetime
    source: str
    id: int

    def encode(self) -> str:
        return f"{self.created_at.isoformat()}~{self.source}~{self.id}"

    @classmethod
    def decode(cls, raw: str | None) -> Cursor | None:
        """The cursor in ``raw``, or None when it is missing or malformed."""
        if not raw:
            return None
        try:
            at, source, ident = raw.split("~")
            created_at = datetime.fromisoformat(at)
            if created_at.tzinfo is None or source not in SOURCES:
                return None
            return cls(created_at, source, int(ident))
        except ValueError:
            return None


@dataclass(frozen=True)
class AuditRow:
    source: str  # event | audit
    id: int
    created_at: datetime
    actor: User | None
    actor_kind: str
    action: str  # an event kind or an audit action
    subject: str  # a case reference, or "entity #id"
    reference: str | None
    before: dict[str, Any] = field(default_factory=dict)
    after: dict[str, Any] = field(default_factory=dict)
    body: str = ""
    public: bool = False

    @property
    def cursor(self) -> Cursor:
        return Cursor(self.created_at, self.source, self.id)


@dataclass(frozen=True)
class AuditPage:
    rows: list[AuditRow]
    next_cursor: Cursor | None


def _after(created, ident, source: str, cursor: Cursor | None):
    """Rows of ``source`` that come after ``cursor`` in (created_at, source, id) desc order."""
    if cursor is None:
        return None
    if source == cursor.source:
        return or_(
            created < cursor.created_at, and_(created == cursor.created_at, ident < cursor.id)
        )
    if source < cursor.source:
        return created <= cursor.created_at
    return created < cursor.created_at


def _event_rows(
    session: Session, filters: AuditFilter, cursor: Cursor | None, limit: int
) -> list[AuditRow]:
    statement = (
        select(Event, ServiceRequest.reference)
        .join(ServiceRequest, ServiceRequest.id == Event.request_id)
        .options(selectinload(Event.actor))
        .order_by(Event.created_at.desc(), Event.id.desc())
        .limit(limit)
    )
    if filters.actor_id is not None:
        statement = statement.where(Event.actor_id == filters.actor_id)
    if filters.request is not None:
        statement = statement.where(Event.request_id == filters.request.id)
    if filters.since is not None:
        statement = statement.where(Event.created_at >= filters.since)
    if filters.until is not None:
        statement = statement.where(Event.created_at < filters.until)
    if (after := _after(Event.created_at, Event.id, "event", cursor)) is not None:
        statement = statement.where(after)
    rows = []
    for event, reference in session.execute(statement):
        data = dict(event.data or {})
        before = {"status": data.pop("from")} if "from" in data else {}
        after_ = {"status": data.pop("to")} if "to" in data else {}
        after_.update(data)
        rows.append(
            AuditRow(
                "event",
                event.id,
                event.created_at,
                event.actor,
                event.actor_kind,
                event.kind,
                reference or "",
                reference,
                before,
                after_,
                event.body,
                event.public,
            )
        )
    return rows


def _audit_rows(
    session: Session, filters: AuditFilter, cursor: Cursor | None, limit: int
) -> list[AuditRow]:
    statement = (
        select(AuditEntry).order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc()).limit(limit)
    )
    if filters.actor_id is not None:
        statement = statement.where(AuditEntry.actor_id == filters.actor_id)
    if filters.request is not None:
        keys = [str(filters.request.id)] + (
            [filters.request.reference] if filters.request.reference else []
        )
        statement = statement.where(
            AuditEntry.entity.in_(CASE_ENTITIES), AuditEntry.entity_id.in_(keys)
        )
    if filters.since is not None:
        statement = statement.where(AuditEntry.created_at >= filters.since)
    if filters.until is not None:
        statement = statement.where(AuditEntry.created_at < filters.until)
    if (after := _after(AuditEntry.created_at, AuditEntry.id, "audit", cursor)) is not None:
        statement = statement.where(after)
    entries = list(session.scalars(statement))
    actors = (
        {
            u.id: u
            for u in session.scalars(
                select(User).where(
                    User.id.in_({e.actor_id for e in entries if e.actor_id is not None})
                )
            )
        }
        if entries
        else {}
    )
    return [
        AuditRow(
            "audit",
            e.id,
            e.created_at,
            actors.get(e.actor_id or 0),
            "staff" if e.actor_id else "system",
            e.action,
            f"{e.entity} #{e.entity_id}",
            None,
            dict(e.before or {}),
            dict(e.after or {}),
        )
        for e in entries
    ]


def audit_trail(
    session: Session, *, filters: AuditFilter, cursor: Cursor | None = None, limit: int = PER_PAGE
) -> AuditPage:
    """One page of the trail, newest first, after ``cursor`` (None for the newest)."""
    rows = _event_rows(session, filters, cursor, limit + 1) + _audit_rows(
        session, filters, cursor, limit + 1
    )
    rows.sort(key=lambda r: (r.created_at, r.source, r.id), reverse=True)
    page = rows[:limit]
    return AuditPage(page, page[-1].cursor if len(rows) > limit else None)
