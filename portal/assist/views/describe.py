"""The filing journey's "Describe the problem" start (issue 22).

``/report/describe`` asks what is wrong in the resident's own words. With JavaScript the three
most likely categories appear as the resident types (from ``/report/category-suggestions``),
each one click away; without it, "Continue" shows the same three on ``/report/describe/choose``.
Either way "See all categories" leads to the full list (``/report/``), and the words typed are
kept in the draft, so the details step shows them. Below the confidence threshold or without a
usable model there is nothing to suggest: the full list, as before.

Links that name a category (``/report/?category=...``) and the full list itself skip this step.
"""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for
from flask_babel import gettext as _

from portal.assist import articles, categories
from portal.assist.forms import DescribeForm
from portal.assist.views.articles import suggestions_for, visit
from portal.extensions import limiter
from portal.i18n import current_locale
from portal.requests import drafts
from portal.requests.service import active_category
from portal.requests.views.filing_steps import current_draft
from portal.web import db_session, settings

bp = Blueprint("assist_describe", __name__, url_prefix="/report")


def _offered() -> bool:
    """Something to suggest: categories (a usable model) or knowledge articles."""
    db = db_session()
    return categories.available(db, settings=settings()) or (
        settings().assist_articles and articles.any_active(db)
    )


@bp.route("/describe", methods=["GET", "POST"])
@limiter.limit("60 per minute", methods=["POST"])
def describe():
    if not _offered():
        return redirect(url_for("requests_filing.start"))
    visit(create=True)
    draft = current_draft()
    form = DescribeForm(data={"description": draft.data.get("description", "") if draft else ""})
    error = None
    if request.method == "POST" and form.validate_on_submit():
        text = form.description.data.strip()
        draft = current_draft(create=True)
        assert draft is not None
        chosen = (form.category.data or "").strip()
        category = active_category(db_session(), chosen) if chosen else None
        if chosen and category is None:
            error = _("Choose the kind of problem from the list.")
        else:
            values: dict = {"description": text[:8000]}
            if category is not None and draft.data.get("category") != category.code:
                values.update(category=category.code, answers={}, stopped=None)
            drafts.update_draft(draft, settings=settings(), **values)
            if category is not None:
                return redirect(url_for("requests_filing.details"))
            return redirect(url_for("assist_describe.choose"))
    return render_template(
        "assist/describe.html", form=form, error=error, locale=current_locale()
    ), (400 if request.method == "POST" else 200)


@bp.get("/describe/choose")
def choose():
    """Without JavaScript: the three most likely categories for what was typed, or the full
    list when there is nothing to suggest."""
    draft = current_draft()
    text = (draft.data.get("description") or "") if draft else ""
    if not text:
        return redirect(url_for("assist_describe.describe"))
    suggestions = categories.suggest(
        db_session(), settings=settings(), description=text, language=current_locale()
    )
    answers = suggestions_for(text)
    if not suggestions and not answers:
        return redirect(url_for("requests_filing.start"))
    return render_template(
        "assist/choose.html",
        suggestions=suggestions,
        answers=answers,
        description=text,
        locale=current_locale(),
    )
