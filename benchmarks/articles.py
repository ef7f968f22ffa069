"""Knowledge articles figures (issue 22, "Answers before requests").

1. Suggestion latency: the demo city's articles plus ``--articles`` more (default 200 in all,
   bodies made of the assist corpus's resident texts of one category each, so they overlap as
   real help pages do) are imported as versions into a scratch database; ``suggest_articles``
   (what /report/article-suggestions does per keystroke pause) is timed on the corpus's texts,
   p50/p95 (the first call builds the process's TF-IDF index).
2. The figures at scale: ``--events`` rows of knowledge_article_events (default 1,000,000:
   suggestions, openings, answers and filings over 90 days, under 300,000 visits) are loaded,
   then ``metrics(session, now)`` (the register's read, deflections counted when read) is timed,
   whole and for the last 30 days, with its query plans. Then what the register page does
   with them: the monthly roll-ups computed cold (what the worker, or the first reader, does
   once), one month's refresh, and ``GET /about/algorithms`` p50/p95 with the roll-ups kept.

    .venv/bin/python benchmarks/articles.py [--articles 200] [--events 1000000] [--database-url URL]

Without --database-url (or DATABASE_URL) a throw-away SQLite file is used.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from common import analyze, percentile, print_plans, scratch_app  # noqa: E402
from sqlalchemy import insert  # noqa: E402

from portal.assist import articles  # noqa: E402
from portal.assist.models import KnowledgeArticle, KnowledgeArticleEvent  # noqa: E402
from portal.core import clock  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "portal" / "demo" / "city" / "articles"
CORPUS = ROOT / "benchmarks" / "data" / "assist-corpus.jsonl"


def corpus() -> list[dict]:
    return [json.loads(line) for line in CORPUS.read_text(encoding="utf-8").splitlines()]


def made_articles(rows: list[dict], count: int, rng: random.Random) -> list[articles.ArticleSpec]:
    by = {}
    for row in rows:
        by.setdefault((row["category"], row["language"]), []).append(row["text"])
    codes = sorted({c for c, _ in by})
    specs = []
    for i in range(count):
        code = codes[i % len(codes)]
        titles, bodies = {}, {}
        for lang in ("en", "es"):
            texts = by.get((code, lang)) or by[(code, "en")]
            titles[lang] = rng.choice(texts)[:120] + "?"
            bodies[lang] = "\n\n".join(rng.sample(texts, min(12, len(texts))))
        specs.append(articles.ArticleSpec(f"made-{i:04d}", titles, bodies))
    return specs


def load_events(db, article_ids: list[int], count: int, now, rng: random.Random) -> None:
    kinds = ["suggested"] * 50 + ["opened"] * 25 + ["filed"] * 15 + ["helpful"] * 7
    kinds += ["not_helpful"] * 3
    visits = max(1, count * 3 // 10)
    batch = []
    session = db.session(write=True)
    for n in range(count):
        kind = rng.choice(kinds)
        batch.append(
            {
                "article_id": None if kind == "filed" else rng.choice(article_ids),
                "kind": kind,
                "visit": f"{rng.randrange(visits):016x}",
                "occurred_at": now - timedelta(seconds=rng.randrange(90 * 86400)),
            }
        )
        if len(batch) == 20_000 or n == count - 1:
            session.execute(insert(KnowledgeArticleEvent), batch)
            session.commit()
            batch = []
    session.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--articles", type=int, default=200)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", ""))
    args = parser.parse_args()
    rng = random.Random(22)
    rows = corpus()
    scratch = tempfile.TemporaryDirectory()
    _app, db = scratch_app(scratch, args.database_url)
    now = clock.now()
    session = db.session(write=True)
    demo, problems = articles.read_articles(DEMO, ["en", "es"])
    assert not problems, problems
    specs = demo + made_articles(rows, max(0, args.articles - len(demo)), rng)
    articles.sync_articles(session, specs, now=now)
    session.commit()
    print(f"articles: {len(specs)} (the demo's {len(demo)} and made ones), en and es")

    queries = [r for r in rows if len(r["text"]) > 10][:400]
    timings = []
    first = None
    hits = 0
    for row in queries:
        started = time.perf_counter()
        found = articles.suggest_articles(session, text=row["text"], language=row["language"])
        elapsed = (time.perf_counter() - started) * 1000
        if first is None:
            first = elapsed
        else:
            timings.append(elapsed)
        hits += bool(found)
    session.close()
    print(
        f"suggest_articles(): first call (builds the index) {first:.0f} ms; then p50 "
        f"{statistics.median(timings):.2f} ms  p95 {percentile(timings, 95):.2f} ms  "
        f"max {max(timings):.2f} ms ({len(timings)} calls, {hits} with a suggestion)"
    )

    if args.events:
        session = db.session(write=True)
        ids = [a.id for a in session.query(KnowledgeArticle)]
        session.close()
        started = time.perf_counter()
        load_events(db, ids, args.events, now, rng)
        analyze(db)
        print(f"loaded {args.events} events in {time.perf_counter() - started:.0f} s")
        session = db.session()
        for label, since in (("all", None), ("last 30 days", now - timedelta(days=30))):
            runs = []
            for _ in range(3):
                started = time.perf_counter()
                figures = articles.metrics(session, now, since=since)
                runs.append((time.perf_counter() - started) * 1000)
            print(f"metrics() {label}: {min(runs):.0f} ms (best of 3)  {figures}")
        print_plans(
            db,
            "metrics(), last 30 days",
            lambda: articles.metrics(session, now, since=now - timedelta(days=30)),
        )
        session.close()
        register_page(_app, db, now)


def register_page(app, db, now) -> None:
    """The algorithm register reads twelve monthly roll-ups instead of counting."""
    from zoneinfo import ZoneInfo

    from portal.reports.assistance import ARTICLES, MONTHS
    from portal.reports.periods import Period
    from portal.reports.rollups import compute_and_store

    tz = ZoneInfo(app.extensions["portal.settings"].timezone)
    month = Period.containing("month", now.astimezone(tz).date())
    session = db.session()
    started = time.perf_counter()
    for _ in range(MONTHS):
        compute_and_store(db, session, ARTICLES, month, tz=tz, now=now)
        month = month.previous()
    cold = time.perf_counter() - started
    started = time.perf_counter()
    compute_and_store(
        db, session, ARTICLES, Period.containing("month", now.astimezone(tz).date()), tz=tz, now=now
    )
    current = time.perf_counter() - started
    session.close()
    print(
        f"register roll-ups: {MONTHS} months computed cold in {cold:.1f} s; the current "
        f"month's refresh (the worker's) {current * 1000:.0f} ms"
    )
    client = app.test_client()
    timings = []
    for _ in range(21):
        started = time.perf_counter()
        answer = client.get("/about/algorithms")
        timings.append((time.perf_counter() - started) * 1000)
        assert answer.status_code == 200, answer.status_code
    timings = timings[1:]
    print(
        f"GET /about/algorithms with the roll-ups: p50 {statistics.median(timings):.0f} ms  "
        f"p95 {percentile(timings, 95):.0f} ms ({len(timings)} views)"
    )


if __name__ == "__main__":
    main()
