"""Generate the demo city's street grid and address points (``portal/demo/city/streets.geojson``
and ``addresses.csv``), deterministically: run ``python -m portal.demo.places_gen`` after
changing the areas and commit the two files (``flask demo load`` imports them like any city's).

Riverton is a grid over its areas' bounding box: avenues run north-south every 0.003° of
longitude (about 250 m), streets east-west every 0.0025° of latitude (about 280 m). House
numbers grow by 100 a block away from the west edge (on streets) or the south edge (on
avenues), even on the north and east sides, odd on the south and west; the points sit about
12 m off the centreline. Some buildings have units (``Apt 1``...). Each point gets the
postcode of its area.
"""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path
from typing import Any

from portal.areas.geo import AreaIndex

CITY = Path(__file__).parent / "city"
SEED = 18

#: North-south, west to east (the middle ones, through Old Town, are numbered).
AVENUES = [
    "Prairie Lane",
    "Westfield Road",
    "Cedar Street",
    "Harvest Drive",
    "Orchard Way",
    "Wheatland Avenue",
    "Birch Street",
    "Lincoln Avenue",
    "Heron Way",
    "Willow Street",
    "Mill Street",
    "Canal Street",
    "Ferry Street",
    "1st Avenue",
    "2nd Avenue",
    "3rd Avenue",
    "4th Avenue",
    "5th Avenue",
    "6th Avenue",
    "7th Avenue",
    "8th Avenue",
    "9th Avenue",
    "10th Avenue",
    "11th Avenue",
    "12th Avenue",
    "Garfield Avenue",
    "Jefferson Street",
    "Walnut Street",
    "Commerce Drive",
    "Oak Street",
    "Sycamore Lane",
    "Foundry Road",
    "Industrial Parkway",
    "Meadow Lane",
    "Elm Street",
    "Summit Street",
    "Eastgate Boulevard",
    "Southpark Avenue",
    "Ridge Road",
    "Northview Drive",
]
#: East-west, south to north.
STREETS = [
    "River Road",
    "Bridge Street",
    "Church Street",
    "Court Street",
    "Market Street",
    "Main Street",
    "Washington Avenue",
    "Adams Street",
    "Madison Street",
    "Monroe Street",
    "Jackson Avenue",
    "Harrison Street",
    "Tyler Road",
    "Polk Street",
    "Taylor Avenue",
    "Fillmore Street",
    "Pierce Road",
    "Buchanan Street",
    "Maple Avenue",
    "Chestnut Street",
    "Hickory Lane",
    "Aspen Court",
    "Poplar Street",
    "Magnolia Drive",
    "Linden Avenue",
    "Spruce Street",
    "Juniper Road",
    "Laurel Street",
    "Hawthorn Avenue",
    "Dogwood Lane",
    "Cherry Street",
    "Pine Street",
    "Hillcrest Road",
    "Lakeview Avenue",
    "Sunset Boulevard",
    "Parkside Drive",
]
POSTCODES = {
    "westfield": "46901",
    "northside": "46902",
    "eastgate": "46903",
    "riverside": "46904",
    "old-town": "46905",
    "southpark": "46906",
}
#: Points per side of a block, along streets and along avenues.
PER_SIDE_STREET = 4
PER_SIDE_AVENUE = 3
OFFSET = 0.00011  # ~12 m off the centreline


