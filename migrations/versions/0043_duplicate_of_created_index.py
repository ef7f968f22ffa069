"""Equity roll-ups at a million requests: ix_service_requests_duplicate_of (duplicate_of_id)
becomes ix_service_requests_duplicate_of_created (duplicate_of_id, created_at).

The equity report reads, for each request of the period, how many later reports were merged
into it and when the first was filed (two correlated subqueries on duplicate_of_id). With the
one-column index SQLite answered min(created_at) by walking ix_service_requests_created_id
from the start and checking duplicate_of_id on every row: a whole-table scan per request of
the period (benchmarks/reports.py at 1,000,000 requests did not finish one quarter in 30
minutes). With both columns each subquery is one seek in a covering index: the quarter's
124,442 requests read in 0.7 s.

Revision ID: 0043
Revises: 0037
Create Date: 2026-12-08 01:50:00
"""

from __future__ import annotations

from alembic import op

revision = "0043"
down_revision = "0037"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_service_requests_duplicate_of_created",
        "service_requests",
        ["duplicate_of_id", "created_at"],
    )
    op.drop_index("ix_service_requests_duplicate_of", table_name="service_requests")


def downgrade() -> None:
    op.create_index("ix_service_requests_duplicate_of", "service_requests", ["duplicate_of_id"])
    op.drop_index("ix_service_requests_duplicate_of_created", table_name="service_requests")
