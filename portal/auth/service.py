"""Accounts: register, authenticate, sign out everywhere, reset and change passwords.

No Flask here. Functions flush and never commit; the request (or job) commits once. Domain
errors carry a machine-readable reason; the views turn them into translated messages.
"""

from __future__ import annotations

import hashlib
from functools import cache

from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeTimedSerializer
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from portal.auth.models import User
from portal.core import clock
from portal.core.config import Settings
from portal.core.mail import queue_email

PASSWORD_MIN = 10
PASSWORD_MAX = 128
RESET_MAX_AGE_SECONDS = 3600
#: The longest a link may be made to last (a new colleague's invitation lasts 7 days).
RESET_MAX_AGE_LIMIT_SECONDS = 30 * 24 * 3600
RESET_SALT = "password-reset"
#: At most one reset email per account in this window (mail-bombing protection).
RESET_EMAIL_WINDOW_SECONDS = 120


class AccountError(Exception):
    """Base class for the account domain errors."""


class EmailTaken(AccountError):
    """Another account already uses this email address."""


class WeakPassword(AccountError):
    """The password breaks a rule; ``reason`` is "too_short", "too_long" or "repetitive"."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class WrongPassword(AccountError):
    """The current password given to confirm a change is not right."""


class ResetTokenExpired(AccountError):
    """The reset link is genuine but older than it was made to last (an hour by default)."""


class ResetTokenInvalid(AccountError):
    """The reset link is forged, damaged, already used, or its account is gone."""


def normalise_email(email: str) -> str:
    """The stored form of an email address: trimmed and lower case."""
    return email.strip().lower()


def password_problem(password: str) -> str | None:
    """Why ``password`` is not acceptable ("too_short", "too_long", "repetitive"), or None."""
    if len(password) < PASSWORD_MIN:
        return "too_short"
    if len(password) > PASSWORD_MAX:
        return "too_long"
    if len(set(password)) == 1:
        return "repetitive"
    return None


def _check_password_rules(password: str) -> None:
    problem = password_problem(password)
    if problem is not None:
        raise WeakPassword(problem)


def _hash(password: str) -> str:
    return generate_password_hash(password)


@cache
def _dummy_hash() -> str:
    # Checked when no account matches, so a wrong email costs as much time as a wrong password.
    return generate_password_hash("no account has this password, it is only for timing")


def email_verified(user: User) -> bool:
    """Whether the owner has proved the account's current address is theirs (a link sent to it).

    Until then the account may sign in and edit its details but cannot file or follow requests.
    """
    return user.email_verified_at is not None


def find_by_email(session: Session, email: str) -> User | None:
    return session.scalar(select(User).where(User.email == normalise_email(email)))


def register(
    session: Session, *, email: str, password: str, name: str, phone: str = "", locale: str = "en"
) -> User:
    """Create a resident account and return it (flushed).

    Raises ``WeakPassword`` when the password breaks a rule and ``EmailTaken`` when the address
    is in use (checked first, and again by the unique constraint for concurrent sign-ups).
    """
    _check_password_rules(password)
    email = normalise_email(email)
    if find_by_email(session, email) is not None:
        raise EmailTaken(email)
    user = User(
        email=email,
        password_hash=_hash(password),
        name=name.strip(),
        phone=phone.strip(),
        locale=locale,
        role="resident",
        active=True,
        session_version=1,
        last_login_at=clock.now(),
    )
    try:
        with session.begin_nested():
            session.add(user)
            session.flush()
    except IntegrityError as exc:
        raise EmailTaken(email) from exc
    return user


def authenticate(session: Session, email: str, password: str) -> User | None:
    """The active account with this email and password, or None (same cost either way).

    On success the sign-in time is recorded.
    """
    user = find_by_email(session, email)
    if user is None or not user.active:
        check_password_hash(_dummy_hash(), password)
        return None
    if not check_password_hash(user.password_hash, password):
        return None
    user.last_login_at = clock.now()
    session.flush()
    return user


def end_sessions(session: Session, user: User) -> None:
    """Make every session cookie issued to ``user`` so far stop working (sign-out)."""
    user.session_version = User.session_version + 1
    session.flush()
    session.refresh(user, ["session_version"])


def update_profile(session: Session, user: User, *, name: str, phone: str, locale: str) -> User:
    """Save the resident's contact details and preferred language."""
    user.name = name.strip()
    user.phone = phone.strip()
    user.locale = locale
    session.flush()
    return user


