"""The web app manifest (``/manifest.webmanifest``) as plain data: what a phone needs to put
the city's portal on its home screen, in the city's name, colours and icons."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from portal.city.app_icons import ICONS
from portal.core.config import Settings

#: Where the installed app opens (the home page; the query tells the logs it was the app).
START_URL = "/?source=pwa"
#: The languages the portal speaks that are written right to left (none yet).
RTL_LANGUAGES: frozenset[str] = frozenset()


def web_manifest(
    settings: Settings, *, locale: str, description: str, icon_url: Callable[[str], str]
) -> dict[str, Any]:
    """The manifest in ``locale`` (the city's name in that language); ``icon_url`` gives the
    URL of an icon file of ``portal.city.app_icons.ICONS`` by name."""
    return {
        "id": "/",
        # The service's name as the page header shows it ("Springfield 311"); the
        # description names the city in full.
        "name": settings.city_text("short_name", locale),
        "short_name": settings.app_short_name,
        "description": description,
        "lang": locale,
        "dir": "rtl" if locale in RTL_LANGUAGES else "ltr",
        "start_url": START_URL,
        "scope": "/",
        "display": "standalone",
        "theme_color": settings.theme_color,
        "background_color": settings.background_color,
        "icons": [
            {
                "src": icon_url(icon.name),
                "sizes": f"{icon.size}x{icon.size}",
                "type": "image/png",
                "purpose": icon.purpose,
            }
            for icon in ICONS
            if icon.purpose
        ],
    }
