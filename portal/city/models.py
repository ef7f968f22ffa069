"""The city's own profile: its name, contact line, logo, time zone and languages.

One row (``id`` 1), written by ``flask city import`` from the folder's ``city.toml`` and read by
every page, email and document through ``portal.city.profile``. Nothing here is edited in the
back office: a city changes its configuration folder and imports it again.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from portal.core import clock
from portal.core.db import Base
from portal.core.models import JsonDoc, Translatable

PROFILE_ID = 1


class CityProfile(Translatable, Base):
    __tablename__ = "city_profile"

    id: Mapped[int] = mapped_column(primary_key=True, default=PROFILE_ID)
    #: "City of Springfield": the city's full name (page titles, emails, documents).
    name: Mapped[str] = mapped_column(String(120))
    #: "Springfield 311": the name in the header and on a phone's home screen.
    short_name: Mapped[str] = mapped_column(String(40))
    #: One line residents can reach the city on ("Call 311 or (555) 010-0311, ...").
    contact: Mapped[str] = mapped_column(String(300), default="")
    #: The number residents call in an emergency ("911").
    emergency_number: Mapped[str] = mapped_column(String(20), default="911")
    timezone: Mapped[str] = mapped_column(String(64))
    default_language: Mapped[str] = mapped_column(String(8), default="en")
    languages: Mapped[list[str]] = mapped_column(JsonDoc, default=lambda: ["en"])
    base_url: Mapped[str] = mapped_column(String(300), default="")
    open311_jurisdiction: Mapped[str] = mapped_column(String(120), default="")
    open311_contact: Mapped[str] = mapped_column(String(300), default="")
    #: Loaded only when asked for (the logo route), not with every profile read.
    logo: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    logo_filename: Mapped[str] = mapped_column(String(120), default="")
    logo_type: Mapped[str] = mapped_column(String(40), default="")
    #: Where it was imported from (the folder, as given to ``flask city import``).
    source: Mapped[str] = mapped_column(String(500), default="")
    #: What ``city.toml`` said, key by key (the back office shows it read-only).
    settings: Mapped[dict[str, Any]] = mapped_column(JsonDoc, default=dict)
    updated_at: Mapped[datetime] = mapped_column(default=clock.now)
