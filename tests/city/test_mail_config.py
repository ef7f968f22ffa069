"""city.toml's [mail] table: the mail domain of reply addresses and Message-IDs, and the
intake address residents write new requests to. Checked when the folder is read, imported
into the city profile, applied to the settings (the environment wins), shown in the back
office and written back by `flask city export`."""

from __future__ import annotations

import html
import shutil
import tomllib
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import func, select

from portal.city import city_file, overview
from portal.city.models import PROFILE_ID, CityProfile
from portal.city.profile import city_settings
from portal.demo.loader import CITY_DIR
from tests.city.test_schemas import schema, schema_errors
from tests.conftest import sign_in

PORT_ALDER = Path(__file__).resolve().parents[1] / "cities" / "port-alder"
MAIL = {"domain": "fixit.portalder.example", "intake": "fixit@portalder.example"}


def alder_copy(tmp_path: Path) -> Path:
    folder = tmp_path / "alder"
    shutil.copytree(PORT_ALDER, folder)
    return folder


def set_mail(folder: Path, table: str) -> None:
    """Replace city.toml's [mail] table (the last one in the file) with ``table``; a plain
    key goes before the first table instead."""
    path = folder / "city.toml"
    text = path.read_text(encoding="utf-8")
    text = text[: text.index("\n[mail]")] + "\n"
    path.write_text(
        text + table if not table or table.startswith("[") else table + text, encoding="utf-8"
    )


def city_import(runner, folder: Path):
    return runner.invoke(args=["city", "import", str(folder)])


def test_the_mail_table_is_imported_applied_and_exported(runner, db, app, settings, tmp_path):
    result = city_import(runner, PORT_ALDER)
    assert result.exit_code == 0, result.output
    profile = db.get(CityProfile, PROFILE_ID)
    assert profile.settings["mail"] == MAIL

    current = app.extensions["portal.city"].settings()
    assert (current.mail_domain, current.mail_intake) == (MAIL["domain"], MAIL["intake"])
    assert current.reply_domain == "fixit.portalder.example"
    # The test settings set no PORTAL_MAIL_*: the file's values are in use.
    variables = [o.variable for o in overview.environment_overrides(settings, profile, current)]
    assert "PORTAL_MAIL_DOMAIN" not in variables and "PORTAL_MAIL_INTAKE" not in variables

    exported = runner.invoke(args=["city", "export", str(tmp_path / "export")])
    assert exported.exit_code == 0, exported.output
    written = tomllib.loads((tmp_path / "export" / "city.toml").read_text(encoding="utf-8"))
    assert written["mail"] == MAIL
    assert schema_errors("city.toml", written) == []
    # The exported folder is the same city: importing it again changes nothing.
    again = city_import(runner, tmp_path / "export")
    assert again.exit_code == 0, again.output
    assert "was already imported: nothing changed" in again.output


def test_the_environment_wins_over_the_file(runner, db, settings):
    assert city_import(runner, PORT_ALDER).exit_code == 0
    profile = db.get(CityProfile, PROFILE_ID)
    base = replace(settings, mail_domain="mx.portalder.example", mail_intake="")
    current = city_settings(base, profile)
    assert current.mail_domain == "mx.portalder.example"
    assert current.mail_intake == MAIL["intake"]  # the file's, where the environment is empty
    mail = [
        o
        for o in overview.environment_overrides(base, profile, current)
        if "MAIL_" in o.variable and o.variable != "MAIL_FROM"
    ]
    assert [(o.variable, o.value, o.kind) for o in mail] == [
        ("PORTAL_MAIL_DOMAIN", "mx.portalder.example", "replaces")
    ]


def test_without_a_mail_table_replies_go_to_the_senders_domain(runner, db, settings, tmp_path):
    folder = alder_copy(tmp_path)
    set_mail(folder, "")
    assert city_import(runner, folder).exit_code == 0
    profile = db.get(CityProfile, PROFILE_ID)
    assert "mail" not in profile.settings
    current = city_settings(settings, profile)
    assert (current.mail_domain, current.mail_intake) == ("", "")
    assert current.reply_domain == "riverton.example"  # the test settings' MAIL_FROM
    base = replace(settings, mail_domain="mx.portalder.example")
    filled = [
        (o.variable, o.kind)
        for o in overview.environment_overrides(base, profile, city_settings(base, profile))
        if o.variable == "PORTAL_MAIL_DOMAIN"
    ]
    assert filled == [("PORTAL_MAIL_DOMAIN", "fills")]
    exported = runner.invoke(args=["city", "export", str(tmp_path / "export")])
    assert exported.exit_code == 0, exported.output
    assert "mail" not in tomllib.loads((tmp_path / "export" / "city.toml").read_text("utf-8"))


