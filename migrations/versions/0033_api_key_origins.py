"""Open311 CORS (issue 24): api_keys.allowed_origins, the web origins (one a line) of the app
that uses a key, allowed to read with it and to file requests with it from a browser.

Revision ID: 0033
Revises: 0036
Create Date: 2026-12-07 22:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0033"
down_revision = "0036"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "api_keys",
        sa.Column("allowed_origins", sa.Text(), nullable=False, server_default=""),
    )


def downgrade() -> None:
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_column("allowed_origins")
