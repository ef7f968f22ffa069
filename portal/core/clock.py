"""The one place that reads the wall clock, so tests can move time.

Every timestamp the portal stores is an aware UTC ``datetime``.
"""

from __future__ import annotations

from datetime import UTC, datetime

_frozen: datetime | None = None
#: The city's time zone, for calendars without one of their own (``create_app`` and the city
#: profile set it from the settings).
_zone: list[str] = ["America/Chicago"]


def now() -> datetime:
    """Return the current time as an aware UTC datetime."""
    if _frozen is not None:
        return _frozen
    return datetime.now(UTC)


def freeze(moment: datetime | None) -> None:
    """Pin ``now()`` to ``moment`` (``None`` lets time run again). For tests and demo data."""
    global _frozen
    if moment is not None and moment.tzinfo is None:
        raise ValueError("freeze() needs an aware datetime")
    _frozen = moment


def city_zone() -> str:
    """The city's IANA time zone name."""
    return _zone[0]


def set_city_zone(timezone: str) -> None:
    _zone[0] = timezone
