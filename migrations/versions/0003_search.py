"""search: the staff full-text index of requests (hand-written: autogenerate cannot see it)

SQLite: an FTS5 table ``request_search`` (rowid = request id) whose ``body`` holds the
reference, address, resident email(s), description and every event body (public comments and
internal notes), kept current by triggers on service_requests, request_events and users.

PostgreSQL: ``request_search(request_id, document tsvector)`` with a GIN index, kept current
by the same triggers through ``request_search_refresh(request_id)``.

Both are backfilled from existing rows. migrations/env.py leaves ``request_search*`` out of
autogenerate's comparison (see portal.casework.search.is_search_table).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 21:50:00
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# ---- SQLite ----------------------------------------------------------------------------

_SQLITE_BODY = """
    coalesce(sr.reference, '') || ' ' || sr.address || ' ' || sr.contact_email || ' ' ||
    coalesce((SELECT u.email FROM users u WHERE u.id = sr.reporter_id), '') || ' ' ||
    sr.description || ' ' ||
    coalesce((SELECT group_concat(e.body, ' ') FROM request_events e
              WHERE e.request_id = sr.id AND e.body <> ''), '')
"""


def _sqlite_fill(request_id: str) -> str:
    return (
        f"INSERT INTO request_search (rowid, request_id, body) "
        f"SELECT sr.id, sr.id, {_SQLITE_BODY} FROM service_requests sr "
        f"WHERE sr.id = {request_id};"
    )


def _sqlite_refresh(request_id: str) -> str:
    return f"DELETE FROM request_search WHERE rowid = {request_id}; {_sqlite_fill(request_id)}"


_SQLITE_TRIGGERS = {
    "request_search_sr_insert": "AFTER INSERT ON service_requests BEGIN {fill} END",
    "request_search_sr_update": (
        "AFTER UPDATE OF reference, description, address, contact_email, reporter_id "
        "ON service_requests BEGIN {refresh} END"
    ),
    "request_search_sr_delete": (
        "AFTER DELETE ON service_requests BEGIN "
        "DELETE FROM request_search WHERE rowid = old.id; END"
    ),
    "request_search_ev_insert": (
        "AFTER INSERT ON request_events WHEN new.body <> '' BEGIN {refresh_new_ev} END"
    ),
    "request_search_ev_update": (
        "AFTER UPDATE OF body ON request_events BEGIN {refresh_new_ev} END"
    ),
    "request_search_ev_delete": (
        "AFTER DELETE ON request_events WHEN old.body <> '' BEGIN {refresh_old_ev} END"
    ),
    "request_search_user_email": (
        "AFTER UPDATE OF email ON users BEGIN "
        "DELETE FROM request_search WHERE rowid IN "
        "(SELECT id FROM service_requests WHERE reporter_id = new.id); "
        "INSERT INTO request_search (rowid, request_id, body) "
        f"SELECT sr.id, sr.id, {_SQLITE_BODY} FROM service_requests sr "
        "WHERE sr.reporter_id = new.id; END"
    ),
}


def _sqlite_upgrade() -> None:
    op.execute(
        "CREATE VIRTUAL TABLE request_search USING fts5("
        "request_id UNINDEXED, body, tokenize = 'porter unicode61 remove_diacritics 2')"
    )
    parts = {
        "fill": _sqlite_fill("new.id"),
        "refresh": _sqlite_refresh("new.id"),
        "refresh_new_ev": _sqlite_refresh("new.request_id"),
        "refresh_old_ev": _sqlite_refresh("old.request_id"),
    }
    for name, body in _SQLITE_TRIGGERS.items():
        op.execute(f"CREATE TRIGGER {name} {body.format(**parts)}")
    op.execute(
        "INSERT INTO request_search (rowid, request_id, body) "
        f"SELECT sr.id, sr.id, {_SQLITE_BODY} FROM service_requests sr"
    )


def _sqlite_downgrade() -> None:
    for name in _SQLITE_TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.execute("DROP TABLE IF EXISTS request_search")


# ---- PostgreSQL --------------------------------------------------------------------------

_PG_DOCUMENT = """
    setweight(to_tsvector('english', coalesce(sr.reference, '') || ' ' || sr.contact_email
                          || ' ' || coalesce(u.email, '')), 'A') ||
    setweight(to_tsvector('english', sr.address || ' ' || sr.description), 'B') ||
    setweight(to_tsvector('english', coalesce(
        (SELECT string_agg(e.body, ' ' ORDER BY e.id) FROM request_events e
         WHERE e.request_id = sr.id AND e.body <> ''), '')), 'C')
