"""Category suggestion (issue 22): training on the corpus, the held-out figures, suggestions,
the worker's weekly retraining and `flask assist train`."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from portal.assist import categories
from portal.assist.models import AssistModel
from portal.assist.text import normalise
from portal.casework.service import change_category
from portal.core import clock
from tests.assist.corpus import arrange, corpus

DONE_WHEN = "theres a big hole in the road outside 12 elm st my tyre burst"


@pytest.mark.pure
def test_normalise_folds_accents_and_masks_numbers_and_links():
    assert normalise("Árbol CAÍDO en la Calle 5, llamen al 555-1234") == (
        "arbol caido en la calle 0 , llamen al 0"
    )
    assert normalise("see https://x.example/a or mail me@x.example sooooo bad") == (
        "see url or mail email soo bad"
    )
    assert normalise(DONE_WHEN) == "theres a big hole in the road outside 0 elm st my tyre burst"


@pytest.mark.pure
def test_the_most_recent_month_is_held_out():
    examples = corpus()
    training, held = categories.split(examples)
    assert training and held
    assert max(e.created_at for e in training) < min(e.created_at for e in held)
    newest = max(e.created_at for e in examples)
    assert all(newest - e.created_at <= categories.HELD_OUT for e in held)


@pytest.mark.pure
def test_trained_on_the_corpus_the_done_when_sentence_gets_pothole_first():
    """Trained on the corpus's training split only (the held-out month is never seen)."""
    training, held = categories.split(corpus())
    trained = categories.train(training, refit=False)
    loaded = categories._Loaded(("", "", 0, 0), trained.pipeline, trained.classes)
    ranking = categories.rank(loaded, DONE_WHEN)
    assert ranking[0][0] == "pothole"
    assert ranking[0][1] > 0.5
    assert categories.rank(loaded, "la luz del poste no prende desde el lunes")[0][0] == (
        "streetlight"
    )
    figures = categories.evaluate(trained.pipeline, held)
    for language in ("en", "es"):
        assert figures[language]["n"] > 50
        assert figures[language]["top1"] >= 0.85
        assert figures[language]["top3"] >= 0.95


@pytest.mark.pure
def test_training_needs_two_categories():
    one = [e for e in corpus({"pothole"}, 5)]
    with pytest.raises(ValueError):
        categories.train(one)


@pytest.fixture
def settings(settings):
    return replace(settings, assist_category_min_examples=20)


def _suggest(db, settings, text=DONE_WHEN, language="en"):
    return categories.suggest(db, settings=settings, description=text, language=language)


def test_cli_trains_on_confirmed_requests_and_suggestions_follow(app, db, make, runner):
    settings = app.extensions["portal.settings"]
    cats = arrange(make)
    # Not confirmed by staff: not an example (a resident's own words only).
    make.request(category=cats["noise"], description="loud music " * 3, locale="en")
    result = runner.invoke(args=["assist", "train"])
    assert result.exit_code == 0, result.output
    assert "Category suggestion v1: 48 request(s)." in result.output
    row = db.scalar(select(AssistModel))
    assert row.feature == "categories" and row.version == 1 and row.examples == 48
    assert row.languages == ["en", "es"]
    assert set(row.metrics) >= {"all"}
    path = Path(settings.upload_dir) / "assist" / row.file_name
    assert path.is_file() and len(row.sha256) == 64

    suggestions = _suggest(db, settings)
    assert suggestions[0]["code"] == "pothole" and suggestions[0]["name"] == "Pothole"
    assert 0 < suggestions[0]["confidence"] <= 1 and len(suggestions) <= 3
    spanish = _suggest(db, settings, "hay un bache enorme enfrente de mi casa", "es")
    assert spanish[0] == {**spanish[0], "code": "pothole", "name": "Bache"}

    # An inactive category is never offered; a threshold above every confidence: nothing.
    cats["pothole"].active = False
    db.flush()
    assert "pothole" not in [s["code"] for s in _suggest(db, settings)]
    assert _suggest(db, replace(settings, assist_category_threshold=1.01)) == []
    assert _suggest(db, replace(settings, assist_categories=False)) == []


def test_too_few_confirmed_requests_trains_nothing(db, make, runner):
    arrange(make, per_category=3)  # 18 < 20
    result = runner.invoke(args=["assist", "train"])
    assert "Not trained: fewer than 20 confirmed requests" in result.output
    assert db.scalar(select(AssistModel)) is None


def test_a_staff_recategorisation_counts_with_its_final_category(app, db, make):
    settings = app.extensions["portal.settings"]
    cats = arrange(make, per_category=4)
    staff = make.staff()
    request = make.request(category=cats["noise"], description="hole in the road by my house")
    change_category(
        db,
        settings=settings,
        request=request,
        category=cats["pothole"],
        actor=staff,
        version=request.version,
    )
    examples = {e.text: e.category for e in categories.confirmed_examples(db)}
    assert examples["hole in the road by my house"] == "pothole"
    assert len(examples) == 25
    newest = list(categories.confirmed_examples(db, limit=1))
    assert [e.text for e in newest] == ["hole in the road by my house"]


def test_missing_or_corrupt_model_file_gives_no_suggestions(app, db, make, caplog):
    settings = app.extensions["portal.settings"]
    arrange(make)
    row = categories.retrain(db, settings=settings, now=clock.now())
    assert row is not None and _suggest(db, settings)
    path = Path(settings.upload_dir) / "assist" / row.file_name
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    assert _suggest(db, settings) == []
    assert "does not match its SHA-256" in caplog.text
    path.write_bytes(data)
    assert _suggest(db, settings)
    path.unlink()
    assert _suggest(db, settings) == []
    assert "is missing" in caplog.text


def test_the_worker_retrains_weekly(app, db, make, runner, freeze_clock):
    arrange(make)
    start = clock.now()
    freeze_clock(start)
    assert runner.invoke(args=["worker", "--once"]).exit_code == 0
    assert db.scalars(select(AssistModel.version)).all() == [1]
    freeze_clock(start + timedelta(days=6))
    runner.invoke(args=["worker", "--once"])
    assert db.scalars(select(AssistModel.version)).all() == [1]
    freeze_clock(start + timedelta(days=7, minutes=1))
    runner.invoke(args=["worker", "--once"])
    assert sorted(db.scalars(select(AssistModel.version))) == [1, 2]
    freeze_clock(start + timedelta(days=14, minutes=2))
    runner.invoke(args=["worker", "--once"])
    rows = db.scalars(select(AssistModel).order_by(AssistModel.version)).all()
    assert [r.version for r in rows] == [1, 2, 3]
    folder = Path(app.extensions["portal.settings"].upload_dir) / "assist"
    # The two newest files are kept, older ones removed (their rows stay).
    assert sorted(p.name for p in folder.iterdir()) == [rows[1].file_name, rows[2].file_name]
