"""The location step with the city's address points, as a browser without JavaScript uses it:
the address is searched on submit; an exact match gets its point and area, several are offered
as a choice, none is sent as text once the resident knows."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from portal.requests.models import ServiceRequest
from tests.requests.test_filing import Journey
from tests.requests.test_filing import city as city  # noqa: F401 - the fixture


@pytest.fixture
def places(make, city):  # noqa: F811
    area, _category = city
    north = make.area(code="north", name="North")
    return {
        "118": make.address_point("118", "Main Street", lat=41.001, lon=-86.999, area_id=north.id),
        "a1": make.address_point("120", "Main Street", "Apt 1", lat=41.0, lon=-86.998),
        "a2": make.address_point("120", "Main Street", "Apt 2", lat=41.0, lon=-86.998),
        "north": north,
    }


def _file(journey):
    journey.get("/report/photos")
    journey.post("/report/photos", {"action": "continue"})
    journey.get("/report/contact")
    journey.post("/report/contact", {})
    journey.get("/report/check")
    response = journey.post("/report/check")
    assert response.headers["Location"].endswith("/report/done"), response.headers


def test_an_exact_address_gets_its_point_and_area(client, db, places):
    journey = Journey(client)
    response = journey.through_location(lat="", lon="", address="118 main st")
    assert response.status_code == 302
    _file(journey)
    filed = db.scalar(select(ServiceRequest))
    assert (filed.lat, filed.lon) == (41.001, -86.999)
    assert filed.area_id == places["north"].id
    assert filed.address_point_id == places["118"].id
    assert (filed.location_status, filed.address) == ("found", "118 Main Street")


def test_an_exact_address_gets_the_nearby_duplicate_check(client, make, city, places):  # noqa: F811
    _area, category = city
    existing = make.request(category=category, lat=41.0012, lon=-86.999)
    journey = Journey(client)
    response = journey.through_location(lat="", lon="", address="118 Main Street")
    assert response.headers["Location"].endswith("/report/nearby")
    assert existing.reference in journey.get("/report/nearby").get_data(as_text=True)


def test_several_matches_offer_a_choice_on_the_same_step(client, db, places):
    journey = Journey(client)
    response = journey.through_location(lat="", lon="", address="120 Main Street")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Which address do you mean?" in page
    assert "120 Main Street, Apt 1" in page and "120 Main Street, Apt 2" in page
    response = journey.post(
        "/report/location", {"address": "120 Main Street", "lat": "", "lon": "", "choice": "1"}
    )
    assert response.status_code == 302
    _file(journey)
    filed = db.scalar(select(ServiceRequest))
    assert filed.address_point_id == places["a2"].id
    assert filed.address == "120 Main Street, Apt 2"


def test_an_unknown_address_is_sent_as_text_once_the_resident_knows(client, db, places):
    journey = Journey(client)
    response = journey.through_location(lat="", lon="", address="999 Nowhere Road")
    assert response.status_code == 200
    assert "We could not find that address" in response.get_data(as_text=True)
    response = journey.post(
        "/report/location", {"address": "999 Nowhere Road", "lat": "", "lon": "", "choice": "none"}
    )
    assert response.status_code == 302
    _file(journey)
    filed = db.scalar(select(ServiceRequest))
    assert (filed.lat, filed.address_point_id, filed.location_status) == (None, None, "not_found")
    assert filed.address == "999 Nowhere Road"


def test_a_chosen_suggestion_keeps_its_point(client, db, places):
    journey = Journey(client)
    journey.through_location(lat="41.001", lon="-86.999", address="118 Main Street")
    _file(journey)
    assert db.scalar(select(ServiceRequest)).location_status == ""  # a map point, no id sent
    journey = Journey(client)
    journey.get("/report/")
    journey.post("/report/", {"category": "pothole"})
    journey.get("/report/details")
    journey.post("/report/details", {"description": "Another hole", "q_size": "small"})
    journey.get("/report/location")
    response = journey.post(
        "/report/location",
        {
            "address": "118 Main Street",
            "lat": "41.001",
            "lon": "-86.999",
            "point": str(places["118"].id),
        },
    )
    assert response.status_code == 302
    _file(journey)
    latest = db.scalars(select(ServiceRequest).order_by(ServiceRequest.id.desc())).first()
    assert (latest.address_point_id, latest.location_status) == (places["118"].id, "found")
