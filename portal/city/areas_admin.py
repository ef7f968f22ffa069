"""Replace the city's areas from an uploaded GeoJSON file, previewed before it is applied
(no Flask here).

The upload is checked whole by ``portal.areas.loader.read_areas`` (every problem, nothing
written). A valid file is kept under ``upload_dir/area-uploads`` with a random name until it is
applied (or swept a day later); the pages carry a signed token naming it and the SHA-256 of its
bytes, so any web process with the same upload folder can show the preview or apply it, and what
is applied is exactly what was previewed (``portal.city.areas_admin_uploads``).

Applying has the semantics of ``flask city import`` for areas: matched by code, only what
differs is written, areas missing from the file are deactivated (never deleted: requests point
at them). The preview carries ``fingerprint(session)`` of the areas it was drawn from; applying
over different areas raises ``StalePreview``. Open requests keep their area unless the admin
asks to re-place them: then each open request with a point is moved, with one bulk UPDATE per
batch and target area, to the active area of the file that covers its point (a point on the
edge of its current area stays). Points are read in batches of ``BATCH`` (keyset on the id), so
a city with 100,000 open requests is never held in memory at once.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
from shapely.geometry import shape
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from portal.areas.models import Area
from portal.auth.models import User
from portal.city.areas_admin_uploads import Upload
from portal.core import clock
from portal.core.audit import AuditEntry
from portal.requests.models import ServiceRequest

#: Open requests read per query when counting or moving them.
BATCH = 5000
#: The columns an area file sets, as the importer compares them.
COLUMNS = ("name", "geometry", "min_lat", "max_lat", "min_lon", "max_lon", "population", "active")
#: What the preview says changed (the bounding box follows the geometry).
CHANGE_FIELDS = {
    "name": "name",
    "geometry": "geometry",
    "min_lat": "geometry",
    "max_lat": "geometry",
    "min_lon": "geometry",
    "max_lon": "geometry",
    "population": "population",
    "active": "active",
}
MAX_LISTED = 2000


class StalePreview(Exception):
    """The areas changed since the preview was drawn: nothing was written."""


# --- the current areas -----------------------------------------------------------------------


@dataclass(frozen=True)
class AreaRow:
    area: Area
    open_requests: int


def open_counts(session: Session) -> dict[int | None, int]:
    """Open requests per area id (``None``: open requests without an area)."""
    return dict(
        session.execute(
            select(ServiceRequest.area_id, func.count())
            .where(ServiceRequest.is_open.is_(True))
            .group_by(ServiceRequest.area_id)
        ).all()
    )


def list_areas(session: Session) -> list[AreaRow]:
    """Every area (active first, then by name) with its number of open requests."""
    counts = open_counts(session)
    areas = session.scalars(
        select(Area).order_by(Area.active.desc(), Area.name, Area.id).limit(MAX_LISTED)
    )
    return [AreaRow(area, counts.get(area.id, 0)) for area in areas]


def _snapshot(area: Area) -> list[Any]:
    return [area.id, area.code, *(getattr(area, c) for c in COLUMNS)]


def fingerprint(session: Session, *, lock: bool = False) -> str:
    """A digest of every area's columns: a preview carries it to notice later changes."""
    query = select(Area).order_by(Area.id)
    if lock:
        query = query.with_for_update()
    rows = [_snapshot(a) for a in session.scalars(query)]
    raw = json.dumps(rows, sort_keys=True, default=str).encode()
    return hashlib.sha256(raw).hexdigest()[:32]


# --- the preview -----------------------------------------------------------------------------


@dataclass(frozen=True)
class AreaChange:
    """An area of the file that exists: what it is now, what the file says, what differs."""

    area: Area
    entry: dict[str, Any]
    fields: tuple[str, ...]
    open_requests: int


@dataclass
class Moves:
    """What re-placing the open requests under the file's areas would do."""

    #: Open requests whose point falls in another area of the file.
    total: int = 0
    #: (current area code or None, new area code) -> requests.
    pairs: Counter[tuple[str | None, str]] = field(default_factory=Counter)
    #: Open requests whose point falls in no active area of the file: they keep their area.
    outside: int = 0
    #: Open requests without a point: they keep their area.
    without_point: int = 0


@dataclass
class Preview:
    added: list[dict[str, Any]]
    changed: list[AreaChange]
    unchanged: list[Area]
    #: Active areas missing from the file, with their open requests: they are deactivated.
    gone: list[AreaRow]
    moves: Moves
    #: ``fingerprint(session)`` of the areas the preview was drawn from.
    fingerprint: str
    #: Area code -> name (the file's name for the areas it lists).
    names: dict[str, str] = field(default_factory=dict)

    @property
    def changes_anything(self) -> bool:
        return bool(self.added or self.changed or self.gone)


