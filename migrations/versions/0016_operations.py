"""operations: worker heartbeat and operational state.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 06:00:00
"""

from __future__ import annotations

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass  # filled in by this later commits


def downgrade() -> None:
    pass
