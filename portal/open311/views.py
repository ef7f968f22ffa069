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
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from portal.extensions import limiter
from portal.open311.formats import FORMATS, ApiError, error_response, render

bp = Blueprint("open311", __name__, url_prefix="/open311/v2")

#: Anonymous reads, per address.
READ_LIMIT = "300/minute"
#: The date of this API version's last change, for discovery's changeset.
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
    expected = current_app.extensions["portal.settings"].open311_jurisdiction
    if jurisdiction is not None and jurisdiction != expected:
        raise ApiError(404, f"Unknown jurisdiction_id '{jurisdiction}'; this server serves "
                            f"'{expected}'.")


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


def http_error_response(error: HTTPException) -> Response:
    """Any HTTP error under /open311/ as an Open311 error collection."""
    code = error.code or 500
    if code >= 500:
        return error_response(requested_format(), ApiError(
            500, "The server could not answer. Try again later."))
    description = HTTP_DESCRIPTIONS.get(code) or HTTP_DESCRIPTIONS[400]
    if isinstance(error, CSRFError):
        description = "Send an api_key; this resource does not use browser forms."
    response = error_response(requested_format(), ApiError(
        code if code in HTTP_DESCRIPTIONS else 400, description))
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
    current_app.logger.exception("Unhandled Open311 error: %s", error)
    return error_response(requested_format(), ApiError(
        500, "The server could not answer. Try again later."))


@bp.get("/discovery.<fmt>")
@limiter.limit(READ_LIMIT)
def discovery(fmt: str) -> Response:
    fmt = _format(fmt)
    settings = current_app.extensions["portal.settings"]
    document = {
        "changeset": CHANGESET,
        "contact": settings.open311_contact,
        "key_service": settings.open311_key_service,
        "endpoints": [{
            "specification": SPECIFICATION,
            "url": settings.base_url + "/open311/v2",
            "changeset": CHANGESET,
            "type": "production",
            "formats": ["text/xml", "application/json"],
        }],
    }
    return render(fmt, "discovery", None, document)
