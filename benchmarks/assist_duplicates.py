"""Assistance figures (issue 22), possible duplicates part.

1. A labelled set seeded from distinct incidents (seeded, made in memory): incidents across a
   city (place, category, a description from benchmarks/assist_corpus.py's generator, half with
   a photo), re-reports of some of them (a different way of saying the problem, the position
   off by up to 80 m, hours to days later; the first photo shared again, re-encoded, resized
   and cropped a little, or a photo of their own, or none) and hard negatives (distinct
   incidents of the same category 30 to 200 m away, days apart). Every report is compared with
   the earlier ones within the radius as ``portal.assist.duplicates`` does. The logistic
   weights and the threshold are fitted on the incidents of the tuning half; precision and
   recall (over every true pair, those out of reach counted as missed) are printed for the other
   half. Two text similarities are compared on the same pairs (ROC AUC alone).
2. Scoring cost per filing at scale (``--rows``, default 1,000,000; 0 skips): that many requests
   over a year in a city of ~830 km2 in 24 neighbourhoods (a fifth with a photo hash, a tenth
   still open, one in twenty without a position: an address in words and its neighbourhood,
   as a phone call gives) are loaded, then ``score_filed`` (the requests near from the
   geographic index, and by neighbourhood and address; their photos' hashes, scoring, the
   insert) is timed for new filings with a position and without, p50/p95, and its query plans
   printed.

    .venv/bin/python benchmarks/assist_duplicates.py [--rows 1000000] [--database-url URL]

Without --database-url (or DATABASE_URL) a throw-away SQLite file is used.
"""

from __future__ import annotations

import argparse
import io
import math
import os
import random
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import assist_corpus  # noqa: E402  (benchmarks/assist_corpus.py)
from common import analyze, percentile, print_plans, scratch_app  # noqa: E402
from PIL import Image, ImageDraw, ImageFilter  # noqa: E402
from sqlalchemy import insert, select  # noqa: E402

from portal import create_app  # noqa: E402
from portal.areas.geo import EARTH_RADIUS_M, distance_m  # noqa: E402
from portal.areas.models import Area  # noqa: E402
from portal.assist import duplicates  # noqa: E402
from portal.catalogue.models import Department, ServiceCategory, ServiceGroup  # noqa: E402
from portal.core.config import Settings  # noqa: E402
from portal.requests.models import RequestPhoto, ServiceRequest  # noqa: E402
from portal.requests.photos import perceptual_hash  # noqa: E402

LAT0, LON0, SPAN = 41.0, -87.0, 0.15
#: The labelled set's incidents are closer together (a district of ~4 x 3 km over 90 days), so
#: every report has unrelated ones within reach as well as its hard negative.
LABELLED_SPAN = 0.02
RADIUS_M = 200
WINDOW_DAYS = 30
CODES = sorted(assist_corpus.PROBLEMS)
DEPARTMENTS = 5


def department_of(code: str) -> int:
    return CODES.index(code) % DEPARTMENTS


def offset(lat: float, lon: float, metres: float, rng: random.Random) -> tuple[float, float]:
    angle = rng.uniform(0, 2 * math.pi)
    dlat = math.degrees(metres * math.cos(angle) / EARTH_RADIUS_M)
    dlon = math.degrees(metres * math.sin(angle) / (EARTH_RADIUS_M * math.cos(math.radians(lat))))
    return lat + dlat, lon + dlon


def scene(seed: int) -> Image.Image:
    rnd = random.Random(seed)
    size = (640, 480)
    image = Image.new("RGB", size, (rnd.randint(0, 255), rnd.randint(0, 255), rnd.randint(0, 255)))
    draw = ImageDraw.Draw(image)
    for _ in range(20):
        x, y = rnd.randint(0, size[0]), rnd.randint(0, size[1])
        w, h = rnd.randint(30, 250), rnd.randint(30, 250)
        colour = (rnd.randint(0, 255), rnd.randint(0, 255), rnd.randint(0, 255))
        if rnd.random() < 0.5:
            draw.ellipse([x, y, x + w, y + h], fill=colour)
        else:
            draw.rectangle([x, y, x + w, y + h], fill=colour)
    return image.filter(ImageFilter.GaussianBlur(1.5))


