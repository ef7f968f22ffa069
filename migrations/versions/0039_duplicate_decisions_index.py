"""Possible duplicates' measured precision (issue 22): ix_duplicate_candidates_decided on
duplicate_candidates (decided_at, decision, score), so the algorithm register counts the pairs
people decided on in the last year from the index alone (a range of decided_at; the decision
and score read from the index), however many candidates were never decided.

Revision ID: 0039
Revises: 0043
Create Date: 2026-12-08 01:40:00
"""

from __future__ import annotations

from alembic import op

revision = "0039"
down_revision = "0043"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_duplicate_candidates_decided",
        "duplicate_candidates",
        ["decided_at", "decision", "score"],
    )


def downgrade() -> None:
    op.drop_index("ix_duplicate_candidates_decided", table_name="duplicate_candidates")
