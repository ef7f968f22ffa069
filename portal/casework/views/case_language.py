"""The language of what the resident wrote on a case, and its machine translation for the
reader (issue 22, ``portal.assist.language``).

The language is detected on display, not stored: it takes about 0.2 ms a text, so a case's
description and resident messages cost nothing worth a column (and a better detector applies
to old texts at once). A text whose language is a city language other than the reader's
offers a machine translation into the reader's; it is made when asked for (the link
``?translate=<key>`` renders the case page with it, the case page's script loads it in place)
because Apertium takes ~250 ms a text, and kept in the process's cache after that. The
original is always shown, marked with its language.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable
from typing import Any

from babel import Locale

from portal.assist import language
from portal.i18n import current_locale
from portal.requests.models import Event, ServiceRequest
from portal.web import settings

#: At most this many translations are made for one page view (each runs Apertium).
MAX_PER_PAGE = 5


def _language_name(code: str, locale: str) -> str:
    try:
        return Locale.parse(code).get_display_name(locale) or code
    except (ValueError, TypeError):
        return code


def _texts(
    sr: ServiceRequest, timeline: Iterable[Event], others: Iterable[tuple[str, str]]
) -> list[tuple[str, str]]:
    """(key, text) of every text on the case the resident wrote."""
    texts = [("description", sr.description or ""), *others]
    for event in timeline:
        if event.actor_kind == "resident" and (event.body or "").strip():
            texts.append((f"event-{event.id}", event.body))
    return texts


def resident_texts(
    sr: ServiceRequest,
    timeline: Iterable[Event],
    wanted: Iterable[str],
    others: Iterable[tuple[str, str]] = (),
) -> dict[str, dict[str, Any]]:
    """For each resident text on the case, by key ("description", "event-<id>", and the
    ``others`` given, such as "survey-<question>" for survey comments): its
    detected language (``lang``, None when unsure), whether a translation into the reader's
    language is offered, and the translation when ``wanted`` asks for it (``failed`` when it
    could not be made). Empty when language detection is switched off."""
    config = settings()
    if not config.assist_language:
        return {}
    reader = current_locale()
    translator = config.assist_translate and shutil.which(config.assist_apertium) is not None
    asked = set(wanted)
    made = 0
    found: dict[str, dict[str, Any]] = {}
    for key, text in _texts(sr, timeline, others):
        lang = language.detect(text, config.languages)
        info: dict[str, Any] = {"key": key, "lang": lang, "offer": False}
        if lang is not None and lang != reader:
            info["language_name"] = _language_name(lang, reader)
            info["reader_language_name"] = _language_name(reader, reader)
            info["reader"] = reader
            info["offer"] = translator and language.can_translate(lang, reader)
        if info["offer"]:
            translation = language.cached_translation(text, lang, reader)
            if translation is None and (key in asked or "all" in asked) and made < MAX_PER_PAGE:
                made += 1
                translation = language.translate(text, lang, reader, command=config.assist_apertium)
                info["failed"] = translation is None
            info["translation"] = translation
        found[key] = info
    return found
