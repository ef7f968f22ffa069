"""Write the city's address points, streets and assets, in batches, at constant memory.

``portal.city.importer`` calls these inside the folder's one transaction, after the areas.

Addresses (up to millions) go through a temporary staging table: each batch of rows read from
the file gets its area (``AreaIndex``, a batch at a time) and its keys and is inserted there;
then duplicates are found and the table is merged into ``address_points`` with a few
set-based statements, so Python holds one batch at a time whatever the file's size.

Matching, per address: a row with an ``id`` is the point with that ``source_id``; a row without
one is the id-less point with the same ``search_key``, latitude and longitude (a point that
moved or changed its number is then a new point, and the old one is deactivated). Points
missing from the file are deactivated, never deleted (requests may point at them); a point
that comes back is reactivated.

A point outside every active area of the city is refused (a problem): fix the point or widen
the areas. Problems are collected, not raised one by one: ``PlacesError`` lists them all
(capped) and the caller rolls back.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Iterator
from itertools import islice
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Column,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    bindparam,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.orm import Session

from portal.areas.geo import AreaIndex
from portal.places.loader import (
    AddressRow,
    Problems,
    StreetRow,
    read_addresses,
    read_assets,
    read_streets,
)
from portal.places.models import Asset, AssetLayer, Street
from portal.places.normalise import street_key

BATCH = 5000


class PlacesError(ValueError):
    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


def _batches(rows: Iterable[Any], size: int = BATCH) -> Iterator[list[Any]]:
    iterator = iter(rows)
    while batch := list(islice(iterator, size)):
        yield batch


# -- addresses ------------------------------------------------------------------------------------

_stage_metadata = MetaData()
STAGE = Table(
    "address_stage",
    _stage_metadata,
    Column("line", Integer),
    Column("target_id", Integer),
    Column("source_id", String(64)),
    Column("number", String(16)),
    Column("street", String(120)),
    Column("unit", String(32)),
    Column("postcode", String(12)),
    Column("lat", Float),
    Column("lon", Float),
    Column("area_id", Integer),
    Column("street_key", String(120)),
    Column("search_key", String(200)),
    Column("label", String(200)),
    prefixes=["TEMPORARY"],
)
COPIED = (
    "source_id",
    "number",
    "street",
    "unit",
    "postcode",
    "lat",
    "lon",
    "area_id",
    "street_key",
    "search_key",
    "label",
)


def import_addresses(
    session: Session,
    path: Path | None,
    areas: list[tuple[int, dict[str, Any]]],
    *,
    name: str = "",
) -> Counter[str]:
    """Load ``path`` (None: the folder has no address file, so every point is deactivated).
    ``areas`` are the active areas' (id, geometry). Returns added/changed/unchanged/
    deactivated counts; raises ``PlacesError`` (nothing merged) when the file has problems."""
    counts: Counter[str] = Counter()
    name = name or (path.name if path else "")
    connection = session.connection()
    connection.execute(text("DROP TABLE IF EXISTS address_stage"))
    STAGE.create(connection)
    try:
        problems = Problems()
        if path is not None:
            _stage(connection, read_addresses(path, problems, name), areas, problems, name)
        connection.execute(text("CREATE INDEX address_stage_source ON address_stage (source_id)"))
        _duplicates(connection, problems, name)
        if problems:
            raise PlacesError(problems.listed())
        _match(connection)
        connection.execute(text("CREATE INDEX address_stage_target ON address_stage (target_id)"))
        _merge(connection, counts)
    finally:
        connection.execute(text("DROP TABLE IF EXISTS address_stage"))
    return counts


def _stage(
    connection: Any,
    rows: Iterable[AddressRow],
    areas: list[tuple[int, dict[str, Any]]],
    problems: Problems,
    name: str,
) -> None:
    index = AreaIndex(areas)
    for batch in _batches(rows):
        found = index.locate_many([r.lat for r in batch], [r.lon for r in batch])
        values = []
        for row, area_id in zip(batch, found, strict=True):
            if area_id is None:
                where = f"line {row.line}" if name.endswith(".csv") else f"features[{row.line}]"
                problems.add(
                    f"{name}: {where}: {row.lat}, {row.lon} is outside every area of the city"
                )
                continue
            values.append({**row.values(), "area_id": area_id, "line": row.line})
        if values:  # staged even after a problem: duplicates are found in the table
            connection.execute(insert(STAGE), values)


def _duplicates(connection: Any, problems: Problems, name: str) -> None:
    where = "line" if name.endswith(".csv") else "features"

    def place(line: int) -> str:
        return f"line {line}" if where == "line" else f"features[{line}]"

    s = STAGE.c
    for source_id, first, last in connection.execute(
        select(s.source_id, func.min(s.line), func.max(s.line))
        .where(s.source_id.is_not(None))
        .group_by(s.source_id)
        .having(func.count() > 1)
        .order_by(func.min(s.line))
        .limit(problems.cap)
    ):
        problems.add(f'{name}: {place(last)}: id "{source_id}" is already used on {place(first)}')
    for label, lat, lon, first, last in connection.execute(
        select(s.label, s.lat, s.lon, func.min(s.line), func.max(s.line))
        .where(s.source_id.is_(None))
        .group_by(s.search_key, s.label, s.lat, s.lon)
        .having(func.count() > 1)
        .order_by(func.min(s.line))
        .limit(problems.cap)
    ):
        problems.add(
            f"{name}: {place(last)}: {label} at {lat}, {lon} is already on {place(first)} "
            "(give each point an id, or remove the copy)"
        )


def _match(connection: Any) -> None:
    """Each staged row's existing point: by id, or (no id) by address and position."""
    connection.execute(
        text(
            "UPDATE address_stage SET target_id = (SELECT a.id FROM address_points a"
            " WHERE a.source_id = address_stage.source_id)"
            " WHERE source_id IS NOT NULL"
        )
    )
    connection.execute(
        text(
            "UPDATE address_stage SET target_id = (SELECT min(a.id) FROM address_points a"
            " WHERE a.source_id IS NULL AND a.lat = address_stage.lat"
            " AND a.lon = address_stage.lon AND a.search_key = address_stage.search_key)"
            " WHERE source_id IS NULL"
        )
    )


