"""Asset layers a category asks for (issue 18, FixMyStreet's asset layers): the resident picks
"streetlight SL-2" from the nearest ones (the list is the path without the map; with the map a
tap on the asset does it), and the asset's id reaches the request, its pages and Open311."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from portal.requests.models import ServiceRequest
from tests.conftest import sign_in
from tests.requests.test_filing import Journey
from tests.requests.test_filing import city as city  # noqa: F401 - the fixture

# About 30 m, 60 m and 500 m north of the journey's point (41.0, -87.0).
NEAR_1 = (41.00027, -87.0)
NEAR_2 = (41.00054, -87.0)
FAR = (41.0045, -87.0)


@pytest.fixture
def lights(make, city):  # noqa: F811
    _area, category = city
    layer = make.asset_layer()
    category.asset_layer_id = layer.id
    other = make.asset_layer(code="bins", name="Bins")
    return {
        "layer": layer,
        "category": category,
        "SL-1": make.asset(layer, "SL-1", *NEAR_1, label="SL-1, Mill Street", category="LED"),
        "SL-2": make.asset(layer, "SL-2", *NEAR_2, label="SL-2, Mill Street"),
        "SL-3": make.asset(layer, "SL-3", *FAR, label="SL-3, Far Street"),
        "gone": make.asset(layer, "SL-9", *NEAR_1, label="SL-9, Mill Street", active=False),
        "bin": make.asset(other, "BIN-1", *NEAR_1, label="BIN-1, Mill Street"),
    }


def _file(journey):
    journey.get("/report/photos")
    journey.post("/report/photos", {"action": "continue"})
    journey.get("/report/contact")
    journey.post("/report/contact", {})
    page = journey.get("/report/check").get_data(as_text=True)
    response = journey.post("/report/check")
    assert response.headers["Location"].endswith("/report/done"), response.headers
    return page


def test_the_nearest_assets_are_offered_as_a_list_and_the_one_picked_is_filed(
    client, db, make, lights
):
    journey = Journey(client)
    response = journey.through_location()
    assert response.headers["Location"].endswith("/report/asset")
    page = journey.get("/report/asset").get_data(as_text=True)
    assert "Which of the city's Streetlights is it?" in page
    # Nearest first; the far one, a deactivated one and another layer's are not offered.
    assert page.index("SL-1, Mill Street") < page.index("SL-2, Mill Street")
    assert "(LED)" in page and "30 m away" in page
    for absent in ("SL-3", "SL-9", "BIN-1"):
        assert absent not in page
    assert "None of these, or I don't know" in page
    response = journey.post("/report/asset", {"asset": "SL-2"})
    assert response.headers["Location"].endswith("/report/photos")
    check = _file(journey)
    assert "SL-2, Mill Street" in check
    filed = db.scalar(select(ServiceRequest))
    assert (filed.asset_id, filed.asset_ref, filed.asset_label) == (
        lights["SL-2"].id,
        "SL-2",
        "SL-2, Mill Street",
    )
    tracking = client.get(f"/requests/{filed.reference}").get_data(as_text=True)
    assert 'id="request-asset"' in tracking and "SL-2, Mill Street" in tracking
    agent = make.staff(filed.department)
    sign_in(client, agent)
    case = client.get(f"/staff/cases/{filed.reference}").get_data(as_text=True)
    assert "Streetlights: SL-2, Mill Street" in case


def test_i_dont_know_files_without_an_asset(client, db, lights):
    journey = Journey(client)
    journey.through_location()
    journey.get("/report/asset")
    assert journey.post("/report/asset", {"asset": "none"}).status_code == 302
    _file(journey)
    filed = db.scalar(select(ServiceRequest))
    assert (filed.asset_id, filed.asset_ref) == (None, "")


def test_a_typed_number_is_used_and_an_unknown_one_is_refused(client, db, lights):
    journey = Journey(client)
    journey.through_location()
    journey.get("/report/asset")
    response = journey.post("/report/asset", {"asset": "none", "number": "SL-404"})
    assert response.status_code == 400
    assert "SL-404 is not one of the city&#39;s Streetlights" in response.get_data(as_text=True)
    # Another layer's id and a deactivated asset are not this layer's either.
    for other in ("BIN-1", "SL-9"):
        assert journey.post("/report/asset", {"number": other}).status_code == 400
    response = journey.post("/report/asset", {"asset": "none", "number": " SL-3 "})
    assert response.status_code == 302
    _file(journey)
    assert db.scalar(select(ServiceRequest)).asset_ref == "SL-3"


def test_a_required_asset_must_be_chosen(client, db, lights):
    lights["category"].asset_required = True
    db.flush()
    journey = Journey(client)
    journey.through_location()
    page = journey.get("/report/asset").get_data(as_text=True)
    assert "None of these" not in page
    response = journey.post("/report/asset", {"asset": "none"})
    assert response.status_code == 400
    assert "Choose one from the list" in response.get_data(as_text=True)
    # Skipping the step does not get round it: the check step sends the resident back.
    journey.get("/report/photos")
    journey.post("/report/photos", {"action": "continue"})
    journey.get("/report/contact")
    journey.post("/report/contact", {})
    journey.get("/report/check")
    response = journey.post("/report/check")
    assert response.headers["Location"].endswith("/report/asset")
    assert db.scalar(select(ServiceRequest)) is None


def test_an_asset_tapped_on_the_map_skips_the_list(client, db, lights):
    journey = Journey(client)
    journey.through_location()
    page = journey.get("/report/location").get_data(as_text=True)
    assert 'name="asset" id="asset"' in page
    config = page.split('data-portal-map="', 1)[1].split('"', 1)[0].replace("&#34;", '"')
    layers = json.loads(config.replace("&amp;", "&"))["layers"]
    assets = [spec for spec in layers if spec["kind"] == "assets"]
    assert assets and assets[0]["url"].endswith("layer=streetlights")
    assert assets[0]["pick"] == "asset"
    response = journey.post(
        "/report/location",
        {"address": "", "lat": str(NEAR_1[0]), "lon": str(NEAR_1[1]), "asset": "SL-1"},
    )
    assert response.headers["Location"].endswith("/report/photos")
    _file(journey)
    assert db.scalar(select(ServiceRequest)).asset_ref == "SL-1"


def test_a_category_without_a_layer_has_no_asset_step(client, db, city):  # noqa: F811
    journey = Journey(client)
    response = journey.through_location()
    assert response.headers["Location"].endswith("/report/photos")
    page = journey.get("/report/location").get_data(as_text=True)
    assert 'name="asset"' not in page
    assert journey.get("/report/asset").headers["Location"].endswith("/report/photos")


def test_the_asset_step_in_spanish(client, lights):
    journey = Journey(client)
    journey.through_location()
    client.set_cookie("locale", "es")
    page = journey.get("/report/asset?lang=es").get_data(as_text=True)
    assert "Farolas" in page
