"""What the service-level editing modules share (no Flask here): ``SlaAdminError`` (what is
wrong, as ``{field: code}``; ``details`` holds the readable reason of an hours field, from
``portal.sla.calendar.parse_hours``), ``Conflict``, the ``fingerprint`` of a snapshot that edit
forms carry (a different one on save raises ``Conflict``) and rows read ``locked`` (both from
``portal.core.editing``), the ``AuditEntry`` every change writes with the values before and
after, and names.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from portal.auth.models import User
from portal.core import clock
from portal.core.audit import AuditEntry
from portal.core.editing import fingerprint, locked

__all__ = [
    "MAX_ROWS",
    "NAME_MAX",
    "Conflict",
    "SlaAdminError",
    "audit",
    "check_expected",
    "checked_name",
    "fingerprint",
    "locked",
]

NAME_MAX = 120
#: The pages read at most this many rows (a city has a handful of calendars and dozens of
#: policies; closures are listed from today on).
MAX_ROWS = 500


class SlaAdminError(ValueError):
    """What is wrong, as ``{field: code}``. Codes: required, too_long, invalid, taken, unknown,
    inactive, overlap (hours), no_hours, not_positive, too_large, no_target, duplicate_day."""

    def __init__(self, errors: dict[str, str], details: dict[str, str] | None = None) -> None:
        super().__init__(", ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors
        self.details = details or {}


class Conflict(Exception):
    """The row changed (or went) since the form was drawn."""


def check_expected(expected: str | None, snapshot: Mapping[str, Any]) -> None:
    if expected is not None and expected != fingerprint(snapshot):
        raise Conflict()


def audit(
    session: Session,
    *,
    actor: User | None,
    entity: str,
    entity_id: int,
    action: str,
    before: dict[str, Any],
    after: dict[str, Any],
) -> None:
    session.add(
        AuditEntry(
            actor_id=actor.id if actor else None,
            entity=entity,
            entity_id=str(entity_id),
            action=action,
            before=before,
            after=after,
            created_at=clock.now(),
        )
    )
    session.flush()


def checked_name(raw: str, errors: dict[str, str], key: str = "name") -> str:
    name = " ".join((raw or "").split())
    if not name:
        errors[key] = "required"
    elif len(name) > NAME_MAX:
        errors[key] = "too_long"
    return name
