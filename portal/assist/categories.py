"""Category suggestion (issue 22): which categories a resident's description most likely belongs
to, from a model trained on the city's own requests, on the city's machine.

- ``train(examples)`` fits word (1-2) and character (2-5, within words) TF-IDF n-grams of the
  normalised text (portal.assist.text) and a linear model (logistic loss), all languages
  together; its metrics are top 1 and top 3 accuracy per language on the most recent month held out.
- ``confirmed_examples(session)`` are the training data: requests whose category staff
  confirmed or corrected, i.e. with a status change or an internal entry by staff (casework's
  re-categorisation is one), not rejected, with a description. The final category counts.
- ``retrain(...)`` saves a new version (joblib) under ``<upload_dir>/assist`` and records it in
  ``assist_models`` with its metrics and SHA-256.
- ``suggest(...)`` answers up to three active categories with their confidence, in the
  request's language; nothing below the threshold. It fails open: switched off, no model, a
  file missing or not matching its SHA-256 → no suggestions (logged), never an error.

No Flask here: plain functions over a session, the settings and ``now``.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from portal.assist.models import AssistModel
from portal.assist.text import normalise
from portal.catalogue.models import ServiceCategory
from portal.core.config import Settings
from portal.requests.models import Event, ServiceRequest

log = logging.getLogger(__name__)

FEATURE = "categories"
MAX_SUGGESTIONS = 3
#: Descriptions are cut to this many characters before they are read (the form's limit is
#: larger; the first lines say what the problem is).
MAX_CHARS = 2000
RETRAIN_EVERY = timedelta(days=7)
HELD_OUT = timedelta(days=30)


@dataclass(frozen=True)
class Example:
    text: str
    language: str
    category: str
    created_at: datetime


@dataclass
class Trained:
    pipeline: Any
    classes: list[str]
    examples: int
    languages: list[str]
    metrics: dict[str, Any] = field(default_factory=dict)


# -- training ---------------------------------------------------------------------------------


def build_features() -> Any:
    """Word 1-2 grams and character 2-5 grams (within word boundaries: typos and Spanish
    inflections still share most of their grams), sublinear TF-IDF."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import FeatureUnion

    return FeatureUnion(
        [
            (
                "word",
                TfidfVectorizer(
                    analyzer="word",
                    ngram_range=(1, 2),
                    min_df=1,
                    max_features=200_000,
                    sublinear_tf=True,
                    dtype=_float32(),
                ),
            ),
            (
                "char",
                TfidfVectorizer(
                    analyzer="char_wb",
                    ngram_range=(2, 5),
                    min_df=2,
                    max_features=300_000,
                    sublinear_tf=True,
                    dtype=_float32(),
                ),
            ),
        ]
    )


def build_model() -> Any:
    """A linear model with logistic loss (its probabilities are the confidences), one class
    against the rest on both cores."""
    from sklearn.linear_model import SGDClassifier

    return SGDClassifier(
        loss="log_loss", alpha=2e-5, max_iter=15, tol=1e-3, random_state=0, n_jobs=2
    )


def _float32() -> Any:
    import numpy

    return numpy.float32


