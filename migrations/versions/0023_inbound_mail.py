"""inbound_mail: every message received by email (SMTP/LMTP or IMAP), kept raw.

inbound_mails holds the raw message zlib-compressed (raw_gz), the envelope, a few headers for
lists and search, the processing state (received, processed, failed, parked) with attempts and
the last error, and the outcome and the case it landed on. digest (sha256 of the raw bytes) is
unique: a message delivered twice is stored and processed once.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-07 14:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import portal.core.db
import portal.core.models

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "inbound_mails",
        sa.Column("id", portal.core.models.BigId, nullable=False),
        sa.Column("received_at", portal.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("via", sa.String(length=8), nullable=False),
        sa.Column("envelope_from", sa.String(length=254), nullable=False),
        sa.Column("envelope_to", sa.String(length=1000), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("message_id", sa.String(length=250), nullable=False),
        sa.Column("from_address", sa.String(length=254), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("raw_gz", sa.LargeBinary(), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", portal.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("outcome", sa.String(length=32), nullable=False),
        sa.Column("request_id", portal.core.models.BigId, nullable=True),
        sa.Column("processed_at", portal.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbound_mails")),
        sa.UniqueConstraint("digest", name=op.f("uq_inbound_mails_digest")),
    )
    op.create_index(
        "ix_inbound_mails_state_next", "inbound_mails", ["state", "next_attempt_at"], unique=False
    )
    op.create_index(
        op.f("ix_inbound_mails_message_id"), "inbound_mails", ["message_id"], unique=False
    )
    op.create_index(
        op.f("ix_inbound_mails_request_id"), "inbound_mails", ["request_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_inbound_mails_request_id"), table_name="inbound_mails")
    op.drop_index(op.f("ix_inbound_mails_message_id"), table_name="inbound_mails")
    op.drop_index("ix_inbound_mails_state_next", table_name="inbound_mails")
    op.drop_table("inbound_mails")
