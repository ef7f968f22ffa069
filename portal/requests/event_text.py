"""Timeline entries in the reader's language: the words are chosen when the entry is shown, not
when it is written (no Flask here; the page passes its language).

An entry stores what happened as a kind and data (``portal.requests.events``); the staff case page
and the resident's tracking page word it for whoever reads it, a Spanish-speaking agent and an
English-speaking resident alike. Three things used to be stored as words and are handled here:

- the note the case gets when its last task closes: new entries carry ``data["note"] =
  "work_done"`` (the body keeps the words sent to the resident by email); an older entry has only
  the body, in the resident's language, and is recognised by its text in any language;
- the photos an email to the intake address brought that were not taken: ``data
  ["refused_photos"]`` lists ``"<file>: <code>"``, worded here (the body holds the same codes);
- department and category names, stored as the English name (or a department's code): shown in
  the reader's language from the catalogue, and as stored when the catalogue no longer has them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.catalogue.models import Department, ServiceCategory
from portal.core.i18n import _l
from portal.core.i18n import gettext as translate

#: Notes the system writes on a case, by the code stored in ``data["note"]``.
SYSTEM_NOTES: dict[str, str] = {
    "work_done": _l("All the work on this request is done."),
}
#: Why a photo in an email was not taken (``portal.requests.photos.PhotoError.code``).
PHOTO_REFUSALS: dict[str, str] = {
    "too_many": _l("%(file)s: the request already holds as many photos as it can"),
    "not_image": _l("%(file)s: not a photo"),
    "too_large": _l("%(file)s: larger than the photo size limit"),
    "too_many_pixels": _l("%(file)s: too many pixels"),
    "empty": _l("%(file)s: empty"),
    "busy": _l("%(file)s: could not be checked"),
}
#: The languages an old entry's stored note may be written in.
NOTE_LANGUAGES = ("en", "es")

Names = dict[str, tuple[str, dict[str, Any]]]


def _named(rows: Iterable[Any]) -> Names:
    """English name and translations, by code and by English name."""
    names: Names = {}
    for code, name, translations in rows:
        names.setdefault(name, (name, translations or {}))
        names[code] = (name, translations or {})
    return names


def _in(names: Names, value: Any, locale: str) -> str:
    text = "" if value is None else str(value)
    found = names.get(text)
    if found is None:
        return text
    name, translations = found
    return str((translations.get(locale) or {}).get("name") or name)


class CatalogueNames:
    """Department and category names in a reader's language, looked up by code or by the
    English name an entry stored. Each table is read once (one small query), and only when a
    name must change: an English reader of a name stored in English costs nothing."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._departments: Names | None = None
        self._categories: Names | None = None

    def department(self, value: Any, locale: str) -> str:
        if self._departments is None:
            if locale == "en" and not self._maybe_code(value):
                return "" if value is None else str(value)
            self._departments = _named(
                self.session.execute(
                    select(Department.code, Department.name, Department.translations)
                )
            )
        return _in(self._departments, value, locale)

    def category(self, value: Any, locale: str) -> str:
        if self._categories is None:
            if locale == "en":
                return "" if value is None else str(value)
            self._categories = _named(
                self.session.execute(
                    select(ServiceCategory.code, ServiceCategory.name, ServiceCategory.translations)
                )
            )
        return _in(self._categories, value, locale)

    @staticmethod
    def _maybe_code(value: Any) -> bool:
        """A department code ("streets", "code-enforcement") rather than a name."""
        text = "" if value is None else str(value)
        return bool(text) and text == text.lower() and " " not in text


def system_note(event: Any, locale: str) -> str | None:
    """The system's own note on ``event`` in ``locale``, or None when the body is a person's."""
    data = event.data or {}
    code = data.get("note")
    if isinstance(code, str) and code in SYSTEM_NOTES:
        return translate(locale, SYSTEM_NOTES[code])
    body = (event.body or "").strip()
    if body and event.kind == "status_changed":
        for message in SYSTEM_NOTES.values():
            if any(body == translate(language, message) for language in NOTE_LANGUAGES):
                return translate(locale, message)
    return None


def refused_photos(event: Any, locale: str) -> str | None:
    """The photos of an email that were not taken, one a line, or None."""
    refused = (event.data or {}).get("refused_photos")
    if not isinstance(refused, list) or not refused:
        return None
    lines = []
    for entry in refused:
        name, _, code = str(entry).rpartition(": ")
        message = PHOTO_REFUSALS.get(code)
        lines.append(translate(locale, message, file=name) if name and message else str(entry))
    return "\n".join(lines)


def event_body(event: Any, locale: str) -> str:
    """The text under a timeline entry's title, in ``locale`` when the system wrote it, as
    written when a person did."""
    for worded in (system_note, refused_photos):
        text = worded(event, locale)
        if text is not None:
            return text
    return event.body or ""