def _fields(area: Area, entry: dict[str, Any]) -> tuple[str, ...]:
    differing = {CHANGE_FIELDS[c] for c in COLUMNS if getattr(area, c) != entry[c]}
    return tuple(f for f in ("name", "geometry", "population", "active") if f in differing)


def _current(session: Session) -> dict[str, Area]:
    return {a.code: a for a in session.scalars(select(Area).order_by(Area.id))}


def preview(session: Session, entries: Sequence[dict[str, Any]]) -> Preview:
    """What applying ``entries`` (from ``read_areas``) would do; writes nothing."""
    current = _current(session)
    counts = open_counts(session)
    listed = {e["code"] for e in entries}
    added, changed, unchanged = [], [], []
    for entry in entries:
        area = current.get(entry["code"])
        if area is None:
            added.append(entry)
        elif fields := _fields(area, entry):
            changed.append(AreaChange(area, entry, fields, counts.get(area.id, 0)))
        else:
            unchanged.append(area)
    gone = [
        AreaRow(a, counts.get(a.id, 0))
        for code, a in sorted(current.items())
        if code not in listed and a.active
    ]
    moves = count_moves(session, entries, current=current)
    moves.without_point = _without_point(session)
    names = {
        **{code: a.name for code, a in current.items()},
        **{e["code"]: e["name"] for e in entries},
    }
    return Preview(added, changed, unchanged, gone, moves, fingerprint(session), names)


def _without_point(session: Session) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(ServiceRequest)
            .where(
                ServiceRequest.is_open.is_(True),
                (ServiceRequest.lat.is_(None)) | (ServiceRequest.lon.is_(None)),
            )
        )
        or 0
    )


# --- placing open requests under the file's areas --------------------------------------------


def _polygons(entries: Sequence[dict[str, Any]], current: dict[str, Area]) -> list[tuple[str, Any]]:
    """The file's active areas as shapely geometries, in the order ``locate`` would try them
    after applying (existing areas by id, then new ones in file order)."""
    active = [e for e in entries if e["active"]]
    order = sorted(
        range(len(active)),
        key=lambda i: (
            current[active[i]["code"]].id if active[i]["code"] in current else math.inf,
            i,
        ),
    )
    return [(active[i]["code"], shape(active[i]["geometry"])) for i in order]


def _open_points(session: Session, batch: int) -> Iterator[Sequence[Any]]:
    """Open requests with a point as (id, lat, lon, area_id), ``batch`` at a time (keyset on
    the id, so each query is short and memory stays flat)."""
    last = 0
    while True:
        rows = session.execute(
            select(
                ServiceRequest.id, ServiceRequest.lat, ServiceRequest.lon, ServiceRequest.area_id
            )
            .where(
                ServiceRequest.is_open.is_(True),
                ServiceRequest.lat.is_not(None),
                ServiceRequest.lon.is_not(None),
                ServiceRequest.id > last,
            )
            .order_by(ServiceRequest.id)
            .limit(batch)
        ).all()
        if not rows:
            return
        yield rows
        last = rows[-1][0]


def _placements(
    polygons: list[tuple[str, Any]], lats: np.ndarray, lons: np.ndarray, own: np.ndarray
) -> np.ndarray:
    """Per point, the index in ``polygons`` of its new area: its own (``own``, an index or -1)
    when that still covers it, else the first covering it; -1 when none does."""
    found = np.full(len(lats), -1, dtype=np.int64)
    usable = np.flatnonzero(
        np.isfinite(lats) & np.isfinite(lons) & (np.abs(lats) <= 90) & (np.abs(lons) <= 180)
    )
    if not len(usable) or not polygons:
        return found
    points = shapely.points(lons[usable], lats[usable])
    assert isinstance(points, np.ndarray)  # 1-d coordinates give an array of points
    tree = shapely.STRtree(points)
    for index, (_code, polygon) in enumerate(polygons):
        hits = usable[tree.query(polygon, predicate="covers")]
        first = hits[found[hits] == -1]
        found[first] = index
        found[hits[own[hits] == index]] = index  # its own area still covers it: it stays
    return found


def count_moves(
    session: Session,
    entries: Sequence[dict[str, Any]],
    *,
    current: dict[str, Area] | None = None,
    batch: int = BATCH,
    on_batch: Callable[[dict[str, list[int]]], None] | None = None,
) -> Moves:
    """Which open requests would change area under ``entries``: each open request with a
    point goes to the file's active area covering it (staying in its current area when that
    still covers it); one covered by none keeps its area. ``on_batch`` gets, per batch, the ids
    of the requests to move by new area code."""
    current = _current(session) if current is None else current
    polygons = _polygons(entries, current)
    position = {code: i for i, (code, _polygon) in enumerate(polygons)}
    #: Area id -> its index in ``polygons`` (-1: not an active area of the file).
    own_index = {a.id: position.get(code, -1) for code, a in current.items()}
    codes = {a.id: code for code, a in current.items()}
    moves = Moves()
    for rows in _open_points(session, batch):
        lats = np.fromiter((r[1] for r in rows), dtype=np.float64, count=len(rows))
        lons = np.fromiter((r[2] for r in rows), dtype=np.float64, count=len(rows))
        own = np.fromiter((own_index.get(r[3], -1) for r in rows), dtype=np.int64, count=len(rows))
        found = _placements(polygons, lats, lons, own)
        moves.outside += int(np.count_nonzero(found == -1))
        moving: dict[str, list[int]] = {}
        for i in np.flatnonzero((found != -1) & (found != own)):
            row, code = rows[int(i)], polygons[found[i]][0]
            moves.total += 1
            moves.pairs[(codes.get(row[3]), code)] += 1
            moving.setdefault(code, []).append(row[0])
        if on_batch is not None and moving:
            on_batch(moving)
    return moves


