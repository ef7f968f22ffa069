"""The foundation: configuration, health, migrations, error pages."""

from __future__ import annotations

import pytest

from portal import create_app
from portal.core.config import ConfigError, Settings


def test_healthz_reports_the_database(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json["status"] == "ok" and response.json["database"] == "ok"


def test_healthz_is_503_when_the_database_is_unreachable(settings):
    from dataclasses import replace

    broken = replace(settings, database_url="postgresql+psycopg://nobody@127.0.0.1:1/none")
    app = create_app(broken)
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.json["database"] == "unreachable"


@pytest.mark.parametrize(
    "environ, problem",
    [
        ({"PORTAL_ENV": "production", "DATABASE_URL": "postgresql://db/portal"}, "SECRET_KEY"),
        ({"PORTAL_ENV": "production", "SECRET_KEY": "x" * 40, "SMTP_HOST": "mail"}, "DATABASE_URL"),
        (
            {
                "PORTAL_ENV": "production",
                "SECRET_KEY": "short",
                "DATABASE_URL": "postgresql://db/portal",
                "SMTP_HOST": "mail",
            },
            "SECRET_KEY",
        ),
        # Long enough, but no randomness in it.
        (
            {
                "PORTAL_ENV": "production",
                "SECRET_KEY": "x" * 40,
                "DATABASE_URL": "postgresql://db/portal",
                "SMTP_HOST": "mail",
            },
            "SECRET_KEY is not random enough",
        ),
        (
            {
                "PORTAL_ENV": "production",
                "SECRET_KEY": "ab" * 30,
                "DATABASE_URL": "postgresql://db/portal",
                "SMTP_HOST": "mail",
            },
            "SECRET_KEY is not random enough",
        ),
        ({"PORTAL_TRUSTED_PROXIES": "many"}, "PORTAL_TRUSTED_PROXIES must be a whole number"),
        ({"SMTP_TIMEOUT": "0"}, "SMTP_TIMEOUT must be between 1 and 300"),
        ({"PORTAL_TRUSTED_PROXIES": "-1"}, "PORTAL_TRUSTED_PROXIES must be between 0 and 5"),
        ({"PORTAL_METRICS_ALLOW": "10.0.0.0/8, localhost"}, "'localhost' is not one"),
    ],
)
def test_production_refuses_unsafe_settings(environ, problem):
    with pytest.raises(ConfigError, match=problem):
        Settings.from_env(environ)


def test_production_accepts_complete_settings():
    settings = Settings.from_env(
        {
            "PORTAL_ENV": "production",
            # What secrets.token_hex(16) gives: 128 random bits.
            "SECRET_KEY": "9f1c04be27d86a53e0b4c7192fd85a6e",
            "DATABASE_URL": "postgres://db/portal",
            "SMTP_HOST": "mail",
        }
    )
    assert settings.database_url == "postgresql+psycopg://db/portal"
    assert Settings.from_env({"SMTP_TIMEOUT": "25"}).smtp_timeout == 25
    app = create_app(settings)
    assert app.config["SESSION_COOKIE_SECURE"] is True


def test_unknown_page_is_a_404_in_the_layout(client):
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert b"Page not found" in response.data
    assert b'class="usa-skipnav"' in response.data


def test_language_switch_is_remembered(client):
    response = client.get("/accessibility?lang=es")
    assert 'lang="es"' in response.get_data(as_text=True)
    assert "portal_lang=es" in response.headers.get("Set-Cookie", "")
    assert 'lang="es"' in client.get("/accessibility").get_data(as_text=True)


def test_browser_language_is_used_when_nothing_was_chosen(client):
    page = client.get("/accessibility", headers={"Accept-Language": "es-MX,es;q=0.9"})
    assert 'lang="es"' in page.get_data(as_text=True)


def test_nul_characters_are_refused_with_a_400(client):
    assert client.get("/requests/SR-1%00").status_code == 400
    assert client.get("/report/?category=a%00b").status_code == 400
