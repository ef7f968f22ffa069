"""Themes heard (issue 22): per area and period, what residents' descriptions and survey
comments are about, grouped into a handful of named themes: their top terms, how many texts,
how many the period before (the trend), and three example texts with names, emails, phone
numbers and house numbers taken out.

**How.** Texts are folded (``portal.assist.text.normalise``) and read as TF-IDF weights of
words (English and Spanish stop words, place words and fillers left out). The vocabulary is
made once per period from the whole city's texts and kept to the terms whose use depends on
the requests' category (chi-squared p-value under ``SIGNIFICANCE``, at most ``KEPT_TERMS``):
street names, greetings, typos and fillers, shared by every kind of problem, make no theme.
Each area's texts are grouped by k-means (on unit rows: cosine) into ``min(CLUSTERS,
texts // TEXTS_PER_THEME, sqrt(texts / 2))`` groups; groups whose centres are alike
(``MERGE``) are joined, and the ``MAX_THEMES`` largest coherent ones are the area's themes.
K-means rather than NMF topics: k-means gives each text one theme, so a theme has a size that
adds up ("14 comments about ...") and a trend, and fits an area's month in a fraction of a
second; NMF gives each text a mixture of topics and no count to report. A group of fewer than
``MIN_SIZE`` texts, or a loose one (``MIN_COHESION``: the texts sharing no telling word with
any theme gather in one), is not a theme. A theme is named by the word pair most of its texts
share ("loud music"), else by its two top terms. The trend counts the previous period's texts
of the area that fall as close to the theme's centre as nine in ten of this period's, so "up
from 3" compares like with like. The fits read at most ``SAMPLE`` texts (a seeded sample);
every text is then counted.

**What it never does.** It groups and counts words; it decides nothing about a case, and its
examples are shown to staff only after ``scrub`` (and only in the hotspots page and digest,
which staff see). The worker computes themes once a week and month into ``assist_themes``
(``store``); pages read that table (``read``). Switched off (``PORTAL_ASSIST_THEMES``) or
failing, nothing is computed and the pages show no themes, as before. No Flask here.
"""

from __future__ import annotations

import logging
import math
import re
import warnings
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any, cast

import numpy as np
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from portal.assist.models import AssistTheme
from portal.assist.text import normalise
from portal.requests.models import ServiceRequest
from portal.surveys.models import SurveyResponse, SurveyVersion

log = logging.getLogger(__name__)

#: At most this many themes an area and period (the largest of up to ``CLUSTERS`` groups:
#: more groups than themes keeps each one about one thing).
MAX_THEMES = 5
CLUSTERS = 12
#: One theme for every this many texts (an area with fewer than 2 x this has no themes).
TEXTS_PER_THEME = 6
#: A cluster of fewer texts, or whose texts are less alike than this (mean cosine
#: similarity to its centre: the texts that share no words with any theme gather in one
#: loose cluster), is not a theme.
MIN_SIZE = 3
MIN_COHESION = 0.3
#: A theme is named by a word pair in at least this share of its (nearest ``PAIR_TEXTS``)
#: texts.
PAIR_SHARE = 0.3
PAIR_TEXTS = 500
#: Words of three letters or more.
TOKEN = r"(?u)\b[^\W\d_]{3,}\b"
#: Groups whose centres are at least this alike (cosine) are one theme.
MERGE = 0.4
#: The fits read at most this many texts (then every text is counted).
SAMPLE = 20_000
#: A period's vocabulary keeps the terms whose use depends on the category (chi-squared
#: p-value under ``SIGNIFICANCE``), at most ``KEPT_TERMS`` of the most telling.
KEPT_TERMS = 1500
SIGNIFICANCE = 0.05
#: Terms shown for a theme; example texts; characters of an example.
TERMS = 5
#: A term lighter than this in a theme's centre is not one of its terms.
TERM_WEIGHT = 0.05
EXAMPLES = 3
EXAMPLE_CHARS = 240

