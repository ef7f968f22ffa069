"""HTTP around the Open311 API's answers, as hooks on its blueprint (the views stay as they
are): CORS, validators with 304s, ``Vary``, and a clear refusal of bodies the API does not
take. Compression is app-wide (Flask-Compress, ``portal.app``); no cookie is ever set on
``/open311/`` (``portal.web.COOKIELESS_PREFIXES``).

CORS, own code rather than Flask-CORS: Flask-CORS takes one list of origins per resource,
while here a POST's allowed origins are those of the API key sent in its body.
- Reads (GET, HEAD) from an origin on the city's list (``PORTAL_OPEN311_CORS_ORIGINS``, ``*``
  for any) or on the list of the key the read sends (``api_key`` or ``X-Api-Key``).
- POST from the origins of the key it sends only (in its body, the query or ``X-Api-Key``:
  the key its view files with). A POST from any other foreign origin is a
  403 and writes nothing (a plain form POST needs no preflight, so this is checked on the POST
  itself). Its answer still lets the page read the error when the origin is one some key or
  the city lists.
- A preflight cannot know the key (a POST's is in its body or headers): it is allowed for an
  origin on the city's list or on any active key's.
The origin is echoed, never ``*``, with ``Vary: Origin``; no credentials (the API has none).

Validators: every successful read gets an ``ETag`` (the sha1 of the rendered body, so it
changes with anything in it: a request, a service, the language, the format) and, where the
last change is known, ``Last-Modified``; ``If-None-Match`` / ``If-Modified-Since`` then answer
304. ``Cache-Control: no-cache`` makes clients revalidate rather than guess freshness.
"""

from __future__ import annotations

from flask import Response, current_app, g, request
from werkzeug.datastructures import HeaderSet

from portal.core.outage import database_unavailable
from portal.open311 import freshness, keys, origins
from portal.open311.models import ApiKey
from portal.open311.views.api import bp, requested_format
from portal.open311.views.api_formats import ApiError, error_response
from portal.open311.views.api_limits import caller_key
from portal.web import db_session, settings

#: How long a browser may keep a preflight's answer (a key's new origin applies after that).
PREFLIGHT_MAX_AGE = 600
ALLOW_HEADERS = (
    "Content-Type",
    "Idempotency-Key",
    "X-Api-Key",
    "If-None-Match",
    "If-Modified-Since",
    "Accept-Language",
)
EXPOSE_HEADERS = (
    "ETag",
    "Last-Modified",
    "Retry-After",
    "Location",
    "RateLimit",
    "RateLimit-Policy",
    "X-RateLimit-Limit",
    "X-RateLimit-Remaining",
    "X-RateLimit-Reset",
    "X-Request-ID",
)
#: What a POST body may be: the spec's form fields, with photos as multipart parts.
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
#: Reads whose last change is known: the catalogue's, and the requests' too for these.
CATALOGUE_READS = {
    "open311_api.discovery",
    "open311_api.services",
    "open311_api.service_definition",
}
REQUEST_READS = {"open311_api.request_list", "open311_api.request_detail"}
#: The POSTs (a request, a reply to one): checked for their body type and origin first.
POST_ENDPOINTS = frozenset(
    {
        "open311_api.post_request",
        "open311_api.post_request_update",
        "open311_api.post_request_survey",
    }
)
_UNSET = object()


def _origin() -> str | None:
    """The request's ``Origin`` as a browser sends it, or None (absent, ``null`` or not an
    origin)."""
    raw = request.headers.get("Origin")
    if not raw or raw == "null":
        return None
    try:
        return origins.normalise(raw)
    except origins.OriginError:
        return None


def _own_origin() -> str:
    return f"{request.scheme}://{request.host}".lower()


def _city() -> tuple[str, ...]:
    try:
        return origins.city_list(settings().open311_cors_origins)
    except origins.OriginError:
        return ()


def read_key() -> ApiKey | None:
    """The active key a read sends (``api_key`` in the query, or ``X-Api-Key``), or None."""
    found = g.get("_open311_read_key", _UNSET)
    if found is _UNSET:
        raw = request.args.get("api_key") or request.headers.get("X-Api-Key")
        found = keys.find_key(db_session(), raw) if raw else None
        g._open311_read_key = found
    return found  # type: ignore[return-value]


