"""asset_requests: a category may ask for one of the city's assets, and a request names it.

- service_categories.asset_layer_id (the asset layer the category asks residents to pick from)
  and asset_required (a request must name one).
- service_requests.asset_id (the asset picked), asset_ref (its id in the city's data,
  "SL-1042") and asset_label, kept as filed even if the asset later leaves the city's files.

Plain ALTER TABLE ADD COLUMN, without foreign keys, like 0019's address_point_id: SQLite could
add one only by copying the table (service_requests would lose its search triggers and take
long on millions of rows), and asset layers and assets are never deleted (a re-import
deactivates them), so the ids stay meaningful.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07 07:15:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import portal.core.models

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("service_categories", sa.Column("asset_layer_id", sa.Integer(), nullable=True))
    op.add_column(
        "service_categories",
        sa.Column("asset_required", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.add_column(
        "service_requests", sa.Column("asset_id", portal.core.models.BigId, nullable=True)
    )
    op.add_column(
        "service_requests",
        sa.Column("asset_ref", sa.String(length=64), server_default="", nullable=False),
    )
    op.add_column(
        "service_requests",
        sa.Column("asset_label", sa.String(length=120), server_default="", nullable=False),
    )


def downgrade() -> None:
    for column in ("asset_label", "asset_ref", "asset_id"):
        op.drop_column("service_requests", column)
    for column in ("asset_required", "asset_layer_id"):
        op.drop_column("service_categories", column)
