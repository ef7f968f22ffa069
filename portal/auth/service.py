"""Accounts: sign up, sign in, sign out everywhere, reset and change passwords, confirm the
email address.

Passwords follow NIST SP 800-63B: at least ``PASSWORD_MIN`` (8) characters, up to
``PASSWORD_MAX`` (128), any characters (spaces and any Unicode), no composition rules; refused
when one character repeated, the account's email address or its local part, or among the
30,000 most common passwords (zxcvbn's list, compared ignoring case).

Sign-in failures are counted per email address as well as per client address
(``portal.auth.throttle`` has the waits and the lock). Sign-up answers the same whether or not
the address already has an account (its owner gets an email instead), and does not sign in:
the new account confirms its address from an emailed link first (``EMAIL_LINK_MAX_AGE_SECONDS``,
3 days), and cannot file or follow requests until it has (``email_verified``).

No Flask here. Functions flush and never commit; the request (or job) commits once. Domain
errors carry a machine-readable reason; the views turn them into translated messages.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from functools import cache

from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeTimedSerializer
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from portal.auth import throttle
from portal.auth.models import User
from portal.core import clock
from portal.core.config import Settings
from portal.core.mail import queue_email

PASSWORD_MIN = 8
PASSWORD_MAX = 128
RESET_MAX_AGE_SECONDS = 3600
#: The longest a link may be made to last (a new colleague's invitation lasts 7 days).
RESET_MAX_AGE_LIMIT_SECONDS = 30 * 24 * 3600
RESET_SALT = "password-reset"
#: At most one reset email per account in this window (mail-bombing protection).
RESET_EMAIL_WINDOW_SECONDS = 120
#: How long an emailed link confirming an address works.
EMAIL_LINK_MAX_AGE_SECONDS = 3 * 24 * 3600
EMAIL_LINK_SALT = "email-verification"
#: At most one confirmation link per account in this window ("send the link again").
EMAIL_LINK_WINDOW_SECONDS = 120
#: At most one "someone tried to create an account with your address" email per hour.
ACCOUNT_EXISTS_WINDOW_SECONDS = 3600


class AccountError(Exception):
    """Base class for the account domain errors."""


class EmailTaken(AccountError):
    """Another account already uses this email address."""


class WeakPassword(AccountError):
    """The password breaks a rule; ``reason`` is one of ``password_problem``'s answers."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class WrongPassword(AccountError):
    """The current password given to confirm a change is not right."""


class ResetTokenExpired(AccountError):
    """The reset link is genuine but older than it was made to last (an hour by default)."""


class ResetTokenInvalid(AccountError):
    """The reset link is forged, damaged, already used, or its account is gone."""


class SignInRefused(AccountError):
    """Too many failed sign-ins for this email address: no attempt until ``wait_seconds`` pass.

    ``checked`` says whether this attempt's password was checked (and failed) before the wait
    began; otherwise it was refused unchecked.
    """

    def __init__(self, wait_seconds: int, *, checked: bool) -> None:
        super().__init__(wait_seconds)
        self.wait_seconds = wait_seconds
        self.checked = checked


class EmailLinkExpired(AccountError):
    """The address-confirmation link is genuine but older than it lasts (3 days)."""


class EmailLinkInvalid(AccountError):
    """The confirmation link is forged, damaged, for an address the account no longer has,
    or its account is gone."""


def normalise_email(email: str) -> str:
    """The stored form of an email address: trimmed and lower case."""
    return email.strip().lower()


@cache
def _common_passwords() -> frozenset[str]:
    # zxcvbn ships the 30,000 most common passwords (lower case) from breach corpora; only
    # those long enough to pass the length rule need checking.
    from zxcvbn.frequency_lists import FREQUENCY_LISTS  # type: ignore[import-untyped]

    return frozenset(p for p in FREQUENCY_LISTS["passwords"] if len(p) >= PASSWORD_MIN)


def password_problem(password: str, *, email: str = "") -> str | None:
    """Why ``password`` is not acceptable, or None.

    "too_short", "too_long", "repetitive" (one character repeated), "email" (the account's
    email address or its part before the @) or "common" (among the most used passwords).
    """
    if len(password) < PASSWORD_MIN:
        return "too_short"
    if len(password) > PASSWORD_MAX:
        return "too_long"
    if len(set(password)) == 1:
        return "repetitive"
    folded = password.strip().casefold()
    address = normalise_email(email)
    if address and folded in {address, address.split("@", 1)[0]}:
        return "email"
    if folded in _common_passwords():
        return "common"
    return None


