"""Text normalisation shared by the assistance features (categories; later duplicates and
themes): pure functions over strings.

``normalise`` lowercases, folds accents (so "basura" and "básura", "calle" typed without its
accent, match), and masks what identifies a place or a person rather than a problem: numbers
(house numbers, dates, phone numbers) become ``0``, email addresses and links a token, and
the street words that follow a number ("12 elm st") are kept but the number is not, so a
model learns "hole in the road" rather than addresses.
"""

from __future__ import annotations

import re
import unicodedata

_URL = re.compile(r"\b(?:https?://|www\.)\S+", re.IGNORECASE)
_EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+\.[\w.-]+\b")
_NUMBER = re.compile(r"\d+(?:[.,:/-]\d+)*(?:st|nd|rd|th|[a-z])?\b")
_SPACE = re.compile(r"\s+")
_REPEAT = re.compile(r"(.)\1{2,}")


def fold(text: str) -> str:
    """Lowercase without accents: "Árbol caído" → "arbol caido" (ñ becomes n)."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def normalise(text: str) -> str:
    """The form the models read: folded, links/emails/numbers masked, letters repeated
    for emphasis cut to two ("sooooo" → "soo"), whitespace collapsed."""
    text = _URL.sub(" url ", text or "")
    text = _EMAIL.sub(" email ", text)
    text = fold(text)
    text = _NUMBER.sub(" 0 ", text)
    text = _REPEAT.sub(r"\1\1", text)
    return _SPACE.sub(" ", text).strip()