#: Words that say nothing about a problem, in the city's languages (folded, no accents).
_STOP_TEXT = """
    a about after again all also am an and any are as at be been before being both but by can
    could did do does doing down each few for from had has have having he her here him his how
    i if in into is it its just me more most my no nor not now of off on once only or other our
    out over own please same she should so some still such than that the their them then there
    these they this those through to too under until up very was we were what when where which
    while who why will with would you your there's theres its im ive dont cant its pls thanks
    thank hi hello 0 email url
    al algo ante antes aqui asi aun bien cada casi como con cual cuando de del desde donde dos
    el ella ellas ellos en entre era es esa ese eso esta estan estas este esto estos fue gracias
    ha hace hay hola la las le les lo los mas me mi mis muy nada ni no nos nuestra nuestro o os
    otra otro para pero poco por porque pues que se ser si sin sobre son su sus tambien tan te
    tiene tienen todo todos tu un una uno unos ya yo favor hoy
    near outside front behind across next corner house street road avenue ave lane side
    block right left every day days week weeks again someone going get got please help fyi
    still since last today yesterday morning night tonight hey guys just really one two
    calle esquina junto frente cerca casa enfrente afuera lado cuadra avenida vez dia dias
    semana semanas otra buenas buenos noche manana ayer urge ayuda alguien mucho mucha toda todas
"""
STOP_WORDS = frozenset(_STOP_TEXT.split())

_EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+\.[\w.-]+\b")
_URL = re.compile(r"\b(?:https?://|www\.)\S+", re.IGNORECASE)
_PHONE = re.compile(r"(?<!\w)\+?\d[\d ().-]{6,}\d(?!\w)")
#: A number (a house number, a flat) unless it counts something ("3 weeks", "2 días").
_NUMBER = re.compile(
    r"\b\d+[a-zA-Z]?\b(?!\s*(?:%|min|mins|minutes?|hours?|hrs?|days?|weeks?|months?|years?|"
    r"times?|cars?|meters?|metres?|feet|ft|m|km|horas?|d[ií]as?|semanas?|meses|mes|a[nñ]os?|"
    r"veces|metros?)\b)"
)
#: "My name is Ana Lopez", "soy Ana", "me llamo Ana": the words after are a name.
_INTRODUCED = re.compile(
    r"\b((?i:my name is|i am|i'm|this is|me llamo|mi nombre es|soy))\s+"
    r"([A-ZÁÉÍÓÚÑ][\w'-]*(?:\s+[A-ZÁÉÍÓÚÑ][\w'-]*)?)"
)
#: A capitalised word inside a sentence (a name of a person or a street), not "I".
_PROPER = re.compile(r"(?<=[\w,;:)…] )[A-ZÁÉÍÓÚÑ][a-záéíóúñü'-]+(?: [A-ZÁÉÍÓÚÑ][a-záéíóúñü'-]+)*")
_GAP = "…"
_GAPS = re.compile(r"…(?:[\s,]*…)+")
_SPACE = re.compile(r"\s+")


def scrub(text: str, names: Iterable[str] = ()) -> str:
    """``text`` as an example to show: emails, links, phone numbers, house numbers and names
    (the writer's known name, a name they introduce, capitalised words inside a sentence) are
    replaced by "…", whitespace collapsed, cut to ``EXAMPLE_CHARS``."""
    out = _EMAIL.sub(_GAP, text or "")
    out = _URL.sub(_GAP, out)
    out = _PHONE.sub(_GAP, out)
    for name in names:
        for part in (name or "").split():
            if len(part) > 1:
                out = re.sub(rf"\b{re.escape(part)}\b", _GAP, out, flags=re.IGNORECASE)
    out = _INTRODUCED.sub(lambda m: f"{m.group(1)} {_GAP}", out)
    out = _NUMBER.sub(_GAP, out)
    out = _PROPER.sub(_GAP, out)
    out = _GAPS.sub(_GAP, _SPACE.sub(" ", out).strip())
    if len(out) > EXAMPLE_CHARS:
        out = out[: EXAMPLE_CHARS - 1].rsplit(" ", 1)[0] + "…"
    return out


@dataclass(frozen=True)
class Text:
    """One resident text: what they wrote, the category of its request (None: unknown), and
    the names it must not show."""

    body: str
    category: int | None = None
    names: tuple[str, ...] = ()

    @cached_property
    def folded(self) -> str:
        """The words the grouping reads (``normalise``: folded, numbers and links masked),
        made once."""
        return normalise(self.body)


