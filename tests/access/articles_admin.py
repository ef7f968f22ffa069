"""Knowledge articles (issue 22): admins only."""

from __future__ import annotations

from portal.assist.models import KnowledgeArticle, KnowledgeArticleVersion
from tests.access import ADMINS, RouteCheck, made

BASE = "/staff/admin/articles"


def _article_id(world) -> int:
    article = made(
        world,
        "_knowledge_article",
        lambda w: KnowledgeArticle(slug="bulk-pickup", active=True, version=1),
    )
    made(
        world,
        "_knowledge_article_version",
        lambda w: KnowledgeArticleVersion(
            article_id=article.id,
            version=1,
            titles={"en": "When is bulk pickup?", "es": "¿Cuándo?"},
            bodies={"en": "The first Monday.", "es": "El primer lunes."},
            source="city-file",
        ),
    )
    return article.id


def _article_data(world) -> dict:
    return {
        "title_en": "When is bulk pickup?",
        "body_en": "The first Monday of the month.",
        "title_es": "¿Cuándo es la recogida?",
        "body_es": "El primer lunes del mes.",
        "active": "y",
    }


CHECKS = [
    RouteCheck("assist_articles_admin.index", lambda w: f"{BASE}/", ADMINS),
    RouteCheck("assist_articles_admin.edit", lambda w: f"{BASE}/{_article_id(w)}/edit", ADMINS),
    RouteCheck(
        "assist_articles_admin.edit",
        lambda w: f"{BASE}/{_article_id(w)}/edit",
        ADMINS,
        method="POST",
        data=_article_data,
    ),
]
