"""Results every team sees (issue 23): an agent opens their own department's scorecard, by
category and by area, from "Our results" in the back office; not another department's, and
not other agents' figures."""

from __future__ import annotations

from datetime import date

import pytest

from tests.conftest import sign_in
from tests.reports.test_pages import local, resolved_clock

MARCH = date(2026, 3, 5)


@pytest.fixture(autouse=True)
def frozen(freeze_clock):
    freeze_clock(local(date(2026, 3, 20)))


@pytest.fixture
def town(make):
    roads = make.department(name="Roads")
    parks = make.department(name="Parks")
    potholes = make.category(department=roads, name="Potholes")
    for stage in ("met", "met", "breached"):
        resolved_clock(make, potholes, stage=stage, hours=3, day=MARCH)
    return roads, parks


def test_an_agent_opens_their_departments_scorecard(client, make, town):
    roads, parks = town
    agent = make.staff(roads, role="agent", name="Andy Agent")
    sign_in(client, agent)
    queue = client.get("/staff/").get_data(as_text=True)
    assert 'href="/staff/reports/mine"' in queue and "Our results" in queue
    response = client.get("/staff/reports/mine")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/staff/reports/departments/{roads.id}")
    html = client.get(f"/staff/reports/departments/{roads.id}?period=month&start=2026-03-10")
    page = html.get_data(as_text=True)
    assert html.status_code == 200 and "<h1>Roads</h1>" in page
    assert "Potholes" in page and "67% of 3" in page  # 2 of 3 on time
    assert "By area" in page and "By agent" not in page
    assert "All departments" not in page  # the board is for supervisors
    area = client.get(f"/staff/reports/departments/{roads.id}?by=area")
    assert area.status_code == 200
    # Other agents' figures and other departments stay closed.
    assert client.get(f"/staff/reports/departments/{roads.id}?by=agent").status_code == 404
    assert client.get(f"/staff/reports/departments/{parks.id}").status_code == 404
    assert client.get("/staff/reports").status_code == 403
    spanish = client.get(f"/staff/reports/departments/{roads.id}?lang=es").get_data(as_text=True)
    assert "Nuestros resultados" in spanish


def test_an_agent_of_two_departments_switches_between_them(client, make, town):
    roads, parks = town
    agent = make.staff(roads, parks, role="agent")
    sign_in(client, agent)
    page = client.get(f"/staff/reports/departments/{roads.id}").get_data(as_text=True)
    assert f'href="/staff/reports/departments/{parks.id}?' in page
    assert client.get(f"/staff/reports/departments/{parks.id}").status_code == 200
