"""Private tracking links for reporters without an account.

The token is shown once (in the confirmation email); only its SHA-256 is stored.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from itsdangerous import BadData, URLSafeTimedSerializer

from portal.core.config import Settings


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


# Later emails to an anonymous reporter (a staff question, a status change) carry a signed
# link instead: the original token is never stored, so it cannot be sent again. The signature
# covers the request id and part of the token hash, and expires.
SIGNED_LINK_MAX_AGE = 180 * 24 * 3600


def _serializer(settings: Settings) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings.secret_key, salt="request-access")


def signed_private_link(
    settings: Settings, *, request_id: int, reference: str, token_hash: str
) -> str:
    token = _serializer(settings).dumps([request_id, token_hash[:16]])
    return f"{settings.base_url}/requests/{reference}/access/{token}"


def signed_token_matches(
    settings: Settings, token: str, *, request_id: int, token_hash: str | None
) -> bool:
    if token_hash is None:
        return False
    try:
        value = _serializer(settings).loads(token, max_age=SIGNED_LINK_MAX_AGE)
    except BadData:
        return False
    return value == [request_id, token_hash[:16]]
