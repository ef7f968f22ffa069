"""`flask demo load`: the City of Riverton, its areas, staff and a few hundred requests."""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from shapely.geometry import Point, shape
from sqlalchemy import func, select
from werkzeug.security import check_password_hash

from portal.areas.models import Area
from portal.auth.models import User
from portal.casework.models import Task
from portal.catalogue.models import Department, ServiceCategory
from portal.core import clock
from portal.demo.loader import CITY_DIR, DEMO_PASSWORD, load_demo
from portal.notifications.models import StaffNotice
from portal.open311.models import ApiKey
from portal.requests.models import OPEN_STATUSES, STATUSES, Event, ServiceRequest, Support
from portal.sla.calendar import load_calendar
from portal.sla.models import (
    BREACH_ACTIONS,
    LIVE_STAGES,
    BusinessCalendar,
    CalendarClosure,
    SlaClock,
    SlaPolicy,
)
from portal.sla.status import clock_state, task_state
from portal.sla.sweep import sweep
from portal.surveys.models import SurveyInvitation, SurveyResponse
from portal.surveys.results import Selection, survey_results

MOVES = ("status_changed", "question", "answer", "reopened", "duplicate")


def _counts(db) -> dict[str, int]:
    return {
        model.__name__: db.scalar(select(func.count()).select_from(model))
        for model in (
            Department,
            ServiceCategory,
            Area,
            User,
            ServiceRequest,
            Event,
            Support,
            Task,
            BusinessCalendar,
            CalendarClosure,
            SlaPolicy,
            SurveyInvitation,
            SurveyResponse,
            ApiKey,
        )
    }


#: The demo is drawn back from "now": a fixed one (a Wednesday morning in Riverton) makes the
#: clocks' states the same on every run.
DEMO_NOW = datetime(2026, 11, 18, 15, 30, tzinfo=UTC)


@pytest.fixture
def demo_now():
    clock.freeze(DEMO_NOW)
    try:
        yield DEMO_NOW
    finally:
        clock.freeze(None)


def test_demo_load_builds_a_living_city_and_a_second_run_adds_nothing(runner, db, app, demo_now):
    first = runner.invoke(args=["demo", "load"])
    assert first.exit_code == 0, first.output
    clock.freeze(demo_now)  # the load lets time run again when it is done
    counts = _counts(db)
    _check_demo_clocks(db, app, demo_now)
    _check_demo_surveys(db, demo_now)
    _check_what_apps_act_on(db, demo_now)

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
    # Every demo account may file and follow at once (its address counts as confirmed).
    assert db.scalars(select(User.email).where(User.email_verified_at.is_(None))).all() == []

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
        assert request.is_public == (
            not request.private_by_reporter and not request.category.private
        )
        if request.reporter_id is None:
            assert request.tracking_token_hash and (request.contact_email or request.contact_phone)
        if request.status == "duplicate":
            assert request.duplicate_of_id and request.duplicate_of_id < request.id
        else:
            assert request.duplicate_of_id is None
        assert (request.resolved_at is not None) == (request.status in ("resolved", "closed"))

    shapes = {area.id: shape(area.geometry) for area in db.scalars(select(Area))}
    for request in requests:
        assert shapes[request.area_id].contains(Point(request.lon, request.lat)), request.reference


def _check_demo_clocks(db, app, now: datetime) -> None:
    """The demo shows clocks in every state, and the worker's first sweep has nothing to say
    about months of replayed time."""
    tasks = list(db.scalars(select(Task)))
    task_states = Counter(task_state(t, now).code for t in tasks)
    assert {"on_time", "at_risk", "breached", "paused", "met", "missed"} <= set(task_states)
    case_clocks = list(db.scalars(select(SlaClock).where(SlaClock.task_id.is_(None))))
    assert {"on_time", "at_risk", "breached", "paused", "met", "missed", "cancelled"} <= {
        clock_state(c, now).code for c in case_clocks
    }
    assert {c.kind for c in case_clocks} == {"first_response", "resolution", "update"}
    assert not db.scalar(
        select(func.count()).select_from(SlaClock).where(SlaClock.next_threshold_at < now)
    )
    stats = sweep(app.extensions["portal.db"], app.extensions["portal.settings"], now)
    assert (stats.examined, stats.notices) == (0, 0)
    assert not db.scalar(select(func.count()).select_from(StaffNotice))


