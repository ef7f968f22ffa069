"""The service catalogue (catalogue.toml of a city folder) and the catalogue Riverton ships with."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from sqlalchemy import func, select

from portal.catalogue.models import (
    QUESTION_KINDS,
    CategoryQuestion,
    Department,
    ServiceCategory,
    ServiceGroup,
)
from portal.demo.loader import CITY_DIR


def _count(db, model) -> int:
    return db.scalar(select(func.count()).select_from(model))


CITY = (
    'name = "City of Testville"\nshort_name = "Testville 311"\ntimezone = "America/Denver"\n'
    'languages = ["en", "es"]\n'
)


def _write(tmp_path: Path, body: str) -> Path:
    """A city folder whose catalogue is ``body`` (the demo's areas, a plain city.toml)."""
    folder = tmp_path / "city"
    folder.mkdir(exist_ok=True)
    (folder / "city.toml").write_text(CITY, encoding="utf-8")
    (folder / "areas.geojson").write_text(
        (CITY_DIR / "areas.geojson").read_text("utf-8"), encoding="utf-8"
    )
    (folder / "catalogue.toml").write_text(textwrap.dedent(body), encoding="utf-8")
    return folder


def _import(runner, folder: Path):
    return runner.invoke(args=["city", "import", str(folder)])


MINIMAL = """
    [[departments]]
    code = "roads"
    name = "Roads"

    [[groups]]
    code = "streets"
    name = "Streets"

    [[categories]]
    code = "pothole"
    group = "streets"
    department = "roads"
    name = "Pothole"
    description = "A hole in the road."

    [[categories.questions]]
    code = "size"
    kind = "single"
    prompt = "How big?"
    options = [{ key = "small", label = "Small" }, { key = "large", label = "Large" }]
"""


def test_the_shipped_catalogue_loads_with_every_kind_and_spanish(db, runner):
    assert _import(runner, CITY_DIR).exit_code == 0

    assert _count(db, Department) >= 5
    assert _count(db, ServiceGroup) >= 6
    categories = db.scalars(select(ServiceCategory)).all()
    assert len(categories) >= 15
    questions = [q for c in categories for q in c.questions]
    assert {q.kind for q in questions} == set(QUESTION_KINDS)
    assert any(q.required for q in questions) and not all(q.required for q in questions)
    assert any(c.private for c in categories)
    assert {c.notice_level for c in categories if c.notice} >= {"info", "warning"}
    stoppers = [q for q in questions if q.stop_values]
    assert stoppers and all(
        q.stop_message and q.t("stop_message", "es") != q.stop_message for q in stoppers
    )
    gas = next(q for q in questions if q.category.code == "water-leak" and q.stop_values)
    assert gas.stop_values == ["yes"] and "Do not use this form" in gas.stop_message

    for department in db.scalars(select(Department)):
        assert department.translations["es"]["name"], department.code
    for category in categories:
        spanish = category.translations["es"]
        assert spanish["name"], category.code
        assert spanish["description"] and spanish["description"] != category.description
        if category.notice:
            assert spanish["notice"], category.code
        assert category.keywords and category.department_id and category.group_id
    for question in questions:
        where = f"{question.category.code}.{question.code}"
        assert question.translations["es"]["prompt"], where
        if question.help:
            assert question.translations["es"]["help"], where
        for option in question.options:
            assert option["translations"]["es"]["label"], f"{where}.{option['key']}"
        if question.kind in ("single", "multi"):
            assert len(question.options) >= 2, where


def test_a_second_load_adds_nothing(db, runner):
    _import(runner, CITY_DIR)
    before = [_count(db, m) for m in (Department, ServiceGroup, ServiceCategory, CategoryQuestion)]

    result = _import(runner, CITY_DIR)

    assert [
        _count(db, m) for m in (Department, ServiceGroup, ServiceCategory, CategoryQuestion)
    ] == before
    assert "nothing changed" in result.output


def test_a_reload_updates_text_and_deactivates_removed_questions(db, runner, tmp_path):
    assert (
        _import(
            runner,
            _write(
                tmp_path,
                MINIMAL
                + """
        [[categories.questions]]
        code = "depth"
        kind = "number"
        prompt = "How deep?"
    """,
            ),
        ).exit_code
        == 0
    )
    edited = MINIMAL.replace('name = "Pothole"', 'name = "Pothole or sinkhole"').replace(
        'label = "Large"', 'label = "Large", translations.es.label = "Grande"'
    )

    result = _import(runner, _write(tmp_path, edited))

    assert "categories: 0 added, 1 changed, 0 unchanged" in result.output
    assert (
        "questions: 0 added, 1 changed, 0 unchanged; not in the folder: 1 deactivated"
        in result.output
    )
    db.expire_all()
    category = db.scalar(select(ServiceCategory).where(ServiceCategory.code == "pothole"))
    assert category.name == "Pothole or sinkhole"
    assert [q.code for q in category.questions] == ["size"]
    assert [(q.code, q.active) for q in category.all_questions] == [
        ("size", True),
        ("depth", False),
    ]
    assert category.questions[0].option_label("large", "es") == "Grande"
    assert _count(db, ServiceCategory) == 1


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            ('kind = "single"', 'kind = "dropdown"'),
            'category "pothole", question "size": kind \'dropdown\' is unknown',
        ),
        (
            (
                'options = [{ key = "small", label = "Small" }, '
                '{ key = "large", label = "Large" }]',
                "",
            ),
            'category "pothole", question "size": a single question needs at least two options',
        ),
        (
            (
                'prompt = "How big?"',
                'prompt = "How big?"\nstop_values = ["huge"]\nstop_message = "Call 911"',
            ),
            'category "pothole", question "size": stop value "huge" is not one of the answers',
        ),
        (
            ('prompt = "How big?"', 'prompt = "How big?"\nstop_values = ["small"]'),
            'category "pothole", question "size": stop_values need a stop_message',
        ),
        (
            ('kind = "single"', 'kind = "text"'),
            'category "pothole", question "size": options are only for single and multi',
        ),
        (
            ('prompt = "How big?"', 'prompt = ""'),
            'category "pothole", question "size": "prompt" is required',
        ),
        (
            ('prompt = "How big?"', 'prompt = "How big?"\ncolour = "red"'),
            'category "pothole", question "size": unknown key "colour"',
        ),
        (
            ('department = "roads"', 'department = "nowhere"'),
            'category "pothole": department "nowhere" does not exist',
        ),
        (
            ('name = "Pothole"', 'name = "Pothole"\nnotice_level = "panic"'),
            "category \"pothole\": notice_level 'panic' must be one of",
        ),
        (
            ('name = "Pothole"', 'name = "Pothole"\ntranslations.es.nombre = "Bache"'),
            'category "pothole": translations.es has unknown field "nombre"',
        ),
    ],
)
def test_a_broken_file_names_the_category_and_question(db, runner, tmp_path, change, message):
    path = _write(tmp_path, MINIMAL.replace(*change))
    departments = _count(db, Department)

    result = _import(runner, path)

    assert result.exit_code == 1
    assert "catalogue.toml: " + message in result.output
    assert _count(db, Department) == departments  # nothing written


def test_every_problem_is_reported_at_once(db, runner, tmp_path):
    broken = MINIMAL.replace('kind = "single"', 'kind = "yesno"\nstop_values = ["maybe"]')
    broken += """
        [[categories.questions]]
        code = "size"
        kind = "date"
        prompt = "When?"
        max_length = 3
    """

    problems = _import(runner, _write(tmp_path, broken)).output.splitlines()
    assert (
        'catalogue.toml: category "pothole", question "size": options are only for single '
        "and multi questions" in problems
    )
    assert any('stop value "maybe" is not one of the answers (yes, no)' in p for p in problems)
    assert any("max_length is only for text questions" in p for p in problems)
    assert 'catalogue.toml: category "pothole", question "size" is defined 2 times' in problems


def test_a_file_that_is_not_toml_is_a_clear_error(db, runner, tmp_path):
    result = _import(runner, _write(tmp_path, "[[categories]\ncode = 1"))
    assert result.exit_code == 1
    assert "catalogue.toml: is not valid TOML: " in result.output
    assert "(at line 1, column 13)" in result.output
    (tmp_path / "city" / "catalogue.toml").unlink()
    result = _import(runner, tmp_path / "city")
    assert "catalogue.toml: is missing (every city folder needs one)" in result.output
