"""Private tracking links for reporters without an account.

The token is shown once (in the confirmation email); only its SHA-256 is stored.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from portal.config import Settings


def new_token() -> tuple[str, str]:
    """Return ``(token, token_hash)``."""
    token = secrets.token_urlsafe(24)
    return token, hash_token(token)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def token_matches(token: str, token_hash: str | None) -> bool:
    return token_hash is not None and hmac.compare_digest(hash_token(token), token_hash)


def private_link(settings: Settings, reference: str, token: str) -> str:
    """The emailed link that lets an anonymous reporter reply and add photos."""
    return f"{settings.base_url}/requests/{reference}/access/{token}"


def public_link(settings: Settings, reference: str) -> str:
    return f"{settings.base_url}/requests/{reference}"
