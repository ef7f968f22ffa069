"""Every back-office route, tried as every kind of user: allowed or denied as declared.

Declarations live in tests/access/<feature>.py. A back-office route (under /staff) without a
declaration fails this test.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from portal.staff.models import StaffMembership
from tests.access import KINDS, all_checks
from tests.conftest import csrf_from
from tests.factories import PASSWORD

CHECKS = all_checks()


@dataclass
class World:
    """Two departments (X and Y), one open request in each, and one user of each kind."""

    dept_x: object
    dept_y: object
    request_x: object
    request_y: object
    users: dict


@pytest.fixture
def world(make, db) -> World:
    dept_x, dept_y = make.department(code="x"), make.department(code="y")
    cat_x = make.category(department=dept_x)
    cat_y = make.category(department=dept_y)
    users = {
        "resident": make.user(),
        "coordinator": make.user(role="coordinator"),
        "admin": make.user(role="admin"),
    }
    for kind, dept, role in (
        ("agent_x", dept_x, "agent"),
        ("agent_y", dept_y, "agent"),
        ("supervisor_x", dept_x, "supervisor"),
    ):
        users[kind] = make.user(role=role)
        db.add(StaffMembership(user_id=users[kind].id, department_id=dept.id, role=role))
    db.flush()
    return World(dept_x, dept_y, make.request(category=cat_x), make.request(category=cat_y), users)


def test_every_back_office_route_is_declared(app):
    declared = {check.endpoint for check in CHECKS}
    staff_routes = {
        rule.endpoint for rule in app.url_map.iter_rules() if rule.rule.startswith("/staff")
    }
    missing = staff_routes - declared
    assert not missing, f"declare who may use these in tests/access/: {sorted(missing)}"
    assert not declared - staff_routes, "declared routes that do not exist"


def _sign_in(client, user) -> None:
    page = client.get("/account/sign-in").get_data(as_text=True)
    response = client.post(
        "/account/sign-in",
        data={"csrf_token": csrf_from(page), "email": user.email, "password": PASSWORD},
    )
    assert response.status_code == 302


@pytest.mark.parametrize("kind", KINDS)
def test_permission_walk(app, world, kind):
    client = app.test_client()
    if kind != "anonymous":
        _sign_in(client, world.users[kind])
    token = (
        csrf_from(client.get("/account/sign-in").get_data(as_text=True))
        if kind == "anonymous"
        else csrf_from(client.get("/account").get_data(as_text=True))
    )
    wrong = []
    for check in CHECKS:
        url = check.url(world)
        if check.method == "GET":
            response = client.get(url)
        else:
            response = client.open(
                url, method=check.method, data={"csrf_token": token, **check.data(world)}
            )
        to_sign_in = response.status_code == 302 and "/account/sign-in" in response.headers.get(
            "Location", ""
        )
        denied = to_sign_in or response.status_code in (403, 404)
        assert response.status_code < 500, (check.endpoint, kind, response.status_code)
        if (kind in check.allowed) == denied:
            wrong.append(f"{check.method} {url} as {kind}: {response.status_code}")
        if kind == "anonymous" and not to_sign_in:
            wrong.append(f"{check.method} {url} as anonymous did not ask to sign in")
    assert not wrong, "\n".join(wrong)
