"""Address suggestions as a resident types: address points, street names and intersections.

No Flask here. The index (migration 0019) differs per engine, the answers do not:

- an address with a number ("118 main st", "118 mai", "118 main st apt 4"): the points whose
  search key starts with what was typed (SQLite: FTS5 phrase-prefix query ``^"118 mai"*`` on
  ``address_search``; PostgreSQL: ``search_key LIKE '118 mai%'`` on a text_pattern_ops b-tree);
  then, when nothing starts so, the points holding every word in any order ("118 main" finds
  "118 n main st"; FTS5 ``"118" "main"*`` / pg_trgm GIN ``LIKE '%main%'``); then typos: the
  street names most like the typed street (trigrams, see below) with that house number.
- a street ("main", "3rd av"): the street names starting so (``address_search_names``, one row
  per street, a few thousand rows even for a million points), then the most similar names.
- an intersection ("Main St & 3rd Ave"): both streets' centrelines (``streets``) are crossed
  with shapely; where they do not quite meet, their nearest points within 30 m.

Typo tolerance is trigram similarity over street *names* (not the million keys): PostgreSQL's
pg_trgm ``%``/``similarity()`` (GIN), and on SQLite an FTS5 trigram-tokenizer table whose best
bm25 candidates are re-scored with the same similarity as pg_trgm (padded word trigrams,
shared / all) in Python, kept when at least 0.3 like pg_trgm's default threshold.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from shapely.geometry import shape
from shapely.ops import nearest_points, unary_union
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from portal.places.models import AddressPoint, Street
from portal.places.normalise import (
    MAX_QUERY_LENGTH,
    ParsedQuery,
    complete_word,
    parse_query,
    unit_key,
)

#: Hand-written index objects (migration 0019) that autogenerate must leave alone.
SEARCH_PREFIXES = ("address_search", "ix_address_search")
SIMILARITY_THRESHOLD = 0.3
MAX_LIMIT = 20
#: Two centrelines "meet" when they come this close (degrees of latitude, about 30 m).
_MEET_DEGREES = 30 / 111_320
_MAX_SEGMENTS = 400


def is_search_object(name: str | None) -> bool:
    """True for the address search index's tables and indexes (autogenerate leaves them)."""
    return bool(name) and str(name).startswith(SEARCH_PREFIXES)


@dataclass(frozen=True)
class Suggestion:
    kind: str  # "address" | "street" | "intersection"
    label: str
    lat: float
    lon: float
    id: int | None = None  # the address point's id, for an address
    area_id: int | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "label": self.label,
            "lat": round(self.lat, 7),
            "lon": round(self.lon, 7),
            "id": self.id,
        }


@dataclass(frozen=True)
class _Name:
    id: int
    key: str
    name: str
    lat: float
    lon: float


def _is_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _fts_string(words: str) -> str:
    return '"' + words.replace('"', '""') + '"'


# -- similarity (the same measure as pg_trgm's similarity()) -------------------------------


def trigrams(value: str) -> set[str]:
    """pg_trgm's trigrams: each word padded with two spaces before and one after."""
    found: set[str] = set()
    for word in value.split():
        padded = f"  {word} "
        found.update(padded[i : i + 3] for i in range(len(padded) - 2))
    return found


def similarity(one: str, other: str) -> float:
    a, b = trigrams(one), trigrams(other)
    if not a or not b:
        return 0.0
    return len(a & b) / len(a | b)


def typo_distance(one: str, other: str) -> int:
    """Edits (insert, delete, replace, swap two neighbours) from ``one`` to ``other``: the
    optimal-string-alignment distance. Trigrams find candidates but score a swap ("mian") as
    far from "main" as from "mill"; this ranks them as a resident's typo would."""
    previous2: list[int] = []
    previous = list(range(len(other) + 1))
    for i, a in enumerate(one, 1):
        current = [i] + [0] * len(other)
        for j, b in enumerate(other, 1):
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a != b))
            if i > 1 and j > 1 and a == other[j - 2] and one[i - 2] == b:
                current[j] = min(current[j], previous2[j - 2] + 1)
        previous2, previous = previous, current
    return previous[-1]


# -- street names ---------------------------------------------------------------------------


def _names(session: Session, where: str, params: dict[str, Any], limit: int) -> list[_Name]:
    rows = session.execute(
        text(
            f"SELECT id, key, name, lat, lon FROM address_search_names WHERE {where} "
            f"LIMIT {int(limit)}"
        ),
        params,
    )
    return [_Name(*row) for row in rows]


def names_with_prefix(session: Session, prefix: str, limit: int) -> list[_Name]:
    """Street names whose key is ``prefix`` or starts with it, shortest first."""
    if not prefix:
        return []
    if _is_postgres(session):
        found = _names(session, "key LIKE :pattern", {"pattern": prefix + "%"}, limit * 4)
    else:
        found = _names(
            session,
            "key >= :low AND key < :high",
            {"low": prefix, "high": prefix + "\U0010ffff"},
            limit * 4,
        )
    return sorted(found, key=lambda n: (len(n.key), n.key))[:limit]


