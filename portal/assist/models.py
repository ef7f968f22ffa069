"""The models the worker trained, one row per version (the file itself is in the data folder)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from portal.core import clock
from portal.core.db import Base
from portal.core.models import JsonDoc


class AssistModel(Base):
    """A trained model: ``feature`` ("categories"), its ``version`` (1, 2, ... per feature),
    how many examples in which languages, the metrics of its held-out evaluation (e.g.
    ``{"en": {"top1", "top3", "n"}}``), and the file (under ``<upload_dir>/assist``) with its
    SHA-256, so a file changed or cut short on disk is detected and ignored."""

    __tablename__ = "assist_models"
    __table_args__ = (UniqueConstraint("feature", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    feature: Mapped[str] = mapped_column(String(32))
    version: Mapped[int] = mapped_column(Integer)
    trained_at: Mapped[datetime] = mapped_column(default=clock.now)
    examples: Mapped[int] = mapped_column(Integer, default=0)
    languages: Mapped[list[str]] = mapped_column(JsonDoc, default=list)
    metrics: Mapped[dict[str, Any]] = mapped_column(JsonDoc, default=dict)
    file_name: Mapped[str] = mapped_column(String(200))
    sha256: Mapped[str] = mapped_column(String(64))
