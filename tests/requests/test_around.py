"""Reports around here: the public reports near a place, as a list and as GeoJSON for the map."""

from __future__ import annotations

from datetime import timedelta

import pytest

from portal.core import clock
from portal.places.models import AddressPoint
from portal.requests import map_features
from portal.requests.views import around
from tests.factories import INSIDE

BOX = "-87.02,40.98,-86.98,41.02"


def refs(response) -> list[str]:
    return [f["properties"]["reference"] for f in response.get_json()["features"]]


@pytest.fixture
def reports(make):
    """An open public report, a private one, a duplicate, a recently fixed one, an old fixed
    one and a far one (outside the "around" square but inside the city's box)."""
    make.area(name="Old Town", code="old-town")
    category = make.category(name="Pothole")
    private = make.category(name="Graffiti on my house", private=True)
    now = clock.now()
    made = {
        "open": make.request(category=category),
        "private": make.request(category=private),
        "mine_private": make.request(category=category, private_by_reporter=True),
        "fixed": make.request(
            category=category, status="resolved", resolved_at=now - timedelta(days=3)
        ),
        "old_fixed": make.request(
            category=category, status="closed", resolved_at=now - timedelta(days=300)
        ),
        "far": make.request(category=category, lat=41.0, lon=-86.9801),
    }
    made["duplicate"] = make.request(
        category=category, status="duplicate", duplicate_of_id=made["open"].id
    )
    make.session.flush()
    return {name: sr.reference for name, sr in made.items()}


def test_only_public_reports_are_on_the_map(client, reports):
    got = refs(client.get("/around/reports.geojson", query_string={"bbox": BOX, "status": "all"}))
    assert reports["open"] in got
    assert reports["private"] not in got
    assert reports["mine_private"] not in got
    assert reports["duplicate"] not in got


def test_status_filters(client, reports):
    def on_map(status):
        return set(
            refs(
                client.get("/around/reports.geojson", query_string={"bbox": BOX, "status": status})
            )
        )

    assert on_map("open") == {reports["open"], reports["far"]}
    assert on_map("fixed") == {reports["fixed"]}
    assert on_map("all") == {
        reports["open"], reports["far"], reports["fixed"], reports["old_fixed"]
    }  # fmt: skip
    assert on_map("nonsense") == on_map("open")


def test_each_report_links_to_its_page_with_its_status_in_the_language(client, reports):
    data = client.get(
        "/around/reports.geojson", query_string={"bbox": BOX, "status": "fixed", "lang": "es"}
    ).get_json()
    (feature,) = data["features"]
    assert feature["properties"]["url"] == f"/requests/{reports['fixed']}"
    assert feature["properties"]["status_label"] == "Resuelta"
    assert feature["properties"]["title"] == "Pothole"
    assert "private" not in str(feature).lower()
    assert "contact" not in str(feature).lower()


def test_many_reports_are_clustered(client, make, monkeypatch):
    monkeypatch.setattr(map_features, "MAX_POINTS", 3)
    make.area()
    category = make.category()
    for n in range(6):
        make.request(category=category, lat=41.0 + n * 0.0001, lon=-87.0)
    make.request(category=category, lat=40.995, lon=-86.995)
    data = client.get("/around/reports.geojson", query_string={"bbox": BOX}).get_json()
    assert data["clustered"] is True
    counts = sorted(f["properties"]["count"] for f in data["features"])
    assert sum(counts) == 7
    assert counts == [1, 6]
    assert all("reference" not in f["properties"] for f in data["features"])


def test_a_malformed_box_is_a_400(client):
    response = client.get("/around/reports.geojson", query_string={"bbox": "1,2"})
    assert response.status_code == 400
    assert "bbox" in response.get_json()["error"]