def _check_demo_surveys(db, now: datetime) -> None:
    """Resolved cases' reporters were invited (once per case, after the resolution) and many
    answered, so the results page has figures; no answer says "not resolved"."""
    invitations = list(db.scalars(select(SurveyInvitation)))
    responses = list(db.scalars(select(SurveyResponse)))
    assert len(invitations) >= 60 and len(responses) >= 30
    by_id = {i.id: i for i in invitations}
    for invitation in invitations:
        case = db.get(ServiceRequest, invitation.request_id)
        assert case.status in ("resolved", "closed")
        assert invitation.created_at == case.resolved_at < invitation.send_after
        assert invitation.department_id == case.department_id
    for response in responses:
        invitation = by_id[response.invitation_id]
        assert invitation.state == "answered" and response.created_at <= now
        assert 1 <= response.csat <= 5 and response.resolved in ("yes", "partly", "dont_know")
    assert any(r.comment for r in responses)
    total = survey_results(
        db, Selection("request-resolved", now - timedelta(days=365), now), breakdown="overall"
    ).total
    assert not total.suppressed and total.responses == len(responses)


def _check_what_apps_act_on(db, now: datetime) -> None:
    """The demo's app key filed the requests made through the API; one of them, public, is
    open (its reporter can reply from the app) and another's survey was sent and is still
    open (the app can answer it)."""
    key = db.scalar(select(ApiKey))
    by_app = list(db.scalars(select(ServiceRequest).where(ServiceRequest.channel == "api")))
    assert by_app and {r.api_key_id for r in by_app} == {key.id}
    assert key.filed_count == len(by_app) and key.created_at < min(r.created_at for r in by_app)
    assert all(r.api_token for r in by_app)
    assert any(r.is_open and r.is_public for r in by_app)
    open_surveys = db.scalars(
        select(SurveyInvitation)
        .join(ServiceRequest, ServiceRequest.id == SurveyInvitation.request_id)
        .where(
            ServiceRequest.channel == "api",
            ServiceRequest.is_public.is_(True),
            SurveyInvitation.state == "sent",
            SurveyInvitation.sent_at <= now,
            SurveyInvitation.expires_at > now + timedelta(days=7),
        )
    ).all()
    assert open_surveys


def test_demo_timelines_match_the_requests(runner, db):
    assert runner.invoke(args=["demo", "load", "--requests", "120"]).exit_code == 0
    now = clock.now()
    requests = {r.id: r for r in db.scalars(select(ServiceRequest))}
    timelines: dict[int, list[Event]] = {}
    for event in db.scalars(select(Event).order_by(Event.request_id, Event.id)):
        timelines.setdefault(event.request_id, []).append(event)
    kinds = Counter(e.kind for events in timelines.values() for e in events)
    assert {
        "submitted",
        "routed",
        "status_changed",
        "comment",
        "question",
        "answer",
        "internal_note",
        "duplicate",
    } <= set(kinds)
    assert not any(
        e.public
        for events in timelines.values()
        for e in events
        if e.kind in ("internal_note", "routed")
    )

    for request_id, request in requests.items():
        events = timelines[request_id]
        times = [e.created_at for e in events]
        assert times == sorted(times) and times[-1] <= now, request.reference
        assert events[0].kind == "submitted" and times[0] == request.created_at
        assert request.updated_at == times[-1]
        moves = [e for e in events if e.kind in MOVES and "to" in e.data]
        assert (moves[-1].data["to"] if moves else "new") == request.status, request.reference
        assert request.status_changed_at == (moves[-1].created_at if moves else request.created_at)
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

    clocks: dict[int, list[SlaClock]] = {}
    for row in db.scalars(select(SlaClock).order_by(SlaClock.id)):
        clocks.setdefault(row.request_id, []).append(row)
    all_tasks: dict[int, list[Task]] = {}
    for task in db.scalars(select(Task).order_by(Task.id)):
        all_tasks.setdefault(task.request_id, []).append(task)
    for request_id, request in requests.items():
        _check_case_clocks(
            request, timelines[request_id], clocks[request_id], all_tasks[request_id]
        )

    supports = Counter(db.scalars(select(Support.request_id)))
    assert supports
    for request in requests.values():
        assert request.support_count == supports.get(request.id, 0)


