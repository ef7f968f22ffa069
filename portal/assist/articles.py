"""Knowledge articles, "Answers before requests" (issue 22): pure functions, no Flask.

- Articles are files in the city's configuration folder, ``articles/<slug>.toml``, one table
  per language (``[en]`` with ``title`` and ``body``, ``[es]`` the same): ``read_articles``
  checks them; ``sync_articles`` (run by the city import) adds an article, or a new version
  when its text changed; the versions before stay. Admins edit them too (``save_version``,
  source "admin"); a later import of an unchanged file does not undo that edit, a changed file
  makes a newer version.
- ``suggest_articles`` offers at most three active articles whose text is like what the
  resident is typing: TF-IDF over word (1-2) and character (3-5, within words) n-grams of the
  normalised title (counted twice) and body in the resident's language, cosine similarity,
  none below ``THRESHOLD``. Built once per process for the set of current versions.
- Events (``record``): "suggested" (once per visit and article), "opened" (from a
  suggestion), "helpful" / "not_helpful", "filed" (a request filed in the visit). A deflection
  is counted when read (``metrics``): a visit that opened a suggested article at least
  ``DEFLECTION_WINDOW`` ago and has filed no request since; visits younger than that are not
  counted yet either way. Nothing personal is kept: the visit is a random key.
"""

from __future__ import annotations

import re
import threading
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import tomli_w
from sqlalchemy import and_, exists, func, select
from sqlalchemy.orm import Session, aliased

from portal.assist.models import KnowledgeArticle, KnowledgeArticleEvent, KnowledgeArticleVersion
from portal.assist.text import normalise

FOLDER = "articles"
SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
TITLE_MAX = 200
BODY_MAX = 20_000
MAX_SUGGESTIONS = 3
#: Cosine similarity an article needs to be offered. Measured on the demo's three articles:
#: questions about them scored 0.19-0.38 ("when do you pick up my old couch" 0.20, "cuando
#: recogen el sofa viejo" 0.19), other problems under 0.16 (the Done-when pothole sentence
#: 0.15 against the tree article: it mentions roads).
THRESHOLD = 0.18
DEFLECTION_WINDOW = timedelta(minutes=30)
KINDS = ("suggested", "opened", "helpful", "not_helpful", "filed")


@dataclass(frozen=True)
class ArticleSpec:
    slug: str
    titles: dict[str, str]
    bodies: dict[str, str]
    #: ``active = false`` in the file (``flask city export`` writes it for an article switched
    #: off): a new article starts switched off; an existing one keeps its admin's switch.
    active: bool = True


# -- files ------------------------------------------------------------------------------------


def read_articles(folder: Path, languages: Sequence[str]) -> tuple[list[ArticleSpec], list[str]]:
    """The articles of ``folder`` (``<slug>.toml`` files) and the problems found, each as
    ``articles/<file>: [language]: fault``. A missing folder is no articles."""
    specs: list[ArticleSpec] = []
    problems: list[str] = []
    if not folder.is_dir():
        return specs, problems
    for path in sorted(folder.glob("*.toml")):
        where = f"{FOLDER}/{path.name}"
        slug = path.stem
        if not SLUG.match(slug) or len(slug) > 80:
            problems.append(
                f"{where}: the file name must be lowercase letters, digits and hyphens "
                "(it is the article's address)"
            )
            continue
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            problems.append(f"{where}: is not valid TOML ({exc})")
            continue
        active = data.pop("active", True)
        if not isinstance(active, bool):
            problems.append(f"{where}: active must be true or false")
            continue
        titles, bodies, found = check_texts(data, languages)
        problems.extend(f"{where}: {p}" for p in found)
        unknown = sorted(set(data) - set(languages))
        problems.extend(
            f"{where}: [{u}] is not one of the city's languages ({', '.join(languages)})"
            for u in unknown
        )
        if not found and not unknown:
            specs.append(ArticleSpec(slug, titles, bodies, active))
    return specs, problems


