"""Which database errors mean "the database is away for now" (answer 503 and retry later)
rather than "this code is wrong" (a 500).

Away: the server cannot be reached or dropped the connection (``OperationalError``,
``InterfaceError``, a pool ``DisconnectionError``, any DBAPI error that invalidated its
connection), the pool is exhausted (``sqlalchemy.exc.TimeoutError``), and on SQLite a locked,
busy or unopenable database file. SQLite also raises ``OperationalError`` for a missing table
or a syntax error: those are bugs, not outages. A connection SQLAlchemy invalidated (it
dropped) and that is used again before a rollback raises ``PendingRollbackError`` code 8s2b
with no cause attached: that is the same outage, met one statement later.
"""

from __future__ import annotations

import sqlite3

from sqlalchemy.exc import (
    DBAPIError,
    DisconnectionError,
    InterfaceError,
    OperationalError,
    PendingRollbackError,
)
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

#: SQLite messages that mean the file is busy or out of reach (not a faulty statement).
SQLITE_UNAVAILABLE = (
    "database is locked",
    "database table is locked",
    "database is busy",
    "unable to open database file",
    "disk i/o error",
)

#: SQLAlchemy's error code for "Can't reconnect until invalid transaction is rolled back".
INVALIDATED_CONNECTION = "8s2b"


def database_unavailable(error: BaseException | None) -> bool:
    """True when ``error`` (or an exception it was raised from) says the database cannot be
    used right now."""
    seen = 0
    while error is not None and seen < 5:
        if _unavailable(error):
            return True
        error = error.__cause__ or error.__context__
        seen += 1
    return False


def _unavailable(error: BaseException) -> bool:
    if isinstance(error, DisconnectionError | PoolTimeoutError):
        return True
    if isinstance(error, PendingRollbackError):
        return error.code == INVALIDATED_CONNECTION
    if not isinstance(error, DBAPIError):
        return False
    if error.connection_invalidated or isinstance(error, InterfaceError):
        return True
    if not isinstance(error, OperationalError):
        return False
    if isinstance(error.orig, sqlite3.Error):
        message = str(error.orig).lower()
        return any(fragment in message for fragment in SQLITE_UNAVAILABLE)
    return True
