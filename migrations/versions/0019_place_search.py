"""place_search: the address search index on each engine, and a request's address point.

Hand-written parts (autogenerate cannot see them; migrations/env.py leaves ``address_search*``
tables and indexes out of its comparison, see portal.places.search.is_search_object):

- ``address_search_names``: one row per distinct street key (from address points and street
  centrelines) with a representative point and the street as the city writes it: the street
  suggestions and the typo-tolerant matching run over these few thousand rows, not the million
  points. Triggers on address_points and streets add new keys.
- SQLite: ``address_search`` (FTS5, external content over address_points.search_key, prefix
  indexes for 1-4 characters, kept current by triggers) for the "any order" token match, and
  ``address_search_names_fts`` (FTS5 with the trigram tokenizer over the names) for typos.
- PostgreSQL: pg_trgm; GIN trigram indexes on address_search_names.key, streets.key and
  address_points.search_key; a text_pattern_ops b-tree on search_key for prefix (LIKE 'x%').

Also: service_requests.address_point_id (the city's address point the request names) and
location_status ("" = no address given or placed on the map, "found", "not_found", "placed").

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07 06:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import portal.core.models

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

_NAMES_TABLE = """CREATE TABLE address_search_names (
    id {id_type} PRIMARY KEY,
    key VARCHAR(120) NOT NULL UNIQUE,
    name VARCHAR(120) NOT NULL,
    lat FLOAT NOT NULL,
    lon FLOAT NOT NULL
)"""

_NAMES_FILL = """INSERT INTO address_search_names (key, name, lat, lon)
SELECT street_key, min(street), min(lat), min(lon) FROM address_points
WHERE street_key <> '' GROUP BY street_key
ON CONFLICT (key) DO NOTHING"""

_NAMES_FILL_STREETS = """INSERT INTO address_search_names (key, name, lat, lon)
SELECT key, min(name), min((min_lat + max_lat) / 2), min((min_lon + max_lon) / 2) FROM streets
WHERE key <> '' GROUP BY key
ON CONFLICT (key) DO NOTHING"""

# ---- SQLite ----------------------------------------------------------------------------

_SQLITE_TRIGGERS = {
    "address_search_ai": (
        "AFTER INSERT ON address_points BEGIN "
        "INSERT INTO address_search (rowid, search_key) VALUES (new.id, new.search_key); "
        "INSERT INTO address_search_names (key, name, lat, lon) "
        "SELECT new.street_key, new.street, new.lat, new.lon WHERE new.street_key <> '' "
        "ON CONFLICT (key) DO NOTHING; END"
    ),
    "address_search_ad": (
        "AFTER DELETE ON address_points BEGIN "
        "INSERT INTO address_search (address_search, rowid, search_key) "
        "VALUES ('delete', old.id, old.search_key); END"
    ),
    "address_search_au": (
        "AFTER UPDATE OF search_key, street_key ON address_points BEGIN "
        "INSERT INTO address_search (address_search, rowid, search_key) "
        "VALUES ('delete', old.id, old.search_key); "
        "INSERT INTO address_search (rowid, search_key) VALUES (new.id, new.search_key); "
        "INSERT INTO address_search_names (key, name, lat, lon) "
        "SELECT new.street_key, new.street, new.lat, new.lon WHERE new.street_key <> '' "
        "ON CONFLICT (key) DO NOTHING; END"
    ),
    "address_search_streets_ai": (
        "AFTER INSERT ON streets BEGIN "
        "INSERT INTO address_search_names (key, name, lat, lon) "
        "SELECT new.key, new.name, (new.min_lat + new.max_lat) / 2, "
        "(new.min_lon + new.max_lon) / 2 WHERE new.key <> '' "
        "ON CONFLICT (key) DO NOTHING; END"
    ),
    "address_search_streets_au": (
        "AFTER UPDATE OF key ON streets BEGIN "
        "INSERT INTO address_search_names (key, name, lat, lon) "
        "SELECT new.key, new.name, (new.min_lat + new.max_lat) / 2, "
        "(new.min_lon + new.max_lon) / 2 WHERE new.key <> '' "
        "ON CONFLICT (key) DO NOTHING; END"
    ),
    "address_search_names_ai": (
        "AFTER INSERT ON address_search_names BEGIN "
        "INSERT INTO address_search_names_fts (rowid, key) VALUES (new.id, new.key); END"
    ),
}


def _sqlite_upgrade() -> None:
    op.execute(
        "CREATE VIRTUAL TABLE address_search USING fts5(search_key, content='address_points', "
        "content_rowid='id', tokenize='unicode61', prefix='1 2 3 4')"
    )
    op.execute(_NAMES_TABLE.format(id_type="INTEGER"))
    op.execute(
        "CREATE VIRTUAL TABLE address_search_names_fts USING fts5(key, "
        "content='address_search_names', content_rowid='id', tokenize='trigram')"
    )
    for name, body in _SQLITE_TRIGGERS.items():
        op.execute(f"CREATE TRIGGER {name} {body}")
    op.execute("INSERT INTO address_search (address_search) VALUES ('rebuild')")
    op.execute(_NAMES_FILL)
    op.execute(_NAMES_FILL_STREETS)


def _sqlite_downgrade() -> None:
    for name in _SQLITE_TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.execute("DROP TABLE IF EXISTS address_search_names_fts")
    op.execute("DROP TABLE IF EXISTS address_search_names")
    op.execute("DROP TABLE IF EXISTS address_search")


# ---- PostgreSQL --------------------------------------------------------------------------

_PG_STATEMENTS = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    _NAMES_TABLE.format(id_type="SERIAL"),
    "CREATE INDEX ix_address_search_names_trgm ON address_search_names "
    "USING gin (key gin_trgm_ops)",
    "CREATE INDEX ix_address_search_names_prefix ON address_search_names (key text_pattern_ops)",
    "CREATE INDEX ix_address_search_streets_trgm ON streets USING gin (key gin_trgm_ops)",
    "CREATE INDEX ix_address_search_points_trgm ON address_points "
    "USING gin (search_key gin_trgm_ops)",
    "CREATE INDEX ix_address_search_points_prefix ON address_points (search_key text_pattern_ops)",
    """CREATE FUNCTION address_search_on_point() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF NEW.street_key <> '' THEN
            INSERT INTO address_search_names (key, name, lat, lon)
            VALUES (NEW.street_key, NEW.street, NEW.lat, NEW.lon)
            ON CONFLICT (key) DO NOTHING;
        END IF;
        RETURN NULL;
    END $$""",
    """CREATE FUNCTION address_search_on_street() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF NEW.key <> '' THEN
            INSERT INTO address_search_names (key, name, lat, lon)
            VALUES (NEW.key, NEW.name, (NEW.min_lat + NEW.max_lat) / 2,
                    (NEW.min_lon + NEW.max_lon) / 2)
            ON CONFLICT (key) DO NOTHING;
        END IF;
        RETURN NULL;
    END $$""",
    """CREATE TRIGGER address_search_points AFTER INSERT OR UPDATE OF street_key
        ON address_points FOR EACH ROW EXECUTE FUNCTION address_search_on_point()""",
    """CREATE TRIGGER address_search_streets AFTER INSERT OR UPDATE OF key
        ON streets FOR EACH ROW EXECUTE FUNCTION address_search_on_street()""",
    _NAMES_FILL,
    _NAMES_FILL_STREETS,
]


def _pg_downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS address_search_points ON address_points")
    op.execute("DROP TRIGGER IF EXISTS address_search_streets ON streets")
    op.execute("DROP FUNCTION IF EXISTS address_search_on_point()")
    op.execute("DROP FUNCTION IF EXISTS address_search_on_street()")
    for index in (
        "ix_address_search_streets_trgm",
        "ix_address_search_points_trgm",
        "ix_address_search_points_prefix",
    ):
        op.execute(f"DROP INDEX IF EXISTS {index}")
    op.execute("DROP TABLE IF EXISTS address_search_names")


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    # Plain ALTER TABLE ADD COLUMN, without a foreign key: SQLite could add one only by copying
    # service_requests (losing its search triggers, slow on millions of rows), and address
    # points are never deleted (a re-import deactivates them), so the id stays meaningful.
    op.add_column(
        "service_requests",
        sa.Column("address_point_id", portal.core.models.BigId, nullable=True),
    )
    op.add_column(
        "service_requests",
        sa.Column("location_status", sa.String(length=16), server_default="", nullable=False),
    )
    if dialect == "sqlite":
        _sqlite_upgrade()
    elif dialect == "postgresql":
        for statement in _PG_STATEMENTS:
            op.execute(statement)
    else:  # pragma: no cover
        raise NotImplementedError(f"no address search for {dialect}")


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        _sqlite_downgrade()
    elif dialect == "postgresql":
        _pg_downgrade()
    op.drop_column("service_requests", "location_status")
    op.drop_column("service_requests", "address_point_id")