def _post_key() -> ApiKey | None:
    """The key a POST sends, found as its view finds it (``api_key`` in the body or the
    query, or ``X-Api-Key``): the origin is checked against the key that will file."""
    return caller_key()


def _known(origin: str) -> bool:
    """On the city's list or some active key's: what a preflight can check."""
    return origins.city_allows(_city(), origin) or origins.any_key_allows(db_session(), origin)


def _preflight(origin: str) -> Response:
    if not _known(origin):
        return error_response(
            requested_format(),
            ApiError(
                403,
                f"Origin {origin} may not call this API from a browser: the city lists the "
                "origins that may read, and each API key the origins of its app.",
            ),
        )
    response = Response(status=204)
    adapter = current_app.url_map.bind_to_environ(request.environ)
    methods = sorted(set(adapter.allowed_methods()) - {"OPTIONS"})
    response.headers["Access-Control-Allow-Origin"] = origin
    response.headers["Access-Control-Allow-Methods"] = ", ".join(methods)
    response.headers["Access-Control-Allow-Headers"] = ", ".join(ALLOW_HEADERS)
    response.headers["Access-Control-Max-Age"] = str(PREFLIGHT_MAX_AGE)
    return response


def _check_post(origin: str | None) -> None:
    """A POST's body type, then (from a foreign origin) whether its key allows the origin."""
    mimetype = request.mimetype
    if mimetype and mimetype not in FORM_TYPES:
        raise ApiError(
            415,
            f"A POST takes form fields (application/x-www-form-urlencoded, or "
            f"multipart/form-data with photos), not {mimetype[:60]}: send api_key, "
            "service_code (or service_request_id) and the other fields as form fields.",
        )
    if origin is None or origin == _own_origin():
        return
    key = _post_key()
    if key is None:
        return  # the view answers: no key, or not a valid one (403)
    if not origins.key_allows(key, origin):
        g._open311_origin_refused = True
        raise ApiError(
            403,
            f"Origin {origin} is not registered on this api_key: a city administrator adds "
            "the app's origins to its key. Nothing was written.",
        )


@bp.before_request
def _before() -> Response | None:
    origin = _origin()
    if (
        request.method == "OPTIONS"
        and origin is not None
        and request.headers.get("Access-Control-Request-Method")
    ):
        return _preflight(origin)
    if request.method == "POST" and request.endpoint in POST_ENDPOINTS:
        _check_post(origin)
    return None


def _cors_allowed(origin: str) -> bool:
    if request.method == "POST":
        if g.get("_open311_origin_refused"):
            return _known(origin)
        return origins.key_allows(_post_key(), origin)
    return origins.city_allows(_city(), origin) or origins.key_allows(read_key(), origin)


def _add_cors(response: Response) -> None:
    origin = _origin()
    if origin is None or origin == _own_origin():
        return
    if response.headers.get("Access-Control-Allow-Origin"):
        return  # a preflight's answer
    try:
        allowed = _cors_allowed(origin)
    except Exception as exc:  # the database is down: the answer says so, without CORS
        if database_unavailable(exc):
            return
        raise
    if allowed:
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Expose-Headers"] = ", ".join(EXPOSE_HEADERS)


def _add_validators(response: Response) -> Response:
    if request.method not in ("GET", "HEAD") or response.status_code != 200:
        return response
    if response.is_streamed:
        return response
    if not response.get_etag()[0]:
        response.add_etag()
    endpoint = request.endpoint or ""
    if endpoint in CATALOGUE_READS or endpoint in REQUEST_READS:
        changed = freshness.reads_changed_at(db_session(), with_requests=endpoint in REQUEST_READS)
        if changed is not None:
            response.last_modified = changed
    if response.cache_control.max_age is None:
        response.cache_control.no_cache = True
    return response.make_conditional(request)


def _vary(response: Response, *names: str) -> None:
    vary: HeaderSet = response.vary
    for name in names:
        vary.add(name)


@bp.after_request
def _after(response: Response) -> Response:
    _vary(response, "Origin", "Accept-Language")
    if request.method == "OPTIONS":
        _vary(response, "Access-Control-Request-Method", "Access-Control-Request-Headers")
    _add_cors(response)
    return _add_validators(response)
