"""The city's settings, read-only in the back office: before any import, after importing the
demo city, and what the environment supplies in their place."""

from __future__ import annotations

import html
import re
from dataclasses import replace

import pytest
from sqlalchemy import select

from portal.city import overview
from portal.city.models import PROFILE_ID, CityProfile
from portal.core.config import Settings
from portal.demo.loader import CITY_DIR
from tests.conftest import sign_in

URL = "/staff/admin/city/"


@pytest.fixture
def admin_client(client, make):
    sign_in(client, make.user(role="admin", name="Ada Admin"))
    return client


def _page(client) -> str:
    response = client.get(URL)
    assert response.status_code == 200
    return html.unescape(response.get_data(as_text=True))


def _import(runner) -> None:
    result = runner.invoke(args=["city", "import", str(CITY_DIR)])
    assert result.exit_code == 0, result.output


def _row(page: str, label: str) -> str:
    """The text of the table row whose heading is ``label``."""
    match = re.search(rf'<th scope="row"[^>]*>{re.escape(label)}</th>(.*?)</tr>', page, re.S)
    assert match, label
    return " ".join(re.sub(r"<[^>]+>", " ", match.group(1)).split())


def test_before_any_import_the_page_says_how_to_import(admin_client):
    page = _page(admin_client)
    assert "No city has been imported yet" in page
    assert "flask city import FOLDER" in page
    assert "flask city import portal/demo/city" in page
    # What is in use meanwhile: the environment's values.
    assert "City of Riverton" in _row(page, "Name")
    assert "http://portal.test" in _row(page, "Base URL")
    assert "Set by the environment" not in page


def test_after_an_import_every_value_and_its_source_is_shown(admin_client, runner, db, settings):
    _import(runner)
    profile = db.get(CityProfile, PROFILE_ID)
    page = _page(admin_client)
    assert "No city has been imported yet" not in page
    assert f"These settings come from {CITY_DIR}/city.toml" in page
    assert "They last changed with the import of" in page
    assert f"flask city import {CITY_DIR}" in page
    assert _row(page, "Name") == "City of Riverton name"
    assert _row(page, "Short name") == "Riverton 311 short_name"
    assert _row(page, "Contact line").startswith("Call 311 (or 555-0100")
    assert _row(page, "Emergency number") == "911 emergency_number"
    assert _row(page, "Time zone") == "America/Chicago timezone"
    assert _row(page, "Languages") == "English (en), Español (es) languages"
    assert _row(page, "Default language") == "English (en) default_language"
    assert _row(page, "Base URL") == "Not set base_url"  # the demo leaves it to the server
    assert _row(page, "Open311 jurisdiction") == "riverton.example [open311] jurisdiction"
    assert _row(page, "Open311 contact").startswith("Riverton 311 API team")
    logo = re.search(r'<img src="(/city/logo\?v=[^"]+)" alt="The logo of City of Riverton"', page)
    assert logo and "logo.svg" in _row(page, "Logo")
    assert admin_client.get(logo.group(1)).status_code == 200
    # Spanish, from city.toml's translations.
    spanish = page[page.index("In Español (es)") :]
    assert _row(spanish, "Name") == "Ciudad de Riverton translations.es.name"
    assert _row(spanish, "Contact line").startswith("Llame al 311")
    assert _row(spanish, "Contact line").endswith("translations.es.contact")
    assert profile.updated_at is not None


def test_what_the_environment_supplies_is_listed(admin_client, runner, settings):
    _import(runner)
    page = _page(admin_client)
    section = page[page.index("Set by the environment") : page.index('id="configuration-heading"')]
    # The test settings set MAIL_FROM; the demo's city.toml sets no base URL.
    assert "MAIL_FROM" in section and "Riverton 311 <no-reply@riverton.example>" in section
    assert "PORTAL_BASE_URL" in section and "http://portal.test" in section
    # city.toml sets the Open311 values: the environment's are not used.
    assert "OPEN311_JURISDICTION" not in section and "OPEN311_CONTACT" not in section


def test_nothing_from_the_environment_says_so(app, admin_client, runner, settings, db):
    _import(runner)
    db.get(CityProfile, PROFILE_ID).base_url = "https://311.riverton.example"
    db.flush()
    environment = replace(settings, mail_from="")
    app.extensions["portal.settings"] = environment  # the next test's app resets it
    app.extensions["portal.city"].clear(environment)
    page = _page(admin_client)
    assert "The environment replaces none of these" in page
    assert _row(page, "Base URL") == "https://311.riverton.example base_url"


def test_environment_overrides_rules():
    profile = CityProfile(
        name="X",
        short_name="X",
        timezone="UTC",
        base_url="",
        open311_jurisdiction="",
        open311_contact="c",
        source="/srv/city",
    )
    base = replace(
        Settings(),
        mail_from="",
        base_url="https://env.example",
        open311_jurisdiction="env.example",
        open311_contact="env contact",
    )
    current = replace(base, open311_contact="c")
    found = {
        o.variable: (o.value, o.kind)
        for o in overview.environment_overrides(base, profile, current)
    }
    assert found == {
        "PORTAL_BASE_URL": ("https://env.example", "fills"),
        "OPEN311_JURISDICTION": ("env.example", "fills"),
    }
    assert overview.environment_overrides(base, None, current) == []
    assert overview.source_file(profile) == "/srv/city/city.toml"


def test_the_page_links_to_the_configuration_pages(admin_client):
    page = _page(admin_client)
    section = page[page.index('id="configuration-heading"') :]
    for url in ("/staff/admin/templates/", "/staff/admin/routing/", "/staff/admin/sla/"):
        assert f'href="{url}"' in section


def test_only_admins_see_it(client, make, db):
    dept = make.department()
    sign_in(client, make.staff(dept, role="supervisor"))
    assert client.get(URL).status_code == 403
    assert db.scalar(select(CityProfile)) is None
