"""Address and street text in one canonical form, so "123 Main Street" and "123 main st." meet.

Pure functions (no database, no Flask). The same folding is applied to the city's data when it is
imported (``street_key``/``address_key`` fill ``address_points.street_key``/``search_key`` and
``streets.key``) and to what a resident types (``parse_query``), so both sides agree:

- lower case, accents stripped (``"Peña"`` -> ``"pena"``), punctuation becomes space;
- USPS street suffixes (Publication 28, appendix C1) to their standard abbreviation, whichever
  spelling was used (``Street``/``Str``/``St`` -> ``st``), in the suffix's place only (the last
  word of a longer name: ``Mill Street`` -> ``mill st``), and ``Saint`` -> ``st`` anywhere;
- directionals before a name and its suffix or after them (``North Oak Boulevard`` -> ``n oak
  blvd``, but ``North Avenue`` -> ``north ave``);
- ordinal words (``Third`` -> ``3rd``) and digits (``3rd`` stays ``3rd``);
- unit designators (``Apt 4``, ``Unit 4``, ``Suite 4``, ``#4``) keep only the unit's own id (``4``);
- intersections (``Main St & 3rd Ave``, ``Main and 3rd``, ``Main St at 3rd Ave``, ``Main / 3rd``).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

#: USPS standard abbreviation -> the other spellings that mean it (the abbreviation maps to itself).
_SUFFIXES: dict[str, tuple[str, ...]] = {
    "aly": ("alley", "allee", "ally"),
    "anx": ("annex", "anex", "annx"),
    "arc": ("arcade",),
    "ave": ("avenue", "av", "aven", "avenu", "avn", "avnue"),
    "bch": ("beach",),
    "bnd": ("bend",),
    "blf": ("bluff", "bluf"),
    "blvd": ("boulevard", "boul", "boulv", "blv"),
    "br": ("branch", "brnch"),
    "brg": ("bridge", "brdge"),
    "brk": ("brook",),
    "byp": ("bypass", "bypa", "bypas", "byps"),
    "cswy": ("causeway", "causwa"),
    "ctr": ("center", "centre", "cent", "centr", "cnter", "cntr"),
    "cir": ("circle", "circ", "circl", "crcl", "crcle"),
    "clf": ("cliff",),
    "cmn": ("common",),
    "cor": ("corner",),
    "crse": ("course",),
    "ct": ("court", "crt"),
    "cts": ("courts",),
    "cv": ("cove",),
    "crk": ("creek",),
    "cres": ("crescent", "crsent", "crsnt"),
    "xing": ("crossing", "crssng"),
    "dl": ("dale",),
    "dr": ("drive", "driv", "drv"),
    "est": ("estate",),
    "ests": ("estates",),
    "expy": ("expressway", "exp", "expr", "express", "expw"),
    "ext": ("extension", "extn", "extnsn"),
    "fls": ("falls",),
    "fry": ("ferry", "frry"),
    "fld": ("field",),
    "flds": ("fields",),
    "frst": ("forest", "forests"),
    "ft": ("fort", "frt"),
    "fwy": ("freeway", "freewy", "frway", "frwy"),
    "gdn": ("garden", "gardn", "grden", "grdn"),
    "gdns": ("gardens", "grdns"),
    "gtwy": ("gateway", "gatewy", "gatway", "gtway"),
    "gln": ("glen",),
    "grn": ("green",),
    "grv": ("grove", "grov"),
    "hbr": ("harbor", "harb", "harbr", "hrbor"),
    "hts": ("heights", "ht"),
    "hwy": ("highway", "highwy", "hiway", "hiwy", "hway"),
    "hl": ("hill",),
    "hls": ("hills",),
    "holw": ("hollow", "hllw", "hollows", "holws"),
    "jct": ("junction", "jction", "jctn", "junctn", "juncton"),
    "knl": ("knoll", "knol"),
    "lk": ("lake",),
    "lndg": ("landing", "lndng"),
    "ln": ("lane",),
    "loop": ("loops",),
    "mnr": ("manor",),
    "mdw": ("meadow",),
    "mdws": ("meadows", "medows"),
    "ml": ("mill",),
    "mt": ("mount", "mnt"),
    "mtn": ("mountain", "mntain", "mntn", "mountin", "mtin"),
    "orch": ("orchard", "orchrd"),
    "pkwy": ("parkway", "parkwy", "pkway", "pky", "parkways", "pkwys"),
    "pl": ("place",),
    "pln": ("plain",),
    "plns": ("plains",),
    "plz": ("plaza", "plza"),
    "pt": ("point",),
    "prt": ("port",),
    "pr": ("prairie", "prr"),
    "rnch": ("ranch", "ranches", "rnchs"),
    "rdg": ("ridge", "rdge"),
    "riv": ("river", "rvr", "rivr"),
    "rd": ("road",),
    "rds": ("roads",),
    "rte": ("route",),
    "shr": ("shore",),
    "spg": ("spring", "spng", "sprng"),
    "sq": ("square", "sqr", "sqre", "squ"),
    "sta": ("station", "statn", "stn"),
    "st": ("street", "strt", "str", "saint"),
    "sts": ("streets",),
    "smt": ("summit", "sumit", "sumitt"),
    "ter": ("terrace", "terr"),
    "trce": ("trace", "traces"),
    "trl": ("trail", "trails", "trls"),
    "tpke": ("turnpike", "trnpk", "turnpk"),
    "vly": ("valley", "vally", "vlly"),
    "vw": ("view",),
    "vlg": ("village", "vill", "villag", "villg", "villiage"),
    "vis": ("vista", "vist", "vst", "vsta"),
    "way": ("wy",),
}

_DIRECTIONALS = {
    "north": "n",
    "south": "s",
    "east": "e",
    "west": "w",
    "northeast": "ne",
    "northwest": "nw",
    "southeast": "se",
    "southwest": "sw",
}

_ORDINAL_WORDS = {
    "first": "1st",
    "second": "2nd",
    "third": "3rd",
    "fourth": "4th",
    "fifth": "5th",
    "sixth": "6th",
    "seventh": "7th",
    "eighth": "8th",
    "ninth": "9th",
    "tenth": "10th",
    "eleventh": "11th",
    "twelfth": "12th",
    "thirteenth": "13th",
    "fourteenth": "14th",
    "fifteenth": "15th",
    "sixteenth": "16th",
    "seventeenth": "17th",
    "eighteenth": "18th",
    "nineteenth": "19th",
    "twentieth": "20th",
    "thirtieth": "30th",
    "fortieth": "40th",
    "fiftieth": "50th",
    "sixtieth": "60th",
    "seventieth": "70th",
    "eightieth": "80th",
    "ninetieth": "90th",
    "hundredth": "100th",
}

#: Every spelling of a word in a street name -> its canonical token.
TOKEN_MAP: dict[str, str] = {}
for _abbr, _spellings in _SUFFIXES.items():
    TOKEN_MAP[_abbr] = _abbr
    for _spelling in _spellings:
        TOKEN_MAP[_spelling] = _abbr
TOKEN_MAP.update(_DIRECTIONALS)
TOKEN_MAP.update(_ORDINAL_WORDS)

#: The full words a half-typed last word may be the start of (``"stre"`` -> ``"st"``).
_FULL_WORDS: dict[str, str] = {
    spelling: abbr for abbr, spellings in _SUFFIXES.items() for spelling in spellings[:1]
}
_FULL_WORDS.update(_DIRECTIONALS)
_FULL_WORDS.update(_ORDINAL_WORDS)

UNIT_DESIGNATORS = frozenset(
    {
        "apt",
        "apartment",
        "unit",
        "suite",
        "ste",
        "flat",
        "rm",
        "room",
        "fl",
        "floor",
        "bldg",
        "building",
        "lot",
        "spc",
        "space",
        "dept",
        "trlr",
        "#",
    }
)

_INTERSECTION_WORDS = frozenset({"and", "at", "&", "@", "/"})
_NUMBER = re.compile(r"^\d+[a-z]?(?:-\d+[a-z]?)?$|^\d+-?[a-z]$")
_ORDINAL_DIGITS = re.compile(r"^\d+(?:st|nd|rd|th)$")
_SPACES = re.compile(r"\s+")

#: The longest text the parser reads; the rest is cut (callers reject huge input first).
MAX_QUERY_LENGTH = 200


def fold(text: str, *, keep: str = "") -> str:
    """Lower case, accents stripped, every character that is not a letter, digit or in ``keep``
    turned into a space, runs of spaces collapsed. ``keep`` characters are spaced out as words."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    chars: list[str] = []
    for char in decomposed:
        if unicodedata.combining(char):
            continue
        if char.isalnum():
            chars.append(char.lower())
        elif char in keep:
            chars.append(f" {char} ")
        elif char in "'’":
            continue  # "O'Brien" -> "obrien", "Mary's" -> "marys"
        else:
            chars.append(" ")
    return _SPACES.sub(" ", "".join(chars)).strip()


