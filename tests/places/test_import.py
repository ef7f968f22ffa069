"""`flask city import` loads the city's address points, streets and asset layers."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from sqlalchemy import func, select

from portal.areas.models import Area
from portal.catalogue.models import Department
from portal.demo.loader import CITY_DIR
from portal.places.models import AddressPoint, Asset, AssetLayer, Street

HEADER = "LON,LAT,NUMBER,STREET,UNIT,CITY,DISTRICT,REGION,POSTCODE,ID,HASH\n"
#: Points inside the demo's areas: Westfield (41.02, -87.04) and Old Town (40.97, -87.0).
GOOD = (
    HEADER
    + "-87.04,41.02,118,Main Street,,Riverton,,IL,46905,A1,h1\n"
    + "-87.041,41.021,120,Main Street,Apt 4,Riverton,,IL,46905,A2,h2\n"
    + "-87.0,40.97,5,3rd Avenue,,Riverton,,IL,46905,,h3\n"
)
STREETS = {
    "type": "FeatureCollection",
    "features": [
        {
            "type": "Feature",
            "properties": {"id": "S1", "name": "Main Street"},
            "geometry": {"type": "LineString", "coordinates": [[-87.05, 41.02], [-87.03, 41.02]]},
        },
        {
            "type": "Feature",
            "properties": {"name": "3rd Avenue"},
            "geometry": {
                "type": "MultiLineString",
                "coordinates": [[[-87.0, 40.96], [-87.0, 40.98]], [[-87.0, 40.99], [-87.0, 41.0]]],
            },
        },
    ],
}


def folder_with(
    tmp_path: Path, addresses: str | None = GOOD, files: dict[str, str] | None = None
) -> Path:
    """The demo city's folder with these address lines (None: no addresses.csv) and files."""
    folder = tmp_path / "city"
    if not folder.exists():
        shutil.copytree(CITY_DIR, folder)
    for name in ("addresses.csv", "addresses.geojson", "streets.geojson"):
        (folder / name).unlink(missing_ok=True)
    if addresses is not None:
        (folder / "addresses.csv").write_text(addresses, encoding="utf-8")
    for name, text in (files or {}).items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return folder


def points(db) -> dict[str | None, tuple]:
    db.expire_all()
    return {
        p.label: (p.source_id, p.street_key, p.search_key, p.lat, p.lon, p.area_id, p.active)
        for p in db.scalars(select(AddressPoint))
    }


def area_id(db, code: str) -> int:
    return db.scalar(select(Area.id).where(Area.code == code))


def test_addresses_load_with_keys_and_areas_and_a_second_import_changes_nothing(
    runner, db, tmp_path
):
    folder = folder_with(tmp_path, files={"streets.geojson": json.dumps(STREETS)})

    dry = runner.invoke(args=["city", "import", str(folder), "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "addresses: 3 added, 0 changed, 0 unchanged" in dry.output
    assert db.scalar(select(func.count()).select_from(AddressPoint)) == 0  # dry run

    first = runner.invoke(args=["city", "import", str(folder)])
    assert first.exit_code == 0, first.output
    assert "addresses: 3 added, 0 changed, 0 unchanged" in first.output
    assert "streets: 2 added, 0 changed, 0 unchanged" in first.output
    assert points(db) == {
        "118 Main Street": (
            "A1",
            "main st",
            "118 main st",
            41.02,
            -87.04,
            area_id(db, "westfield"),
            True,
        ),
        "120 Main Street, Apt 4": (
            "A2",
            "main st",
            "120 main st 4",
            41.021,
            -87.041,
            area_id(db, "westfield"),
            True,
        ),
        "5 3rd Avenue": (None, "3rd ave", "5 3rd ave", 40.97, -87.0, area_id(db, "old-town"), True),
    }
    street = db.scalar(select(Street).where(Street.source_id.is_(None)))
    assert (street.key, street.min_lat, street.max_lat) == ("3rd ave", 40.96, 41.0)
    before = points(db)

    second = runner.invoke(args=["city", "import", str(folder)])
    assert second.exit_code == 0, second.output
    assert "was already imported: nothing changed" in second.output
    assert "addresses: 0 added, 0 changed, 3 unchanged" in second.output
    assert "streets: 0 added, 0 changed, 2 unchanged" in second.output
    assert points(db) == before


def test_a_point_that_left_the_file_is_deactivated_and_one_that_changed_is_updated(
    runner, db, tmp_path
):
    assert runner.invoke(args=["city", "import", str(folder_with(tmp_path))]).exit_code == 0
    changed = GOOD.replace("118,Main Street,,", "118A,Main Street,,").replace(
        "-87.041,41.021,120,Main Street,Apt 4,Riverton,,IL,46905,A2,h2\n", ""
    )
    result = runner.invoke(args=["city", "import", str(folder_with(tmp_path, changed))])

    assert result.exit_code == 0, result.output
    assert (
        "addresses: 0 added, 1 changed, 1 unchanged; not in the folder: 1 deactivated"
        in result.output
    )
    now = points(db)
    assert now["118A Main Street"][0] == "A1" and now["118A Main Street"][2] == "118a main st"
    assert now["120 Main Street, Apt 4"][-1] is False  # kept, switched off

    back = runner.invoke(args=["city", "import", str(folder_with(tmp_path))])
    assert "addresses: 0 added, 2 changed, 1 unchanged" in back.output  # renumbered, reactivated
    assert points(db)["120 Main Street, Apt 4"][-1] is True


def test_geojson_addresses_are_read_feature_by_feature(runner, db, tmp_path):
    collection = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"number": "7", "street": "Oak St", "unit": "", "id": 12},
                "geometry": {"type": "Point", "coordinates": [-87.04, 41.02]},
            },
            {
                "type": "Feature",
                "properties": {"number": 9, "street": "Oak St", "postcode": "46901"},
                "geometry": {"type": "Point", "coordinates": [-87.041, 41.02]},
            },
        ],
    }
    folder = folder_with(tmp_path, None, files={"addresses.geojson": json.dumps(collection)})

    result = runner.invoke(args=["city", "import", str(folder)])

    assert result.exit_code == 0, result.output
    assert "addresses: 2 added" in result.output
    assert points(db)["7 Oak St"][:3] == ("12", "oak st", "7 oak st")
    assert "9 Oak St" in points(db)