def reupload(image: Image.Image, rng: random.Random) -> Image.Image:
    """Shared again: cropped by up to 5% a side, resized to 40-90%, JPEG quality 40-85."""
    w, h = image.size
    box = (
        int(w * rng.uniform(0, 0.05)),
        int(h * rng.uniform(0, 0.05)),
        int(w * (1 - rng.uniform(0, 0.05))),
        int(h * (1 - rng.uniform(0, 0.05))),
    )
    small = image.crop(box)
    scale = rng.uniform(0.4, 0.9)
    small = small.resize((int(small.width * scale), int(small.height * scale)))
    out = io.BytesIO()
    small.save(out, format="JPEG", quality=rng.randint(40, 85))
    return Image.open(io.BytesIO(out.getvalue()))


@dataclass
class Labelled:
    report: duplicates.Report
    incident: int


def labelled_set(incidents: int, seed: int = 22) -> list[Labelled]:
    rng = random.Random(seed)
    start = datetime(2026, 3, 1, tzinfo=UTC)
    reports: list[Labelled] = []
    n = 0

    def add(incident, code, lat, lon, when, text, phash):
        nonlocal n
        n += 1
        reports.append(
            Labelled(
                duplicates.Report(
                    n,
                    CODES.index(code),
                    department_of(code),
                    lat,
                    lon,
                    when,
                    text,
                    (phash,) if phash else (),
                ),
                incident,
            )
        )

    next_incident = 0
    for _ in range(incidents):
        next_incident += 1
        incident = next_incident
        code = rng.choice(CODES)
        language = "es" if rng.random() < 0.4 else "en"
        lat = LAT0 + rng.uniform(-LABELLED_SPAN, LABELLED_SPAN)
        lon = LON0 + rng.uniform(-LABELLED_SPAN, LABELLED_SPAN)
        when = start + timedelta(minutes=rng.randint(0, 60 * 24 * 90))
        text, phrase = assist_corpus.described(rng, code, language)
        picture = scene(rng.randrange(10**9)) if rng.random() < 0.5 else None
        add(incident, code, lat, lon, when, text, perceptual_hash(picture) if picture else None)
        # Re-reports of the same incident: other words, position off, later.
        for _ in range(rng.choice((0, 0, 1, 1, 2))):
            other_language = (
                language if rng.random() < 0.8 else ("en" if language == "es" else "es")
            )
            for _attempt in range(20):
                again, other_phrase = assist_corpus.described(rng, code, other_language)
                if other_phrase != phrase:
                    break
            roll = rng.random()
            if picture is not None and roll < 0.5:
                phash = perceptual_hash(reupload(picture, rng))
            elif roll < 0.7:
                phash = perceptual_hash(scene(rng.randrange(10**9)))
            else:
                phash = None
            at = offset(lat, lon, rng.uniform(0, 80), rng)
            later = when + timedelta(hours=rng.expovariate(1 / 30))
            add(incident, code, *at, later, again, phash)
        # A hard negative: a distinct incident of the same category nearby, days apart.
        if rng.random() < 0.4:
            next_incident += 1
            text, _ = assist_corpus.described(rng, code, language)
            at = offset(lat, lon, rng.uniform(30, 200), rng)
            later = when + timedelta(days=rng.uniform(-10, 10))
            phash = perceptual_hash(scene(rng.randrange(10**9))) if rng.random() < 0.5 else None
            add(next_incident, code, *at, later, text, phash)
    reports.sort(key=lambda r: r.report.created_at)
    return reports


@dataclass
class Pair:
    features: dict[str, float]
    positive: bool
    incident: int
    text_word: float = 0.0


