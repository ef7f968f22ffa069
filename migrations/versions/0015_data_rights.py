"""data_rights: residents' data downloads, account deletion and retention.

Downloads of a resident's data (``data_exports``), the requests the retention sweep has
redacted (``request_redactions``) and a per-category retention period
(``service_categories.retention_days``; none: the city's default).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 06:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import portal.core.db

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.add_column("service_categories", sa.Column("retention_days", sa.Integer(), nullable=True))
    op.create_table(
        "data_exports",
        sa.Column("id", _BIG_ID, nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("locale", sa.String(length=8), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=True),
        sa.Column("file_name", sa.String(length=80), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=True),
        sa.Column("created_at", portal.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ready_at", portal.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("expires_at", portal.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("downloaded_at", portal.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_data_exports_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_data_exports")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_data_exports_token_hash")),
    )
    op.create_index("ix_data_exports_user_created", "data_exports", ["user_id", "created_at"])
    op.create_index("ix_data_exports_state_id", "data_exports", ["state", "id"])
    op.create_table(
        "request_redactions",
        sa.Column("request_id", _BIG_ID, nullable=False),
        sa.Column("done_at", portal.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["service_requests.id"],
            name=op.f("fk_request_redactions_request_id_service_requests"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("request_id", name=op.f("pk_request_redactions")),
    )


def downgrade() -> None:
    op.drop_table("request_redactions")
    op.drop_index("ix_data_exports_state_id", table_name="data_exports")
    op.drop_index("ix_data_exports_user_created", table_name="data_exports")
    op.drop_table("data_exports")
    with op.batch_alter_table("service_categories") as batch:
        batch.drop_column("retention_days")