@dataclass
class Theme:
    label: str
    terms: list[str]
    size: int
    previous: int
    examples: list[str] = field(default_factory=list)
    #: How alike its texts are: their mean cosine similarity to the theme's centre.
    cohesion: float = 0.0


def _vectoriser() -> Any:
    from sklearn.feature_extraction.text import TfidfVectorizer

    return TfidfVectorizer(
        lowercase=False,  # the texts are folded already (Text.folded)
        token_pattern=TOKEN,
        stop_words=sorted(STOP_WORDS),
        min_df=3,
        max_df=0.6,
        max_features=50_000,
        sublinear_tf=True,
        dtype=np.float32,
    )


@dataclass
class Vocabulary:
    """The terms themes are made of: TF-IDF over the whole city's texts of the period, kept
    to the ``KEPT_TERMS`` that best tell the requests' categories apart (chi-squared), so
    that street names, greetings, fillers and typos, which every kind of problem shares,
    make no theme."""

    vectoriser: Any
    columns: np.ndarray
    terms: np.ndarray

    def matrix(self, bodies: Sequence[str]) -> Any:
        from sklearn.preprocessing import normalize

        return normalize(self.vectoriser.transform(bodies)[:, self.columns])


def vocabulary(texts: Sequence[Text], *, seed: int = 0) -> Vocabulary | None:
    """The vocabulary of a period's texts (a seeded sample of ``SAMPLE`` for the fit), or
    None when they have no terms in common."""
    if not texts:
        return None
    from sklearn.feature_selection import chi2

    rng = np.random.default_rng(seed)
    rows = (
        np.sort(rng.choice(len(texts), SAMPLE, replace=False))
        if len(texts) > SAMPLE
        else np.arange(len(texts))
    )
    vectoriser = _vectoriser()
    try:
        matrix = vectoriser.fit_transform([texts[i].folded for i in rows])
    except ValueError:  # no term in enough texts
        return None
    names = vectoriser.get_feature_names_out()
    labelled = np.array([texts[i].category is not None for i in rows])
    categories = {texts[i].category for i in rows} - {None}
    if len(categories) >= 2:
        scores, p_values = chi2(
            matrix[labelled],
            [texts[i].category for i, ok in zip(rows, labelled, strict=True) if ok],
        )
        ranked = np.argsort(-np.nan_to_num(scores), kind="stable")
        telling = [i for i in ranked if p_values[i] < SIGNIFICANCE][:KEPT_TERMS]
        columns = np.sort(np.array(telling or ranked[:KEPT_TERMS], dtype=int))
    else:
        columns = np.arange(matrix.shape[1])
    return Vocabulary(vectoriser, columns, names[columns])


def _pair(bodies: Sequence[str], terms: Sequence[str]) -> str | None:
    """The word pair most of ``bodies`` share (in at least ``PAIR_SHARE`` of them, one of its
    words among the theme's top three terms), or None."""
    from sklearn.feature_extraction.text import CountVectorizer

    counter = CountVectorizer(
        lowercase=False,
        token_pattern=TOKEN,
        stop_words=sorted(STOP_WORDS),
        ngram_range=(2, 2),
        binary=True,
    )
    try:
        counts = counter.fit_transform(bodies)
    except ValueError:  # no pair at all
        return None
    totals = np.asarray(counts.sum(axis=0)).ravel()
    top = set(terms[:3])
    for i in np.argsort(-totals, kind="stable"):
        if totals[i] < max(2, PAIR_SHARE * len(bodies)):
            return None
        pair = str(counter.get_feature_names_out()[i])
        if top & set(pair.split()):
            return pair
    return None


def _label(terms: Sequence[str], bodies: Sequence[str]) -> str:
    """A theme's name: the word pair its texts share ("loud music"), else its top two terms."""
    return _pair(bodies, terms) or " · ".join(terms[:2])


def _unit(rows: np.ndarray) -> np.ndarray:
    return rows / np.maximum(np.linalg.norm(rows, axis=1, keepdims=True), 1e-12)


