"""Staff search: find a case by reference, words, address or the resident's email."""

from __future__ import annotations

from flask import Blueprint, render_template, request, url_for

from portal.access import current_staff, staff_required
from portal.casework.search import MAX_PAGE, QUERY_MAX, search_requests
from portal.i18n import current_locale
from portal.web import db_session

bp = Blueprint("casework_search", __name__, url_prefix="/staff/search")


def _page() -> int:
    raw = request.args.get("page", "1")
    return min(int(raw), MAX_PAGE) if raw.isdigit() and int(raw) > 0 else 1


@bp.get("/")
@staff_required()
def index():
    query = request.args.get("q", "").strip()[:QUERY_MAX]
    results = None
    if query:
        results = search_requests(db_session(), access=current_staff(), query=query, page=_page())
    prev_url = next_url = None
    if results is not None:
        if results.page > 1:
            prev_url = url_for("casework_search.index", q=query, page=results.page - 1)
        if results.has_next and results.page < MAX_PAGE:
            next_url = url_for("casework_search.index", q=query, page=results.page + 1)
    return render_template(
        "casework/search/index.html",
        query=query,
        results=results,
        prev_url=prev_url,
        next_url=next_url,
        locale=current_locale(),
    )