def _street_tokens(tokens: list[str]) -> list[str]:
    """A street name's words in canonical form. Suffixes and directionals are abbreviated only in
    their places (a directional first or last, the suffix last or before a last directional) and
    never when they are the whole name, so "Mill Street" is "mill st", not "ml st": a resident
    typing "118 Mi" still finds it, and a lone "Mill" typed so far stays a prefix of it.
    Ordinal words and "Saint" are canonical anywhere."""
    words = [_ORDINAL_WORDS.get(token, "st" if token == "saint" else token) for token in tokens]
    if len(words) < 2:
        return words
    last = len(words) - 1
    if words[last] in _DIRECTIONALS:
        words[last] = _DIRECTIONALS[words[last]]
        last -= 1
    if last >= 1 and _is_suffix(words[last]):
        words[last] = TOKEN_MAP[words[last]]
    for index in range(len(words) - 1):  # route numbers: "State Highway 9", "County Road 12"
        if words[index + 1].isdigit() and _is_suffix(words[index]):
            words[index] = TOKEN_MAP[words[index]]
    if words[0] in _DIRECTIONALS and len(words) > 2:  # "North Avenue" is a name, not "N Ave"
        words[0] = _DIRECTIONALS[words[0]]
    return words


def _is_suffix(word: str) -> bool:
    return TOKEN_MAP.get(word) in _SUFFIXES


