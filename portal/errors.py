"""Error pages in the portal's layout (JSON for JSON clients; the Open311 error format under
/open311/)."""

from __future__ import annotations

from flask import Flask, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError


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
    if request.accept_mimetypes.best == "application/json":
        return {"error": {"code": code, "message": detail or title}}, code
    return render_template(
        "errors/error.html", code=code, title=title, body=body, detail=detail
    ), code


def _open311() -> bool:
    """Errors under /open311/ answer in the API's own error format (portal.open311.views.api)."""
    return request.path.startswith("/open311/")


def init_app(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def _csrf(error: CSRFError):
        if _open311():
            from portal.open311.views.api import http_error_response

            return http_error_response(error)
        return _render(
            400,
            _(
                "Your form expired or was sent from another site (the security token was "
                "missing or wrong). Go back, reload the page and send it again."
            ),
        )

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException):
        if _open311():
            from portal.open311.views.api import http_error_response

            return http_error_response(error)
        code = error.code or 500
        detail = None
        if code in (400, 404) and error.description and getattr(error, "portal_message", False):
            detail = error.description
        return _render(code, detail)

    @app.errorhandler(Exception)
    def _unexpected(error: Exception):
        app.logger.exception("Unhandled error: %s", error)
        if _open311():
            from portal.open311.views.api import http_error_response

            return http_error_response(InternalServerError())
        return _render(500)