def change_password(
    session: Session, user: User, *, current_password: str, new_password: str
) -> User:
    """Replace the password after checking the current one; ends every other session.

    Raises ``WrongPassword`` or ``WeakPassword``. The caller re-signs the current browser in.
    """
    if not check_password_hash(user.password_hash, current_password):
        raise WrongPassword()
    _check_password_rules(new_password)
    user.password_hash = _hash(new_password)
    end_sessions(session, user)
    return user


# --- Password reset by emailed link ---------------------------------------------------------


class _ClockSigner(TimestampSigner):
    """Timestamps from ``portal.core.clock`` so tests can move time."""

    def get_timestamp(self) -> int:
        return int(clock.now().timestamp())


def _serializer(settings: Settings) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings.secret_key, salt=RESET_SALT, signer=_ClockSigner)


def _fingerprint(user: User) -> str:
    # Changes whenever the password or the session version does, so a link works only once.
    raw = f"{user.id}:{user.session_version}:{user.password_hash}".encode()
    return hashlib.sha256(raw).hexdigest()[:32]


def make_reset_token(
    settings: Settings, user: User, *, max_age: int = RESET_MAX_AGE_SECONDS
) -> str:
    """A single-use link token for ``user`` that works for ``max_age`` seconds.

    The lifetime is signed into the token, so the one reset page honours a 7-day invitation
    as well as a 1-hour reset link.
    """
    if not 0 < max_age <= RESET_MAX_AGE_LIMIT_SECONDS:
        raise ValueError(f"max_age must be between 1 and {RESET_MAX_AGE_LIMIT_SECONDS} seconds")
    data: dict[str, int | str] = {"u": user.id, "f": _fingerprint(user)}
    if max_age != RESET_MAX_AGE_SECONDS:
        data["a"] = max_age
    return _serializer(settings).dumps(data)


def request_password_reset(
    session: Session, *, settings: Settings, email: str, locale: str
) -> None:
    """Email a one-hour, single-use reset link if an active account has this address.

    Says nothing about whether it did: callers show the same answer either way. Repeats for the
    same account within ``RESET_EMAIL_WINDOW_SECONDS`` queue nothing more.
    """
    user = find_by_email(session, email)
    if user is None or not user.active:
        return
    token = make_reset_token(settings, user)
    window = int(clock.now().timestamp()) // RESET_EMAIL_WINDOW_SECONDS
    try:
        with session.begin_nested():
            queue_email(
                session,
                settings=settings,
                to=user.email,
                template="password_reset",
                locale=locale,
                context={
                    "name": user.name,
                    "reset_url": f"{settings.base_url}/account/reset/{token}",
                    "minutes": RESET_MAX_AGE_SECONDS // 60,
                },
                dedupe_key=f"password-reset:{user.id}:{window}",
            )
    except IntegrityError:
        return  # a concurrent request already queued this window's email


def user_for_reset_token(
    session: Session, token: str, settings: Settings, *, lock: bool = False
) -> User:
    """The account a reset link belongs to, if the link is still usable.

    Raises ``ResetTokenExpired`` (genuine but older than the lifetime signed into it: an hour
    unless ``make_reset_token`` was given another ``max_age``) or ``ResetTokenInvalid``.
    With ``lock`` the row is locked (PostgreSQL) so two uses of one link cannot both pass.
    """
    try:
        data, signed_at = _serializer(settings).loads(
            token, max_age=RESET_MAX_AGE_LIMIT_SECONDS, return_timestamp=True
        )
    except SignatureExpired as exc:
        raise ResetTokenExpired() from exc
    except BadSignature as exc:
        raise ResetTokenInvalid() from exc
    if not isinstance(data, dict) or not isinstance(data.get("u"), int):
        raise ResetTokenInvalid()
    max_age = data.get("a", RESET_MAX_AGE_SECONDS)
    if not isinstance(max_age, int) or isinstance(max_age, bool):
        raise ResetTokenInvalid()
    if int(clock.now().timestamp()) - int(signed_at.timestamp()) > max_age:
        raise ResetTokenExpired()
    user = session.get(User, data["u"], with_for_update=lock or None)
    if user is None or not user.active or data.get("f") != _fingerprint(user):
        raise ResetTokenInvalid()
    return user


def reset_password(session: Session, token: str, new_password: str, settings: Settings) -> User:
    """Set a new password from a reset link; the link and every session stop working.

    Raises ``ResetTokenExpired``, ``ResetTokenInvalid`` or ``WeakPassword``.
    """
    user = user_for_reset_token(session, token, settings, lock=True)
    _check_password_rules(new_password)
    user.password_hash = _hash(new_password)
    end_sessions(session, user)
    return user
