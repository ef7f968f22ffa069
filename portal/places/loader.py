"""Read the city's address points, street centrelines and asset layers, row by row.

Files (in the city's configuration folder, all optional; ``docs/city-configuration.md``):

    addresses.csv        address points, the OpenAddresses layout (LON, LAT, NUMBER, STREET,
                         UNIT, POSTCODE, ID; headers in any case, other columns ignored)
    addresses.geojson    or the same as a FeatureCollection of Points (properties number,
                         street, unit, postcode, id)
    streets.geojson      street centrelines: LineString/MultiLineString features with a
                         ``name`` (and an optional ``id``)
    assets.toml          asset layers (code, name, translations), each with its points in
    assets/<code>.geojson  (Points with properties id, label or name, category)

The readers are generators: a million addresses are never held in memory. GeoJSON is read one
feature at a time (ijson). Each fault is added to a ``Problems`` list as ``file: place: fault``
(``line N`` in a CSV file, counting the header as line 1; ``features[N]`` in GeoJSON, from 0)
and the row is skipped; the caller writes nothing when there is any problem.
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import ijson

from portal.places.normalise import address_key, street_key

ADDRESSES_CSV = "addresses.csv"
ADDRESSES_GEOJSON = "addresses.geojson"
STREETS = "streets.geojson"
ASSETS = "assets.toml"
ASSETS_DIR = "assets"
#: Problems listed in full; past this only their number is given.
MAX_PROBLEMS = 50
#: Column lengths (``portal.places.models``).
LIMITS = {"id": 64, "number": 16, "street": 120, "unit": 32, "postcode": 12, "name": 120}
CODE_RE = re.compile(r"^[a-z0-9]+(?:[_-][a-z0-9]+)*\Z")


class Problems:
    """Every fault found, the first ``cap`` of them word for word."""

    def __init__(self, cap: int = MAX_PROBLEMS) -> None:
        self.cap = cap
        self.items: list[str] = []
        self.count = 0

    def add(self, text: str) -> None:
        self.count += 1
        if len(self.items) < self.cap:
            self.items.append(text)

    def __bool__(self) -> bool:
        return self.count > 0

    def listed(self) -> list[str]:
        more = self.count - len(self.items)
        return self.items + ([f"... and {more} more problem(s) like these"] if more else [])


@dataclass(slots=True)
class AddressRow:
    line: int
    source_id: str | None
    number: str
    street: str
    unit: str
    postcode: str
    lat: float
    lon: float

    @property
    def label(self) -> str:
        return f"{self.number} {self.street}" + (f", {self.unit}" if self.unit else "")

    def values(self) -> dict[str, Any]:
        """Column values of ``address_points`` (without ``area_id``)."""
        return {
            "source_id": self.source_id,
            "number": self.number,
            "street": self.street,
            "unit": self.unit,
            "postcode": self.postcode,
            "lat": self.lat,
            "lon": self.lon,
            "street_key": street_key(self.street)[:120],
            "search_key": address_key(self.number, self.street, self.unit)[:200],
            "label": self.label[:200],
        }


@dataclass(slots=True)
class StreetRow:
    place: str
    source_id: str | None
    name: str
    geometry: dict[str, Any]
    bbox: tuple[float, float, float, float]  # min_lat, min_lon, max_lat, max_lon


@dataclass(slots=True)
class AssetRow:
    place: str
    source_id: str
    label: str
    category: str
    lat: float
    lon: float
    properties: dict[str, Any]


def address_file(folder: Path) -> Path | None:
    """The folder's address file, CSV or GeoJSON (``read_folder`` refuses both at once)."""
    for name in (ADDRESSES_CSV, ADDRESSES_GEOJSON):
        if (folder / name).is_file():
            return folder / name
    return None


def read_addresses(path: Path, problems: Problems, name: str = "") -> Iterator[AddressRow]:
    name = name or path.name
    if path.suffix.lower() == ".csv":
        return read_addresses_csv(path, problems, name)
    return read_addresses_geojson(path, problems, name)


# -- CSV ------------------------------------------------------------------------------------------

