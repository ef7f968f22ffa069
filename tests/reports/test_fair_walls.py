"""Fair walls (issue 23): a department is ranked only with enough finished tasks in the period
(``PORTAL_WALL_MIN_TASKS``, 20), by the lower bound of the Wilson interval of its on-time share,
and the page says so; the city can rename the wall of shame or keep it for staff (city.toml's
``[performance]``)."""

from __future__ import annotations

import re
from datetime import date

import pytest

from portal.demo.loader import CITY_DIR
from portal.reports.scorecards import wilson_lower_bound
from tests.conftest import sign_in
from tests.pwa.test_installable import city_import, with_app_table
from tests.reports.test_pages import resolved_clock, rows_of

MARCH = date(2026, 3, 5)
PAGE = "/performance?period=month&start=2026-03-10"
BOARD = "/staff/reports?period=month&start=2026-03-10"
RULE = "A department is ranked once it has finished at least 20 tasks in the period."


@pytest.fixture(autouse=True)
def frozen(freeze_clock):
    from tests.reports.test_pages import local

    freeze_clock(local(date(2026, 4, 2)))


@pytest.fixture
def departments(make):
    """March 2026: Alder 20 of 20 on time, Birch 45 of 50, Cedar 10 of 25, Dell 2 of 2."""
    made = {}
    for name, on_time, late in (
        ("Alder", 20, 0),
        ("Birch", 45, 5),
        ("Cedar", 10, 15),
        ("Dell", 2, 0),
    ):
        made[name] = department = make.department(name=name)
        category = make.category(department=department, name=f"{name} work")
        for stage, count in (("met", on_time), ("breached", late)):
            for _ in range(count):
                resolved_clock(make, category, stage=stage, hours=3, day=MARCH)
    return made


def test_the_wilson_lower_bound_of_small_and_large_records():
    assert round(wilson_lower_bound(1.0, 2), 3) == 0.342
    assert round(wilson_lower_bound(0.95, 100), 3) == 0.888
    assert wilson_lower_bound(0.5, 0) == 0.0


def test_only_departments_with_enough_tasks_are_ranked_by_what_they_show_for_certain(
    client, departments
):
    html = client.get(PAGE).get_data(as_text=True)
    ids = {name: str(d.id) for name, d in departments.items()}
    # Dell's 2 of 2 (100%) is not ranked; Alder's 20 of 20 (at least 84%) ranks above Birch's
    # 45 of 50 (90%, at least 79%).
    assert rows_of(html, 'data-wall="wall-of-fame"') == [ids["Alder"]]
    assert rows_of(html, 'data-wall="wall-of-shame"') == [ids["Cedar"]]
    board = html.split('id="board"', 1)[1]
    order = [i for i in re.findall(r'<tr data-department="(\d+)"', board) if i in ids.values()]
    assert order == [ids[n] for n in ("Alder", "Birch", "Cedar", "Dell")]
    assert "Rank 1: Alder</strong> — 100% of 20 tasks resolved on time" in html
    assert "Rank" not in board.split(f'<tr data-department="{ids["Dell"]}"', 1)[1].split("</tr>")[0]
    assert RULE in html and "95% Wilson interval" in html
    spanish = client.get(PAGE + "&lang=es").get_data(as_text=True)
    assert "Cómo se clasifican los departamentos" in spanish


def test_the_city_renames_the_wall_of_shame_and_keeps_it_for_staff(
    runner, client, make, tmp_path, departments
):
    folder = with_app_table(
        tmp_path,
        '[app]\nshort_name = "Riverton"\n\n[performance]\nshame_wall = "Room to improve"\n'
        'public_shame_wall = false\ntranslations.es.shame_wall = "Margen de mejora"',
    )
    result = city_import(runner, folder)
    assert result.exit_code == 0, result.output
    public = client.get(PAGE).get_data(as_text=True)
    # (The import leaves only the city file's departments active: the walls may be empty.)
    assert 'id="wall-of-fame"' in public and 'id="wall-of-shame"' not in public
    assert "Room to improve" not in public and "Wall of shame" not in public
    sign_in(client, make.staff(departments["Cedar"], role="supervisor"))
    board = client.get(BOARD).get_data(as_text=True)
    assert '<h2 id="wall-of-shame">Room to improve</h2>' in board
    assert "Only staff see this wall" in board
    spanish = client.get(BOARD + "&lang=es").get_data(as_text=True)
    assert '<h2 id="wall-of-shame">Margen de mejora</h2>' in spanish
    # Back to the city's file without the table: the wall is public again, by its usual name.
    assert city_import(runner, CITY_DIR).exit_code == 0
    again = client.get(PAGE + "&lang=en").get_data(as_text=True)
    assert '<h2 id="wall-of-shame">Wall of shame</h2>' in again


@pytest.mark.parametrize(
    ("table", "problem"),
    [
        (
            '[performance]\npublic_shame_wall = "no"',
            "city.toml: [performance]: public_shame_wall must be true or false, not 'no'",
        ),
        (
            "[performance]\nwall = 1",
            'city.toml: [performance]: unknown key "wall" (expected one of public_shame_wall, '
            "shame_wall, translations)",
        ),
    ],
)
def test_a_bad_performance_table_is_named(runner, tmp_path, table, problem):
    result = city_import(runner, with_app_table(tmp_path, table))
    assert result.exit_code != 0
    assert problem in result.output
