"""Error pages in the portal's layout (JSON for JSON clients; an API's own error format under
its URLs, see ``answer_in_own_format``), each with the request's reference (its X-Request-ID).

When the database is away (``portal.core.outage.database_unavailable``: the server is down or
dropped the connection, SQLite's file is locked) every request answers 503 with
``Retry-After`` instead of a 500, the outage is logged once (``portal.observability.OutageLog``)
rather than a traceback per request, and the next request after it is back works: the failed
session was rolled back and closed, PostgreSQL's pool pings each connection it hands out and
discards the dead ones.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask, current_app, g, make_response, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from markupsafe import escape
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from werkzeug.exceptions import HTTPException, InternalServerError, ServiceUnavailable

from portal.core.outage import database_unavailable
from portal.observability import current_request_id, outage

#: Seconds a client is asked to wait before trying again while the database is away.
RETRY_AFTER_SECONDS = 30

#: An API's own error format: how it answers any HTTP error under its URL prefix.
ApiErrors = Callable[[HTTPException], Any]
_API_ERRORS = "portal.api_errors"


def answer_in_own_format(app: Flask, prefix: str, respond: ApiErrors) -> None:
    """Errors under ``prefix`` (an API's URLs) answer with ``respond(error)`` rather than a
    page; create_app registers the Open311 API's (``portal.open311.views.api``)."""
    app.extensions.setdefault(_API_ERRORS, {})[prefix] = respond


def _api_errors() -> ApiErrors | None:
    """The error format of the API this request is under, if any."""
    for prefix, respond in current_app.extensions.get(_API_ERRORS, {}).items():
        if request.path.startswith(prefix):
            return respond
    return None


def _messages() -> dict[int, tuple[str, str]]:
    return {
        400: (
            _("Something was wrong with that request"),
            _("The page could not understand what was sent. Go back and try again."),
        ),
        403: (
            _("You do not have access to this page"),
            _("Sign in with an account that may see it, or go back."),
        ),
        404: (
            _("Page not found"),
            _("We could not find that page or request. Check the address or reference."),
        ),
        405: (_("That action is not allowed here"), _("Go back and use the form on the page.")),
        413: (
            _("The upload is too large"),
            _("Each photo must be 10 MB or smaller. Choose a smaller file and try again."),
        ),
        429: (_("Too many attempts"), _("Please wait a minute and try again.")),
        500: (
            _("Sorry, something went wrong on our side"),
            _("The problem has been recorded. Please try again in a few minutes."),
        ),
        503: (_("The service is temporarily unavailable"), _("Please try again shortly.")),
    }


def _render(code: int, detail: str | None = None):
    title, body = _messages().get(code, _messages()[500] if code >= 500 else _messages()[400])
    reference = current_request_id()
    if request.accept_mimetypes.best == "application/json":
        return {"error": {"code": code, "message": detail or title, "request_id": reference}}, code
    return render_template(
        "errors/error.html", code=code, title=title, body=body, detail=detail, reference=reference
    ), code


def unavailable(error: BaseException) -> Any:
    """The 503 for a database outage (``error``), in the format the client asked for, with
    ``Retry-After``; the outage is logged once, not per request."""
    outage(current_app).failed(error)
    # The page must not touch the database again: the signed-in user (loaded, or failing to
    # load, from it) becomes anonymous for the error page.
    g._login_user = current_app.login_manager.anonymous_user()  # type: ignore[attr-defined]
    api_errors = _api_errors()
    if api_errors is not None:
        response = api_errors(ServiceUnavailable())
    else:
        try:
            response = make_response(_render(503))
        except Exception:  # noqa: BLE001 - the layout needed something that is away too
            response = make_response((_bare_503(), 503))
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def _bare_503() -> str:
    title, body = _messages()[503]
    reference = escape(current_request_id() or "")
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title></head><body><main><h1>{escape(title)}</h1>"
        f"<p>{escape(body)}</p><p>{escape(_('Reference: %(id)s', id=reference))}</p>"
        f"</main></body></html>"
    )


def _database(error: Exception):
    if database_unavailable(error):
        return unavailable(error)
    return _unexpected(error)


def _csrf(error: CSRFError):
    api_errors = _api_errors()
    if api_errors is not None:
        return api_errors(error)
    return _render(
        400,
        _(
            "Your form expired or was sent from another site (the security token was "
            "missing or wrong). Go back, reload the page and send it again."
        ),
    )


def _http(error: HTTPException):
    original = getattr(error, "original_exception", None)
    if isinstance(error, InternalServerError) and database_unavailable(original):
        assert original is not None
        return unavailable(original)
    api_errors = _api_errors()
    if api_errors is not None:
        return api_errors(error)
    code = error.code or 500
    detail = None
    if code in (400, 404) and error.description and getattr(error, "portal_message", False):
        detail = error.description
    return _render(code, detail)


def _unexpected(error: Exception):
    if database_unavailable(error):
        return unavailable(error)
    current_app.logger.exception("Unhandled error: %s", error)
    api_errors = _api_errors()
    if api_errors is not None:
        return api_errors(InternalServerError())
    return _render(500)


def init_app(app: Flask) -> None:
    flask_log_exception = app.log_exception

    def log_exception(exc_info: Any) -> None:
        # An error escaping the after-request commit reaches Flask's handle_exception, which
        # logs a traceback before calling the handlers: an outage is logged by OutageLog.
        if not database_unavailable(exc_info[1]):
            flask_log_exception(exc_info)

    app.log_exception = log_exception  # type: ignore[method-assign]
    for database_error in (DBAPIError, DisconnectionError, PoolTimeoutError):
        app.register_error_handler(database_error, _database)
    app.register_error_handler(CSRFError, _csrf)
    app.register_error_handler(HTTPException, _http)
    app.register_error_handler(Exception, _unexpected)
