"""Address points, streets and asset layers, loaded from the city's configuration folder.

Every row keeps the city's own id (``source_id``) so a re-import updates it in place; a row that
left the city's files is deactivated, never deleted (requests may point at it).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Boolean, Float, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from portal.core.db import Base
from portal.core.models import BigId, JsonDoc, Translatable


class AddressPoint(Base):
    __tablename__ = "address_points"
    __table_args__ = (
        Index("ix_address_points_street_number", "street_key", "number"),
        Index("ix_address_points_lat_lon", "lat", "lon"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    #: The city's own id; a re-import updates the point that has it.
    source_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    number: Mapped[str] = mapped_column(String(16))  # "118", "118A", "118-120"
    street: Mapped[str] = mapped_column(String(120))  # as the city writes it: "Main Street"
    unit: Mapped[str] = mapped_column(String(32), default="")  # "Apt 4"
    postcode: Mapped[str] = mapped_column(String(12), default="")
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    area_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"))
    #: ``normalise.street_key(street)``: "main st".
    street_key: Mapped[str] = mapped_column(String(120))
    #: ``normalise.address_key(number, street, unit)``: "118 main st 4".
    search_key: Mapped[str] = mapped_column(String(200))
    #: For display: "118 Main Street, Apt 4".
    label: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Street(Base):
    __tablename__ = "streets"
    __table_args__ = (Index("ix_streets_min_lat_max_lat", "min_lat", "max_lat"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    #: ``normalise.street_key(name)``.
    key: Mapped[str] = mapped_column(String(120), index=True)
    #: A GeoJSON LineString or MultiLineString geometry, lon/lat in WGS84.
    geometry: Mapped[dict[str, Any]] = mapped_column(JsonDoc)
    min_lat: Mapped[float] = mapped_column(Float)
    min_lon: Mapped[float] = mapped_column(Float)
    max_lat: Mapped[float] = mapped_column(Float)
    max_lon: Mapped[float] = mapped_column(Float)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class AssetLayer(Translatable, Base):
    """A kind of city asset a category can ask for: streetlights, bins, hydrants, trees."""

    __tablename__ = "asset_layers"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Asset(Base):
    __tablename__ = "assets"
    __table_args__ = (
        UniqueConstraint("layer_id", "source_id"),
        Index("ix_assets_layer_lat_lon", "layer_id", "lat", "lon"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    layer_id: Mapped[int] = mapped_column(ForeignKey("asset_layers.id"))
    source_id: Mapped[str] = mapped_column(String(64))
    label: Mapped[str] = mapped_column(String(120))
    category: Mapped[str] = mapped_column(String(60), default="")
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    properties: Mapped[dict[str, Any]] = mapped_column(JsonDoc, default=dict)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