def pairs_of(reports: list[Labelled]) -> tuple[list[Pair], dict[int, int]]:
    """Every (report, earlier report within the radius and window) pair with its features, and
    per incident the number of true pairs (re-report, earlier report of the same incident),
    reachable or not."""
    cell = 0.005
    grid: dict[tuple[int, int], list[Labelled]] = {}
    found: list[Pair] = []
    true_pairs: dict[int, int] = {}
    seen_of: dict[int, int] = {}
    for item in reports:
        new = item.report
        true_pairs[item.incident] = true_pairs.get(item.incident, 0) + seen_of.get(item.incident, 0)
        seen_of[item.incident] = seen_of.get(item.incident, 0) + 1
        gx, gy = int(new.lat / cell), int(new.lon / cell)
        olds = [
            other
            for dx in (-1, 0, 1)
            for dy in (-1, 0, 1)
            for other in grid.get((gx + dx, gy + dy), [])
            if new.created_at - other.report.created_at <= timedelta(days=WINDOW_DAYS)
            and distance_m(new.lat, new.lon, other.report.lat, other.report.lon) <= RADIUS_M
        ]
        if olds:
            texts = duplicates.text_similarities(
                new.description, [o.report.description for o in olds]
            )
            words = word_similarities(new.description, [o.report.description for o in olds])
            for other, text, word in zip(olds, texts, words, strict=True):
                feats, _ = duplicates.features(new, other.report, text=text, radius_m=RADIUS_M)
                found.append(Pair(feats, other.incident == item.incident, item.incident, word))
        grid.setdefault((gx, gy), []).append(item)
    return found, true_pairs


def word_similarities(text: str, others: list[str]) -> list[float]:
    """The alternative measured: cosine of whole words (hashed unigrams and bigrams)."""
    from sklearn.feature_extraction.text import HashingVectorizer

    vectorizer = HashingVectorizer(
        analyzer="word", ngram_range=(1, 2), n_features=2**18, alternate_sign=False
    )
    docs = [" ".join(duplicates.words(t)) for t in (text, *others)]
    m = vectorizer.transform(docs)
    return [float(v) for v in (m[1:] @ m[0].T).toarray().ravel()]


NAMES = list(duplicates.WEIGHTS)[1:]


#: Features that can only make a pair likelier (closer, same category or department, sooner,
#: more alike, the same photo): a negative weight fitted to one of them is an accident of the
#: sample, so the feature is left out (weight 0) and the rest fitted again.
MONOTONE = ("near", "category", "department", "recent", "text", "photo_same")


def fit(pairs: list[Pair]) -> dict[str, float]:
    from sklearn.linear_model import LogisticRegression

    y = [p.positive for p in pairs]
    names = list(NAMES)
    while True:
        x = [[p.features[name] for name in names] for p in pairs]
        model = LogisticRegression(C=1.0, max_iter=1000).fit(x, y)
        fitted = dict(zip(names, (float(w) for w in model.coef_[0]), strict=True))
        wrong = [n for n in names if n in MONOTONE and fitted[n] < 0]
        if not wrong:
            break
        print(f"  fitted a negative weight to {wrong}: left out, fitted again")
        names = [n for n in names if n not in wrong]
    weights = {"bias": round(float(model.intercept_[0]), 2)}
    weights.update({name: round(fitted.get(name, 0.0), 2) for name in NAMES})
    return weights


def evaluate(
    pairs: list[Pair], true_pairs: int, weights: dict[str, float], threshold: float
) -> tuple[float, float, int]:
    chosen = [p for p in pairs if duplicates.probability(p.features, weights) >= threshold]
    hits = sum(p.positive for p in chosen)
    precision = hits / len(chosen) if chosen else 1.0
    return precision, hits / true_pairs if true_pairs else 0.0, len(chosen)