def similar_names(session: Session, street: str, limit: int) -> list[_Name]:
    """Street names most like ``street`` (typos), best first: trigram similarity >= 0.3 picks
    the candidates, the fewest edits (then the most similar) ranks them."""
    if len(street) < 3:
        return []
    if _is_postgres(session):
        rows = session.execute(
            text(
                "SELECT id, key, name, lat, lon FROM address_search_names "
                "WHERE key % :street "
                "ORDER BY similarity(key, :street) DESC, key LIMIT :limit"
            ),
            {"street": street, "limit": max(limit * 5, 40)},
        )
        return _closest(street, [_Name(*row) for row in rows], limit)
    grams = {street[i : i + 3] for i in range(len(street) - 2)}
    match = " OR ".join(_fts_string(gram) for gram in sorted(grams))
    rows = session.execute(
        text(
            "SELECT n.id, n.key, n.name, n.lat, n.lon FROM address_search_names_fts f "
            "JOIN address_search_names n ON n.id = f.rowid "
            "WHERE address_search_names_fts MATCH :match ORDER BY f.rank LIMIT :limit"
        ),
        {"match": match, "limit": max(limit * 5, 40)},
    )
    names = [_Name(*row) for row in rows]
    return _closest(
        street, [n for n in names if similarity(street, n.key) >= SIMILARITY_THRESHOLD], limit
    )


def _closest(street: str, names: list[_Name], limit: int) -> list[_Name]:
    ranked = sorted(
        names, key=lambda n: (typo_distance(street, n.key), -similarity(street, n.key), n.key)
    )
    return ranked[:limit]


# -- address points -------------------------------------------------------------------------


def _active_points(session: Session, ids: Sequence[int]) -> list[AddressPoint]:
    if not ids:
        return []
    points = session.scalars(
        select(AddressPoint).where(AddressPoint.id.in_(ids), AddressPoint.active.is_(True))
    )
    return list(points)


def points_at(session: Session, street: str, number: str, limit: int = 50) -> list[AddressPoint]:
    """The active points at this house number on this street key, the building first."""
    found = session.scalars(
        select(AddressPoint)
        .where(
            AddressPoint.street_key == street,
            AddressPoint.number == number,
            AddressPoint.active.is_(True),
        )
        .limit(limit)
    )
    return sorted(found, key=lambda p: (p.unit != "", len(p.unit), p.unit, p.id))


def points_at_number(session: Session, street: str, number: str, limit: int) -> list[AddressPoint]:
    # The index holds the number as the city wrote it ("118A"); the key has it folded ("118a").
    found = points_at(session, street, number, limit)
    if not found and number != number.upper():
        found = points_at(session, street, number.upper(), limit)
    return found


def points_with_prefix(session: Session, key: str, limit: int) -> list[AddressPoint]:
    """Points whose search key starts with ``key`` (the last word may be unfinished)."""
    if not key:
        return []
    if _is_postgres(session):
        rows = session.execute(
            text(
                "SELECT id FROM address_points WHERE search_key LIKE :pattern "
                "AND active LIMIT :limit"
            ),
            {"pattern": key + "%", "limit": limit * 3},
        )
    else:
        rows = session.execute(
            text("SELECT rowid FROM address_search WHERE address_search MATCH :match LIMIT :limit"),
            {"match": "^" + _fts_string(key) + "*", "limit": limit * 3},
        )
    points = _active_points(session, [row[0] for row in rows])
    return sorted(points, key=lambda p: (len(p.search_key), p.search_key))[:limit]


def points_with_words(session: Session, words: list[str], limit: int) -> list[AddressPoint]:
    """Points holding every word, in any order (the last may be unfinished)."""
    words = [w for w in words if w][:8]
    if not words:
        return []
    if _is_postgres(session):
        conditions = " AND ".join(f"search_key LIKE :w{i}" for i in range(len(words)))
        params: dict[str, Any] = {f"w{i}": f"%{w}%" for i, w in enumerate(words)}
        rows = session.execute(
            text(f"SELECT id FROM address_points WHERE {conditions} AND active LIMIT :limit"),
            {**params, "limit": limit * 3},
        )
    else:
        match = " ".join(_fts_string(w) for w in words) + "*"
        rows = session.execute(
            text("SELECT rowid FROM address_search WHERE address_search MATCH :match LIMIT :limit"),
            {"match": match, "limit": limit * 3},
        )
    points = _active_points(session, [row[0] for row in rows])
    return sorted(points, key=lambda p: (len(p.search_key), p.search_key))[:limit]


def _address(point: AddressPoint) -> Suggestion:
    return Suggestion("address", point.label, point.lat, point.lon, point.id, point.area_id)


def _street(name: _Name) -> Suggestion:
    return Suggestion("street", name.name, name.lat, name.lon)


