"""Assistance figures (issue 22), category suggestion part.

1. Accuracy: trains on the corpus of resident descriptions (benchmarks/assist_corpus.py; made if
   missing) without its most recent month, prints top-1 and top-3 per language on that month.
2. Latency: the model is saved and recorded in a scratch database like the worker does, and
   ``suggest()`` (the endpoint's work: the latest version's row, the loaded model, the active
   categories' names) is timed on the held-out texts, p50/p95.
3. Retraining at scale (``--rows``, default 1,000,000; 0 skips): that many confirmed requests
   (corpus-like descriptions, a staff status change each) are loaded, then the worker's
   retraining is timed and its peak memory measured in a process of its own.

    .venv/bin/python benchmarks/assist.py [--rows 1000000] [--database-url URL]

Without --database-url (or DATABASE_URL) a throw-away SQLite file is used.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import resource
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import assist_corpus  # noqa: E402  (benchmarks/assist_corpus.py)
from common import percentile, scratch_app  # noqa: E402
from sqlalchemy import insert  # noqa: E402

from portal.assist import categories  # noqa: E402
from portal.catalogue.models import Department, ServiceCategory, ServiceGroup  # noqa: E402
from portal.core import clock  # noqa: E402
from portal.requests.models import Event, ServiceRequest  # noqa: E402


def load_corpus() -> list[categories.Example]:
    if not assist_corpus.OUT.exists():
        rows = sorted(assist_corpus.generate(), key=lambda r: r["created_at"])
        assist_corpus.OUT.parent.mkdir(parents=True, exist_ok=True)
        assist_corpus.OUT.write_text(
            "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8"
        )
    return [
        categories.Example(
            r["text"], r["language"], r["category"], datetime.fromisoformat(r["created_at"])
        )
        for r in map(json.loads, assist_corpus.OUT.read_text(encoding="utf-8").splitlines())
    ]


def add_categories(session) -> dict[str, int]:
    dept = Department(code="city", name="City")
    group = ServiceGroup(code="all", name="All")
    session.add_all([dept, group])
    session.flush()
    ids = {}
    for code in sorted(assist_corpus.PROBLEMS):
        category = ServiceCategory(
            code=code,
            name=code.replace("-", " ").capitalize(),
            translations={"es": {"name": f"{code} (es)"}},
            group_id=group.id,
            department_id=dept.id,
        )
        session.add(category)
        session.flush()
        ids[code] = category.id
    session.commit()
    return ids


def load_requests(db, ids: dict[str, int], rows: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    codes = sorted(ids)
    start = datetime(2025, 12, 1, tzinfo=UTC)
    batch = 10_000
    with db.engine.begin() as conn:
        for offset in range(0, rows, batch):
            requests, events = [], []
            for n in range(offset + 1, min(rows, offset + batch) + 1):
                code = rng.choice(codes)
                language = "es" if rng.random() < 0.4 else "en"
                created = start + timedelta(minutes=rng.randint(0, 60 * 24 * 365))
                requests.append(
                    {
                        "id": n,
                        "reference": f"SR-A-{n:08d}",
                        "category_id": ids[code],
                        "department_id": 1,
                        "description": assist_corpus.describe(rng, code, language),
                        "answers": {},
                        "locale": language,
                        "status": "resolved",
                        "is_open": False,
                        "created_at": created,
                        "updated_at": created,
                        "status_changed_at": created,
                    }
                )
                events.append(
                    {
                        "request_id": n,
                        "kind": "status_changed",
                        "public": True,
                        "actor_kind": "staff",
                        "body": "",
                        "data": {"from": "new", "to": "resolved"},
                        "created_at": created,
                    }
                )
            conn.execute(insert(ServiceRequest), requests)
            conn.execute(insert(Event), events)


def _retrain_child(url: str, upload_dir: str, out) -> None:
    from portal import create_app
    from portal.core.config import Settings

    app = create_app(
        Settings(
            env="test",
            secret_key="b" * 40,
            database_url=url,
            upload_dir=upload_dir,
            mail_dir=upload_dir,
            ratelimit_enabled=False,
        )
    )
    db = app.extensions["portal.db"]
    started = time.perf_counter()
    message = categories.retrain_categories(
        db, app.extensions["portal.settings"], clock.now() + timedelta(days=30)
    )
    out.send((time.perf_counter() - started, message))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", ""))
    args = parser.parse_args()

    examples = load_corpus()
    training, held = categories.split(examples)
    started = time.perf_counter()
    trained = categories.train(training, refit=False)
    print(
        f"corpus: {len(examples)} descriptions, trained on {len(training)} "
        f"in {time.perf_counter() - started:.1f} s; held out (most recent month): {len(held)}"
    )
    for language, figures in categories.evaluate(trained.pipeline, held).items():
        print(
            f"  {language}: top-1 {figures['top1']:.1%}  top-3 {figures['top3']:.1%}"
            f"  (n={figures['n']})"
        )

    # Harder: for each category and language, one way of saying the problem is never seen in
    # training (only the other ways, with their typos and surroundings).
    rows = [json.loads(line) for line in assist_corpus.OUT.read_text(encoding="utf-8").splitlines()]
    last = {}
    for row in rows:
        key = (row["category"], row["language"])
        last[key] = max(last.get(key, 0), row["phrase"])
    unseen = [r for r in rows if r["phrase"] == last[(r["category"], r["language"])]]
    seen = [r for r in rows if r["phrase"] != last[(r["category"], r["language"])]]

    def as_examples(part):
        return [
            categories.Example(
                r["text"], r["language"], r["category"], datetime.fromisoformat(r["created_at"])
            )
            for r in part
        ]

    other = categories.train(as_examples(seen), refit=True)
    print(f"ways of saying it never seen in training ({len(unseen)} descriptions):")
    for language, figures in categories.evaluate(other.pipeline, as_examples(unseen)).items():
        print(
            f"  {language}: top-1 {figures['top1']:.1%}  top-3 {figures['top3']:.1%}"
            f"  (n={figures['n']})"
        )

    scratch = tempfile.TemporaryDirectory()
    app, db = scratch_app(scratch, args.database_url)
    settings = replace(app.extensions["portal.settings"], assist_category_min_examples=1)
    session = db.session(write=True)
    ids = add_categories(session)
    categories.save(session, settings=settings, trained=trained, now=clock.now())
    session.commit()
    timings = []
    for example in held:
        started = time.perf_counter()
        categories.suggest(
            session, settings=settings, description=example.text, language=example.language
        )
        timings.append((time.perf_counter() - started) * 1000)
    session.close()
    print(
        f"suggest(): p50 {statistics.median(timings):.2f} ms  p95 {percentile(timings, 95):.2f} ms"
        f"  max {max(timings):.2f} ms  ({len(timings)} calls, first one loads the model)"
    )

    if args.rows:
        started = time.perf_counter()
        load_requests(db, ids, args.rows)
        print(f"loaded {args.rows} confirmed requests in {time.perf_counter() - started:.0f} s")
        receive, send = multiprocessing.Pipe(duplex=False)
        child = multiprocessing.get_context("spawn").Process(
            target=_retrain_child,
            args=(str(db.engine.url.render_as_string(False)), scratch.name, send),
        )
        child.start()
        seconds, message = receive.recv()
        child.join()
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        print(
            f"retraining (worker job, read + fit + evaluate + refit + save): {seconds:.0f} s, "
            f"peak memory {peak:.0f} MB; {message}"
        )
        with db.engine.connect() as conn:
            row = conn.exec_driver_sql(
                "SELECT metrics FROM assist_models ORDER BY version DESC LIMIT 1"
            ).scalar()
        print(f"  held-out metrics at scale: {row}")
    db.dispose()


if __name__ == "__main__":
    main()
