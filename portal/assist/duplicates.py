"""Possible duplicates (issue 22): when a request is filed, the earlier requests that may
report the same incident, each with a score and the plain reasons behind it. A person decides;
nothing here merges, closes or re-routes anything.

- ``candidates_for(session, request, settings=...)`` reads the requests near ``request`` from
  the geographic index first (``ix_service_requests_lat_lon_created_open``: a lat range; lon,
  filing time and openness checked in the index), those open or filed in the last
  ``assist_duplicate_days`` before it, within ``assist_duplicate_radius_m``; at most
  ``MAX_READ`` of them, newest first, then scores each on:
    distance (closer is likelier), category (same category, or at least the same department),
    time apart (days), text similarity (cosine of hashed character 3-5 grams of the
    normalised words, common words left out: re-reports share stems, "bache"/"baches",
    "pothole"/"hole", more than whole words), and photos (ImageHash's pHash, computed when a
    photo is stored: a re-encoded, resized or slightly cropped copy is a few bits away).
  The score is a logistic function of those features with ``WEIGHTS`` fitted on the tuning
  half of the labelled set in ``benchmarks/assist_duplicates.py``; ``LIKELY`` and ``POSSIBLE``
  were chosen there too (precision and recall on the other half are in its output).
- A request without a position (filed by email or phone with an address in words, or only
  its area) is compared on what it has (``place``): the requests with the same normalised
  address (``portal.places.normalise``: "12 Main Street" is "12 main st") count as on the
  spot; those of the same category in the same area count as ``AREA_NEAR`` close, more the
  more their words are alike (``AREA_TEXT``), and such a pair is never "likely" (its score is
  held under ``LIKELY``): an area is a neighbourhood, not a place. A located request is
  compared the same way with the earlier unlocated ones of its area or address.
- ``score_filed(session, request, settings=..., now=...)`` stores the best ``KEEP`` candidates
  at or above ``POSSIBLE`` in ``duplicate_candidates``; it runs on the ``case_filed`` hook
  (``portal.assist.reactions``) for every channel, inside a savepoint, and fails open.
- ``for_case``, ``decide`` and ``metrics`` serve the case page, "Not a duplicate" and the
  algorithm register (the city's own precision: of the "likely" pairs people decided on, the
  share merged).

No Flask here: plain functions over a session, the settings and ``now``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, func, insert, or_, select, true
from sqlalchemy.orm import Session, joinedload

from portal.areas.geo import bounding_box, distance_m
from portal.assist.models import DuplicateCandidate
from portal.assist.text import normalise
from portal.auth.models import User
from portal.core.audit import AuditEntry
from portal.core.config import Settings
from portal.places.normalise import parse_query
from portal.requests.models import RequestPhoto, ServiceRequest
from portal.requests.photos import hash_distance

#: At most this many requests near a new one are read (newest first) and scored.
MAX_READ = 200
#: At most this many candidates are kept per request.
KEEP = 5
#: Descriptions are compared on their first this many characters.
MAX_CHARS = 2000
#: Two photos within this many bits of 64 (pHash) are "the same picture".
PHOTO_BITS = 16
#: Days apart: the time feature halves every this many days.
HALF_LIFE_DAYS = 7.0
#: Two requests in the same area without a position or an address in common: as close as this
#: (of 1, on the spot), plus up to ``AREA_TEXT`` as much as their words are alike (0 to 1).
#: With the same category, filed the same day: 0.5 scores 0.60 ("possible"), three days
#: apart 0.17; another category nowhere near ``POSSIBLE``.
AREA_NEAR = 0.5
AREA_TEXT = 0.5

#: The logistic model's weights over the features (``features``), fitted on the tuning half
#: of the labelled set (``benchmarks/assist_duplicates.py``, 2,000 seeded incidents, 4,426
#: reports). Text similarity and "same department" got negative weights there and are left out
#: (0): the corpus's re-reports are written another way on purpose while distinct incidents of
#: the same category nearby often share a phrasing, so the words did not separate them beyond
#: the category (ROC AUC of the text alone 0.64). The shared words are still shown as a reason.
WEIGHTS: dict[str, float] = {
    "bias": -16.96,
    "near": 7.7,
    "category": 5.83,
    "department": 0.0,
    "recent": 7.7,
    "text": 0.0,
    "photo_same": 4.03,
    "photo_differs": -0.34,
}
#: A candidate scoring at least ``LIKELY`` is shown as "likely" (precision 0.92 on the tuning
#: half), at least ``POSSIBLE`` as "possible" (0.75); below, it is not kept.
LIKELY = 0.67
POSSIBLE = 0.16
#: The most a pair only their area places together scores: "possible", never "likely".
AREA_ONLY_MAX = 0.66
#: The evaluation of ``WEIGHTS`` and ``LIKELY`` on the held-out half of the labelled set
#: (``benchmarks/assist_duplicates.py``: made-up reports of seeded incidents, not the city's),
#: shown in the algorithm register as such, after the city's own figure (``metrics``).
EVALUATION: dict[str, Any] = {
    "evaluated": "2026-12-07",
    "pairs": 23604,
    "true_pairs": 1036,
    "precision": 0.935,
    "recall": 0.810,
    "threshold": LIKELY,
}

DECISIONS = ("merged", "not_duplicate")

_WORD = re.compile(r"[a-z]+")
#: Words too common to say two reports are alike (English and Spanish, folded).
_STOPWORDS = """
    a about above after again all also am an and any are as at be been before being below
    between both but by can could did do does doing down during each few for from further had
    has have having he her here hers him his how i if in into is it its just me more most my
    no nor not now of off on once only or other our out over own please same she should so
    some still such than that the their them then there these they this those through to too
    under until up very was we were what when where which while who why will with would you
    your yours im its theres dont cant thats hi hello thanks thank again since last week today
    yesterday night morning day days near outside front corner
    al algo ante antes aqui como con contra cual cuando de del desde donde dos el ella ellos en
    entre era es esa ese eso esta estan este esto estos favor fue ha hace hay hola la las le
    les lo los mas me mi muy mucho nada ni no nos o otra otro para pero por porque que se ser
    si sin sobre solo son su sus tambien te tiene todo todos tu un una uno unos usted y ya yo
    frente esquina cerca dia dias semana hoy ayer noche manana gracias
    """
STOPWORDS = frozenset(_STOPWORDS.split())


# -- text --------------------------------------------------------------------------------------


def words(text: str) -> list[str]:
    """The words of ``text`` that say what the problem is: normalised (portal.assist.text),
    at least three letters, common words left out."""
    return [
        w for w in _WORD.findall(normalise(text[:MAX_CHARS])) if len(w) >= 3 and w not in STOPWORDS
    ]


_VECTORIZER: Any = None


def _vectorizer() -> Any:
    """Hashed character 3-5 grams within words, sublinear counts, unit length: no vocabulary
    to train or keep (nothing to go missing), a few milliseconds for a few hundred texts."""
    global _VECTORIZER
    if _VECTORIZER is None:
        from sklearn.feature_extraction.text import HashingVectorizer

        _VECTORIZER = HashingVectorizer(
            analyzer="char_wb",
            ngram_range=(3, 5),
            n_features=2**18,
            alternate_sign=False,
            norm="l2",
            lowercase=False,
        )
    return _VECTORIZER


def text_similarities(text: str, others: Sequence[str]) -> list[float]:
    """Cosine similarity (0 to 1) of ``text`` with each of ``others``."""
    if not others:
        return []
    documents = [" ".join(words(t)) for t in (text, *others)]
    matrix = _vectorizer().transform(documents)
    products = (matrix[1:] @ matrix[0].T).toarray().ravel()
    return [float(min(1.0, max(0.0, p))) for p in products]


def common_words(text: str, other: str, limit: int = 4) -> list[str]:
    """Words (as written, folded) both texts use, in the order of ``text``."""
    theirs = set(words(other))
    seen: list[str] = []
    for word in words(text):
        if word in theirs and word not in seen:
            seen.append(word)
    return seen[:limit]


# -- scoring -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Report:
    """What is compared of a request (from the database or, in the benchmark, made up)."""

    id: int
    category_id: int
    department_id: int
    lat: float | None
    lon: float | None
    created_at: datetime
    description: str
    phashes: tuple[str, ...] = ()
    area_id: int | None = None
    address: str = ""

    @property
    def located(self) -> bool:
        return self.lat is not None and self.lon is not None


def address_key(text: str) -> str:
    """The address in ``text`` in canonical form ("12 Main Street, Apt 4" -> "12 main st 4",
    a corner "Main St & 3rd Ave" -> "3rd ave & main st"), "" when it names no house number or
    corner (a street alone is too long to say two reports are at one place)."""
    parsed = parse_query(text)
    if parsed.kind == "address":
        return parsed.key
    if parsed.kind == "intersection" and parsed.street and parsed.cross:
        return " & ".join(sorted((parsed.street, parsed.cross)))
    return ""


@dataclass(frozen=True)
class Place:
    """How close two reports are (``near``, 0 to 1), the reason to show, and whether only
    their area says so (such a pair is never "likely")."""

    near: float
    reason: dict[str, Any]
    area_only: bool = False
    metres: float | None = None


def place(new: Report, old: Report, *, text: float, radius_m: float) -> Place | None:
    """Where the pair is: both located, by distance; else the same normalised address, or the
    same area; None when nothing says they are at one place."""
    if new.located and old.located:
        assert new.lat is not None and new.lon is not None
        assert old.lat is not None and old.lon is not None
        metres = distance_m(new.lat, new.lon, old.lat, old.lon)
        return Place(
            max(0.0, 1.0 - metres / max(radius_m, 1.0)),
            {"kind": "distance", "metres": round(metres)},
            metres=metres,
        )
    key = address_key(new.address)
    if key and key == address_key(old.address):
        return Place(1.0, {"kind": "address"})
    if new.area_id is not None and new.area_id == old.area_id:
        return Place(AREA_NEAR + AREA_TEXT * text, {"kind": "area"}, area_only=True)
    return None


@dataclass(frozen=True)
class Scored:
    candidate_id: int
    score: float
    reasons: list[dict[str, Any]]
    features: dict[str, float]


def features(
    new: Report, old: Report, *, text: float, radius_m: float
) -> tuple[dict[str, float], list[dict[str, Any]]]:
    """The features of the pair (each 0 to 1) and the reasons to show (a pair nothing places
    together is as far as can be)."""
    where = place(new, old, text=text, radius_m=radius_m) or Place(0.0, {"kind": "area"})
    days = abs((new.created_at - old.created_at).total_seconds()) / 86400
    same_category = new.category_id == old.category_id
    same_department = not same_category and new.department_id == old.department_id
    bits = min(
        (hash_distance(a, b) for a in new.phashes for b in old.phashes),
        default=None,
    )
    found = {
        "near": where.near,
        "category": 1.0 if same_category else 0.0,
        "department": 1.0 if same_department else 0.0,
        "recent": 0.5 ** (days / HALF_LIFE_DAYS),
        "text": text,
        "photo_same": 1.0 if bits is not None and bits <= PHOTO_BITS else 0.0,
        "photo_differs": 1.0 if bits is not None and bits > PHOTO_BITS else 0.0,
    }
    reasons: list[dict[str, Any]] = [where.reason]
    if same_category:
        reasons.append({"kind": "category"})
    elif same_department:
        reasons.append({"kind": "department"})
    reasons.append({"kind": "time", "hours": round(days * 24, 1)})
    if shared := common_words(new.description, old.description):
        reasons.append({"kind": "words", "words": shared})
    if found["photo_same"]:
        reasons.append({"kind": "photo", "bits": bits})
    return found, reasons


def probability(found: dict[str, float], weights: dict[str, float] | None = None) -> float:
    """The logistic model's score (0 to 1) of a pair's features."""
    w = weights or WEIGHTS
    z = w["bias"] + sum(w[name] * value for name, value in found.items())
    return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))


def score(
    new: Report,
    olds: Sequence[Report],
    *,
    radius_m: float,
    weights: dict[str, float] | None = None,
) -> list[Scored]:
    """Every one of ``olds`` scored against ``new`` (best first); those farther than
    ``radius_m``, or (without a position) at another address and in another area, are left
    out. A pair only the area places together scores under ``LIKELY``."""
    others = [old for old in olds if old.id != new.id]
    texts = text_similarities(new.description, [old.description for old in others])
    scored = []
    for old, text in zip(others, texts, strict=True):
        where = place(new, old, text=text, radius_m=radius_m)
        if where is None or (where.metres is not None and where.metres > radius_m):
            continue
        found, reasons = features(new, old, text=text, radius_m=radius_m)
        value = probability(found, weights)
        if where.area_only:
            value = min(value, AREA_ONLY_MAX)
        scored.append(Scored(old.id, value, reasons, found))
    scored.sort(key=lambda s: -s.score)
    return scored


def strength(value: float) -> str:
    """ "likely" or "possible" (what staff are shown instead of a number)."""
    return "likely" if value >= LIKELY else "possible"


# -- reading candidates ------------------------------------------------------------------------


def _photo_hashes(session: Session, ids: Iterable[int]) -> dict[int, tuple[str, ...]]:
    ids = list(ids)
    found: dict[int, list[str]] = {}
    if not ids:
        return {}
    rows = session.execute(
        select(RequestPhoto.request_id, RequestPhoto.phash).where(
            RequestPhoto.request_id.in_(ids), RequestPhoto.phash.is_not(None)
        )
    )
    for request_id, phash in rows:
        if request_id is not None and phash:
            found.setdefault(request_id, []).append(phash)
    return {key: tuple(value) for key, value in found.items()}


def report_of(sr: ServiceRequest, phashes: tuple[str, ...] = ()) -> Report:
    return Report(
        sr.id,
        sr.category_id,
        sr.department_id,
        sr.lat,
        sr.lon,
        sr.created_at,
        sr.description or "",
        phashes,
        sr.area_id,
        sr.address or "",
    )


_COLUMNS = (
    ServiceRequest.id,
    ServiceRequest.category_id,
    ServiceRequest.department_id,
    ServiceRequest.lat,
    ServiceRequest.lon,
    ServiceRequest.created_at,
    func.substr(ServiceRequest.description, 1, MAX_CHARS),
    ServiceRequest.area_id,
    ServiceRequest.address,
)


def _reports(rows: Iterable[Any], hashes: dict[int, tuple[str, ...]]) -> list[Report]:
    return [
        Report(
            row[0],
            row[1],
            row[2],
            row[3],
            row[4],
            row[5],
            row[6] or "",
            hashes.get(row[0], ()),
            row[7],
            row[8] or "",
        )
        for row in rows
    ]


def _earlier(new: Report, settings: Settings) -> list[ColumnElement[bool]]:
    """The requests ``new`` may duplicate: filed before it, open or filed in the last
    ``assist_duplicate_days`` before it, not closed as a duplicate themselves."""
    since = new.created_at - timedelta(days=settings.assist_duplicate_days)
    return [
        ServiceRequest.created_at <= new.created_at,
        ServiceRequest.id != new.id,
        or_(ServiceRequest.created_at >= since, ServiceRequest.is_open == true()),
        ServiceRequest.duplicate_of_id.is_(None),
    ]


def same_place_reports(
    session: Session,
    new: Report,
    *,
    settings: Settings,
    unlocated_only: bool,
    limit: int = MAX_READ,
) -> list[Report]:
    """The requests of ``new``'s category in its area filed in the last
    ``assist_duplicate_days`` before it (a range of ``ix_service_requests_area_created_category``)
    and those at its address typed alike (``ix_service_requests_address_lower``), not closed
    as a duplicate, newest first, at most ``limit`` of each (``unlocated_only``: only those
    without a position, for a located ``new``, whose located neighbours ``nearby_reports``
    reads). Unlike those, an open request filed earlier is not read: without positions to
    compare, two weeks apart is already too far for a pair to score "possible"."""
    places: list[ColumnElement[bool]] = []
    if new.area_id is not None:
        places.append(
            and_(
                ServiceRequest.area_id == new.area_id,
                ServiceRequest.category_id == new.category_id,
            )
        )
    if address_key(new.address):
        places.append(func.lower(ServiceRequest.address) == new.address.strip().lower())
    conditions = [
        ServiceRequest.created_at
        >= new.created_at - timedelta(days=settings.assist_duplicate_days),
        ServiceRequest.created_at <= new.created_at,
        ServiceRequest.id != new.id,
        ServiceRequest.duplicate_of_id.is_(None),
    ]
    if unlocated_only:
        # "lat + 0", not "lat": SQLite would otherwise read "lat IS NULL" from the geographic
        # index, every request without a position in the city (at a million requests a
        # located filing took 28 ms instead of 14), rather than the area's month.
        conditions.append((ServiceRequest.lat + 0).is_(None))
    rows: dict[int, Any] = {}
    for where in places:
        for row in session.execute(
            select(*_COLUMNS)
            .where(*conditions, where)
            .order_by(ServiceRequest.created_at.desc())
            .limit(limit)
        ):
            rows.setdefault(row[0], row)
    return _reports(sorted(rows.values(), key=lambda row: row[5], reverse=True), {})


def nearby_reports(
    session: Session,
    new: Report,
    *,
    settings: Settings,
    limit: int = MAX_READ,
    hashes: bool = True,
) -> list[Report]:
    """The requests filed before ``new`` within its radius's box, open or filed in the last
    ``assist_duplicate_days`` before it, not already closed as a duplicate; newest first
    (``hashes``: with their photos' hashes). ``new`` must have a position."""
    assert new.lat is not None and new.lon is not None
    min_lat, max_lat, min_lon, max_lon = bounding_box(
        new.lat, new.lon, settings.assist_duplicate_radius_m
    )
    rows = session.execute(
        select(*_COLUMNS)
        .where(
            ServiceRequest.lat.between(min_lat, max_lat),
            ServiceRequest.lon.between(min_lon, max_lon),
            *_earlier(new, settings),
        )
        .order_by(ServiceRequest.created_at.desc())
        .limit(limit)
    ).all()
    found = _photo_hashes(session, [row[0] for row in rows]) if hashes else {}
    return _reports(rows, found)


def candidates_for(session: Session, sr: ServiceRequest, *, settings: Settings) -> list[Scored]:
    """The earlier requests ``sr`` may duplicate, scored, best first, at least ``POSSIBLE``.
    A few statements: the requests near (by position; and by area and address, for the
    unlocated), then the photo hashes of ``sr`` and of those."""
    new = report_of(sr)
    located = new.located
    olds = nearby_reports(session, new, settings=settings, hashes=False) if located else []
    if new.area_id is not None or address_key(new.address):
        olds += same_place_reports(session, new, settings=settings, unlocated_only=located)
    hashes = _photo_hashes(session, [sr.id, *(old.id for old in olds)])
    new = replace(new, phashes=hashes.get(sr.id, ()))
    olds = [replace(old, phashes=hashes.get(old.id, ())) for old in olds]
    found = score(new, olds, radius_m=settings.assist_duplicate_radius_m)
    return [s for s in found if s.score >= POSSIBLE][:KEEP]


def score_filed(
    session: Session,
    sr: ServiceRequest,
    *,
    settings: Settings,
    now: datetime,
    new: bool = True,
) -> list[Scored]:
    """Store the candidates of ``sr`` in one statement; ``new=False`` (scoring again) first
    drops its undecided ones and keeps the pairs people decided on as they are. The same
    statements however many requests are near. Flushes; the caller commits."""
    found = candidates_for(session, sr, settings=settings)
    decided: set[int] = set()
    if not new:
        decided = set(
            session.scalars(
                select(DuplicateCandidate.candidate_id).where(
                    DuplicateCandidate.request_id == sr.id,
                    DuplicateCandidate.decided_at.is_not(None),
                )
            )
        )
        session.execute(
            delete(DuplicateCandidate).where(
                DuplicateCandidate.request_id == sr.id, DuplicateCandidate.decided_at.is_(None)
            )
        )
    stored = [s for s in found if s.candidate_id not in decided]
    if stored:
        session.execute(
            insert(DuplicateCandidate),
            [
                {
                    "request_id": sr.id,
                    "candidate_id": s.candidate_id,
                    "score": round(s.score, 4),
                    "reasons": s.reasons,
                    "created_at": now,
                }
                for s in stored
            ],
        )
    return stored


def rescore(
    session: Session, *, settings: Settings, now: datetime, since: datetime | None = None
) -> int:
    """Score every request filed since ``since`` (all when None) again, oldest first, a batch
    of ids at a time. Returns how many were scored. Flushes; the caller commits. Each batch's
    requests are let go of the session once scored (a run over a million requests holds one
    batch at a time), so call it with nothing else pending in the session."""
    done, last_id = 0, 0
    while True:
        query = (
            select(ServiceRequest)
            .where(ServiceRequest.id > last_id)
            .order_by(ServiceRequest.id)
            .limit(500)
        )
        if since is not None:
            query = query.where(ServiceRequest.created_at >= since)
        batch = list(session.scalars(query))
        if not batch:
            return done
        for sr in batch:
            score_filed(session, sr, settings=settings, now=now, new=False)
            done += 1
        last_id = batch[-1].id
        session.flush()
        session.expunge_all()


# -- staff -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Shown:
    """A candidate as the case page shows it: ``other`` is the other request of the pair,
    ``earlier`` whether it was filed before the case."""

    row: DuplicateCandidate
    other: ServiceRequest
    earlier: bool

    @property
    def strength(self) -> str:
        return strength(self.row.score)


def for_case(
    session: Session, sr: ServiceRequest, *, visible: ColumnElement[bool] | None
) -> list[Shown]:
    """The undecided candidates of the case, from either side (the earlier requests it may
    duplicate, the later ones that may duplicate it), best first; only requests the member
    may open (``visible``: a condition on ServiceRequest, None for all) and not closed as a
    duplicate."""
    query = (
        select(DuplicateCandidate, ServiceRequest)
        .join(
            ServiceRequest,
            or_(
                and_(
                    DuplicateCandidate.request_id == sr.id,
                    ServiceRequest.id == DuplicateCandidate.candidate_id,
                ),
                and_(
                    DuplicateCandidate.candidate_id == sr.id,
                    ServiceRequest.id == DuplicateCandidate.request_id,
                ),
            ),
        )
        .where(
            or_(DuplicateCandidate.request_id == sr.id, DuplicateCandidate.candidate_id == sr.id),
            DuplicateCandidate.decided_at.is_(None),
            ServiceRequest.duplicate_of_id.is_(None),
        )
        .options(joinedload(ServiceRequest.category))
        .order_by(DuplicateCandidate.score.desc(), DuplicateCandidate.id)
        .limit(KEEP * 2)
    )
    if visible is not None:
        query = query.where(visible)
    return [
        Shown(row, other, earlier=row.request_id == sr.id) for row, other in session.execute(query)
    ]


def undecided() -> ColumnElement[bool]:
    """A condition on ServiceRequest: the case has a possible duplicate nobody decided on
    (the queue's filter; ``ix_duplicate_candidates_request_decided`` and ``..._candidate_...``)."""
    pending = DuplicateCandidate.decided_at.is_(None)
    return or_(
        select(DuplicateCandidate.id)
        .where(DuplicateCandidate.request_id == ServiceRequest.id, pending)
        .exists(),
        select(DuplicateCandidate.id)
        .where(DuplicateCandidate.candidate_id == ServiceRequest.id, pending)
        .exists(),
    )


class NotFound(LookupError):
    """No undecided candidate of that id on that case."""


def decide(
    session: Session,
    *,
    sr: ServiceRequest,
    candidate_id: int,
    decision: str,
    actor: User | None,
    now: datetime,
) -> DuplicateCandidate:
    """Record a person's decision on a candidate of ``sr`` (either side), audited. Raises
    ``NotFound``, ``ValueError`` for an unknown decision. Flushes."""
    if decision not in DECISIONS:
        raise ValueError(f"unknown decision {decision!r}")
    row = session.scalar(
        select(DuplicateCandidate).where(
            DuplicateCandidate.id == candidate_id,
            or_(DuplicateCandidate.request_id == sr.id, DuplicateCandidate.candidate_id == sr.id),
        )
    )
    if row is None or row.decided_at is not None:
        raise NotFound(candidate_id)
    row.decision = decision
    row.decided_at = now
    row.decided_by_id = actor.id if actor is not None else None
    session.add(
        AuditEntry(
            actor_id=row.decided_by_id,
            entity="duplicate_candidate",
            entity_id=str(row.id),
            action=decision,
            before={"request": row.request_id, "candidate": row.candidate_id},
            after={"score": row.score, "decision": decision},
            created_at=now,
        )
    )
    session.flush()
    return row


def merged(session: Session, *, sr: ServiceRequest, actor: User | None, now: datetime) -> None:
    """``sr`` was closed as a duplicate of ``sr.duplicate_of_id`` (by a person, through the
    case page's merge): the candidate pair, if there was one, is recorded as merged, and every
    other undecided candidate of ``sr`` is left for no one (it is closed)."""
    into = sr.duplicate_of_id
    if into is None:
        return
    row = session.scalar(
        select(DuplicateCandidate).where(
            or_(
                and_(
                    DuplicateCandidate.request_id == sr.id,
                    DuplicateCandidate.candidate_id == into,
                ),
                and_(
                    DuplicateCandidate.request_id == into,
                    DuplicateCandidate.candidate_id == sr.id,
                ),
            ),
            DuplicateCandidate.decided_at.is_(None),
        )
    )
    if row is not None:
        decide(session, sr=sr, candidate_id=row.id, decision="merged", actor=actor, now=now)


# -- the algorithm register --------------------------------------------------------------------

#: The register's period: the pairs decided in the last this many days.
METRICS_DAYS = 365
#: Below this many decided "likely" pairs the register says there are not enough decisions yet
#: rather than a share of a handful.
MIN_DECIDED = 30


def decision_counts(session: Session, *, since: datetime, until: datetime) -> dict[str, int]:
    """The pairs people decided on (merged or "not a duplicate") at or after ``since`` and
    before ``until``: how many, merged, dismissed, and of those the portal called "likely"
    (scored at least ``LIKELY``) how many were decided and how many merged. One grouped count
    over a range of ``ix_duplicate_candidates_decided`` (decided_at, decision, score), answered
    from the index: the candidates nobody decided on, however many, are not read (37,542
    decisions in a year out of 1.5 million candidates: 43 ms on SQLite, 19 ms on PostgreSQL;
    250 and 143 ms without the index). The register reads it per month from the report
    roll-ups (``portal.reports.assistance``)."""
    likely = DuplicateCandidate.score >= LIKELY
    rows = session.execute(
        select(DuplicateCandidate.decision, likely, func.count())
        .where(DuplicateCandidate.decided_at >= since, DuplicateCandidate.decided_at < until)
        .group_by(DuplicateCandidate.decision, likely)
    ).all()
    counts: dict[tuple[str | None, bool], int] = {(d, bool(k)): n for d, k, n in rows}
    merged_n = counts.get(("merged", True), 0) + counts.get(("merged", False), 0)
    dismissed = counts.get(("not_duplicate", True), 0) + counts.get(("not_duplicate", False), 0)
    likely_merged = counts.get(("merged", True), 0)
    return {
        "decided": merged_n + dismissed,
        "merged": merged_n,
        "dismissed": dismissed,
        "likely_decided": likely_merged + counts.get(("not_duplicate", True), 0),
        "likely_merged": likely_merged,
    }


def precision_of(counts: Mapping[str, int]) -> float | None:
    """Of the decided "likely" pairs in ``counts``, the share merged (None below
    ``MIN_DECIDED`` of them: not enough decisions yet)."""
    decided = counts.get("likely_decided", 0)
    return counts.get("likely_merged", 0) / decided if decided >= MIN_DECIDED else None


def metrics(session: Session, now: datetime) -> dict[str, Any]:
    """The city's own measured figures, counted now over the last ``METRICS_DAYS`` days
    (``decision_counts``), with ``precision`` (``precision_of``) and ``EVALUATION``, the
    benchmark's evaluation of the weights and threshold on made-up pairs."""
    counts = decision_counts(
        session, since=now - timedelta(days=METRICS_DAYS), until=now + timedelta(microseconds=1)
    )
    return {
        "days": METRICS_DAYS,
        "minimum": MIN_DECIDED,
        **counts,
        "precision": precision_of(counts),
        "evaluation": dict(EVALUATION),
    }