def article_files(session: Session) -> dict[str, str]:
    """Every article's current version as the text of its ``<slug>.toml`` (by file name), in
    the format ``read_articles`` reads, so that importing them gives the same articles: a
    table per language of the version, ``active = false`` for one switched off."""
    articles = list(session.scalars(select(KnowledgeArticle).order_by(KnowledgeArticle.slug)))
    versions = current_versions(session, [a.id for a in articles])
    files = {}
    for article in articles:
        version = versions[article.id]
        data: dict[str, Any] = {} if article.active else {"active": False}
        for language in version.titles:
            data[language] = {
                "title": version.titles[language],
                "body": version.bodies.get(language, "") + "\n",
            }
        files[f"{article.slug}.toml"] = (
            f"# A knowledge article, public at /help/{article.slug} (version {article.version}),"
            "\n# written by `flask city export`. The format is in docs/city-configuration.md.\n"
            + tomli_w.dumps(data, multiline_strings=True)
        )
    return files


def check_texts(
    data: dict[str, Any], languages: Sequence[str]
) -> tuple[dict[str, str], dict[str, str], list[str]]:
    """Titles and bodies by language from ``{language: {"title", "body"}}``; every language
    of the city needs both. Returns (titles, bodies, problems)."""
    titles: dict[str, str] = {}
    bodies: dict[str, str] = {}
    problems: list[str] = []
    for language in languages:
        table = data.get(language)
        if not isinstance(table, dict):
            problems.append(f"[{language}]: is missing (a title and a body in each language)")
            continue
        problems.extend(
            f'[{language}]: unknown key "{key}" (expected title and body)'
            for key in sorted(set(table) - {"title", "body"})
        )
        for key, limit, into in (("title", TITLE_MAX, titles), ("body", BODY_MAX, bodies)):
            value = table.get(key)
            if not isinstance(value, str) or not value.strip():
                problems.append(f'[{language}]: "{key}" is required')
            elif len(value.strip()) > limit:
                problems.append(f'[{language}]: "{key}" is longer than {limit} characters')
            else:
                into[language] = value.strip()
    return titles, bodies, problems


# -- versions ---------------------------------------------------------------------------------


def current_version(session: Session, article: KnowledgeArticle) -> KnowledgeArticleVersion:
    found = session.scalar(
        select(KnowledgeArticleVersion).where(
            KnowledgeArticleVersion.article_id == article.id,
            KnowledgeArticleVersion.version == article.version,
        )
    )
    assert found is not None
    return found


def current_versions(
    session: Session, article_ids: Sequence[int]
) -> dict[int, KnowledgeArticleVersion]:
    """The current version of each of ``article_ids``, in one query."""
    if not article_ids:
        return {}
    rows = session.scalars(
        select(KnowledgeArticleVersion)
        .join(
            KnowledgeArticle,
            and_(
                KnowledgeArticle.id == KnowledgeArticleVersion.article_id,
                KnowledgeArticle.version == KnowledgeArticleVersion.version,
            ),
        )
        .where(KnowledgeArticle.id.in_(article_ids))
    )
    return {v.article_id: v for v in rows}


def save_version(
    session: Session,
    article: KnowledgeArticle,
    *,
    titles: dict[str, str],
    bodies: dict[str, str],
    source: str,
    now: datetime,
    actor_id: int | None = None,
) -> KnowledgeArticleVersion | None:
    """A new version of ``article`` with this text (the earlier ones stay); None when the text
    is the current version's already."""
    if article.id is not None:
        latest = current_version(session, article)
        if latest.titles == titles and latest.bodies == bodies:
            return None
        article.version += 1
    else:
        article.version = 1
        session.add(article)
        session.flush()
    article.updated_at = now
    version = KnowledgeArticleVersion(
        article_id=article.id,
        version=article.version,
        titles=dict(titles),
        bodies=dict(bodies),
        source=source,
        created_at=now,
        created_by_id=actor_id,
    )
    session.add(version)
    session.flush()
    return version


