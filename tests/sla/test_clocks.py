"""SLA clocks through the case's life: policies matched, re-attached on a category or priority
change without a burst of notices, calendar-day targets, regular updates, reopening, cancelling,
and what the sweep does (only the highest of several thresholds, breach actions, emails held
until the department's next working period, paused clocks left alone)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from portal.casework import service as casework
from portal.casework import tasks
from portal.casework.models import Task
from portal.catalogue.models import ServiceCategory
from portal.core import clock
from portal.core.outbox import OutboxMessage
from portal.notifications.models import StaffNotice
from portal.requests import updates
from portal.requests.models import Event, ServiceRequest
from portal.requests.service import Filing, submit_request
from portal.sla.models import BusinessCalendar, SlaClock, SlaPolicy
from portal.sla.sweep import sweep
from portal.staff.models import StaffMembership
from tests.factories import INSIDE

CHICAGO = ZoneInfo("America/Chicago")
HOUR = 3600


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=CHICAGO)


@pytest.fixture
def city(make, db):
    calendar = BusinessCalendar(
        code="c",
        name="C",
        timezone="America/Chicago",
        hours={d: [["08:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri")},
    )
    db.add(calendar)
    db.flush()
    dept = make.department(
        code="streets", name="Streets", calendar_id=calendar.id, breach_actions=["raise_priority"]
    )
    make.area()
    make.category(code="pothole", department=dept)
    make.category(code="sign", department=dept)
    agent = make.user(role="agent", email="agent@city.example")
    boss = make.user(role="supervisor", email="boss@city.example")
    db.add_all(
        [
            StaffMembership(user_id=agent.id, department_id=dept.id, role="agent"),
            StaffMembership(user_id=boss.id, department_id=dept.id, role="supervisor"),
        ]
    )
    db.add(
        SlaPolicy(name="Default", first_response_amount=8, resolution_amount=40, update_amount=16)
    )
    db.flush()
    return {"dept": dept, "agent": agent, "boss": boss, "calendar": calendar}


@pytest.fixture(autouse=True)
def unfreeze():
    yield
    clock.freeze(None)


def file(db, settings, code="pothole", *, when) -> ServiceRequest:
    clock.freeze(when)
    return submit_request(
        db,
        settings=settings,
        filing=Filing(
            category_code=code,
            description="Broken",
            address="1 Main St",
            lat=INSIDE[0],
            lon=INSIDE[1],
            contact_email="res@example.org",
        ),
    ).request


def case_clock(db, sr, kind) -> SlaClock:
    return db.scalar(
        select(SlaClock)
        .where(SlaClock.request_id == sr.id, SlaClock.task_id.is_(None), SlaClock.kind == kind)
        .order_by(SlaClock.id.desc())
        .limit(1)
    )


def task_of(db, sr) -> Task:
    return db.scalar(select(Task).where(Task.request_id == sr.id).order_by(Task.id))


def test_most_specific_policy_wins_and_the_task_clock_follows_it(db, settings, city, make):
    db.add(
        SlaPolicy(
            name="Urgent potholes",
            category_id=make.category(code="other", department=city["dept"]).id,
            resolution_amount=2,
        )
    )
    db.add(SlaPolicy(name="Streets", department_id=city["dept"].id, resolution_amount=24))
    db.flush()
    sr = file(db, settings, when=at(2026, 11, 16, 9, 0))  # a Monday
    # "Streets" (department) beats "Default" (nothing); the other category's never matches.
    assert task_of(db, sr).due_at == at(2026, 11, 18, 15, 0)
    # The winning policy applies whole: it promises no first response, so there is no clock.
    assert case_clock(db, sr, "first_response") is None


def test_a_priority_change_reattaches_from_creation_quietly(app, db, settings, city):
    sr = file(db, settings, when=at(2026, 11, 16, 9, 0))
    db.add(SlaPolicy(name="Urgent", priority="urgent", resolution_amount=4))
    db.flush()
    task = task_of(db, sr)
    # 5 working hours later the case turns urgent: 4 h from creation is already past.
    clock.freeze(at(2026, 11, 16, 14, 0))
    casework.set_priority(
        db, request=sr, priority="urgent", actor=city["agent"], version=sr.version
    )
    assert task.due_at == at(2026, 11, 16, 13, 0) and task.sla_stage == "running"
    resolution = case_clock(db, sr, "resolution")
    assert resolution.thresholds_fired == 100 and resolution.breached_at == task.due_at
    moved = db.scalars(
        select(Event).where(Event.request_id == sr.id, Event.kind == "expected_changed")
    ).all()
    assert [e.data["reason"] for e in moved] == ["priority"]
    # Thresholds lost before the change are not announced: the sweep finds nothing to say.
    stats = sweep(app.extensions["portal.db"], settings, clock.now())
    assert stats.fired == {50: 0, 75: 0, 100: 0}
    assert db.scalar(select(StaffNotice.id)) is None


def test_a_category_change_carries_the_pauses_over(db, settings, city, make):
    sign = db.scalar(select(ServiceCategory).where(ServiceCategory.code == "sign"))
    db.add(SlaPolicy(name="Signs", category_id=sign.id, resolution_amount=20))
    db.flush()
    sr = file(db, settings, when=at(2026, 11, 16, 8, 0))
    clock.freeze(at(2026, 11, 16, 10, 0))
    updates.ask_resident(db, settings=settings, request=sr, question="Where?", actor=city["agent"])
    clock.freeze(at(2026, 11, 17, 10, 0))  # a working day of waiting
    updates.resident_reply(db, settings=settings, request=sr, body="Corner of 5th")
    clock.freeze(at(2026, 11, 17, 11, 0))
    casework.change_category(
        db, settings=settings, request=sr, category=sign, actor=city["agent"], version=sr.version
    )
    task = task_of(db, sr)
    # 20 working hours from Monday 8:00, not counting the pause (Mon 10:00 - Tue 10:00):
    # Mon 8-10, Tue 10-17, Wed 8-17, Thu 8-10.
    assert task.due_at == at(2026, 11, 19, 10, 0)
    assert case_clock(db, sr, "resolution").paused_seconds == 24 * HOUR


def test_calendar_day_targets_count_nights_and_weekends(db, settings, city):
    db.add(
        SlaPolicy(
            name="Days", priority="normal", resolution_amount=2, resolution_unit="calendar_days"
        )
    )
    db.flush()
    sr = file(db, settings, when=at(2026, 11, 20, 16, 0))  # a Friday
    assert task_of(db, sr).due_at == at(2026, 11, 22, 16, 0)


def test_each_public_update_restarts_the_update_clock(db, settings, city):
    sr = file(db, settings, when=at(2026, 11, 16, 9, 0))
    first = case_clock(db, sr, "update")
    assert first.due_at == at(2026, 11, 17, 16, 0)
    clock.freeze(at(2026, 11, 16, 11, 0))
    casework.reply(
        db,
        settings=settings,
        request=sr,
        body="Crew booked",
        actor=city["agent"],
        version=sr.version,
    )
    assert first.stage == "met" and case_clock(db, sr, "first_response").stage == "met"
    # A fresh 16 h from Monday 11:00: Mon 11-17, Tue 8-17, Wed 8-9.
    assert case_clock(db, sr, "update").due_at == at(2026, 11, 18, 9, 0)


def test_rejected_cases_cancel_their_clocks_and_reopening_starts_new_ones(db, settings, city):
    sr = file(db, settings, when=at(2026, 11, 16, 9, 0))
    clock.freeze(at(2026, 11, 16, 10, 0))
    casework.change_case_status(
        db,
        settings=settings,
        request=sr,
        target="rejected",
        actor=city["agent"],
        note="Private land",
        version=sr.version,
    )
    assert case_clock(db, sr, "resolution").stage == "cancelled"
    assert task_of(db, sr).sla_stage == "cancelled" and sr.expected_at is None
    clock.freeze(at(2026, 11, 17, 10, 0))
    casework.reopen_case(db, settings=settings, request=sr, actor=city["agent"], version=sr.version)
    fresh = case_clock(db, sr, "resolution")
    assert fresh.stage == "running" and fresh.started_at == at(2026, 11, 17, 10, 0)
    assert sr.expected_at == fresh.due_at
    newest = db.scalar(select(Task).where(Task.request_id == sr.id, Task.is_open.is_(True)))
    assert newest.sla_stage == "running"


def test_a_late_sweep_acts_once_for_the_highest_threshold(app, db, settings, city):
    sr = file(db, settings, when=at(2026, 11, 16, 9, 0))
    task = task_of(db, sr)
    assert task.assignee_id is None  # the department queues its work
    tasks.assign_task(db, task=task, assignee=city["agent"], actor=city["boss"])
    # The worker was down for days: 50%, 75% and 100% all passed.
    clock.freeze(at(2026, 11, 24, 10, 0))
    stats = sweep(app.extensions["portal.db"], settings, clock.now())
    assert stats.fired[100] >= 1 and stats.fired[50] == stats.fired[75] == 0
    db.expire_all()  # the sweep wrote in its own session
    kinds = sorted(n.kind for n in db.scalars(select(StaffNotice)))
    assert kinds == ["sla_breached", "sla_breached"]  # the assignee and the supervisor
    assert sr.priority == "high" and task.escalation_level == 1  # the department's action
    assert task.queue == "main"  # it did not ask for an escalation queue


def test_emails_wait_for_the_next_working_period(app, db, settings, city):
    db.add(
        SlaPolicy(
            name="A day", priority="normal", resolution_amount=1, resolution_unit="calendar_days"
        )
    )
    db.flush()
    sr = file(db, settings, when=at(2026, 11, 20, 9, 0))  # Friday
    tasks.assign_task(db, task=task_of(db, sr), assignee=city["agent"], actor=city["boss"])
    # Half a calendar day falls on Friday 21:00, after the department has gone home.
    clock.freeze(at(2026, 11, 20, 21, 30))
    stats = sweep(app.extensions["portal.db"], settings, clock.now())
    assert stats.fired[50] == 2  # the task's clock and the case's (which tells nobody)
    notice = db.scalar(select(StaffNotice).where(StaffNotice.user_id == city["agent"].id))
    assert notice.kind == "sla_half"  # in the back office at once
    mail = db.scalar(
        select(OutboxMessage).where(
            OutboxMessage.to_address == "agent@city.example", OutboxMessage.kind == "staff_notice"
        )
    )
    assert mail.next_attempt_at == at(2026, 11, 23, 8, 0)  # Monday's opening


def test_paused_clocks_are_not_swept(app, db, settings, city):
    sr = file(db, settings, when=at(2026, 11, 16, 9, 0))
    clock.freeze(at(2026, 11, 16, 10, 0))
    updates.ask_resident(db, settings=settings, request=sr, question="Where?", actor=city["agent"])
    clock.freeze(at(2026, 12, 30, 10, 0))
    stats = sweep(app.extensions["portal.db"], settings, clock.now())
    assert stats.examined == 0
    assert task_of(db, sr).sla_stage == "paused"
