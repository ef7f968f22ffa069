"""The city's own map layers as GeoJSON: areas, streets and assets by bounding box, capped."""

from __future__ import annotations

import pytest
from shapely import make_valid
from shapely.geometry import Point, shape

from portal.places import features
from portal.places.models import Asset, AssetLayer, Street

BOX = "-87.02,40.98,-86.98,41.02"


def street(make, name: str, lon0: float, lat0: float, lon1: float, lat1: float) -> Street:
    row = Street(
        name=name,
        key=name.lower(),
        geometry={"type": "LineString", "coordinates": [[lon0, lat0], [lon1, lat1]]},
        min_lat=min(lat0, lat1),
        max_lat=max(lat0, lat1),
        min_lon=min(lon0, lon1),
        max_lon=max(lon0, lon1),
        active=True,
    )
    make.session.add(row)
    make.session.flush()
    return row


def test_areas_in_the_box_with_their_names(client, make):
    make.area(name="Old Town", code="old-town")
    response = client.get("/places/map/areas.geojson", query_string={"bbox": BOX})
    assert response.status_code == 200
    assert response.mimetype == "application/geo+json"
    data = response.get_json()
    assert data["type"] == "FeatureCollection"
    assert data["truncated"] is False
    assert [f["properties"]["name"] for f in data["features"]] == ["Old Town"]
    assert data["features"][0]["geometry"]["type"] == "Polygon"


# A U open to the north around (41.0, -87.0): its bounding-box centre is in the notch.
U_SHAPE = [
    [-87.02, 40.98], [-86.98, 40.98], [-86.98, 41.02], [-86.993, 41.02], [-86.993, 40.995],
    [-87.007, 40.995], [-87.007, 41.02], [-87.02, 41.02], [-87.02, 40.98],
]  # fmt: skip


def _named_at(client, bbox: str) -> dict:
    data = client.get("/places/map/areas.geojson", query_string={"bbox": bbox}).get_json()
    [area] = data["features"]
    return area["properties"]


def test_each_area_says_where_its_name_goes_inside_it(client, make):
    make.area(name="Riverbend", code="riverbend", ring=U_SHAPE)
    named = _named_at(client, "-87.03,40.97,-86.97,41.03")
    u = shape({"type": "Polygon", "coordinates": [U_SHAPE]})
    lon, lat = named["label_point"]
    assert u.covers(Point(lon, lat))
    assert not u.covers(u.envelope.centroid)  # where a bounding-box label would have gone
    # In the U's base (1.5 km deep), a circle of about 750 m around the name stays inside.
    assert 650 < named["label_room_m"] < 850
    assert abs(lon - -87.0) < 0.001  # the middle of the base, not one end


def test_the_name_goes_in_the_part_of_the_area_in_view(client, make):
    make.area(name="Riverbend", code="riverbend", ring=U_SHAPE)
    view = (-86.99, 41.0, -86.97, 41.03)  # the east arm's top end and beyond
    named = _named_at(client, ",".join(str(v) for v in view))
    lon, lat = named["label_point"]
    assert view[0] < lon < view[2] and view[1] < lat < view[3]
    assert shape({"type": "Polygon", "coordinates": [U_SHAPE]}).covers(Point(lon, lat))


def test_an_area_whose_extent_meets_the_view_but_not_its_outline_has_no_name_point(client, make):
    make.area(name="Riverbend", code="riverbend", ring=U_SHAPE)
    named = _named_at(client, "-87.004,41.0,-86.996,41.015")  # inside the notch
    assert named["label_point"] is None and named["label_room_m"] == 0


def test_a_self_crossing_outline_still_gets_a_name_point(client, make):
    bow_tie = [[-87.01, 40.99], [-86.99, 41.01], [-86.99, 40.99], [-87.01, 41.01], [-87.01, 40.99]]
    make.area(name="Crossed", code="crossed", ring=bow_tie)
    lon, lat = _named_at(client, BOX)["label_point"]
    # Inside one of the two triangles the outline draws.
    assert make_valid(shape({"type": "Polygon", "coordinates": [bow_tie]})).covers(Point(lon, lat))


