"""``create_app``: wires settings, extensions and every feature's blueprints, CLI and hooks.

The only module (with the views) that loads Flask; ``import portal`` and the domain packages do
not."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Flask, request
from flask.sessions import SecureCookieSessionInterface, SessionMixin
from werkzeug.routing import IntegerConverter

from portal.core import clock
from portal.core.config import ROOT, Settings
from portal.reactions import connect_all
from portal.web import cookieless


class BoundedInt(IntegerConverter):
    """``<int:...>`` up to the largest 64-bit id: a longer number is a 404, not an integer
    overflow in the database driver."""

    def __init__(self, map: object, *args: object, **kwargs: object) -> None:
        kwargs.setdefault("max", 2**63 - 1)
        super().__init__(map, *args, **kwargs)  # type: ignore[arg-type]


#: Requests a page makes by itself in the background (the queue's and the header's polling):
#: they never extend a signed-in session, so an open tab does not keep a member signed in past
#: the session's 12 hours without anyone using it.
#: Answers smaller than this are sent as they are (compressing them saves nothing worth it).
COMPRESS_MIN_SIZE = 1024

BACKGROUND_ENDPOINTS = frozenset({"casework_queue.updates"})


class _SessionInterface(SecureCookieSessionInterface):
    """An unchanged session is sent back (renewing its 12 hours) only on what a person asked
    for: a page they opened or a form they sent. Never on the page's own background polling,
    a static file or a script's fetch (``Sec-Fetch-Mode`` other than ``navigate``): such a
    request, started before a form was sent and answered after it, would otherwise put back
    the older cookie and drop what the form had just saved (a filing draft, seen in a browser
    test when a slow static request overtook a step)."""

    def save_session(self, app: Flask, session: SessionMixin, response: Any) -> None:
        if cookieless():
            return  # the API's answers set no cookie, not even to clear one
        super().save_session(app, session, response)

    def should_set_cookie(self, app: Flask, session: SessionMixin) -> bool:
        if not _asked_for_by_a_person() and (
            not session.modified or request.method in ("GET", "HEAD")
        ):
            # A script's or the service worker's GET changes nothing a person asked for; what
            # it touched in passing (Flask-Login marking an anonymous session not fresh) must
            # not overwrite the cookie a form sent meanwhile set (a lost filing draft, seen
            # when /sw.js was answered after the details step's POST).
            return False
        return super().should_set_cookie(app, session)


def _asked_for_by_a_person() -> bool:
    if request.endpoint in BACKGROUND_ENDPOINTS or request.endpoint == "static":
        return False
    mode = request.headers.get("Sec-Fetch-Mode")
    return mode is None or mode == "navigate"  # None: a client that does not say (not a browser)


def create_app(settings: Settings | None = None) -> Flask:
    """Build the Flask app. Does no database work; ``flask db upgrade`` migrates."""
    settings = (settings or Settings.from_env()).validated()
    clock.set_city_zone(settings.timezone)
    connect_all()
    app = Flask(
        "portal",  # the package's name, as before create_app moved here (logger, root path)
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
        instance_path=str(ROOT / "instance"),
    )
    app.url_map.converters["int"] = BoundedInt
    app.session_interface = _SessionInterface()
    if settings.trusted_proxies:
        # Behind n proxies the client is the address the n-th from us saw; with none, the
        # connecting address is the client and X-Forwarded-* headers are never read.
        from werkzeug.middleware.proxy_fix import ProxyFix

        n = settings.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n)  # type: ignore[method-assign]
    app.config.update(
        SECRET_KEY=settings.secret_key,
        SESSION_COOKIE_SECURE=settings.is_production,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_SECURE=settings.is_production,
        REMEMBER_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=timedelta(hours=12),
        # Three photos of 10 MB each plus the form fields.
        MAX_CONTENT_LENGTH=settings.max_photos * settings.max_photo_bytes + 1024 * 1024,
        MAX_FORM_MEMORY_SIZE=1024 * 1024,
        WTF_CSRF_TIME_LIMIT=None if settings.env == "test" else 12 * 3600,
        BABEL_DEFAULT_TIMEZONE=settings.timezone,
        RATELIMIT_STORAGE_URI=settings.ratelimit_storage_uri,
        RATELIMIT_ENABLED=settings.ratelimit_enabled,
        RATELIMIT_HEADERS_ENABLED=True,
        TEMPLATES_AUTO_RELOAD=not settings.is_production and settings.env != "test",
        **settings.as_flask_config(),
    )
    if settings.env == "test":
        app.config["TESTING"] = True
    elif settings.assist_categories or settings.assist_duplicates or settings.assist_articles:
        # Category and article suggestions and the possible-duplicates check at filing use
        # scikit-learn, whose import takes 1-3 s: the first resident to file after every start
        # waited that long (3.5 s in the query-count test's first visit, 5 s once in outbound
        # Open311's test, which timed out). The process pays it when it starts instead.
        import sklearn.feature_extraction.text  # noqa: F401

    from portal.city.profile import CityCache
    from portal.core.db import Database

    app.extensions["portal.settings"] = settings
    app.extensions["portal.db"] = Database(settings.database_url)
    # What pages, emails and jobs see: these settings with the city's profile on top.
    app.extensions["portal.city"] = CityCache(
        settings,
        app.extensions["portal.db"],
        on_change=lambda current: clock.set_city_zone(current.timezone),
    )

    from portal import errors, i18n, observability, static_files, templating, web
    from portal.extensions import compress, csrf, limiter

    observability.init_app(app, settings)  # first: its after_request runs last
    # Then compression: it runs after every other after_request (the API's ETag and 304
    # included), so it sees the final body. Responses streamed by generators are left as
    # they are (Flask-Compress would wrap them in stream_with_context, which the open-data
    # downloads avoid on purpose).
    app.config.update(
        COMPRESS_ALGORITHM=["br", "gzip"],
        COMPRESS_MIN_SIZE=COMPRESS_MIN_SIZE,
        COMPRESS_STREAMS=False,
    )
    compress.init_app(app)
    # Hashed, compressed static files through WhiteNoise (make assets builds them); outside
    # production a file edited since the build is served under its plain name.
    static_files.init_app(app, watch=not settings.is_production)
    web.init_app(app)
    i18n.init_app(app)
    csrf.init_app(app)
    limiter.init_app(app)
    templating.init_app(app)
    errors.init_app(app)

    from portal.assist.views import algorithms as assist_register
    from portal.assist.views import articles as assist_articles
    from portal.assist.views import articles_admin as assist_articles_admin
    from portal.assist.views import describe as assist_describe
    from portal.assist.views import suggestions as assist_suggestions
    from portal.auth.views import bp as auth_bp
    from portal.auth.views import init_login
    from portal.auth.views.oidc import bp as auth_oidc_bp
    from portal.auth.views.oidc import init_sso
    from portal.casework.views import audit as casework_audit
    from portal.casework.views import case as casework_case
    from portal.casework.views import case_actions as _case_actions  # noqa: F401 - adds its routes
    from portal.casework.views import case_tasks as _case_tasks  # noqa: F401 - adds its routes
    from portal.casework.views import intake as casework_intake
    from portal.casework.views import queue as casework_queue
    from portal.casework.views import queue_saved as _queue_saved  # noqa: F401 - adds its routes
    from portal.casework.views import queue_updates as _queue_updates  # noqa: F401 - adds routes
    from portal.casework.views import residents as casework_residents
    from portal.casework.views import search as casework_search
    from portal.casework.views import templates_admin as casework_templates_admin
    from portal.city.views import areas as city_areas
    from portal.city.views import catalogue as city_catalogue
    from portal.city.views import profile as city_profile
    from portal.health import bp as health_bp
    from portal.mail_in.views import admin as mail_in_admin
    from portal.mail_in.views import original as mail_in_original
    from portal.notifications.views.mail import bp as mail_bp
    from portal.notifications.views.notices import bp as notices_bp
    from portal.open311.views import api as open311_api
    from portal.open311.views import api_http as _open311_http  # noqa: F401 - adds its hooks
    from portal.open311.views import api_openapi as _open311_openapi  # noqa: F401 - adds its route
    from portal.open311.views import api_params as _open311_params  # noqa: F401 - adds its check
    from portal.open311.views import api_post as _open311_post  # noqa: F401 - adds its route
    from portal.open311.views import api_survey as _open311_survey  # noqa: F401 - adds routes
    from portal.open311.views import api_updates as _open311_updates  # noqa: F401 - adds routes
    from portal.open311.views import developers as open311_developers
    from portal.open311.views import keys as open311_keys
    from portal.ops import views as ops_views
    from portal.outbound import views as outbound_admin
    from portal.pages import bp as pages_bp
    from portal.places.views import map as places_map
    from portal.places.views import search as places_search
    from portal.privacy import views as privacy_views
    from portal.programmes.views import admin as programmes_admin
    from portal.programmes.views import admin_questions as _programme_questions  # noqa: F401 - adds its routes
    from portal.programmes.views import admin_sessions as _programme_sessions  # noqa: F401 - adds its routes
    from portal.programmes.views import public as programmes_public
    from portal.programmes.views import roster as programmes_roster
    from portal.push.views import bp as push_bp
    from portal.pwa import views as pwa_views
    from portal.reports.views import open_data as reports_open_data
    from portal.reports.views import public as reports_public
    from portal.reports.views import staff as reports_staff
    from portal.requests.views import alerts as requests_alerts
    from portal.requests.views import around as requests_around
    from portal.requests.views import filing as requests_filing
    from portal.requests.views import offline as requests_offline
    from portal.requests.views import tracking as requests_tracking
    from portal.requests.views import tracking_conversation as _tracking_conversation  # noqa: F401 - adds its routes
    from portal.requests.views import tracking_follow as _tracking_follow  # noqa: F401 - adds its routes
    from portal.routing import views as routing_views
    from portal.sla.views import admin as sla_admin
    from portal.sla.views import admin_calendars as _sla_calendars  # noqa: F401 - adds its routes
    from portal.sla.views import escalations as sla_escalations
    from portal.staff import views as staff_views
    from portal.surveys.views import answering as surveys_answering
    from portal.surveys.views import results as surveys_results
    from portal.webhooks import views as webhooks_admin

    init_login(app)
    init_sso(app, settings)
    for blueprint in (
        pages_bp,
        health_bp,
        ops_views.bp,
        auth_bp,
        auth_oidc_bp,
        requests_filing.bp,
        requests_offline.bp,
        assist_describe.bp,
        assist_articles.bp,
        assist_articles_admin.bp,
        assist_suggestions.bp,
        assist_register.bp,
        requests_tracking.bp,
        requests_alerts.bp,
        push_bp,
        mail_bp,
        casework_queue.bp,
        casework_case.bp,
        casework_search.bp,
        casework_intake.bp,
        casework_audit.bp,
        casework_residents.bp,
        staff_views.bp,
        routing_views.bp,
        sla_admin.bp,
        notices_bp,
        sla_escalations.bp,
        surveys_results.bp,
        surveys_answering.bp,
        programmes_public.bp,
        programmes_admin.bp,
        programmes_roster.bp,
        open311_api.bp,
        open311_keys.bp,
        open311_developers.bp,
        webhooks_admin.bp,
        outbound_admin.bp,
        reports_open_data.bp,
        city_areas.bp,
        reports_staff.bp,
        reports_public.bp,
        city_catalogue.bp,
        casework_templates_admin.bp,
        city_profile.bp,
        privacy_views.bp,
        places_map.bp,
        places_search.bp,
        pwa_views.bp,
        requests_around.bp,
        mail_in_original.bp,
        mail_in_admin.bp,
    ):
        app.register_blueprint(blueprint)
    errors.answer_in_own_format(app, "/open311/", open311_api.http_error_response)

    from portal import jobs
    from portal.cli import register

    jobs.register_all()
    register(app)
    return app
