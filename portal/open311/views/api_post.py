"""Open311 ``POST requests.{xml,json}``: file a request with an API key.

The key comes from the form body or the query string; without a valid one the answer is a 403
and nothing is written. Each key has its own rate limit (a request without a valid key is
limited per address). The filing itself is ``portal.open311.posting.file_request``; the answer
is ``201 Created`` with the spec's one-entry collection (clients read the body; none we know of
needs a 200). A refused call with a valid key still counts as a use of the key.

``Idempotency-Key`` (a header, optional; ``portal.open311.idempotent``): the first POST with a
key files the request and its answer is kept 24 hours; a retry with the same key and the same
body (fields and files) gets that answer again (the same status and body, with
``Idempotent-Replayed: true``) and files nothing; the same key with another body is a 409; a
malformed key a 400. Concurrent retries meet on the key's unique constraint: one files, the
others wait for it and replay its answer. A refused POST (a 400) keeps nothing, so the key
stays free for the corrected one.
"""

from __future__ import annotations

from flask import Response, request
from flask_limiter.util import get_remote_address

from portal.core import clock, idempotency
from portal.extensions import csrf, limiter
from portal.open311 import idempotent, keys
from portal.open311.posting import PostingError, Upload, file_request
from portal.open311.views.api import bp, check_jurisdiction
from portal.open311.views.api_formats import FORMATS, ApiError, render
from portal.open311.views.api_limits import caller_key, raw_key
from portal.web import db_session, settings

#: Calls without a valid key (they all end in a 403), per address.
KEYLESS_LIMIT = "30/minute"


def _rate() -> str:
    key = caller_key()
    return key.rate_limit if key is not None else KEYLESS_LIMIT


def _rate_key() -> str:
    key = caller_key()
    return f"open311-key:{key.id}" if key is not None else f"open311-ip:{get_remote_address()}"


def _uploads() -> list[Upload]:
    uploads = []
    for name, upload in request.files.items(multi=True):
        if not upload.filename:
            # A form's empty file field: no name and no content is no photo.
            head = upload.stream.read(1)
            upload.stream.seek(0)
            if not head:
                continue
        # A multipart part may come without a name (None): it is still a file that was sent.
        uploads.append(Upload(name or "", upload.filename or "", upload.stream))
    return uploads


def _count_refused_use(key_id: int) -> None:
    """Undo whatever the refused filing wrote, then count the call on its own: the only
    thing this request commits (the 4xx answer's own rollback then finds nothing to undo)."""
    session = db_session()
    session.rollback()
    keys.record_use(session, key_id, filed=False, now=clock.now())
    session.commit()


@bp.post("/requests.<fmt>")
@csrf.exempt
@limiter.limit(_rate, key_func=_rate_key)
def post_request(fmt: str) -> Response:
    if fmt not in FORMATS:
        raise ApiError(404, f"Unknown format '{fmt}': use .xml or .json.")
    check_jurisdiction(request.values)
    if raw_key() is None:
        raise ApiError(403, "api_key was not provided: POST requests needs an API key.")
    key = caller_key()
    if key is None:
        raise ApiError(403, "api_key is not valid (unknown or revoked).")
    key_id = key.id
    uploads = _uploads()
    claimed, replay = _claim(key_id, uploads)
    if replay is not None:
        # Kept as pairs: PostgreSQL's JSONB does not keep a dict's order.
        answer = dict(replay.response.get("answer", []))
        response = render(fmt, "service_requests", "request", [answer], status=201)
        response.headers["Idempotent-Replayed"] = "true"
        return response
    try:
        posted = file_request(
            db_session(), settings=settings(), form=request.form, uploads=uploads, api_key=key
        )
    except PostingError as exc:
        _count_refused_use(key_id)
        raise ApiError(exc.status, *exc.descriptions) from exc
    answer = posted.answer()
    if claimed is not None:
        idempotency.record(
            claimed,
            status_code=201,
            response={"answer": list(answer.items())},
            result_id=posted.request.id,
        )
    return render(fmt, "service_requests", "request", [answer], status=201)


def _claim(
    key_id: int, uploads: list[Upload]
) -> tuple[idempotency.IdempotencyKey | None, idempotency.Replay | None]:
    """Claim the request's ``Idempotency-Key`` (none sent: nothing to claim). Raises
    ``ApiError`` 400 for a malformed key and 409 for a key used with another body."""
    raw = request.headers.get("Idempotency-Key")
    if raw is None:
        return None, None
    if not idempotency.valid_key(raw):
        _count_refused_use(key_id)
        raise ApiError(
            400,
            "Idempotency-Key must be 16 to 128 letters, digits, '-' or '_' (a UUID will do).",
        )
    try:
        return idempotency.claim(
            db_session(),
            scope=idempotent.scope(key_id),
            key=raw,
            owner=f"api_key:{key_id}",
            digest=idempotent.fingerprint(request.form, uploads),
            now=clock.now(),
        )
    except idempotency.KeyReused as exc:
        _count_refused_use(key_id)
        raise ApiError(
            409,
            "This Idempotency-Key was already used with a different request body; "
            "nothing was filed. Use a new key for a new request.",
        ) from exc
