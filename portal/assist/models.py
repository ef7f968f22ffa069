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
    case has one still undecided (``request_id``, ``decided_at``); the algorithm register counts
    the pairs decided in a period by decision and strength from ``ix_..._decided`` alone."""

    __tablename__ = "duplicate_candidates"
    __table_args__ = (
        UniqueConstraint("request_id", "candidate_id"),
        Index("ix_duplicate_candidates_request_decided", "request_id", "decided_at"),
        Index("ix_duplicate_candidates_candidate_decided", "candidate_id", "decided_at"),
        Index("ix_duplicate_candidates_created", "created_at"),
        Index("ix_duplicate_candidates_decided", "decided_at", "decision", "score"),
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


class AssistTheme(Base):
    """A theme heard in an area in a period (``portal.assist.themes``): its ``label`` and top
    ``terms``, how many texts (``size``) and how many the period before (``previous``), and
    up to three scrubbed ``examples``. Computed weekly by the worker; the rows of a period are
    replaced together. Index: a period's themes, by area and position."""

    __tablename__ = "assist_themes"
    __table_args__ = (
        Index("ix_assist_themes_period_area", "period_kind", "period_key", "area_id", "position"),
        Index("ix_assist_themes_computed", "computed_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    period_kind: Mapped[str] = mapped_column(String(8))
    period_key: Mapped[str] = mapped_column(String(10))
    area_id: Mapped[int] = mapped_column(ForeignKey("areas.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    label: Mapped[str] = mapped_column(String(200))
    terms: Mapped[list[str]] = mapped_column(JsonDoc, default=list)
    size: Mapped[int] = mapped_column(Integer)
    previous: Mapped[int] = mapped_column(Integer, default=0)
    examples: Mapped[list[str]] = mapped_column(JsonDoc, default=list)
    computed_at: Mapped[datetime] = mapped_column(default=clock.now)


class KnowledgeArticle(Base):
    """A knowledge article ("When is bulk pickup?"): its ``slug`` (the public address
    /help/<slug>), whether it is offered, and its current version (``versions``: every text it
    has had, none ever changed or removed)."""

    __tablename__ = "knowledge_articles"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    active: Mapped[bool] = mapped_column(default=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(default=clock.now)


class KnowledgeArticleVersion(Base):
    """One version of an article: ``titles`` and ``bodies`` by language ({"en": ..., "es":
    ...}), where it came from (``source``: "city-file" when the city's configuration folder
    was imported, "admin" when edited on the admin page, by ``created_by``)."""

    __tablename__ = "knowledge_article_versions"
    __table_args__ = (UniqueConstraint("article_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("knowledge_articles.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    titles: Mapped[dict[str, str]] = mapped_column(JsonDoc, default=dict)
    bodies: Mapped[dict[str, str]] = mapped_column(JsonDoc, default=dict)
    source: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class KnowledgeArticleEvent(Base):
    """What residents did with articles, one row each, no personal data: ``kind`` "suggested"
    (offered on the describe step, once per visit), "opened" (followed from a suggestion),
    "helpful" / "not_helpful" (the "Did this answer your question?" answer), or "filed" (a
    request filed in a visit; no article). ``visit`` is a random key of the resident's
    browser session, so a deflection (opened, and nothing filed in that visit within
    ``portal.assist.articles.DEFLECTION_WINDOW``) is counted when the figures are read."""

    __tablename__ = "knowledge_article_events"
    __table_args__ = (
        Index("ix_knowledge_article_events_kind_at", "kind", "occurred_at"),
        Index("ix_knowledge_article_events_visit", "visit", "kind"),
        Index("ix_knowledge_article_events_article", "article_id", "kind"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    article_id: Mapped[int | None] = mapped_column(
        ForeignKey("knowledge_articles.id", ondelete="CASCADE")
    )
    kind: Mapped[str] = mapped_column(String(16))
    visit: Mapped[str | None] = mapped_column(String(32))
    occurred_at: Mapped[datetime] = mapped_column(default=clock.now)
