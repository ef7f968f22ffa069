"""The JSON Schemas of a city folder's files (docs/schemas/, docs/city-configuration.md).

Each schema is a valid Draft 2020-12 schema; the demo city and what `flask city export` writes
validate; and schema and reader agree: the same keys and allowed values, and a broken document
is refused by both (a handful of valid variants are accepted by both).
"""

from __future__ import annotations

import copy
import json
import shutil
import tomllib
from collections.abc import Callable
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import pytest
import tomli_w
from jsonschema import Draft202012Validator, FormatChecker
from sqlalchemy import select

from portal.areas import loader as areas_loader
from portal.assist import articles
from portal.casework.placeholders import PLACEHOLDERS
from portal.catalogue import loader as catalogue_loader
from portal.catalogue.models import BREACH_ACTIONS, QUESTION_KINDS, Department
from portal.city import city_file, rule_files
from portal.city.folder import CityConfigError, read_folder
from portal.demo.loader import CITY_DIR
from portal.requests.models import CHANNELS, OPEN_STATUSES, PRIORITIES
from portal.routing.models import RoutingRule
from portal.sla import levels_file
from portal.sla.models import DEFAULT_PAUSE_STATUSES, WEEKDAYS

SCHEMA_DIR = Path(__file__).resolve().parents[2] / "docs" / "schemas"
#: Each file of a city folder and its schema.
SCHEMAS = {
    "city.toml": "city.schema.json",
    "catalogue.toml": "catalogue.schema.json",
    "areas.geojson": "areas.schema.json",
    "service-levels.toml": "service-levels.schema.json",
    "routing.toml": "routing.schema.json",
    "templates.toml": "templates.schema.json",
}
#: The city's places (portal/places/loader.py): read row by row while importing, so their
#: schemas are checked against examples here rather than key by key. addresses.csv is a CSV
#: file (its columns are in docs/city-configuration.md), so it has no JSON Schema.
PLACE_SCHEMAS = {
    "addresses.geojson": "addresses.schema.json",
    "streets.geojson": "streets.schema.json",
    "assets.toml": "assets.schema.json",
}
#: The demo city has no routing rules; this is a valid routing.toml for it.
ROUTING = {
    "rules": [
        {
            "name": "Sinkholes to water",
            "keywords": ["sinkhole", "sink hole"],
            "department": "water",
        },
        {
            "name": "Graffiti phoned in from Old Town",
            "category": "graffiti",
            "area": "old-town",
            "channel": "phone",
            "department": "parks",
            "position": 5,
        },
        {"name": "Retired rule", "channel": "email", "department": "streets", "active": False},
    ]
}


def schema(file: str) -> dict[str, Any]:
    name = SCHEMAS.get(file) or PLACE_SCHEMAS[file]
    return json.loads((SCHEMA_DIR / name).read_text(encoding="utf-8"))


