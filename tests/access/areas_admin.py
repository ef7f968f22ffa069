"""Areas (list, upload, preview, apply): admins only."""

from __future__ import annotations

from tests.access import ADMINS, RouteCheck

BASE = "/staff/admin/areas"

CHECKS = [
    RouteCheck("city_areas.index", lambda w: f"{BASE}/", ADMINS),
    # Without a file: the admin gets the form back with its error (400).
    RouteCheck("city_areas.upload", lambda w: f"{BASE}/upload", ADMINS, method="POST"),
    # Without a token: back to the list; with a forged one: "upload it again" (400).
    RouteCheck("city_areas.preview", lambda w: f"{BASE}/preview", ADMINS),
    RouteCheck("city_areas.preview", lambda w: f"{BASE}/preview?upload=forged", ADMINS),
    RouteCheck(
        "city_areas.apply",
        lambda w: f"{BASE}/apply",
        ADMINS,
        method="POST",
        data=lambda w: {"upload": "forged", "state": "x"},
    ),
]
