"""The developer page (issue 24): ``/developers`` tells an integrator how to use this city's
Open311 API (getting started, keys, rate limits, a curl example of every endpoint, the
extensions, errors, the changelog), and ``/developers/api`` shows the OpenAPI document in
Swagger UI (vendored from npm by ``make assets``; without JavaScript the page links the raw
document).

The figures on the page are read from the code that enforces them (the limits, the page sizes,
the photo limits) and the examples from ``portal.open311.developer``, built from this city's
own base URL, jurisdiction and data, so the page says what the server does.
"""

from __future__ import annotations

import limits
from flask import Blueprint, render_template, url_for
from flask_babel import format_number

from portal.core import clock
from portal.i18n import current_locale
from portal.open311 import developer, keys, queries, updates
from portal.open311.views import api_post
from portal.open311.views.api_limits import READ_LIMIT
from portal.web import db_session, settings

bp = Blueprint("open311_developers", __name__, url_prefix="/developers")


def _rate(text: str) -> list[dict[str, object]]:
    """A Flask-Limiter rate ("300/minute") as amounts per unit, for the page to say."""
    return [
        {"amount": format_number(item.amount), "per": item.multiples, "unit": item.GRANULARITY.name}
        for item in limits.parse_many(text)
    ]


@bp.get("/")
def index() -> str:
    current = settings()
    api_url = current.base_url.rstrip("/") + "/open311/v2"
    now = clock.now()
    examples = developer.examples(
        api_url=api_url,
        jurisdiction=current.open311_jurisdiction,
        sample=developer.sample(db_session(), now=now),
        now=now,
    )
    return render_template(
        "open311/developers/index.html",
        api_url=api_url,
        openapi_url=url_for("open311_api.openapi", _external=False),
        examples=examples,
        limits={
            "read": _rate(READ_LIMIT),
            "key_default": _rate(keys.DEFAULT_RATE),
            "key_read_default": _rate(keys.DEFAULT_READ_RATE),
            "keyless_post": _rate(api_post.KEYLESS_LIMIT),
        },
        figures={
            name: format_number(number)
            for name, number in {
                "max_page_size": queries.MAX_PAGE_SIZE,
                "max_span_days": queries.MAX_SPAN.days,
                "max_ids": queries.MAX_IDS,
                "max_codes": queries.MAX_CODES,
                "default_radius": queries.DEFAULT_RADIUS,
                "max_radius": queries.MAX_RADIUS,
                "notes_per_request": queries.NOTES_PER_REQUEST,
                "photos_per_request": queries.PHOTOS_PER_REQUEST,
                "max_photos": current.max_photos,
                "updates_max_days": updates.MAX_WINDOW.days,
                "max_photo_mb": current.max_photo_bytes // (1024 * 1024),
            }.items()
        },
        changelog=developer.changelog(current_locale()),
        contact=current.open311_contact,
        key_service=current.open311_key_service,
        jurisdiction=current.open311_jurisdiction,
    )


@bp.get("/api")
def api() -> str:
    return render_template(
        "open311/developers/api.html", openapi_url=url_for("open311_api.openapi")
    )
