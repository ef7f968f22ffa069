"""Address suggestions, geocoding and reverse geocoding over the city's places (both engines)."""

from __future__ import annotations

import pytest

from portal.places.geocode import AMBIGUOUS, FOUND, NOT_FOUND, geocode, reverse
from portal.places.search import similarity, suggest


@pytest.fixture
def city(make):
    area = make.area()
    points = {
        "118 main": make.address_point(
            "118", "Main Street", lat=41.0, lon=-86.998, area_id=area.id
        ),
        "apt 4": make.address_point("118", "Main Street", "Apt 4", lat=41.0, lon=-86.998),
        "120 a1": make.address_point("120", "Main Street", "Apt 1", lat=41.0, lon=-86.9978),
        "120 a2": make.address_point("120", "Main Street", "Apt 2", lat=41.0, lon=-86.9978),
        "118 main ave": make.address_point("118", "Main Avenue", lat=41.005, lon=-86.995),
        "7 3rd": make.address_point("7", "3rd Avenue", lat=41.002, lon=-87.0),
        "12 oak": make.address_point("12", "North Oak Boulevard", lat=40.995, lon=-86.995),
        "gone": make.address_point("5", "Closed Lane", active=False),
        "9 mill": make.address_point("9", "Mill Street", lat=41.003, lon=-86.996),
        "4 north": make.address_point("4", "North Avenue", lat=41.004, lon=-86.996),
    }
    make.street("Main Street", [[-87.01, 41.0], [-86.99, 41.0]])
    make.street("3rd Avenue", [[-87.0, 40.99], [-87.0, 41.01]])
    make.street("Main Avenue", [[-87.01, 41.005], [-86.99, 41.005]])
    return points


def labels(query, **kw):
    return [s.label for s in suggest_in(query, **kw)]


@pytest.fixture
def suggest_in(db, city):
    return lambda query, **kw: suggest(db, query, **kw)


@pytest.mark.parametrize(
    ("query", "expected_first"),
    [
        ("118 Main St", "118 Main Street"),
        ("118 main street", "118 Main Street"),
        ("118 MAIN ST.", "118 Main Street"),
        ("118 mai", "118 Main Street"),  # prefix while typing
        ("118 main stre", "118 Main Street"),  # an unfinished "street"
        ("118 Mian Street", "118 Main Street"),  # a typo
        ("118 Main Stret", "118 Main Street"),  # a typo in the suffix
        ("118 Main Street, Apt 4", "118 Main Street, Apt 4"),  # a unit
        ("118 main st #4", "118 Main Street, Apt 4"),
        ("118 main st unit 4", "118 Main Street, Apt 4"),
        ("12 Oak Blvd", "12 North Oak Boulevard"),  # the directional left out
        ("12 n oak boulevard", "12 North Oak Boulevard"),
        ("7 third avenue", "7 3rd Avenue"),
        ("3rd av", "3rd Avenue"),  # a street
        ("Mai", "Main Street"),
        ("9 Mi", "9 Mill Street"),  # "Mill" is a suffix word, but here it is the name
        ("9 mill st", "9 Mill Street"),
        ("4 Nor", "4 North Avenue"),
        ("Mian Street", "Main Street"),
    ],
)
def test_suggestions(suggest_in, query, expected_first):
    found = suggest_in(query)
    assert found, query
    assert found[0].label == expected_first


def test_an_address_suggestion_has_the_points_coordinates_and_id(suggest_in, city):
    first = suggest_in("118 Main Street")[0]
    point = city["118 main"]
    assert (first.kind, first.id, first.lat, first.lon) == ("address", point.id, 41.0, -86.998)
    assert first.as_json() == {
        "kind": "address",
        "label": "118 Main Street",
        "lat": 41.0,
        "lon": -86.998,
        "id": point.id,
    }


def test_main_street_is_not_main_avenue(suggest_in):
    assert "118 Main Avenue" not in [s.label for s in suggest_in("118 Main St")[:1]]
    assert suggest_in("118 main ave")[0].label == "118 Main Avenue"


@pytest.mark.parametrize(
    "query", ["Main St & 3rd Ave", "Main Street and Third Avenue", "Main St @ 3rd Av"]
)
def test_intersections(suggest_in, query):
    found = suggest_in(query)
    assert [(s.kind, s.label) for s in found] == [("intersection", "Main Street & 3rd Avenue")]
    assert found[0].lat == pytest.approx(41.0)
    assert found[0].lon == pytest.approx(-87.0)


@pytest.mark.parametrize("query", ["main at 3rd", "Main / 3rd Av"])
def test_an_ambiguous_intersection_offers_each_street(suggest_in, query):
    found = suggest_in(query)
    assert [s.label for s in found] == ["Main Street & 3rd Avenue", "Main Avenue & 3rd Avenue"]
    assert (found[1].lat, found[1].lon) == (pytest.approx(41.005), pytest.approx(-87.0))


def test_streets_that_do_not_meet_have_no_intersection(suggest_in):
    assert suggest_in("Main St & Main Ave") == []


@pytest.mark.parametrize("query", ["", "   ", "zzzz qqqq", "999 Nowhere Road", "5 Closed Lane"])
def test_unknown(suggest_in, query):
    assert suggest_in(query) == []


def test_a_huge_query_is_cut(suggest_in):
    assert isinstance(suggest_in("118 main " + "x" * 50_000), list)


def test_the_limit_is_kept(suggest_in):
    assert len(suggest_in("1", limit=2)) <= 2


def test_geocode_an_exact_address(db, city):
    answer = geocode(db, "118 Main St.")
    assert answer.status == FOUND
    assert answer.match.id == city["118 main"].id  # the building, not its flats
    assert answer.match.area_id == city["118 main"].area_id


def test_geocode_a_unit(db, city):
    assert geocode(db, "118 main street apt 4").match.id == city["apt 4"].id


def test_geocode_ambiguous_units(db, city):
    answer = geocode(db, "120 Main Street")
    assert answer.status == AMBIGUOUS
    assert {c.id for c in answer.candidates} == {city["120 a1"].id, city["120 a2"].id}


def test_geocode_a_typo_offers_a_choice_not_an_answer(db, city):
    answer = geocode(db, "118 Mian Street")
    assert answer.status == AMBIGUOUS
    assert answer.candidates[0].id == city["118 main"].id


def test_geocode_unknown(db, city):
    assert geocode(db, "999 Nowhere Road").status == NOT_FOUND
    assert geocode(db, "").status == NOT_FOUND


def test_geocode_an_intersection(db, city):
    answer = geocode(db, "Main St & 3rd Ave")
    assert answer.status == FOUND
    assert (answer.match.lat, answer.match.lon) == (pytest.approx(41.0), pytest.approx(-87.0))


def test_reverse_finds_the_nearest_address(db, city):
    nearest = reverse(db, 41.0003, -86.9981)  # about 35 m north of 118 Main Street
    assert nearest is not None
    assert nearest.point.id == city["118 main"].id
    assert 20 < nearest.distance_m < 50


def test_reverse_far_from_any_address(db, city):
    assert reverse(db, 41.05, -86.9) is None


def test_similarity_is_pg_trgm_s():
    assert similarity("main st", "main st") == 1
    assert similarity("mian st", "main st") > 0.3
    assert similarity("oak blvd", "main st") < 0.3
