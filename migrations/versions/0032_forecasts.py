"""Calibrated expected dates (issue 23): each resolution clock keeps the forecast made when it
started (forecast_seconds, forecast_at); forecast_groups holds how long similar resolved work
took (quantile sketches) and forecast_calibration how often the forecasts came true, both
rebuilt by the worker. ix_sla_clocks_kind_started finds the clocks of the calibration window.
ix_service_requests_duplicate_of: the later reports merged into an incident (equity's
reporting rates). users.team_digest: whether a staff member gets the weekly email of their
department's results.

Revision ID: 0032
Revises: 0031
Create Date: 2026-12-07 18:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import portal.core.db
import portal.core.models

revision = "0032"
down_revision = "0031"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN on both engines (SQLite's batch mode would copy the tables, and the
    # request search's triggers name users).
    op.add_column(
        "users", sa.Column("team_digest", sa.Boolean(), server_default=sa.true(), nullable=False)
    )
    op.add_column("sla_clocks", sa.Column("forecast_seconds", sa.Integer(), nullable=True))
    op.add_column(
        "sla_clocks",
        sa.Column("forecast_at", portal.core.db.UTCDateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_sla_clocks_kind_started", "sla_clocks", ["kind", "started_at"])
    op.create_index("ix_service_requests_duplicate_of", "service_requests", ["duplicate_of_id"])
    op.create_table(
        "forecast_groups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=80), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("scope", sa.String(length=8), nullable=False),
        sa.Column("unit", sa.String(length=16), nullable=False),
        sa.Column("category_id", sa.Integer(), nullable=True),
        sa.Column("priority", sa.String(length=10), nullable=True),
        sa.Column("examples", sa.Integer(), nullable=False),
        sa.Column("quantile", sa.Float(), nullable=False),
        sa.Column("sketch", portal.core.models.JsonDoc, nullable=False),
        sa.Column("backlog_factor", sa.Float(), nullable=False),
        sa.Column("computed_at", portal.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["departments.id"],
            name=op.f("fk_forecast_groups_department_id_departments"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["category_id"],
            ["service_categories.id"],
            name=op.f("fk_forecast_groups_category_id_service_categories"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_forecast_groups")),
        sa.UniqueConstraint("key", name=op.f("uq_forecast_groups_key")),
    )
    op.create_table(
        "forecast_calibration",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("category_id", sa.Integer(), nullable=True),
        sa.Column("scope", sa.String(length=8), nullable=False),
        sa.Column("judged", sa.Integer(), nullable=False),
        sa.Column("finished_by", sa.Integer(), nullable=False),
        sa.Column("computed_at", portal.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["departments.id"],
            name=op.f("fk_forecast_calibration_department_id_departments"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["category_id"],
            ["service_categories.id"],
            name=op.f("fk_forecast_calibration_category_id_service_categories"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_forecast_calibration")),
    )
    op.create_index(
        "ix_forecast_calibration_scope_department",
        "forecast_calibration",
        ["scope", "department_id"],
    )


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("team_digest")
    op.drop_index("ix_forecast_calibration_scope_department", table_name="forecast_calibration")
    op.drop_table("forecast_calibration")
    op.drop_table("forecast_groups")
    op.drop_index("ix_service_requests_duplicate_of", table_name="service_requests")
    op.drop_index("ix_sla_clocks_kind_started", table_name="sla_clocks")
    with op.batch_alter_table("sla_clocks") as batch:
        batch.drop_column("forecast_at")
        batch.drop_column("forecast_seconds")
