"""The city's assets near a point, and one asset by its id: what a category with an asset layer
asks residents to pick ("streetlight SL-1042").

Bounded: a box query on the (layer_id, lat, lon) index, at most ``CANDIDATES`` rows read.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.areas.geo import bounding_box, distance_m
from portal.places.models import Asset, AssetLayer

#: How far from the chosen point the list of assets reaches, and how many it shows.
NEAR_M = 150.0
NEAR_LIMIT = 10
CANDIDATES = 500


@dataclass(frozen=True)
class NearAsset:
    asset: Asset
    distance_m: float


def active_layer(session: Session, layer_id: int | None) -> AssetLayer | None:
    if layer_id is None:
        return None
    layer = session.get(AssetLayer, layer_id)
    return layer if layer is not None and layer.active else None


def nearest_assets(
    session: Session,
    *,
    layer_id: int,
    lat: float,
    lon: float,
    radius_m: float = NEAR_M,
    limit: int = NEAR_LIMIT,
) -> list[NearAsset]:
    """The layer's active assets within ``radius_m`` of the point, nearest first."""
    min_lat, max_lat, min_lon, max_lon = bounding_box(lat, lon, radius_m)
    rows = session.scalars(
        select(Asset)
        .where(
            Asset.layer_id == layer_id,
            Asset.lat.between(min_lat, max_lat),
            Asset.lon.between(min_lon, max_lon),
            Asset.active.is_(True),
        )
        .limit(CANDIDATES)
    ).all()
    found = [NearAsset(a, distance_m(lat, lon, a.lat, a.lon)) for a in rows]
    found = [n for n in found if n.distance_m <= radius_m]
    found.sort(key=lambda n: (n.distance_m, n.asset.source_id))
    return found[:limit]


def find_asset(session: Session, *, layer_id: int, ref: str) -> Asset | None:
    """The layer's active asset with the city's id ``ref`` ("SL-1042"), matched exactly or
    in capitals (a number typed or read out as "sl-1042"; surrounding spaces ignored), or
    None."""
    ref = (ref or "").strip()
    if not ref or len(ref) > 64:
        return None
    return session.scalar(
        select(Asset)
        .where(
            Asset.layer_id == layer_id,
            Asset.source_id.in_(sorted({ref, ref.upper()})),
            Asset.active.is_(True),
        )
        .order_by(Asset.source_id.desc())  # the exact spelling first when both exist
        .limit(1)
    )
