"""VAPID keys (RFC 8292) and Web Push subscription keys (RFC 8291): P-256, base64url.

The portal's VAPID private key is the base64url of its 32-byte scalar (what ``flask push keys``
prints and browsers' ``applicationServerKey`` pairs with) or a PEM; the public key is the
base64url of its 65-byte uncompressed point. A browser's subscription carries ``p256dh`` (its
65-byte uncompressed P-256 public key) and ``auth`` (a 16-byte secret).
"""

from __future__ import annotations

import base64
import binascii

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

P256_POINT_BYTES = 65
AUTH_SECRET_BYTES = 16


class KeyError_(ValueError):  # noqa: N801 - not the builtin KeyError
    """A key that is not what it must be; the message says what is wrong."""


def b64url_decode(value: str) -> bytes:
    """Decode base64url with or without padding; raises ``KeyError_``."""
    text = (value or "").strip()
    if not text or any(c not in _B64URL for c in text.rstrip("=")):
        raise KeyError_("not base64url")
    try:
        return base64.urlsafe_b64decode(text.rstrip("=") + "=" * (-len(text.rstrip("=")) % 4))
    except (binascii.Error, ValueError) as exc:
        raise KeyError_("not base64url") from exc


_B64URL = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def private_key(value: str) -> ec.EllipticCurvePrivateKey:
    """The VAPID private key from its base64url scalar or PEM; raises ``KeyError_``."""
    text = (value or "").strip()
    if text.startswith("-----BEGIN"):
        try:
            key = serialization.load_pem_private_key(text.encode(), password=None)
        except (ValueError, TypeError) as exc:
            raise KeyError_("unreadable PEM") from exc
        if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
            raise KeyError_("not a P-256 key")
        return key
    raw = b64url_decode(text)
    if len(raw) != 32:
        raise KeyError_(f"{len(raw)} bytes, a P-256 private key is 32")
    try:
        return ec.derive_private_key(int.from_bytes(raw, "big"), ec.SECP256R1())
    except ValueError as exc:
        raise KeyError_("out of range for P-256") from exc


def public_point(key: ec.EllipticCurvePublicKey) -> bytes:
    return key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )


def public_key_of(private: str) -> str:
    """The base64url uncompressed public point of a VAPID private key; raises ``KeyError_``."""
    return b64url(public_point(private_key(private).public_key()))


def new_key_pair() -> tuple[str, str]:
    """A fresh VAPID pair: ``(private scalar, public point)``, both base64url."""
    key = ec.generate_private_key(ec.SECP256R1())
    scalar = key.private_numbers().private_value.to_bytes(32, "big")
    return b64url(scalar), b64url(public_point(key.public_key()))


def check_p256dh(value: str) -> bytes:
    """A subscription's ``p256dh``: a 65-byte uncompressed point on P-256; raises ``KeyError_``."""
    raw = b64url_decode(value)
    if len(raw) != P256_POINT_BYTES or raw[0] != 0x04:
        raise KeyError_(
            f"{len(raw)} bytes, must be a {P256_POINT_BYTES}-byte uncompressed P-256 point"
        )
    try:
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw)
    except ValueError as exc:
        raise KeyError_("not a point on the P-256 curve") from exc
    return raw


def check_auth(value: str) -> bytes:
    """A subscription's ``auth`` secret: 16 bytes; raises ``KeyError_``."""
    raw = b64url_decode(value)
    if len(raw) != AUTH_SECRET_BYTES:
        raise KeyError_(f"{len(raw)} bytes, must be {AUTH_SECRET_BYTES}")
    return raw