def _merged(centres: np.ndarray) -> np.ndarray:
    """Centres as alike as ``MERGE`` (cosine) joined into one (their mean): k-means splits
    one big theme in several when it is asked for more groups than there are themes."""
    groups = list(range(len(centres)))

    def root(i: int) -> int:
        while groups[i] != i:
            i = groups[i]
        return i

    similarity = centres @ centres.T
    for i in range(len(centres)):
        for j in range(i + 1, len(centres)):
            if similarity[i, j] >= MERGE:
                groups[root(j)] = root(i)
    roots = sorted({root(i) for i in range(len(centres))})
    return _unit(
        np.array(
            [centres[[i for i in range(len(centres)) if root(i) == r]].mean(axis=0) for r in roots]
        )
    )


def find_themes(
    texts: Sequence[Text],
    previous: Sequence[Text] = (),
    *,
    words: Vocabulary | None = None,
    seed: int = 0,
) -> list[Theme]:
    """The themes of ``texts`` (largest first, at most ``MAX_THEMES``), with the trend
    against ``previous``; [] when there are too few texts or words to group. ``words`` is
    the period's vocabulary (by default, made from ``texts``)."""
    if len(texts) < 2 * TEXTS_PER_THEME:
        return []
    words = words or vocabulary(texts, seed=seed)
    if words is None or not len(words.columns):
        return []
    from sklearn.cluster import KMeans
    from sklearn.exceptions import ConvergenceWarning

    rng = np.random.default_rng(seed)
    matrix = words.matrix([t.folded for t in texts])
    known = np.flatnonzero(matrix.getnnz(axis=1) > 0)
    fit_rows = np.sort(rng.choice(known, SAMPLE, replace=False)) if len(known) > SAMPLE else known
    k = min(CLUSTERS, len(known) // TEXTS_PER_THEME, round(math.sqrt(len(known) / 2)))
    if k < 2:
        return []
    with warnings.catch_warnings():
        # Fewer distinct texts than groups (the same words again and again) is expected:
        # the empty groups make no theme.
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = KMeans(n_clusters=k, random_state=seed, n_init=1, max_iter=100).fit(
            matrix[fit_rows]
        )
    centres = _merged(_unit(model.cluster_centers_))
    k = centres.shape[0]

    def assign(rows: Any) -> tuple[np.ndarray, np.ndarray]:
        if rows.shape[0] == 0:
            return np.zeros(0, dtype=int), np.zeros(0)
        similarity = np.asarray(rows @ centres.T)
        similarity[rows.getnnz(axis=1) == 0] = -1.0  # no known word: no theme
        return similarity.argmax(axis=1), similarity.max(axis=1)

    labels, closeness = assign(matrix)
    before, before_closeness = assign(
        words.matrix([t.folded for t in previous]) if previous else matrix[:0]
    )
    groups = []
    for cluster in range(k):
        members = np.flatnonzero((labels == cluster) & (closeness > 0))
        cohesion = float(closeness[members].mean()) if len(members) else 0.0
        if len(members) >= MIN_SIZE and cohesion >= MIN_COHESION:
            groups.append((cluster, members, cohesion))
    # Only the largest are named and shown (naming reads their texts again).
    groups = sorted(groups, key=lambda g: (-len(g[1]), g[0]))[:MAX_THEMES]
    themes = []
    for cluster, members, cohesion in groups:
        floor = float(np.quantile(closeness[members], 0.1))
        terms = [
            str(words.terms[i])
            for i in np.argsort(-centres[cluster])[:TERMS]
            if centres[cluster][i] >= TERM_WEIGHT
        ]
        nearest = members[np.argsort(-closeness[members], kind="stable")]
        examples: list[str] = []
        for i in nearest:
            shown = scrub(texts[i].body, texts[i].names)
            if shown and shown not in examples:
                examples.append(shown)
            if len(examples) == EXAMPLES:
                break
        themes.append(
            Theme(
                label=_label(terms, [texts[i].folded for i in nearest[:PAIR_TEXTS]]),
                terms=terms,
                size=len(members),
                previous=int(((before == cluster) & (before_closeness >= floor)).sum()),
                examples=examples,
                cohesion=round(cohesion, 3),
            )
        )
    return sorted(themes, key=lambda t: (-t.size, t.label))


# -- reading the texts, storing and reading the themes -----------------------------------------


def area_texts(session: Session, start: datetime, end: datetime) -> dict[int, list[Text]]:
    """The period's resident texts by area: request descriptions (by filing time,
    ``ix_service_requests_created_id``) and survey comments (by answering time, the area and
    category of their request); texts without an area are left out."""
    found: dict[int, list[Text]] = defaultdict(list)
    descriptions = session.execute(
        select(
            ServiceRequest.area_id,
            ServiceRequest.category_id,
            ServiceRequest.description,
            ServiceRequest.contact_name,
        )
        .where(
            ServiceRequest.created_at >= start,
            ServiceRequest.created_at < end,
            ServiceRequest.area_id.is_not(None),
            ServiceRequest.description != "",
        )
        .execution_options(yield_per=5000)
    )
    for area_id, category_id, body, name in descriptions:
        found[cast(int, area_id)].append(Text(body, category_id, (name,) if name else ()))
    keys = sorted(session.scalars(select(SurveyVersion.survey_key).distinct()))
    if keys:
        comments = session.execute(
            select(
                ServiceRequest.area_id,
                ServiceRequest.category_id,
                SurveyResponse.comment,
                ServiceRequest.contact_name,
            )
            .select_from(SurveyResponse)
            .join(ServiceRequest, ServiceRequest.id == SurveyResponse.request_id)
            .where(
                SurveyResponse.survey_key.in_(keys),
                SurveyResponse.created_at >= start,
                SurveyResponse.created_at < end,
                func.trim(SurveyResponse.comment) != "",
                ServiceRequest.area_id.is_not(None),
            )
        )
        for area_id, category_id, body, name in comments:
            found[cast(int, area_id)].append(Text(body, category_id, (name,) if name else ()))
    return found


def compute(
    session: Session,
    *,
    start: datetime,
    end: datetime,
    previous_start: datetime,
) -> dict[int, list[Theme]]:
    """Every area's themes for ``[start, end)``, with the trend against ``[previous_start,
    start)``: one vocabulary for the whole city's texts of the period, then each area's
    texts grouped."""
    now_texts = area_texts(session, start, end)
    words = vocabulary([t for texts in now_texts.values() for t in texts])
    if words is None:
        return {}
    before_texts = area_texts(session, previous_start, start)
    out = {}
    for area_id, texts in sorted(now_texts.items()):
        themes = find_themes(texts, before_texts.get(area_id, []), words=words)
        if themes:
            out[area_id] = themes
    return out


def store(
    session: Session,
    *,
    kind: str,
    key: str,
    themes: dict[int, list[Theme]],
    now: datetime,
) -> int:
    """Replace the stored themes of period ``kind``/``key`` with ``themes``; how many."""
    session.execute(
        delete(AssistTheme).where(AssistTheme.period_kind == kind, AssistTheme.period_key == key)
    )
    rows = [
        AssistTheme(
            period_kind=kind,
            period_key=key,
            area_id=area_id,
            position=position,
            label=theme.label[:200],
            terms=theme.terms,
            size=theme.size,
            previous=theme.previous,
            examples=theme.examples,
            computed_at=now,
        )
        for area_id, area_themes in themes.items()
        for position, theme in enumerate(area_themes)
    ]
    session.add_all(rows)
    session.flush()
    return len(rows)


def read(session: Session, *, kind: str, key: str, area_id: int | None = None) -> list[AssistTheme]:
    """The stored themes of a period (of one area, or every area), by area then position."""
    query = select(AssistTheme).where(
        AssistTheme.period_kind == kind, AssistTheme.period_key == key
    )
    if area_id is not None:
        query = query.where(AssistTheme.area_id == area_id)
    return list(session.scalars(query.order_by(AssistTheme.area_id, AssistTheme.position)))


def last_computed(session: Session) -> datetime | None:
    """When themes were last computed (the algorithm register shows it)."""
    return session.scalar(select(func.max(AssistTheme.computed_at)))


__all__ = [
    "MAX_THEMES",
    "Text",
    "Theme",
    "Vocabulary",
    "area_texts",
    "compute",
    "find_themes",
    "last_computed",
    "read",
    "scrub",
    "store",
    "vocabulary",
]
