"""After signing in, each person starts where they work (issue 20): agents and admins on the
queue, supervisors on the escalations, coordinators on the programmes; residents, and staff
without a department, on their account. A ``next`` page still wins."""

from __future__ import annotations

import pytest

from tests.auth.test_auth import _sign_in


@pytest.mark.parametrize(
    ("role", "departments", "landing"),
    [
        ("resident", 0, "/account"),
        ("agent", 1, "/staff/"),
        ("agent", 0, "/account"),
        ("supervisor", 1, "/staff/escalations/"),
        ("coordinator", 0, "/staff/programmes"),
        ("admin", 0, "/staff/"),
    ],
)
def test_each_role_lands_where_it_works(client, make, role, departments, landing):
    roads = make.department(name="Roads")
    make.staff(*([roads] * departments), role=role, email="kim@example.org")
    response = _sign_in(client, "kim@example.org")
    assert response.status_code == 302
    assert response.headers["Location"] == landing
    assert client.get(landing).status_code == 200


def test_a_next_page_wins_over_the_landing(client, make):
    make.staff(make.department(name="Roads"), role="supervisor", email="kim@example.org")
    response = _sign_in(client, "kim@example.org", next_="/staff/reports")
    assert response.headers["Location"] == "/staff/reports"
