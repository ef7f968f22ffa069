"""Idempotency-Key for Open311 POST requests (no Flask): what makes two posts "the same".

A client retrying a POST sends the same ``Idempotency-Key`` header with each attempt; the keys
live in ``portal.core.idempotency`` under the scope ``open311:<api key id>`` (two apps never
share keys). The fingerprint covers every posted field except ``api_key`` (the scope already
names the key) and every uploaded file: its form field, its name and the sha256 of its
content, so a retry with another photo is a different submission (a 409), not a replay.
"""

from __future__ import annotations

import hashlib

from portal.core import idempotency
from portal.open311.posting import FormData, Upload

CHUNK = 1 << 16


def scope(api_key_id: int) -> str:
    return f"open311:{api_key_id}"


def _content_digest(upload: Upload) -> str:
    """The sha256 of an upload's content; the stream is rewound for the filing to read."""
    digest = hashlib.sha256()
    stream = upload.stream
    stream.seek(0)
    while chunk := stream.read(CHUNK):
        digest.update(chunk)
    stream.seek(0)
    return digest.hexdigest()


def fingerprint(form: FormData, uploads: list[Upload]) -> str:
    """The sha256 of the posted fields (each with all its values, in order) and files."""
    fields = {name: form.getlist(name) for name in sorted(set(form)) if name != "api_key"}
    files = [[u.field, u.filename, _content_digest(u)] for u in uploads]
    return idempotency.fingerprint({"fields": fields, "files": files})
