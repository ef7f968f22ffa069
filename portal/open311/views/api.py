"""The Open311 GeoReport v2 read API under ``/open311/v2/``: discovery, services, service
definitions, request lists, one request, tokens. The format is chosen only by the suffix
(``.xml`` or ``.json``); anything else is a 404 answered in XML, the spec's required format.

Every error under ``/open311/`` is the spec's error collection in the requested format, never
an HTML page: the blueprint's handlers cover errors raised in its views, and
``portal.errors`` answers the same way for paths that match no route (404, 405).
"""

from __future__ import annotations

from collections.abc import Mapping

from flask import Blueprint, Response, current_app, request
from flask_wtf.csrf import CSRFError
from sqlalchemy.orm import Session
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from portal.core import clock
from portal.core.outage import database_unavailable
from portal.errors import unavailable
from portal.i18n import current_locale
from portal.observability import current_request_id
from portal.open311 import freshness, keys, queries, serialize
from portal.open311.views.api_formats import FORMATS, ApiError, error_response, render, w3c
from portal.open311.views.api_limits import read_limit  # per API key or per address
from portal.requests.models import ServiceRequest
from portal.web import db_session
from portal.web import settings as current_settings

bp = Blueprint("open311_api", __name__, url_prefix="/open311/v2")

#: Discovery's changeset when the catalogue's last change is not known.
CHANGESET = "2026-01-15T00:00:00Z"
SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"

HTTP_DESCRIPTIONS = {
    400: "The request could not be understood.",
    403: "A valid api_key is required.",
    404: "No such resource. Resources end in .xml or .json.",
    405: "This method is not allowed on this resource.",
    413: "The request body is too large.",
    415: "Unsupported media type.",
    429: "Too many requests. Wait a minute and try again.",
}
SERVER_ERROR = "The server could not answer. Try again later."
UNAVAILABLE = "The service is temporarily unavailable. Try again shortly."


def param(args: Mapping[str, str], name: str) -> str | None:
    """A parameter's value, with an empty (or blank) value treated exactly as an absent one."""
    value = args.get(name)
    if value is None or not value.strip():
        return None
    return value.strip()


def check_jurisdiction(args: Mapping[str, str]) -> None:
    """``jurisdiction_id`` may be omitted (or empty); otherwise it must be this city's.
    Raises ``ApiError(404)`` for any other value."""
    jurisdiction = param(args, "jurisdiction_id")
    expected = current_settings().open311_jurisdiction
    if jurisdiction is not None and jurisdiction != expected:
        raise ApiError(
            404, f"Unknown jurisdiction_id '{jurisdiction}'; this server serves '{expected}'."
        )


def requested_format(path: str | None = None) -> str:
    """The format a response (an error too) is wanted in: the path's suffix when it is one we
    serve, else XML."""
    path = request.path if path is None else path
    suffix = path.rsplit(".", 1)[-1] if "." in path.rsplit("/", 1)[-1] else ""
    return suffix if suffix in FORMATS else "xml"


def _format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise ApiError(404, f"Unknown format '{fmt}': use .xml or .json.")
    return fmt


def _referenced(description: str) -> str:
    """A server error's description with the request's reference (its X-Request-ID)."""
    reference = current_request_id()
    return f"{description} Reference: {reference}" if reference else description


def http_error_response(error: HTTPException) -> Response:
    """Any HTTP error under /open311/ as an Open311 error collection; a server error's
    description carries the request's reference, and an outage of the database is a 503
    (``portal.errors.unavailable`` adds ``Retry-After``)."""
    code = error.code or 500
    original = getattr(error, "original_exception", None)
    if code >= 500 and code != 503 and database_unavailable(original):
        assert original is not None
        return unavailable(original)
    if code == 503:
        return error_response(requested_format(), ApiError(503, _referenced(UNAVAILABLE)))
    if code >= 500:
        return error_response(requested_format(), ApiError(500, _referenced(SERVER_ERROR)))
    description = HTTP_DESCRIPTIONS.get(code) or HTTP_DESCRIPTIONS[400]
    if isinstance(error, CSRFError):
        description = "Send an api_key; this resource does not use browser forms."
    response = error_response(
        requested_format(), ApiError(code if code in HTTP_DESCRIPTIONS else 400, description)
    )
    if isinstance(error, MethodNotAllowed) and error.valid_methods:
        response.headers["Allow"] = ", ".join(error.valid_methods)
    return response


@bp.errorhandler(ApiError)
def _api_error(error: ApiError) -> Response:
    return error_response(requested_format(), error)


@bp.errorhandler(HTTPException)
def _http_error(error: HTTPException) -> Response:
    return http_error_response(error)


