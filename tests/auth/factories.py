"""Test data of accounts: residents (staff members are made by tests/staff/factories.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from werkzeug.security import generate_password_hash

from portal.auth.models import User
from tests.factory_base import FactoryBase, next_n

PASSWORD = "correct horse battery staple"
# The app hashes with werkzeug's default (scrypt, ~0.1 s to check); accounts the tests make
# directly use a cheap PBKDF2 hash, which check_password_hash reads the same way, so the
# ~200 sign-ins of the suite do not spend half a minute hashing.
_HASH = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")


class AuthFactories(FactoryBase):
    def user(self, **kw: Any) -> User:
        n = next_n()
        kw.setdefault("email", f"resident{n}@example.org")
        kw.setdefault("name", f"Resident {n}")
        kw.setdefault("password_hash", _HASH)
        # Accounts the tests make have confirmed their address unless a test says otherwise.
        kw.setdefault("email_verified_at", datetime(2026, 1, 1, tzinfo=UTC))
        return self._add(User(**kw))
