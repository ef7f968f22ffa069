"""What the back office's read-only city page shows besides the profile itself: where the profile
came from and which values the environment supplies in its place (no Flask here).

The profile (``city.toml``, imported by ``flask city import``) wins over the environment for
everything it sets; a few values it leaves empty fall back to the environment, and ``MAIL_FROM``
(when set) replaces the sender address made from the short name and base URL, as
``PORTAL_MAIL_DOMAIN`` and ``PORTAL_MAIL_INTAKE`` replace ``[mail]``'s domain and intake.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePath

from portal.city.models import CityProfile
from portal.city.profile import mail_setting
from portal.core.config import Settings

CITY_FILE = "city.toml"


@dataclass(frozen=True)
class Override:
    #: The setting as ``Settings`` names it (``mail_from``...).
    setting: str
    #: The environment variable it comes from.
    variable: str
    #: The value in use.
    value: str
    #: ``replaces``: the environment wins over what the city's values would give;
    #: ``fills``: city.toml leaves it empty and the environment supplies it.
    kind: str


def source_file(profile: CityProfile) -> str:
    """The ``city.toml`` the profile was imported from, as the import was given its folder."""
    if not profile.source:
        return CITY_FILE
    return str(PurePath(profile.source) / CITY_FILE)


def environment_overrides(
    base: Settings, profile: CityProfile | None, current: Settings
) -> list[Override]:
    """What ``base`` (the environment's settings) supplies in place of the profile's values,
    given ``current`` (the two joined, ``portal.city.profile.city_settings``). Without a
    profile everything comes from the environment: the caller says so instead."""
    if profile is None:
        return []
    overrides = []
    if base.mail_from:
        overrides.append(Override("mail_from", "MAIL_FROM", current.mail_from, "replaces"))
    if not profile.base_url:
        overrides.append(Override("base_url", "PORTAL_BASE_URL", current.base_url, "fills"))
    if not profile.open311_jurisdiction and base.open311_jurisdiction:
        overrides.append(
            Override(
                "open311_jurisdiction",
                "OPEN311_JURISDICTION",
                current.open311_jurisdiction,
                "fills",
            )
        )
    for setting, variable, key in (
        ("mail_domain", "PORTAL_MAIL_DOMAIN", "domain"),
        ("mail_intake", "PORTAL_MAIL_INTAKE", "intake"),
        ("mail_intake_category", "PORTAL_MAIL_INTAKE_CATEGORY", "intake_category"),
    ):
        if getattr(base, setting):
            kind = "replaces" if mail_setting(profile, key) else "fills"
            overrides.append(Override(setting, variable, getattr(current, setting), kind))
    if not profile.open311_contact and base.open311_contact:
        overrides.append(
            Override("open311_contact", "OPEN311_CONTACT", current.open311_contact, "fills")
        )
    return overrides
