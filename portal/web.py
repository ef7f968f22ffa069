"""Per-request plumbing shared by the views: the database session and small helpers.

One session per request; it commits once after a 2xx/3xx response and rolls back otherwise.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, abort, current_app, g, request, send_file, session
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from portal.core.config import Settings, tiles_origin
from portal.core.db import Database

WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
#: Paths whose answers never set a cookie (neither the session nor the language): the API's.
COOKIELESS_PREFIXES = ("/open311/",)


def cookieless() -> bool:
    """Whether the current request's answer must not set a cookie."""
    return request.path.startswith(COOKIELESS_PREFIXES)


#: Scripts, styles and images only from the portal itself (USWDS icons are data: URIs).
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "font-src 'self'; frame-src 'self'; frame-ancestors 'self'; form-action 'self'; "
    "base-uri 'self'; object-src 'none'"
)


def content_security_policy(settings: Settings) -> str:
    """The policy, with the basemap's tile host among the image sources when one is set."""
    policy = CONTENT_SECURITY_POLICY
    origin = tiles_origin(settings.map_tiles_url)
    if origin:
        policy = policy.replace("img-src 'self' data:", f"img-src 'self' data: {origin}")
    if settings.sso_enabled:
        # Signing out goes on to the single sign-on provider's logout (a form's redirect).
        parts = urlsplit(settings.sso_issuer)
        policy = policy.replace(
            "form-action 'self'", f"form-action 'self' {parts.scheme}://{parts.netloc}"
        )
    return policy


#: Signing in again at the city's provider passed (portal.auth.views.oidc, to confirm
#: deleting the account without a password): ``{"u": user id, "at": Unix seconds}``.
REAUTHENTICATED_KEY = "sso_reauthenticated"


def reauthenticated_at(user_id: int) -> datetime | None:
    """When this browser's person signed in again at the provider as ``user_id``, if so."""
    done = session.get(REAUTHENTICATED_KEY)
    if not isinstance(done, dict) or done.get("u") != user_id:
        return None
    at = done.get("at")
    return datetime.fromtimestamp(at, tz=UTC) if isinstance(at, int) else None


def database() -> Database:
    return current_app.extensions["portal.db"]


def settings() -> Settings:
    """The settings with the city's profile on top (``portal.city.profile``)."""
    return current_app.extensions["portal.city"].settings()


def db_session() -> Session:
    """The request's session, opened on first use (a write session for POST and friends)."""
    session = g.get("_db_session")
    if session is None:
        session = database().session(write=request.method in WRITE_METHODS)
        g._db_session = session
    return session


def send_photo(storage_key: str, *, max_age: int = 0) -> Any:
    """A stored (re-encoded) photo as image/jpeg, cacheable only by this browser; 404 if the
    file is gone. With ``max_age=0`` nothing may keep a copy. The request's ``?size=`` (one of
    ``portal.requests.photos.SIZES``) and ``?format=`` (``jpeg``, ``webp``) ask for a smaller
    copy, made once and kept (``rendition_path``); an unknown one is a 404. Every answer
    carries an ETag and a Last-Modified, so an expired copy is revalidated with a 304.

    The caller has already decided that this request may see the photo: every size of it is
    served through the same route, so the same check covers them all."""
    from portal.requests.photos import FORMATS, photo_path, rendition_path

    size = request.args.get("size")
    fmt = request.args.get("format", "jpeg")
    try:
        if size is None and fmt == "jpeg":
            path = photo_path(settings(), storage_key)
        else:
            path = rendition_path(settings(), storage_key, size or "", fmt)
    except (ValueError, OSError):  # no such size, the file gone or not a picture any more
        abort(404)
    if not path.is_file():
        abort(404)
    mimetype = FORMATS[fmt][1]
    response = send_file(path, mimetype=mimetype, max_age=max_age, conditional=True, etag=True)
    response.headers["Content-Disposition"] = "inline"
    response.cache_control.public = False
    response.cache_control.private = True
    if not max_age:
        response.cache_control.no_store = True
    return response


def _has_nul(values: Any) -> bool:
    return any("\x00" in value for value in values)


#: The answers whose Retry-After means something: too many requests, and the database away.
RETRY_STATUSES = frozenset({429, 503})


def _retry_after_only_when_retrying(response: Any) -> Any:
    """Flask-Limiter sets Retry-After (the window's reset) on every answer under a limit, a
    200 included, where clients and their libraries read it as "come back later"."""
    if response.status_code not in RETRY_STATUSES:
        response.headers.pop("Retry-After", None)
    return response


def init_app(app: Flask) -> None:
    # Registered before the limiter (app.py), so this runs after it.
    app.after_request(_retry_after_only_when_retrying)

    @app.before_request
    def _refuse_nul_characters() -> None:
        # PostgreSQL text cannot hold NUL, and no form needs it: refuse it at the edge with a
        # clear 400 instead of failing deep inside a query.
        if (
            "\x00" in request.path
            or _has_nul(request.args.values())
            or (
                request.method in WRITE_METHODS
                and _has_nul(v for values in request.form.listvalues() for v in values)
            )
        ):
            abort(400)

    @app.after_request
    def _security_headers(response: Any) -> Any:
        headers = response.headers
        headers.setdefault("Content-Security-Policy", content_security_policy(settings()))
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
        headers.setdefault("X-Frame-Options", "SAMEORIGIN")
        if settings().is_production:
            headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        return response

    @app.after_request
    def _commit(response: Any) -> Any:
        session: Session | None = g.pop("_db_session", None)
        if session is None:
            return response
        try:
            if response.status_code < 400:
                session.commit()
            else:
                session.rollback()
        except Exception:
            session.rollback()
            raise
        finally:
            session.close()
        return response

    @app.teardown_request
    def _close(_exc: BaseException | None) -> None:
        session: Session | None = g.pop("_db_session", None)
        if session is not None:
            session.rollback()
            session.close()


#: How long a browser or proxy may keep a map layer before asking again (the ETag then saves
#: sending it twice).
GEOJSON_MAX_AGE = 300


def geojson_response(
    data: dict[str, Any], *, private: bool = False, max_age: int = GEOJSON_MAX_AGE
) -> Response:
    """``data`` as application/geo+json with a strong ETag; 304 when the client has it."""
    body = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    response = Response(body, mimetype="application/geo+json")
    response.set_etag(hashlib.sha256(body.encode()).hexdigest()[:32])
    if private:
        response.cache_control.private = True
    else:
        response.cache_control.public = True
    response.cache_control.max_age = max_age
    return response.make_conditional(request)


def error_response(message: str, status: int = 400) -> Response:
    """A JSON API's refusal: ``{"error": message}``, never cached."""
    response = Response(json.dumps({"error": message}), status=status, mimetype="application/json")
    response.cache_control.no_store = True
    return response