def as_json(value: Any) -> Any:
    """TOML data as JSON data: a date (or date-time, or time) becomes its ISO text."""
    if isinstance(value, dict):
        return {key: as_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [as_json(item) for item in value]
    if isinstance(value, date | time):  # datetime is a date
        return value.isoformat()
    return value


def load(path: Path) -> dict[str, Any]:
    text = path.read_text(encoding="utf-8")
    return json.loads(text) if path.suffix == ".geojson" else tomllib.loads(text)


def schema_errors(file: str, data: dict[str, Any]) -> list[str]:
    validator = Draft202012Validator(schema(file), format_checker=FormatChecker())
    return [
        f"/{'/'.join(str(p) for p in error.absolute_path)}: {error.message}"
        for error in validator.iter_errors(as_json(data))
    ]


def demo(file: str) -> dict[str, Any]:
    """A fresh copy of the demo city's ``file`` (of ``ROUTING`` for routing.toml)."""
    return copy.deepcopy(ROUTING) if file == "routing.toml" else load(CITY_DIR / file)


def reader_problems(tmp_path: Path, file: str, data: dict[str, Any]) -> list[str]:
    """What `flask city import` says of the demo folder with ``file`` replaced by ``data``."""
    folder = tmp_path / "city"
    shutil.copytree(CITY_DIR, folder)
    if file == "areas.geojson":
        (folder / file).write_text(json.dumps(data), encoding="utf-8")
    else:
        (folder / file).write_text(tomli_w.dumps(data), encoding="utf-8")
    try:
        read_folder(folder)
    except CityConfigError as exc:
        return exc.problems
    return []


# -- the schemas, and the files they describe ------------------------------------------------


@pytest.mark.parametrize("file", SCHEMAS)
def test_each_schema_is_a_valid_draft_2020_12_schema(file):
    document = schema(file)

    Draft202012Validator.check_schema(document)
    assert document["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert document["title"] == file


def test_every_file_of_the_demo_city_has_a_schema():
    names = {path.name for path in CITY_DIR.iterdir()} - {load(CITY_DIR / "city.toml")["logo"]}
    assert names <= set(SCHEMAS) | set(PLACE_SCHEMAS) | {"addresses.csv", "assets", "articles"}
    # The asset layers' points: one GeoJSON file per layer of assets.toml.
    layers = {layer["code"] for layer in load(CITY_DIR / "assets.toml")["layer"]}
    assert {path.name for path in (CITY_DIR / "assets").iterdir()} == {
        f"{code}.geojson" for code in layers
    }


def test_the_demo_articles_validate_and_broken_ones_are_refused_by_both():
    """articles/<slug>.toml (issue 22): docs/schemas/article.schema.json and the reader."""
    document = json.loads((SCHEMA_DIR / "article.schema.json").read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(document)
    validator = Draft202012Validator(document)
    files = sorted((CITY_DIR / "articles").glob("*.toml"))
    assert len(files) >= 2
    for path in files:
        assert list(validator.iter_errors(load(path))) == []
    good = load(files[0])
    for broken in (
        {**good, "en": {"title": "   ", "body": "x"}},
        {**good, "es": {"title": "x"}},
        {**good, "en": {**good["en"], "summary": "x"}},
        {**good, "en": {**good["en"], "body": "x" * 20_001}},
    ):
        assert list(validator.iter_errors(broken)), broken
        assert articles.check_texts(broken, ["en", "es"])[2], broken


@pytest.mark.parametrize("file", PLACE_SCHEMAS)
def test_each_place_schema_is_a_valid_draft_2020_12_schema(file):
    document = schema(file)

    Draft202012Validator.check_schema(document)
    assert document["title"] == file


def test_the_demo_streets_validate_and_broken_ones_do_not():
    streets = load(CITY_DIR / "streets.geojson")
    assert schema_errors("streets.geojson", streets) == []
    streets["features"][0]["geometry"] = {"type": "Point", "coordinates": [-87.0, 41.0]}
    del streets["features"][1]["properties"]["name"]
    assert len(schema_errors("streets.geojson", streets)) == 2


def test_address_points_and_asset_layers_validate_and_broken_ones_do_not():
    point = {"type": "Point", "coordinates": [-87.04, 41.02]}
    addresses = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"number": "118", "street": "Main Street", "id": 7},
                "geometry": point,
            }
        ],
    }
    assert schema_errors("addresses.geojson", addresses) == []
    addresses["features"][0]["properties"]["street"] = ""
    addresses["features"][0]["geometry"]["coordinates"] = [-87.04, 95]
    assert len(schema_errors("addresses.geojson", addresses)) == 2
    layers = {"layer": [{"code": "streetlights", "name": "Streetlights"}]}
    layers["layer"][0]["translations"] = {"es": {"name": "Farolas"}}
    assert schema_errors("assets.toml", layers) == []
    assert schema_errors("assets.toml", {"layer": [{"code": "Bad Code", "name": "x"}]})


@pytest.mark.parametrize("file", SCHEMAS)
def test_the_demo_city_validates(file):
    assert schema_errors(file, demo(file)) == []


def test_the_demo_city_with_the_example_rules_is_a_valid_folder(tmp_path):
    assert reader_problems(tmp_path, "routing.toml", ROUTING) == []


