"""Response templates: admins only."""

from __future__ import annotations

from portal.casework.models import ResponseTemplate
from tests.access import ADMINS, RouteCheck, made

BASE = "/staff/admin/templates"


def _template_id(world) -> int:
    return made(
        world,
        "_response_template",
        lambda w: ResponseTemplate(
            code="walk",
            department_id=w.dept_x.id,
            title="Walk",
            body="Hello {resident_name}",
            position=10,
        ),
    ).id


def _template_data(world) -> dict:
    return {
        "code": "walk-new",
        "department": str(world.dept_x.id),
        "title": "Walk",
        "body": "Hello",
        "title_es": "Paseo",
        "body_es": "Hola",
    }


CHECKS = [
    RouteCheck("casework_templates_admin.index", lambda w: f"{BASE}/", ADMINS),
    RouteCheck("casework_templates_admin.new", lambda w: f"{BASE}/new", ADMINS),
    RouteCheck(
        "casework_templates_admin.new",
        lambda w: f"{BASE}/new",
        ADMINS,
        method="POST",
        data=_template_data,
    ),
    RouteCheck("casework_templates_admin.edit", lambda w: f"{BASE}/{_template_id(w)}/edit", ADMINS),
    RouteCheck(
        "casework_templates_admin.edit",
        lambda w: f"{BASE}/{_template_id(w)}/edit",
        ADMINS,
        method="POST",
        data=_template_data,
    ),
    RouteCheck(
        "casework_templates_admin.move",
        lambda w: f"{BASE}/{_template_id(w)}/move",
        ADMINS,
        method="POST",
        data=lambda w: {"direction": "up"},
    ),
    RouteCheck(
        "casework_templates_admin.retire",
        lambda w: f"{BASE}/{_template_id(w)}/retire",
        ADMINS,
        method="POST",
    ),
    RouteCheck(
        "casework_templates_admin.reactivate",
        lambda w: f"{BASE}/{_template_id(w)}/reactivate",
        ADMINS,
        method="POST",
    ),
]
