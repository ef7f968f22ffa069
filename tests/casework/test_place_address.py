"""Staff see "Address not found" on a case whose typed address named no address point, and
place it: by the city's address (a chosen suggestion, or the text searched on the server) or
by coordinates. Placing is a timeline entry (and so in the audit trail); it does not re-route."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from portal.requests.models import Event
from tests.areas.factories import OUTSIDE
from tests.casework.test_case import act, make_office
from tests.conftest import csrf_from, sign_in


@pytest.fixture
def lost(make, db):
    """The Streets office, its case filed with an address that named nothing, and the city's
    address points (118 Main Street in North; 120 Main Street in two flats)."""
    office = make_office(make, db)
    north = make.area(code="north", name="North")
    points = {
        "118": make.address_point("118", "Main Street", lat=41.001, lon=-86.999, area_id=north.id),
        "a1": make.address_point("120", "Main Street", "Apt 1", lat=41.0, lon=-86.998),
        "a2": make.address_point("120", "Main Street", "Apt 2", lat=41.0, lon=-86.998),
    }
    case = office.case
    case.address, case.lat, case.lon = "118 Mian Stret", None, None
    case.location_status = "not_found"
    db.flush()
    return office, points, north


def _location_events(db, case):
    return [
        e
        for e in db.scalars(select(Event).where(Event.request_id == case.id).order_by(Event.id))
        if (e.data or {}).get("action") == "location"
    ]


def test_a_case_whose_address_was_not_found_says_so_and_offers_to_place_it(client, lost):
    office, _points, _north = lost
    sign_in(client, office.agent_x)
    html = client.get(f"/staff/cases/{office.case.reference}").get_data(as_text=True)
    assert "Address not found: 118 Mian Stret" in html
    assert f'action="/staff/cases/{office.case.reference}/place"' in html
    assert "does not route it again" in html
    assert re.search(r"js/address-search(\.[0-9a-f]+)?\.js", html)  # hashed once built


def test_a_located_case_can_have_its_location_corrected(client, make, db):
    """A case with a point says no 'Address not found'; the same form, folded under 'Correct
    the location', moves it (a wrong pin, a resident's misplaced tap) and keeps the old place
    in the timeline entry."""
    office = make_office(make, db)
    case = office.case
    north = make.area(code="north", name="North")
    point = make.address_point("118", "Main Street", lat=41.001, lon=-86.999, area_id=north.id)
    db.flush()
    before = (case.lat, case.lon)
    sign_in(client, office.agent_x)
    html = client.get(f"/staff/cases/{case.reference}").get_data(as_text=True)
    assert "Address not found" not in html
    assert 'id="correct-location"' in html and "Correct the location" in html
    assert f'action="/staff/cases/{case.reference}/place"' in html
    response = act(client, case, "place", address="118 Main Street", point=str(point.id))
    assert response.status_code == 302
    db.refresh(case)
    assert (case.lat, case.lon, case.area_id) == (41.001, -86.999, north.id)
    assert (case.address_point_id, case.location_status) == (point.id, "placed")
    [event] = _location_events(db, case)
    assert (event.data["previous"]["lat"], event.data["previous"]["lon"]) == before


def test_placing_by_the_typed_address_searched_on_the_server(client, db, lost):
    office, points, north = lost
    sign_in(client, office.agent_x)
    department = office.case.department_id
    response = act(client, office.case, "place", address="118 Main St")
    assert response.status_code == 302, response.get_data(as_text=True)
    db.refresh(office.case)
    case = office.case
    assert (case.lat, case.lon, case.area_id) == (41.001, -86.999, north.id)
    assert (case.address_point_id, case.location_status) == (points["118"].id, "placed")
    assert case.address == "118 Main Street"
    assert case.department_id == department  # not routed again
    [event] = _location_events(db, case)
    assert (event.kind, event.public, event.actor_id) == ("internal_note", False, office.agent_x.id)
    assert event.data["typed"] == "118 Main St"
    assert event.data["previous"]["address"] == "118 Mian Stret"
    page = client.get(f"/staff/cases/{case.reference}").get_data(as_text=True)
    assert "Placed at 118 Main Street" in page  # on the timeline
    assert "Address not found" not in page


def test_placing_is_in_the_audit_trail(app, make, db, lost):
    office, _points, _north = lost
    agent = app.test_client()
    sign_in(agent, office.agent_x)
    assert act(agent, office.case, "place", address="118 Main Street").status_code == 302
    admin = app.test_client()
    sign_in(admin, make.user(role="admin"))
    trail = admin.get(f"/staff/audit/?case={office.case.reference}").get_data(as_text=True)
    assert "118 Main Street" in trail and "Xavier" in trail


def test_placing_by_a_chosen_suggestion_uses_its_point(client, db, lost):
    office, points, _north = lost
    sign_in(client, office.agent_x)
    response = act(
        client, office.case, "place", address="120 Main Street, Apt 2", point=str(points["a2"].id)
    )
    assert response.status_code == 302
    db.refresh(office.case)
    assert office.case.address_point_id == points["a2"].id
    assert (office.case.lat, office.case.lon) == (41.0, -86.998)


def test_several_matches_are_offered_as_a_choice(client, db, lost):
    office, points, _north = lost
    sign_in(client, office.agent_x)
    response = act(client, office.case, "place", address="120 Main Street")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Which address do you mean?" in html
    assert "120 Main Street, Apt 1" in html and "120 Main Street, Apt 2" in html
    db.refresh(office.case)
    assert office.case.lat is None  # nothing placed yet
    labels = [label for label in ("120 Main Street, Apt 1", "120 Main Street, Apt 2")]
    chosen = next(i for i, label in enumerate(labels) if label.endswith("Apt 2"))
    order = [html.index(label) for label in labels]
    choice = chosen if order[0] < order[1] else 1 - chosen
    response = act(client, office.case, "place", address="120 Main Street", choice=str(choice))
    assert response.status_code == 302
    db.refresh(office.case)
    assert office.case.address_point_id == points["a2"].id


def test_placing_by_coordinates(client, db, lost):
    office, _points, _north = lost
    sign_in(client, office.agent_x)
    response = act(client, office.case, "place", address="", lat="41.0005", lon="-87.0005")
    assert response.status_code == 302
    db.refresh(office.case)
    case = office.case
    assert (case.lat, case.lon, case.location_status) == (41.0005, -87.0005, "placed")
    assert case.address_point_id is None and case.area_id is not None
    assert case.address == "118 Mian Stret"  # the typed text stays
    [event] = _location_events(db, case)
    assert (event.data["lat"], event.data["lon"]) == (41.0005, -87.0005)
    page = client.get(f"/staff/cases/{case.reference}").get_data(as_text=True)
    assert "Placed at the coordinates 41.00050, -87.00050" in page


@pytest.mark.parametrize(
    ("fields", "message", "field_id"),
    [
        ({"lat": str(OUTSIDE[0]), "lon": str(OUTSIDE[1])}, "is outside", "place-lat"),
        ({"lat": "41.0", "lon": ""}, "Enter both the latitude and the longitude.", "place-lat"),
        ({"lat": "north", "lon": "-87"}, "as decimal numbers", "place-lat"),
        ({"lat": "1e999", "lon": "-87"}, "as decimal numbers", "place-lat"),
        ({"lat": "95", "lon": "-87"}, "as decimal numbers", "place-lat"),
        ({"address": "9999 Nowhere Boulevard"}, "No address in the city", "place-address"),
        ({"address": ""}, "Enter the address, choose one", "place-address"),
        ({"address": "x" * 301}, "300 characters or fewer", "place-address"),
        ({"address": "118 Main", "point": "999999999"}, "no longer in the city", "place-address"),
    ],
)
def test_bad_input_gets_a_message_beside_the_field(client, db, lost, fields, message, field_id):
    office, _points, _north = lost
    sign_in(client, office.agent_x)
    response = act(client, office.case, "place", **{"address": "", **fields})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert message in html
    assert f'id="{field_id}-error-1"' in html  # beside the field
    db.refresh(office.case)
    assert office.case.lat is None and office.case.location_status == "not_found"
    assert _location_events(db, office.case) == []


def test_a_member_of_another_department_cannot_place_it(client, db, lost):
    office, _points, _north = lost
    sign_in(client, office.agent_y)
    token = csrf_from(client.get("/staff/intake/").get_data(as_text=True))
    response = client.post(
        f"/staff/cases/{office.case.reference}/place",
        data={
            "csrf_token": token,
            "address": "118 Main Street",
            "version": str(office.case.version),
        },
    )
    assert response.status_code == 404
    db.refresh(office.case)
    assert office.case.lat is None and _location_events(db, office.case) == []


def test_a_stale_form_saves_nothing(client, db, lost):
    office, _points, _north = lost
    sign_in(client, office.agent_x)
    response = act(client, office.case, "place", address="118 Main Street", version="0")
    assert response.status_code == 409
    db.refresh(office.case)
    assert office.case.lat is None
