"""The city's settings, read-only: admins only."""

from __future__ import annotations

from tests.access import ADMINS, RouteCheck

CHECKS = [
    RouteCheck("city_profile.overview", lambda w: "/staff/admin/city/", ADMINS),
]
