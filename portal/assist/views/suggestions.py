"""`GET /report/category-suggestions?description=TEXT`: the categories a description most
likely belongs to, for the filing form's script (JSON, at most three, in the resident's
language). [] when the feature is off or there is no usable model: the form works without."""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, Response, request
from flask_babel import gettext as _

from portal.assist.categories import suggest
from portal.extensions import limiter
from portal.i18n import current_locale
from portal.requests.service import DESCRIPTION_MAX
from portal.web import db_session, settings

bp = Blueprint("assist_suggestions", __name__, url_prefix="/report")


def _json(body: Any, status: int = 200) -> Response:
    response = Response(
        json.dumps(body, ensure_ascii=False), status=status, mimetype="application/json"
    )
    response.cache_control.no_store = True
    return response


@bp.get("/category-suggestions")
@limiter.limit("60 per minute")
def category_suggestions() -> Response:
    description = request.args.get("description", "")
    if not description.strip():
        return _json({"error": _("Describe the problem to get suggested categories.")}, 400)
    if len(description) > DESCRIPTION_MAX:
        return _json(
            {
                "error": _(
                    "The description is too long: %(limit)s characters at most.",
                    limit=DESCRIPTION_MAX,
                )
            },
            400,
        )
    language = request.args.get("language", "")
    if language not in settings().languages:
        language = current_locale()
    return _json(
        suggest(db_session(), settings=settings(), description=description, language=language)
    )