def test_a_closure_day_is_checked_as_a_date(tmp_path):
    data = demo("service-levels.toml")
    closure = data["calendars"][0]["closures"][0]
    assert isinstance(closure["day"], date)  # a TOML date; the validator gets its ISO text

    closure["day"] = "2025-02-30"  # quoted (which the reader refuses), and no such day
    assert any("is not a 'date'" in error for error in schema_errors("service-levels.toml", data))


def test_what_flask_city_export_writes_validates(runner, db, tmp_path):
    assert runner.invoke(args=["city", "import", str(CITY_DIR)]).exit_code == 0
    db.add(
        RoutingRule(
            name="Sinkholes to water",
            position=5,
            keywords="sinkhole, sink hole",
            department_id=db.scalar(select(Department.id).where(Department.code == "water")),
        )
    )
    db.flush()

    result = runner.invoke(args=["city", "export", str(tmp_path / "export")])

    assert result.exit_code == 0, result.output
    for file in [*SCHEMAS, "streets.geojson"]:
        data = load(tmp_path / "export" / file)
        assert data, file
        assert schema_errors(file, data) == [], file


# -- schema and reader agree -----------------------------------------------------------------


def keys(part: dict[str, Any]) -> set[str]:
    return set(part["properties"])


def test_the_schemas_allow_exactly_the_keys_the_readers_allow():
    city = schema("city.toml")
    assert keys(city) == city_file._KEYS
    assert keys(city["properties"]["open311"]) == city_file._OPEN311_KEYS
    assert keys(city["$defs"]["outbound"]) == city_file._OUTBOUND_KEYS
    catalogue = schema("catalogue.toml")
    assert keys(catalogue) == {"departments", "groups", "categories"}
    for name, allowed in (
        ("department", catalogue_loader._DEPARTMENT_KEYS),
        ("group", catalogue_loader._GROUP_KEYS),
        ("category", catalogue_loader._CATEGORY_KEYS),
        ("question", catalogue_loader._QUESTION_KEYS),
        ("option", catalogue_loader._OPTION_KEYS),
    ):
        assert keys(catalogue["$defs"][name]) == allowed, name
    levels = schema("service-levels.toml")
    assert keys(levels) == levels_file._FILE_KEYS
    assert keys(levels["$defs"]["calendar"]) == levels_file._CALENDAR_KEYS
    assert keys(levels["$defs"]["calendar"]["properties"]["hours"]) == set(WEEKDAYS)
    assert (
        keys(levels["$defs"]["calendar"]["properties"]["closures"]["items"])
        == levels_file._CLOSURE_KEYS
    )
    assert keys(levels["$defs"]["policy"]) == levels_file._POLICY_KEYS
    assert keys(schema("routing.toml")["$defs"]["rule"]) == rule_files._RULE_KEYS
    assert keys(schema("templates.toml")["$defs"]["template"]) == rule_files._TEMPLATE_KEYS
    every = [schema(file) for file in SCHEMAS if file != "areas.geojson"]
    assert all(document["additionalProperties"] is False for document in every)


def test_the_schemas_allow_exactly_the_values_the_readers_allow():
    city = schema("city.toml")["properties"]
    assert city["languages"]["items"]["enum"] == list(city_file.KNOWN_LANGUAGES)
    catalogue = schema("catalogue.toml")["$defs"]
    # The readers end with \Z (a trailing newline is not part of a code); ECMA's $ already
    # does not match before one.
    assert (
        catalogue["code"]["pattern"]
        == catalogue_loader.CODE_RE.pattern.replace("\\Z", "$")
        == areas_loader.CODE_RE.pattern.replace("\\Z", "$")
    )
    assert catalogue["locale"]["pattern"] == catalogue_loader.LOCALE_RE.pattern.replace(
        "^", "^(?!en$)", 1
    ).replace("\\Z", "$")
    assert catalogue["question"]["properties"]["kind"]["enum"] == list(QUESTION_KINDS)
    assert catalogue["category"]["properties"]["notice_level"]["enum"] == list(
        catalogue_loader.NOTICE_LEVELS
    )
    department = catalogue["department"]["properties"]
    assert department["assignment_mode"]["enum"] == list(catalogue_loader.ASSIGNMENT_MODES)
    assert department["breach_actions"]["items"]["enum"] == list(BREACH_ACTIONS)
    policy = schema("service-levels.toml")["$defs"]["policy"]["properties"]
    assert policy["priority"]["enum"] == list(PRIORITIES)
    assert policy["pause_statuses"]["items"]["enum"] == list(OPEN_STATUSES)
    assert policy["pause_statuses"]["default"] == list(DEFAULT_PAUSE_STATUSES)
    assert {"first_response", "resolution", "update"} == set(levels_file.TARGETS)
    assert schema("routing.toml")["$defs"]["rule"]["properties"]["channel"]["enum"] == list(
        CHANNELS
    )
    placeholders = schema("templates.toml")["$defs"]["body"]["not"]["pattern"]
    assert "(?:" + "|".join(PLACEHOLDERS) + ")" in placeholders