def split(examples: Sequence[Example]) -> tuple[list[Example], list[Example]]:
    """(training, held out): the most recent month is held out; with less than a month of
    history (or nothing before it), the most recent tenth."""
    ordered = sorted(examples, key=lambda e: e.created_at)
    if not ordered:
        return [], []
    cut = ordered[-1].created_at - HELD_OUT
    train_part = [e for e in ordered if e.created_at <= cut]
    held = [e for e in ordered if e.created_at > cut]
    if len(train_part) < max(10, len(ordered) // 2):
        n = max(1, len(ordered) // 10)
        train_part, held = ordered[:-n], ordered[-n:]
    return train_part, held


def evaluate(pipeline: Any, examples: Sequence[Example]) -> dict[str, Any]:
    """Top 1 and top 3 accuracy per language (and "all"), with how many examples."""
    if not examples:
        return {}
    ranked = _rank_many(pipeline, [e.text for e in examples], MAX_SUGGESTIONS)
    tallies: dict[str, list[int]] = {}
    for example, ranking in zip(examples, ranked, strict=True):
        codes = [code for code, _ in ranking]
        for key in (example.language, "all"):
            tally = tallies.setdefault(key, [0, 0, 0])
            tally[0] += 1
            tally[1] += bool(codes) and codes[0] == example.category
            tally[2] += example.category in codes
    return {
        key: {"n": n, "top1": round(top1 / n, 4), "top3": round(top3 / n, 4)}
        for key, (n, top1, top3) in sorted(tallies.items())
    }


def train(examples: Sequence[Example], *, refit: bool = True) -> Trained:
    """Fit on all but the held-out month, measure on it, then (``refit``) fit the model again
    on everything for the version that is kept. With ``refit`` the n-gram vocabulary is read
    once from every text (no labels: the held-out month's words are known, not its
    categories); without it, from the training part only. Raises ValueError with fewer than
    two categories."""
    from sklearn.pipeline import Pipeline

    categories = {e.category for e in examples}
    if len(categories) < 2:
        raise ValueError("training needs examples of at least two categories")
    train_part, held = split(examples)
    if len({e.category for e in train_part}) < 2:
        train_part, held = list(examples), []
    ordered = [*train_part, *held]
    texts = [normalise(e.text)[:MAX_CHARS] for e in ordered]
    labels = [e.category for e in ordered]
    features = build_features()
    cut = len(train_part)
    if refit:
        matrix = features.fit_transform(texts)
        training_matrix = matrix[:cut]
    else:
        training_matrix = features.fit_transform(texts[:cut])
    model = build_model().fit(training_matrix, labels[:cut])
    pipeline = Pipeline([("features", features), ("model", model)])
    metrics = evaluate(pipeline, held)
    if refit and held:
        pipeline = Pipeline([("features", features), ("model", build_model().fit(matrix, labels))])
    return Trained(
        pipeline=pipeline,
        classes=[str(c) for c in pipeline.classes_],
        examples=len(examples),
        languages=sorted({e.language for e in examples}),
        metrics=metrics,
    )


def confirmed_examples(
    session: Session, *, limit: int | None = None, batch: int = 5000
) -> Iterator[Example]:
    """Requests whose category staff confirmed or corrected (a status change or an internal
    entry by staff: casework's re-categorisation is one), not rejected, with a description;
    the category they have now. With ``limit``, the most recent so many."""
    by_staff = exists().where(
        Event.request_id == ServiceRequest.id,
        Event.actor_kind == "staff",
        Event.kind.in_(("status_changed", "internal_note")),
    )
    query = (
        select(
            ServiceRequest.description,
            ServiceRequest.locale,
            ServiceCategory.code,
            ServiceRequest.created_at,
        )
        .join(ServiceCategory, ServiceCategory.id == ServiceRequest.category_id)
        .where(by_staff, ServiceRequest.status != "rejected", ServiceRequest.description != "")
        .order_by(ServiceRequest.created_at.desc(), ServiceRequest.id.desc())
        .limit(limit)
        .execution_options(yield_per=batch)
    )
    for description, locale, code, created_at in session.execute(query):
        yield Example(description, locale or "en", code, created_at)


# -- storage ----------------------------------------------------------------------------------


def model_dir(settings: Settings) -> Path:
    return Path(settings.upload_dir) / "assist"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def save(session: Session, *, settings: Settings, trained: Trained, now: datetime) -> AssistModel:
    """Write the model file (to a temporary name, then renamed) and record its version."""
    import joblib

    latest = session.scalar(
        select(AssistModel.version)
        .where(AssistModel.feature == FEATURE)
        .order_by(AssistModel.version.desc())
        .limit(1)
    )
    version = (latest or 0) + 1
    folder = model_dir(settings)
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{FEATURE}-v{version}.joblib"
    partial = folder / (name + ".part")
    joblib.dump({"pipeline": trained.pipeline, "classes": trained.classes}, partial, compress=3)
    os.replace(partial, folder / name)
    row = AssistModel(
        feature=FEATURE,
        version=version,
        trained_at=now,
        examples=trained.examples,
        languages=trained.languages,
        metrics=trained.metrics,
        file_name=name,
        sha256=_sha256(folder / name),
    )
    session.add(row)
    session.flush()
    # Files of versions before the previous one are removed (their rows stay: the history
    # of what was trained when, and how well).
    for old in session.scalars(
        select(AssistModel).where(AssistModel.feature == FEATURE, AssistModel.version < version - 1)
    ):
        (folder / old.file_name).unlink(missing_ok=True)
    return row


def latest_model(session: Session) -> AssistModel | None:
    return session.scalar(
        select(AssistModel)
        .where(AssistModel.feature == FEATURE)
        .order_by(AssistModel.version.desc())
        .limit(1)
    )


def retrain(
    session: Session,
    *,
    settings: Settings,
    now: datetime,
    examples: Iterable[Example] | None = None,
) -> AssistModel | None:
    """Train a new version from the confirmed requests (or ``examples``) and record it; None
    when there are fewer than ``assist_category_min_examples`` or only one category."""
    data = list(
        confirmed_examples(session, limit=settings.assist_category_max_examples)
        if examples is None
        else examples
    )
    if len(data) < settings.assist_category_min_examples or len({e.category for e in data}) < 2:
        return None
    trained = train(data)
    return save(session, settings=settings, trained=trained, now=now)


def retrain_due(session: Session, *, now: datetime) -> bool:
    latest = latest_model(session)
    return latest is None or now - latest.trained_at >= RETRAIN_EVERY


# -- suggesting -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Loaded:
    key: tuple[str, str, int, int]  # path, sha256, size, mtime_ns
    pipeline: Any
    classes: list[str]


_cache: dict[str, _Loaded | None] = {}
_lock = threading.Lock()


def load(settings: Settings, row: AssistModel | None) -> _Loaded | None:
    """The model of ``row``, loaded once per process and again when a newer version (or a
    changed file) appears; None when the file is missing or does not match its SHA-256."""
    if row is None:
        return None
    path = model_dir(settings) / row.file_name
    try:
        stat = path.stat()
    except OSError:
        log.warning("assist: model file %s is missing; no category suggestions", path)
        return None
    key = (str(path), row.sha256, stat.st_size, stat.st_mtime_ns)
    with _lock:
        cached = _cache.get(FEATURE)
        if cached is not None and cached.key == key:
            return cached
        loaded = _read(path, row.sha256, key)
        _cache[FEATURE] = loaded
        return loaded


def _read(path: Path, sha256: str, key: tuple[str, str, int, int]) -> _Loaded | None:
    import joblib

    try:
        if _sha256(path) != sha256:
            log.warning("assist: model file %s does not match its SHA-256; ignored", path)
            return None
        content = joblib.load(path)
        return _Loaded(key=key, pipeline=content["pipeline"], classes=list(content["classes"]))
    except Exception:  # a file cut short or from another version of the library
        log.exception("assist: model file %s could not be read; ignored", path)
        return None


def _rank_many(pipeline: Any, texts: Sequence[str], k: int) -> list[list[tuple[str, float]]]:
    probabilities = pipeline.predict_proba([normalise(t)[:MAX_CHARS] for t in texts])
    classes = pipeline.classes_
    out = []
    for row in probabilities:
        order = row.argsort()[::-1][:k]
        out.append([(str(classes[i]), float(row[i])) for i in order])
    return out


def rank(loaded: _Loaded, description: str, k: int = 10) -> list[tuple[str, float]]:
    """The ``k`` most likely category codes with their probability, most likely first."""
    return _rank_many(loaded.pipeline, [description], k)[0]


def available(session: Session, *, settings: Settings) -> bool:
    """Whether suggestions can be offered: switched on and a model that loads."""
    return settings.assist_categories and load(settings, latest_model(session)) is not None


def suggest(
    session: Session, *, settings: Settings, description: str, language: str
) -> list[dict[str, Any]]:
    """Up to three ``{"code", "name", "confidence"}`` (name in ``language``, confidence 0-1
    rounded to 3 places), most likely first: active categories only, none below the threshold.
    [] when switched off, without a model or on any failure of the model (logged)."""
    if not settings.assist_categories or not description.strip():
        return []
    loaded = load(settings, latest_model(session))
    if loaded is None:
        return []
    try:
        ranked = rank(loaded, description)
    except Exception:
        log.exception("assist: category suggestion failed; none offered")
        return []
    wanted = [(c, p) for c, p in ranked if p >= settings.assist_category_threshold]
    if not wanted:
        return []
    active = {
        category.code: category
        for category in session.scalars(
            select(ServiceCategory).where(
                ServiceCategory.code.in_([c for c, _ in wanted]), ServiceCategory.active
            )
        )
    }
    return [
        {"code": code, "name": active[code].t("name", language), "confidence": round(p, 3)}
        for code, p in wanted
        if code in active
    ][:MAX_SUGGESTIONS]


def retrain_categories(db: Any, settings: Settings, now: datetime) -> str | None:
    """Worker job: once a week (when switched on), train a new version from the confirmed
    requests. The data is read in a read transaction; the fitting holds no lock."""
    if not settings.assist_categories:
        return None
    with db.transaction(write=False) as session:
        if not retrain_due(session, now=now):
            return None
        data = list(confirmed_examples(session, limit=settings.assist_category_max_examples))
    if len(data) < settings.assist_category_min_examples or len({e.category for e in data}) < 2:
        return None
    trained = train(data)
    with db.transaction() as session:
        if not retrain_due(session, now=now):  # another worker finished first
            return None
        row = save(session, settings=settings, trained=trained, now=now)
        return f"trained category suggestion v{row.version} on {row.examples} request(s)"
