"""The basemap setting: no outside network unless configured, and then the
Content-Security-Policy allows images from that tile host only."""

from __future__ import annotations

from dataclasses import replace

import pytest

from portal.core.config import ConfigError, Settings
from tests.conftest import own_app_client


def img_src(response) -> str:
    policy = response.headers["Content-Security-Policy"]
    return next(p.strip() for p in policy.split(";") if p.strip().startswith("img-src"))


def test_without_a_basemap_images_come_only_from_the_portal(client):
    response = client.get("/around/")
    assert img_src(response) == "img-src 'self' data:"
    assert "&#34;tiles&#34;: &#34;&#34;" in response.get_data(as_text=True)  # no basemap


def test_a_basemap_is_allowed_from_its_host_only(settings):
    configured = replace(
        settings,
        map_tiles_url="https://{s}.tiles.example.org/{z}/{x}/{y}.png",
        map_attribution="© Example <contributors>",
    )
    with own_app_client(configured) as client:
        response = client.get("/around/")
        assert img_src(response) == "img-src 'self' data: https://*.tiles.example.org"
        page = response.get_data(as_text=True)
        assert "https://{s}.tiles.example.org/{z}/{x}/{y}.png" in page
        assert "\\u003ccontributors\\u003e" in page  # escaped in the attribute


@pytest.mark.parametrize(
    "value",
    [
        "http://tiles.example.org/{z}/{x}/{y}.png",  # not https
        "https://tiles.example.org/tiles.png",  # no {z}/{x}/{y}
        "javascript:alert(1)//{z}{x}{y}",
        "https:///{z}/{x}/{y}",
    ],
)
def test_a_bad_tile_url_refuses_to_start(value):
    with pytest.raises(ConfigError, match="PORTAL_MAP_TILES"):
        Settings.from_env({"PORTAL_MAP_TILES": value})


def test_tile_url_and_attribution_from_the_environment():
    settings = Settings.from_env(
        {
            "PORTAL_MAP_TILES": "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
            "PORTAL_MAP_ATTRIBUTION": "© OpenStreetMap contributors",
        }
    )
    assert settings.map_tiles_url == "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
    assert settings.map_attribution == "© OpenStreetMap contributors"
    assert Settings.from_env({}).map_tiles_url == ""