def choose_threshold(
    pairs: list[Pair], true_pairs: int, weights: dict[str, float], aim: float
) -> float:
    """The lowest threshold (most recall) whose precision on ``pairs`` is at least ``aim``."""
    best = 0.99
    for step in range(99, 4, -1):
        threshold = step / 100
        precision, _recall, _n = evaluate(pairs, true_pairs, weights, threshold)
        if precision >= aim:
            best = threshold
        else:
            break
    return best


def auc(scores: list[float], labels: list[bool]) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(labels, scores))


def accuracy(incidents: int) -> None:
    started = time.perf_counter()
    reports = labelled_set(incidents)
    pairs, true_by_incident = pairs_of(reports)
    tune = [p for p in pairs if p.incident % 2 == 0]
    test = [p for p in pairs if p.incident % 2 == 1]
    true_tune = sum(v for k, v in true_by_incident.items() if k % 2 == 0)
    true_test = sum(v for k, v in true_by_incident.items() if k % 2 == 1)
    print(
        f"labelled set: {len(reports)} reports of {len(true_by_incident)} incidents, "
        f"{sum(true_by_incident.values())} true pairs; {len(pairs)} pairs within {RADIUS_M} m "
        f"and {WINDOW_DAYS} days ({sum(p.positive for p in pairs)} true); "
        f"{time.perf_counter() - started:.0f} s"
    )
    labels = [p.positive for p in test]
    print(
        "text similarity alone (ROC AUC, held-out half): "
        f"character 3-5 grams {auc([p.features['text'] for p in test], labels):.3f}, "
        f"word 1-2 grams {auc([p.text_word for p in test], labels):.3f}"
    )
    weights = fit(tune)
    print(f"weights fitted on the tuning half: {weights}")
    curve = []
    for threshold in (0.3, 0.4, 0.5, 0.6, 0.7, 0.8):
        p, r, _ = evaluate(tune, true_tune, weights, threshold)
        curve.append(f"{threshold:.1f}: P {p:.3f} R {r:.3f}")
    print("tuning half, by threshold: " + "; ".join(curve))
    likely = choose_threshold(tune, true_tune, weights, aim=0.92)
    possible = choose_threshold(tune, true_tune, weights, aim=0.75)
    for name, threshold in (("likely", likely), ("possible", possible)):
        p_tune, r_tune, _ = evaluate(tune, true_tune, weights, threshold)
        p, r, n = evaluate(test, true_test, weights, threshold)
        print(
            f"{name} (score >= {threshold:.2f}): held-out precision {p:.3f} recall {r:.3f} "
            f"({n} shown of {len(test)} pairs, {true_test} true pairs); "
            f"tuning half P {p_tune:.3f} R {r_tune:.3f}"
        )
    p, r, _ = evaluate(test, true_test, duplicates.WEIGHTS, duplicates.LIKELY)
    print(
        f"in use (portal.assist.duplicates WEIGHTS, LIKELY {duplicates.LIKELY}): "
        f"held-out precision {p:.3f} recall {r:.3f}"
    )
    with_photo = [p for p in test if p.features["photo_same"] or p.features["photo_differs"]]
    wp = sum(p.positive for p in with_photo)
    pp, rp, _ = evaluate(with_photo, wp, duplicates.WEIGHTS, duplicates.LIKELY)
    print(f"  pairs where both have a photo: precision {pp:.3f} recall {rp:.3f} (of {wp})")


# -- cost at scale -----------------------------------------------------------------------------


def add_categories(session) -> dict[str, tuple[int, int]]:
    group = ServiceGroup(code="all", name="All")
    departments = [Department(code=f"d{n}", name=f"Department {n}") for n in range(DEPARTMENTS)]
    session.add_all([group, *departments])
    session.flush()
    ids = {}
    for code in CODES:
        department = departments[department_of(code)]
        category = ServiceCategory(
            code=code, name=code, group_id=group.id, department_id=department.id
        )
        session.add(category)
        session.flush()
        ids[code] = (category.id, department.id)
    session.commit()
    return ids


