"""Test data of accounts: residents (staff members are made by tests/staff/factories.py)."""

from __future__ import annotations

from typing import Any

from werkzeug.security import generate_password_hash

from portal.auth.models import User
from tests.factory_base import FactoryBase, next_n

PASSWORD = "correct horse battery staple"
_HASH = generate_password_hash(PASSWORD)


class AuthFactories(FactoryBase):
    def user(self, **kw: Any) -> User:
        n = next_n()
        kw.setdefault("email", f"resident{n}@example.org")
        kw.setdefault("name", f"Resident {n}")
        kw.setdefault("password_hash", _HASH)
        return self._add(User(**kw))
