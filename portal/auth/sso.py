"""Single sign-on with OpenID Connect (issue 24): which account a person the city's provider
vouches for signs in to.

The provider names a person by ``(issuer, subject)``. The first time, the account is found by
email address, and only when the provider says the address is verified (``email_verified``,
or ``Settings.sso_trust_email`` for a city's own directory that sends no such claim); the link
is then kept in ``user_identities`` and every later sign-in finds the account by it alone.

Roles are granted in the portal, never by the provider: single sign-on never makes a staff
account, and an address with no account gets "ask your administrator" unless the city lets
residents use single sign-on (``Settings.sso_residents``), when a resident account is made
with the address confirmed. A staff account may be linked only from the domains in
``Settings.sso_staff_domains`` (when set). Links, new accounts and sign-ins go into the audit
trail.

The HTTP side (authorization code flow with PKCE, state and nonce, the ID token's signature,
issuer, audience, expiry and nonce) is Authlib's, in ``portal.auth.views.oidc`` (blueprint
``auth_oidc``). No Flask here.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from portal.auth.models import User, UserIdentity
from portal.auth.service import (
    AccountError,
    EmailTaken,
    end_sessions,
    find_by_email,
    normalise_email,
    password_sign_in_allowed,
    register,
)
from portal.core.audit import AuditEntry
from portal.core.config import Settings

__all__ = ["password_sign_in_allowed"]  # re-exported: the views ask it here

#: Why a sign-in was refused (the views word each one).
REASONS = (
    "no_email",  # the provider gave no address and no account is linked
    "email_unverified",  # the address is not verified at the provider: no linking by it
    "no_account",  # no account has the address (and residents may not sign up this way)
    "residents_not_allowed",  # a resident's account, and the city keeps this for staff
    "staff_domain",  # a staff account, from a domain not allowed for staff
    "disabled",  # the account is switched off
    "linked_to_another",  # the account is linked to another person at this provider
    "reauth_other",  # signing in again (to confirm a deletion) as another person
    "reauth_stale",  # the provider did not sign the person in again just now
)

#: Signing in again to confirm an action must have happened this long ago at most (the
#: provider's ``auth_time``), and not before it was asked for (less this allowance for the
#: two machines' clocks).
REAUTH_MAX_AGE = timedelta(minutes=5)
CLOCK_ALLOWANCE = timedelta(seconds=60)


class SsoRefused(AccountError):
    """The provider's person may not sign in here; ``reason`` is one of ``REASONS``."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class SsoSignIn:
    user: User
    #: This sign-in linked the account (by its verified address).
    linked: bool
    #: This sign-in made the (resident) account.
    created: bool


def email_is_verified(claims: dict[str, Any], settings: Settings) -> bool:
    """Whether the provider vouches for the address (``email_verified`` true, as a boolean or
    the string some providers send; or the city trusts its own directory's addresses)."""
    verified = claims.get("email_verified")
    if verified is True or (isinstance(verified, str) and verified.lower() == "true"):
        return True
    return settings.sso_trust_email and verified is None


def staff_domain_allowed(email: str, settings: Settings) -> bool:
    if not settings.sso_staff_domains:
        return True
    return email.rpartition("@")[2].lower() in settings.sso_staff_domains


def _audit(session: Session, user: User | None, action: str, after: dict[str, Any]) -> None:
    session.add(
        AuditEntry(
            actor_id=user.id if user is not None else None,
            entity="user",
            entity_id=str(user.id) if user is not None else "",
            action=action,
            after=after,
        )
    )


def _check_may_sign_in(user: User, email: str, settings: Settings) -> None:
    if not user.active:
        raise SsoRefused("disabled")
    if user.is_staff:
        if not staff_domain_allowed(email or user.email, settings):
            raise SsoRefused("staff_domain")
    elif not settings.sso_residents:
        raise SsoRefused("residents_not_allowed")


