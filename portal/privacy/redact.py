"""Taking a person out of free text: their name, email address and phone number, and any
email address at all. Pure functions (no database)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

NAME_REMOVED = "[name removed]"
EMAIL_REMOVED = "[email removed]"
PHONE_REMOVED = "[phone removed]"
TEXT_REMOVED = "[removed]"

_EMAIL_RE = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
#: Name parts shorter than this are left alone ("Al" would hit "Always").
_MIN_PART = 3


def _digits(phone: str) -> str:
    return re.sub(r"\D", "", phone)


class Scrubber:
    """Replaces the given names (whole, then each part of three letters or more, as whole
    words, any case), phone numbers (however they are spaced) and every email address."""

    def __init__(self, names: Iterable[str], phones: Iterable[str] = ()) -> None:
        words: set[str] = set()
        for name in names:
            name = " ".join(name.split())
            if len(name) >= _MIN_PART:
                words.add(name)
                words.update(part for part in name.split(" ") if len(part) >= _MIN_PART)
        ordered = sorted(words, key=len, reverse=True)
        self._names = (
            re.compile(r"(?<!\w)(" + "|".join(map(re.escape, ordered)) + r")(?!\w)", re.I)
            if ordered
            else None
        )
        patterns = []
        for phone in phones:
            digits = _digits(phone)
            if len(digits) >= 6:
                patterns.append(r"\+?" + r"[\s().-]*".join(digits))
        self._phones = re.compile("|".join(patterns)) if patterns else None

    def text(self, value: str) -> str:
        if not value:
            return value
        value = _EMAIL_RE.sub(EMAIL_REMOVED, value)
        if self._phones is not None:
            value = self._phones.sub(PHONE_REMOVED, value)
        if self._names is not None:
            value = self._names.sub(NAME_REMOVED, value)
        return value

    def answers(self, answers: dict[str, Any] | None) -> dict[str, Any]:
        """Free-text answers scrubbed; choices, numbers and dates kept."""
        out: dict[str, Any] = {}
        for key, value in (answers or {}).items():
            if isinstance(value, str):
                out[key] = self.text(value)
            elif isinstance(value, list):
                out[key] = [self.text(v) if isinstance(v, str) else v for v in value]
            else:
                out[key] = value
        return out
