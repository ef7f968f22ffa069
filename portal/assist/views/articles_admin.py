"""Back office: knowledge articles (admins only, issue 22). The list (50 a page, by address)
and each article's text per language; saving makes a new version, the earlier ones stay.
Articles come from the city's configuration folder (articles/<slug>.toml); an edit here stays
until the file itself changes."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import func, select

from portal.access import ADMIN, staff_required
from portal.assist import articles
from portal.assist.models import KnowledgeArticle, KnowledgeArticleVersion
from portal.core import clock
from portal.i18n import LANGUAGE_NAMES, current_locale
from portal.web import db_session, settings

bp = Blueprint("assist_articles_admin", __name__, url_prefix="/staff/admin/articles")

PAGE = 50
LANGUAGE_LABELS = {"en": _l("English"), "es": _l("Spanish")}
MAX_ID = 2**31 - 1


class ArticleForm(FlaskForm):
    """The CSRF token; the title and body fields per language are drawn by the template."""


def language_label(locale: str) -> Any:
    return LANGUAGE_LABELS.get(locale) or LANGUAGE_NAMES.get(locale, locale)


def _languages() -> list[str]:
    return list(settings().languages)


@bp.get("/")
@staff_required(ADMIN)
def index():
    db = db_session()
    after = request.args.get("after", "")[:80]
    query = select(KnowledgeArticle).order_by(KnowledgeArticle.slug).limit(PAGE + 1)
    if after:
        query = query.where(KnowledgeArticle.slug > after)
    rows = list(db.scalars(query))
    more = len(rows) > PAGE
    rows = rows[:PAGE]
    versions = articles.current_versions(db, [a.id for a in rows])
    locale = current_locale()
    return render_template(
        "assist/articles_admin/index.html",
        rows=[(a, articles.text_in(versions[a.id], locale)[0]) for a in rows if a.id in versions],
        next_after=rows[-1].slug if more and rows else None,
        total=db.scalar(select(func.count()).select_from(KnowledgeArticle)) or 0,
    )


def _article(article_id: int) -> KnowledgeArticle:
    if article_id > MAX_ID:
        abort(404)
    found = db_session().get(KnowledgeArticle, article_id)
    if found is None:
        abort(404)
    return found


@bp.route("/<int:article_id>/edit", methods=["GET", "POST"])
@staff_required(ADMIN)
def edit(article_id: int):
    db = db_session()
    article = _article(article_id)
    current = articles.current_version(db, article)
    languages = _languages()
    form = ArticleForm()
    values: dict[str, Any] = {
        "titles": dict(current.titles),
        "bodies": dict(current.bodies),
        "active": article.active,
    }
    errors: dict[str, str] = {}
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        data = {
            lang: {
                "title": request.form.get(f"title_{lang}", ""),
                "body": request.form.get(f"body_{lang}", ""),
            }
            for lang in languages
        }
        titles, bodies, problems = articles.check_texts(data, languages)
        values = {
            "titles": {lang: data[lang]["title"] for lang in languages},
            "bodies": {lang: data[lang]["body"] for lang in languages},
            "active": request.form.get("active") == "y",
        }
        for lang in languages:
            for key, limit in (("title", articles.TITLE_MAX), ("body", articles.BODY_MAX)):
                text = data[lang][key].strip()
                if not text:
                    errors[f"{key}_{lang}"] = _("This is required")
                elif len(text) > limit:
                    errors[f"{key}_{lang}"] = _(
                        "Keep it to %(max)d characters or fewer.", max=limit
                    )
        if not errors and not problems:
            saved = articles.save_version(
                db,
                article,
                titles=titles,
                bodies=bodies,
                source="admin",
                now=clock.now(),
                actor_id=current_user.id,
            )
            article.active = values["active"]
            if saved is not None:
                flash(_("Saved as version %(version)s.", version=saved.version), "success")
            else:
                flash(_("Saved. The text is unchanged."), "success")
            return redirect(url_for("assist_articles_admin.index"))
    history = db.scalar(
        select(func.count())
        .select_from(KnowledgeArticleVersion)
        .where(KnowledgeArticleVersion.article_id == article.id)
    )
    return render_template(
        "assist/articles_admin/edit.html",
        article=article,
        form=form,
        values=values,
        errors=errors,
        article_languages=[(lang, language_label(lang)) for lang in languages],
        history=history,
    ), (400 if errors else 200)
