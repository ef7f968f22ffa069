"""Language helpers that do not need Flask: ``_l`` marks a message id for extraction
(``pybabel extract -k _l``; the text is translated where it is shown), ``format_duration``
writes a duration in the reader's language, ``format_moment`` / ``format_day`` / ``format_clock``
write a date and time the one way each language shows them (pages and emails alike), and
``gettext(locale, message)`` translates outside a web request (emails, timeline text)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, tzinfo
from functools import lru_cache
from typing import Any

from babel.dates import (
    format_date,
    format_datetime,
    format_time,
    format_timedelta,
    get_date_format,
    get_datetime_format,
    get_time_format,
)
from babel.support import NullTranslations, Translations

from portal.core.config import ROOT


def _l(message: str) -> str:
    """Mark ``message`` for extraction; it is translated where it is shown."""
    return message


def format_duration(seconds: float, locale: str) -> str:
    """A rounded, human duration: "3 hours", "2 days" (in ``locale``)."""
    return format_timedelta(timedelta(seconds=max(int(seconds), 0)), threshold=1.5, locale=locale)


@lru_cache(maxsize=16)
def datetime_pattern(locale: str) -> str:
    """The one date-and-time pattern of ``locale``: its medium date and its short time (never
    seconds), joined the way the language joins them. English "Dec 7, 2026, 2:05 PM", Spanish
    "7 dic 2026, 14:05"."""
    glue = str(get_datetime_format("medium", locale=locale))
    day = get_date_format("medium", locale=locale).pattern
    clock = get_time_format("short", locale=locale).pattern
    return glue.replace("{1}", day).replace("{0}", clock)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def format_moment(value: datetime, locale: str, zone: tzinfo) -> str:
    """A date and time in ``zone`` (the city's), as every page and email shows it, no seconds
    (naive values are UTC)."""
    return format_datetime(_aware(value), datetime_pattern(locale), tzinfo=zone, locale=locale)


def format_day(value: date | datetime, locale: str, zone: tzinfo) -> str:
    """A day as pages show it ("Dec 7, 2026", "7 dic 2026"); a datetime's day in ``zone``."""
    if isinstance(value, datetime):
        value = _aware(value).astimezone(zone).date()
    return format_date(value, "medium", locale=locale)


def format_clock(value: datetime, locale: str, zone: tzinfo) -> str:
    """A time of day in ``zone``, no seconds ("2:05 PM", "14:05")."""
    return format_time(_aware(value), "short", tzinfo=zone, locale=locale)


TRANSLATIONS_DIR = ROOT / "portal" / "translations"


@lru_cache(maxsize=8)
def translations(locale: str) -> NullTranslations:
    if locale == "en":
        return NullTranslations()
    return Translations.load(str(TRANSLATIONS_DIR), [locale], domain="messages")


def gettext(locale: str, message: str, **variables: Any) -> str:
    """Translate one string outside a request (timeline text stored for a resident)."""
    translated = translations(locale if locale in ("en", "es") else "en").gettext(message)
    return translated % variables if variables else translated