#: Our field -> the headers that give it (lower case), first found wins.
CSV_COLUMNS = {
    "lon": ("lon", "longitude", "x"),
    "lat": ("lat", "latitude", "y"),
    "number": ("number", "house_number", "housenumber"),
    "street": ("street", "street_name"),
    "unit": ("unit",),
    "postcode": ("postcode", "zip", "postal_code"),
    "id": ("id", "source_id"),
}
CSV_REQUIRED = ("lon", "lat", "number", "street")


def read_addresses_csv(path: Path, problems: Problems, name: str) -> Iterator[AddressRow]:
    try:
        handle = path.open(encoding="utf-8-sig", newline="")
    except OSError as exc:
        problems.add(f"{name}: cannot be read: {exc.strerror or exc}")
        return
    with handle:
        reader = csv.reader(handle)
        try:
            yield from _csv_rows(reader, problems, name)
        except UnicodeDecodeError:
            problems.add(f"{name}: line {reader.line_num + 1}: is not UTF-8 text")
        except csv.Error as exc:
            problems.add(f"{name}: line {reader.line_num}: {exc}")


def _csv_rows(reader: Any, problems: Problems, name: str) -> Iterator[AddressRow]:
    header = next(reader, None)
    if header is None:
        problems.add(f"{name}: is empty (it needs a header line: LON,LAT,NUMBER,STREET,...)")
        return
    lowered = [h.strip().lower() for h in header]
    columns: dict[str, int] = {}
    for field, names in CSV_COLUMNS.items():
        for header_name in names:
            if header_name in lowered:
                columns[field] = lowered.index(header_name)
                break
    missing = [field.upper() for field in CSV_REQUIRED if field not in columns]
    if missing:
        problems.add(
            f"{name}: line 1: missing column{'s' if len(missing) > 1 else ''} "
            f"{', '.join(missing)} (the header has: {', '.join(header) or 'nothing'})"
        )
        return
    width = max(columns.values()) + 1
    for cells in reader:
        line = reader.line_num
        if not any(c.strip() for c in cells):
            continue
        if len(cells) < width:
            problems.add(
                f"{name}: line {line}: has {len(cells)} values; the header has {len(header)}"
            )
            continue
        row = _address(
            {field: cells[index].strip() for field, index in columns.items()},
            problems,
            f"{name}: line {line}",
            line,
            csv_names=True,
        )
        if row is not None:
            yield row


def _address(
    raw: dict[str, Any], problems: Problems, place: str, line: int, *, csv_names: bool = False
) -> AddressRow | None:
    """An address from text fields, or ``None`` after naming each of its faults."""
    before = problems.count

    def label(field: str) -> str:
        return field.upper() if csv_names else field

    values: dict[str, str] = {}
    for field in ("number", "street", "unit", "postcode", "id"):
        value = raw.get(field)
        text = "" if value is None else str(value).strip()
        if field in ("number", "street") and not text:
            problems.add(f"{place}: {label(field)} is empty")
        elif len(text) > LIMITS[field]:
            problems.add(
                f"{place}: {label(field)} is longer than {LIMITS[field]} characters: {text[:40]!r}"
            )
        values[field] = text
    lat = _coordinate(raw.get("lat"), label("lat"), 90, problems, place)
    lon = _coordinate(raw.get("lon"), label("lon"), 180, problems, place)
    if problems.count > before or lat is None or lon is None:
        return None
    return AddressRow(
        line=line,
        source_id=values["id"] or None,
        number=values["number"],
        street=values["street"],
        unit=values["unit"],
        postcode=values["postcode"],
        lat=lat,
        lon=lon,
    )


def _coordinate(
    value: Any, field: str, limit: float, problems: Problems, place: str
) -> float | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        problems.add(f"{place}: {field} is empty")
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        problems.add(f"{place}: {field} {str(value)[:40]!r} is not a number")
        return None
    if not math.isfinite(number) or abs(number) > limit:
        problems.add(f"{place}: {field} {value} is not between -{limit} and {limit}")
        return None
    return number


# -- GeoJSON --------------------------------------------------------------------------------------


