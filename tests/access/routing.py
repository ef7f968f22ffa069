"""Routing rules: admins only."""

from __future__ import annotations

from sqlalchemy.orm import object_session

from portal.routing.models import RoutingRule
from tests.access import ADMINS, RouteCheck


def _rule_id(world) -> int:
    """A rule of the walk's world, made on first use."""
    rule = getattr(world, "_routing_rule", None)
    if rule is None:
        session = object_session(world.dept_x)
        rule = RoutingRule(name="Walk", department_id=world.dept_x.id, position=10)
        session.add(rule)
        session.flush()
        world._routing_rule = rule
    return rule.id


def _rule_data(world) -> dict:
    return {"name": "Walk", "department": str(world.dept_x.id), "version": "1"}


BASE = "/staff/admin/routing"

CHECKS = [
    RouteCheck("routing.rules", lambda w: f"{BASE}/", ADMINS),
    RouteCheck("routing.preview", lambda w: f"{BASE}/preview", ADMINS),
    RouteCheck("routing.new", lambda w: f"{BASE}/new", ADMINS),
    RouteCheck("routing.new", lambda w: f"{BASE}/new", ADMINS, method="POST", data=_rule_data),
    RouteCheck("routing.edit", lambda w: f"{BASE}/{_rule_id(w)}/edit", ADMINS),
    RouteCheck(
        "routing.edit",
        lambda w: f"{BASE}/{_rule_id(w)}/edit",
        ADMINS,
        method="POST",
        data=_rule_data,
    ),
    RouteCheck(
        "routing.move",
        lambda w: f"{BASE}/{_rule_id(w)}/move",
        ADMINS,
        method="POST",
        data=lambda w: {"direction": "up"},
    ),
    RouteCheck(
        "routing.delete",
        lambda w: f"{BASE}/{_rule_id(w)}/delete",
        ADMINS,
        method="POST",
        data=lambda w: {"confirm": "yes"},
    ),
]
