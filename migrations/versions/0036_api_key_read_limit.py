"""Open311 read limits per API key (issue 24): api_keys.read_rate_limit, the key's own limit
for GET resources (a Flask-Limiter rate); existing keys get the default.

Revision ID: 0036
Revises: 0034
Create Date: 2026-12-07 22:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0036"
down_revision = "0034"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("api_keys") as batch:
        batch.add_column(
            sa.Column(
                "read_rate_limit",
                sa.String(length=60),
                nullable=False,
                server_default="1000/minute",
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_column("read_rate_limit")
