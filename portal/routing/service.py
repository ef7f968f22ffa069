"""Routing a new request, and editing the rules (no Flask here).

``route_new_request`` runs on the ``case_filed`` hook, in the transaction that files the case:
it picks the department (``portal.routing.rules``), opens the case's first task there (assigned
as the department chooses), writes the internal ``routed`` timeline entry saying which rule
decided, and fires ``case_routed`` (the SLA clocks start).

Rule changes (create, edit, delete, move) each write an ``AuditEntry`` (entity
``routing_rule``) with the rule before and after.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from portal.areas.models import Area
from portal.auth.models import User
from portal.casework.assignment import create_first_task
from portal.casework.models import Task
from portal.catalogue.models import Department, ServiceCategory
from portal.core import clock
from portal.core.audit import AuditEntry
from portal.requests.events import add_event
from portal.requests.hooks import CaseFiled
from portal.requests.models import CHANNELS, ServiceRequest
from portal.routing import hooks
from portal.routing.models import RoutingRule
from portal.routing.rules import Decision, NewCase, Rule, decide, parse_keywords

NAME_MAX = 120
KEYWORDS_MAX = 400
#: The rules page and the router read at most this many rules (a city has dozens).
MAX_RULES = 500


# --- deciding -------------------------------------------------------------------------------


def as_rule(row: RoutingRule) -> Rule:
    return Rule.build(
        id=row.id,
        name=row.name,
        position=row.position,
        active=row.active,
        category_id=row.category_id,
        area_id=row.area_id,
        channel=row.channel or None,
        keywords=row.keywords or "",
        department_id=row.department_id,
    )


def load_rules(session: Session) -> list[Rule]:
    """The active rules whose department is active, in order (position, then id)."""
    rows = session.scalars(
        select(RoutingRule)
        .join(Department, Department.id == RoutingRule.department_id)
        .where(RoutingRule.active.is_(True), Department.active.is_(True))
        .order_by(RoutingRule.position, RoutingRule.id)
        .limit(MAX_RULES)
    )
    return [as_rule(row) for row in rows]


def route(
    session: Session,
    *,
    category: ServiceCategory,
    area_id: int | None,
    channel: str,
    description: str,
) -> Decision:
    """Where a request like this would go (used for new requests and the admin preview)."""
    case = NewCase(
        category_id=category.id,
        category_department_id=category.department_id,
        area_id=area_id,
        channel=channel,
        description=description,
    )
    return decide(load_rules(session), case)


@dataclass(frozen=True)
class Routed:
    decision: Decision
    department: Department
    task: Task


def route_new_request(
    session: Session,
    request: ServiceRequest,
    *,
    actor: User | None = None,
) -> Routed:
    """Route a just-filed ``request``: set its department, open its first task there and
    write the internal ``routed`` entry. Flushes; the caller commits."""
    category = request.category or session.get(ServiceCategory, request.category_id)
    assert category is not None
    decision = route(
        session,
        category=category,
        area_id=request.area_id,
        channel=request.channel,
        description=request.description,
    )
    department = session.get(Department, decision.department_id)
    assert department is not None
    request.department_id = department.id
    session.flush()
    task = create_first_task(session, request, created_by=actor, title=category.name)
    data: dict[str, Any] = {
        "department": department.code,
        "department_name": department.name,
        "rule": decision.rule_name,
        "task_id": task.id,
    }
    if decision.rule is not None:
        data["rule_id"] = decision.rule.id
    if task.assignee_id is not None:
        assignee = session.get(User, task.assignee_id)
        data["assignee_id"] = task.assignee_id
        data["assignee_name"] = assignee.name if assignee else ""
        data["assignment_mode"] = department.assignment_mode
    add_event(session, request, "routed", actor_kind="system", data=data)
    hooks.case_routed.fire(session, hooks.CaseRouted(request, task))
    return Routed(decision, department, task)


def route_filed(session: Session, filed: CaseFiled) -> None:
    """Handler of ``case_filed``: every new case is routed in the transaction that files it."""
    route_new_request(session, filed.request)


# --- editing the rules ----------------------------------------------------------------------


class RuleError(ValueError):
    """What is wrong with a rule, as ``{field: code}``. Fields: name, department, category,
    area, channel, keywords. Codes: required, too_long, unknown, inactive."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(", ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


class RuleConflict(Exception):
    """The rule changed (or went) since the form was drawn, or while this change was being
    written (then the session must be rolled back)."""


@dataclass(frozen=True)
class RuleInput:
    name: str
    department_id: int | None
    category_id: int | None = None
    area_id: int | None = None
    channel: str | None = None
    keywords: str = ""
    active: bool = True


def list_rules(session: Session) -> list[RoutingRule]:
    """Every rule (active or not) in order, for the rules page."""
    return list(
        session.scalars(
            select(RoutingRule).order_by(RoutingRule.position, RoutingRule.id).limit(MAX_RULES)
        )
    )