def find(entries: list[dict[str, Any]], code: str, key: str = "code") -> dict[str, Any]:
    return next(entry for entry in entries if entry[key] == code)


def question(data: dict[str, Any], category: str, code: str) -> dict[str, Any]:
    return find(find(data["categories"], category)["questions"], code)


def feature(data: dict[str, Any], index: int = 0) -> dict[str, Any]:
    return data["features"][index]


Change = Callable[[dict[str, Any]], object]
#: (file, change to the demo file, what the reader says): the schema refuses it too.
BROKEN: list[tuple[str, Change, str]] = [
    ("city.toml", lambda d: d.update(colour="blue"), 'the file: unknown key "colour"'),
    ("city.toml", lambda d: d.pop("short_name"), '"short_name" is required'),
    ("city.toml", lambda d: d.update(languages=["en", "fr"]), 'language "fr" has no'),
    ("city.toml", lambda d: d.update(emergency_number="call 911"), "is not a phone number"),
    ("city.toml", lambda d: d.update(base_url="ftp://riverton.example"), 'must be like "https'),
    ("city.toml", lambda d: d["open311"].update(email="x"), '[open311]: unknown key "email"'),
    (
        "city.toml",
        lambda d: d["translations"]["es"].update(motto="x"),
        'translations.es has unknown field "motto"',
    ),
    (
        "catalogue.toml",
        lambda d: d["departments"][0].update(colour="blue"),
        'department "streets": unknown key "colour"',
    ),
    (
        "catalogue.toml",
        lambda d: d["departments"][0].update(code="Public Works"),
        "code 'Public Works' must be 1-40 lowercase letters",
    ),
    (
        "catalogue.toml",
        lambda d: d["groups"][0].update(code="a" * 41),
        f"code '{'a' * 41}' must be 1-40",
    ),
    (
        "catalogue.toml",
        lambda d: d["departments"][0].update(assignment_mode="random"),
        "assignment_mode 'random' is unknown",
    ),
    (
        "catalogue.toml",
        lambda d: d["departments"][0].update(breach_actions=["call_the_mayor"]),
        'breach action "call_the_mayor" is unknown',
    ),
    (
        "catalogue.toml",
        lambda d: d["groups"][0].update(position=-1),
        '"position" must be a whole number from 0',
    ),
    (
        "catalogue.toml",
        lambda d: find(d["categories"], "pothole").pop("description"),
        'category "pothole": "description" is required',
    ),
    (
        "catalogue.toml",
        lambda d: find(d["categories"], "noise").update(notice_level="urgent"),
        "notice_level 'urgent' must be one of",
    ),
    (
        "catalogue.toml",
        lambda d: find(d["categories"], "pothole")["translations"].update(en={"name": "Pothole"}),
        'translation locale "en" is not a language other than en',
    ),
    (
        "catalogue.toml",
        lambda d: question(d, "pothole", "size").update(kind="dropdown"),
        "kind 'dropdown' is unknown",
    ),
    (
        "catalogue.toml",
        lambda d: question(d, "pothole", "size").update(
            options=question(d, "pothole", "size")["options"][:1]
        ),
        "a single question needs at least two options",
    ),
    (
        "catalogue.toml",
        lambda d: question(d, "pothole", "depth_inches").update(max_length=5),
        "max_length is only for text questions",
    ),
    (
        "catalogue.toml",
        lambda d: question(d, "pothole", "depth_inches").update(
            options=[{"key": "a", "label": "A"}, {"key": "b", "label": "B"}]
        ),
        "options are only for single and multi questions",
    ),
    (
        "catalogue.toml",
        lambda d: question(d, "water-leak", "smell_gas").update(stop_values=["yes", "no"]),
        "every answer stops the form",
    ),
    (
        "catalogue.toml",
        lambda d: question(d, "water-leak", "smell_gas").pop("stop_message"),
        "stop_values need a stop_message",
    ),
    (
        "catalogue.toml",
        lambda d: question(d, "pothole", "depth_inches").update(stop_message="Call us."),
        "stop_message is set but no stop_values",
    ),
    (
        "catalogue.toml",
        lambda d: question(d, "pothole", "size")["options"][0].update(key="Small!"),
        "key 'Small!' must be 1-40",
    ),
    (
        "catalogue.toml",
        lambda d: question(d, "pothole", "size").update(prompt="x" * 301),
        '"prompt" is longer than 300 characters',
    ),
    (
        "areas.geojson",
        lambda d: d.update(type="GeometryCollection"),
        "must be a GeoJSON FeatureCollection",
    ),
    ("areas.geojson", lambda d: d.update(features=[]), "has no features"),
    (
        "areas.geojson",
        lambda d: feature(d)["properties"].update(code="West Field"),
        "properties.code 'West Field' must be",
    ),
    (
        "areas.geojson",
        lambda d: feature(d)["properties"].pop("name"),
        "properties.name must be text",
    ),
    (
        "areas.geojson",
        lambda d: feature(d)["properties"].update(population=-5),
        "properties.population must be a whole number",
    ),
    (
        "areas.geojson",
        lambda d: feature(d).update(geometry={"type": "Point", "coordinates": [-87.0, 41.0]}),
        "geometry must be a Polygon or MultiPolygon",
    ),
    (
        "areas.geojson",
        lambda d: feature(d)["geometry"]["coordinates"][0][1].__setitem__(1, 91.5),
        "is not a longitude and latitude",
    ),
    (
        "service-levels.toml",
        lambda d: d["calendars"][0].update(colour="blue"),
        'calendar "city-hours": unknown key "colour"',
    ),
    (
        "service-levels.toml",
        lambda d: d["calendars"][0]["hours"].update(friday="08:00-12:00"),
        "hours.friday is not a weekday",
    ),
    (
        "service-levels.toml",
        lambda d: d["calendars"][1]["hours"].update(tue="07:00-25:00"),
        'calendar "public-works": hours.tue:',
    ),
    (
        "service-levels.toml",
        lambda d: d["calendars"][0].update(always_open=True),
        "an always-open calendar has no hours",
    ),
    (
        "service-levels.toml",
        lambda d: d["calendars"][0].pop("hours"),
        "needs working hours on at least one day",
    ),
    (
        "service-levels.toml",
        lambda d: d["calendars"][0].pop("holiday_country"),
        "holiday_subdivision needs a holiday_country",
    ),
    (
        "service-levels.toml",
        lambda d: d["calendars"][0]["closures"][0].update(day=datetime(2025, 11, 28, 9, 0)),
        '"day" must be a date like 2026-11-27',
    ),
    (
        "service-levels.toml",
        lambda d: d["policies"][0].update(priority="critical"),
        "priority 'critical' is unknown",
    ),
    (
        "service-levels.toml",
        lambda d: d["policies"][2].update(resolution="5 days"),
        "resolution '5 days' must be like",
    ),
    (
        "service-levels.toml",
        lambda d: d["policies"][2].update(resolution="10001 working hours"),
        "(1 to 10000)",
    ),
    (
        "service-levels.toml",
        lambda d: [d["policies"][3].pop(t) for t in ("first_response", "resolution")],
        "needs at least one target",
    ),
    (
        "service-levels.toml",
        lambda d: d["policies"][0].update(pause_statuses=["resolved"]),
        "pause_statuses must list open statuses",
    ),
    (
        "service-levels.toml",
        lambda d: d["policies"][0].update(category="Water Leak"),
        "category 'Water Leak' must be 1-40",
    ),
    (
        "routing.toml",
        lambda d: d["rules"][0].update(colour="blue"),
        'rule "Sinkholes to water": unknown key "colour"',
    ),
    ("routing.toml", lambda d: d["rules"][0].pop("department"), "department None must be"),
    ("routing.toml", lambda d: d["rules"][2].update(channel="fax"), "channel 'fax' is unknown"),
    ("routing.toml", lambda d: d.update(rules={"name": "x"}), '"rules" must be an array'),
    (
        "templates.toml",
        lambda d: d["templates"][0].update(colour="blue"),
        'template "thanks-scheduled": unknown key "colour"',
    ),
    (
        "templates.toml",
        lambda d: d["templates"][0].update(body="Dear {name}, thanks."),
        "placeholder {name} is unknown",
    ),
    (
        "templates.toml",
        lambda d: d["templates"][0]["translations"]["es"].update(body="Hola {nombre}."),
        "placeholder {nombre} is unknown",
    ),
    (
        "templates.toml",
        lambda d: d["templates"][0].update(body="x" * 5001),
        '"body" is longer than 5000 characters',
    ),
    (
        "templates.toml",
        lambda d: d["templates"][2].update(department=""),
        "department '' must be 1-40",
    ),
]


