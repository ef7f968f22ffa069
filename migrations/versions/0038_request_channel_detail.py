"""Which app filed a request (issue 24): service_requests.channel_detail holds the API key's
label when an app files through Open311 ("CityApp iOS"), shown as "API: CityApp iOS" to staff.
Kept on the request, as filed, so renaming or revoking the key later does not change it.

Revision ID: 0038
Revises: 0033
Create Date: 2026-12-07 22:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0038"
down_revision = "0033"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "service_requests",
        sa.Column("channel_detail", sa.String(length=120), server_default="", nullable=False),
    )


def downgrade() -> None:
    op.drop_column("service_requests", "channel_detail")
