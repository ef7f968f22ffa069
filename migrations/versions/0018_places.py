"""places: the city's address points, street centrelines and asset layers (issue 18), loaded
from its configuration folder by ``flask city import``.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07 06:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import portal.core.models

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "asset_layers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("translations", portal.core.models.JsonDoc, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_asset_layers")),
        sa.UniqueConstraint("code", name=op.f("uq_asset_layers_code")),
    )
    op.create_table(
        "streets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.String(length=64), nullable=True),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("key", sa.String(length=120), nullable=False),
        sa.Column("geometry", portal.core.models.JsonDoc, nullable=False),
        sa.Column("min_lat", sa.Float(), nullable=False),
        sa.Column("min_lon", sa.Float(), nullable=False),
        sa.Column("max_lat", sa.Float(), nullable=False),
        sa.Column("max_lon", sa.Float(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_streets")),
        sa.UniqueConstraint("source_id", name=op.f("uq_streets_source_id")),
    )
    op.create_index(op.f("ix_streets_key"), "streets", ["key"], unique=False)
    op.create_index("ix_streets_min_lat_max_lat", "streets", ["min_lat", "max_lat"], unique=False)
    op.create_table(
        "address_points",
        sa.Column("id", portal.core.models.BigId, nullable=False),
        sa.Column("source_id", sa.String(length=64), nullable=True),
        sa.Column("number", sa.String(length=16), nullable=False),
        sa.Column("street", sa.String(length=120), nullable=False),
        sa.Column("unit", sa.String(length=32), nullable=False),
        sa.Column("postcode", sa.String(length=12), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("area_id", sa.Integer(), nullable=True),
        sa.Column("street_key", sa.String(length=120), nullable=False),
        sa.Column("search_key", sa.String(length=200), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["area_id"], ["areas.id"], name=op.f("fk_address_points_area_id_areas")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_address_points")),
        sa.UniqueConstraint("source_id", name=op.f("uq_address_points_source_id")),
    )
    op.create_index("ix_address_points_lat_lon", "address_points", ["lat", "lon"], unique=False)
    op.create_index(
        "ix_address_points_street_number",
        "address_points",
        ["street_key", "number"],
        unique=False,
    )
    op.create_table(
        "assets",
        sa.Column("id", portal.core.models.BigId, nullable=False),
        sa.Column("layer_id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.String(length=64), nullable=False),
        sa.Column("label", sa.String(length=120), nullable=False),
        sa.Column("category", sa.String(length=60), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("properties", portal.core.models.JsonDoc, nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["layer_id"], ["asset_layers.id"], name=op.f("fk_assets_layer_id_asset_layers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assets")),
        sa.UniqueConstraint("layer_id", "source_id", name=op.f("uq_assets_layer_id_source_id")),
    )
    op.create_index("ix_assets_layer_lat_lon", "assets", ["layer_id", "lat", "lon"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_assets_layer_lat_lon", table_name="assets")
    op.drop_table("assets")
    op.drop_index("ix_address_points_street_number", table_name="address_points")
    op.drop_index("ix_address_points_lat_lon", table_name="address_points")
    op.drop_table("address_points")
    op.drop_index("ix_streets_min_lat_max_lat", table_name="streets")
    op.drop_index(op.f("ix_streets_key"), table_name="streets")
    op.drop_table("streets")
    op.drop_table("asset_layers")
