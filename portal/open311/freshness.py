"""When what the Open311 API answers last changed (no Flask): the discovery document's
``changeset`` and the ``Last-Modified`` of reads.

The catalogue has no update times of its own; every change an admin makes to it is audited
(``portal.city.catalogue_admin``: department, group, category, question; a city folder import:
city), and a category added by a loader has its creation time. The newest of those is the
catalogue's last change. Requests are stamped (``updated_at``, indexed) on every change.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal.catalogue.models import ServiceCategory
from portal.core.audit import AuditEntry
from portal.requests.models import ServiceRequest

#: The audit entities whose changes change the catalogue the API describes.
CATALOGUE_ENTITIES = ("department", "group", "category", "question", "city")


def _aware(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _newest(*moments: datetime | None) -> datetime | None:
    found = [m for m in (_aware(m) for m in moments) if m is not None]
    return max(found) if found else None


def _catalogue_parts() -> list:
    return [
        select(func.max(AuditEntry.created_at))
        .where(AuditEntry.entity.in_(CATALOGUE_ENTITIES))
        .scalar_subquery(),
        select(func.max(ServiceCategory.created_at)).scalar_subquery(),
    ]


def catalogue_changed_at(session: Session) -> datetime | None:
    """The newest change to the service catalogue, or None when nothing says (one
    statement)."""
    row = session.execute(select(*_catalogue_parts())).one()
    return _newest(*row)


def reads_changed_at(session: Session, *, with_requests: bool) -> datetime | None:
    """The last change of what a read shows, in one statement: the catalogue, and the
    requests (``ix_service_requests_updated``) when it shows requests (their rows carry
    service names)."""
    parts = _catalogue_parts()
    if with_requests:
        parts.append(select(func.max(ServiceRequest.updated_at)).scalar_subquery())
    row = session.execute(select(*parts)).one()
    return _newest(*row)