def sign_in(
    session: Session,
    *,
    settings: Settings,
    issuer: str,
    claims: dict[str, Any],
    now: datetime,
) -> SsoSignIn:
    """The account the provider's person (verified ID token ``claims``) signs in to.

    Raises ``SsoRefused``. Records the sign-in time on the account and the link, and an audit
    entry for the sign-in, a new link and a new account. Flushes, never commits.
    """
    subject = str(claims.get("sub") or "")
    if not subject:
        raise SsoRefused("no_email")
    raw_email = claims.get("email")
    email = normalise_email(raw_email) if isinstance(raw_email, str) else ""
    identity = session.scalar(
        select(UserIdentity).where(UserIdentity.issuer == issuer, UserIdentity.subject == subject)
    )
    linked = created = False
    if identity is not None:
        user = session.get(User, identity.user_id)
        assert user is not None  # the foreign key
        _check_may_sign_in(user, user.email, settings)
    else:
        if not email:
            raise SsoRefused("no_email")
        if not email_is_verified(claims, settings):
            raise SsoRefused("email_unverified")
        found = find_by_email(session, email)
        if found is None:
            if not settings.sso_residents:
                raise SsoRefused("no_account")
            user = _new_resident(session, settings, email=email, claims=claims, now=now)
            created = True
        else:
            user = found
            _check_may_sign_in(user, email, settings)
            other = session.scalar(
                select(UserIdentity.id).where(
                    UserIdentity.user_id == user.id, UserIdentity.issuer == issuer
                )
            )
            if other is not None:
                raise SsoRefused("linked_to_another")
        identity = UserIdentity(
            user_id=user.id, issuer=issuer, subject=subject, email=email, created_at=now
        )
        try:
            with session.begin_nested():
                session.add(identity)
                session.flush()
        except IntegrityError as exc:  # a concurrent first sign-in linked it: take that one
            raise SsoRefused("linked_to_another") from exc
        linked = True
        if user.email_verified_at is None:
            user.email_verified_at = now  # the provider vouched for this address
        _audit(
            session,
            user,
            "sso_account_created" if created else "sso_linked",
            {"issuer": issuer, "subject": subject, "email": email},
        )
    identity.last_login_at = now
    user.last_login_at = now
    _audit(session, user, "sso_signed_in", {"issuer": issuer, "subject": subject})
    session.flush()
    return SsoSignIn(user=user, linked=linked, created=created)


def _new_resident(
    session: Session, settings: Settings, *, email: str, claims: dict[str, Any], now: datetime
) -> User:
    """A resident's account for a verified address; its password is random and unknown (the
    owner may set one with "Forgotten your password?")."""
    name = claims.get("name")
    locale = claims.get("locale")
    try:
        user = register(
            session,
            email=email,
            password=secrets.token_urlsafe(32),
            name=name[:120] if isinstance(name, str) else "",
            locale=locale[:2]
            if isinstance(locale, str) and locale[:2] in settings.languages
            else settings.default_language,
        )
    except EmailTaken as exc:  # a concurrent sign-up took the address
        raise SsoRefused("linked_to_another") from exc
    user.email_verified_at = now
    return user


def confirm_reauthentication(
    session: Session,
    *,
    user: User,
    issuer: str,
    claims: dict[str, Any],
    asked_at: datetime,
    now: datetime,
) -> None:
    """Check that the provider's answer to a request to sign in again (``prompt=login``,
    ``max_age=0``, asked at ``asked_at``) is about the person linked to ``user``, and that they
    were authenticated just now (``auth_time`` after the request, at most ``REAUTH_MAX_AGE``
    ago). Raises ``SsoRefused`` ("reauth_other", "reauth_stale"). Audited when it passes."""
    subject = str(claims.get("sub") or "")
    linked = session.scalar(
        select(UserIdentity.id).where(
            UserIdentity.user_id == user.id,
            UserIdentity.issuer == issuer,
            UserIdentity.subject == subject,
        )
    )
    if not subject or linked is None:
        raise SsoRefused("reauth_other")
    auth_time = claims.get("auth_time")
    if not isinstance(auth_time, int | float) or isinstance(auth_time, bool):
        raise SsoRefused("reauth_stale")
    at = datetime.fromtimestamp(auth_time, tz=UTC)
    if at < asked_at - CLOCK_ALLOWANCE or at < now - REAUTH_MAX_AGE or at > now + CLOCK_ALLOWANCE:
        raise SsoRefused("reauth_stale")
    _audit(session, user, "sso_reauthenticated", {"issuer": issuer, "subject": subject})
    session.flush()


def identities_of(session: Session, user_id: int) -> list[UserIdentity]:
    """The account's links to people at providers, oldest first."""
    return list(
        session.scalars(
            select(UserIdentity).where(UserIdentity.user_id == user_id).order_by(UserIdentity.id)
        )
    )


def unlink(session: Session, *, user: User, identity_id: int, actor: User) -> bool:
    """Remove one of ``user``'s links (an administrator's correction: the wrong person linked,
    or the person's account at the provider replaced). Every session of the account ends (the
    wrong person may be signed in); the next single sign-on links again by verified address.
    Audited; returns whether there was such a link."""
    identity = session.scalar(
        select(UserIdentity).where(UserIdentity.id == identity_id, UserIdentity.user_id == user.id)
    )
    if identity is None:
        return False
    session.add(
        AuditEntry(
            actor_id=actor.id,
            entity="user",
            entity_id=str(user.id),
            action="sso_unlinked",
            before={
                "issuer": identity.issuer,
                "subject": identity.subject,
                "email": identity.email,
            },
        )
    )
    session.delete(identity)
    end_sessions(session, user)
    return True
