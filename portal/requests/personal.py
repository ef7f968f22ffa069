"""Text that looks like someone's personal details (a phone number, an email address, a
licence plate) in what will be published: the filing journey warns before it files a public
request whose description has any (pure functions, no Flask).

The patterns lean towards missing something rather than crying wolf: a street number, a date,
a time, a request reference, a highway ("I-94", "US 131", "IL-394"), a box or unit number is not
flagged. A plate is recognised by its shape only when written in capitals ("ABC 1234",
"7ABC123"), or in any case right after "plate", "licence" or "license" (letters and digits both).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

KINDS = ("phone", "email", "plate")


@dataclass(frozen=True)
class Finding:
    kind: str  # phone | email | plate
    text: str


_EMAIL = re.compile(
    r"(?<![\w.+-])[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63})*"
    r"\.[A-Za-z]{2,24}(?![\w-])"
)

# Not inside a longer run of digits, letters or hyphenated codes ("SR-2026-000123").
_BEFORE = r"(?<![\w-])"
_AFTER = r"(?![\w]|-\d)"
_SEP = r"[ .\-\u2010-\u2013]?"
_PHONE = re.compile(
    "|".join(
        (
            # North American: (312) 555-0142, 312-555-0142, 312.555.0142, +1 312 555 0142
            _BEFORE
            + rf"(?:\+?1{_SEP})?(?:\(\d{{3}}\)\s?|\d{{3}}{_SEP})\d{{3}}{_SEP}\d{{4}}"
            + _AFTER,
            # International with a +: +44 20 7946 0958, +34 612 34 56 78
            r"(?<![\w+])\+\d{1,3}(?:[ .\-]?\(?\d{1,4}\)?){2,5}" + _AFTER,
            # Local seven digits: 555-0142 (the exchange never starts with 0 or 1)
            _BEFORE + r"[2-9]\d{2}[.\-]\d{4}" + _AFTER,
        )
    )
)

#: Three letters before digits that make a road, a box, a unit or a code, not a plate.
_NOT_PLATE_WORDS = frozenset(
    ("USA", "HWY", "RTE", "CTY", "EXT", "BOX", "APT", "STE", "LOT", "BLD", "BLK", "NUM", "NBR"),
) | frozenset(("REF", "ZIP", "POB", "DOB", "SKU", "FAQ", "BUS", "PIN", "TEL", "FAX", "AVE"))
_PLATE_SHAPES = re.compile(
    "|".join(
        (
            # ABC 1234, ABC-123, ABC1234
            _BEFORE + r"(?P<letters>[A-Z]{3})[ \-]?\d{3,4}" + _AFTER,
            # 7ABC123 (California and others)
            _BEFORE + r"\d[A-Z]{3}\d{3}" + _AFTER,
        )
    )
)
_PLATE_AFTER_WORD = re.compile(
    r"\b(?:licen[cs]e(?:\s+plate)?|plate)(?:\s+(?:number|no\.?|#))?\s*(?:is|was|:|#)?\s*"
    r"(?P<plate>[A-Za-z0-9]{1,4}[ \-]?[A-Za-z0-9]{1,5})(?![\w-])",
    re.IGNORECASE,
)


def _plates(text: str) -> list[str]:
    found: list[str] = []
    for match in _PLATE_SHAPES.finditer(text):
        letters = match.group("letters")
        if letters and letters in _NOT_PLATE_WORDS:
            continue
        found.append(match.group(0))
    for match in _PLATE_AFTER_WORD.finditer(text):
        plate = match.group("plate")
        compact = re.sub(r"[ \-]", "", plate)
        mixed = re.search(r"\d", compact) and re.search(r"[A-Za-z]", compact)
        # "plate 2 weeks ago": a plate has no run of four letters.
        words = re.search(r"[A-Za-z]{4}", compact)
        if 4 <= len(compact) <= 8 and mixed and not words and plate not in found:
            found.append(plate)
    return found


def _phone_digits_ok(candidate: str) -> bool:
    digits = re.sub(r"\D", "", candidate)
    return 7 <= len(digits) <= 15


def personal_details(text: str) -> list[Finding]:
    """What in ``text`` looks like a phone number, an email address or a licence plate, in the
    order of the kinds, each once."""
    if not text:
        return []
    found: list[Finding] = []
    emails = [m.group(0) for m in _EMAIL.finditer(text)]
    found += [Finding("phone", m.group(0).strip()) for m in _PHONE.finditer(_without(text, emails))]
    found = [f for f in found if _phone_digits_ok(f.text)]
    found += [Finding("email", e) for e in emails]
    found += [Finding("plate", p) for p in _plates(_without(text, emails))]
    unique: list[Finding] = []
    for finding in found:
        if finding not in unique:
            unique.append(finding)
    return unique


def _without(text: str, parts: list[str]) -> str:
    for part in parts:
        text = text.replace(part, " ")
    return text
