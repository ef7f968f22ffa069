"""Language choice: the resident's pick (cookie or account), then the browser's, then English."""

from __future__ import annotations

from flask import Flask, current_app, request
from flask_babel import get_locale
from flask_login import current_user

from portal.extensions import babel
from portal.web import cookieless

LANGUAGE_NAMES = {"en": "English", "es": "Español"}
COOKIE = "portal_lang"


def _settings():
    return current_app.extensions["portal.city"].settings()


def select_locale() -> str:
    settings = _settings()
    languages = settings.languages
    chosen = request.args.get("lang") or request.cookies.get(COOKIE)
    if chosen is not None and chosen in languages:
        return chosen
    if getattr(current_user, "is_authenticated", False) and current_user.locale in languages:
        return current_user.locale
    return request.accept_languages.best_match(languages) or settings.default_language


def select_timezone() -> str:
    return _settings().timezone


def current_locale() -> str:
    """The language of the page being rendered ("en" outside a request)."""
    return str(get_locale() or "en")


def init_app(app: Flask) -> None:
    @app.after_request
    def _remember_language(response):
        chosen = request.args.get("lang")
        if cookieless():
            return response
        if chosen in _settings().languages and request.cookies.get(COOKIE) != chosen:
            response.set_cookie(
                COOKIE,
                chosen,
                max_age=365 * 24 * 3600,
                samesite="Lax",
                secure=current_app.config["SESSION_COOKIE_SECURE"],
                httponly=True,
            )
        return response

    babel.init_app(
        app,
        locale_selector=select_locale,
        timezone_selector=select_timezone,
        default_translation_directories="translations",
        default_domain="messages",
    )
