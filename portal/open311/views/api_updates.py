"""FixMyStreet's ``servicerequestupdates`` extension on the Open311 API: an app reads the public
updates of requests and posts the reporter's reply, so it is a full channel.

- ``GET servicerequestupdates.{xml,json}``: updates in a ``start_date``/``end_date`` window
  (default the last day, at most 31 days), oldest first, ``page``/``page_size``
  (``portal.open311.updates``). Root ``service_requests_updates``, items ``request_update``.
- ``GET requests/{service_request_id}/updates.{xml,json}``: the same items for one request.
- ``POST servicerequestupdates.{xml,json}``: ``api_key`` and the reporter's ``token`` for
  ``service_request_id``, ``description`` (required), optional ``status=open`` to reopen a
  resolved request, ``update_id`` (the client's own id: a retry returns the same update),
  ``media_url`` and photos as multipart files. Answers 201 with
  ``service_request_updates/request_update/update_id`` (200 for a retried ``update_id``);
  403 for a wrong token, 400 for an empty text, 409 when the request is closed for replies.
  FixMyStreet's ``email``, ``first_name``, ``last_name``, ``updated_datetime`` and
  ``account_id`` are accepted and not used: the token says who the reporter is, and the
  portal stamps its own time.

A request that is not public is read only with the api_key that filed it.
"""

from __future__ import annotations

from flask import Response, request
from flask_limiter.util import get_remote_address
from sqlalchemy.orm.exc import StaleDataError

from portal.core import clock
from portal.extensions import csrf, limiter
from portal.open311 import keys
from portal.open311 import updates as app_updates
from portal.open311.models import ApiKey
from portal.open311.posting import value
from portal.open311.views.api import bp, check_jurisdiction, read_limit
from portal.open311.views.api_formats import FORMATS, ApiError, render
from portal.open311.views.api_limits import caller_key, raw_key
from portal.open311.views.api_post import KEYLESS_LIMIT, _uploads
from portal.web import db_session, settings

LIST_ROOT = "service_requests_updates"
POST_ROOT = "service_request_updates"
ITEM = "request_update"


def _format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise ApiError(404, f"Unknown format '{fmt}': use .xml or .json.")
    return fmt


def _reader() -> ApiKey | None:
    """The reader's key when one is sent (a wrong one is a 403), else None."""
    if raw_key() is None:
        return None
    key = caller_key()
    if key is None:
        raise ApiError(403, "api_key is not valid (unknown or revoked).")
    return key


@bp.get("/servicerequestupdates.<fmt>")
@read_limit
def request_updates_list(fmt: str) -> Response:
    fmt = _format(fmt)
    check_jurisdiction(request.args)
    key = _reader()
    try:
        query = app_updates.parse_query(request.args, now=clock.now())
    except app_updates.UpdatesError as exc:
        raise ApiError(exc.status, *exc.descriptions) from exc
    session = db_session()
    found = app_updates.list_updates(session, query, api_key=key)
    rows = app_updates.update_rows(session, found, settings=settings())
    return render(fmt, LIST_ROOT, ITEM, rows)


@bp.get("/requests/<service_request_id>/updates.<fmt>")
@read_limit
def request_updates(service_request_id: str, fmt: str) -> Response:
    fmt = _format(fmt)
    check_jurisdiction(request.args)
    key = _reader()
    session = db_session()
    sr = app_updates.find_request(session, service_request_id, settings=settings(), api_key=key)
    if sr is None:
        raise ApiError(404, f"No service request '{service_request_id[:40]}'.")
    rows = app_updates.update_rows(
        session, app_updates.request_updates(session, sr), settings=settings()
    )
    return render(fmt, LIST_ROOT, ITEM, rows)


def _rate() -> str:
    key = caller_key()
    return key.rate_limit if key is not None else KEYLESS_LIMIT


def _rate_key() -> str:
    key = caller_key()
    return f"open311-key:{key.id}" if key is not None else f"open311-ip:{get_remote_address()}"


def _refused(key_id: int, error: ApiError) -> ApiError:
    """Undo whatever the refused reply wrote and count the call on its own."""
    session = db_session()
    session.rollback()
    keys.record_use(session, key_id, filed=False, now=clock.now())
    session.commit()
    return error


@bp.post("/servicerequestupdates.<fmt>")
@csrf.exempt
@limiter.limit(_rate, key_func=_rate_key)
def post_request_update(fmt: str) -> Response:
    fmt = _format(fmt)
    check_jurisdiction(request.values)
    if raw_key() is None:
        raise ApiError(
            403, "api_key was not provided: POST servicerequestupdates needs an API key."
        )
    key = caller_key()
    if key is None:
        raise ApiError(403, "api_key is not valid (unknown or revoked).")
    key_id = key.id
    session = db_session()
    reference = value(request.form, "service_request_id")
    if reference is None:
        raise _refused(key_id, ApiError(400, "service_request_id was not provided."))
    sr = app_updates.find_request(session, reference, settings=settings(), api_key=key, any_=True)
    if sr is None:
        raise _refused(key_id, ApiError(404, f"No service request '{reference[:40]}'."))
    if not app_updates.token_matches(sr, value(request.form, "token")):
        raise _refused(
            key_id,
            ApiError(
                403,
                "token is missing or is not the reporter's token for this request (the token "
                "POST requests answered with, or the one in the private tracking link).",
            ),
        )
    try:
        reply = app_updates.parse_reply(request.form)
        photos = app_updates.store_uploads(_uploads(), settings=settings())
    except app_updates.UpdatesError as exc:
        raise _refused(key_id, ApiError(exc.status, *exc.descriptions)) from exc
    try:
        event, created = app_updates.post_reply(
            session, settings=settings(), request=sr, reply=reply, api_key=key, photos=photos
        )
        keys.record_use(session, key_id, filed=False, now=clock.now())
        session.flush()
    except app_updates.UpdatesError as exc:
        app_updates.cleanup(settings(), photos)
        raise _refused(key_id, ApiError(exc.status, *exc.descriptions)) from exc
    except StaleDataError as exc:
        app_updates.cleanup(settings(), photos)
        raise _refused(
            key_id, ApiError(409, "The request changed meanwhile; send the reply again.")
        ) from exc
    if not created:
        app_updates.cleanup(settings(), photos)
    return render(
        fmt, POST_ROOT, ITEM, [{"update_id": str(event.id)}], status=201 if created else 200
    )
