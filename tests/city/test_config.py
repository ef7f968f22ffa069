"""A city's configuration folder: `flask city import` checks it whole and writes it once;
`flask city export` writes it back so that an empty database gets the same city."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal import create_app
from portal.areas.models import Area
from portal.casework.models import ResponseTemplate
from portal.catalogue.models import CategoryQuestion, Department, ServiceCategory, ServiceGroup
from portal.city.models import CityProfile
from portal.core.audit import AuditEntry
from portal.demo.loader import CITY_DIR
from portal.migrate import upgrade
from portal.places.models import AssetLayer
from portal.routing.models import RoutingRule
from portal.sla.models import BusinessCalendar, SlaPolicy
from tests.scratch import scratch

CONFIG_MODELS = (
    CityProfile,
    BusinessCalendar,
    Department,
    ServiceGroup,
    ServiceCategory,
    CategoryQuestion,
    Area,
    SlaPolicy,
    RoutingRule,
    ResponseTemplate,
)
#: Columns that say when or under which id a row was written, not what it configures.
BOOKKEEPING = {
    "id",
    "created_at",
    "updated_at",
    "version",
    "last_assignee_id",
    "source",
    "settings",
}


def city_copy(tmp_path: Path) -> Path:
    folder = tmp_path / "city"
    shutil.copytree(CITY_DIR, folder)
    return folder


def edit(path: Path, old: str, new: str, count: int = 1) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} is not in {path.name}"
    path.write_text(text.replace(old, new, count), encoding="utf-8")


def configuration(session: Session) -> dict[str, list[dict]]:
    """Every configuration row, with the rows it points at named by code instead of id."""
    codes = {
        "department_id": dict(session.execute(select(Department.id, Department.code)).all()),
        "group_id": dict(session.execute(select(ServiceGroup.id, ServiceGroup.code)).all()),
        "category_id": dict(
            session.execute(select(ServiceCategory.id, ServiceCategory.code)).all()
        ),
        "area_id": dict(session.execute(select(Area.id, Area.code)).all()),
        "calendar_id": dict(
            session.execute(select(BusinessCalendar.id, BusinessCalendar.code)).all()
        ),
        "asset_layer_id": dict(session.execute(select(AssetLayer.id, AssetLayer.code)).all()),
    }
    snapshot = {}
    for model in CONFIG_MODELS:
        rows = []
        for row in session.scalars(select(model)):
            values = {
                c.key: getattr(row, c.key)
                for c in model.__mapper__.column_attrs
                if c.key not in BOOKKEEPING
            }
            for key, names in codes.items():
                if key in values:
                    values[key] = names.get(values[key])
            if model is BusinessCalendar:
                values["closures"] = [(c.day, c.name) for c in row.closures]
            rows.append(values)
        snapshot[model.__tablename__] = sorted(rows, key=repr)
    return snapshot


def test_the_demo_folder_imports_once_and_a_second_import_changes_nothing(runner, db):
    dry = runner.invoke(args=["city", "import", str(CITY_DIR), "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "Importing it would change:" in dry.output
    assert db.scalar(select(func.count()).select_from(Department)) == 0

    first = runner.invoke(args=["city", "import", str(CITY_DIR)])
    assert first.exit_code == 0, first.output
    assert "categories: 22 added, 0 changed, 0 unchanged" in first.output
    assert "areas: 6 added" in first.output
    profile = db.get(CityProfile, 1)
    assert (profile.name, profile.short_name, profile.timezone) == (
        "City of Riverton",
        "Riverton 311",
        "America/Chicago",
    )
    assert profile.logo_type == "image/svg+xml" and profile.languages == ["en", "es"]
    water = db.scalar(select(Department).where(Department.code == "water"))
    assert db.get(BusinessCalendar, water.calendar_id).code == "24-7"
    assert water.breach_actions == ["escalation_queue", "raise_priority"]
    assert db.scalar(select(func.count()).select_from(ResponseTemplate)) == 3
    before = configuration(db)

    second = runner.invoke(args=["city", "import", str(CITY_DIR)])
    assert second.exit_code == 0, second.output
    assert "was already imported: nothing changed" in second.output
    assert "categories: 0 added, 0 changed, 22 unchanged" in second.output
    assert configuration(db) == before
    assert (
        db.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.entity == "city"))
        == 1
    )


def test_changes_are_counted_and_what_left_the_folder_is_deactivated(runner, db, make, tmp_path):
    folder = city_copy(tmp_path)
    assert runner.invoke(args=["city", "import", str(folder)]).exit_code == 0
    graffiti = db.scalar(select(ServiceCategory).where(ServiceCategory.code == "graffiti"))
    make.request(category=graffiti)
    catalogue = folder / "catalogue.toml"
    text = catalogue.read_text(encoding="utf-8")
    start = text.index('[[categories]]\ncode = "graffiti"')
    end = text.index("[[categories]]", start + 10)
    catalogue.write_text(text[:start] + text[end:], encoding="utf-8")
    edit(catalogue, 'name = "Pothole"', 'name = "Pothole or sinkhole"')
    edit(folder / "templates.toml", 'title = "Pothole filled"', 'title = "Pothole repaired"')

    result = runner.invoke(args=["city", "import", str(folder)])

    assert result.exit_code == 0, result.output
    # The renamed pothole, and the category after graffiti in its group moved up one place.
    assert (
        "categories: 0 added, 2 changed, 19 unchanged; not in the folder: 1 deactivated"
        in result.output
    )
    assert "templates: 0 added, 1 changed, 2 unchanged" in result.output
    db.expire_all()
    graffiti = db.scalar(select(ServiceCategory).where(ServiceCategory.code == "graffiti"))
    assert graffiti is not None and not graffiti.active  # it has a request: kept, switched off
    assert (
        db.scalar(select(ServiceCategory.name).where(ServiceCategory.code == "pothole"))
        == "Pothole or sinkhole"
    )


def test_export_then_import_into_an_empty_database_is_the_same_city(
    runner, db, app, settings, tmp_path
):
    assert runner.invoke(args=["city", "import", str(CITY_DIR)]).exit_code == 0
    streets = db.scalar(select(Department).where(Department.code == "streets"))
    pothole = db.scalar(select(ServiceCategory).where(ServiceCategory.code == "pothole"))
    db.add(
        RoutingRule(
            name="Sinkholes to water",
            position=5,
            keywords="sinkhole, sink hole",
            department_id=db.scalar(select(Department.id).where(Department.code == "water")),
        )
    )
    db.add(
        ResponseTemplate(
            code="made-in-the-back-office",
            title="Crew on the way",
            body="A crew is on the way, {resident_name}.",
            position=7,
            department_id=streets.id,
            translations={
                "es": {
                    "title": "Cuadrilla en camino",
                    "body": "Una cuadrilla va en camino, {resident_name}.",
                }
            },
        )
    )
    pothole.all_questions[-1].active = False
    streets.assignment_mode = "round_robin"
    db.flush()
    expected = configuration(db)
    exported = runner.invoke(args=["city", "export", str(tmp_path / "export")])
    assert exported.exit_code == 0, exported.output

    engine = "postgresql" if settings.database_url.startswith("postgresql") else "sqlite"
    with scratch(engine, tmp_path) as url:
        upgrade(url)
        other = create_app(replace(settings, database_url=url))
        try:
            cli = other.test_cli_runner()
            first = cli.invoke(args=["city", "import", str(tmp_path / "export")])
            assert first.exit_code == 0, first.output
            with other.extensions["portal.db"].transaction(write=False) as session:
                assert configuration(session) == expected
            again = cli.invoke(args=["city", "import", str(tmp_path / "export")])
            assert "nothing changed" in again.output, again.output
        finally:
            other.extensions["portal.db"].dispose()


# -- bad input: every problem named by file and place, nothing written ---------------------


BROKEN = [
    (
        "catalogue.toml",
        'department = "streets"',
        'department = "street"',
        'catalogue.toml: category "pothole": department "street" does not exist (did you mean '
        '"streets"?)',
    ),
    (
        "catalogue.toml",
        'kind = "single"',
        'kind = "dropdown"',
        'catalogue.toml: category "pothole", question "size": kind \'dropdown\' is unknown',
    ),
    (
        "catalogue.toml",
        '[[departments]]\ncode = "water"',
        '[[departments]]\ncode = "streets"',
        'catalogue.toml: department "streets" is defined 2 times',
    ),
    (
        "catalogue.toml",
        'calendar = "24-7"',
        'calendar = "24x7"',
        'catalogue.toml: department "water": calendar "24x7" does not exist in '
        'service-levels.toml (did you mean "24-7"?)',
    ),
    (
        "catalogue.toml",
        '["raise_priority"]',
        '["call_the_mayor"]',
        'catalogue.toml: department "transportation": breach action "call_the_mayor" is unknown',
    ),
    (
        "catalogue.toml",
        'code = "streets"\nname',
        'code = "streets"\nassignment_mode = "random"\nname',
        "catalogue.toml: department \"streets\": assignment_mode 'random' is unknown",
    ),
    (
        "catalogue.toml",
        'email = "streets@riverton.example"',
        'email = "streets at riverton"',
        'catalogue.toml: department "streets": email "streets at riverton" is not an email address',
    ),
    ("catalogue.toml", "[[departments]]", "[[departments]\n", "catalogue.toml: is not valid TOML"),
    (
        "city.toml",
        'timezone = "America/Chicago"',
        'timezone = "America/Springfield"',
        'city.toml: the file: timezone "America/Springfield" is not an IANA time zone',
    ),
    (
        "city.toml",
        'languages = ["en", "es"]',
        'languages = ["en", "fr"]',
        'city.toml: the file: language "fr" has no translation in the portal',
    ),
    (
        "city.toml",
        'logo = "logo.svg"',
        'logo = "missing.png"',
        'city.toml: the file: logo "missing.png" cannot be read',
    ),
    (
        "service-levels.toml",
        'holiday_subdivision = "IL"',
        'holiday_subdivision = "ZZ"',
        'service-levels.toml: calendar "city-hours": holiday_subdivision "ZZ" is not a '
        "subdivision of US",
    ),
    (
        "service-levels.toml",
        'hours.tue = "07:00-15:30"',
        'hours.tue = "07:00-25:00"',
        'service-levels.toml: calendar "public-works": hours.tue:',
    ),
    (
        "service-levels.toml",
        'category = "pothole"',
        'category = "potholes"',
        'service-levels.toml: policy "Potholes": category "potholes" does not exist (did you '
        'mean "pothole"?)',
    ),
    (
        "service-levels.toml",
        'resolution = "5 calendar days"',
        'resolution = "5 days"',
        "service-levels.toml: policy \"Potholes\": resolution '5 days' must be like",
    ),
    (
        "templates.toml",
        "{reference} when",
        "{ticket} when",
        'templates.toml: template "thanks-scheduled": placeholder {ticket} is unknown',
    ),
    (
        "templates.toml",
        'department = "streets"',
        'department = "roads"',
        'templates.toml: template "pothole-filled": department "roads" does not exist',
    ),
]


@pytest.mark.parametrize(
    ("file", "old", "new", "message"),
    BROKEN,
    ids=[m.split(":")[0] + "-" + str(i) for i, (_, _, _, m) in enumerate(BROKEN)],
)
def test_a_broken_folder_names_file_place_and_fault_and_writes_nothing(
    runner, db, tmp_path, file, old, new, message
):
    folder = city_copy(tmp_path)
    edit(folder / file, old, new)

    result = runner.invoke(args=["city", "import", str(folder)])

    assert result.exit_code == 1
    assert message in result.output
    for model in CONFIG_MODELS:
        assert db.scalar(select(func.count()).select_from(model)) == 0, model


AREA_EDITS = [
    (lambda f: f[0]["geometry"]["coordinates"][0].pop(), 'area "westfield"): ring is not closed'),
    (
        lambda f: f[2]["geometry"].update(
            coordinates=[[[-87, 41], [-86.9, 41], [-87, 41.1], [-86.9, 41.1], [-87, 41]]]
        ),
        'area "eastgate"): polygon is not valid (Self-intersection',
    ),
    (
        lambda f: f[3]["geometry"].update(
            coordinates=[[[-87.05, 40.96], [-86.96, 40.96], [-86.96, 41.03], [-87.05, 40.96]]]
        ),
        'areas "riverside" and "old-town" overlap',
    ),
    (lambda f: f[1]["properties"].pop("code"), "features[1]: properties.code None must be"),
    (
        lambda f: f[5]["properties"].update(population="16,300"),
        'area "southpark"): properties.population must be a whole number',
    ),
]


@pytest.mark.parametrize(("change", "message"), AREA_EDITS)
def test_a_broken_areas_file_names_the_feature(runner, db, tmp_path, change, message):
    import json

    folder = city_copy(tmp_path)
    data = json.loads((folder / "areas.geojson").read_text(encoding="utf-8"))
    change(data["features"])
    (folder / "areas.geojson").write_text(json.dumps(data), encoding="utf-8")

    result = runner.invoke(args=["city", "import", str(folder)])

    assert result.exit_code == 1
    assert "areas.geojson: " in result.output and message in result.output
    assert db.scalar(select(func.count()).select_from(Area)) == 0


def test_every_problem_in_every_file_is_reported_at_once(runner, db, tmp_path):
    folder = city_copy(tmp_path)
    edit(folder / "catalogue.toml", 'department = "streets"', 'department = "street"')
    edit(folder / "city.toml", 'timezone = "America/Chicago"', 'timezone = "Mars/Olympus"')
    edit(folder / "service-levels.toml", 'category = "pothole"', 'category = "potholes"')
    (folder / "areas.geojson").write_bytes(b"\xff\xfe not json")

    result = runner.invoke(args=["city", "import", str(folder)])

    assert result.exit_code == 1
    assert "(5 problems)" in result.output or "problems)" in result.output
    for fragment in (
        'catalogue.toml: category "pothole": department "street"',
        'city.toml: the file: timezone "Mars/Olympus"',
        'service-levels.toml: policy "Potholes": category "potholes"',
        "areas.geojson: is not valid JSON",
    ):
        assert fragment in result.output


def test_a_question_residents_answered_is_never_retyped(runner, db, make, tmp_path):
    folder = city_copy(tmp_path)
    assert runner.invoke(args=["city", "import", str(folder)]).exit_code == 0
    pothole = db.scalar(select(ServiceCategory).where(ServiceCategory.code == "pothole"))
    make.request(category=pothole, answers={"size": "small"})
    edit(
        folder / "catalogue.toml", 'code = "size"\nkind = "single"', 'code = "size"\nkind = "text"'
    )
    text = (folder / "catalogue.toml").read_text(encoding="utf-8")
    start = text.index('code = "size"')
    end = text.index("[[categories.questions]]", start)
    options_start = text.index("options = [", start)
    (folder / "catalogue.toml").write_text(
        text[:options_start] + text[text.index("]\n", options_start) + 2 : end] + text[end:]
        if options_start < end
        else text,
        encoding="utf-8",
    )

    result = runner.invoke(args=["city", "import", str(folder)])

    assert result.exit_code == 1, result.output
    assert (
        'catalogue.toml: category "pothole", question "size": kind cannot change from '
        "single to text"
    ) in result.output
    db.expire_all()
    assert (
        db.scalar(select(CategoryQuestion.kind).where(CategoryQuestion.code == "size")) == "single"
    )


def test_an_import_says_when_it_overrides_changes_made_in_the_back_office(runner, db, tmp_path):
    from portal.city import catalogue_admin as admin

    folder = city_copy(tmp_path)
    assert runner.invoke(args=["city", "import", str(folder)]).exit_code == 0
    pothole = db.scalar(select(ServiceCategory).where(ServiceCategory.code == "pothole"))
    admin.save_category(
        db,
        pothole,
        admin.Entry(
            {**admin.snapshot(pothole), "name": "Pothole (any size)"},
            {"es": pothole.translations["es"]},
        ),
        actor=None,
    )
    db.flush()

    result = runner.invoke(args=["city", "import", str(folder), "--dry-run"])

    assert "categories: 0 added, 1 changed" in result.output
    assert (
        "Note: 1 change(s) were made in the back office since the last import" in result.output
        and "would win" in result.output
    )
    exported = runner.invoke(args=["city", "export", str(tmp_path / "live")])
    assert exported.exit_code == 0
    again = runner.invoke(args=["city", "import", str(tmp_path / "live"), "--dry-run"])
    assert "importing it would change nothing" in again.output and "Note:" not in again.output
