"""data_rights: residents' data downloads, account deletion and retention.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 06:00:00
"""

from __future__ import annotations

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass  # filled in by this later commits


def downgrade() -> None:
    pass
