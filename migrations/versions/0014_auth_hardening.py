"""auth_hardening: accounts record when their email address was verified (accounts made before
verification existed count as verified when they were made); failed sign-ins are counted per
email address (keyed by an HMAC of it) in sign_in_throttles.

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
    op.create_table(
        "sign_in_throttles",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("first_failed_at", portal.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_failed_at", portal.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("blocked_until", portal.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("lock_notified_at", portal.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_sign_in_throttles")),
    )
    op.create_index(
        op.f("ix_sign_in_throttles_last_failed_at"),
        "sign_in_throttles",
        ["last_failed_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_sign_in_throttles_last_failed_at"), table_name="sign_in_throttles")
    op.drop_table("sign_in_throttles")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("email_verified_at")