def sync_articles(session: Session, specs: Iterable[ArticleSpec], *, now: datetime) -> list[str]:
    """Write the configuration folder's articles: a new article, or a new version of one whose
    file changed since it was last imported. Returns what changed ("added x", "x: v2")."""
    done = []
    for spec in specs:
        article = session.scalar(select(KnowledgeArticle).where(KnowledgeArticle.slug == spec.slug))
        if article is None:
            article = KnowledgeArticle(slug=spec.slug, active=spec.active, created_at=now)
            save_version(
                session,
                article,
                titles=spec.titles,
                bodies=spec.bodies,
                source="city-file",
                now=now,
            )
            done.append(f"added {spec.slug}")
            continue
        last_file = session.scalar(
            select(KnowledgeArticleVersion)
            .where(
                KnowledgeArticleVersion.article_id == article.id,
                KnowledgeArticleVersion.source == "city-file",
            )
            .order_by(KnowledgeArticleVersion.version.desc())
            .limit(1)
        )
        if last_file is not None and (last_file.titles, last_file.bodies) == (
            spec.titles,
            spec.bodies,
        ):
            continue  # the file is as imported before: an admin's later edit stays
        if save_version(
            session, article, titles=spec.titles, bodies=spec.bodies, source="city-file", now=now
        ):
            done.append(f"{spec.slug}: v{article.version}")
    return done


def text_in(
    version: KnowledgeArticleVersion, language: str, fallback: str = "en"
) -> tuple[str, str]:
    """(title, body) in ``language``, else in ``fallback``."""
    lang = language if language in version.titles else fallback
    if lang not in version.titles and version.titles:
        lang = next(iter(version.titles))
    return version.titles.get(lang, ""), version.bodies.get(lang, "")


# -- suggesting -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Index:
    key: tuple[Any, ...]
    ids: list[int]
    slugs: list[str]
    titles: list[str]
    vectoriser: Any
    #: The articles' unit-length TF-IDF vectors, one column each.
    matrix: Any


_indexes: dict[str, _Index] = {}
_lock = threading.Lock()


class _Vectoriser:
    """Word (1-2) and character (3-5, within words) TF-IDF side by side: the two fitted
    vectorisers and a sparse stack, without FeatureUnion's per-call overhead (a third of a
    short text's time)."""

    def __init__(self) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer

        self.parts = [
            TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True),
            TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True),
        ]

    def fit_transform(self, docs: list[str]) -> Any:
        from scipy.sparse import hstack

        return hstack([part.fit_transform(docs) for part in self.parts]).tocsr()

    def transform(self, docs: list[str]) -> Any:
        from scipy.sparse import hstack

        return hstack([part.transform(docs) for part in self.parts]).tocsr()


def _index(session: Session, language: str) -> _Index | None:
    """The process's index of the active articles' current versions in ``language``: one
    small query for (id, version) each call; the texts are read and the vectors fitted again
    only when that set changed."""
    key = tuple(
        session.execute(
            select(KnowledgeArticle.id, KnowledgeArticle.version)
            .where(KnowledgeArticle.active.is_(True))
            .order_by(KnowledgeArticle.id)
        ).all()
    )
    if not key:
        return None
    with _lock:
        cached = _indexes.get(language)
        if cached is not None and cached.key == key:
            return cached
        rows = session.execute(
            select(KnowledgeArticle.id, KnowledgeArticle.slug, KnowledgeArticleVersion)
            .join(
                KnowledgeArticleVersion,
                and_(
                    KnowledgeArticleVersion.article_id == KnowledgeArticle.id,
                    KnowledgeArticleVersion.version == KnowledgeArticle.version,
                ),
            )
            .where(KnowledgeArticle.active.is_(True))
            .order_by(KnowledgeArticle.id)
        ).all()
        docs, titles = [], []
        for _id, _slug, version in rows:
            title, body = text_in(version, language)
            titles.append(title)
            docs.append(normalise(f"{title} {title} {body}"))
        from sklearn.preprocessing import normalize

        vectoriser = _Vectoriser()
        matrix = normalize(vectoriser.fit_transform(docs)).T.tocsr()
        built = _Index(
            tuple((r[0], r[2].version) for r in rows),
            [r[0] for r in rows],
            [r[1] for r in rows],
            titles,
            vectoriser,
            matrix,
        )
        _indexes[language] = built
        return built


