"""Knowledge articles for residents (issue 22, "Answers before requests").

- ``GET /report/article-suggestions?description=`` JSON ``[{"slug", "title", "url"}]``, at
  most three, for the describe step's script (rate-limited like the form; 400 with a JSON
  error for a missing or oversized text). Each suggestion is counted once per visit.
- ``GET /help/<slug>``: the article in the resident's language; ``?from=describe`` (the
  describe step's links) counts it as opened from a suggestion. "Did this answer your
  question?" posts Yes or No (CSRF) to ``/help/<slug>/feedback``; a thank-you follows.
- A visit is a random key in the resident's session, set by the describe step; a request
  filed in it (the filing journey's done page) is recorded, so a visit that opened an article
  and filed nothing within the window counts as a deflection when the figures are read.
"""

from __future__ import annotations

import json
import secrets
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_wtf import FlaskForm
from sqlalchemy import select

from portal.assist import articles
from portal.assist.models import KnowledgeArticle
from portal.core import clock
from portal.extensions import limiter
from portal.i18n import current_locale
from portal.requests.service import DESCRIPTION_MAX
from portal.web import db_session, settings

bp = Blueprint("assist_articles", __name__)

VISIT_KEY = "assist_visit"


def visit(create: bool = False) -> str | None:
    """The resident's visit key (random, nothing about them); made on a page navigation."""
    key = session.get(VISIT_KEY)
    if key is None and create:
        key = session[VISIT_KEY] = secrets.token_hex(8)
    return key


def suggestions_for(text: str, *, count: bool = True) -> list[dict[str, Any]]:
    """The articles like ``text`` in the page's language, each counted as suggested once per
    visit."""
    if not settings().assist_articles:
        return []
    db = db_session()
    found = articles.suggest_articles(db, text=text, language=current_locale())
    key = visit()
    if count and key is not None:
        for item in found:
            articles.record(db, kind="suggested", now=clock.now(), article_id=item["id"], visit=key)
    return [
        {
            "slug": item["slug"],
            "title": item["title"],
            "url": url_for("assist_articles.show", slug=item["slug"], **{"from": "describe"}),
        }
        for item in found
    ]


def _json(body: Any, status: int = 200) -> Response:
    response = Response(
        json.dumps(body, ensure_ascii=False), status=status, mimetype="application/json"
    )
    response.cache_control.no_store = True
    return response


@bp.get("/report/article-suggestions")
@limiter.limit("60 per minute")
def article_suggestions() -> Response:
    description = request.args.get("description", "")
    if not description.strip():
        return _json({"error": _("Describe the problem to get suggested answers.")}, 400)
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
    return _json(suggestions_for(description))


class FeedbackForm(FlaskForm):
    """Only the CSRF token: the button pressed is the answer."""


def _article_or_404(slug: str) -> KnowledgeArticle:
    if len(slug) > 80:
        abort(404)
    found = db_session().scalar(
        select(KnowledgeArticle).where(
            KnowledgeArticle.slug == slug, KnowledgeArticle.active.is_(True)
        )
    )
    if found is None:
        abort(404)
    return found


@bp.get("/help/<slug>")
def show(slug: str):
    db = db_session()
    article = _article_or_404(slug)
    version = articles.current_version(db, article)
    locale = current_locale()
    title, body = articles.text_in(version, locale)
    if request.args.get("from") == "describe" and (key := visit()) is not None:
        articles.record(db, kind="opened", now=clock.now(), article_id=article.id, visit=key)
        # A second look in the same visit is not a second opening.
        return redirect(url_for("assist_articles.show", slug=slug))
    return render_template(
        "assist/article.html",
        article=article,
        title=title,
        paragraphs=[p.strip() for p in body.split("\n\n") if p.strip()],
        form=FeedbackForm(),
        thanks=request.args.get("thanks"),
        locale=locale,
    )


@bp.post("/help/<slug>/feedback")
@limiter.limit("20 per minute")
def feedback(slug: str):
    article = _article_or_404(slug)
    answer = request.form.get("answer")
    if not FeedbackForm().validate_on_submit() or answer not in ("yes", "no"):
        abort(400)
    articles.record(
        db_session(),
        kind="helpful" if answer == "yes" else "not_helpful",
        now=clock.now(),
        article_id=article.id,
        visit=visit(),
    )
    return redirect(url_for("assist_articles.show", slug=slug, thanks=answer) + "#feedback")


#: How many articles the reply composer lists (by address).
COMPOSER_LIMIT = 100


@bp.app_context_processor
def _composer_articles() -> dict[str, Any]:
    """``knowledge_article_links(language)`` for the case page's reply composer (casework
    knows nothing of articles): the active articles' titles and public addresses in the
    resident's language, read only when the composer asks."""

    def links(language: str | None = None) -> list[dict[str, str]]:
        db = db_session()
        rows = db.scalars(
            select(KnowledgeArticle)
            .where(KnowledgeArticle.active.is_(True))
            .order_by(KnowledgeArticle.slug)
            .limit(COMPOSER_LIMIT)
        ).all()
        versions = articles.current_versions(db, [a.id for a in rows])
        lang = language or current_locale()
        out = []
        for article in rows:
            version = versions.get(article.id)
            if version is None:
                continue
            out.append(
                {
                    "slug": article.slug,
                    "title": articles.text_in(version, lang)[0],
                    "url": url_for(
                        "assist_articles.show", slug=article.slug, lang=lang, _external=True
                    ),
                }
            )
        return out

    return {"knowledge_article_links": links}


@bp.before_app_request
def _filed_in_this_visit() -> None:
    """The filing journey's done page: a request was filed in this visit (recorded once)."""
    if request.endpoint == "requests_filing.done" and session.get("filed_reference"):
        key = session.pop(VISIT_KEY, None)
        if key is not None:
            articles.record(db_session(), kind="filed", now=clock.now(), article_id=None, visit=key)
