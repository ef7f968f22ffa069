"""Open311 API keys: made by admins, shown once, stored as a sha256, revoked, counted (no Flask).

A key is 43 URL-safe characters (256 random bits); only its sha256 and its first characters
(to tell keys apart in lists) are kept. Each key has its own Flask-Limiter rates, one for
posts and one for reads. Use (of posts) is counted
with one conditional ``UPDATE`` (no read-modify-write, so concurrent calls never lose a count).
Making and revoking a key each write an ``AuditEntry`` (entity ``api_key``).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

import limits
from email_validator import EmailNotValidError, validate_email
from sqlalchemy import CursorResult, select, update
from sqlalchemy.orm import Session, selectinload

from portal.auth.models import User
from portal.core import clock
from portal.core.audit import AuditEntry
from portal.open311 import origins
from portal.open311.models import ApiKey
from portal.requests.models import ServiceRequest
from portal.requests.queries import normalise_reference

LABEL_MAX = 120
RATE_MAX = 60
EMAIL_MAX = 254
PREFIX_LENGTH = 8
#: A raw key longer than this is not one of ours (no hashing of megabytes of garbage).
RAW_MAX = 100
DEFAULT_RATE = "60/minute"
DEFAULT_READ_RATE = "1000/minute"
PAGE_SIZE = 25


class ApiKeyError(ValueError):
    """What is wrong with a new key, as ``{field: code}``.

    Fields: label, rate_limit, read_rate_limit, contact_email. Codes: required, too_long,
    invalid, zero.
    """

    def __init__(self, errors: dict[str, str], details: dict[str, str] | None = None) -> None:
        super().__init__(", ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors
        #: What was wrong, as written (``allowed_origins``: the origin that is not one).
        self.details = details or {}


def clean_origins(text: str) -> str:
    """A key's web origins as stored: normalised, one a line. Raises ``ApiKeyError`` on
    ``allowed_origins`` (codes ``invalid``, ``too_long``, ``any``, ``too_many``; the origin
    in ``details``)."""
    try:
        return "\n".join(origins.parse_list(text or ""))
    except origins.OriginError as exc:
        raise ApiKeyError({"allowed_origins": exc.code}, {"allowed_origins": exc.origin}) from exc


def hash_key(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def check_rate_limit(text: str) -> str | None:
    """An error code for a Flask-Limiter rate string ("60/minute", "1000/hour;60/minute"),
    or None when it is usable: every part must parse and allow at least one call."""
    text = text.strip()
    if not text:
        return "required"
    if len(text) > RATE_MAX:
        return "too_long"
    try:
        items = limits.parse_many(text)
    except ValueError:
        return "invalid"
    if not items:
        return "invalid"
    if any(item.amount < 1 for item in items):
        return "zero"
    return None


def clean_input(label: str, rate_limit: str, contact_email: str) -> tuple[str, str, str]:
    """The label, rate and contact email as they will be stored; raises ``ApiKeyError``
    with every problem found."""
    errors: dict[str, str] = {}
    label = " ".join((label or "").split())
    if not label:
        errors["label"] = "required"
    elif len(label) > LABEL_MAX:
        errors["label"] = "too_long"
    rate_limit = (rate_limit or "").strip()
    if problem := check_rate_limit(rate_limit):
        errors["rate_limit"] = problem
    email = (contact_email or "").strip()
    if email:
        if len(email) > EMAIL_MAX:
            errors["contact_email"] = "too_long"
        else:
            try:
                email = validate_email(email, check_deliverability=False).normalized
            except EmailNotValidError:
                errors["contact_email"] = "invalid"
    if errors:
        raise ApiKeyError(errors)
    return label, rate_limit, email


def _snapshot(key: ApiKey) -> dict[str, object]:
    return {
        "label": key.label,
        "prefix": key.prefix,
        "rate_limit": key.rate_limit,
        "read_rate_limit": key.read_rate_limit,
        "contact_email": key.contact_email,
        "allowed_origins": key.allowed_origins,
        "revoked_at": key.revoked_at.isoformat() if key.revoked_at else None,
    }


def new_key(
    session: Session,
    *,
    label: str,
    rate_limit: str,
    contact_email: str,
    by: User | None,
    read_rate_limit: str = DEFAULT_READ_RATE,
    allowed_origins: str = "",
) -> tuple[ApiKey, str]:
    """Make a key; returns it and its plaintext (show it once, it is not kept).

    Raises ``ApiKeyError``. Flushes; the caller commits."""
    errors: dict[str, str] = {}
    try:
        label, rate_limit, email = clean_input(label, rate_limit, contact_email)
    except ApiKeyError as exc:
        errors.update(exc.errors)
    read_rate_limit = (read_rate_limit or "").strip()
    if problem := check_rate_limit(read_rate_limit):
        errors["read_rate_limit"] = problem
    details: dict[str, str] = {}
    try:
        allowed_origins = clean_origins(allowed_origins)
    except ApiKeyError as exc:
        errors.update(exc.errors)
        details.update(exc.details)
    if errors:
        raise ApiKeyError(errors, details)
    raw = secrets.token_urlsafe(32)
    now = clock.now()
    key = ApiKey(
        label=label,
        prefix=raw[:PREFIX_LENGTH],
        key_hash=hash_key(raw),
        rate_limit=rate_limit,
        read_rate_limit=read_rate_limit,
        contact_email=email,
        allowed_origins=allowed_origins,
        created_by_id=by.id if by else None,
        created_at=now,
        use_count=0,
        filed_count=0,
    )
    session.add(key)
    session.flush()
    _audit(session, key, "create", before={}, by=by, now=now)
    session.flush()
    return key, raw


def set_origins(
    session: Session, key: ApiKey, text: str, *, by: User | None, now: datetime
) -> bool:
    """Replace ``key``'s web origins with those in ``text``; False (nothing written) when
    they are the same. Raises ``ApiKeyError``. Audited; flushes, the caller commits."""
    cleaned = clean_origins(text)
    if cleaned == (key.allowed_origins or ""):
        return False
    before = _snapshot(key)
    key.allowed_origins = cleaned
    _audit(session, key, "origins", before=before, by=by, now=now)
    session.flush()
    return True


def _audit(
    session: Session,
    key: ApiKey,
    action: str,
    *,
    before: dict[str, Any],
    by: User | None,
    now: datetime,
) -> None:
    """The audit entry of a change to ``key`` (``after`` is its state now)."""
    session.add(
        AuditEntry(
            actor_id=by.id if by else None,
            entity="api_key",
            entity_id=str(key.id),
            action=action,
            before=before,
            after=_snapshot(key),
            created_at=now,
        )
    )


def set_rates(
    session: Session,
    key: ApiKey,
    *,
    rate_limit: str | None = None,
    read_rate_limit: str | None = None,
    by: User | None,
    now: datetime,
) -> bool:
    """Give ``key`` new rate limits (None: keep that one); the next call counts under them.
    False (nothing written) when they are the same. Raises ``ApiKeyError`` (``rate_limit``,
    ``read_rate_limit``: the codes of ``check_rate_limit``) with every problem found.
    Audited; flushes, the caller commits."""
    errors: dict[str, str] = {}
    wanted = {"rate_limit": rate_limit, "read_rate_limit": read_rate_limit}
    for name, text in list(wanted.items()):
        if text is not None:
            wanted[name] = text.strip()
            if problem := check_rate_limit(text):
                errors[name] = problem
    if errors:
        raise ApiKeyError(errors)
    new_rate = wanted["rate_limit"] or key.rate_limit
    new_read = wanted["read_rate_limit"] or key.read_rate_limit
    if (new_rate, new_read) == (key.rate_limit, key.read_rate_limit):
        return False
    before = _snapshot(key)
    key.rate_limit, key.read_rate_limit = new_rate, new_read
    _audit(session, key, "rates", before=before, by=by, now=now)
    session.flush()
    return True


def find_key(session: Session, raw: str | None) -> ApiKey | None:
    """The active (not revoked) key whose sha256 matches ``raw``, or None."""
    raw = (raw or "").strip()
    if not raw or len(raw) > RAW_MAX:
        return None
    return session.scalar(
        select(ApiKey).where(ApiKey.key_hash == hash_key(raw), ApiKey.revoked_at.is_(None))
    )


def get_key(session: Session, key_id: int) -> ApiKey | None:
    return session.get(ApiKey, key_id)


def record_use(session: Session, key: ApiKey | int, *, filed: bool, now: datetime) -> None:
    """Count one authenticated call (and one filed request when ``filed``): a single
    conditional ``UPDATE``, so concurrent calls each count."""
    key_id = key if isinstance(key, int) else key.id
    session.execute(
        update(ApiKey)
        .where(ApiKey.id == key_id)
        .values(
            use_count=ApiKey.use_count + 1,
            filed_count=ApiKey.filed_count + (1 if filed else 0),
            last_used_at=now,
        )
        .execution_options(synchronize_session=False)
    )


def revoke(session: Session, key: ApiKey, *, by: User | None, now: datetime) -> bool:
    """Revoke ``key`` at ``now``; False (and nothing written) if it already was revoked.

    A conditional ``UPDATE`` so two admins revoking at once write one audit entry."""
    before = _snapshot(key)
    # An UPDATE's result is a CursorResult (Session.execute is typed as returning Result).
    result = cast(
        CursorResult[Any],
        session.execute(
            update(ApiKey)
            .where(ApiKey.id == key.id, ApiKey.revoked_at.is_(None))
            .values(revoked_at=now, revoked_by_id=by.id if by else None)
            .execution_options(synchronize_session=False)
        ),
    )
    done = result.rowcount
    if not done:
        return False
    session.refresh(key)
    _audit(session, key, "revoke", before=before, by=by, now=now)
    session.flush()
    return True


@dataclass(frozen=True)
class KeyPage:
    keys: list[ApiKey]
    #: The ``before`` cursor of the next page (the last id shown), or None on the last page.
    next_before: int | None


def list_keys(session: Session, *, before: int | None = None, limit: int = PAGE_SIZE) -> KeyPage:
    """Keys, newest first, a page at a time (keyset on the primary key)."""
    query = select(ApiKey).order_by(ApiKey.id.desc()).limit(limit + 1)
    if before is not None:
        query = query.where(ApiKey.id < before)
    rows = list(session.scalars(query))
    more = len(rows) > limit
    rows = rows[:limit]
    return KeyPage(rows, rows[-1].id if more and rows else None)


def filed_with_key(
    session: Session, reference: str, raw_key: str | None, *, reference_prefix: str = "SR"
) -> ServiceRequest | None:
    """The request with this reference if the active key ``raw_key`` filed it, public or not
    (an app reads back the status of what it filed in a private category); None otherwise,
    whatever the reason (no enumeration)."""
    key = find_key(session, raw_key)
    if key is None:
        return None
    normal = normalise_reference(reference, reference_prefix) or reference[:40]
    return session.scalar(
        select(ServiceRequest)
        .where(ServiceRequest.reference == normal, ServiceRequest.api_key_id == key.id)
        .options(selectinload(ServiceRequest.category), selectinload(ServiceRequest.department))
    )