def _features(path: Path, problems: Problems, name: str) -> Iterator[tuple[int, Any]]:
    """(index, feature) of a FeatureCollection, read one feature at a time."""
    try:
        handle: IO[bytes] = path.open("rb")
    except OSError as exc:
        problems.add(f"{name}: cannot be read: {exc.strerror or exc}")
        return
    index = -1
    with handle:
        try:
            for index, feature in enumerate(ijson.items(handle, "features.item", use_float=True)):
                yield index, feature
        except (ijson.JSONError, UnicodeDecodeError) as exc:
            where = f" after features[{index}]" if index >= 0 else ""
            problems.add(f"{name}: is not valid JSON{where}: {exc}")
            return
    if index < 0:
        problems.add(f'{name}: has no features (a GeoJSON FeatureCollection with "features")')


def _point_feature(
    feature: Any, problems: Problems, place: str
) -> tuple[dict[str, Any], float, float] | None:
    if not isinstance(feature, dict) or feature.get("type") != "Feature":
        problems.add(f"{place}: is not a GeoJSON Feature")
        return None
    properties = feature.get("properties") or {}
    geometry = feature.get("geometry") or {}
    if not isinstance(properties, dict):
        problems.add(f"{place}: properties must be an object")
        return None
    if not isinstance(geometry, dict) or geometry.get("type") != "Point":
        kind = geometry.get("type") if isinstance(geometry, dict) else None
        problems.add(f"{place}: geometry must be a Point, not {kind or 'missing'}")
        return None
    coordinates = geometry.get("coordinates")
    if not isinstance(coordinates, list) or len(coordinates) < 2:
        problems.add(f"{place}: coordinates must be [longitude, latitude]")
        return None
    return properties, coordinates[0], coordinates[1]


def read_addresses_geojson(path: Path, problems: Problems, name: str) -> Iterator[AddressRow]:
    for index, feature in _features(path, problems, name):
        place = f"{name}: features[{index}]"
        found = _point_feature(feature, problems, place)
        if found is None:
            continue
        properties, lon, lat = found
        raw = {**properties, "lat": lat, "lon": lon}
        if raw.get("id") is None and feature.get("id") is not None:
            raw["id"] = feature["id"]
        row = _address(raw, problems, place, index)
        if row is not None:
            yield row


def read_streets(path: Path, problems: Problems, name: str = "") -> Iterator[StreetRow]:
    name = name or path.name
    for index, feature in _features(path, problems, name):
        place = f"{name}: features[{index}]"
        if not isinstance(feature, dict) or feature.get("type") != "Feature":
            problems.add(f"{place}: is not a GeoJSON Feature")
            continue
        properties = feature.get("properties") or {}
        if not isinstance(properties, dict):
            problems.add(f"{place}: properties must be an object")
            continue
        before = problems.count
        street = str(properties.get("name") or "").strip()
        if not street:
            problems.add(f"{place}: name is empty")
        elif len(street) > LIMITS["name"]:
            problems.add(f"{place}: name is longer than {LIMITS['name']} characters")
        source = properties.get("id", feature.get("id"))
        source_id = None if source is None else str(source).strip() or None
        if source_id and len(source_id) > LIMITS["id"]:
            problems.add(f"{place}: id is longer than {LIMITS['id']} characters")
        geometry = feature.get("geometry")
        bbox = _line_bbox(geometry, problems, place)
        if problems.count == before and bbox is not None:
            assert isinstance(geometry, dict)
            yield StreetRow(
                place,
                source_id,
                street,
                {"type": geometry["type"], "coordinates": geometry["coordinates"]},
                bbox,
            )


def _line_bbox(
    geometry: Any, problems: Problems, place: str
) -> tuple[float, float, float, float] | None:
    kind = geometry.get("type") if isinstance(geometry, dict) else None
    if kind not in ("LineString", "MultiLineString"):
        problems.add(f"{place}: geometry must be a LineString or MultiLineString, not {kind}")
        return None
    assert isinstance(geometry, dict)
    lines = geometry.get("coordinates")
    if kind == "LineString":
        lines = [lines]
    lats: list[float] = []
    lons: list[float] = []
    for line in lines if isinstance(lines, list) else [None]:
        if not isinstance(line, list) or len(line) < 2:
            problems.add(f"{place}: a line needs at least two [longitude, latitude] positions")
            return None
        for position in line:
            if (
                not isinstance(position, list)
                or len(position) < 2
                or not all(isinstance(v, int | float) for v in position[:2])
                or not (abs(position[0]) <= 180 and abs(position[1]) <= 90)
            ):
                problems.add(f"{place}: {str(position)[:40]} is not a [longitude, latitude]")
                return None
            lons.append(float(position[0]))
            lats.append(float(position[1]))
    return min(lats), min(lons), max(lats), max(lons)


