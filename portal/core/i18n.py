"""Language helpers that do not need Flask: ``_l`` marks a message id for extraction
(``pybabel extract -k _l``; the text is translated where it is shown), ``format_duration``
writes a duration in the reader's language, and ``gettext(locale, message)`` translates outside
a web request (emails, timeline text stored for a resident)."""

from __future__ import annotations

from datetime import timedelta
from functools import lru_cache
from typing import Any

from babel.dates import format_timedelta
from babel.support import NullTranslations, Translations

from portal.core.config import ROOT


def _l(message: str) -> str:
    """Mark ``message`` for extraction; it is translated where it is shown."""
    return message


def format_duration(seconds: float, locale: str) -> str:
    """A rounded, human duration: "3 hours", "2 days" (in ``locale``)."""
    return format_timedelta(timedelta(seconds=max(int(seconds), 0)), threshold=1.5, locale=locale)


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