def _check_case_clocks(
    request: ServiceRequest, events: list[Event], clocks: list[SlaClock], tasks: list[Task]
) -> None:
    """A demo case's clocks follow its story as casework would have moved them."""
    ref = request.reference
    case = [c for c in clocks if c.task_id is None]
    first = [c for c in case if c.kind == "first_response"]
    assert len(first) == 1, ref
    replies = [
        e.created_at
        for e in events
        if e.actor_kind == "staff"
        and e.public
        and e.kind in ("status_changed", "question", "comment", "duplicate")
        and (e.body or e.kind == "question")
    ]
    if replies:  # met (or breached) by the first public word from staff
        assert first[0].stopped_at == replies[0], ref
    else:
        assert first[0].stage in LIVE_STAGES, ref
    resolution = [c for c in case if c.kind == "resolution"][-1]  # a reopened case's latest
    waiting = request.status in ("waiting_on_resident", "waiting_on_third_party", "scheduled")
    if not request.is_open:
        assert not [c for c in clocks if c.stage in LIVE_STAGES], ref
        assert request.expected_at is None
        if request.status in ("resolved", "closed"):
            assert resolution.stage in ("met", "breached"), ref
            assert resolution.stopped_at == request.resolved_at, ref
        else:
            assert resolution.stage == "cancelled", ref
    else:  # no promise while waiting, unless it was already broken
        assert resolution.stage == ("paused" if waiting else "running"), ref
        assert request.expected_at == resolution.due_at, ref
        if waiting:
            assert resolution.due_at is None or resolution.breached_at is not None, ref
    assert [t for t in tasks if t.is_open] == ([tasks[-1]] if request.is_open else []), ref
    for task in tasks:
        task_clocks = [c for c in clocks if c.task_id == task.id]
        assert len(task_clocks) == 1 and task.sla_stage == task_clocks[0].stage, ref
        assert task.due_at == task_clocks[0].due_at, ref
        assert (
            task.sla_stage in (("paused",) if waiting else ("running",))
            if task.is_open
            else ("met", "breached", "cancelled")
        ), ref


def test_demo_is_the_same_city_for_the_same_seed(db, settings):
    def snapshot():
        savepoint = db.begin_nested()
        load_demo(db, settings, seed=11, size=30)
        rows = [
            (r.category.code, r.status, r.address, r.description, r.lat, r.lon, r.answers)
            for r in db.scalars(select(ServiceRequest).order_by(ServiceRequest.id))
        ]
        savepoint.rollback()
        return rows

    first = snapshot()
    assert len(first) == 30
    assert set(STATUSES) <= {row[1] for row in first}
    assert snapshot() == first


def test_the_demo_password_can_come_from_the_environment(runner, db):
    result = runner.invoke(
        args=["demo", "load", "--requests", "10"],
        env={"PORTAL_DEMO_PASSWORD": "a-local-demo-secret"},
    )

    assert result.exit_code == 0, result.output
    assert "a-local-demo-secret" in result.output
    admin = db.scalar(select(User).where(User.email == "admin@riverton.example"))
    assert admin.role == "admin"
    assert check_password_hash(admin.password_hash, "a-local-demo-secret")
    hashes = set(db.scalars(select(User.password_hash)))
    assert len(hashes) == 1  # hashed once for every demo account


def test_a_broken_data_file_stops_the_load_with_a_clear_message(runner, db, tmp_path, monkeypatch):
    import shutil

    broken = tmp_path / "city"
    shutil.copytree(CITY_DIR, broken)
    (broken / "catalogue.toml").write_text('[[departments]]\ncode = "roads"\n', encoding="utf-8")
    monkeypatch.setattr("portal.demo.loader.CITY_DIR", broken)

    result = runner.invoke(args=["demo", "load"])

    assert result.exit_code == 1
    assert 'catalogue.toml: department "roads": "name" is required' in result.output
    assert db.scalar(select(func.count()).select_from(User)) == 0


# -- service levels --------------------------------------------------------------------------


def _chicago(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo("America/Chicago"))