# -- asset layers ---------------------------------------------------------------------------------


def read_assets(path: Path, problems: Problems, name: str) -> Iterator[AssetRow]:
    """One layer's points: ``id`` (required), ``label`` or ``name``, ``category``; the other
    properties are kept as they are."""
    for index, feature in _features(path, problems, name):
        place = f"{name}: features[{index}]"
        found = _point_feature(feature, problems, place)
        if found is None:
            continue
        properties, lon_value, lat_value = found
        before = problems.count
        source = properties.get("id", feature.get("id"))
        source_id = "" if source is None else str(source).strip()
        if not source_id:
            problems.add(f"{place}: id is empty (residents pick an asset by its id)")
        elif len(source_id) > LIMITS["id"]:
            problems.add(f"{place}: id is longer than {LIMITS['id']} characters")
        label = str(properties.get("label") or properties.get("name") or source_id).strip()
        category = str(properties.get("category") or "").strip()
        if len(label) > 120:
            problems.add(f"{place}: label is longer than 120 characters")
        if len(category) > 60:
            problems.add(f"{place}: category is longer than 60 characters")
        lat = _coordinate(lat_value, "latitude", 90, problems, place)
        lon = _coordinate(lon_value, "longitude", 180, problems, place)
        if problems.count > before or lat is None or lon is None:
            continue
        extra = {
            k: v for k, v in properties.items() if k not in ("id", "label", "name", "category")
        }
        yield AssetRow(place, source_id, label, category, lat, lon, extra)


def read_asset_layers(data: dict[str, Any], folder: Path, problems: Problems) -> list[dict]:
    """``assets.toml``: ``[[layer]]`` tables with ``code``, ``name``, optional ``active`` and
    ``translations.<locale>.name``; each layer's points are in ``assets/<code>.geojson``."""
    layers = data.get("layer", [])
    if not isinstance(layers, list):
        problems.add(f"{ASSETS}: layer must be a list of tables ([[layer]])")
        return []
    found: list[dict[str, Any]] = []
    seen: set[str] = set()
    for index, entry in enumerate(layers):
        place = f"{ASSETS}: layer[{index}]"
        if not isinstance(entry, dict):
            problems.add(f"{place}: must be a table")
            continue
        code = entry.get("code")
        name = entry.get("name")
        if not isinstance(code, str) or not CODE_RE.match(code) or len(code) > 40:
            problems.add(f"{place}: code must be lower-case letters, digits, - or _ (40 at most)")
            continue
        place = f'{ASSETS}: layer "{code}"'
        before = problems.count
        if code in seen:
            problems.add(f"{place}: is defined twice")
        seen.add(code)
        if not isinstance(name, str) or not name.strip() or len(name) > 120:
            problems.add(f"{place}: name must be text of 1 to 120 characters")
        active = entry.get("active", True)
        if not isinstance(active, bool):
            problems.add(f"{place}: active must be true or false")
        translations = entry.get("translations", {})
        if not isinstance(translations, dict) or not all(
            isinstance(t, dict) and all(isinstance(v, str) for v in t.values())
            for t in translations.values()
        ):
            problems.add(f"{place}: translations must be tables like [layer.translations.es]")
        unknown = sorted(set(entry) - {"code", "name", "active", "translations"})
        if unknown:
            problems.add(f"{place}: unknown key(s) {', '.join(unknown)}")
        points = folder / ASSETS_DIR / f"{code}.geojson"
        if not points.is_file():
            problems.add(f"{place}: its points file {ASSETS_DIR}/{code}.geojson is missing")
        if problems.count == before:
            found.append(
                {
                    "code": code,
                    "name": str(name).strip(),
                    "active": active,
                    "translations": translations,
                    "path": points,
                }
            )
    return found
