"""Knowledge articles (issue 22, "Answers before requests"): knowledge_articles, every version
of their bilingual text (knowledge_article_versions, none changed or removed) and what residents
did with them (knowledge_article_events: suggested, opened, helpful / not helpful, filed), from
which deflections are counted.

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-07 18:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import portal.core.db
import portal.core.models

revision = "0030"
down_revision = "0029"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "knowledge_articles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=80), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", portal.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", portal.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_knowledge_articles")),
        sa.UniqueConstraint("slug", name=op.f("uq_knowledge_articles_slug")),
    )
    op.create_table(
        "knowledge_article_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("titles", portal.core.models.JsonDoc, nullable=False),
        sa.Column("bodies", portal.core.models.JsonDoc, nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("created_at", portal.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["knowledge_articles.id"],
            name=op.f("fk_knowledge_article_versions_article_id_knowledge_articles"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name=op.f("fk_knowledge_article_versions_created_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_knowledge_article_versions")),
        sa.UniqueConstraint(
            "article_id", "version", name=op.f("uq_knowledge_article_versions_article_id_version")
        ),
    )
    op.create_table(
        "knowledge_article_events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("visit", sa.String(length=32), nullable=True),
        sa.Column("occurred_at", portal.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["knowledge_articles.id"],
            name=op.f("fk_knowledge_article_events_article_id_knowledge_articles"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_knowledge_article_events")),
    )
    op.create_index(
        "ix_knowledge_article_events_kind_at",
        "knowledge_article_events",
        ["kind", "occurred_at"],
    )
    op.create_index(
        "ix_knowledge_article_events_visit", "knowledge_article_events", ["visit", "kind"]
    )
    op.create_index(
        "ix_knowledge_article_events_article", "knowledge_article_events", ["article_id", "kind"]
    )


def downgrade() -> None:
    op.drop_table("knowledge_article_events")
    op.drop_table("knowledge_article_versions")
    op.drop_table("knowledge_articles")