@pytest.mark.parametrize(
    ("file", "change", "message"),
    BROKEN,
    ids=[f"{file}-{i}" for i, (file, _, _) in enumerate(BROKEN)],
)
def test_a_broken_file_is_refused_by_its_schema_and_by_the_reader(tmp_path, file, change, message):
    data = demo(file)
    change(data)

    assert schema_errors(file, data), f"the schema accepts what the reader refuses: {message}"
    problems = reader_problems(tmp_path, file, data)
    assert any(message in problem for problem in problems), problems


#: (file, change to the demo file): a valid variant both accept.
ACCEPTED: list[tuple[str, Change]] = [
    (
        "city.toml",
        lambda d: [
            d.pop(k) for k in ("contact", "emergency_number", "open311", "default_language", "logo")
        ],
    ),
    ("city.toml", lambda d: d.update(emergency_number="", base_url="https://311.example.gov/")),
    (
        "catalogue.toml",
        lambda d: find(d["categories"], "pothole").update(
            keywords="pothole, hole, road damage", position=7
        ),
    ),
    (
        "catalogue.toml",
        lambda d: question(d, "pothole", "depth_inches").update(
            kind="text", max_length=40, active=False
        ),
    ),
    (
        "catalogue.toml",
        lambda d: question(d, "pothole", "size").update(
            stop_values=["small"], stop_message="Small holes are filled on the next round."
        ),
    ),
    (
        "catalogue.toml",
        lambda d: d["departments"][0].update(
            assignment_mode="least_loaded", breach_actions=[], active=False
        ),
    ),
    ("areas.geojson", lambda d: feature(d)["properties"].update(active=False, ward=3)),
    (
        "service-levels.toml",
        lambda d: d["calendars"][1]["hours"].update(sat="8:00 – 12:00", sun="", mon="00:00-24:00"),
    ),
    (
        "service-levels.toml",
        lambda d: d["policies"].append(
            {
                "name": "Low priority in Old Town",
                "priority": "low",
                "area": "old-town",
                "resolution": "1 calendar day",
                "pause_statuses": [],
                "position": 0,
            }
        ),
    ),
    (
        "routing.toml",
        lambda d: d["rules"].append(
            {"name": "Phone", "category": "", "channel": "phone", "department": "streets"}
        ),
    ),
    ("templates.toml", lambda d: d["templates"][0].pop("translations")),
]


@pytest.mark.parametrize(
    ("file", "change"), ACCEPTED, ids=[f"{file}-{i}" for i, (file, _) in enumerate(ACCEPTED)]
)
def test_a_valid_variant_is_accepted_by_its_schema_and_by_the_reader(tmp_path, file, change):
    data = demo(file)
    change(data)

    assert schema_errors(file, data) == []
    assert reader_problems(tmp_path, file, data) == []
