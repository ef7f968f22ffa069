"""Failed sign-ins counted per email address, in the database.

Besides the limit per client address (``10 per minute``, Flask-Limiter, in the views), each
normalised email address tried gets a counter, whether or not an account has that address,
so the answers never tell whether an account exists:

- the first ``FREE_FAILURES`` (5) failures cost nothing;
- each failure after that makes the address wait before its next attempt is even checked:
  1, 2, 4, then 8 minutes (doubling);
- the ``LOCK_AFTER``-th (10th) failure locks the address for ``LOCK_MINUTES`` (15) minutes,
  and so does every further failure while the counter lasts; the account's owner (if there
  is one) gets one email per locked episode, with a link to reset the password;
- an attempt inside a wait or a lock is refused without checking the password (nobody is
  slowed down by sleeping in a web worker) and does not count;
- the counter is cleared by a successful sign-in or password reset, and forgotten
  ``WINDOW_HOURS`` (24) hours after its last failure. So a guesser gets at most about
  100 tries a day at one account, the most NIST SP 800-63B allows.

Counters are rows of ``sign_in_throttles`` keyed by an HMAC of the address with the secret
key; no address in clear and no password is stored. Rows are locked while they change, so
several web processes count every attempt. No Flask here.
"""

from __future__ import annotations

import hashlib
import hmac
import math
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from portal.auth.models import SignInThrottle
from portal.core.config import Settings

FREE_FAILURES = 5
LOCK_AFTER = 10
LOCK_MINUTES = 15
WINDOW_HOURS = 24


def throttle_key(settings: Settings, normalised_email: str) -> str:
    """The counter's key for an address: an HMAC, so the table holds no addresses."""
    secret = settings.secret_key.encode()
    return hmac.new(secret, b"sign-in:" + normalised_email.encode(), hashlib.sha256).hexdigest()


def _row(session: Session, key: str) -> SignInThrottle | None:
    return session.scalar(select(SignInThrottle).where(SignInThrottle.key == key).with_for_update())


def _locked_row(session: Session, key: str, now: datetime) -> SignInThrottle:
    """The key's counter, made if missing, locked (PostgreSQL) until the transaction ends.

    Made before the first attempt is checked, so even the first simultaneous attempts for an
    address queue behind one another: a second insert waits for the first to commit, fails,
    and then reads and locks the committed row.
    """
    row = _row(session, key)
    if row is not None:
        return row
    try:
        with session.begin_nested():
            row = SignInThrottle(key=key, failures=0, first_failed_at=now, last_failed_at=now)
            session.add(row)
            session.flush()
    except IntegrityError:
        row = _row(session, key)  # a concurrent attempt made it first
        assert row is not None
    return row


def wait_seconds(session: Session, key: str, now: datetime) -> int:
    """How long attempts for this key are refused from ``now`` (0: an attempt may be checked).

    Locks the counter's row (made if missing) until the transaction ends, so concurrent
    attempts for one address are checked and counted one after the other.
    """
    row = _locked_row(session, key, now)
    if row.blocked_until is None or row.blocked_until <= now:
        return 0
    return math.ceil((row.blocked_until - now).total_seconds())


def delay_after(failures: int) -> timedelta:
    """The wait that follows the ``failures``-th failure in a row."""
    if failures <= FREE_FAILURES:
        return timedelta(0)
    if failures >= LOCK_AFTER:
        return timedelta(minutes=LOCK_MINUTES)
    return timedelta(minutes=2 ** (failures - FREE_FAILURES - 1))


def record_failure(session: Session, key: str, now: datetime) -> SignInThrottle:
    """Count one failed attempt (flushed) and set the wait that follows it."""
    row = _locked_row(session, key, now)
    if now - row.last_failed_at >= timedelta(hours=WINDOW_HOURS):
        row.failures = 0
        row.first_failed_at = now
        row.lock_notified_at = None
    row.failures += 1
    row.last_failed_at = now
    delay = delay_after(row.failures)
    row.blocked_until = now + delay if delay else None
    session.flush()
    return row


def is_locked(row: SignInThrottle) -> bool:
    return row.failures >= LOCK_AFTER


def clear(session: Session, key: str) -> None:
    """Forget the counter (a successful sign-in or password reset)."""
    session.execute(delete(SignInThrottle).where(SignInThrottle.key == key))


def sweep(session: Session, now: datetime) -> int:
    """Delete counters nobody will read again (past the window and not blocking)."""
    cutoff = now - timedelta(hours=WINDOW_HOURS)
    result = session.execute(
        delete(SignInThrottle).where(
            SignInThrottle.last_failed_at < cutoff,
            or_(SignInThrottle.blocked_until.is_(None), SignInThrottle.blocked_until < now),
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)
