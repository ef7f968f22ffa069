"""GET /places/suggest and /places/reverse: public JSON, capped, rate limited."""

from __future__ import annotations

from dataclasses import replace

import pytest

from tests.conftest import own_app_client


@pytest.fixture
def main_street(make):
    return make.address_point("118", "Main Street", lat=41.0, lon=-86.998)


def test_suggest_answers_json(client, main_street):
    response = client.get("/places/suggest", query_string={"q": "118 main st"})
    assert response.status_code == 200
    assert response.json == [
        {
            "kind": "address",
            "label": "118 Main Street",
            "lat": 41.0,
            "lon": -86.998,
            "id": main_street.id,
        }
    ]


def test_suggest_with_nothing_typed_is_an_empty_list(client, main_street):
    assert client.get("/places/suggest").json == []
    assert client.get("/places/suggest?q=%21%C3%A9%21").json == []


def test_a_huge_query_is_a_400_with_a_json_error(client, main_street):
    response = client.get("/places/suggest", query_string={"q": "1" * 5000})
    assert response.status_code == 400
    assert "longer than 200" in response.json["error"]


def test_reverse(client, main_street):
    response = client.get("/places/reverse?lat=41.0003&lon=-86.9981")
    assert response.status_code == 200
    assert response.json["found"] is True
    assert response.json["label"] == "118 Main Street"
    assert response.json["id"] == main_street.id
    assert client.get("/places/reverse?lat=41.2&lon=-86.9").json == {"found": False}


@pytest.mark.parametrize(
    "query", ["", "lat=41", "lat=x&lon=y", "lat=91&lon=0", "lat=nan&lon=0", "lat=1e999&lon=0"]
)
def test_reverse_bad_coordinates_are_a_400(client, query):
    response = client.get(f"/places/reverse?{query}")
    assert response.status_code == 400
    assert "lat and lon" in response.json["error"]


def test_suggestions_are_rate_limited_per_client(settings):
    with own_app_client(replace(settings, ratelimit_enabled=True)) as client:
        statuses = [client.get("/places/suggest?q=main").status_code for _ in range(121)]
        assert statuses[:120] == [200] * 120
        assert statuses[120] == 429
