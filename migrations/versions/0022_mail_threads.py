"""mail_threads: the outbox's emails about a case carry threading headers.

outbox_messages gains message_id (unique: an answer's In-Reply-To finds the message it
answers), thread_ref (the case's reference), reply_to, in_reply_to and references_header. Existing
rows keep NULL/empty values: they were sent without threading.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-07 12:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("outbox_messages", sa.Column("message_id", sa.String(length=250), nullable=True))
    op.add_column("outbox_messages", sa.Column("thread_ref", sa.String(length=40), nullable=True))
    for column, kind in (
        ("reply_to", sa.String(length=254)),
        ("in_reply_to", sa.String(length=250)),
        ("references_header", sa.Text()),
    ):
        op.add_column("outbox_messages", sa.Column(column, kind, server_default="", nullable=False))
    op.create_index("ux_outbox_messages_message_id", "outbox_messages", ["message_id"], unique=True)
    op.create_index(
        "ix_outbox_messages_thread", "outbox_messages", ["thread_ref", "to_address", "id"]
    )


def downgrade() -> None:
    op.drop_index("ix_outbox_messages_thread", table_name="outbox_messages")
    op.drop_index("ux_outbox_messages_message_id", table_name="outbox_messages")
    for column in ("references_header", "in_reply_to", "reply_to", "thread_ref", "message_id"):
        op.drop_column("outbox_messages", column)