def test_values_are_kept_in_lower_case(runner, db, tmp_path):
    folder = alder_copy(tmp_path)
    set_mail(
        folder, '[mail]\ndomain = " FixIt.PortAlder.Example "\nintake = "FixIt@PortAlder.Example"\n'
    )
    assert city_import(runner, folder).exit_code == 0
    mail = db.get(CityProfile, PROFILE_ID).settings["mail"]
    # The domain in lower case; a local part's case is the mailbox owner's business.
    assert mail == {"domain": "fixit.portalder.example", "intake": "FixIt@portalder.example"}


BROKEN = [
    (
        '[mail]\ndomain = "fixit_portalder"\n',
        'city.toml: [mail]: domain "fixit_portalder" is not a mail domain (like '
        '"mail.springfield.gov")',
    ),
    (
        '[mail]\ndomain = "localhost"\n',
        'city.toml: [mail]: domain "localhost" is not a mail domain',
    ),
    (
        '[mail]\nintake = "fixit at portalder"\n',
        'city.toml: [mail]: intake "fixit at portalder" is not an email address (an email '
        "address must have an @-sign)",
    ),
    (
        '[mail]\nintake = "reply+fixit@portalder.example"\n',
        'city.toml: [mail]: intake "reply+fixit@portalder.example" starts with "reply+", which '
        "is kept for reply addresses",
    ),
    (
        '[mail]\ndomian = "portalder.example"\n',
        'city.toml: [mail]: unknown key "domian" (expected one of domain, intake, intake_category)',
    ),
    ("[mail]\ndomain = 25\n", 'city.toml: [mail]: "domain" must be text'),
    ('mail = "fixit@portalder.example"\n', 'city.toml: the file: "mail" must be a table ([mail])'),
    (
        '[mail]\nintake_category = "lek"\n',
        'city.toml: [mail]: intake_category: category "lek" does not exist (did you mean "leak"?)',
    ),
]


@pytest.mark.parametrize(("table", "message"), BROKEN)
def test_a_bad_mail_value_is_named_and_nothing_is_written(runner, db, tmp_path, table, message):
    folder = alder_copy(tmp_path)
    set_mail(folder, table)

    result = city_import(runner, folder)

    assert result.exit_code == 1
    assert message in result.output
    assert db.scalar(select(func.count()).select_from(CityProfile)) == 0


def test_the_schema_allows_what_the_reader_allows():
    mail = schema("city.toml")["properties"]["mail"]
    assert set(mail["properties"]) == city_file._MAIL_KEYS
    demo = tomllib.loads((CITY_DIR / "city.toml").read_text(encoding="utf-8"))
    assert demo["mail"] == {
        "domain": "riverton.example",
        "intake": "311@riverton.example",
        "intake_category": "general",
    }
    assert schema_errors("city.toml", demo) == []
    for intake in ("reply+x@riverton.example", "311 at riverton", "Reply+x@riverton.example"):
        broken = dict(demo, mail={"intake": intake})
        assert schema_errors("city.toml", broken), intake
    assert schema_errors("city.toml", dict(demo, mail={"domain": "a.example", "x": "1"}))


def test_the_back_office_shows_the_mail_settings_and_their_source(
    client, make, runner, app, settings
):
    assert city_import(runner, PORT_ALDER).exit_code == 0
    environment = replace(settings, mail_intake="desk@portalder.example")
    app.extensions["portal.settings"] = environment  # the next test's app resets it
    app.extensions["portal.city"].clear(environment)
    sign_in(client, make.user(role="admin", name="Ada Admin"))
    page = html.unescape(client.get("/staff/admin/city/").get_data(as_text=True))
    assert "fixit.portalder.example" in page and "[mail] domain" in page
    assert "fixit@portalder.example" in page and "[mail] intake" in page
    section = page[page.index("Set by the environment") : page.index('id="configuration-heading"')]
    assert "PORTAL_MAIL_INTAKE" in section and "desk@portalder.example" in section
    assert "PORTAL_MAIL_DOMAIN" not in section


def test_the_intake_category_is_imported_applied_exported_and_overridden(
    runner, db, app, settings, tmp_path
):
    folder = alder_copy(tmp_path)
    set_mail(folder, '[mail]\nintake = "fixit@portalder.example"\nintake_category = "leak"\n')
    result = city_import(runner, folder)
    assert result.exit_code == 0, result.output
    profile = db.get(CityProfile, PROFILE_ID)
    assert app.extensions["portal.city"].settings().mail_intake_category == "leak"
    exported = runner.invoke(args=["city", "export", str(tmp_path / "export")])
    assert exported.exit_code == 0, exported.output
    written = tomllib.loads((tmp_path / "export" / "city.toml").read_text(encoding="utf-8"))
    assert written["mail"]["intake_category"] == "leak"
    base = replace(settings, mail_intake_category="road-damage")
    current = city_settings(base, profile)
    assert current.mail_intake_category == "road-damage"
    assert ("PORTAL_MAIL_INTAKE_CATEGORY", "road-damage", "replaces") in [
        (o.variable, o.value, o.kind)
        for o in overview.environment_overrides(base, profile, current)
    ]
