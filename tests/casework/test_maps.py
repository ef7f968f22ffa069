"""Staff maps: the case page's location with the open requests near it, and the queue's map
view of its current filter (clustered, capped, never cached)."""

from __future__ import annotations

import re

from portal.casework.models import Task
from portal.requests import map_features
from tests.casework.test_case import make_office
from tests.conftest import sign_in

BOX = "-87.02,40.98,-86.98,41.02"


def refs(response) -> set[str]:
    return {f["properties"]["reference"] for f in response.get_json()["features"]}


def test_case_page_map_and_the_open_requests_near_it(client, make, db):
    office = make_office(make, db)
    near = make.request(category=office.case.category, lat=41.0005, lon=-87.0)
    private = make.request(
        category=office.case.category, lat=41.0, lon=-87.0005, private_by_reporter=True
    )
    far = make.request(category=office.case.category, lat=41.009, lon=-87.0)
    closed = make.request(category=office.case.category, status="resolved")
    other_department = make.request(category=make.category(department=office.dept_y))
    db.flush()
    sign_in(client, office.agent_x)
    page = client.get(f"/staff/cases/{office.case.reference}").get_data(as_text=True)
    assert 'id="case-map"' in page
    listed = page.split("data-nearby-open")[1].split("</ul>")[0]
    assert near.reference in listed and private.reference in listed  # staff see private ones
    assert far.reference not in listed and closed.reference not in listed
    assert office.case.reference not in listed
    assert other_department.reference not in listed  # not the agent's department
    response = client.get(
        f"/staff/cases/{office.case.reference}/nearby.geojson", query_string={"bbox": BOX}
    )
    assert response.status_code == 200
    assert "no-store" in response.headers["Cache-Control"]
    assert refs(response) == {near.reference, private.reference, far.reference}
    url = next(f for f in response.get_json()["features"])["properties"]["url"]
    assert url.startswith("/staff/cases/")
    bad = client.get(f"/staff/cases/{office.case.reference}/nearby.geojson?bbox=x")
    assert bad.status_code == 400


def test_queue_map_view_follows_the_filter(client, make, db):
    office = make_office(make, db)
    unassigned = make.request(category=office.case.category, lat=41.001, lon=-87.001)
    db.add(Task(request_id=unassigned.id, department_id=office.dept_x.id, title="Look"))
    elsewhere = make.request(category=make.category(department=office.dept_y))
    db.add(Task(request_id=elsewhere.id, department_id=office.dept_y.id, title="Look"))
    db.flush()
    sign_in(client, office.agent_x)
    page = client.get("/staff/queue/unassigned").get_data(as_text=True)
    assert "Show these cases on a map" in page
    assert 'id="queue-map"' not in page
    page = client.get("/staff/queue/unassigned?display=map").get_data(as_text=True)
    assert 'id="queue-map"' in page
    assert re.search(r"leaflet\.markercluster(\.[0-9a-f]+)?\.js", page)  # hashed once built
    assert "/staff/queue/map.geojson?view=unassigned" in page
    data = client.get("/staff/queue/map.geojson", query_string={"view": "unassigned", "bbox": BOX})
    assert refs(data) == {office.case.reference, unassigned.reference}
    assert "no-store" in data.headers["Cache-Control"]
    # Filtered: only cases of a category the queue filter names.
    other = make.category(department=office.dept_x)
    filtered = make.request(category=other, lat=41.002, lon=-87.0)
    db.add(Task(request_id=filtered.id, department_id=office.dept_x.id, title="Look"))
    db.flush()
    data = client.get(
        "/staff/queue/map.geojson",
        query_string={"view": "unassigned", "bbox": BOX, "category": str(other.id)},
    )
    assert refs(data) == {filtered.reference}


def test_queue_map_clusters_a_busy_box(client, make, db, monkeypatch):
    monkeypatch.setattr(map_features, "MAX_POINTS", 2)
    office = make_office(make, db)
    for n in range(4):
        sr = make.request(category=office.case.category, lat=41.0 + n / 1e4, lon=-87.0)
        db.add(Task(request_id=sr.id, department_id=office.dept_x.id, title="Look"))
    db.flush()
    sign_in(client, office.agent_x)
    data = client.get(
        "/staff/queue/map.geojson", query_string={"view": "unassigned", "bbox": BOX}
    ).get_json()
    assert data["clustered"] is True
    assert sum(f["properties"]["count"] for f in data["features"]) == 5


def test_queue_map_refuses_bad_views_and_boxes(client, make, db):
    office = make_office(make, db)
    sign_in(client, office.agent_x)
    assert client.get("/staff/queue/map.geojson?view=all&bbox=" + BOX).status_code == 400
    assert client.get("/staff/queue/map.geojson?view=nope&bbox=" + BOX).status_code == 400
    assert client.get("/staff/queue/map.geojson?view=mine&bbox=1,2").status_code == 400