#: The city's neighbourhoods: a grid of AREA_ROWS x AREA_COLUMNS over its square.
AREA_ROWS, AREA_COLUMNS = 4, 6
#: The share of requests filed without a position (by phone or email, an address in words).
UNLOCATED = 0.05
#: 120 street names for the addresses typed in words.
STREETS = [
    f"{name} {kind}"
    for name in (
        *("Elm", "Oak", "Main", "Maple", "River", "Pine", "Cedar", "Lake", "Hill", "Park"),
        *("Church", "Mill", "Spring", "Canal", "Bridge", "Market", "School", "Station"),
        *(f"{n}th" for n in range(4, 46)),
    )
    for kind in ("Street", "Avenue")
][:120]


def add_areas(session) -> list[int]:
    """The neighbourhoods' ids, row by row from the south-west."""
    ids = []
    height, width = 2 * SPAN / AREA_ROWS, 2 * SPAN / AREA_COLUMNS
    for row in range(AREA_ROWS):
        for column in range(AREA_COLUMNS):
            south, west = LAT0 - SPAN + row * height, LON0 - SPAN + column * width
            ring = [
                [west, south],
                [west + width, south],
                [west + width, south + height],
                [west, south + height],
                [west, south],
            ]
            area = Area(
                code=f"n{row}-{column}",
                name=f"Neighbourhood {row}-{column}",
                geometry={"type": "Polygon", "coordinates": [ring]},
                min_lat=south,
                max_lat=south + height,
                min_lon=west,
                max_lon=west + width,
            )
            session.add(area)
            session.flush()
            ids.append(area.id)
    session.commit()
    return ids


def area_of(areas: list[int], lat: float, lon: float) -> int:
    row = min(AREA_ROWS - 1, int((lat - LAT0 + SPAN) / (2 * SPAN / AREA_ROWS)))
    column = min(AREA_COLUMNS - 1, int((lon - LON0 + SPAN) / (2 * SPAN / AREA_COLUMNS)))
    return areas[row * AREA_COLUMNS + column]


def load_requests(db, ids, rows: int, end: datetime, areas: list[int], seed: int = 7) -> None:
    rng = random.Random(seed)
    hashes = [f"{rng.getrandbits(64):016x}" for _ in range(5000)]
    pool = {
        (code, language): [assist_corpus.describe(rng, code, language) for _ in range(300)]
        for code in CODES
        for language in ("en", "es")
    }
    batch = 10_000
    photo_id = 0
    with db.engine.begin() as conn:
        for first in range(1, rows + 1, batch):
            requests, photos = [], []
            for n in range(first, min(rows, first + batch - 1) + 1):
                code = rng.choice(CODES)
                language = "es" if rng.random() < 0.4 else "en"
                created = end - timedelta(minutes=(rows - n) * 525_600 / rows)
                open_ = rng.random() < 0.1 or created > end - timedelta(days=7)
                category_id, department_id = ids[code]
                lat, lon = LAT0 + rng.uniform(-SPAN, SPAN), LON0 + rng.uniform(-SPAN, SPAN)
                located = rng.random() >= UNLOCATED
                requests.append(
                    {
                        "id": n,
                        "reference": f"SR-D-{n:08d}",
                        "category_id": category_id,
                        "department_id": department_id,
                        "description": rng.choice(pool[(code, language)]),
                        "answers": {},
                        "locale": language,
                        "lat": lat if located else None,
                        "lon": lon if located else None,
                        "area_id": area_of(areas, lat, lon),
                        "address": ""
                        if located
                        else f"{rng.randint(1, 400)} {rng.choice(STREETS)}",
                        "status": "new" if open_ else "resolved",
                        "is_open": open_,
                        "created_at": created,
                        "updated_at": created,
                        "status_changed_at": created,
                    }
                )
                if rng.random() < 0.2:
                    photo_id += 1
                    photos.append(
                        {
                            "id": photo_id,
                            "request_id": n,
                            "storage_key": f"p{photo_id}.jpg",
                            "width": 800,
                            "height": 600,
                            "size_bytes": 1,
                            "phash": rng.choice(hashes),
                        }
                    )
            conn.execute(insert(ServiceRequest), requests)
            if photos:
                conn.execute(insert(RequestPhoto), photos)