"""

_PG_STATEMENTS = [
    """CREATE TABLE request_search (
        request_id bigint PRIMARY KEY REFERENCES service_requests (id) ON DELETE CASCADE,
        document tsvector NOT NULL
    )""",
    "CREATE INDEX ix_request_search_document ON request_search USING gin (document)",
    f"""CREATE FUNCTION request_search_refresh(rid bigint) RETURNS void LANGUAGE sql AS $$
        INSERT INTO request_search (request_id, document)
        SELECT sr.id, {_PG_DOCUMENT}
        FROM service_requests sr LEFT JOIN users u ON u.id = sr.reporter_id
        WHERE sr.id = rid
        ON CONFLICT (request_id) DO UPDATE SET document = EXCLUDED.document
    $$""",
    """CREATE FUNCTION request_search_on_request() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM request_search_refresh(NEW.id);
        RETURN NULL;
    END $$""",
    """CREATE FUNCTION request_search_on_event() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'DELETE' THEN
            PERFORM request_search_refresh(OLD.request_id);
        ELSE
            PERFORM request_search_refresh(NEW.request_id);
        END IF;
        RETURN NULL;
    END $$""",
    """CREATE FUNCTION request_search_on_user() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM request_search_refresh(sr.id) FROM service_requests sr
        WHERE sr.reporter_id = NEW.id;
        RETURN NULL;
    END $$""",
    """CREATE TRIGGER request_search_sr AFTER INSERT OR UPDATE OF
        reference, description, address, contact_email, reporter_id ON service_requests
        FOR EACH ROW EXECUTE FUNCTION request_search_on_request()""",
    """CREATE TRIGGER request_search_ev_insert AFTER INSERT ON request_events
        FOR EACH ROW WHEN (NEW.body <> '') EXECUTE FUNCTION request_search_on_event()""",
    """CREATE TRIGGER request_search_ev_update AFTER UPDATE OF body ON request_events
        FOR EACH ROW EXECUTE FUNCTION request_search_on_event()""",
    """CREATE TRIGGER request_search_ev_delete AFTER DELETE ON request_events
        FOR EACH ROW WHEN (OLD.body <> '') EXECUTE FUNCTION request_search_on_event()""",
    """CREATE TRIGGER request_search_user_email AFTER UPDATE OF email ON users
        FOR EACH ROW WHEN (OLD.email IS DISTINCT FROM NEW.email)
        EXECUTE FUNCTION request_search_on_user()""",
    f"""INSERT INTO request_search (request_id, document)
        SELECT sr.id, {_PG_DOCUMENT}
        FROM service_requests sr LEFT JOIN users u ON u.id = sr.reporter_id""",
]


def _pg_downgrade() -> None:
    for trigger, table in (
        ("request_search_sr", "service_requests"),
        ("request_search_ev_insert", "request_events"),
        ("request_search_ev_update", "request_events"),
        ("request_search_ev_delete", "request_events"),
        ("request_search_user_email", "users"),
    ):
        op.execute(f"DROP TRIGGER IF EXISTS {trigger} ON {table}")
    for function in (
        "request_search_on_request()",
        "request_search_on_event()",
        "request_search_on_user()",
        "request_search_refresh(bigint)",
    ):
        op.execute(f"DROP FUNCTION IF EXISTS {function}")
    op.execute("DROP TABLE IF EXISTS request_search")


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        _sqlite_upgrade()
    elif dialect == "postgresql":
        for statement in _PG_STATEMENTS:
            op.execute(statement)
    else:  # pragma: no cover
        raise NotImplementedError(f"no full-text search for {dialect}")


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        _sqlite_downgrade()
    elif dialect == "postgresql":
        _pg_downgrade()
