"""Reply addresses that thread an answer back to its case: ``reply+<token>@<mail domain>``.

The token names the case (the request's id), who the email went to and how an answer from
them is taken, and carries an HMAC of those under the portal's secret key, so it cannot be
guessed or altered: 80 bits of MAC, checked in constant time. It is lower-case base32 (no
padding), because mail systems may fold the case of a local part, and 37 characters long, so
``reply+`` and the token fit the 64 characters RFC 5321 allows a local part.

Who and how (``role``):
- ``r``: a resident (``user_id`` is their account, 0 for the request's own contact address
  when they filed without an account); an answer is a public comment from the resident.
- ``p``: a staff member (``user_id``); an answer is a public reply to the resident.
- ``i``: a staff member (``user_id``); an answer is an internal note.

No Flask and no feature imports: the outbox (core) writes these, ``portal.mail_in`` reads them.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass

VERSION = 1
ROLES = ("r", "p", "i")
#: The local part's prefix before the token (``reply+...``); subaddressing keeps it apart
#: from the intake address at the same domain.
LOCAL_PREFIX = "reply+"

_MAC_BYTES = 10
_PAYLOAD_BYTES = 13  # version 1 + request id 6 + user id 5 + role 1
_TOKEN_LENGTH = 37  # base32 of 23 bytes, unpadded
_TOKEN_RE = re.compile(r"\A[a-z2-7]{37}\Z")


@dataclass(frozen=True)
class ReplyToken:
    request_id: int
    user_id: int
    role: str  # "r" | "p" | "i"


def _mac(secret: str, payload: bytes) -> bytes:
    key = hashlib.sha256(b"portal reply token\0" + secret.encode("utf-8")).digest()
    return hmac.new(key, payload, hashlib.sha256).digest()[:_MAC_BYTES]


def make_token(secret: str, *, request_id: int, user_id: int, role: str) -> str:
    """The token for an email about request ``request_id`` sent to ``user_id`` as ``role``."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {ROLES}, not {role!r}")
    if not 0 < request_id < 2**48 or not 0 <= user_id < 2**40:
        raise ValueError("request or user id out of range")
    payload = (
        bytes([VERSION])
        + request_id.to_bytes(6, "big")
        + user_id.to_bytes(5, "big")
        + role.encode("ascii")
    )
    raw = payload + _mac(secret, payload)
    return base64.b32encode(raw).decode("ascii").rstrip("=").lower()


def read_token(secret: str, token: str) -> ReplyToken | None:
    """The case and recipient a token names, or None when it is malformed or forged."""
    token = (token or "").strip().lower()
    if not _TOKEN_RE.match(token):
        return None
    try:
        raw = base64.b32decode(token.upper() + "===")
    except ValueError:
        return None
    payload, mac = raw[:_PAYLOAD_BYTES], raw[_PAYLOAD_BYTES:]
    if len(mac) != _MAC_BYTES or not hmac.compare_digest(mac, _mac(secret, payload)):
        return None
    if payload[0] != VERSION:
        return None
    role = chr(payload[12])
    if role not in ROLES:
        return None
    request_id = int.from_bytes(payload[1:7], "big")
    if request_id == 0:
        return None
    return ReplyToken(request_id, int.from_bytes(payload[7:12], "big"), role)


def reply_address(secret: str, domain: str, *, request_id: int, user_id: int, role: str) -> str:
    """``reply+<token>@<domain>``."""
    token = make_token(secret, request_id=request_id, user_id=user_id, role=role)
    return f"{LOCAL_PREFIX}{token}@{domain}"


def token_in_address(address: str) -> str | None:
    """The token part of a ``reply+<token>@...`` address (any case), or None."""
    local = (address or "").rpartition("@")[0].strip().strip("<").lower()
    if not local.startswith(LOCAL_PREFIX):
        return None
    token = local[len(LOCAL_PREFIX) :]
    return token if len(token) == _TOKEN_LENGTH else None
