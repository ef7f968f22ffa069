"""Template globals and filters shared by every page."""

from __future__ import annotations

from datetime import datetime

from flask import Flask, request, url_for
from flask_babel import format_datetime, gettext

from portal.i18n import LANGUAGE_NAMES, current_locale
from portal.requests.labels import CHANNEL_NAMES


def init_app(app: Flask) -> None:
    settings = app.extensions["portal.settings"]

    @app.context_processor
    def _globals() -> dict[str, object]:
        return {
            "city_name": settings.city_name,
            "languages": LANGUAGE_NAMES,
            "current_locale": current_locale(),
            "lang_url": _lang_url,
            "is_development": settings.env == "development",
        }

    @app.template_global("channel_label")
    def _channel_label(code: str) -> str:
        return gettext(CHANNEL_NAMES[code]) if code in CHANNEL_NAMES else code

    @app.template_filter("datetime")
    def _datetime(value: datetime | None, fmt: str = "medium") -> str:
        return format_datetime(value, fmt) if value else ""


def _lang_url(code: str) -> str:
    args = dict(request.view_args or {})
    query = request.args.to_dict()
    query["lang"] = code
    try:
        return url_for(request.endpoint or "pages.home", **args, **query)
    except Exception:  # noqa: BLE001 - an error page may have no endpoint
        return url_for("pages.home", lang=code)
