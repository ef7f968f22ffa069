"""Outbound Open311 (issue 24): outbound_tasks, one per task handed to an outside Open311
endpoint (a works-management system), with its id there and the last status polled back.

Revision ID: 0037
Revises: 0038
Create Date: 2026-12-07 22:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import portal.core.db

revision = "0037"
down_revision = "0038"
branch_labels = None
depends_on = None


def upgrade() -> None:
    big_id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
    when = portal.core.db.UTCDateTime(timezone=True)
    op.create_table(
        "outbound_tasks",
        sa.Column("id", big_id, nullable=False),
        sa.Column("task_id", big_id, nullable=False),
        sa.Column("system", sa.String(length=120), nullable=False),
        sa.Column("endpoint", sa.String(length=300), nullable=False),
        sa.Column("jurisdiction_id", sa.String(length=120), nullable=False),
        sa.Column("api_key_env", sa.String(length=120), nullable=False),
        sa.Column("service_code", sa.String(length=120), nullable=False),
        sa.Column("idempotency_key", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("token", sa.String(length=120), nullable=False),
        sa.Column("external_id", sa.String(length=120), nullable=False),
        sa.Column("external_status", sa.String(length=20), nullable=False),
        sa.Column("status_notes", sa.Text(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("created_at", when, nullable=False),
        sa.Column("posted_at", when, nullable=True),
        sa.Column("polled_at", when, nullable=True),
        sa.Column("last_synced_at", when, nullable=True),
        sa.ForeignKeyConstraint(
            ["task_id"],
            ["tasks.id"],
            name=op.f("fk_outbound_tasks_task_id_tasks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbound_tasks")),
        sa.UniqueConstraint("task_id", name=op.f("uq_outbound_tasks_task_id")),
    )
    op.create_index(
        "ix_outbound_tasks_state_endpoint",
        "outbound_tasks",
        ["state", "endpoint", "polled_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_outbound_tasks_state_endpoint", table_name="outbound_tasks")
    op.drop_table("outbound_tasks")
