"""A category's asset layer in the city folder: ``asset_layer`` and ``asset_required`` in
catalogue.toml, checked against assets.toml, imported as the layer's id and exported back."""

from __future__ import annotations

import shutil
import tomllib

import pytest
from sqlalchemy import select

from portal.catalogue.models import ServiceCategory
from portal.city.folder import CityConfigError, read_folder
from portal.places.models import AssetLayer
from tests.city.test_config import city_copy, edit

STREETLIGHT = 'code = "streetlight"\n'


def _problems(folder) -> list[str]:
    with pytest.raises(CityConfigError) as caught:
        read_folder(folder)
    return caught.value.problems


def test_the_demo_streetlight_category_asks_for_the_streetlights(runner, db, tmp_path):
    folder = city_copy(tmp_path)
    assert runner.invoke(args=["city", "import", str(folder)]).exit_code == 0
    category = db.scalar(select(ServiceCategory).where(ServiceCategory.code == "streetlight"))
    layer = db.scalar(select(AssetLayer).where(AssetLayer.code == "streetlights"))
    assert category.asset_layer_id == layer.id and category.asset_required is False
    exported = runner.invoke(args=["city", "export", str(tmp_path / "export")])
    assert exported.exit_code == 0, exported.output
    written = tomllib.loads((tmp_path / "export" / "catalogue.toml").read_text("utf-8"))
    entry = next(c for c in written["categories"] if c["code"] == "streetlight")
    assert entry["asset_layer"] == "streetlights" and "asset_required" not in entry
    # Required, exported as such; and the same folder again changes nothing.
    edit(folder / "catalogue.toml", "asset_required = false", "asset_required = true")
    assert runner.invoke(args=["city", "import", str(folder)]).exit_code == 0
    db.expire_all()
    assert category.asset_required is True
    assert runner.invoke(args=["city", "export", str(tmp_path / "again")]).exit_code == 0
    written = tomllib.loads((tmp_path / "again" / "catalogue.toml").read_text("utf-8"))
    entry = next(c for c in written["categories"] if c["code"] == "streetlight")
    assert entry["asset_required"] is True
    again = runner.invoke(args=["city", "import", str(folder)])
    assert "categories: 0 added, 0 changed" in again.output, again.output


def test_an_unknown_layer_is_named_with_a_suggestion(tmp_path):
    folder = city_copy(tmp_path)
    edit(folder / "catalogue.toml", 'asset_layer = "streetlights"', 'asset_layer = "streetlight"')
    assert (
        'catalogue.toml: category "streetlight": asset layer "streetlight" does not exist in '
        'assets.toml (did you mean "streetlights"?)'
    ) in _problems(folder)


def test_a_layer_without_assets_toml_is_refused(tmp_path):
    folder = city_copy(tmp_path)
    (folder / "assets.toml").unlink()
    shutil.rmtree(folder / "assets")
    assert (
        'catalogue.toml: category "streetlight": asset layer "streetlights" does not exist in '
        "assets.toml"
    ) in _problems(folder)


def test_required_without_a_layer_and_a_bad_code_are_refused(tmp_path):
    folder = city_copy(tmp_path)
    edit(folder / "catalogue.toml", 'asset_layer = "streetlights"\n', "")
    edit(folder / "catalogue.toml", "asset_required = false", "asset_required = true")
    problems = _problems(folder)
    assert (
        'catalogue.toml: category "streetlight": asset_required is set but no asset_layer says '
        "which assets to pick from"
    ) in problems
    folder = city_copy(tmp_path / "second")
    edit(folder / "catalogue.toml", 'asset_layer = "streetlights"', 'asset_layer = "Street Lights"')
    edit(folder / "catalogue.toml", "asset_required = false", 'asset_required = "yes"')
    problems = _problems(folder)
    assert any("asset_layer 'Street Lights' must be 1-40 lowercase" in p for p in problems)
    assert 'catalogue.toml: category "streetlight": "asset_required" must be true or false' in (
        problems
    )