def snapshot(rule: RoutingRule) -> dict[str, Any]:
    return {
        "name": rule.name,
        "position": rule.position,
        "active": rule.active,
        "category_id": rule.category_id,
        "area_id": rule.area_id,
        "channel": rule.channel,
        "keywords": rule.keywords,
        "department_id": rule.department_id,
    }


def _audit(
    session: Session,
    *,
    actor: User | None,
    rule_id: int,
    action: str,
    before: dict[str, Any],
    after: dict[str, Any],
) -> None:
    session.add(
        AuditEntry(
            actor_id=actor.id if actor else None,
            entity="routing_rule",
            entity_id=str(rule_id),
            action=action,
            before=before,
            after=after,
            created_at=clock.now(),
        )
    )
    session.flush()


def _flush(session: Session) -> None:
    """Flush, turning a concurrent change (``version_id_col``) into ``RuleConflict``. The
    session must then be rolled back."""
    try:
        session.flush()
    except StaleDataError as error:
        raise RuleConflict() from error


def _clean(session: Session, data: RuleInput, rule_id: int | None = None) -> dict[str, Any]:
    errors: dict[str, str] = {}
    name = " ".join(data.name.split())
    if not name:
        errors["name"] = "required"
    elif len(name) > NAME_MAX:
        errors["name"] = "too_long"
    elif session.scalar(
        select(RoutingRule.id).where(
            func.lower(RoutingRule.name) == name.lower(), RoutingRule.id != (rule_id or 0)
        )
    ):
        # A rule is known by its name in the city's configuration folder (routing.toml).
        errors["name"] = "taken"
    if data.department_id is None:
        errors["department"] = "required"
    else:
        department = session.get(Department, data.department_id)
        if department is None:
            errors["department"] = "unknown"
        elif not department.active:
            errors["department"] = "inactive"
    if data.category_id is not None and session.get(ServiceCategory, data.category_id) is None:
        errors["category"] = "unknown"
    if data.area_id is not None and session.get(Area, data.area_id) is None:
        errors["area"] = "unknown"
    if data.channel and data.channel not in CHANNELS:
        errors["channel"] = "unknown"
    keywords = ", ".join(parse_keywords(data.keywords))
    if len(keywords) > KEYWORDS_MAX:
        errors["keywords"] = "too_long"
    if errors:
        raise RuleError(errors)
    return {
        "name": name,
        "department_id": data.department_id,
        "category_id": data.category_id,
        "area_id": data.area_id,
        "channel": data.channel or None,
        "keywords": keywords,
        "active": data.active,
    }


def create_rule(session: Session, data: RuleInput, *, actor: User | None) -> RoutingRule:
    """A new rule at the end of the list, or ``RuleError``."""
    values = _clean(session, data)
    last = session.scalar(
        select(RoutingRule.position).order_by(RoutingRule.position.desc()).limit(1)
    )
    now = clock.now()
    rule = RoutingRule(position=(last or 0) + 10, created_at=now, updated_at=now, **values)
    session.add(rule)
    session.flush()
    _audit(session, actor=actor, rule_id=rule.id, action="created", before={}, after=snapshot(rule))
    return rule


def update_rule(
    session: Session,
    rule: RoutingRule,
    data: RuleInput,
    *,
    actor: User | None,
    expected_version: int | None = None,
) -> RoutingRule:
    """Change a rule, or raise ``RuleError`` / ``RuleConflict`` (``expected_version`` is the
    version the form was drawn with)."""
    if expected_version is not None and expected_version != rule.version:
        raise RuleConflict()
    values = _clean(session, data, rule.id)
    before = snapshot(rule)
    for key, value in values.items():
        setattr(rule, key, value)
    if snapshot(rule) == before:
        return rule
    rule.updated_at = clock.now()
    _flush(session)
    _audit(
        session, actor=actor, rule_id=rule.id, action="updated", before=before, after=snapshot(rule)
    )
    return rule


def delete_rule(session: Session, rule: RoutingRule, *, actor: User | None) -> None:
    before = snapshot(rule)
    rule_id = rule.id
    session.delete(rule)
    _flush(session)
    _audit(session, actor=actor, rule_id=rule_id, action="deleted", before=before, after={})


def move_rule(session: Session, rule: RoutingRule, *, direction: str, actor: User | None) -> bool:
    """Move ``rule`` one place up or down the list; ``False`` when it is already at that end.
    Positions are renumbered 10, 20, 30... so ties never hide the order."""
    if direction not in ("up", "down"):
        raise ValueError(f"unknown direction {direction!r}")
    rules = list_rules(session)
    index = next(i for i, r in enumerate(rules) if r.id == rule.id)
    other = index - 1 if direction == "up" else index + 1
    if other < 0 or other >= len(rules):
        return False
    before = snapshot(rule)
    rules[index], rules[other] = rules[other], rules[index]
    now = clock.now()
    for i, row in enumerate(rules):
        if row.position != (i + 1) * 10:
            row.position = (i + 1) * 10
            row.updated_at = now
    _flush(session)
    _audit(
        session,
        actor=actor,
        rule_id=rule.id,
        action=f"moved_{direction}",
        before=before,
        after=snapshot(rule),
    )
    return True