BAD = (
    HEADER
    + "-87.04,41.02,118,Main Street,,Riverton,,IL,46905,A1,h\n"  # line 2: fine
    + "-87.04,north,120,Main Street,,Riverton,,IL,46905,A2,h\n"  # line 3
    + "-87.04,41.02,,Main Street,,Riverton,,IL,46905,A3,h\n"  # line 4
    + "-88.5,41.02,122,Main Street,,Riverton,,IL,46905,A4,h\n"  # line 5: outside the city
    + "-87.04,41.03,124,Main Street,,Riverton,,IL,46905,A1,h\n"  # line 6: A1 again
    + "-87.04,95,126,Main Street,,Riverton,,IL,46905,A6,h\n"  # line 7
)


def test_every_problem_of_the_address_file_is_named_by_line_and_nothing_is_written(
    runner, db, tmp_path
):
    result = runner.invoke(args=["city", "import", str(folder_with(tmp_path, BAD))])

    assert result.exit_code == 1
    for message in (
        "addresses.csv: line 3: LAT 'north' is not a number",
        "addresses.csv: line 4: NUMBER is empty",
        "addresses.csv: line 5: 41.02, -88.5 is outside every area of the city",
        'addresses.csv: line 6: id "A1" is already used on line 2',
        "addresses.csv: line 7: LAT 95 is not between -90 and 90",
    ):
        assert message in result.output
    assert db.scalar(select(func.count()).select_from(AddressPoint)) == 0
    assert db.scalar(select(func.count()).select_from(Department)) == 0  # nothing at all


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("LON,LAT,NUMBER\n-87.04,41.02,1\n", "addresses.csv: line 1: missing column STREET"),
        ("", "addresses.csv: is empty"),
        (HEADER + "-87.04,41.02\n", "addresses.csv: line 2: has 2 values; the header has 11"),
        (
            "lon,lat,number,street\n-87.04,41.02,1,Main St\n-87.04,41.02,1,Main St\n",
            "addresses.csv: line 3: 1 Main St at 41.02, -87.04 is already on line 2",
        ),
    ],
)
def test_a_malformed_address_file_names_the_line(runner, db, tmp_path, text, message):
    result = runner.invoke(args=["city", "import", str(folder_with(tmp_path, text))])

    assert result.exit_code == 1
    assert message in result.output


def test_a_long_list_of_problems_is_capped(runner, tmp_path):
    text = HEADER + "".join(f"x,41.02,{n},Main Street,,,,,,id{n},\n" for n in range(80))

    result = runner.invoke(args=["city", "import", str(folder_with(tmp_path, text))])

    assert result.exit_code == 1
    assert "line 51: LON 'x' is not a number" in result.output
    assert "line 52:" not in result.output
    assert "... and 30 more problem(s) like these" in result.output


def test_rows_without_an_id_are_matched_by_address_and_point(runner, db, tmp_path):
    text = "lon,lat,number,street,unit\n-87.04,41.02,1,Main St,\n-87.04,41.021,3,Main St,\n"
    assert runner.invoke(args=["city", "import", str(folder_with(tmp_path, text))]).exit_code == 0
    moved = text.replace("41.021", "41.022")

    result = runner.invoke(args=["city", "import", str(folder_with(tmp_path, moved))])

    # The moved point is a new one; the old one is switched off.
    assert "addresses: 1 added, 0 changed, 1 unchanged; not in the folder: 1 deactivated" in (
        result.output
    )


def test_bad_streets_are_named_by_feature(runner, db, tmp_path):
    broken = json.loads(json.dumps(STREETS))
    broken["features"][0]["geometry"] = {"type": "Point", "coordinates": [-87.0, 41.0]}
    broken["features"][1]["properties"]["name"] = ""
    folder = folder_with(tmp_path, files={"streets.geojson": json.dumps(broken)})

    result = runner.invoke(args=["city", "import", str(folder)])

    assert result.exit_code == 1
    assert (
        "streets.geojson: features[0]: geometry must be a LineString or MultiLineString, "
        "not Point" in result.output
    )
    assert "streets.geojson: features[1]: name is empty" in result.output
    assert db.scalar(select(func.count()).select_from(Street)) == 0