def _merge(connection: Any, counts: Counter[str]) -> None:
    distinct = "IS DISTINCT FROM" if connection.dialect.name == "postgresql" else "IS NOT"
    differs = " OR ".join(
        [f"address_points.{c} {distinct} s.{c}" for c in COPIED] + ["NOT address_points.active"]
    )
    scalar = connection.scalar
    counts["added"] = scalar(text("SELECT count(*) FROM address_stage WHERE target_id IS NULL"))
    matched = scalar(text("SELECT count(*) FROM address_stage WHERE target_id IS NOT NULL"))
    counts["changed"] = connection.execute(
        text(
            "UPDATE address_points SET "
            + ", ".join(f"{c} = s.{c}" for c in COPIED)
            + ", active = :yes FROM address_stage AS s"
            f" WHERE s.target_id = address_points.id AND ({differs})"
        ),
        {"yes": True},
    ).rowcount
    counts["unchanged"] = matched - counts["changed"]
    counts["deactivated"] = connection.execute(
        text(
            "UPDATE address_points SET active = :no WHERE active AND NOT EXISTS"
            " (SELECT 1 FROM address_stage s WHERE s.target_id = address_points.id)"
        ),
        {"no": False},
    ).rowcount
    connection.execute(
        text(
            f"INSERT INTO address_points ({', '.join(COPIED)}, active)"
            f" SELECT {', '.join(COPIED)}, :yes FROM address_stage"
            " WHERE target_id IS NULL ORDER BY line"
        ),
        {"yes": True},
    )


# -- streets and assets ---------------------------------------------------------------------------


def _geometry_text(geometry: Any) -> str:
    return json.dumps(geometry, sort_keys=True, separators=(",", ":"))


def import_streets(session: Session, path: Path | None, *, name: str = "") -> Counter[str]:
    """Streets by ``id``; a street without one is matched by its name and its line (a street
    whose line changed is then a new one, and the old one is deactivated). Holds one tuple per
    existing street (cities have thousands to a few hundred thousand)."""
    counts: Counter[str] = Counter()
    existing: dict[Any, tuple[int, str, str, bool]] = {}
    for row_id, source_id, street, geometry, active in session.execute(
        select(Street.id, Street.source_id, Street.name, Street.geometry, Street.active)
    ):
        signature = _geometry_text(geometry)
        key = source_id if source_id is not None else ("", street, signature)
        existing.setdefault(key, (row_id, street, signature, active))
    problems = Problems()
    seen: set[int] = set()
    ids_in_file: dict[str, str] = {}
    rows: Iterable[StreetRow] = read_streets(path, problems, name) if path else ()
    for batch in _batches(rows):
        added, changed = [], []
        for row in batch:
            if row.source_id is not None:
                if row.source_id in ids_in_file:
                    problems.add(
                        f'{row.place}: id "{row.source_id}" is already used on '
                        f"{ids_in_file[row.source_id].split(': ', 1)[1]}"
                    )
                    continue
                ids_in_file[row.source_id] = row.place
            if problems:
                continue
            signature = _geometry_text(row.geometry)
            values = {
                "source_id": row.source_id,
                "name": row.name,
                "key": street_key(row.name)[:120],
                "geometry": row.geometry,
                "min_lat": row.bbox[0],
                "min_lon": row.bbox[1],
                "max_lat": row.bbox[2],
                "max_lon": row.bbox[3],
                "active": True,
            }
            key = row.source_id if row.source_id is not None else ("", row.name, signature)
            found = existing.get(key)
            if found is None or found[0] in seen:
                added.append(values)
            else:
                seen.add(found[0])
                if (found[1], found[2], found[3]) != (row.name, signature, True):
                    changed.append({**values, "row_id": found[0]})
                else:
                    counts["unchanged"] += 1
        if not problems:
            _write(session, Street, added, changed, counts)
    if problems:
        raise PlacesError(problems.listed())
    counts["deactivated"] = _deactivate(
        session, Street, [v[0] for v in existing.values() if v[3] and v[0] not in seen]
    )
    return counts


