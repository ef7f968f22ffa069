"""The city's areas (neighbourhoods, wards) as GeoJSON polygons."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Boolean, Float, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from portal.core.db import Base
from portal.core.models import JsonDoc, Timestamped


class Area(Timestamped, Base):
    __tablename__ = "areas"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    # A GeoJSON geometry (Polygon or MultiPolygon), lon/lat in WGS84.
    geometry: Mapped[dict[str, Any]] = mapped_column(JsonDoc)
    # Bounding box, so candidate areas are found without reading every polygon.
    min_lat: Mapped[float] = mapped_column(Float)
    max_lat: Mapped[float] = mapped_column(Float)
    min_lon: Mapped[float] = mapped_column(Float)
    max_lon: Mapped[float] = mapped_column(Float)
    # Residents (from the areas file's ``properties.population``, optional): the hotspot map
    # and the spike rule compare areas per resident when every area has one.
    population: Mapped[int | None] = mapped_column(Integer, nullable=True)
    #: An area that left the city's configuration keeps its requests but places no new ones.
    active: Mapped[bool] = mapped_column(Boolean, default=True)
