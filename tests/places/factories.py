"""Test data of the city's places: address points and street centrelines."""

from __future__ import annotations

from typing import Any

from portal.places.models import AddressPoint, Asset, AssetLayer, Street
from portal.places.normalise import address_key, street_key
from tests.factory_base import FactoryBase, next_n


class PlacesFactories(FactoryBase):
    def address_point(
        self, number: str = "118", street: str = "Main Street", unit: str = "", **kw: Any
    ) -> AddressPoint:
        kw.setdefault("lat", 41.0)
        kw.setdefault("lon", -87.0)
        label = f"{number} {street}" + (f", {unit}" if unit else "")
        kw.setdefault("label", label)
        kw.setdefault("source_id", f"ap-{next_n()}")
        return self._add(
            AddressPoint(
                number=number,
                street=street,
                unit=unit,
                street_key=street_key(street),
                search_key=address_key(number, street, unit),
                active=kw.pop("active", True),
                postcode=kw.pop("postcode", ""),
                **kw,
            )
        )

    def street(self, name: str = "Main Street", coordinates: Any = None, **kw: Any) -> Street:
        """A centreline (``coordinates``: [[lon, lat], ...], a LineString)."""
        coordinates = coordinates or [[-87.01, 41.0], [-86.99, 41.0]]
        lons = [c[0] for c in coordinates]
        lats = [c[1] for c in coordinates]
        kw.setdefault("source_id", f"st-{next_n()}")
        return self._add(
            Street(
                name=name,
                key=street_key(name),
                geometry={"type": "LineString", "coordinates": coordinates},
                min_lat=min(lats),
                max_lat=max(lats),
                min_lon=min(lons),
                max_lon=max(lons),
                active=kw.pop("active", True),
                **kw,
            )
        )

    def asset_layer(self, code: str = "streetlights", name: str = "Streetlights", **kw: Any):
        kw.setdefault("translations", {"es": {"name": "Farolas"}})
        return self._add(AssetLayer(code=code, name=name, active=kw.pop("active", True), **kw))

    def asset(self, layer: AssetLayer, source_id: str, lat: float, lon: float, **kw: Any) -> Asset:
        kw.setdefault("label", source_id)
        return self._add(
            Asset(
                layer_id=layer.id,
                source_id=source_id,
                lat=lat,
                lon=lon,
                active=kw.pop("active", True),
                properties=kw.pop("properties", {}),
                **kw,
            )
        )
