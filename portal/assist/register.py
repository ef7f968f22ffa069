"""The public algorithm register (issue 22): each assistance feature described the way the
Dutch algorithm register (algoritmes.overheid.nl) describes one: its purpose, the data it
uses, the human decision it supports, the rule that keeps a person in the loop, its accuracy
at the last evaluation, when it was last trained, whether it is on now, and the setting that
switches it off.

One entry is one small function ``(session, settings, now) -> Entry`` in ``ENTRIES``; the
live figures come from what the feature recorded (the category model's held-out evaluation
in ``assist_models``, ...), never from a copy. Texts are message ids (``_l``) translated where
they are shown; figures are a message id and its values, formatted in the reader's language
by the page. No Flask here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from portal.assist import articles, categories, duplicates, themes
from portal.core.config import Settings
from portal.core.db import Database
from portal.core.i18n import _l


@dataclass(frozen=True)
class Figure:
    """A measured figure in words: ``message`` (a message id with ``%(name)s`` fields) and
    its values; a value in ``shares`` is a fraction shown as a percentage, in ``counts`` a
    whole number, in ``words`` a message id shown translated."""

    message: str
    shares: Mapping[str, float] = field(default_factory=dict)
    counts: Mapping[str, int] = field(default_factory=dict)
    words: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Entry:
    key: str
    name: str
    purpose: str
    data: str
    decision: str
    person: str
    #: The environment variable that switches the feature off (None: there is none yet), and
    #: whether it is on now.
    setting: str | None
    on: bool
    #: The figures of the last evaluation (empty: ``not_evaluated`` says why).
    accuracy: list[Figure]
    not_evaluated: str | None
    #: When the city last trained it (None: ``training`` says why there is no date).
    trained_at: datetime | None
    training: str


#: Figures counted elsewhere and passed in, by entry key: the article events and duplicate
#: decisions of a large city take long to count, so the page passes the last 12 months from the
#: report roll-ups (``portal.reports.assistance``); without them an entry counts its own, live.
Measured = Mapping[str, Mapping[str, int]]
#: The window of the figures an entry counts live.
YEAR = timedelta(days=365)
#: ``(db, session, settings, now) -> figures`` by entry key: who counts an entry's figures
#: elsewhere. The report roll-ups sit above this package, so they register themselves here
#: at start-up (``portal.reports.assistance.connect``) instead of being imported.
Measurer = Callable[[Database, Session, Settings, datetime], Mapping[str, int]]
MEASURERS: dict[str, Measurer] = {}


def register_measurer(key: str, measurer: Measurer) -> None:
    MEASURERS[key] = measurer


def measured_elsewhere(
    db: Database, session: Session, settings: Settings, now: datetime
) -> dict[str, Mapping[str, int]]:
    """The figures every registered measurer counts, for ``register(measured=...)``."""
    return {key: measurer(db, session, settings, now) for key, measurer in MEASURERS.items()}


LANGUAGE_NAMES = {"all": _l("all languages"), "en": _l("English"), "es": _l("Spanish")}


def category_suggestion(
    session: Session, settings: Settings, now: datetime, measured: Measured
) -> Entry:
    model = categories.latest_model(session)
    accuracy = []
    if model is not None:
        for language, figures in sorted((model.metrics or {}).items()):
            if not isinstance(figures, dict) or not figures.get("n"):
                continue
            accuracy.append(
                Figure(
                    _l(
                        "%(language)s: the right category first for %(top1)s and among the "
                        "three offered for %(top3)s of %(n)s held-out requests"
                    ),
                    shares={"top1": figures.get("top1", 0.0), "top3": figures.get("top3", 0.0)},
                    counts={"n": int(figures["n"])},
                    words={"language": LANGUAGE_NAMES.get(language, language)},
                )
            )
    return Entry(
        key="categories",
        name=_l("Category suggestion"),
        purpose=_l(
            "While a resident describes a problem, offer the three categories it most likely "
            "belongs to, so that the request reaches the right team."
        ),
        data=_l(
            "The descriptions and categories of earlier requests whose category staff "
            "confirmed or corrected. No names, addresses or photos. Trained on this city's "
            "server; nothing is sent elsewhere."
        ),
        decision=_l("The resident chooses the category; staff can change it on every request."),
        person=_l(
            "Suggestions are only offered: the full list of categories is always one step "
            "away, below the confidence threshold nothing is suggested, and staff "
            "re-categorisations are counted on the department scorecard."
        ),
        setting="PORTAL_ASSIST_CATEGORIES",
        on=settings.assist_categories,
        accuracy=accuracy,
        not_evaluated=None
        if accuracy
        else (
            _l("Not trained yet.")
            if model is None
            else _l("The last training had no held-out requests to measure.")
        ),
        trained_at=model.trained_at if model is not None else None,
        training=_l("Not trained yet.")
        if model is None
        else _l("Retrained every week from the requests staff confirmed."),
    )


def language_detection(
    session: Session, settings: Settings, now: datetime, measured: Measured
) -> Entry:
    # The detector ships trained in its package; the figures are its evaluation on the
    # project's 100 short resident texts (tests/assist/short_texts.tsv, December 2026).
    return Entry(
        key="language",
        name=_l("Language detection"),
        purpose=_l(
            "Name the language a resident wrote in, so that staff who read another language "
            "can be offered a translation."
        ),
        data=_l("The text of the request, the resident's messages and survey comments."),
        decision=_l("Staff decide whether they need a translation to answer."),
        person=_l(
            "It only labels the text; when it is unsure it names no language, and nothing is "
            "routed or answered by it."
        ),
        setting="PORTAL_ASSIST_LANGUAGE",
        on=settings.assist_language,
        accuracy=[
            Figure(
                _l(
                    "%(right)s of %(n)s short resident texts named correctly, %(unsure)s left "
                    "unnamed, %(wrong)s wrong (evaluated December 2026)"
                ),
                counts={"right": 99, "n": 100, "unsure": 1, "wrong": 0},
            )
        ],
        not_evaluated=None,
        trained_at=None,
        training=_l(
            "Not trained by the city: py3langid's model, which comes inside the software package."
        ),
    )


def machine_translation(
    session: Session, settings: Settings, now: datetime, measured: Measured
) -> Entry:
    return Entry(
        key="translation",
        name=_l("Machine translation"),
        purpose=_l(
            "Show staff a translation of what a resident wrote in another of the city's "
            "languages (English and Spanish)."
        ),
        data=_l("The text staff ask to translate, on this city's server (Apertium)."),
        decision=_l("Staff read the resident's own words and decide how to answer."),
        person=_l(
            "Only made when staff ask for it, always labelled as a machine translation and "
            "shown under the original, which is kept unchanged."
        ),
        setting="PORTAL_ASSIST_TRANSLATE",
        on=settings.assist_language and settings.assist_translate,
        accuracy=[],
        not_evaluated=_l(
            "Not measured by the city: Apertium is a rule-based translator, so the original "
            "is always shown with it."
        ),
        trained_at=None,
        training=_l("Not trained by the city: Apertium's English–Spanish rules from Debian."),
    )


def possible_duplicates(
    session: Session, settings: Settings, now: datetime, measured: Measured
) -> Entry:
    counts = measured.get("duplicates") or duplicates.decision_counts(
        session, since=now - YEAR, until=now
    )
    figures: dict[str, Any] = {
        **counts,
        "precision": duplicates.precision_of(counts),
        "minimum": duplicates.MIN_DECIDED,
        "evaluation": dict(duplicates.EVALUATION),
    }
    accuracy = []
    if figures["precision"] is not None:
        accuracy.append(
            Figure(
                _l(
                    "In the last 12 months staff decided on %(likely)s pairs it called likely "
                    "duplicates and merged %(precision)s of them (%(decided)s possible "
                    "duplicates decided in all: %(merged)s merged, %(dismissed)s dismissed)"
                ),
                shares={"precision": float(figures["precision"])},
                counts={
                    "likely": int(figures["likely_decided"]),
                    "decided": int(figures["decided"]),
                    "merged": int(figures["merged"]),
                    "dismissed": int(figures["dismissed"]),
                },
            )
        )
    else:
        accuracy.append(
            Figure(
                _l(
                    "Not enough decisions yet: in the last 12 months staff decided on "
                    "%(likely)s pairs it called likely duplicates; the share they merged is "
                    "shown from %(minimum)s"
                ),
                counts={
                    "likely": int(figures["likely_decided"]),
                    "minimum": int(figures["minimum"]),
                },
            )
        )
    evaluation = figures.get("evaluation") or {}
    if evaluation.get("pairs"):
        accuracy.append(
            Figure(
                _l(
                    "Before use, on made-up reports (the software's benchmark, %(pairs)s "
                    "labelled pairs, evaluated %(day)s): of the pairs it called likely "
                    "duplicates, %(precision)s were; it found %(recall)s of the real duplicates"
                ),
                shares={
                    "precision": float(evaluation.get("precision", 0.0)),
                    "recall": float(evaluation.get("recall", 0.0)),
                },
                counts={"pairs": int(evaluation["pairs"])},
                words={"day": str(evaluation.get("evaluated", ""))},
            )
        )
    return Entry(
        key="duplicates",
        name=_l("Possible duplicates"),
        purpose=_l(
            "When a request is filed, point staff to earlier requests that may report the "
            "same problem, so that one case is worked on instead of several."
        ),
        data=_l(
            "The place, category, time and words of requests filed nearby, and whether "
            "their photos look the same. Computed on this city's server."
        ),
        decision=_l("Staff decide whether two requests are the same problem and merge them."),
        person=_l(
            "Nothing is merged automatically: staff see each possible duplicate with the "
            "reasons for it, and merge or dismiss it themselves."
        ),
        setting="PORTAL_ASSIST_DUPLICATES",
        on=settings.assist_duplicates,
        accuracy=accuracy,
        not_evaluated=None if accuracy else _l("Not evaluated yet."),
        trained_at=None,
        training=_l(
            "Not trained: weights and thresholds chosen by measurement on labelled pairs "
            "and kept in the software."
        ),
    )


def knowledge_articles(
    session: Session, settings: Settings, now: datetime, measured: Measured
) -> Entry:
    figures = measured.get("articles") or articles.metrics(session, now, since=now - YEAR)
    answered = figures["helpful"] + figures["not_helpful"]
    accuracy = []
    if figures["suggested"]:
        accuracy.append(
            Figure(
                _l(
                    "In the last 12 months: suggested %(suggested)s times; opened "
                    "%(opened)s times; visits that read an article and filed no request: "
                    "%(deflections)s"
                ),
                counts={
                    "suggested": figures["suggested"],
                    "opened": figures["opened"],
                    "deflections": figures["deflections"],
                },
            )
        )
    if answered:
        accuracy.append(
            Figure(
                _l(
                    "%(helpful)s of the residents who answered in the last 12 months said it "
                    "answered their question"
                ),
                shares={"helpful": figures["helpful"] / answered},
            )
        )
    return Entry(
        key="articles",
        name=_l("Answers before requests"),
        purpose=_l(
            "While a resident describes a problem, offer the city's short articles that may "
            "already answer it."
        ),
        data=_l(
            "The words the resident is typing, compared on this city's server with the "
            "articles' titles and texts; visits are counted without anything personal."
        ),
        decision=_l("The resident decides whether the article answers them or to file."),
        person=_l(
            "An article is only offered: filing is always one step away, and nothing is "
            "filed, closed or answered by it."
        ),
        setting="PORTAL_ASSIST_ARTICLES",
        on=settings.assist_articles,
        accuracy=accuracy,
        not_evaluated=None if accuracy else _l("Not suggested to anyone yet."),
        trained_at=None,
        training=_l("Not trained: the articles' words are compared with the resident's."),
    )


def themes_heard(session: Session, settings: Settings, now: datetime, measured: Measured) -> Entry:
    last = themes.last_computed(session)
    return Entry(
        key="themes",
        name=_l("Themes heard"),
        purpose=_l(
            "Tell staff what residents' descriptions and survey comments in each area are "
            "about, week by week and month by month, so that nobody has to read thousands "
            "of texts to hear a neighbourhood."
        ),
        data=_l(
            "The words of the period's requests and survey comments, with their area and "
            "category. The examples shown to staff have names, email addresses, phone "
            "numbers and house numbers taken out."
        ),
        decision=_l("Supervisors decide what to look into and what to do about it."),
        person=_l(
            "Themes are only shown to staff, on the hotspots page and in the weekly digest; "
            "nothing about a request is decided or changed by them."
        ),
        setting="PORTAL_ASSIST_THEMES",
        on=settings.assist_themes,
        accuracy=[],
        not_evaluated=_l(
            "Not a prediction, so there is no accuracy to measure: texts are grouped by the "
            "words they share, and each theme shows its words and examples to be read."
        ),
        trained_at=last,
        training=_l("Grouped again each week and each month from that period's texts.")
        if last is not None
        else _l("Not grouped yet."),
    )


#: The register, in the order shown. Adding a feature is adding its function here.
ENTRIES: list[Callable[[Session, Settings, datetime, Measured], Entry]] = [
    category_suggestion,
    language_detection,
    machine_translation,
    possible_duplicates,
    knowledge_articles,
    themes_heard,
]


def register(
    session: Session, *, settings: Settings, now: datetime, measured: Measured | None = None
) -> list[Entry]:
    """Every entry with its live figures (those in ``measured`` counted already)."""
    return [entry(session, settings, now, measured or {}) for entry in ENTRIES]


__all__ = [
    "ENTRIES",
    "Entry",
    "Figure",
    "Measured",
    "measured_elsewhere",
    "register",
    "register_measurer",
]
