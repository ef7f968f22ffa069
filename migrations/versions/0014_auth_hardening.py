"""auth_hardening: accounts record when their email address was verified (accounts made before
verification existed count as verified when they were made).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 06:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import portal.core.db

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "users",
        sa.Column("email_verified_at", portal.core.db.UTCDateTime(timezone=True), nullable=True),
    )
    op.execute("UPDATE users SET email_verified_at = created_at")


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("email_verified_at")
