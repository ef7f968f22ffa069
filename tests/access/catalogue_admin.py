"""The catalogue pages: admins only."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import object_session

from portal.catalogue.models import CategoryQuestion, ServiceCategory
from tests.access import ADMINS, RouteCheck, made

BASE = "/staff/admin/catalogue"


def _category(world) -> ServiceCategory:
    return object_session(world.dept_x).scalar(
        select(ServiceCategory).where(ServiceCategory.department_id == world.dept_x.id)
    )


def _question_id(world) -> int:
    return made(
        world,
        "_catalogue_question",
        lambda w: CategoryQuestion(
            category_id=_category(w).id, code="walk", kind="text", prompt="Walk?", position=0
        ),
    ).id


CHECKS = [
    RouteCheck("city_catalogue.index", lambda w: f"{BASE}/", ADMINS),
    RouteCheck("city_catalogue.department", lambda w: f"{BASE}/departments/new", ADMINS),
    RouteCheck(
        "city_catalogue.department",
        lambda w: f"{BASE}/departments/new",
        ADMINS,
        method="POST",
        data=lambda w: {"code": "walk", "name": "Walk"},
    ),
    RouteCheck(
        "city_catalogue.department", lambda w: f"{BASE}/departments/{w.dept_x.id}/edit", ADMINS
    ),
    RouteCheck("city_catalogue.group", lambda w: f"{BASE}/groups/new", ADMINS),
    RouteCheck(
        "city_catalogue.group",
        lambda w: f"{BASE}/groups/{_category(w).group_id}/edit",
        ADMINS,
        method="POST",
        data=lambda w: {"name": "Walk group"},
    ),
    RouteCheck(
        "city_catalogue.move_group",
        lambda w: f"{BASE}/groups/{_category(w).group_id}/move",
        ADMINS,
        method="POST",
        data=lambda w: {"direction": "up"},
    ),
    RouteCheck("city_catalogue.category", lambda w: f"{BASE}/categories/new", ADMINS),
    RouteCheck(
        "city_catalogue.category", lambda w: f"{BASE}/categories/{_category(w).id}/edit", ADMINS
    ),
    RouteCheck(
        "city_catalogue.move_category",
        lambda w: f"{BASE}/categories/{_category(w).id}/move",
        ADMINS,
        method="POST",
        data=lambda w: {"direction": "down"},
    ),
    RouteCheck(
        "city_catalogue.preview", lambda w: f"{BASE}/categories/{_category(w).id}/preview", ADMINS
    ),
    RouteCheck(
        "city_catalogue.new_question",
        lambda w: f"{BASE}/categories/{_category(w).id}/questions/new",
        ADMINS,
    ),
    RouteCheck(
        "city_catalogue.edit_question",
        lambda w: f"{BASE}/questions/{_question_id(w)}/edit",
        ADMINS,
    ),
    RouteCheck(
        "city_catalogue.move_question",
        lambda w: f"{BASE}/questions/{_question_id(w)}/move",
        ADMINS,
        method="POST",
        data=lambda w: {"direction": "up"},
    ),
]