def test_a_street_that_left_the_file_is_deactivated(runner, db, tmp_path):
    folder = folder_with(tmp_path, files={"streets.geojson": json.dumps(STREETS)})
    assert runner.invoke(args=["city", "import", str(folder)]).exit_code == 0
    fewer = {**STREETS, "features": STREETS["features"][1:]}

    result = runner.invoke(
        args=[
            "city",
            "import",
            str(folder_with(tmp_path, files={"streets.geojson": json.dumps(fewer)})),
        ]
    )

    assert "streets: 0 added, 0 changed, 1 unchanged; not in the folder: 1 deactivated" in (
        result.output
    )
    db.expire_all()
    assert db.scalar(select(Street.active).where(Street.source_id == "S1")) is False


def test_a_renamed_street_and_a_moved_asset_are_changed_in_place(runner, db, tmp_path):
    files = {
        "streets.geojson": json.dumps(STREETS),
        "assets.toml": LAYERS,
        "assets/streetlights.geojson": _lights(("SL-1", 41.02, -87.04)),
    }
    assert (
        runner.invoke(args=["city", "import", str(folder_with(tmp_path, files=files))]).exit_code
        == 0
    )
    renamed = json.loads(json.dumps(STREETS))
    renamed["features"][0]["properties"]["name"] = "Main Avenue"
    files["streets.geojson"] = json.dumps(renamed)
    files["assets/streetlights.geojson"] = _lights(("SL-1", 41.021, -87.04))

    result = runner.invoke(args=["city", "import", str(folder_with(tmp_path, files=files))])

    assert "streets: 0 added, 1 changed, 1 unchanged" in result.output
    assert "assets: 0 added, 1 changed, 0 unchanged" in result.output
    db.expire_all()
    assert db.scalar(select(Street.key).where(Street.source_id == "S1")) == "main ave"
    assert db.scalar(select(Asset.lat).where(Asset.source_id == "SL-1")) == 41.021


def test_invalid_json_is_named(runner, tmp_path):
    folder = folder_with(
        tmp_path, files={"streets.geojson": '{"type": "FeatureCollection", "features": ['}
    )

    result = runner.invoke(args=["city", "import", str(folder)])

    assert result.exit_code == 1
    assert "streets.geojson: is not valid JSON" in result.output


LAYERS = """
[[layer]]
code = "streetlights"
name = "Streetlights"
translations.es.name = "Farolas"
"""


def _lights(*features: tuple[str, float, float]) -> str:
    return json.dumps(
        {
            "type": "FeatureCollection",
            "features": [
                {
                    "type": "Feature",
                    "properties": {"id": source_id, "category": "led", "pole": "steel"},
                    "geometry": {"type": "Point", "coordinates": [lon, lat]},
                }
                for source_id, lat, lon in features
            ],
        }
    )


def test_asset_layers_load_by_code_and_id(runner, db, tmp_path):
    folder = folder_with(
        tmp_path,
        files={
            "assets.toml": LAYERS,
            "assets/streetlights.geojson": _lights(("SL-1", 41.02, -87.04), ("SL-2", 41.0, -87.0)),
        },
    )

    first = runner.invoke(args=["city", "import", str(folder)])
    second = runner.invoke(args=["city", "import", str(folder)])

    assert "asset layers: 1 added" in first.output and "assets: 2 added" in first.output
    assert "assets: 0 added, 0 changed, 2 unchanged" in second.output
    layer = db.scalar(select(AssetLayer))
    assert (layer.code, layer.t("name", "es")) == ("streetlights", "Farolas")
    asset = db.scalar(select(Asset).where(Asset.source_id == "SL-1"))
    assert (asset.label, asset.category, asset.properties) == ("SL-1", "led", {"pole": "steel"})


def test_bad_asset_files_are_named(runner, db, tmp_path):
    missing = folder_with(
        tmp_path,
        files={"assets.toml": LAYERS + '\n[[layer]]\ncode = "bins"\nname = "Bins"\n'},
    )
    result = runner.invoke(args=["city", "import", str(missing)])
    assert result.exit_code == 1
    assert 'assets.toml: layer "bins": its points file assets/bins.geojson is missing' in (
        result.output
    )
    twice = folder_with(
        tmp_path,
        files={
            "assets.toml": LAYERS,
            "assets/streetlights.geojson": _lights(("SL-1", 41.02, -87.04), ("SL-1", 41.0, -87.0)),
        },
    )

    result = runner.invoke(args=["city", "import", str(twice)])

    assert result.exit_code == 1
    assert (
        'assets/streetlights.geojson: features[1]: id "SL-1" is already used on features[0]'
        in result.output
    )
    assert db.scalar(select(func.count()).select_from(Asset)) == 0