def test_streets_only_those_the_box_meets(client, make):
    street(make, "Mill Street", -87.005, 41.0, -86.995, 41.0)
    street(make, "Far Road", -80.0, 42.0, -79.99, 42.0)
    data = client.get("/places/map/streets.geojson", query_string={"bbox": BOX}).get_json()
    assert [f["properties"]["name"] for f in data["features"]] == ["Mill Street"]
    assert data["features"][0]["geometry"]["coordinates"] == [[-87.005, 41.0], [-86.995, 41.0]]


def test_assets_of_one_layer(client, make):
    lights = AssetLayer(code="streetlights", name="Streetlights", active=True)
    bins = AssetLayer(code="bins", name="Bins", active=True)
    make.session.add_all([lights, bins])
    make.session.flush()
    make.session.add_all(
        [
            Asset(layer_id=lights.id, source_id="SL-1042", label="Streetlight SL-1042",
                  lat=41.0, lon=-87.0, properties={}, active=True),
            Asset(layer_id=bins.id, source_id="B-7", label="Bin B-7",
                  lat=41.001, lon=-87.0, properties={}, active=True),
            Asset(layer_id=lights.id, source_id="SL-1", label="Gone",
                  lat=41.0, lon=-87.0, properties={}, active=False),
        ]
    )  # fmt: skip
    make.session.flush()
    data = client.get(
        "/places/map/assets.geojson", query_string={"bbox": BOX, "layer": "streetlights"}
    ).get_json()
    assert [f["properties"]["id"] for f in data["features"]] == ["SL-1042"]
    everything = client.get("/places/map/assets.geojson", query_string={"bbox": BOX}).get_json()
    assert sorted(f["properties"]["id"] for f in everything["features"]) == ["B-7", "SL-1042"]


@pytest.mark.parametrize(
    "bbox",
    [
        None,
        "",
        "1,2,3",
        "a,b,c,d",
        "-87,41,-88,42",  # min > max
        "-200,40,-86,41",
        "nan,40,-86,41",
        "inf,40,-86,41",
        "1," * 200 + "1",
        "-87.0,41.0,-86.0,\x01",
    ],
)
def test_a_malformed_box_is_a_400_with_a_json_reason(client, bbox):
    for layer in ("areas", "streets", "assets"):
        query = {} if bbox is None else {"bbox": bbox}
        response = client.get(f"/places/map/{layer}.geojson", query_string=query)
        assert response.status_code == 400, (layer, bbox)
        assert "bbox" in response.get_json()["error"]


def test_a_huge_box_is_capped_and_says_so(client, make, monkeypatch):
    monkeypatch.setattr(features, "MAX_STREETS", 3)
    for n in range(5):
        street(make, f"Street {n}", -87.0 + n * 0.001, 41.0, -86.99 + n * 0.001, 41.0)
    data = client.get(
        "/places/map/streets.geojson", query_string={"bbox": "-180,-90,180,90"}
    ).get_json()
    assert len(data["features"]) == 3
    assert data["truncated"] is True


def test_a_wide_view_simplifies_lines():
    wiggly = {
        "type": "LineString",
        "coordinates": [[-87 + i * 0.0001, 41 + (i % 2) * 0.00001] for i in range(200)],
    }
    close = features.BBox(-87.005, 40.995, -86.995, 41.005)
    wide = features.BBox(-88, 40, -86, 42)
    assert features._geometry(wiggly, close.tolerance()) == wiggly
    assert len(features._geometry(wiggly, wide.tolerance())["coordinates"]) < 10


def test_answers_are_cacheable_and_revalidated(client, make):
    make.area(name="Old Town", code="old-town")
    first = client.get("/places/map/areas.geojson", query_string={"bbox": BOX})
    assert first.headers["ETag"]
    assert "max-age" in first.headers["Cache-Control"]
    again = client.get(
        "/places/map/areas.geojson",
        query_string={"bbox": BOX},
        headers={"If-None-Match": first.headers["ETag"]},
    )
    assert again.status_code == 304
