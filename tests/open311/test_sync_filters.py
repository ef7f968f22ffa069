"""GET requests.{xml,json}: ``updated_after`` / ``updated_before`` (strictly after, at or
before; update order; no default 90-day window), ``lat`` / ``long`` / ``radius`` (metres,
capped), and any query parameter a resource does not take refused with a 400 naming it."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest

from portal.open311.views.api_params import SUPPORTED, supported
from portal.places.search import distance_m
from tests.areas.factories import INSIDE
from tests.open311.test_read import errors_of, get_json, ids_of

T0 = datetime(2026, 3, 5, 12, 0, tzinfo=UTC)


def _w3c(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


@pytest.fixture
def changes(make, db, freeze_clock):
    """Five public requests filed long ago, updated a minute apart from T0; one private."""
    freeze_clock(T0 + timedelta(minutes=10))
    pothole = make.category(code="pothole", name="Pothole")
    hidden = make.category(code="hidden", name="Hidden", private=True)
    made = []
    for n in range(5):
        sr = make.request(category=pothole, created_at=T0 - timedelta(days=200 + n))
        sr.updated_at = T0 + timedelta(minutes=n)
        made.append(sr)
    secret = make.request(category=hidden, created_at=T0 - timedelta(days=1))
    secret.updated_at = T0 + timedelta(minutes=2)
    db.flush()
    return [sr.reference for sr in made]


def test_updated_after_is_strictly_after_the_given_time(client, changes):
    # Exactly at the second change's time: that change is not "after" it.
    assert ids_of(client, updated_after=_w3c(T0 + timedelta(minutes=1))) == changes[2:]
    # A microsecond earlier it is.
    just_before = T0 + timedelta(minutes=1) - timedelta(microseconds=1)
    assert ids_of(client, updated_after=_w3c(just_before)) == changes[1:]
    # Another zone, the same instant.
    assert ids_of(client, updated_after="2026-03-05T06:03:00-06:00") == changes[4:]
    assert ids_of(client, updated_after=_w3c(T0 + timedelta(minutes=4))) == []


def test_updated_before_is_at_or_before_and_both_make_a_window(client, changes):
    assert ids_of(client, updated_before=_w3c(T0 + timedelta(minutes=1))) == changes[:2]
    window = {
        "updated_after": _w3c(T0),
        "updated_before": _w3c(T0 + timedelta(minutes=3)),
    }
    assert ids_of(client, **window) == changes[1:4]
    # Paging goes forward through the changes, oldest first.
    assert (
        ids_of(client, updated_after=_w3c(T0 - timedelta(days=1)), page_size=2, page=2)
        == (changes[2:4])
    )


def test_bad_update_times_are_refused(client, changes):
    descriptions = errors_of(
        client,
        "requests",
        400,
        updated_after="2026-03-05T12:00:00",
        updated_before="yesterday",
    )
    assert any(d.startswith("updated_after must be a W3C date-time") for d in descriptions)
    assert any(d.startswith("updated_before must be a W3C date-time") for d in descriptions)
    assert errors_of(
        client,
        "requests",
        400,
        updated_after=_w3c(T0 + timedelta(minutes=3)),
        updated_before=_w3c(T0),
    ) == ["updated_before must not be before updated_after."]


def _point(north_m: float, east_m: float) -> tuple[float, float]:
    metres = math.radians(1) * 6_371_000
    return (
        INSIDE[0] + north_m / metres,
        INSIDE[1] + east_m / (metres * math.cos(math.radians(INSIDE[0]))),
    )


@pytest.fixture
def spread(make, db):
    pothole = make.category(code="pothole", name="Pothole")
    places = {
        "centre": (0, 0),
        "north_990": (990, 0),
        "east_1010": (0, 1010),
        "diagonal_700": (495, 495),
        "far_9000": (-9000, 0),
        "far_12000": (0, 12000),
    }
    refs = {}
    for name, (north, east) in places.items():
        lat, lon = _point(north, east)
        refs[name] = make.request(category=pothole, lat=lat, lon=lon).reference
    db.flush()
    return refs


def _near(client, **query) -> set[str]:
    return set(ids_of(client, lat=str(INSIDE[0]), long=str(INSIDE[1]), **query))


def test_requests_within_the_radius(client, spread):
    # The default radius is 1,000 m.
    assert _near(client) == {spread["centre"], spread["north_990"], spread["diagonal_700"]}
    assert _near(client, radius="1020") == _near(client) | {spread["east_1010"]}
    assert _near(client, radius="10000") == set(spread.values()) - {spread["far_12000"]}
    # The same distances as the portal's own measure.
    lat, lon = _point(0, 1010)
    assert distance_m(INSIDE[0], INSIDE[1], lat, lon) == pytest.approx(1010, abs=1)


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"lat": "41"}, "lat and long must be given together (radius is optional)."),
        ({"radius": "500"}, "lat and long must be given together (radius is optional)."),
        (
            {"lat": "41", "long": "-87", "radius": "10001"},
            "radius must be a number from 1 to 10000; got '10001'.",
        ),
        (
            {"lat": "north", "long": "-87"},
            "lat must be a number from -90 to 90; got 'north'.",
        ),
        ({"lat": "41", "long": "-187"}, "long must be a number from -180 to 180; got '-187'."),
    ],
)
def test_bad_places_are_refused(client, spread, query, message):
    assert message in errors_of(client, "requests", 400, **query)


def test_an_unsupported_parameter_is_refused_naming_it(client, changes):
    descriptions = errors_of(client, "requests", 400, agency_responsible="Streets", sort="x")
    assert [d.split(":")[0] for d in descriptions] == [
        "Unknown parameter 'agency_responsible'",
        "Unknown parameter 'sort'",
    ]
    assert "updated_after" in descriptions[0]
    assert errors_of(client, "services", 400, service_code="pothole") == [
        "Unknown parameter 'service_code': this resource takes api_key, jurisdiction_id, lang."
    ]
    assert errors_of(client, f"requests/{changes[0]}", 400, status="open")[0].startswith(
        "Unknown parameter 'status'"
    )
    assert errors_of(client, "servicerequestupdates", 400, updated_after="x") == [
        "Unknown parameter 'updated_after': this resource takes api_key, end_date, "
        "jurisdiction_id, lang, page, page_size, start_date."
    ]
    assert errors_of(client, f"requests/{changes[0]}/updates", 400, page="2")[0].startswith(
        "Unknown parameter 'page'"
    )
    # Every supported parameter is taken (empty is absent), and so is an unknown empty one.
    for endpoint in SUPPORTED:
        assert "jurisdiction_id" in supported(endpoint)
    everything = {name: "" for name in supported("open311_api.request_list")}
    assert get_json(client, "requests", **everything, unknown="") is not None


def test_the_openapi_document_lists_every_supported_parameter(client):
    document = client.get("/open311/v2/openapi.json").get_json()
    operations = {
        "open311_api.request_list": "/open311/v2/requests.json",
        "open311_api.request_detail": "/open311/v2/requests/{service_request_id}.json",
        "open311_api.services": "/open311/v2/services.json",
    }
    for endpoint, path in operations.items():
        names = {
            p["name"] for p in document["paths"][path]["get"]["parameters"] if p["in"] == "query"
        }
        assert names == supported(endpoint), endpoint
