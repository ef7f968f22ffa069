"""Edit forms that notice concurrent changes: a form carries the ``fingerprint`` of the row as
it was drawn; on save the row is read ``locked`` (``FOR UPDATE``; SQLite write sessions begin
``IMMEDIATE``, so two saves cannot both pass the check) and a different fingerprint means
someone else changed it meanwhile."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any, TypeVar

from sqlalchemy.orm import Session

Row = TypeVar("Row")


def fingerprint(snapshot: Mapping[str, Any]) -> str:
    """A short digest of a snapshot: an edit form carries it to notice concurrent changes."""
    raw = json.dumps(snapshot, sort_keys=True, default=str).encode()
    return hashlib.sha256(raw).hexdigest()[:16]


def locked(session: Session, model: type[Row], row_id: int) -> Row | None:
    """The row, read ``FOR UPDATE`` (and refreshed) before a change is checked and written."""
    return session.get(model, row_id, with_for_update=True, populate_existing=True)
