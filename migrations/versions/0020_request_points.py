"""request_points: an index for the maps of requests by position without a category.

The public maps ("reports around here", the tracking page, the city-wide cluster view) ask for
the public requests, by default the open ones, in a box of lat/lon
(portal.requests.map_features); before this index they could only use
ix_service_requests_public_created (all public requests of every status, then a row lookup each)
or ix_service_requests_category_open_lat (useless without a category). This one answers the
equality on is_public and is_open and the lat range in the index, with lon checked there too.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07 07:00:00
"""

from __future__ import annotations

from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain CREATE INDEX (no batch table copy: SQLite would lose the search triggers).
    op.create_index(
        "ix_service_requests_public_open_lat_lon",
        "service_requests",
        ["is_public", "is_open", "lat", "lon"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_service_requests_public_open_lat_lon", table_name="service_requests")