@bp.errorhandler(Exception)
def _unexpected(error: Exception) -> Response:
    if database_unavailable(error):
        return unavailable(error)
    current_app.logger.exception("Unhandled Open311 error: %s", error)
    return error_response(requested_format(), ApiError(500, _referenced(SERVER_ERROR)))


@bp.get("/discovery.<fmt>")
@read_limit
def discovery(fmt: str) -> Response:
    fmt = _format(fmt)
    settings = current_settings()
    changed = freshness.catalogue_changed_at(db_session())
    changeset = w3c(changed) if changed is not None else CHANGESET
    document = {
        "changeset": changeset,
        "contact": settings.open311_contact,
        "key_service": settings.open311_key_service,
        "endpoints": [
            {
                "specification": SPECIFICATION,
                "url": settings.base_url + "/open311/v2",
                "changeset": changeset,
                "type": "production",
                "formats": ["text/xml", "application/json"],
            }
        ],
    }
    return render(fmt, "discovery", None, document)


def _locale() -> str:
    return current_locale()


def _extensions(args: Mapping[str, str], problems: list[str]) -> bool:
    raw = param(args, "extensions")
    if raw is None or raw.lower() == "false":
        return False
    if raw.lower() == "true":
        return True
    problems.append(f"extensions must be true or false; got '{raw[:40]}'.")
    return False


def _rows(session: Session, found: list[ServiceRequest], *, extensions: bool) -> list[dict]:
    settings = current_settings()
    extras = queries.row_extras(session, found, extensions=extensions)
    locale = _locale()
    return [
        serialize.request_row(
            sr,
            settings=settings,
            extensions=extensions,
            notes=extras[sr.id].notes,
            status_notes=extras[sr.id].status_notes,
            photo_ids=extras[sr.id].photo_ids,
            locale=locale,
        )
        for sr in found
    ]


@bp.get("/services.<fmt>")
@read_limit
def services(fmt: str) -> Response:
    fmt = _format(fmt)
    check_jurisdiction(request.args)
    locale = _locale()
    rows = [serialize.service_row(c, locale) for c in queries.active_services(db_session())]
    return render(fmt, "services", "service", rows)


@bp.get("/services/<service_code>.<fmt>")
@read_limit
def service_definition(service_code: str, fmt: str) -> Response:
    fmt = _format(fmt)
    check_jurisdiction(request.args)
    category = queries.active_service(db_session(), service_code)
    if category is None:
        raise ApiError(404, f"Unknown service_code '{service_code[:40]}'.")
    return render(
        fmt, "service_definition", None, serialize.service_definition(category, _locale())
    )


@bp.get("/requests.<fmt>")
@read_limit
def request_list(fmt: str) -> Response:
    fmt = _format(fmt)
    check_jurisdiction(request.args)
    session = db_session()
    settings = current_settings()
    problems: list[str] = []
    extensions = _extensions(request.args, problems)
    try:
        query = queries.parse_filter(
            session, request.args, now=clock.now(), reference_prefix=settings.reference_prefix
        )
    except queries.FilterError as error:
        problems.extend(error.problems)
    if problems:
        raise ApiError(400, *problems)
    found = queries.list_requests(session, query)
    return render(fmt, "service_requests", "request", _rows(session, found, extensions=extensions))


@bp.get("/requests/<service_request_id>.<fmt>")
@read_limit
def request_detail(service_request_id: str, fmt: str) -> Response:
    fmt = _format(fmt)
    check_jurisdiction(request.args)
    problems: list[str] = []
    extensions = _extensions(request.args, problems)
    if problems:
        raise ApiError(400, *problems)
    session = db_session()
    settings = current_settings()
    sr = queries.public_request(
        session, service_request_id, reference_prefix=settings.reference_prefix
    ) or keys.filed_with_key(
        session,
        service_request_id,
        request.args.get("api_key") or request.headers.get("X-Api-Key"),
        reference_prefix=settings.reference_prefix,
    )
    if sr is None:
        raise ApiError(404, f"No service request '{service_request_id[:40]}'.")
    return render(fmt, "service_requests", "request", _rows(session, [sr], extensions=extensions))


@bp.get("/tokens/<token>.<fmt>")
@read_limit
def token(token: str, fmt: str) -> Response:
    fmt = _format(fmt)
    check_jurisdiction(request.args)
    sr = queries.request_by_token(db_session(), token)
    if sr is None or not sr.reference:
        raise ApiError(404, f"No service request for token '{token[:40]}'.")
    return render(
        fmt,
        "service_requests",
        "request",
        [{"service_request_id": sr.reference, "token": sr.api_token}],
    )
