"""Open311 POST with only address_string: a known address is geocoded to its address point."""

from __future__ import annotations

from sqlalchemy import select

from portal.requests.models import ServiceRequest
from tests.open311.test_post import City, _form


def _post(client, city, address):
    response = client.post(
        "/open311/v2/requests.json",
        data=_form(city, lat=None, long=None, address_string=address),
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()[0]["service_request_id"]


def test_a_known_address_gets_its_points_lat_long_and_area(client, db, make):
    city = City(make, db)
    area = make.area(code="north")
    point = make.address_point("118", "Main Street", lat=41.0012, lon=-86.9987, area_id=area.id)
    reference = _post(client, city, "118 Main St.")
    filed = db.scalar(select(ServiceRequest).where(ServiceRequest.reference == reference))
    assert (filed.lat, filed.lon) == (41.0012, -86.9987)
    assert (filed.address_point_id, filed.area_id) == (point.id, area.id)
    assert filed.location_status == "found"
    assert filed.address == "118 Main St."
    [read] = client.get(f"/open311/v2/requests/{reference}.json").get_json()
    assert (read["lat"], read["long"]) == (41.0012, -86.9987)


def test_an_unknown_address_stays_text(client, db, make):
    city = City(make, db)
    make.address_point("118", "Main Street")
    reference = _post(client, city, "999 Nowhere Road")
    filed = db.scalar(select(ServiceRequest).where(ServiceRequest.reference == reference))
    assert (filed.lat, filed.lon, filed.address_point_id) == (None, None, None)
    assert filed.location_status == "not_found"
    assert filed.address == "999 Nowhere Road"


def test_an_ambiguous_address_is_not_guessed(client, db, make):
    city = City(make, db)
    make.address_point("120", "Main Street", "Apt 1")
    make.address_point("120", "Main Street", "Apt 2", lat=41.0001)
    reference = _post(client, city, "120 Main Street")
    filed = db.scalar(select(ServiceRequest).where(ServiceRequest.reference == reference))
    assert (filed.lat, filed.location_status) == (None, "not_found")


def test_lat_long_sent_win_over_the_address(client, db, make):
    city = City(make, db)
    make.address_point("118", "Main Street", lat=41.0012, lon=-86.9987)
    response = client.post(
        "/open311/v2/requests.json", data=_form(city, address_string="118 Main Street")
    )
    reference = response.get_json()[0]["service_request_id"]
    filed = db.scalar(select(ServiceRequest).where(ServiceRequest.reference == reference))
    assert (filed.lat, filed.lon, filed.location_status) == (41.0, -87.0, "")