def generate() -> tuple[dict[str, Any], list[list[str]]]:
    areas = json.loads((CITY / "areas.geojson").read_text(encoding="utf-8"))["features"]
    lons = [p[0] for f in areas for ring in f["geometry"]["coordinates"] for p in ring]
    lats = [p[1] for f in areas for ring in f["geometry"]["coordinates"] for p in ring]
    west, east, south, north = min(lons), max(lons), min(lats), max(lats)
    avenue_lons = [round(west + 0.0015 + i * 0.003, 6) for i in range(len(AVENUES))]
    street_lats = [round(south + 0.00125 + j * 0.0025, 6) for j in range(len(STREETS))]
    assert avenue_lons[-1] < east and street_lats[-1] < north
    features = [
        _line(f"RV-A{i + 1:02d}", name, [[x, south], [x, north]])
        for i, (name, x) in enumerate(zip(AVENUES, avenue_lons, strict=True))
    ] + [
        _line(f"RV-S{j + 1:02d}", name, [[west, y], [east, y]])
        for j, (name, y) in enumerate(zip(STREETS, street_lats, strict=True))
    ]
    rng = random.Random(SEED)
    points: list[tuple[str, str, float, float]] = []  # number, street, lat, lon
    # Along each street: a block between two avenues, points on both sides.
    for name, y in zip(STREETS, street_lats, strict=True):
        for block, (x0, x1) in enumerate(_blocks([west, *avenue_lons, east])):
            points += _side(rng, name, block, x0, x1, y, fixed_is_lat=True)
    for name, x in zip(AVENUES, avenue_lons, strict=True):
        for block, (y0, y1) in enumerate(_blocks([south, *street_lats, north])):
            points += _side(rng, name, block, y0, y1, x, fixed_is_lat=False)
    index = AreaIndex([(f["properties"]["code"], f["geometry"]) for f in areas])
    codes = index.locate_many([p[2] for p in points], [p[3] for p in points])
    rows = [["LON", "LAT", "NUMBER", "STREET", "UNIT", "POSTCODE", "ID"]]
    serial = 0
    for (number, street, lat, lon), code in zip(points, codes, strict=True):
        if code is None:
            continue
        units = [""]
        if rng.random() < 0.04:  # a small apartment building
            units = [f"Apt {n}" for n in range(1, rng.randint(3, 6))]
        for unit in units:
            serial += 1
            rows.append(
                [
                    f"{lon:.6f}",
                    f"{lat:.6f}",
                    number,
                    street,
                    unit,
                    POSTCODES[code],
                    f"RV{serial:06d}",
                ]
            )
    return {
        "type": "FeatureCollection",
        "name": "City of Riverton street centrelines (generated by portal/demo/places_gen.py)",
        "features": features,
    }, rows


def _line(source_id: str, name: str, coordinates: list[list[float]]) -> dict[str, Any]:
    return {
        "type": "Feature",
        "properties": {"id": source_id, "name": name},
        "geometry": {"type": "LineString", "coordinates": coordinates},
    }


def _blocks(edges: list[float]) -> list[tuple[float, float]]:
    return list(zip(edges, edges[1:], strict=False))


def _side(
    rng: random.Random,
    street: str,
    block: int,
    start: float,
    end: float,
    fixed: float,
    *,
    fixed_is_lat: bool,
) -> list[tuple[str, str, float, float]]:
    """The points of one block of ``street``: even numbers on the north/east side."""
    per_side = PER_SIDE_STREET if fixed_is_lat else PER_SIDE_AVENUE
    found = []
    for parity, offset in ((0, OFFSET), (1, -OFFSET)):
        for k in range(per_side):
            along = start + (end - start) * (k + 0.5) / per_side
            number = (block + 1) * 100 + k * 2 * (48 // per_side) + 2 + parity
            if rng.random() < 0.06:
                continue  # an empty lot
            lat, lon = (fixed + offset, along) if fixed_is_lat else (along, fixed + offset)
            found.append((str(number), street, round(lat, 6), round(lon, 6)))
    return found


def main() -> None:
    streets, rows = generate()
    with (CITY / "streets.geojson").open("w", encoding="utf-8") as handle:
        handle.write('{"type": "FeatureCollection", "name": ' + json.dumps(streets["name"]))
        handle.write(', "features": [\n')
        handle.write(",\n".join(json.dumps(f) for f in streets["features"]))
        handle.write("\n]}\n")
    with (CITY / "addresses.csv").open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle, lineterminator="\n").writerows(rows)
    print(f"{len(streets['features'])} streets, {len(rows) - 1} address points")


if __name__ == "__main__":
    main()
