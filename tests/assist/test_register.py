"""`/about/algorithms` (issue 22): the public algorithm register, with live figures."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest
from babel.numbers import format_percent

from portal.assist import categories, duplicates
from portal.core import clock
from tests.assist.corpus import arrange

URL = "/about/algorithms"
FEATURES = ("categories", "language", "translation", "duplicates", "articles", "themes")


@pytest.fixture
def settings(settings):
    return replace(settings, assist_category_min_examples=20)


def section(html: str, key: str) -> str:
    return html.split(f'data-algorithm="{key}"', 1)[1].split("</section>", 1)[0]


def test_every_feature_is_registered_with_its_headings(client):
    response = client.get(URL)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert re.findall(r'data-algorithm="([a-z]+)"', html)[: len(FEATURES)] == list(FEATURES)
    for key in FEATURES:
        part = section(html, key)
        for heading in (
            "Purpose",
            "Data used",
            "The decision it supports",
            "How a person stays in charge",
            "Accuracy at the last evaluation",
            "Last trained",
            "How to switch it off",
        ):
            assert f"<dt>{heading}</dt>" in part, (key, heading)
        assert ">On<" in part
        assert "PORTAL_ASSIST_" in part
    # No model yet: the page says so rather than showing a figure.
    categories_part = section(html, "categories")
    assert categories_part.count("Not trained yet.") == 2
    assert "99 of 100 short resident texts named correctly" in section(html, "language")
    assert "Not grouped yet." in section(html, "themes")
    assert "Not suggested to anyone yet." in section(html, "articles")
    evaluation = duplicates.EVALUATION
    assert (
        f"Before use, on made-up reports (the software&#39;s benchmark, {evaluation['pairs']:,} "
        f"labelled pairs, evaluated {evaluation['evaluated']}): of the pairs it called likely "
        f"duplicates, {format_percent(evaluation['precision'])} were; it found "
        f"{format_percent(evaluation['recall'])} of the real duplicates"
    ) in section(html, "duplicates")
    assert (
        "Not enough decisions yet: in the last 12 months staff decided on 0 pairs it called "
        "likely duplicates; the share they merged is shown from 30"
    ) in section(html, "duplicates")
    # Linked from every page's footer.
    assert 'href="/about/algorithms"' in client.get("/").get_data(as_text=True)


def test_category_figures_are_the_last_evaluation(app, client, db, make):
    arrange(make)
    row = categories.retrain(db, settings=app.extensions["portal.settings"], now=clock.now())
    assert row is not None and row.metrics["en"]["n"] > 0
    db.commit()
    part = section(client.get(URL).get_data(as_text=True), "categories")
    english = row.metrics["en"]
    top1 = format_percent(english["top1"], locale="en")
    top3 = format_percent(english["top3"], locale="en")
    assert (
        f"English: the right category first for {top1} and among the three offered for "
        f"{top3} of {english['n']:,} held-out requests"
    ) in part
    assert "Spanish: the right category first" in part
    assert f'datetime="{row.trained_at.isoformat()}"' in part
    assert "Not trained yet." not in part
    spanish = section(client.get(URL + "?lang=es").get_data(as_text=True), "categories")
    assert "Español" in spanish or "español" in spanish
    assert format_percent(english["top1"], locale="es") in spanish


def test_switched_off_features_say_so(app, client):
    app.extensions["portal.settings"] = replace(
        app.extensions["portal.settings"], assist_categories=False, assist_translate=False
    )
    app.extensions["portal.city"].clear(app.extensions["portal.settings"])
    html = client.get(URL).get_data(as_text=True)
    assert "Switched off" in section(html, "categories")
    assert "Switched off" in section(html, "translation")
    assert ">On<" in section(html, "language")


def test_in_spanish_in_the_citys_name(client):
    html = client.get(URL + "?lang=es").get_data(as_text=True)
    assert '<html lang="es">' in html
    assert "Algoritmos que usamos" in html
    assert "Propósito" in html


def test_answers_before_requests_figures_are_live(client, db):
    from datetime import timedelta

    from portal.assist import articles

    now = clock.now()
    for visit in ("a", "b", "c"):
        articles.record(db, kind="suggested", now=now, article_id=None, visit=visit)
    articles.record(db, kind="opened", now=now, article_id=None, visit="a")
    for kind in ("helpful", "helpful", "helpful", "not_helpful"):
        articles.record(db, kind=kind, now=now - timedelta(minutes=1), article_id=None, visit=None)
    db.commit()
    part = section(client.get(URL).get_data(as_text=True), "articles")
    assert "In the last 12 months: suggested 3 times; opened 1 times; visits that read" in part
    assert "75% of the residents who answered in the last 12 months said it" in part


def test_answers_before_requests_figures_come_from_monthly_rollups(client, db):
    """A large city's article events take seconds to count: the page adds up the last twelve
    months' roll-ups (computed once, then kept by the worker), and older events drop out."""
    from datetime import timedelta

    from sqlalchemy import func, select

    from portal.assist import articles
    from portal.reports.models import ReportRollup

    now = clock.now()
    for days_ago in (0, 40, 200, 400):
        articles.record(
            db, kind="suggested", now=now - timedelta(days=days_ago), article_id=None, visit=None
        )
    db.commit()
    part = section(client.get(URL).get_data(as_text=True), "articles")
    assert "suggested 3 times" in part
    stored = db.scalar(
        select(func.count()).where(
            ReportRollup.report == "assist_articles", ReportRollup.part == "articles"
        )
    )
    assert stored == 12
    # An event added now is counted when the month's roll-up is next refreshed (the worker
    # does it every few minutes), not at once.
    articles.record(db, kind="suggested", now=now, article_id=None, visit=None)
    db.commit()
    assert "suggested 3 times" in section(client.get(URL).get_data(as_text=True), "articles")


