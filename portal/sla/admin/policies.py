"""SLA policies (no Flask here): listing, creating, changing and deleting a policy (what it
matches: category, priority, department, area; its first response, resolution and update
targets; the statuses that pause its clocks; its place in the list). Changing a policy never
touches running clocks: they keep their target. Every change is audited (entity
``sla_policy``); ``portal.sla.admin.common`` has the errors, fingerprints and audit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal.areas.models import Area
from portal.auth.models import User
from portal.catalogue.models import Department, ServiceCategory
from portal.core import clock
from portal.requests.models import OPEN_STATUSES, PRIORITIES
from portal.sla.admin.common import (
    MAX_ROWS,
    SlaAdminError,
    audit,
    check_expected,
    checked_name,
)
from portal.sla.models import UNITS, SlaPolicy

#: A target above this many hours or days is a typo (10,000 working hours is five years).
AMOUNT_MAX = 10_000
POSITION_MAX = 1_000_000
TARGETS = ("first_response", "resolution", "update")


@dataclass(frozen=True)
class PolicyInput:
    name: str
    category_id: int | None = None
    priority: str | None = None
    department_id: int | None = None
    area_id: int | None = None
    #: Target -> (amount, unit); an amount of ``None`` means no such clock.
    targets: Mapping[str, tuple[int | None, str]] = field(default_factory=dict)
    pause_statuses: Sequence[str] = ()
    active: bool = True
    position: int | None = None


def list_policies(session: Session) -> list[SlaPolicy]:
    return list(
        session.scalars(
            select(SlaPolicy).order_by(SlaPolicy.position, SlaPolicy.id).limit(MAX_ROWS)
        )
    )


def policy_snapshot(policy: SlaPolicy) -> dict[str, Any]:
    values: dict[str, Any] = {
        "name": policy.name,
        "category_id": policy.category_id,
        "priority": policy.priority,
        "department_id": policy.department_id,
        "area_id": policy.area_id,
        "pause_statuses": list(policy.pause_statuses or []),
        "active": bool(policy.active),
        "position": policy.position,
    }
    for target in TARGETS:
        values[f"{target}_amount"] = getattr(policy, f"{target}_amount")
        values[f"{target}_unit"] = getattr(policy, f"{target}_unit")
    return values


def _clean_targets(data: PolicyInput, errors: dict[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for target in TARGETS:
        amount, unit = data.targets.get(target, (None, "working_hours"))
        if unit not in UNITS:
            errors[f"{target}_unit"] = "unknown"
        if amount is not None and amount <= 0:
            errors[f"{target}_amount"] = "not_positive"
        elif amount is not None and amount > AMOUNT_MAX:
            errors[f"{target}_amount"] = "too_large"
        values[f"{target}_amount"] = amount
        values[f"{target}_unit"] = unit if unit in UNITS else "working_hours"
    if all(values[f"{t}_amount"] is None for t in TARGETS) and not any(
        key.endswith("_amount") for key in errors
    ):
        errors["first_response_amount"] = "no_target"
    return values


def _clean_policy(
    session: Session, data: PolicyInput, policy_id: int | None = None
) -> dict[str, Any]:
    errors: dict[str, str] = {}
    values: dict[str, Any] = {"name": checked_name(data.name, errors)}
    if "name" not in errors and session.scalar(
        select(SlaPolicy.id).where(
            func.lower(SlaPolicy.name) == values["name"].lower(), SlaPolicy.id != (policy_id or 0)
        )
    ):
        # A policy is known by its name in the city's configuration (service-levels.toml).
        errors["name"] = "taken"
    if data.category_id is not None and session.get(ServiceCategory, data.category_id) is None:
        errors["category"] = "unknown"
    if data.priority and data.priority not in PRIORITIES:
        errors["priority"] = "unknown"
    if data.department_id is not None and session.get(Department, data.department_id) is None:
        errors["department"] = "unknown"
    if data.area_id is not None and session.get(Area, data.area_id) is None:
        errors["area"] = "unknown"
    values.update(_clean_targets(data, errors))
    unknown = [s for s in data.pause_statuses if s not in OPEN_STATUSES]
    if unknown:
        errors["pause_statuses"] = "unknown"
    if data.position is not None and not 0 <= data.position <= POSITION_MAX:
        errors["position"] = "invalid"
    if errors:
        raise SlaAdminError(errors)
    values.update(
        category_id=data.category_id,
        priority=data.priority or None,
        department_id=data.department_id,
        area_id=data.area_id,
        pause_statuses=[s for s in OPEN_STATUSES if s in data.pause_statuses],
        active=bool(data.active),
    )
    return values


def create_policy(session: Session, data: PolicyInput, *, actor: User | None) -> SlaPolicy:
    """A new policy (at the end of the list unless a position is given), or
    ``SlaAdminError``."""
    values = _clean_policy(session, data)
    position = data.position
    if position is None:
        last = session.scalar(
            select(SlaPolicy.position).order_by(SlaPolicy.position.desc()).limit(1)
        )
        position = min((last or 0) + 10, POSITION_MAX)
    now = clock.now()
    policy = SlaPolicy(position=position, created_at=now, updated_at=now, **values)
    session.add(policy)
    session.flush()
    audit(
        session,
        actor=actor,
        entity="sla_policy",
        entity_id=policy.id,
        action="created",
        before={},
        after=policy_snapshot(policy),
    )
    return policy


def update_policy(
    session: Session,
    policy: SlaPolicy,
    data: PolicyInput,
    *,
    actor: User | None,
    expected: str | None = None,
) -> SlaPolicy:
    """Change a policy, or raise ``Conflict`` / ``SlaAdminError``. Running clocks keep the
    target they started with."""
    before = policy_snapshot(policy)
    check_expected(expected, before)
    values = _clean_policy(session, data, policy.id)
    if data.position is not None:
        values["position"] = data.position
    for key, value in values.items():
        setattr(policy, key, value)
    after = policy_snapshot(policy)
    if after == before:
        return policy
    policy.updated_at = clock.now()
    session.flush()
    audit(
        session,
        actor=actor,
        entity="sla_policy",
        entity_id=policy.id,
        action="updated",
        before=before,
        after=after,
    )
    return policy


def delete_policy(session: Session, policy: SlaPolicy, *, actor: User | None) -> None:
    """Delete a policy; its clocks keep running with their targets (their ``policy_id`` is
    set to null by the database)."""
    before = policy_snapshot(policy)
    policy_id = policy.id
    session.delete(policy)
    session.flush()
    audit(
        session,
        actor=actor,
        entity="sla_policy",
        entity_id=policy_id,
        action="deleted",
        before=before,
        after={},
    )