def test_the_list_around_a_point(client, reports):
    page = client.get("/around/", query_string={"lat": INSIDE[0], "lon": INSIDE[1]}).get_data(
        as_text=True
    )
    assert reports["open"] in page
    assert reports["far"] not in page  # ~1.7 km away: outside the square
    assert reports["private"] not in page
    assert reports["fixed"] not in page  # open only by default
    assert "0 m away" in page
    fixed = client.get(
        "/around/", query_string={"lat": INSIDE[0], "lon": INSIDE[1], "status": "fixed"}
    ).get_data(as_text=True)
    assert reports["fixed"] in fixed and reports["open"] not in fixed


def test_the_list_around_a_typed_address(client, make, reports):
    make.session.add(
        AddressPoint(
            number="118", street="Main Street", unit="", postcode="", lat=INSIDE[0],
            lon=INSIDE[1], street_key="main st", search_key="118 main st",
            label="118 Main Street", active=True,
        )
    )  # fmt: skip
    make.session.flush()
    response = client.get("/around/", query_string={"q": "118 main st."})
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Reports around 118 Main Street" in page
    assert reports["open"] in page


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"q": "999 Nowhere Road"}, "We could not find that address"),
        ({"lat": "41.0", "lon": "east"}, "the map point could not be read"),
        ({"lat": "nan", "lon": "-87"}, "the map point could not be read"),
        ({"lat": "95", "lon": "-87"}, "the map point could not be read"),
        ({"lat": "42.5", "lon": "-80.0"}, "That point is outside"),
    ],
)
def test_bad_places_get_a_message_and_the_citywide_list(client, reports, query, message):
    response = client.get("/around/", query_string=query)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert message in page
    assert reports["open"] in page  # the city's reports are still listed


def test_the_list_is_paginated(client, make, monkeypatch):
    monkeypatch.setattr(around, "PER_PAGE", 2)
    make.area()
    category = make.category()
    filed = [make.request(category=category).reference for _ in range(5)]
    seen: list[str] = []
    url = f"/around/?lat={INSIDE[0]}&lon={INSIDE[1]}"
    for _ in range(3):
        page = client.get(url).get_data(as_text=True)
        seen += [r for r in filed if r in page]
        if 'rel="next"' not in page:
            break
        url = page.split('rel="next"')[0].rsplit('href="', 1)[1].split('"')[0].replace("&amp;", "&")
    assert sorted(seen) == sorted(filed)


def test_home_and_tracking_pages_link_here(client, reports):
    assert "/around/" in client.get("/").get_data(as_text=True)
    page = client.get(f"/requests/{reports['open']}").get_data(as_text=True)
    assert "/around/?lat=41.000000&amp;lon=-87.000000" in page
    assert 'id="request-map"' in page


def test_a_chosen_suggestion_centres_on_its_point_under_its_label(client, reports):
    page = client.get(
        "/around/", query_string={"q": "1 Mill Street", "lat": INSIDE[0], "lon": INSIDE[1]}
    ).get_data(as_text=True)
    assert "Reports around 1 Mill Street" in page
    assert reports["open"] in page


def test_without_javascript_a_typed_address_is_searched_forgivingly(client, make, reports):
    """The no-JS path uses the geocoder: 'St' for 'Street' and a missing full stop are the
    same address; a street named alone centres on its middle; a typo offers a choice."""
    make.address_point("118", "Main Street", lat=INSIDE[0], lon=INSIDE[1])
    make.address_point("4", "Mill Street", lat=INSIDE[0] + 0.001, lon=INSIDE[1])
    make.street("Main Street")
    make.session.flush()

    page = client.get("/around/", query_string={"q": "118 Main St"}).get_data(as_text=True)
    assert "Reports around 118 Main Street" in page and reports["open"] in page

    page = client.get("/around/", query_string={"q": "Main Street"}).get_data(as_text=True)
    assert "Reports around Main Street" in page

    response = client.get("/around/", query_string={"q": "118 Mian Street", "status": "all"})
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Which address did you mean?" in page
    link = page.split("Which address did you mean?")[1].split('href="')[1].split('"')[0]
    assert "118+Main+Street" in link and "status=all" in link
    chosen = client.get(link.replace("&amp;", "&")).get_data(as_text=True)
    assert "Reports around 118 Main Street" in chosen
