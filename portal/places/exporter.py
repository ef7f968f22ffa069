"""Write the city's active address points, streets and asset layers back as folder files
(``flask city export``), in the format ``portal.places.loader`` reads: importing the export
changes nothing. Rows are read in keyset batches and written as they come (constant memory).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import tomli_w
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.places.importer import BATCH
from portal.places.loader import ADDRESSES_CSV, ASSETS, ASSETS_DIR, STREETS
from portal.places.models import AddressPoint, Asset, AssetLayer, Street


def _keyset(session: Session, query: Any, id_column: Any) -> Iterator[Any]:
    last = 0
    while True:
        rows = session.execute(query.where(id_column > last).order_by(id_column).limit(BATCH)).all()
        if not rows:
            return
        yield from rows
        last = rows[-1][0]


def export_places(session: Session, folder: Path) -> list[str]:
    """Write the files that have active rows; return their names."""
    written: list[str] = []
    for path in (folder / ADDRESSES_CSV, folder / STREETS):
        path.unlink(missing_ok=True)
    if session.scalar(select(AddressPoint.id).where(AddressPoint.active).limit(1)) is not None:
        with (folder / ADDRESSES_CSV).open("w", encoding="utf-8", newline="") as handle:
            out = csv.writer(handle, lineterminator="\n")
            out.writerow(["LON", "LAT", "NUMBER", "STREET", "UNIT", "POSTCODE", "ID"])
            p = AddressPoint
            query = select(
                p.id, p.lon, p.lat, p.number, p.street, p.unit, p.postcode, p.source_id
            ).where(p.active)
            for row in _keyset(session, query, p.id):
                out.writerow([repr(row.lon), repr(row.lat), *row[3:7], row.source_id or ""])
        written.append(ADDRESSES_CSV)
    if session.scalar(select(Street.id).where(Street.active).limit(1)) is not None:
        query = select(Street.id, Street.source_id, Street.name, Street.geometry).where(
            Street.active
        )
        with (folder / STREETS).open("w", encoding="utf-8") as handle:
            _collection(
                handle,
                (
                    _feature({"id": s.source_id, "name": s.name}, s.geometry)
                    for s in _keyset(session, query, Street.id)
                ),
            )
        written.append(STREETS)
    written += _assets(session, folder)
    return written


def _feature(properties: dict[str, Any], geometry: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "Feature",
        "properties": {k: v for k, v in properties.items() if v is not None},
        "geometry": geometry,
    }


def _collection(handle: Any, features: Iterator[dict[str, Any]]) -> None:
    handle.write('{"type": "FeatureCollection", "features": [\n')
    for index, feature in enumerate(features):
        handle.write((",\n" if index else "") + json.dumps(feature, ensure_ascii=False))
    handle.write("\n]}\n")


def _assets(session: Session, folder: Path) -> list[str]:
    layers = list(
        session.scalars(select(AssetLayer).where(AssetLayer.active).order_by(AssetLayer.code))
    )
    (folder / ASSETS).unlink(missing_ok=True)
    if not layers:
        return []
    entries = []
    written = [ASSETS]
    (folder / ASSETS_DIR).mkdir(exist_ok=True)
    for layer in layers:
        entry: dict[str, Any] = {"code": layer.code, "name": layer.name}
        if layer.translations:
            entry["translations"] = layer.translations
        entries.append(entry)
        query = select(
            Asset.id,
            Asset.source_id,
            Asset.label,
            Asset.category,
            Asset.lat,
            Asset.lon,
            Asset.properties,
        ).where(Asset.layer_id == layer.id, Asset.active)
        name = f"{ASSETS_DIR}/{layer.code}.geojson"
        with (folder / name).open("w", encoding="utf-8") as handle:
            _collection(
                handle,
                (
                    _feature(
                        {
                            **(a.properties or {}),
                            "id": a.source_id,
                            "label": a.label,
                            "category": a.category or None,
                        },
                        {"type": "Point", "coordinates": [a.lon, a.lat]},
                    )
                    for a in _keyset(session, query, Asset.id)
                ),
            )
        written.append(name)
    (folder / ASSETS).write_text(
        "# The city's asset layers, written by `flask city export`; each layer's points are in\n"
        f"# {ASSETS_DIR}/<code>.geojson. The format is in docs/city-configuration.md.\n\n"
        + tomli_w.dumps({"layer": entries}),
        encoding="utf-8",
    )
    return written
