"""The installable web app's four routes (issue 21).

- ``/manifest.webmanifest?lang=xx``: the manifest in the page's language (the base templates
  link it with their language: a browser fetches a manifest without cookies);
- ``/sw.js``: the service worker (templates/pwa/sw.js), from the root so its scope is the whole
  site, ``Cache-Control: no-cache`` so a deploy reaches every browser; the server writes into it
  the hashed URLs to precache, the feature scripts it imports (static/js/sw-*.js) and a version
  that changes with any of them;
- ``/offline``: the page the service worker shows when a page cannot be loaded;
- ``/app-icons/<version>/<name>``: the home-screen icons, drawn at import (drawn here if the
  files are missing), cached a year: their version changes with the logo and the colours.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, abort, current_app, render_template, request, send_file
from flask import url_for as flask_url_for
from flask_babel import gettext as _

from portal.city.app_icons import SERVED, city_icons, header_logo, icons_folder
from portal.i18n import current_locale
from portal.pwa.manifest import web_manifest
from portal.web import db_session, settings

bp = Blueprint("pwa", __name__)

#: The static files every page (and the offline page) uses: precached at install.
CORE_STATIC = (
    "vendor/uswds/css/uswds-portal.min.css",
    "css/portal.css",
    "vendor/uswds/js/uswds-portal.min.js",
    "js/portal.js",
    "js/sw-register.js",
    "img/favicon.svg",
    "vendor/uswds/img/usa-icons/close.svg",
    # the offline page's emergency note (a warning alert's icon, named by the stylesheet)
    "vendor/uswds/img/usa-icons/warning.svg",
)
#: static/js/sw-<feature>.js: a feature's service-worker handlers (sw-register.js is the page's
#: own script, not one of them).
EXTENSION_GLOB = "sw-*.js"
NOT_EXTENSIONS = frozenset({"sw-register.js"})
#: URL prefixes whose answers are never written to a cache: staff pages, the resident's own
#: pages and private tracking links, survey links, the development mailbox.
NEVER_CACHED = ("/staff", "/account", "/my", "/requests/", "/surveys", "/dev/", "/sign-")
#: Prefixes of files whose names change with their content: served from the cache first.
IMMUTABLE = ("/static/dist/", "/app-icons/")
NO_CACHE = "no-cache"
ICON_CACHE = "public, max-age=31536000, immutable"


@bp.get("/manifest.webmanifest")
def manifest() -> Response:
    current = settings()
    locale = current_locale()
    data = web_manifest(
        current,
        locale=locale,
        description=_("Report a problem to %(city)s and follow your requests.")
        % {"city": current.city_text("name", locale)},
        icon_url=lambda name: flask_url_for("pwa.icon", version=current.icons_version, name=name),
    )
    response = Response(
        json.dumps(data, ensure_ascii=False, indent=1), mimetype="application/manifest+json"
    )
    response.headers["Cache-Control"] = NO_CACHE
    response.vary.add("Cookie")
    response.vary.add("Accept-Language")
    response.add_etag()
    return response.make_conditional(request)


def _static_url(filename: str) -> str:
    return flask_url_for("static", filename=filename)


def _extensions() -> list[str]:
    """The hashed URLs of static/js/sw-*.js, in name order."""
    assert current_app.static_folder is not None
    folder = Path(current_app.static_folder) / "js"
    names = sorted(p.name for p in folder.glob(EXTENSION_GLOB) if p.name not in NOT_EXTENSIONS)
    return [_static_url(f"js/{name}") for name in names]


def _sources_digest(names: tuple[str, ...]) -> str:
    """A hash of the templates the offline page and the worker are made from."""
    loader = current_app.jinja_env.loader
    assert loader is not None
    digest = hashlib.sha256()
    for name in names:
        source, _filename, _uptodate = loader.get_source(current_app.jinja_env, name)
        digest.update(source.encode("utf-8"))
    return digest.hexdigest()


def worker_config() -> dict[str, Any]:
    """What the worker is told: its version and the URLs it precaches, imports and spares."""
    current = settings()
    precache = [_static_url(name) for name in CORE_STATIC]
    header = header_logo(current.upload_dir, current.icons_version)
    if header is not None:
        # The pages' header shows the logo's small copy (portal.city.app_icons.HEADER_LOGO).
        precache.append(flask_url_for("pwa.icon", version=current.icons_version, name=header[0]))
    elif current.logo_version:
        precache.append(flask_url_for("pages.logo", v=current.logo_version))
    config: dict[str, Any] = {
        "languages": list(current.languages),
        "defaultLanguage": current.default_language,
        "offline": [
            {"lang": code, "url": flask_url_for("pwa.offline", lang=code)}
            for code in current.languages
        ],
        "precache": precache,
        "imports": _extensions(),
        "immutable": list(IMMUTABLE),
        "neverCached": list(NEVER_CACHED),
    }
    city = [
        current.city_name,
        current.short_name,
        current.city_contact,
        current.emergency_number,
        current.city_translations,
        current.icons_version,
    ]
    digest = hashlib.sha256(json.dumps([config, city], sort_keys=True).encode("utf-8"))
    digest.update(_sources_digest(("pwa/sw.js", "pwa/offline.html", "base.html")).encode("ascii"))
    config["version"] = digest.hexdigest()[:12]
    return config


@bp.get("/sw.js")
def service_worker() -> Response:
    body = render_template("pwa/sw.js", config=worker_config())
    response = Response(body, mimetype="text/javascript")
    response.headers["Cache-Control"] = NO_CACHE
    response.add_etag()
    return response.make_conditional(request)


@bp.get("/offline")
def offline() -> Response:
    response = Response(render_template("pwa/offline.html"))
    response.headers["Cache-Control"] = NO_CACHE
    return response


@bp.get("/app-icons/<version>/<name>")
def icon(version: str, name: str) -> Response:
    if name not in SERVED:
        abort(404)
    current = settings()
    try:
        folder = icons_folder(current.upload_dir, version)
    except ValueError:
        abort(404)
    if not (folder / name).is_file():
        if version != current.icons_version:
            abort(404)  # an older logo's icons, no longer kept
        try:
            folder = city_icons(db_session(), current)
        except (OSError, ValueError):
            current_app.logger.exception("the home-screen icons cannot be drawn")
            abort(404)
        if not (folder / name).is_file():
            abort(404)  # the header's logo of an SVG logo (shown as it is) or of none
    response = send_file(folder / name, mimetype="image/png", conditional=True)
    response.headers["Cache-Control"] = ICON_CACHE
    return response
