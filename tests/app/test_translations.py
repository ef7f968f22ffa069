"""Every user-facing string has a Spanish translation."""

from __future__ import annotations

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from portal.core.config import ROOT

KEYWORDS = {
    "_": None,
    "gettext": None,
    "ngettext": (1, 2),
    "_l": None,
    "lazy_gettext": None,
    "pgettext": ((1, "c"), 2),
}
METHODS = [
    ("portal/**.py", "python"),
    ("templates/**.html", "jinja2"),
    ("templates/**.txt", "jinja2"),
]


def _source_messages() -> set[str]:
    found: set[str] = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(ROOT),
        METHODS,
        keywords=KEYWORDS,
        options_map={
            "templates/**.html": {"extensions": "jinja2.ext.i18n"},
            "templates/**.txt": {"extensions": "jinja2.ext.i18n"},
        },
    ):
        found.add(message[0] if isinstance(message, tuple) else message)
    return found


def test_every_message_has_a_spanish_translation():
    with open(ROOT / "portal/translations/es/LC_MESSAGES/messages.po", "rb") as handle:
        catalog = read_po(handle, locale="es")
    missing = []
    for msgid in sorted(_source_messages()):
        entry = catalog.get(msgid)
        if (
            entry is None
            or entry.fuzzy
            or not (entry.string if isinstance(entry.string, str) else all(entry.string))
        ):
            missing.append(msgid)
    assert not missing, "untranslated into Spanish (run `make extract-messages`):\n" + "\n".join(
        missing
    )
    assert len(_source_messages()) > 20
