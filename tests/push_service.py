"""A Web Push service on loopback for the tests: the receiving side of the protocol.

- RFC 8030: a POST to a subscription's endpoint (``/push/<token>``) with a ``TTL`` header
  (required; ``Urgency`` optional, one of very-low/low/normal/high) is answered 201 Created with
  a ``Location`` naming the message; ``fail_next(token, status)`` makes it answer 410, 429,
  500... instead.
- RFC 8292: the ``Authorization: vapid t=<JWT>, k=<key>`` header is checked: the JWT's ES256
  signature against ``k``, its ``aud`` (this service's origin), ``exp`` (in the future, at most
  24 h ahead) and ``sub`` (mailto: or https:). A bad one is a 401.
- RFC 8291 / RFC 8188: the body (``Content-Encoding: aes128gcm``) is decrypted here, written
  from the RFCs with ``cryptography`` (not with the library that encrypted it), with the
  browser's private key and auth secret that ``Browser`` made as a browser does.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import struct
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDFExpand


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _point(key: ec.EllipticCurvePublicKey) -> bytes:
    return key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )


@dataclass
class Browser:
    """A user agent's push keys (RFC 8291 section 2): a P-256 pair and a 16-byte auth secret."""

    key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )
    auth: bytes = field(default_factory=lambda: secrets.token_bytes(16))

    @property
    def p256dh(self) -> str:
        return b64url(_point(self.key.public_key()))

    def decrypt(self, body: bytes) -> bytes:
        """RFC 8291 section 3.4 and RFC 8188 section 2: one aes128gcm record."""
        salt, rs, idlen = body[:16], struct.unpack("!I", body[16:20])[0], body[20]
        as_public = body[21 : 21 + idlen]
        ciphertext = body[21 + idlen :]
        if idlen != 65 or rs < 18 or len(ciphertext) > rs:
            raise ValueError("not a single aes128gcm record with a P-256 key id")
        sender = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), as_public)
        ecdh_secret = self.key.exchange(ec.ECDH(), sender)
        ua_public = _point(self.key.public_key())
        # PRK_key = HMAC(auth, ecdh); IKM = HMAC(PRK_key, "WebPush: info\0" ua as 0x01)
        prk_key = hmac.new(self.auth, ecdh_secret, hashlib.sha256).digest()
        key_info = b"WebPush: info\x00" + ua_public + as_public
        ikm = hmac.new(prk_key, key_info + b"\x01", hashlib.sha256).digest()
        prk = hmac.new(salt, ikm, hashlib.sha256).digest()  # HKDF-Extract(salt, IKM)
        cek = HKDFExpand(hashes.SHA256(), 16, b"Content-Encoding: aes128gcm\x00").derive(prk)
        nonce = HKDFExpand(hashes.SHA256(), 12, b"Content-Encoding: nonce\x00").derive(prk)
        padded = AESGCM(cek).decrypt(nonce, ciphertext, None)  # record 0: nonce XOR 0
        stripped = padded.rstrip(b"\x00")
        if not stripped or stripped[-1] != 0x02:  # the last record's delimiter
            raise ValueError("no last-record delimiter")
        return stripped[:-1]


@dataclass
class Received:
    token: str
    headers: dict[str, str]
    claims: dict[str, object]
    payload: dict[str, object]
    #: The decrypted payload as sent (what a browser's push event gets).
    text: str = ""


class PushService:
    """Run with ``with PushService(vapid_public_key) as service:``; ``endpoint(browser)``."""

    def __init__(self, vapid_public_key: str) -> None:
        self.vapid_public_key = vapid_public_key
        self.browsers: dict[str, Browser] = {}
        self.failures: dict[str, list[int]] = {}
        self.received: list[Received] = []
        #: Every POST's outcome: (token, status answered).
        self.answers: list[tuple[str, int]] = []
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.origin = f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> PushService:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def subscribe(self, browser: Browser) -> dict[str, object]:
        """What ``PushSubscription.toJSON()`` gives the page for ``browser``."""
        token = secrets.token_urlsafe(16)
        self.browsers[token] = browser
        return {
            "endpoint": f"{self.origin}/push/{token}",
            "keys": {"p256dh": browser.p256dh, "auth": b64url(browser.auth)},
        }

    def fail_next(self, endpoint: str, *statuses: int) -> None:
        self.failures.setdefault(endpoint.rsplit("/", 1)[1], []).extend(statuses)

    def check_vapid(self, header: str) -> dict[str, object]:
        """RFC 8292 section 3: ``vapid t=<jwt>, k=<key>``; the claims, or ValueError."""
        if not header.startswith("vapid "):
            raise ValueError("not the vapid scheme")
        params = dict(part.strip().split("=", 1) for part in header[6:].split(","))
        if params.get("k") != self.vapid_public_key:
            raise ValueError("unknown application server key")
        head, body, signature = params["t"].split(".")
        if json.loads(unb64url(head)) != {"typ": "JWT", "alg": "ES256"}:
            raise ValueError("not an ES256 JWT")
        raw = unb64url(signature)
        public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64url(params["k"]))
        der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
        try:
            public.verify(der, f"{head}.{body}".encode(), ec.ECDSA(hashes.SHA256()))
        except InvalidSignature as exc:
            raise ValueError("bad signature") from exc
        claims = json.loads(unb64url(body))
        now = time.time()
        if claims.get("aud") != self.origin:
            raise ValueError(f"aud {claims.get('aud')!r} is not {self.origin}")
        if not now < int(claims["exp"]) <= now + 24 * 3600:
            raise ValueError("exp out of range")
        if not str(claims.get("sub", "")).startswith(("mailto:", "https:")):
            raise ValueError("no contact in sub")
        return claims


def _handler(service: PushService) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def _answer(self, token: str, status: int, location: str = "") -> None:
            with service.lock:
                service.answers.append((token, status))
            self.send_response(status)
            if location:
                self.send_header("Location", location)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            token = self.path.rsplit("/", 1)[1]
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            browser = service.browsers.get(token)
            if not self.path.startswith("/push/") or browser is None:
                return self._answer(token, 404)
            with service.lock:
                pending = service.failures.get(token)
                forced = pending.pop(0) if pending else 0
            if forced:
                return self._answer(token, forced)
            ttl = self.headers.get("TTL", "")
            urgency = self.headers.get("Urgency", "normal")
            if not ttl.isdigit() or urgency not in ("very-low", "low", "normal", "high"):
                return self._answer(token, 400)
            if self.headers.get("Content-Encoding") != "aes128gcm":
                return self._answer(token, 415)
            try:
                claims = service.check_vapid(self.headers.get("Authorization", ""))
            except (ValueError, KeyError):
                return self._answer(token, 401)
            try:
                plain = browser.decrypt(body)
            except (ValueError, InvalidTag):
                return self._answer(token, 400)
            with service.lock:
                service.received.append(
                    Received(
                        token,
                        {k.lower(): v for k, v in self.headers.items()},
                        claims,
                        json.loads(plain),
                        plain.decode(),
                    )
                )
                number = len(service.received)
            return self._answer(token, 201, f"{service.origin}/message/{number}")

    return Handler
