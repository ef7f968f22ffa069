"""The stored areas upload (no Flask here): an uploaded GeoJSON file is kept under
``upload_dir/area-uploads`` with a random name until it is applied (or swept a day later), and
named by a signed token carrying the SHA-256 of its bytes, so any web process with the same
upload folder can show the preview or apply it, and what is applied is exactly what was
previewed; reading it back checks it whole with ``portal.areas.loader.read_areas``.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from itsdangerous import BadData, TimestampSigner, URLSafeTimedSerializer

from portal.areas.loader import read_areas
from portal.core import clock

#: The largest areas file taken (a city's boundaries are a few hundred kilobytes).
FILE_MAX = 10 * 1024 * 1024
#: An upload can be previewed and applied for this long; then it is swept.
UPLOAD_MAX_AGE = 24 * 3600
FOLDER = "area-uploads"
_KEY_RE = re.compile(r"^[0-9a-f]{32}\.geojson$")
_SALT = "areas-upload"


class UploadError(ValueError):
    """An upload that cannot be used. ``code``: empty, too_large, gone."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class Upload:
    """A stored areas file: its storage key, the SHA-256 of its bytes, its original name."""

    key: str
    sha256: str
    filename: str = ""


def _folder(upload_dir: str | Path) -> Path:
    return Path(upload_dir) / FOLDER


def upload_path(upload_dir: str | Path, key: str) -> Path:
    """Where a stored upload lives; ``UploadError("gone")`` for a key we never made."""
    if not _KEY_RE.match(key or ""):
        raise UploadError("gone")
    return _folder(upload_dir) / key


def store_upload(stream: BinaryIO, *, upload_dir: str | Path, filename: str = "") -> Upload:
    """Keep the uploaded bytes under a random name (``UploadError`` when empty or too large).
    Uploads older than ``UPLOAD_MAX_AGE`` are swept on the way."""
    data = stream.read(FILE_MAX + 1)
    if not data:
        raise UploadError("empty")
    if len(data) > FILE_MAX:
        raise UploadError("too_large")
    folder = _folder(upload_dir)
    folder.mkdir(parents=True, exist_ok=True)
    sweep_uploads(upload_dir)
    key = f"{secrets.token_hex(16)}.geojson"
    temporary = folder / f".{key}.part"
    temporary.write_bytes(data)
    os.replace(temporary, folder / key)
    return Upload(key, hashlib.sha256(data).hexdigest(), (filename or "")[:200])


def read_upload(upload: Upload, *, upload_dir: str | Path) -> list[dict[str, Any]]:
    """The stored file's areas (``read_areas``: raises ``AreaError`` with every problem);
    ``UploadError("gone")`` when it was swept or is not the file that was uploaded."""
    path = upload_path(upload_dir, upload.key)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UploadError("gone") from exc
    if hashlib.sha256(data).hexdigest() != upload.sha256:
        raise UploadError("gone")
    return read_areas(path)


def discard_upload(upload: Upload, *, upload_dir: str | Path) -> None:
    with contextlib.suppress(UploadError, OSError):
        upload_path(upload_dir, upload.key).unlink(missing_ok=True)


def sweep_uploads(upload_dir: str | Path, *, max_age: int = UPLOAD_MAX_AGE) -> int:
    """Remove uploads (and half-written files) older than ``max_age`` seconds."""
    folder = _folder(upload_dir)
    cutoff = time.time() - max_age
    removed = 0
    # glob("*") also lists dot files: the half-written ``.<key>.part`` of a failed upload.
    for path in folder.glob("*") if folder.is_dir() else ():
        try:
            if path.is_file() and path.stat().st_mtime < cutoff:
                path.unlink()
                removed += 1
        except OSError:
            continue
    return removed


class _ClockSigner(TimestampSigner):
    """Timestamps from ``portal.core.clock`` so tests can move time."""

    def get_timestamp(self) -> int:
        return int(clock.now().timestamp())


def _serializer(secret_key: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt=_SALT, signer=_ClockSigner)


def sign_upload(secret_key: str, upload: Upload) -> str:
    """The token the preview and apply pages carry (it names the file and its digest)."""
    return _serializer(secret_key).dumps([upload.key, upload.sha256, upload.filename])


def unsign_upload(secret_key: str, token: str | None) -> Upload:
    """The upload a token names; ``UploadError("gone")`` when forged, garbled or expired."""
    if not token or len(token) > 2000:
        raise UploadError("gone")
    try:
        key, sha256, filename = _serializer(secret_key).loads(token, max_age=UPLOAD_MAX_AGE)
    except (BadData, ValueError, TypeError) as exc:
        raise UploadError("gone") from exc
    if not all(isinstance(v, str) for v in (key, sha256, filename)):
        raise UploadError("gone")
    return Upload(key, sha256, filename)
