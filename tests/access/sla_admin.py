"""Service levels (policies, calendars and closures, department settings): admins only."""

from __future__ import annotations

from datetime import date

from portal.sla.models import BusinessCalendar, CalendarClosure, SlaPolicy
from tests.access import ADMINS, RouteCheck, made

BASE = "/staff/admin/sla"


def _policy_id(world) -> int:
    return made(
        world, "_sla_policy", lambda w: SlaPolicy(name="Walk", resolution_amount=8, position=10)
    ).id


def _calendar_id(world) -> int:
    return made(
        world,
        "_sla_calendar",
        lambda w: BusinessCalendar(
            code="walk",
            name="Walk",
            timezone="America/Chicago",
            hours={"mon": [["08:00", "17:00"]]},
        ),
    ).id


def _closure_id(world) -> int:
    return made(
        world,
        "_sla_closure",
        lambda w: CalendarClosure(calendar_id=_calendar_id(w), day=date(2031, 1, 2), name="Walk"),
    ).id


def _policy_data(world) -> dict:
    return {"name": "Walk", "resolution_amount": "8", "resolution_unit": "working_hours"}


def _calendar_data(world) -> dict:
    return {
        "code": "walk-new",
        "name": "Walk",
        "timezone": "America/Chicago",
        "hours_mon": "08:00-17:00",
    }


CHECKS = [
    RouteCheck("sla_admin.policies", lambda w: f"{BASE}/", ADMINS),
    RouteCheck("sla_admin.new_policy", lambda w: f"{BASE}/policies/new", ADMINS),
    RouteCheck(
        "sla_admin.new_policy",
        lambda w: f"{BASE}/policies/new",
        ADMINS,
        method="POST",
        data=_policy_data,
    ),
    RouteCheck("sla_admin.edit_policy", lambda w: f"{BASE}/policies/{_policy_id(w)}/edit", ADMINS),
    RouteCheck(
        "sla_admin.edit_policy",
        lambda w: f"{BASE}/policies/{_policy_id(w)}/edit",
        ADMINS,
        method="POST",
        data=_policy_data,
    ),
    RouteCheck("sla_admin.calendars", lambda w: f"{BASE}/calendars/", ADMINS),
    RouteCheck("sla_admin.new_calendar", lambda w: f"{BASE}/calendars/new", ADMINS),
    RouteCheck(
        "sla_admin.new_calendar",
        lambda w: f"{BASE}/calendars/new",
        ADMINS,
        method="POST",
        data=_calendar_data,
    ),
    RouteCheck(
        "sla_admin.edit_calendar", lambda w: f"{BASE}/calendars/{_calendar_id(w)}/edit", ADMINS
    ),
    RouteCheck(
        "sla_admin.edit_calendar",
        lambda w: f"{BASE}/calendars/{_calendar_id(w)}/edit",
        ADMINS,
        method="POST",
        data=lambda w: {**_calendar_data(w), "code": "walk"},
    ),
    RouteCheck(
        "sla_admin.add_closure",
        lambda w: f"{BASE}/calendars/{_calendar_id(w)}/closures",
        ADMINS,
        method="POST",
        data=lambda w: {"closure_day": "2031-01-03", "closure_name": "Walk"},
    ),
    RouteCheck(
        "sla_admin.remove_closure",
        lambda w: f"{BASE}/calendars/{_calendar_id(w)}/closures/{_closure_id(w)}/delete",
        ADMINS,
        method="POST",
        data=lambda w: {"confirm": "yes"},
    ),
    RouteCheck("sla_admin.departments", lambda w: f"{BASE}/departments/", ADMINS),
    RouteCheck(
        "sla_admin.edit_department", lambda w: f"{BASE}/departments/{w.dept_x.id}/edit", ADMINS
    ),
    RouteCheck(
        "sla_admin.edit_department",
        lambda w: f"{BASE}/departments/{w.dept_x.id}/edit",
        ADMINS,
        method="POST",
        data=lambda w: {
            "calendar": "",
            "breach_actions": "raise_priority",
            "assignment_mode": "round_robin",
        },
    ),
    RouteCheck(
        "sla_admin.delete_policy",
        lambda w: f"{BASE}/policies/{_policy_id(w)}/delete",
        ADMINS,
        method="POST",
        data=lambda w: {"confirm": "yes"},
    ),
]
