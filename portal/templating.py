"""Template globals and filters shared by every page."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from flask import Flask, g, request, url_for
from flask_babel import get_timezone, gettext, lazy_gettext

from portal.core import clock
from portal.core.i18n import format_clock, format_day, format_duration, format_moment
from portal.i18n import LANGUAGE_NAMES, current_locale
from portal.requests import event_text
from portal.requests.labels import ACTOR_NAMES, CHANNEL_NAMES, actor_name, status_name
from portal.requests.models import Event
from portal.sla.status import (
    KIND_NAMES,
    STATE_CLASSES,
    STATE_NAMES,
    SlaState,
    case_state,
    clock_state,
    task_state,
)
from portal.web import db_session

#: Priorities as staff say them (queues, the case page, service-level policies).
PRIORITY_NAMES = {
    "low": lazy_gettext("Low"),
    "normal": lazy_gettext("Normal"),
    "high": lazy_gettext("High"),
    "urgent": lazy_gettext("Urgent"),
}


def status_label(status: str) -> str:
    """``status`` in the current web request's language."""
    return gettext(status_name(status))


def actor_label(event: Event) -> str:
    """The translated actor for a timeline entry (a signing department in the reader's
    language)."""
    name = actor_name(event)
    if name in ACTOR_NAMES.values():
        return gettext(name)
    return department_label(name)


def _catalogue_names() -> event_text.CatalogueNames:
    """This page's department and category names (read at most once per page)."""
    names = g.get("_catalogue_names")
    if names is None:
        names = g._catalogue_names = event_text.CatalogueNames(db_session())
    return names


def department_label(value: Any) -> str:
    """A department stored by English name or code, in the page's language."""
    return _catalogue_names().department(value, current_locale())


def category_label(value: Any) -> str:
    """A category stored by English name or code, in the page's language."""
    return _catalogue_names().category(value, current_locale())


def event_body(event: Event) -> str:
    """The text under a timeline entry: the system's words in the page's language, a
    person's as written (``portal.requests.event_text``)."""
    return event_text.event_body(event, current_locale())


def moment_text(value: datetime | None) -> str:
    """A date and time as pages show it: the reader's language, the city's time zone, never
    seconds ("Dec 7, 2026, 2:05 PM", "7 dic 2026, 14:05"); "" for None."""
    return format_moment(value, current_locale(), get_timezone()) if value else ""


def day_text(value: date | datetime | None) -> str:
    """A day as pages show it ("Dec 7, 2026", "7 dic 2026"); "" for None."""
    return format_day(value, current_locale(), get_timezone()) if value else ""


def _logo_header(settings: Any) -> dict[str, object] | None:
    """The header's copy of a raster logo: its URL and its size in CSS pixels (half its
    pixels: it is drawn for two device pixels a CSS pixel); None for an SVG logo."""
    from portal.city.app_icons import header_logo

    found = header_logo(settings.upload_dir, settings.icons_version)
    if found is None:
        return None
    name, width, height = found
    return {
        "url": url_for("pwa.icon", version=settings.icons_version, name=name),
        "width": max(1, round(width / 2)),
        "height": max(1, round(height / 2)),
    }


def init_app(app: Flask) -> None:
    @app.context_processor
    def _globals() -> dict[str, object]:
        settings = app.extensions["portal.city"].settings()
        locale = current_locale()
        return {
            "city_name": settings.city_text("name", locale),
            "city": {
                "name": settings.city_text("name", locale),
                "short_name": settings.city_text("short_name", locale),
                "contact": settings.city_text("contact", locale),
                "emergency_number": settings.emergency_number,
                "logo_url": url_for("pages.logo", v=settings.logo_version)
                if settings.logo_version
                else "",
                # A PNG or JPEG logo's copy at twice the header's height (drawn at import).
                "logo_header": _logo_header(settings) if settings.logo_version else None,
                # The installed web app (portal.pwa): the browser's bar and the iOS icon.
                "theme_color": settings.theme_color,
                "apple_touch_icon": url_for(
                    "pwa.icon", version=settings.icons_version, name="apple-touch-icon.png"
                ),
            },
            "languages": {code: LANGUAGE_NAMES.get(code, code) for code in settings.languages},
            "current_locale": locale,
            "lang_url": _lang_url,
            "is_development": settings.env == "development",
        }

    # The widths a resident's photo is offered at in a srcset (templates/macros/photos.html).
    @app.template_global("photo_widths")
    def _photo_widths(width: int | None) -> list[int]:
        from portal.requests.photos import display_widths

        return display_widths(width or 0)

    @app.template_global("channel_label")
    def _channel_label(code: str, detail: str = "") -> str:
        name = gettext(CHANNEL_NAMES[code]) if code in CHANNEL_NAMES else code
        return f"{name}: {detail}" if detail else name

    # SLA states, shown wherever a case or task appears (queues, case page, escalations).
    @app.template_global("sla_task")
    def _sla_task(task: Any, now: datetime) -> SlaState:
        return task_state(task, now)

    @app.template_global("sla_clock")
    def _sla_clock(sla_clock: Any, now: datetime) -> SlaState:
        return clock_state(sla_clock, now)

    @app.template_global("sla_case_state")
    def _sla_case_state(case: Any) -> SlaState:
        return case_state(case, clock.now())

    @app.template_global("sla_name")
    def _sla_name(code: str) -> str:
        return gettext(STATE_NAMES[code]) if code in STATE_NAMES else code

    @app.template_global("sla_class")
    def _sla_class(code: str) -> str:
        return STATE_CLASSES.get(code, "bg-base-dark")

    @app.template_global("sla_kind")
    def _sla_kind(kind: str) -> str:
        return gettext(KIND_NAMES[kind]) if kind in KIND_NAMES else kind

    @app.template_global("sla_duration")
    def _sla_duration(seconds: float) -> str:
        return format_duration(seconds, current_locale())

    @app.template_global("case_forecast")
    def _case_forecast(case: Any) -> datetime | None:
        """When cases like this open one are usually resolved (``portal.sla.forecasts``)."""
        from portal.sla.service import case_forecast

        return case_forecast(db_session(), case, now=clock.now())

    _dates(app)
    _timeline(app)


def _timeline(app: Flask) -> None:
    # Timeline entries (staff case page, resident tracking page): worded for the reader.
    app.add_template_global(department_label, "department_label")
    app.add_template_global(category_label, "category_label")
    app.add_template_global(event_body, "event_body")


def _dates(app: Flask) -> None:
    # One date-and-time format per language, in the city's time zone, never seconds
    # ("Dec 7, 2026, 2:05 PM", "7 dic 2026, 14:05"). ``fmt`` is accepted and ignored, so an old
    # ``|datetime("long")`` still gets the one format. Machine formats (ISO 8601 in
    # ``<time datetime>``, Open311, CSV) are written where they are needed, not here.
    @app.template_filter("datetime")
    def _datetime(value: datetime | None, fmt: str | None = None) -> str:
        return moment_text(value)

    @app.template_filter("date")
    def _date(value: date | datetime | None) -> str:
        return day_text(value)

    @app.template_filter("time")
    def _time(value: datetime | None) -> str:
        return format_clock(value, current_locale(), get_timezone()) if value else ""


def _lang_url(code: str) -> str:
    args = dict(request.view_args or {})
    query: dict[str, Any] = request.args.to_dict()
    query["lang"] = code
    try:
        return url_for(request.endpoint or "pages.home", **args, **query)
    except Exception:  # noqa: BLE001 - an error page may have no endpoint
        return url_for("pages.home", lang=code)