def test_demo_service_levels_calendars_departments_and_policies(runner, db):
    result = runner.invoke(args=["demo", "load", "--requests", "0"])
    assert result.exit_code == 0, result.output
    assert "calendars: 3 added" in result.output and "policies: 10 added" in result.output

    calendars = {c.code: c for c in db.scalars(select(BusinessCalendar))}
    assert set(calendars) == {"city-hours", "public-works", "24-7"}
    city = calendars["city-hours"]
    assert (city.timezone, city.holiday_country, city.holiday_subdivision) == (
        "America/Chicago",
        "US",
        "IL",
    )
    assert city.hours["mon"] == [["08:00", "12:00"], ["13:00", "17:00"]]
    assert "sat" not in city.hours and "sun" not in city.hours
    assert {c.name for c in city.closures} == {"Day after Thanksgiving", "Christmas Eve"}
    assert calendars["public-works"].hours["sat"] == [["08:00", "12:00"]]
    assert calendars["24-7"].always_open

    working = load_calendar(db, city.id, default_timezone="America/Chicago")
    assert (
        working.working_seconds(
            _chicago("2026-11-25 08:00"),  # Wed, Thanksgiving, closure
            _chicago("2026-11-30 08:00"),
        )
        == 8 * 3600
    )
    assert working.add(_chicago("2026-12-23 16:00"), 2 * 3600) == _chicago(
        "2026-12-28 09:00"
    )  # Christmas Eve (closure), Christmas Day (holiday)

    departments = {d.code: d for d in db.scalars(select(Department))}
    assert all(d.calendar_id for d in departments.values())
    assert departments["water"].calendar_id == calendars["24-7"].id
    assert departments["streets"].calendar_id == calendars["public-works"].id
    with_actions = [d for d in departments.values() if d.breach_actions]
    assert len(with_actions) >= 2
    assert all(set(d.breach_actions) <= set(BREACH_ACTIONS) for d in with_actions)

    policies = {p.name: p for p in db.scalars(select(SlaPolicy))}
    default = policies["City-wide default"]
    assert (default.category_id, default.priority, default.department_id) == (None, None, None)
    assert [
        (getattr(default, f"{t}_amount"), getattr(default, f"{t}_unit"))
        for t in ("first_response", "resolution", "update")
    ] == [(8, "working_hours"), (80, "working_hours"), (40, "working_hours")]
    assert {p.priority for p in policies.values()} >= {"high", "urgent"}
    categories = {c.id: c.code for c in db.scalars(select(ServiceCategory))}
    by_category = {categories[p.category_id]: p for p in policies.values() if p.category_id}
    assert (by_category["pothole"].resolution_amount, by_category["pothole"].resolution_unit) == (
        5,
        "calendar_days",
    )
    assert (
        by_category["missed-collection"].resolution_amount,
        by_category["missed-collection"].resolution_unit,
    ) == (16, "working_hours")
    assert by_category["streetlight"].resolution_unit == "calendar_days"
    emergency = by_category["water-leak"]  # working hours on the water utility's 24/7 calendar
    assert emergency.resolution_unit == "working_hours"
    assert all(
        p.pause_statuses == ["waiting_on_resident", "waiting_on_third_party", "scheduled"]
        for p in policies.values()
    )


def test_a_second_run_keeps_the_service_levels_an_admin_changed(runner, db):
    assert runner.invoke(args=["demo", "load", "--requests", "0"]).exit_code == 0
    policy = db.scalar(select(SlaPolicy).where(SlaPolicy.name == "Potholes"))
    policy.resolution_amount = 7
    db.delete(db.scalar(select(SlaPolicy).where(SlaPolicy.name == "Bulk pickups")))
    streets = db.scalar(select(Department).where(Department.code == "streets"))
    streets.calendar_id, streets.breach_actions = None, []
    db.flush()
    counts = _counts(db)

    result = runner.invoke(args=["demo", "load", "--requests", "0"])

    assert result.exit_code == 0, result.output
    assert "Nothing was added" in result.output
    assert _counts(db) == counts
    db.expire_all()
    assert db.get(SlaPolicy, policy.id).resolution_amount == 7
    assert (streets.calendar_id, streets.breach_actions) == (None, [])


def test_demo_requests_sit_on_the_city_s_address_points(db, settings):
    from portal.places.models import AddressPoint, Street

    load_demo(db, settings, seed=11, size=40)

    assert db.scalar(select(func.count()).select_from(AddressPoint)) > 20_000
    assert db.scalar(select(func.count()).select_from(Street)) == 76
    for request in db.scalars(select(ServiceRequest)):
        point = db.scalar(
            select(AddressPoint).where(
                AddressPoint.label == request.address,
                AddressPoint.lat == request.lat,
                AddressPoint.lon == request.lon,
            )
        )
        assert point is not None, request.address
        assert point.area_id == request.area_id
        assert (request.address_point_id, request.location_status) == (point.id, "found")
