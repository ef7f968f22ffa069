"""filing_limits: anonymous "me too" support is counted once per client address and request a
day, and at most so many times an hour (the address is kept only as an HMAC, for a day).

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07 06:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import portal.core.db
import portal.core.models

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "request_support_limits",
        sa.Column("id", portal.core.models.BigId, nullable=False),
        sa.Column("request_id", portal.core.models.BigId, nullable=False),
        sa.Column("address_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", portal.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["service_requests.id"],
            name=op.f("fk_request_support_limits_request_id_service_requests"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_request_support_limits")),
        sa.UniqueConstraint(
            "request_id",
            "address_hash",
            name=op.f("uq_request_support_limits_request_id_address_hash"),
        ),
    )
    op.create_index(
        "ix_request_support_limits_address_created",
        "request_support_limits",
        ["address_hash", "created_at"],
        unique=False,
    )
    op.create_index(
        op.f("ix_request_support_limits_created_at"),
        "request_support_limits",
        ["created_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_request_support_limits_created_at"), table_name="request_support_limits")
    op.drop_index("ix_request_support_limits_address_created", table_name="request_support_limits")
    op.drop_table("request_support_limits")
