"""Staff intake: file for a caller or walk-in, channel recorded; bad input saves nothing."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from portal.core.outbox import OutboxMessage
from portal.requests.models import CHANNELS, Event, ServiceRequest
from portal.staff.models import StaffMembership
from tests.conftest import csrf_from, sign_in
from tests.factories import INSIDE, OUTSIDE


@pytest.fixture
def setup(make, db, client):
    dept = make.department(code="streets")
    area = make.area()
    category = make.category(
        department=dept,
        code="pothole",
        name="Pothole",
        questions=[{"code": "depth", "kind": "number", "required": True}],
    )
    agent = make.user(role="agent")
    db.add(StaffMembership(user_id=agent.id, department_id=dept.id, role="agent"))
    db.flush()
    sign_in(client, agent)
    return dept, area, category, agent


def post(client, **fields):
    page = client.get("/staff/intake/?category=pothole")
    data = {
        "csrf_token": csrf_from(page.get_data(as_text=True)),
        "action": "file",
        "channel": "phone",
        "category": "pothole",
        "description": "Deep hole by the bus stop",
        "address": "5 Elm Street",
        "q_depth": "12",
        "locale": "en",
        **fields,
    }
    return client.post("/staff/intake/", data=data)


def count(db, model) -> int:
    return db.scalar(select(func.count()).select_from(model))


@pytest.mark.parametrize("channel", CHANNELS)
def test_files_a_request_with_each_channel(client, db, setup, channel):
    response = post(client, channel=channel)
    assert response.status_code == 302
    case = db.scalar(select(ServiceRequest).order_by(ServiceRequest.id.desc()))
    assert response.headers["Location"].endswith(f"/staff/cases/{case.reference}")
    assert case.channel == channel
    assert case.answers == {"depth": 12}
    assert case.reporter_id is None
    submitted = db.scalar(
        select(Event).where(Event.request_id == case.id, Event.kind == "submitted")
    )
    assert submitted.actor_kind == "staff" and submitted.data["channel"] == channel


def test_the_page_shows_the_category_questions_without_javascript(client, setup):
    page = client.get("/staff/intake/")
    assert page.status_code == 200 and "q_depth" not in page.get_data(as_text=True)
    token = csrf_from(page.get_data(as_text=True))
    redraw = client.post(
        "/staff/intake/",
        data={
            "csrf_token": token,
            "action": "questions",
            "category": "pothole",
            "description": "kept",
        },
    )
    html = redraw.get_data(as_text=True)
    assert redraw.status_code == 200 and 'name="q_depth"' in html and "kept" in html
    assert "There is a problem" not in html


def test_caller_details_point_and_confirmation_email(client, db, setup):
    _, area, _, _ = setup
    response = post(
        client,
        address="",
        lat=str(INSIDE[0]),
        lon=str(INSIDE[1]),
        name="Pat Caller",
        email="Pat@Example.net",
        phone="555 010 2030",
        private="y",
        channel="walk_in",
        locale="es",
    )
    assert response.status_code == 302
    case = db.scalar(select(ServiceRequest).order_by(ServiceRequest.id.desc()))
    assert (case.contact_name, case.contact_email, case.contact_phone) == (
        "Pat Caller",
        "pat@example.net",
        "555 010 2030",
    )
    assert case.area_id == area.id and not case.is_public and case.locale == "es"
    mail = db.scalar(select(OutboxMessage).where(OutboxMessage.to_address == "pat@example.net"))
    assert mail is not None and mail.locale == "es"


def test_a_case_for_another_department_goes_back_to_intake(client, make, db, setup):
    make.category(department=make.department(code="parks"), code="tree", name="Fallen tree")
    response = post(client, category="tree", q_depth="")
    assert response.status_code == 302 and response.headers["Location"].endswith("/staff/intake/")
    page = client.get("/staff/intake/").get_data(as_text=True)
    assert "filed and sent to" in page


@pytest.mark.parametrize(
    "fields, field_id, message",
    [
        ({"category": "no-such-thing"}, "category", "Choose a category from the list."),
        ({"category": ""}, "category", "Choose a category from the list."),
        ({"description": "  "}, "description", "Describe the problem"),
        ({"address": "", "lat": str(OUTSIDE[0]), "lon": str(OUTSIDE[1])}, "lat", "outside"),
        ({"address": "", "lat": "north", "lon": "-87"}, "lat", "map position was incomplete"),
        ({"address": ""}, "address", "Enter a street address"),
        ({"q_depth": ""}, "q_depth", "Answer the question"),
        ({"q_depth": "deep"}, "q_depth", "Enter a number"),
        ({"email": "not-an-email"}, "email", "right format"),
        ({"phone": "call me"}, "phone", "Enter a phone number"),
        ({"channel": "pigeon"}, "channel", "Not a valid choice"),
        ({"description": "x" * 4001}, "description", "4000 characters"),
    ],
)
def test_bad_input_shows_errors_and_saves_nothing(client, db, setup, fields, field_id, message):
    before = (count(db, ServiceRequest), count(db, Event), count(db, OutboxMessage))
    response = post(client, **fields)
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "There is a problem" in html and f'href="#{field_id}"' in html
    assert message in html
    assert (count(db, ServiceRequest), count(db, Event), count(db, OutboxMessage)) == before


def test_a_forged_post_without_csrf_saves_nothing(client, db, setup):
    before = count(db, ServiceRequest)
    response = client.post(
        "/staff/intake/",
        data={
            "action": "file",
            "category": "pothole",
            "description": "x",
            "address": "1 Main",
            "channel": "phone",
            "q_depth": "3",
        },
    )
    assert response.status_code == 400
    assert count(db, ServiceRequest) == before


def test_residents_cannot_use_intake(app, make):
    client = app.test_client()
    sign_in(client, make.user())
    assert client.get("/staff/intake/").status_code == 403


# -- the city's addresses (issue 18) ----------------------------------------------------------


@pytest.fixture
def places(make, setup):
    north = make.area(code="north", name="North")
    return {
        "118": make.address_point("118", "Main Street", lat=41.001, lon=-86.999, area_id=north.id),
        "a1": make.address_point("120", "Main Street", "Apt 1", lat=41.0, lon=-86.998),
        "a2": make.address_point("120", "Main Street", "Apt 2", lat=41.0, lon=-86.998),
        "north": north,
    }


def latest(db):
    return db.scalar(select(ServiceRequest).order_by(ServiceRequest.id.desc()))


def test_intake_has_the_address_search(client, places):
    html = client.get("/staff/intake/").get_data(as_text=True)
    assert 'data-address-search="/places/suggest"' in html and 'name="point"' in html
    assert re.search(r"js/address-search(\.[0-9a-f]+)?\.js", html)  # hashed once built


def test_an_exact_address_is_found_and_said_so(client, db, places):
    response = post(client, address="118 Main St")
    assert response.status_code == 302
    case = latest(db)
    assert (case.lat, case.lon, case.area_id) == (41.001, -86.999, places["north"].id)
    assert (case.address_point_id, case.location_status) == (places["118"].id, "found")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Found in the city&#39;s addresses: 118 Main Street." in page


def test_a_chosen_suggestion_keeps_its_point(client, db, places):
    response = post(client, address="120 Main Street, Apt 2", point=str(places["a2"].id))
    assert response.status_code == 302
    assert latest(db).address_point_id == places["a2"].id


def test_several_matches_are_offered_and_the_choice_filed(client, db, places):
    before = count(db, ServiceRequest)
    response = post(client, address="120 Main Street")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "Which address do you mean?" in html
    assert count(db, ServiceRequest) == before  # nothing filed yet
    first = "Apt 1" if html.index("Apt 1") < html.index("Apt 2") else "Apt 2"
    response = post(client, address="120 Main Street", choice="0")
    assert response.status_code == 302
    assert latest(db).address_point_id == places["a1" if first == "Apt 1" else "a2"].id


def test_an_unknown_address_is_confirmed_then_filed_as_text(client, db, places):
    before = count(db, ServiceRequest)
    response = post(client, address="9 Nowhere Lane")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "was not found in the city" in html
    assert count(db, ServiceRequest) == before
    response = post(client, address="9 Nowhere Lane", choice="none")
    assert response.status_code == 302
    case = latest(db)
    assert (case.lat, case.address, case.location_status) == (None, "9 Nowhere Lane", "not_found")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "The address was not found; it is kept as typed." in page
    assert "Address not found: 9 Nowhere Lane" in page  # and the case page offers to place it


def _streetlights(make, db, setup):
    dept, _area, _category, _agent = setup
    layer = make.asset_layer()
    make.asset(layer, "SL-1042", INSIDE[0], INSIDE[1], label="SL-1042, Main Street")
    make.category(
        department=dept, code="streetlight", name="Streetlight out", asset_layer_id=layer.id,
        asset_required=True,
    )  # fmt: skip
    db.flush()


def _post_streetlight(client, **fields):
    page = client.get("/staff/intake/?category=streetlight").get_data(as_text=True)
    assert 'name="asset"' in page  # the category has an asset layer: the field is offered
    data = {
        "csrf_token": csrf_from(page),
        "action": "file",
        "channel": "phone",
        "category": "streetlight",
        "description": "Light flickering all night",
        "locale": "en",
        **fields,
    }
    return client.post("/staff/intake/", data=data)


def test_intake_files_the_asset_the_caller_reads_out(client, make, db, setup):
    _streetlights(make, db, setup)
    response = _post_streetlight(client, asset="sl-1042")
    assert response.status_code == 302, response.get_data(as_text=True)
    case = db.scalars(select(ServiceRequest).order_by(ServiceRequest.id.desc())).first()
    assert (case.asset_ref, case.asset_label) == ("SL-1042", "SL-1042, Main Street")
    assert (case.lat, case.lon) == INSIDE  # the asset says where it is


def test_intake_refuses_an_unknown_asset_beside_the_field_and_files_without_one(
    client, make, db, setup
):
    _streetlights(make, db, setup)
    before = count(db, ServiceRequest)
    response = _post_streetlight(client, asset="SL-9999", address="5 Elm Street")
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "No city asset of this category has that number" in page
    assert 'id="asset-error' in page or 'aria-invalid="true"' in page
    assert count(db, ServiceRequest) == before
    # A caller who does not know the number: filed without one, even where residents must pick.
    response = _post_streetlight(client, address="5 Elm Street", lat=INSIDE[0], lon=INSIDE[1])
    assert response.status_code == 302, response.get_data(as_text=True)
    assert count(db, ServiceRequest) == before + 1


def test_intake_offers_no_asset_field_for_a_category_without_a_layer(client, setup):
    page = client.get("/staff/intake/?category=pothole").get_data(as_text=True)
    assert 'name="asset"' not in page
