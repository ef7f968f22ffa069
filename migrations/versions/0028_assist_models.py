"""assist_models: the models the worker trains on the city's own data (issue 22), one row per
version with its held-out metrics, its file in the data folder and that file's SHA-256.

Staff re-categorisations need no table: casework's change_category already records each as an
internal entry on the request ({"action": "category", "from", "to"}).

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-07 16:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import portal.core.db
import portal.core.models

revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "assist_models",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("feature", sa.String(length=32), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("trained_at", portal.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("examples", sa.Integer(), nullable=False),
        sa.Column("languages", portal.core.models.JsonDoc, nullable=False),
        sa.Column("metrics", portal.core.models.JsonDoc, nullable=False),
        sa.Column("file_name", sa.String(length=200), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assist_models")),
        sa.UniqueConstraint("feature", "version", name=op.f("uq_assist_models_feature_version")),
    )


def downgrade() -> None:
    op.drop_table("assist_models")
