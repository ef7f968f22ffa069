"""Idempotency keys: a submission retried with the same key is answered once.

A client (the offline filing page, the form's check page, an Open311 app) chooses a key for one
submission and sends it with every attempt. The first attempt claims ``(scope, key)`` by
inserting a row in the same transaction as the work, with a fingerprint of the submission; the
row records the answer. A later attempt with the same key and the same fingerprint gets that
answer again; with another fingerprint it is refused (``KeyReused``, a 409 for the web).
Concurrent attempts meet on the unique constraint: on PostgreSQL the second INSERT waits for
the first transaction and then fails, on SQLite writers are serialised by ``BEGIN IMMEDIATE``
and the second finds the row; either way exactly one does the work. An attempt that fails rolls
its claim back with the rest of its transaction, so the key stays free for a corrected
submission.

Rows are kept ``KEEP`` (24 hours): an older row is forgotten (the key is then new again) and
the worker purges them (``purge``). Scopes name the channel: ``web-filing`` (the offline page
and the form's check step); Open311 uses ``open311:<api key id>`` so two apps never share
keys.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import BigInteger, Index, Integer, String, UniqueConstraint, delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from portal.core.db import Base
from portal.core.models import BigId, JsonDoc

KEY_RE = re.compile(r"^[A-Za-z0-9_-]{16,128}$")
KEEP = timedelta(hours=24)


class IdempotencyKey(Base):
    """One claimed key and the answer it got."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (
        UniqueConstraint("scope", "key"),
        Index("ix_idempotency_keys_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    scope: Mapped[str] = mapped_column(String(40))
    key: Mapped[str] = mapped_column(String(128))
    #: Who sent it, as available: "user:<id>", "anonymous", "api_key:<id>" (for the record).
    owner: Mapped[str] = mapped_column(String(80), default="")
    #: sha256 of the submission's canonical form (``fingerprint``).
    fingerprint: Mapped[str] = mapped_column(String(64))
    #: The id of what the submission made (a service request), when it made one.
    result_id: Mapped[int | None] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"))
    status_code: Mapped[int] = mapped_column(Integer, default=0)
    response: Mapped[dict[str, Any]] = mapped_column(JsonDoc, default=dict)
    created_at: Mapped[datetime]


class KeyReused(Exception):
    """The key was already used for a different submission."""


@dataclass(frozen=True)
class Replay:
    """The answer the first submission with this key got."""

    status_code: int
    response: dict[str, Any]
    result_id: int | None


def valid_key(key: str | None) -> bool:
    """16 to 128 characters of letters, digits, ``-`` and ``_`` (a UUID is fine)."""
    return bool(key) and KEY_RE.fullmatch(key or "") is not None


def fingerprint(payload: Any) -> str:
    """sha256 of ``payload`` as canonical JSON (sorted keys, no spaces, UTF-8)."""
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _existing(session: Session, *, scope: str, key: str) -> IdempotencyKey | None:
    return session.scalar(
        select(IdempotencyKey).where(IdempotencyKey.scope == scope, IdempotencyKey.key == key)
    )


def _answer(row: IdempotencyKey, digest: str) -> Replay:
    if row.fingerprint != digest:
        raise KeyReused(row.key)
    return Replay(row.status_code, dict(row.response or {}), row.result_id)


def claim(
    session: Session, *, scope: str, key: str, owner: str, digest: str, now: datetime
) -> tuple[IdempotencyKey | None, Replay | None]:
    """Claim ``key`` for this submission: ``(row, None)`` when it is ours (do the work, then
    ``record``), ``(None, replay)`` when it answered before. Raises ``KeyReused`` for the same
    key with another fingerprint. A row older than ``KEEP`` is forgotten and claimed anew."""
    for attempt in range(2):
        row = _existing(session, scope=scope, key=key)
        if row is not None and row.created_at > now - KEEP:
            return None, _answer(row, digest)
        if row is not None:
            session.delete(row)
            session.flush()
        row = IdempotencyKey(
            scope=scope, key=key, owner=owner[:80], fingerprint=digest, created_at=now
        )
        try:
            with session.begin_nested():
                session.add(row)
        except IntegrityError:
            # Another attempt claimed it at the same moment and has committed: its answer is
            # read on the next turn (or, were that row purged meanwhile, the key is claimed).
            if attempt:
                raise
            continue
        return row, None
    raise AssertionError("unreachable")


def record(
    row: IdempotencyKey, *, status_code: int, response: dict[str, Any], result_id: int | None
) -> None:
    """Keep the answer the claimed submission got (flushed with the caller's transaction)."""
    row.status_code = status_code
    row.response = response
    row.result_id = result_id


def purge(session: Session, *, now: datetime) -> int:
    """Delete the keys older than ``KEEP``; returns how many."""
    result = session.execute(delete(IdempotencyKey).where(IdempotencyKey.created_at <= now - KEEP))
    return int(getattr(result, "rowcount", 0) or 0)