def _write(
    session: Session,
    model: Any,
    added: list[dict[str, Any]],
    changed: list[dict[str, Any]],
    counts: Counter[str],
) -> None:
    if added:
        session.execute(insert(model), added)
        counts["added"] += len(added)
    if changed:
        table = model.__table__
        # Bound as v_<column>: a bind parameter may not take a SET column's own name.
        columns: dict[str, Any] = {k: bindparam(f"v_{k}") for k in changed[0] if k != "row_id"}
        session.connection().execute(
            update(table).where(table.c.id == bindparam("row_id")).values(columns),
            [{f"v_{k}" if k != "row_id" else k: v for k, v in row.items()} for row in changed],
        )
        counts["changed"] += len(changed)


def _deactivate(session: Session, model: Any, ids: list[int]) -> int:
    for batch in _batches(ids):
        session.execute(update(model).where(model.id.in_(batch)).values(active=False))
    return len(ids)


def import_asset_layers(
    session: Session, layers: list[dict[str, Any]], *, folder: Path
) -> tuple[Counter[str], Counter[str]]:
    """Layers by code (missing ones deactivated), then each layer's assets by id."""
    layer_counts: Counter[str] = Counter()
    asset_counts: Counter[str] = Counter()
    rows = {layer.code: layer for layer in session.scalars(select(AssetLayer))}
    problems = Problems()
    for entry in layers:
        values = {k: v for k, v in entry.items() if k != "path"}
        layer = rows.get(entry["code"])
        if layer is None:
            layer = rows[entry["code"]] = AssetLayer(**values)
            session.add(layer)
            layer_counts["added"] += 1
        elif any(getattr(layer, k) != v for k, v in values.items()):
            for k, v in values.items():
                setattr(layer, k, v)
            layer_counts["changed"] += 1
        else:
            layer_counts["unchanged"] += 1
        session.flush()
        name = entry["path"].relative_to(folder).as_posix()
        try:
            asset_counts.update(_assets(session, layer, entry["path"], name))
        except PlacesError as exc:
            for problem in exc.problems:
                problems.add(problem)
    listed = {entry["code"] for entry in layers}
    for code, layer in rows.items():
        if code not in listed and layer.active:
            layer.active = False
            layer_counts["deactivated"] += 1
            asset_counts["deactivated"] += _deactivate(
                session,
                Asset,
                list(
                    session.scalars(
                        select(Asset.id).where(Asset.layer_id == layer.id, Asset.active)
                    )
                ),
            )
    if problems:
        raise PlacesError(problems.listed())
    session.flush()
    return layer_counts, asset_counts


def _assets(session: Session, layer: AssetLayer, path: Path, name: str) -> Counter[str]:
    counts: Counter[str] = Counter()
    existing = {
        source_id: (row_id, (label, category, lat, lon, properties, active))
        for row_id, source_id, label, category, lat, lon, properties, active in session.execute(
            select(
                Asset.id,
                Asset.source_id,
                Asset.label,
                Asset.category,
                Asset.lat,
                Asset.lon,
                Asset.properties,
                Asset.active,
            ).where(Asset.layer_id == layer.id)
        )
    }
    problems = Problems()
    seen: dict[str, str] = {}
    for batch in _batches(read_assets(path, problems, name)):
        added, changed = [], []
        for row in batch:
            if row.source_id in seen:
                problems.add(
                    f'{row.place}: id "{row.source_id}" is already used on '
                    f"{seen[row.source_id].split(': ', 1)[1]}"
                )
                continue
            seen[row.source_id] = row.place
            values = {
                "layer_id": layer.id,
                "source_id": row.source_id,
                "label": row.label,
                "category": row.category,
                "lat": row.lat,
                "lon": row.lon,
                "properties": row.properties,
                "active": True,
            }
            found = existing.get(row.source_id)
            if found is None:
                added.append(values)
            elif found[1] != (row.label, row.category, row.lat, row.lon, row.properties, True):
                changed.append({**values, "row_id": found[0]})
            else:
                counts["unchanged"] += 1
        if not problems:
            _write(session, Asset, added, changed, counts)
    if problems:
        raise PlacesError(problems.listed())
    counts["deactivated"] += _deactivate(
        session, Asset, [v[0] for k, v in existing.items() if v[1][5] and k not in seen]
    )
    return counts