def _check_password_rules(password: str, email: str) -> None:
    problem = password_problem(password, email=email)
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
    The address is unconfirmed (``send_email_link`` mails the link that confirms it).
    """
    email = normalise_email(email)
    _check_password_rules(password, email)
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


def sign_up(
    session: Session,
    *,
    settings: Settings,
    email: str,
    password: str,
    name: str,
    phone: str = "",
    locale: str = "en",
) -> User | None:
    """Create an account and email it the link confirming its address; or, when the address
    already has an account, email that account's owner instead and change nothing.

    The caller answers the same either way (never whether an account exists), and signs
    nobody in. Returns the new account, or None when the address was taken. Raises
    ``WeakPassword`` (checked first, whether or not the address is taken).
    """
    _check_password_rules(password, email)
    try:
        user = register(
            session, email=email, password=password, name=name, phone=phone, locale=locale
        )
    except EmailTaken:
        _dummy_hash_check(password)  # as slow as hashing a new account's password
        _tell_owner_of_sign_up(session, settings=settings, email=email)
        return None
    send_email_link(session, settings=settings, user=user, welcome=True)
    return user


def _dummy_hash_check(password: str) -> None:
    check_password_hash(_dummy_hash(), password)


def _tell_owner_of_sign_up(session: Session, *, settings: Settings, email: str) -> None:
    owner = find_by_email(session, email)
    if owner is None or not owner.active:
        return
    window = int(clock.now().timestamp()) // ACCOUNT_EXISTS_WINDOW_SECONDS
    try:
        with session.begin_nested():
            queue_email(
                session,
                settings=settings,
                to=owner.email,
                template="account_exists",
                locale=owner.locale,
                context={
                    "name": owner.name,
                    "email": owner.email,
                    "sign_in_url": f"{settings.base_url}/account/sign-in",
                    "reset_url": f"{settings.base_url}/account/reset",
                },
                dedupe_key=f"account-exists:{owner.id}:{window}",
            )
    except IntegrityError:
        return  # a concurrent sign-up already queued this window's email


def sign_in(
    session: Session, *, settings: Settings, email: str, password: str, now: datetime
) -> User | None:
    """The account, if the password is right and the address is not waiting; else None.

    Failures are counted per normalised address (``portal.auth.throttle``), whether or not
    an account has it. Raises ``SignInRefused`` when the address must wait: unchecked if the
    attempt came inside a wait, or after counting this failure if it starts one. The 10th
    failure locks the address and emails the owner (once per locked episode) a reset link.
    A successful sign-in clears the count.
    """
    key = throttle.throttle_key(settings, normalise_email(email))
    wait = throttle.wait_seconds(session, key, now)
    if wait:
        raise SignInRefused(wait, checked=False)
    user = authenticate(session, email, password)
    if user is not None:
        throttle.clear(session, key)
        return user
    row = throttle.record_failure(session, key, now)
    if throttle.is_locked(row) and row.lock_notified_at is None:
        row.lock_notified_at = now
        _tell_owner_of_lock(session, settings=settings, email=email, now=now)
        session.flush()
    wait = throttle.wait_seconds(session, key, now)
    if wait:
        raise SignInRefused(wait, checked=True)
    return None


def _tell_owner_of_lock(session: Session, *, settings: Settings, email: str, now: datetime) -> None:
    owner = find_by_email(session, email)
    if owner is None or not owner.active:
        return
    token = make_reset_token(settings, owner)
    queue_email(
        session,
        settings=settings,
        to=owner.email,
        template="sign_in_locked",
        locale=owner.locale,
        context={
            "name": owner.name,
            "failures": throttle.LOCK_AFTER,
            "lock_minutes": throttle.LOCK_MINUTES,
            "reset_url": f"{settings.base_url}/account/reset/{token}",
            "reset_minutes": RESET_MAX_AGE_SECONDS // 60,
        },
        dedupe_key=f"sign-in-locked:{owner.id}:{int(now.timestamp())}",
    )


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
    _check_password_rules(new_password, user.email)
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


def password_sign_in_allowed(user: User, settings: Settings) -> bool:
    """Staff sign in only through the provider when the city says so
    (``Settings.sso_staff_only``); residents keep their passwords."""
    return not (settings.sso_staff_only and settings.sso_enabled and user.is_staff)


def request_password_reset(
    session: Session, *, settings: Settings, email: str, locale: str
) -> None:
    """Email a one-hour, single-use reset link if an active account has this address.

    Says nothing about whether it did: callers show the same answer either way. Repeats for the
    same account within ``RESET_EMAIL_WINDOW_SECONDS`` queue nothing more. A staff account
    that may not sign in with a password (``password_sign_in_allowed``) is sent no link but a
    pointer to the provider's button (a password it could never use would only mislead).
    """
    user = find_by_email(session, email)
    if user is None or not user.active:
        return
    window = int(clock.now().timestamp()) // RESET_EMAIL_WINDOW_SECONDS
    if password_sign_in_allowed(user, settings):
        token = make_reset_token(settings, user)
        template = "password_reset"
        context: dict[str, object] = {
            "name": user.name,
            "reset_url": f"{settings.base_url}/account/reset/{token}",
            "minutes": RESET_MAX_AGE_SECONDS // 60,
        }
    else:  # a staff account that signs in only through the provider: no link, a pointer
        template = "password_reset_sso"
        context = {
            "name": user.name,
            "sign_in_url": f"{settings.base_url}/account/sign-in",
            "sso_label": settings.sso_label,
        }
    try:
        with session.begin_nested():
            queue_email(
                session,
                settings=settings,
                to=user.email,
                template=template,
                locale=locale,
                context=context,
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

    The link came to the account's address, so that address is confirmed, and a sign-in lock
    on it is lifted. Raises ``ResetTokenExpired``, ``ResetTokenInvalid`` or ``WeakPassword``.
    """
    user = user_for_reset_token(session, token, settings, lock=True)
    _check_password_rules(new_password, user.email)
    user.password_hash = _hash(new_password)
    if user.email_verified_at is None:
        user.email_verified_at = clock.now()
    throttle.clear(session, throttle.throttle_key(settings, user.email))
    end_sessions(session, user)
    return user