def street_key(text: str) -> str:
    """``"North Main Street"`` -> ``"n main st"``; ``"Third Avenue"`` -> ``"3rd ave"``."""
    return " ".join(_street_tokens(fold(text).split()))


def number_key(number: str) -> str:
    """A house number as one token: ``"118 A"`` -> ``"118a"``, ``"118-120"`` stays."""
    return re.sub(r"[^0-9a-z-]", "", fold(number, keep="-").replace(" ", ""))


def unit_key(unit: str) -> str:
    """``"Apt 4B"``, ``"Unit 4b"``, ``"#4B"``, ``"4b"`` -> ``"4b"``."""
    tokens = [t for t in fold(unit, keep="#").split() if t not in UNIT_DESIGNATORS]
    return "".join(tokens)


def address_key(number: str, street: str, unit: str = "") -> str:
    """``("118", "Main Street", "Apt 4")`` -> ``"118 main st 4"``: what the search index holds."""
    parts = [number_key(number or ""), street_key(street or ""), unit_key(unit or "")]
    return " ".join(part for part in parts if part)


def complete_word(token: str) -> str | None:
    """The canonical token for a half-typed suffix, directional or ordinal word (``"aven"`` ->
    ``"ave"``, ``"stre"`` -> ``"st"``: the shortest word it starts), given three letters or more."""
    if len(token) < 3 or token in TOKEN_MAP:
        return TOKEN_MAP.get(token)
    found = sorted((len(word), word) for word in _FULL_WORDS if word.startswith(token))
    return _FULL_WORDS[found[0][1]] if found else None


