"""related_indexes: what the case page's Related panel and the staff resident page look up.

- service_requests (address_point_id, created_at): the requests at one address point;
- service_requests (contact_email, created_at): a resident's requests filed without an account;
- service_requests lower(address): a case on no point, by its address text;
- request_followers (email): a person's follows;
- inbound_mails (from_address): the emails a person sent (stored lower-cased).

Each was a scan of its table on every case page (or resident page) visit before. Plain CREATE
INDEX (no batch table copy: SQLite would lose service_requests' search triggers).

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-07 12:55:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_service_requests_point_created",
        "service_requests",
        ["address_point_id", "created_at"],
    )
    op.create_index(
        "ix_service_requests_contact_created",
        "service_requests",
        ["contact_email", "created_at"],
    )
    op.create_index(
        "ix_service_requests_address_lower", "service_requests", [sa.text("lower(address)")]
    )
    op.create_index("ix_request_followers_email", "request_followers", ["email"])
    op.create_index("ix_inbound_mails_from_address", "inbound_mails", ["from_address"])


def downgrade() -> None:
    op.drop_index("ix_inbound_mails_from_address", table_name="inbound_mails")
    op.drop_index("ix_request_followers_email", table_name="request_followers")
    op.drop_index("ix_service_requests_address_lower", table_name="service_requests")
    op.drop_index("ix_service_requests_contact_created", table_name="service_requests")
    op.drop_index("ix_service_requests_point_created", table_name="service_requests")
