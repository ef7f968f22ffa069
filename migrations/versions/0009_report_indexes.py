"""Indexes for the performance reports: each report reads one index range per period.

Plain ``CREATE INDEX`` (no batch table copy: on SQLite a copy of ``service_requests`` would
drop its search triggers).

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-24
"""

from __future__ import annotations

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

INDEXES = (
    ("ix_request_events_kind_created", "request_events", ["kind", "created_at"]),
    (
        "ix_sla_clocks_department_kind_stopped",
        "sla_clocks",
        ["department_id", "kind", "stopped_at"],
    ),
    ("ix_survey_responses_department_created", "survey_responses", ["department_id", "created_at"]),
    ("ix_tasks_department_closed", "tasks", ["department_id", "closed_at", "created_at"]),
    ("ix_tasks_department_created", "tasks", ["department_id", "created_at"]),
)


def upgrade() -> None:
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns, unique=False)


def downgrade() -> None:
    for name, table, _columns in reversed(INDEXES):
        op.drop_index(name, table_name=table)
