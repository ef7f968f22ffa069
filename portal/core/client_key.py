"""The portal's own key pair for ``private_key_jwt`` client authentication (RFC 7523) at the
city's identity provider (docs/single-sign-on.md).

The private key is a PEM (RSA of 2048 bits or more, or EC on P-256, P-384 or P-521), given in
the environment; a certificate for it may follow in the same text (``flask sso keygen`` prints
both), and its thumbprints then go in each assertion's header (``x5t``, ``x5t#S256``: Entra ID
finds the registered certificate by them). The key id (``kid``) is the setting's, else the
RFC 7638 thumbprint of the public key, which is also the ``kid`` of the published JWK.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from joserfc.jwk import ECKey, RSAKey

MIN_RSA_BITS = 2048
#: The JWS algorithm for each EC curve (RFC 7518 3.4).
EC_ALGORITHMS = {"secp256r1": "ES256", "secp384r1": "ES384", "secp521r1": "ES512"}
CERTIFICATE_MARK = "-----BEGIN CERTIFICATE-----"


class ClientKeyError(ValueError):
    """A key that cannot be used; the message says why."""


@dataclass(frozen=True)
class ClientKey:
    #: The private key, as Authlib's signer takes it.
    jwk: RSAKey | ECKey
    alg: str
    kid: str
    certificate: x509.Certificate | None = None

    def public_jwk(self) -> dict[str, Any]:
        """The public half as a JWK (``kid``, ``alg``, ``use`` included)."""
        return {**self.jwk.as_dict(private=False), "kid": self.kid, "alg": self.alg, "use": "sig"}

    def public_jwks(self) -> dict[str, Any]:
        return {"keys": [self.public_jwk()]}

    def assertion_header(self) -> dict[str, str]:
        """The JWS header fields a client assertion carries besides ``alg``."""
        header = {"kid": self.kid}
        if self.certificate is not None:
            der = self.certificate.public_bytes(serialization.Encoding.DER)
            header["x5t"] = _b64url(hashlib.sha1(der, usedforsecurity=False).digest())
            header["x5t#S256"] = _b64url(hashlib.sha256(der).digest())
        return header


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def load_client_key(text: str, *, kid: str = "") -> ClientKey:
    """The key in ``text`` (a PEM private key, optionally followed by its certificate; ``\\n``
    written as two characters, as some environment files do, is read as a line break).

    Raises ``ClientKeyError``.
    """
    text = text.strip().replace("\\n", "\n")
    if "PRIVATE KEY-----" not in text:
        raise ClientKeyError("not a PEM private key (-----BEGIN PRIVATE KEY-----)")
    key_text, _, cert_text = text.partition(CERTIFICATE_MARK)
    try:
        private = serialization.load_pem_private_key(key_text.strip().encode(), password=None)
    except TypeError as exc:
        raise ClientKeyError("the key is encrypted: give it without a passphrase") from exc
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise ClientKeyError(f"not a readable PEM private key ({exc})") from exc
    jwk: RSAKey | ECKey
    if isinstance(private, rsa.RSAPrivateKey):
        if private.key_size < MIN_RSA_BITS:
            raise ClientKeyError(f"an RSA key must have {MIN_RSA_BITS} bits or more")
        jwk, alg = RSAKey.import_key(private), "RS256"
    elif isinstance(private, ec.EllipticCurvePrivateKey):
        alg = EC_ALGORITHMS.get(private.curve.name, "")
        if not alg:
            raise ClientKeyError("an EC key must be on P-256, P-384 or P-521")
        jwk = ECKey.import_key(private)
    else:
        raise ClientKeyError("the key must be RSA or EC")
    certificate = None
    if cert_text:
        try:
            certificate = x509.load_pem_x509_certificate((CERTIFICATE_MARK + cert_text).encode())
        except ValueError as exc:
            raise ClientKeyError(f"the certificate after the key is not readable ({exc})") from exc
        if certificate.public_key() != private.public_key():
            raise ClientKeyError("the certificate after the key is for another key")
    return ClientKey(jwk=jwk, alg=alg, kid=kid.strip() or jwk.thumbprint(), certificate=certificate)


@dataclass(frozen=True)
class NewClientKey:
    #: The private key and its certificate, PEM: the environment's PORTAL_SSO_CLIENT_KEY.
    environment_text: str
    certificate_pem: str
    key: ClientKey


def new_client_key(
    *, kind: str = "rsa", common_name: str = "civic-portal", days: int = 730, now: dt.datetime
) -> NewClientKey:
    """A new key pair (``kind`` "rsa": 3072 bits; "ec": P-256) with a self-signed certificate
    valid ``days`` days from ``now``."""
    private: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
    if kind == "ec":
        private = ec.generate_private_key(ec.SECP256R1())
    else:
        private = rsa.generate_private_key(public_exponent=65537, key_size=3072)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(private.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(private, hashes.SHA256())
    )
    key_pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    cert_pem = certificate.public_bytes(serialization.Encoding.PEM).decode()
    text = key_pem + cert_pem
    return NewClientKey(environment_text=text, certificate_pem=cert_pem, key=load_client_key(text))
