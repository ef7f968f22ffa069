"""`flask demo load`: the City of Riverton, its areas, staff and a few hundred requests."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest
from shapely.geometry import Point, shape
from sqlalchemy import func, select
from werkzeug.security import check_password_hash

from portal import clock
from portal.areas.loader import AreaError, load_areas
from portal.areas.models import Area
from portal.auth.models import User
from portal.casework.models import Task
from portal.catalogue.models import Department, ServiceCategory
from portal.demo.loader import AREAS_PATH, DEMO_PASSWORD, load_demo
from portal.requests.models import OPEN_STATUSES, STATUSES, Event, ServiceRequest, Support

MOVES = ("status_changed", "question", "answer", "reopened", "duplicate")


def _counts(db) -> dict[str, int]:
    return {model.__name__: db.scalar(select(func.count()).select_from(model))
            for model in (Department, ServiceCategory, Area, User, ServiceRequest, Event,
                          Support)}


def test_demo_load_builds_a_living_city_and_a_second_run_adds_nothing(runner, db):
    first = runner.invoke(args=["demo", "load"])
    assert first.exit_code == 0, first.output
    counts = _counts(db)

    second = runner.invoke(args=["demo", "load"])

    assert second.exit_code == 0, second.output
    assert _counts(db) == counts
    assert "Nothing was added" in second.output
    assert counts["ServiceRequest"] >= 300 and counts["Area"] >= 6
    assert counts["Department"] >= 5 and counts["ServiceCategory"] >= 15
    for output in (first.output, second.output):  # the log-ins are printed on every run
        assert re.search(rf"admin@riverton\.example\s+admin\s+-\s+{DEMO_PASSWORD}", output)
        for role in ("supervisor", "agent", "coordinator", "resident"):
            assert f" {role} " in output
        assert "Public Works – Streets" in output

    requests = db.scalars(select(ServiceRequest).order_by(ServiceRequest.id)).all()
    assert set(STATUSES) <= {r.status for r in requests}
    assert {"web", "phone", "mobile", "api"} <= {r.channel for r in requests}
    assert len({r.priority for r in requests}) >= 3
    assert any(r.private_by_reporter for r in requests)
    assert any(r.reporter_id for r in requests) and any(not r.reporter_id for r in requests)
    references = [r.reference for r in requests]
    assert len(set(references)) == len(references)
    for request in requests:
        assert request.reference == f"SR-{request.created_at.year}-{request.id:06d}"
        assert request.is_open == (request.status in OPEN_STATUSES)
        assert request.is_public == (not request.private_by_reporter
                                     and not request.category.private)
        if request.reporter_id is None:
            assert request.tracking_token_hash and (request.contact_email
                                                    or request.contact_phone)
        if request.status == "duplicate":
            assert request.duplicate_of_id and request.duplicate_of_id < request.id
        else:
            assert request.duplicate_of_id is None
        assert (request.resolved_at is not None) == (request.status in ("resolved", "closed"))

    shapes = {area.id: shape(area.geometry) for area in db.scalars(select(Area))}
    for request in requests:
        assert shapes[request.area_id].contains(Point(request.lon, request.lat)), \
            request.reference


def test_demo_timelines_match_the_requests(runner, db):
    assert runner.invoke(args=["demo", "load", "--requests", "120"]).exit_code == 0
    now = clock.now()
    requests = {r.id: r for r in db.scalars(select(ServiceRequest))}
    timelines: dict[int, list[Event]] = {}
    for event in db.scalars(select(Event).order_by(Event.request_id, Event.id)):
        timelines.setdefault(event.request_id, []).append(event)
    kinds = Counter(e.kind for events in timelines.values() for e in events)
    assert {"submitted", "routed", "status_changed", "comment", "question", "answer",
            "internal_note", "duplicate"} <= set(kinds)
    assert not any(e.public for events in timelines.values() for e in events
                   if e.kind in ("internal_note", "routed"))

    for request_id, request in requests.items():
        events = timelines[request_id]
        times = [e.created_at for e in events]
        assert times == sorted(times) and times[-1] <= now, request.reference
        assert events[0].kind == "submitted" and times[0] == request.created_at
        assert request.updated_at == times[-1]
        moves = [e for e in events if e.kind in MOVES and "to" in e.data]
        assert (moves[-1].data["to"] if moves else "new") == request.status, request.reference
        assert request.status_changed_at == (moves[-1].created_at if moves
                                             else request.created_at)
        for before, after in zip(moves, moves[1:], strict=False):
            assert before.data["to"] == after.data["from"], request.reference
        if request.status == "closed":
            resolved = [e for e in moves if e.data["to"] == "resolved"][-1]
            assert request.resolved_at == resolved.created_at

    waits = {"waiting_on_third_party": "waiting", "scheduled": "in_progress"}
    tasks = {t.request_id: t for t in db.scalars(select(Task))}
    for status, task_status in waits.items():
        waiting = [r for r in requests.values() if r.status == status]
        assert waiting, status
        for request in waiting:
            note = [e for e in timelines[request.id] if e.kind == "status_changed"][-1]
            assert note.public and note.actor_kind == "staff" and note.body, request.reference
            assert tasks[request.id].status == task_status and tasks[request.id].is_open
            if status == "scheduled":  # booked for a day to come
                assert re.search(r"(Mon|Tues|Wednes|Thurs|Fri)day, [A-Z][a-z]+ \d+", note.body)

    supports = Counter(db.scalars(select(Support.request_id)))
    assert supports
    for request in requests.values():
        assert request.support_count == supports.get(request.id, 0)


def test_demo_is_the_same_city_for_the_same_seed(db, settings):
    def snapshot():
        savepoint = db.begin_nested()
        load_demo(db, settings, seed=11, size=30)
        rows = [(r.category.code, r.status, r.address, r.description, r.lat, r.lon, r.answers)
                for r in db.scalars(select(ServiceRequest).order_by(ServiceRequest.id))]
        savepoint.rollback()
        return rows

    first = snapshot()
    assert len(first) == 30
    assert set(STATUSES) <= {row[1] for row in first}
    assert snapshot() == first


def test_the_demo_password_can_come_from_the_environment(runner, db):
    result = runner.invoke(args=["demo", "load", "--requests", "10"],
                           env={"PORTAL_DEMO_PASSWORD": "a-local-demo-secret"})

    assert result.exit_code == 0, result.output
    assert "a-local-demo-secret" in result.output
    admin = db.scalar(select(User).where(User.email == "admin@riverton.example"))
    assert admin.role == "admin"
    assert check_password_hash(admin.password_hash, "a-local-demo-secret")
    hashes = set(db.scalars(select(User.password_hash)))
    assert len(hashes) == 1  # hashed once for every demo account


# -- the areas loader ------------------------------------------------------------------------


def _areas_file(tmp_path: Path, edit) -> Path:
    data = json.loads(AREAS_PATH.read_text(encoding="utf-8"))
    edit(data["features"])
    path = tmp_path / "areas.geojson"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_areas_load_once_with_their_bounding_boxes(db, tmp_path):
    counts = load_areas(db, AREAS_PATH)
    assert counts == {"areas": 6, "areas_added": 6, "areas_updated": 0}
    assert load_areas(db, AREAS_PATH) == {"areas": 6, "areas_added": 0, "areas_updated": 0}

    old_town = db.scalar(select(Area).where(Area.code == "old-town"))
    assert old_town.name == "Old Town"
    lons = [p[0] for p in old_town.geometry["coordinates"][0]]
    lats = [p[1] for p in old_town.geometry["coordinates"][0]]
    assert (old_town.min_lon, old_town.max_lon) == (min(lons), max(lons))
    assert (old_town.min_lat, old_town.max_lat) == (min(lats), max(lats))
    polygons = [shape(a.geometry) for a in db.scalars(select(Area))]
    assert sum(p.area for p in polygons) == pytest.approx(
        shape({"type": "Polygon", "coordinates": [[
            [min(p.bounds[0] for p in polygons), min(p.bounds[1] for p in polygons)],
            [max(p.bounds[2] for p in polygons), min(p.bounds[1] for p in polygons)],
            [max(p.bounds[2] for p in polygons), max(p.bounds[3] for p in polygons)],
            [min(p.bounds[0] for p in polygons), max(p.bounds[3] for p in polygons)],
            [min(p.bounds[0] for p in polygons), min(p.bounds[1] for p in polygons)],
        ]]}).area)  # they tile the city: no gaps, no overlaps

    def rename(features):
        features[0]["properties"]["name"] = "Westfield Heights"

    assert load_areas(db, _areas_file(tmp_path, rename))["areas_updated"] == 1


def _unclosed(features):
    features[0]["geometry"]["coordinates"][0].pop()


def _bow_tie(features):
    features[2]["geometry"]["coordinates"] = [[[-87, 41], [-86.9, 41], [-87, 41.1],
                                               [-86.9, 41.1], [-87, 41]]]


def _overlapping(features):
    features[3]["geometry"]["coordinates"] = [[[-87.05, 40.96], [-86.96, 40.96],
                                               [-86.96, 41.03], [-87.05, 40.96]]]


def _no_code(features):
    del features[1]["properties"]["code"]


def _point(features):
    features[4]["geometry"] = {"type": "Point", "coordinates": [-87, 41]}


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (_unclosed, 'area "westfield": ring is not closed'),
        (_bow_tie, 'area "eastgate": polygon is not valid (Self-intersection'),
        (_overlapping, 'areas "riverside" and "old-town" overlap'),
        (_no_code, "feature 2: properties.code None must be"),
        (_point, 'area "old-town": geometry must be a Polygon or MultiPolygon'),
    ],
)
def test_a_broken_areas_file_names_the_area(db, tmp_path, edit, message):
    with pytest.raises(AreaError) as raised:
        load_areas(db, _areas_file(tmp_path, edit))

    assert message in str(raised.value)
    assert db.scalar(select(func.count()).select_from(Area)) == 0


def test_a_broken_data_file_stops_the_load_with_a_clear_message(runner, db, tmp_path,
                                                                 monkeypatch):
    broken = tmp_path / "catalogue.toml"
    broken.write_text('[[departments]]\ncode = "roads"\n', encoding="utf-8")
    monkeypatch.setattr("portal.demo.loader.CATALOGUE_PATH", broken)

    result = runner.invoke(args=["demo", "load"])

    assert result.exit_code == 1
    assert 'department "roads": "name" is required' in result.output
    assert db.scalar(select(func.count()).select_from(User)) == 0
