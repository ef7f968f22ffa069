"""Open311 and asset layers: a service whose category asks for an asset declares the attribute
``asset_id`` (as FixMyStreet fills an asset's id into an attribute the service definition
declares); a POST names the asset with ``attribute[asset_id]``; the request reads back with
it in ``extended_attributes``; an unknown id is a 400 with an Open311 error body."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from portal.requests.models import ServiceRequest
from tests.factories import INSIDE
from tests.open311.test_post import FORMATS, _errors, _form
from tests.open311.test_post import city as city  # noqa: F401 - the fixture


@pytest.fixture
def lights(make, db, city):  # noqa: F811
    layer = make.asset_layer()
    city.pothole.asset_layer_id = layer.id
    other = make.asset_layer(code="bins", name="Bins")
    make.asset(other, "BIN-1", INSIDE[0], INSIDE[1])
    db.flush()
    return {
        "layer": layer,
        "SL-7": make.asset(layer, "SL-7", INSIDE[0] + 0.0003, INSIDE[1], label="SL-7, Mill St"),
    }


def test_the_service_definition_declares_the_asset_attribute(client, db, city, lights):  # noqa: F811
    definition = client.get("/open311/v2/services/pothole.json").get_json()
    asset = definition["attributes"][-1]
    assert asset["code"] == "asset_id"
    assert (asset["datatype"], asset["variable"], asset["required"]) == ("string", True, False)
    assert asset["order"] == len(definition["attributes"])
    assert "streetlights" in asset["datatype_description"]
    assert asset["description"] == "Streetlights"
    spanish = client.get(
        "/open311/v2/services/pothole.json", headers={"Accept-Language": "es"}
    ).get_json()
    assert spanish["attributes"][-1]["description"] == "Farolas"
    city.pothole.asset_required = True
    db.flush()
    assert client.get("/open311/v2/services/pothole.json").get_json()["attributes"][-1]["required"]


def test_a_service_without_a_layer_has_no_asset_attribute(client, city):  # noqa: F811
    definition = client.get("/open311/v2/services/pothole.json").get_json()
    assert "asset_id" not in [a["code"] for a in definition["attributes"]]
    response = client.post(
        "/open311/v2/requests.json", data=_form(city, **{"attribute[asset_id]": "SL-7"})
    )
    assert response.status_code == 400
    assert "attribute[asset_id] is not an attribute of service_code 'pothole'." in _errors(
        response, "json"
    )


def test_a_post_names_the_asset_and_reads_back_with_it(client, db, city, lights):  # noqa: F811
    response = client.post(
        "/open311/v2/requests.json", data=_form(city, **{"attribute[asset_id]": " SL-7 "})
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    reference = response.get_json()[0]["service_request_id"]
    filed = db.scalar(select(ServiceRequest).where(ServiceRequest.reference == reference))
    assert (filed.asset_id, filed.asset_ref, filed.asset_label) == (
        lights["SL-7"].id,
        "SL-7",
        "SL-7, Mill St",
    )
    row = client.get(f"/open311/v2/requests/{reference}.json?extensions=true").get_json()[0]
    assert row["extended_attributes"]["asset"] == {"id": "SL-7", "label": "SL-7, Mill St"}
    plain = client.get(f"/open311/v2/requests/{reference}.json").get_json()[0]
    assert "extended_attributes" not in plain


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("ref", ["SL-404", "BIN-1", "x" * 65])
def test_an_unknown_asset_id_is_a_400_and_files_nothing(client, db, city, lights, fmt, ref):  # noqa: F811
    response = client.post(
        f"/open311/v2/requests.{fmt}", data=_form(city, **{"attribute[asset_id]": ref})
    )
    assert response.status_code == 400
    errors = _errors(response, fmt)
    expected = (
        "attribute[asset_id] must be 64 characters or fewer."
        if len(ref) > 64
        else "attribute[asset_id] is not the id of one of the city's Streetlights (asset layer "
        "'streetlights'): GET services/pothole describes it."
    )
    assert errors == [expected]
    assert db.scalar(select(func.count()).select_from(ServiceRequest)) == 0


def test_a_required_asset_must_be_sent(client, db, city, lights):  # noqa: F811
    city.pothole.asset_required = True
    db.flush()
    response = client.post("/open311/v2/requests.json", data=_form(city))
    assert response.status_code == 400
    assert _errors(response, "json") == [
        "attribute[asset_id] is required for this service: the id of one of the city's "
        "Streetlights (asset layer 'streetlights')."
    ]
    response = client.post(
        "/open311/v2/requests.json",
        data=_form(city, **{"attribute[asset_id]": ["SL-7", "SL-8"]}),
    )
    assert _errors(response, "json") == ["attribute[asset_id] takes one value; 2 were sent."]
