"""Accounts: residents and staff sign in with the same kind of account."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from portal.core.db import Base
from portal.core.models import Timestamped

ROLES = ("resident", "agent", "supervisor", "coordinator", "admin")


class User(Timestamped, Base):
    __tablename__ = "users"
    #: The staff list pages through staff by name without reading residents.
    __table_args__ = (Index("ix_users_role_name_id", "role", "name", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(120), default="")
    phone: Mapped[str] = mapped_column(String(40), default="")
    locale: Mapped[str] = mapped_column(String(8), default="en")
    role: Mapped[str] = mapped_column(String(16), default="resident")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Bumped on sign-out and password change: every older session cookie stops working.
    session_version: Mapped[int] = mapped_column(Integer, default=1)
    last_login_at: Mapped[datetime | None]
    #: When the owner proved the address is theirs (a link sent to it); until then the account
    #: cannot file or follow requests as that address.
    email_verified_at: Mapped[datetime | None]
    #: Staff: "each" (one email per notice) or "daily" (one digest a day); notices are
    #: always listed in the back office.
    notice_email: Mapped[str] = mapped_column(String(8), default="each")
    #: Staff: the weekly email with their department's results (``portal.reports.team_digest``).
    team_digest: Mapped[bool] = mapped_column(Boolean, default=True)

    @property
    def is_staff(self) -> bool:
        return self.role != "resident"

    # Flask-Login's protocol, without importing Flask here.
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return f"{self.id}:{self.session_version}"


class SignInThrottle(Base):
    """Failed sign-ins for one email address (whether or not an account has it).

    Keyed by a keyed hash of the normalised address, so neither the addresses tried nor any
    password is stored; kept in the database so every web process and host sees one count.
    ``portal.auth.throttle`` has the rules.
    """

    __tablename__ = "sign_in_throttles"

    #: HMAC-SHA256 (keyed with the secret key) of the normalised email address, hex.
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    first_failed_at: Mapped[datetime]
    #: Swept by the worker once old (the counter is forgotten anyway).
    last_failed_at: Mapped[datetime] = mapped_column(index=True)
    #: No attempt is checked before this time (a growing wait, then the lock).
    blocked_until: Mapped[datetime | None]
    #: When the owner was told of the lock (one email per locked episode).
    lock_notified_at: Mapped[datetime | None]


class UserIdentity(Base):
    """An account's link to a person at the city's OpenID Connect provider (single sign-on).

    The provider names a person by ``(issuer, subject)``; the first sign-in links it to the
    account with the same verified email address, and later sign-ins find the account by the
    link alone (a changed address at the provider still signs in the same account).
    ``portal.auth.sso`` has the rules.
    """

    __tablename__ = "user_identities"
    __table_args__ = (
        UniqueConstraint("issuer", "subject", name="uq_user_identities_issuer_subject"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    issuer: Mapped[str] = mapped_column(String(255))
    subject: Mapped[str] = mapped_column(String(255))
    #: The address the provider gave when the link was made (for the audit and staff pages).
    email: Mapped[str] = mapped_column(String(254), default="")
    created_at: Mapped[datetime]
    last_login_at: Mapped[datetime | None]
