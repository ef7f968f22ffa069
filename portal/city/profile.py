"""The settings every page, email and job sees: the environment's, with the city's profile on top.

``Settings`` come from the environment (secrets, database, mail server); what a city is called,
its contact line, time zone, languages, base URL and mail addresses come from its ``city.toml``,
imported into the ``city_profile`` row. ``CityCache`` joins the two for a process and keeps the
result for ``TTL_SECONDS``, so a new import shows everywhere within that time without a query
per page.
Before any city is imported, the environment's values (or neutral defaults) are used.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import replace
from urllib.parse import urlsplit

from sqlalchemy.exc import OperationalError, ProgrammingError, SQLAlchemyError

from portal.city.app_icons import icons_version
from portal.city.city_file import APP_SHORT_NAME_MAX
from portal.city.models import PROFILE_ID, CityProfile
from portal.core.config import Settings
from portal.core.db import Database

TTL_SECONDS = 30.0
#: How soon to ask again when the database could not be reached.
RETRY_SECONDS = 5.0


def city_settings(base: Settings, profile: CityProfile | None) -> Settings:
    """``base`` with the profile's values (when there is one) and the derived defaults."""
    settings = base
    if profile is not None:
        settings = replace(
            base,
            city_name=profile.name,
            short_name=profile.short_name,
            city_contact=profile.contact,
            emergency_number=profile.emergency_number,
            timezone=profile.timezone,
            languages=tuple(profile.languages or ["en"]),
            default_language=profile.default_language,
            base_url=profile.base_url or base.base_url,
            open311_jurisdiction=profile.open311_jurisdiction or base.open311_jurisdiction,
            open311_contact=profile.open311_contact or base.open311_contact,
            logo_version=f"{int(profile.updated_at.timestamp())}" if profile.logo_filename else "",
            city_translations=profile.translations or {},
            # The environment (PORTAL_MAIL_DOMAIN, PORTAL_MAIL_INTAKE) wins over [mail].
            mail_domain=base.mail_domain or mail_setting(profile, "domain"),
            mail_intake=base.mail_intake or mail_setting(profile, "intake"),
            mail_intake_category=(
                base.mail_intake_category or mail_setting(profile, "intake_category")
            ),
        )
    if profile is not None:
        app = (profile.settings or {}).get("app")
        app = app if isinstance(app, dict) else {}
        settings = replace(
            settings,
            app_short_name=str(app.get("short_name") or ""),
            theme_color=str(app.get("theme_color") or base.theme_color),
            background_color=str(app.get("background_color") or base.background_color),
        )
        performance = (profile.settings or {}).get("performance")
        performance = performance if isinstance(performance, dict) else {}
        names = {
            locale: str(values.get("shame_wall") or "")
            for locale, values in (performance.get("translations") or {}).items()
            if isinstance(values, dict)
        }
        if performance.get("shame_wall"):
            names["en"] = str(performance["shame_wall"])
        settings = replace(
            settings,
            public_shame_wall=performance.get("public_shame_wall", True) is not False,
            shame_wall_names={k: v for k, v in names.items() if v},
        )
    host = mail_host(settings.base_url)
    return replace(
        settings,
        mail_from=settings.mail_from or f"{settings.short_name} <no-reply@{host}>",
        open311_jurisdiction=settings.open311_jurisdiction or host,
        app_short_name=settings.app_short_name or home_screen_name(settings.short_name),
        icons_version=icons_version(
            logo_version=settings.logo_version,
            theme_color=settings.theme_color,
            background_color=settings.background_color,
        ),
    )


def home_screen_name(short_name: str) -> str:
    """The name under the home-screen icon when ``[app]`` gives none: ``short_name`` if it
    fits, else its first words that do ("Springfield 311" -> "Springfield"), else its start."""
    if len(short_name) <= APP_SHORT_NAME_MAX:
        return short_name
    words = ""
    for word in short_name.split():
        if len(f"{words} {word}".strip()) > APP_SHORT_NAME_MAX:
            break
        words = f"{words} {word}".strip()
    return words or short_name[:APP_SHORT_NAME_MAX].rstrip()


def mail_setting(profile: CityProfile, key: str) -> str:
    """``city.toml``'s ``[mail]`` ``key`` as imported (checked by ``city_file``), or ""."""
    mail = (profile.settings or {}).get("mail")
    value = mail.get(key) if isinstance(mail, dict) else None
    return value if isinstance(value, str) else ""


def mail_host(base_url: str) -> str:
    """The base URL's host when it can be a mail domain, else ``localhost``."""
    host = urlsplit(base_url).hostname or ""
    return host if "." in host and not host.replace(".", "").isdigit() else "localhost"


class CityCache:
    """The joined settings of one process, read again at most every ``TTL_SECONDS``."""

    def __init__(
        self, base: Settings, db: Database, *, on_change: Callable[[Settings], None] | None = None
    ) -> None:
        self.base = base
        self.db = db
        self.on_change = on_change
        self._lock = threading.Lock()
        self._value: Settings | None = None
        self._expires = 0.0

    def settings(self) -> Settings:
        value, moment = self._value, time.monotonic()
        if value is not None and moment < self._expires:
            return value
        with self._lock:
            if self._value is None or time.monotonic() >= self._expires:
                try:
                    fresh = city_settings(self.base, self._profile())
                    ttl = TTL_SECONDS
                except SQLAlchemyError:
                    # The database is away: keep what the city was (or the environment's
                    # values before anything was read) and ask again soon.
                    fresh, ttl = self._value or city_settings(self.base, None), RETRY_SECONDS
                if fresh != self._value and self.on_change is not None:
                    self.on_change(fresh)
                self._value, self._expires = fresh, time.monotonic() + ttl
            assert self._value is not None
            return self._value

    def clear(self, base: Settings | None = None) -> None:
        """Read the profile again on next use (after an import, or with new base settings)."""
        with self._lock:
            if base is not None:
                self.base = base
            self._value = None

    def _profile(self) -> CityProfile | None:
        """The imported profile; ``None`` before any import or before the schema exists
        (``flask db upgrade`` runs through this app too). Raises ``SQLAlchemyError`` when
        the database cannot be reached."""
        try:
            with self.db.transaction(write=False) as session:
                return session.get(CityProfile, PROFILE_ID)
        except (OperationalError, ProgrammingError) as exc:
            if _missing_table(exc):
                return None
            raise


def _missing_table(exc: Exception) -> bool:
    """SQLite's "no such table" or PostgreSQL's undefined table (SQLSTATE 42P01)."""
    text = str(getattr(exc, "orig", exc))
    return (
        "no such table" in text or getattr(getattr(exc, "orig", None), "sqlstate", None) == "42P01"
    )