@dataclass(frozen=True)
class ParsedQuery:
    """What a resident typed, read as an address, a street or an intersection of two streets.

    ``street`` and ``cross`` are street keys (as ``street_key`` makes them); ``number`` and
    ``unit`` are as ``number_key``/``unit_key`` make them. ``kind`` is ``"empty"``,
    ``"street"`` (no house number), ``"address"`` or ``"intersection"``.
    """

    kind: str
    street: str = ""
    number: str = ""
    unit: str = ""
    cross: str = ""
    #: The words as typed (folded) before the street's last word was expanded: the last one may be
    #: unfinished ("118 main str" while typing "street").
    last_word: str = ""

    @property
    def key(self) -> str:
        """The query in the form of ``address_points.search_key`` (no unit when none was given)."""
        return " ".join(part for part in (self.number, self.street, self.unit) if part)


def _split_intersection(tokens: list[str]) -> tuple[list[str], list[str]] | None:
    for index, token in enumerate(tokens):
        if token in _INTERSECTION_WORDS and 0 < index < len(tokens) - 1:
            left, right = tokens[:index], tokens[index + 1 :]
            if _NUMBER.match(left[0]) and not _ORDINAL_DIGITS.match(left[0]) and len(left) > 1:
                return None  # "118 Main St at ..." is an address, not a corner
            return left, right
    return None


def parse_query(text: str) -> ParsedQuery:
    """Read a typed address: ``"118 Main St, Apt 4"``, ``"118 main street #4"``,
    ``"Main St & 3rd Ave"``, ``"main and third"``, ``"Main St"``. Text after a comma that is not
    a unit (city, state, postcode) is ignored."""
    text = (text or "")[:MAX_QUERY_LENGTH]
    parts = [part for part in re.split(r"[,;\n]", text) if part.strip()]
    if not parts:
        return ParsedQuery(kind="empty")
    main = fold(parts[0], keep="#&@/").split()
    unit_tokens: list[str] = []
    for extra in parts[1:]:
        extra_tokens = fold(extra, keep="#").split()
        if extra_tokens and extra_tokens[0] in UNIT_DESIGNATORS:
            unit_tokens = extra_tokens
    if not main:
        return ParsedQuery(kind="empty")

    corner = _split_intersection(main)
    if corner is not None:
        left, right = corner
        right = [t for t in right if t not in _INTERSECTION_WORDS]
        return ParsedQuery(
            kind="intersection",
            street=" ".join(_street_tokens(left)),
            cross=" ".join(_street_tokens(right)),
            last_word=right[-1] if right else "",
        )

    # A unit named inside the main part: "118 Main St Apt 4", "118 Main St #4".
    # A designator typed last ("118 Main St Apt") waits for its unit.
    for index, token in enumerate(main):
        if token in UNIT_DESIGNATORS and index > 1:
            unit_tokens = main[index:]
            main = main[:index]
            break
    main = [t for t in main if t not in ("#", "&", "@", "/")]
    number = ""
    if main and _NUMBER.match(main[0]) and not _ORDINAL_DIGITS.match(main[0]):
        number = number_key(main[0])
        main = main[1:]
    # "118 A Main St": a single letter after the number belongs to it.
    letter = main[0] if len(main) > 1 else ""
    if number.isdigit() and len(letter) == 1 and letter.isalpha() and letter not in "nsew":
        number, main = number + letter, main[1:]
    unit = unit_key(" ".join(unit_tokens))
    street = " ".join(_street_tokens(main))
    if not street and not number:
        return ParsedQuery(kind="empty")
    return ParsedQuery(
        kind="address" if number else "street",
        street=street,
        number=number,
        unit=unit,
        last_word=main[-1] if main else "",
    )