def any_active(session: Session) -> bool:
    return (
        session.scalar(
            select(KnowledgeArticle.id).where(KnowledgeArticle.active.is_(True)).limit(1)
        )
        is not None
    )


def suggest_articles(session: Session, *, text: str, language: str) -> list[dict[str, Any]]:
    """At most three ``{"id", "slug", "title", "score"}`` of active articles like ``text``,
    most alike first, none under THRESHOLD."""
    if len(text.strip()) < 3:
        return []
    index = _index(session, language)
    if index is None:
        return []
    from sklearn.preprocessing import normalize

    query = normalize(index.vectoriser.transform([normalise(text)[:2000]]))
    # Rows and articles both unit-length over the union of word and character n-grams: the
    # cosine of the two.
    scores = (query @ index.matrix).toarray().ravel()
    order = scores.argsort()[::-1][:MAX_SUGGESTIONS]
    return [
        {
            "id": index.ids[i],
            "slug": index.slugs[i],
            "title": index.titles[i],
            "score": round(float(scores[i]), 3),
        }
        for i in order
        if scores[i] >= THRESHOLD
    ]


# -- events and figures -----------------------------------------------------------------------


def record(
    session: Session, *, kind: str, now: datetime, article_id: int | None, visit: str | None
) -> bool:
    """One event; "suggested" only once per visit and article. True when written."""
    assert kind in KINDS
    if kind == "suggested" and visit is not None:
        seen = session.scalar(
            select(KnowledgeArticleEvent.id)
            .where(
                KnowledgeArticleEvent.visit == visit,
                KnowledgeArticleEvent.kind == kind,
                KnowledgeArticleEvent.article_id == article_id,
            )
            .limit(1)
        )
        if seen is not None:
            return False
    session.add(
        KnowledgeArticleEvent(article_id=article_id, kind=kind, visit=visit, occurred_at=now)
    )
    session.flush()
    return True


def deflections(
    session: Session,
    *,
    now: datetime,
    since: datetime | None = None,
    until: datetime | None = None,
) -> int:
    """Visits that opened a suggested article at least DEFLECTION_WINDOW ago (at or after
    ``since``, before ``until``) and filed no request after it. A visit ends when it files
    (the key is dropped) or when the browser session does; a request filed later in the same
    visit still cancels the deflection, so a figure read inside the window undercounts, never
    overcounts."""
    opened = aliased(KnowledgeArticleEvent)
    filed = aliased(KnowledgeArticleEvent)
    conditions = [
        opened.kind == "opened",
        opened.visit.is_not(None),
        opened.occurred_at <= now - DEFLECTION_WINDOW,
        ~exists().where(
            filed.visit == opened.visit,
            filed.kind == "filed",
            filed.occurred_at >= opened.occurred_at,
        ),
    ]
    if since is not None:
        conditions.append(opened.occurred_at >= since)
    if until is not None:
        conditions.append(opened.occurred_at < until)
    return session.scalar(select(func.count(func.distinct(opened.visit))).where(*conditions)) or 0


def metrics(
    session: Session,
    now: datetime,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
) -> dict[str, int]:
    """Figures for the public algorithm register: articles suggested (once per visit and
    article), opened from a suggestion, deflections (counted as described above), answers
    "yes, it answered my question" and "no" — of the events at or after ``since`` and before
    ``until`` (and not after ``now``). Counting every event of a large city takes seconds: the
    register reads these per month from the report roll-ups (``portal.reports.assistance``)."""
    where = [KnowledgeArticleEvent.occurred_at <= now]
    if since is not None:
        where.append(KnowledgeArticleEvent.occurred_at >= since)
    if until is not None:
        where.append(KnowledgeArticleEvent.occurred_at < until)
    counts = dict(
        session.execute(
            select(KnowledgeArticleEvent.kind, func.count())
            .where(*where)
            .group_by(KnowledgeArticleEvent.kind)
        ).all()
    )
    return {
        "suggested": counts.get("suggested", 0),
        "opened": counts.get("opened", 0),
        "deflections": deflections(session, now=now, since=since, until=until),
        "helpful": counts.get("helpful", 0),
        "not_helpful": counts.get("not_helpful", 0),
    }