@pytest.mark.parametrize("thirtieth", [False, True])
def test_duplicates_precision_is_the_citys_own_from_the_pairs_people_decided(
    client, db, make, thirtieth
):
    """Of the pairs it called likely (scored at least LIKELY) that staff decided on in the
    last 12 months, the share merged; "not enough decisions yet" under 30 of them. Pairs
    scored "possible", undecided or decided longer ago are not counted in it. Read from the
    monthly roll-ups, which the worker keeps current."""
    from datetime import timedelta
    from itertools import permutations

    from sqlalchemy import func, select

    from portal.assist.models import DuplicateCandidate
    from portal.reports.models import ReportRollup

    now = clock.now()
    requests = [make.request() for _ in range(8)]
    pairs = permutations([r.id for r in requests], 2)

    def pair(score: float, decision: str | None, days_ago: float = 1) -> None:
        request_id, candidate_id = next(pairs)
        db.add(
            DuplicateCandidate(
                request_id=request_id,
                candidate_id=candidate_id,
                score=score,
                reasons=[],
                created_at=now - timedelta(days=days_ago + 1),
                decision=decision,
                decided_at=now - timedelta(days=days_ago) if decision else None,
            )
        )

    for _ in range(22):
        pair(0.9, "merged")
    for _ in range(7):
        pair(duplicates.LIKELY, "not_duplicate")
    pair(0.3, "merged")  # possible, not likely
    pair(0.2, "not_duplicate")
    pair(0.95, None)  # undecided
    for _ in range(5):
        pair(0.9, "not_duplicate", days_ago=400)  # before the twelve months
    if thirtieth:
        pair(0.99, "merged", days_ago=300)
    db.commit()
    part = section(client.get(URL).get_data(as_text=True), "duplicates")
    if not thirtieth:
        assert (
            "Not enough decisions yet: in the last 12 months staff decided on 29 pairs it "
            "called likely duplicates; the share they merged is shown from 30"
        ) in part
        return
    assert "Not enough decisions yet" not in part
    assert (
        "In the last 12 months staff decided on 30 pairs it called likely duplicates and "
        "merged 77% of them (32 possible duplicates decided in all: 24 merged, 8 dismissed)"
    ) in part
    assert "Before use, on made-up reports" in part  # the benchmark's, labelled, after it
    spanish = section(client.get(URL + "?lang=es").get_data(as_text=True), "duplicates")
    assert "el personal decidió sobre 30 pares" in spanish
    assert format_percent(23 / 30, locale="es") in spanish
    assert "Antes de su uso, con reportes inventados" in spanish
    stored = db.scalar(
        select(func.count()).where(
            ReportRollup.report == "assist_duplicates", ReportRollup.part == "duplicates"
        )
    )
    assert stored == 12
