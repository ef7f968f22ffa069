"""assist_themes: the themes heard per area and period (issue 22), computed weekly by the
worker from residents' descriptions and survey comments (portal.assist.themes).

Revision ID: 0031
Revises: 0030
Create Date: 2026-12-07 19:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import portal.core.db
import portal.core.models

revision = "0031"
down_revision = "0030"
branch_labels = None
depends_on = None


def upgrade() -> None:
    big_id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
    op.create_table(
        "assist_themes",
        sa.Column("id", big_id, nullable=False),
        sa.Column("period_kind", sa.String(length=8), nullable=False),
        sa.Column("period_key", sa.String(length=10), nullable=False),
        sa.Column("area_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("terms", portal.core.models.JsonDoc, nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("previous", sa.Integer(), nullable=False),
        sa.Column("examples", portal.core.models.JsonDoc, nullable=False),
        sa.Column("computed_at", portal.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["area_id"],
            ["areas.id"],
            name=op.f("fk_assist_themes_area_id_areas"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assist_themes")),
    )
    op.create_index(
        "ix_assist_themes_period_area",
        "assist_themes",
        ["period_kind", "period_key", "area_id", "position"],
    )
    op.create_index("ix_assist_themes_computed", "assist_themes", ["computed_at"])


def downgrade() -> None:
    op.drop_index("ix_assist_themes_computed", table_name="assist_themes")
    op.drop_index("ix_assist_themes_period_area", table_name="assist_themes")
    op.drop_table("assist_themes")