def cost(rows: int, database_url: str, filings: int = 300, reuse: bool = False) -> None:
    scratch = tempfile.TemporaryDirectory()
    if reuse:  # the requests a previous run loaded into database_url (migrated since)
        app = create_app(
            Settings(
                env="test",
                secret_key="b" * 40,
                database_url=database_url,
                upload_dir=scratch.name,
                mail_dir=scratch.name,
                ratelimit_enabled=False,
            )
        )
        db = app.extensions["portal.db"]
        analyze(db)
    else:
        app, db = scratch_app(scratch, database_url)
    settings = replace(
        app.extensions["portal.settings"],
        assist_duplicate_radius_m=RADIUS_M,
        assist_duplicate_days=WINDOW_DAYS,
    )
    session = db.session(write=True)
    end = datetime(2026, 12, 1, tzinfo=UTC)
    if not reuse:
        ids = add_categories(session)
        areas = add_areas(session)
        started = time.perf_counter()
        load_requests(db, ids, rows, end, areas)
        analyze(db)
        print(f"loaded {rows} requests in {time.perf_counter() - started:.0f} s")
    rng = random.Random(3)
    targets = [rows - rng.randrange(0, min(rows, 5000)) for _ in range(filings)]
    unlocated = list(
        session.scalars(
            select(ServiceRequest.id)
            .where(ServiceRequest.id > rows - 5000, ServiceRequest.lat.is_(None))
            .limit(filings)
        )
    )
    targets = [n for n in targets if n not in set(unlocated)]
    duplicates.text_similarities("warm up", ["the vectorizer's import"])
    for label, chosen in (("with a position", targets), ("without (phone)", unlocated)):
        timings, kept = [], []
        for n in chosen:
            sr = session.get(ServiceRequest, n)
            started = time.perf_counter()
            stored = duplicates.score_filed(session, sr, settings=settings, now=end)
            session.flush()
            timings.append((time.perf_counter() - started) * 1000)
            kept.append(len(stored))
            session.rollback()
        print(
            f"score_filed at {rows} requests, {label}: p50 {statistics.median(timings):.1f} ms  "
            f"p95 {percentile(timings, 95):.1f} ms  max {max(timings):.1f} ms "
            f"({len(chosen)} filings; {statistics.mean(kept):.1f} candidates kept)"
        )
    near = [
        len(
            duplicates.nearby_reports(
                session,
                duplicates.report_of(session.get(ServiceRequest, n)),
                settings=settings,
            )
        )
        for n in targets[:50]
    ]
    print(f"{statistics.mean(near):.0f} requests read near each located filing")
    for n in (targets[0], unlocated[0]):
        sr = session.get(ServiceRequest, n)
        print_plans(
            db,
            "score_filed",
            lambda sr=sr: duplicates.candidates_for(session, sr, settings=settings),
        )
    session.rollback()
    count = session.scalar(select(ServiceRequest.id).order_by(ServiceRequest.id.desc()).limit(1))
    assert count == rows
    session.close()
    db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--incidents", type=int, default=2000)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", ""))
    parser.add_argument("--skip-accuracy", action="store_true")
    parser.add_argument(
        "--reuse", action="store_true", help="time the requests already loaded (--database-url)"
    )
    args = parser.parse_args()
    if not args.skip_accuracy:
        accuracy(args.incidents)
    if args.rows:
        cost(args.rows, args.database_url, reuse=args.reuse)


if __name__ == "__main__":
    main()