# --- Confirming the email address by emailed link -----------------------------------------


def _email_link_serializer(settings: Settings) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings.secret_key, salt=EMAIL_LINK_SALT, signer=_ClockSigner)


def _address_fingerprint(email: str) -> str:
    # A link names the address it was sent to: after a change of address it confirms nothing.
    return hashlib.sha256(normalise_email(email).encode()).hexdigest()[:32]


def make_email_link_token(settings: Settings, user: User) -> str:
    """A token confirming ``user``'s current address, working for 3 days."""
    return _email_link_serializer(settings).dumps(
        {"u": user.id, "e": _address_fingerprint(user.email)}
    )


def send_email_link(
    session: Session, *, settings: Settings, user: User, welcome: bool = False
) -> bool:
    """Queue the link confirming ``user``'s address (at most one per account every two
    minutes). ``welcome`` words it for a new account. Returns whether one was queued."""
    if user.email_verified_at is not None:
        return False
    token = make_email_link_token(settings, user)
    window = int(clock.now().timestamp()) // EMAIL_LINK_WINDOW_SECONDS
    try:
        with session.begin_nested():
            message = queue_email(
                session,
                settings=settings,
                to=user.email,
                template="confirm_email",
                locale=user.locale,
                context={
                    "name": user.name,
                    "email": user.email,
                    "welcome": welcome,
                    "confirm_url": f"{settings.base_url}/account/confirm/{token}",
                    "days": EMAIL_LINK_MAX_AGE_SECONDS // 86400,
                },
                dedupe_key=f"confirm-email:{user.id}:{window}",
            )
    except IntegrityError:
        return False  # a concurrent request already queued this window's link
    return message is not None


def confirm_email(session: Session, token: str, settings: Settings) -> tuple[User, bool]:
    """Confirm the address a link was sent to; returns the account and whether this use
    confirmed it (False: it was already confirmed, and nothing changes).

    Raises ``EmailLinkExpired`` or ``EmailLinkInvalid`` (also when the account's address has
    changed since the link was sent).
    """
    try:
        data = _email_link_serializer(settings).loads(token, max_age=EMAIL_LINK_MAX_AGE_SECONDS)
    except SignatureExpired as exc:
        raise EmailLinkExpired() from exc
    except BadSignature as exc:
        raise EmailLinkInvalid() from exc
    if not isinstance(data, dict) or not isinstance(data.get("u"), int):
        raise EmailLinkInvalid()
    user = session.get(User, data["u"], with_for_update=True)
    if user is None or not user.active or data.get("e") != _address_fingerprint(user.email):
        raise EmailLinkInvalid()
    if user.email_verified_at is not None:
        return user, False
    user.email_verified_at = clock.now()
    session.flush()
    return user, True


def sweep_sign_in_counters(session: Session, now: datetime) -> int:
    """Delete failed sign-in counters that no longer matter (the worker runs this)."""
    return throttle.sweep(session, now)
