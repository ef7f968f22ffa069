"""Test data of the city's areas, and the points inside and outside the default one."""

from __future__ import annotations

from typing import Any

from portal.areas.models import Area
from tests.factory_base import FactoryBase, next_n

#: A square around (41.0, -87.0), about 2.2 km a side.
SQUARE = [[-87.01, 40.99], [-86.99, 40.99], [-86.99, 41.01], [-87.01, 41.01], [-87.01, 40.99]]
INSIDE = (41.0, -87.0)  # lat, lon
OUTSIDE = (42.5, -80.0)


class AreaFactories(FactoryBase):
    def area(self, **kw: Any) -> Area:
        n = next_n()
        ring = kw.pop("ring", SQUARE)
        kw.setdefault("code", f"area-{n}")
        kw.setdefault("name", f"Area {n}")
        lons = [p[0] for p in ring]
        lats = [p[1] for p in ring]
        return self._add(
            Area(
                geometry={"type": "Polygon", "coordinates": [ring]},
                min_lat=min(lats),
                max_lat=max(lats),
                min_lon=min(lons),
                max_lon=max(lons),
                **kw,
            )
        )
