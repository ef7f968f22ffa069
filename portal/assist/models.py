"""The models the worker trained, one row per version (the file itself is in the data folder)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Float, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from portal.core import clock
from portal.core.db import Base
from portal.core.models import BigId, JsonDoc


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


class DuplicateCandidate(Base):
    """An earlier request (``candidate``) that may report the same incident as ``request``,
    found when ``request`` was filed (``portal.assist.duplicates``): its ``score`` (0 to 1)
    and the ``reasons`` behind it (``[{"kind": "distance", "metres": 40}, ...]``, put into
    words when shown). A person decides: ``decision`` "merged" (one was closed as a
    duplicate of the other) or "not_duplicate", by ``decided_by`` at ``decided_at``; nothing is
    merged by this table.

    Indexes: the case page reads a case's candidates from either side
    (``request_id``, ``candidate_id``); the queue's "possible duplicates" filter asks whether a
    case has one still undecided (``request_id``, ``decided_at``)."""

    __tablename__ = "duplicate_candidates"
    __table_args__ = (
        UniqueConstraint("request_id", "candidate_id"),
        Index("ix_duplicate_candidates_request_decided", "request_id", "decided_at"),
        Index("ix_duplicate_candidates_candidate_decided", "candidate_id", "decided_at"),
        Index("ix_duplicate_candidates_created", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("service_requests.id", ondelete="CASCADE"))
    candidate_id: Mapped[int] = mapped_column(ForeignKey("service_requests.id", ondelete="CASCADE"))
    score: Mapped[float] = mapped_column(Float)
    reasons: Mapped[list[dict[str, Any]]] = mapped_column(JsonDoc, default=list)
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    decided_at: Mapped[datetime | None]
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    decision: Mapped[str | None] = mapped_column(String(16))  # merged | not_duplicate