# --- applying --------------------------------------------------------------------------------


@dataclass
class Applied:
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    unchanged: int = 0
    deactivated: list[str] = field(default_factory=list)
    #: ``None`` when the open requests were left in their areas.
    moves: Moves | None = None

    @property
    def moved(self) -> int:
        return self.moves.total if self.moves else 0

    @property
    def changed_anything(self) -> bool:
        return bool(self.added or self.changed or self.deactivated or self.moved)


def apply_upload(
    session: Session,
    entries: Sequence[dict[str, Any]],
    *,
    expected: str,
    move_requests: bool,
    actor: User | None,
    upload: Upload | None = None,
    batch: int = BATCH,
) -> Applied:
    """Write ``entries`` as the city's areas (flush, no commit; the caller commits).

    Raises ``StalePreview`` before writing anything when the areas are no longer those the
    preview was drawn from (``expected``, a ``fingerprint``); they are read ``FOR UPDATE``
    (SQLite write sessions begin ``IMMEDIATE``) so two applies cannot both pass the check.
    """
    if fingerprint(session, lock=True) != expected:
        raise StalePreview()
    current = _current(session)
    result = _upsert(session, entries, current)
    if move_requests:
        result.moves = _move_requests(session, entries, current, batch)
    if result.changed_anything:
        _audit(
            session,
            result,
            expected=expected,
            move_requests=move_requests,
            actor=actor,
            upload=upload,
        )
    return result


def _upsert(
    session: Session, entries: Sequence[dict[str, Any]], current: dict[str, Area]
) -> Applied:
    """Add or change each entry by code; deactivate active areas the file leaves out. Adds
    the new areas to ``current``."""
    listed = {e["code"] for e in entries}
    result = Applied()
    for entry in entries:
        area = current.get(entry["code"])
        if area is None:
            current[entry["code"]] = Area(**entry)
            session.add(current[entry["code"]])
            result.added.append(entry["code"])
        elif _fields(area, entry):
            for column in COLUMNS:
                if getattr(area, column) != entry[column]:
                    setattr(area, column, entry[column])
            result.changed.append(entry["code"])
        else:
            result.unchanged += 1
    for code, area in sorted(current.items()):
        if code not in listed and area.active:
            area.active = False
            result.deactivated.append(code)
    session.flush()
    return result


def _move_requests(
    session: Session, entries: Sequence[dict[str, Any]], current: dict[str, Area], batch: int
) -> Moves:
    """Re-place the open requests: one UPDATE per batch and target area."""
    ids = {code: area.id for code, area in current.items()}

    def move(batch_moves: dict[str, list[int]]) -> None:
        for code, request_ids in batch_moves.items():
            session.execute(
                update(ServiceRequest)
                .where(ServiceRequest.id.in_(request_ids), ServiceRequest.is_open.is_(True))
                .values(area_id=ids[code]),
                execution_options={"synchronize_session": False},
            )

    return count_moves(session, entries, current=current, batch=batch, on_batch=move)


def _audit(
    session: Session,
    result: Applied,
    *,
    expected: str,
    move_requests: bool,
    actor: User | None,
    upload: Upload | None,
) -> None:
    after: dict[str, Any] = {
        "added": result.added,
        "changed": result.changed,
        "unchanged": result.unchanged,
        "deactivated": result.deactivated,
        "requests_moved": result.moved,
        "moved_requests": bool(move_requests),
    }
    if result.moves and result.moves.pairs:
        after["moves"] = {
            f"{old or '-'} -> {new}": n
            for (old, new), n in sorted(
                result.moves.pairs.items(), key=lambda p: (p[0][0] or "", p[0][1])
            )
        }
    if upload is not None:
        after["file"] = upload.filename
        after["sha256"] = upload.sha256
    session.add(
        AuditEntry(
            actor_id=actor.id if actor else None,
            entity="areas",
            entity_id=upload.sha256[:16] if upload else "upload",
            action="upload_applied",
            before={"fingerprint": expected},
            after=after,
            created_at=clock.now(),
        )
    )
    session.flush()