def _completed(parsed: ParsedQuery) -> ParsedQuery | None:
    """The query with its unfinished last street word completed ("118 main stre" -> "st")."""
    word = parsed.last_word
    done = complete_word(word) if word else None
    if not done or not parsed.street.endswith(word) or parsed.unit:
        return None
    street = parsed.street[: len(parsed.street) - len(word)] + done
    return ParsedQuery(parsed.kind, street, parsed.number, parsed.unit, parsed.cross, done)


def _address_suggestions(session: Session, parsed: ParsedQuery, limit: int) -> list[Suggestion]:
    points = points_with_prefix(session, parsed.key, limit)
    if len(points) < limit and (completed := _completed(parsed)) is not None:
        points += points_with_prefix(session, completed.key, limit - len(points))
    if not points:
        points = points_with_words(session, parsed.key.split(), limit)
    if not points and parsed.street:
        for name in similar_names(session, parsed.street, 3):
            found = points_at_number(session, name.key, parsed.number, limit)
            if parsed.unit:
                found = [p for p in found if unit_key(p.unit) == parsed.unit] or found
            points += found
            if len(points) >= limit:
                break
    return [_address(point) for point in points]


def _street_suggestions(session: Session, street: str, limit: int) -> list[Suggestion]:
    names = names_with_prefix(session, street, limit)
    parsed = parse_query(street)
    completed = _completed(parsed) if parsed.kind == "street" else None
    if len(names) < limit and completed is not None:
        names += names_with_prefix(session, completed.street, limit - len(names))
    if len(names) < limit:
        names += similar_names(session, street, limit - len(names))
    return [_street(name) for name in names]


# -- intersections --------------------------------------------------------------------------


def _street_keys(session: Session, street: str, limit: int = 3) -> list[_Name]:
    """The streets a typed name may mean: exact, then "main" = "main st", then similar."""
    if not street:
        return []
    exact = _names(session, "key = :key", {"key": street}, 1)
    if exact:
        return exact
    found = names_with_prefix(session, street + " ", limit)
    return found or similar_names(session, street, limit)


def _lines(session: Session, key: str):
    rows = session.scalars(
        select(Street.geometry)
        .where(Street.key == key, Street.active.is_(True))
        .limit(_MAX_SEGMENTS)
    )
    shapes = []
    for geometry in rows:
        try:
            shapes.append(shape(geometry))
        except (ValueError, TypeError, KeyError, AttributeError):
            continue
    return unary_union(shapes) if shapes else None


def _crossings(one, other) -> list[tuple[float, float]]:
    """(lat, lon) of where two centrelines cross, or of their nearest points when close."""
    meet = one.intersection(other)
    points = [
        g for g in getattr(meet, "geoms", [meet]) if g.geom_type == "Point" and not g.is_empty
    ]
    if not points and not meet.is_empty:
        points = [meet.representative_point()]
    if not points and one.distance(other) <= _MEET_DEGREES:
        a, b = nearest_points(one, other)
        return [((a.y + b.y) / 2, (a.x + b.x) / 2)]
    return [(p.y, p.x) for p in points]


def intersections(session: Session, street: str, cross: str, limit: int = 8) -> list[Suggestion]:
    found: list[Suggestion] = []
    for one in _street_keys(session, street):
        line_one = _lines(session, one.key)
        if line_one is None:
            continue
        for other in _street_keys(session, cross):
            if other.key == one.key:
                continue
            line_other = _lines(session, other.key)
            if line_other is None:
                continue
            for lat, lon in _crossings(line_one, line_other):
                label = f"{one.name} & {other.name}"
                found.append(Suggestion("intersection", label, lat, lon))
                if len(found) >= limit:
                    return found
    return found


# -- the entry point --------------------------------------------------------------------------


def has_address_points(session: Session) -> bool:
    """Whether the city loaded an address register (a city without one files addresses as
    text, as before)."""
    return session.scalar(select(AddressPoint.id).limit(1)) is not None


def suggest(session: Session, query: str, *, limit: int = 8) -> list[Suggestion]:
    """Up to ``limit`` places for what was typed, best first (empty for nothing to search)."""
    limit = max(1, min(limit, MAX_LIMIT))
    parsed = parse_query((query or "")[:MAX_QUERY_LENGTH])
    if parsed.kind == "empty":
        return []
    if parsed.kind == "intersection":
        found = intersections(session, parsed.street, parsed.cross, limit)
    elif parsed.kind == "address":
        found = _address_suggestions(session, parsed, limit)
    else:
        found = _street_suggestions(session, parsed.street, limit)
    unique: list[Suggestion] = []
    seen: set[tuple[str, str]] = set()
    for suggestion in found:
        if (suggestion.kind, suggestion.label) not in seen:
            seen.add((suggestion.kind, suggestion.label))
            unique.append(suggestion)
    return unique[:limit]


def distance_m(lat: float, lon: float, other_lat: float, other_lon: float) -> float:
    """Metres between two nearby points (equirectangular: exact enough within a city)."""
    x = math.radians(other_lon - lon) * math.cos(math.radians((lat + other_lat) / 2))
    y = math.radians(other_lat - lat)
    return math.hypot(x, y) * 6_371_000
