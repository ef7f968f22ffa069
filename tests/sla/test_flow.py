"""Issue 5's "done when": a task filed on the Friday afternoon before Labor Day falls due on the
right working hour, pauses while the case waits on the resident, breaches, is escalated once and
only once with two workers sweeping at the same moment, and the supervisor gets exactly one email
over real SMTP; a transfer keeps the first department's time; the last task done resolves the
case. Runs on SQLite and on PostgreSQL, on committed data, with a controlled clock."""

from __future__ import annotations

import threading
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from portal import create_app
from portal.casework import service as casework
from portal.casework import tasks
from portal.casework.models import Task
from portal.core import clock
from portal.core.senders import SmtpSender
from portal.core.worker import deliver_outbox
from portal.migrate import upgrade
from portal.notifications.models import StaffNotice
from portal.requests import updates
from portal.requests.models import Event, ServiceRequest
from portal.requests.service import Filing, submit_request
from portal.sla.models import BusinessCalendar, SlaClock, SlaPolicy
from portal.sla.sweep import sweep
from portal.staff.models import StaffMembership
from tests.factories import INSIDE, Factories
from tests.postgres import scratch_postgres

CHICAGO = ZoneInfo("America/Chicago")
WEEKDAY_HOURS = {day: [["08:00", "17:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=CHICAGO)


@contextmanager
def _sqlite(tmp_path):
    yield f"sqlite:///{tmp_path / 'sla.db'}"


@contextmanager
def frozen(moment: datetime):
    clock.freeze(moment)
    try:
        yield
    finally:
        clock.freeze(None)


class City:
    """A committed little city: Streets (Mon-Fri 8-17, US/IL holidays, breaches go to its
    escalation queue) and Water, a 16-working-hour policy, an agent and a supervisor."""

    def __init__(self, app) -> None:
        self.app = app
        self.db = app.extensions["portal.db"]
        self.settings = app.extensions["portal.settings"]
        session = self.db.session(write=True)
        make = Factories(session, self.settings)
        calendar = BusinessCalendar(
            code="city",
            name="City hours",
            timezone="America/Chicago",
            hours=WEEKDAY_HOURS,
            holiday_country="US",
            holiday_subdivision="IL",
        )
        session.add(calendar)
        session.flush()
        streets = make.department(
            code="streets",
            name="Streets",
            calendar_id=calendar.id,
            assignment_mode="round_robin",
            breach_actions=["escalation_queue"],
        )
        water = make.department(code="water", name="Water", calendar_id=calendar.id)
        make.area()
        make.category(code="pothole", department=streets)
        session.add(
            SlaPolicy(
                name="Default",
                first_response_amount=8,
                resolution_amount=16,
                pause_statuses=["waiting_on_resident"],
            )
        )
        self.agent = make.user(role="agent", email="agent@city.example", name="Ada Agent")
        self.boss = make.user(role="supervisor", email="boss@city.example", name="Sam Boss")
        self.plumber = make.user(role="agent", email="plumber@city.example", name="Pat")
        session.add_all(
            [
                StaffMembership(user_id=self.agent.id, department_id=streets.id, role="agent"),
                StaffMembership(user_id=self.boss.id, department_id=streets.id, role="supervisor"),
                StaffMembership(user_id=self.plumber.id, department_id=water.id, role="agent"),
            ]
        )
        session.commit()
        self.streets_id, self.water_id = streets.id, water.id
        self.agent_id, self.boss_id, self.plumber_id = (
            self.agent.id,
            self.boss.id,
            self.plumber.id,
        )
        session.close()

    @contextmanager
    def session(self):
        session = self.db.session(write=True)
        try:
            yield session
            session.commit()
        finally:
            session.close()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def city(request, settings, tmp_path):
    scratch = scratch_postgres() if request.param == "postgresql" else _sqlite(tmp_path)
    with scratch as url:
        upgrade(url)
        app = create_app(replace(settings, database_url=url))
        yield City(app)
        app.extensions["portal.db"].dispose()


def _task_clock(session, task_id: int) -> SlaClock:
    return session.scalar(select(SlaClock).where(SlaClock.task_id == task_id))


def test_friday_before_labor_day_to_breach_escalation_and_resolution(city, smtp):
    # Friday 4 September 2026, 15:00: Monday the 7th is Labor Day.
    with frozen(at(2026, 9, 4, 15, 0)), city.session() as s:
        sr = submit_request(
            s,
            settings=city.settings,
            filing=Filing(
                category_code="pothole",
                description="Deep pothole by the school",
                address="1 Main St",
                lat=INSIDE[0],
                lon=INSIDE[1],
                contact_email="resident@example.org",
            ),
        )
        reference = sr.request.reference
    with city.session() as s:
        sr = s.scalar(select(ServiceRequest).where(ServiceRequest.reference == reference))
        task = s.scalar(select(Task).where(Task.request_id == sr.id))
        task_id = task.id
        assert task.assignee_id == city.agent_id
        # 16 working hours: Fri 15-17 (2), Mon holiday, Tue 8-17 (9), Wed 8-13 (5).
        assert task.due_at == at(2026, 9, 9, 13, 0)
        assert sr.expected_at == at(2026, 9, 9, 13, 0)
        clock_row = _task_clock(s, task_id)
        assert clock_row.original_due_at == at(2026, 9, 9, 13, 0)
        assert clock_row.stage == "running" and clock_row.department_id == city.streets_id

    # Tuesday 10:00 (4 h used) staff ask the resident; Wednesday 10:00 the resident answers.
    with frozen(at(2026, 9, 8, 10, 0)), city.session() as s:
        sr = s.get(ServiceRequest, sr.id)
        casework.ask_question(
            s,
            settings=city.settings,
            request=sr,
            question="Which lane?",
            actor=s.get(type(city.agent), city.agent_id),
            version=sr.version,
        )
    with city.session() as s:
        task = s.get(Task, task_id)
        assert task.sla_stage == "paused" and task.due_at is None
        assert s.get(ServiceRequest, sr.id).expected_at is None
        first_response = s.scalar(
            select(SlaClock).where(SlaClock.request_id == sr.id, SlaClock.kind == "first_response")
        )
        assert first_response.stage == "met"  # the question was the first public reply
    with frozen(at(2026, 9, 9, 10, 0)), city.session() as s:
        updates.resident_reply(
            s,
            settings=city.settings,
            request=s.get(ServiceRequest, sr.id),
            body="The left lane, northbound.",
        )
    with city.session() as s:
        task = s.get(Task, task_id)
        # 12 h left from Wednesday 10:00: Wed 10-17 (7), Thu 8-13 (5).
        assert task.sla_stage == "running" and task.due_at == at(2026, 9, 10, 13, 0)
        clock_row = _task_clock(s, task_id)
        assert clock_row.original_due_at == at(2026, 9, 9, 13, 0)  # the original never moves
        assert clock_row.paused_seconds == 24 * 3600
        moved = s.scalars(
            select(Event)
            .where(Event.request_id == sr.id, Event.kind == "expected_changed")
            .order_by(Event.id)
        ).all()
        assert [e.data["reason"] for e in moved] == ["waiting_on_resident", "resumed"]
        assert moved[-1].public
        assert datetime.fromisoformat(moved[-1].data["to"]) == at(2026, 9, 10, 13, 0)

    # 50% (8 h) falls on Wednesday 14:00: the assignee is told, nobody else.
    with frozen(at(2026, 9, 9, 14, 30)):
        stats = sweep(city.db, city.settings, clock.now())
    assert stats.fired[50] == 2 and stats.notices == 1  # the case clock and the task clock

    # Thursday 13:30, past due: two workers sweep at the same moment.
    barrier, results, errors = threading.Barrier(2), [], []
    second = create_app(city.settings)  # a second worker process: its own engine and pool

    def work(app) -> None:
        try:
            barrier.wait()
            results.append(
                sweep(app.extensions["portal.db"], city.settings, at(2026, 9, 10, 13, 30))
            )
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(a,)) for a in (city.app, second)]
    with frozen(at(2026, 9, 10, 13, 30)):
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    second.extensions["portal.db"].dispose()
    assert not errors, errors
    assert sum(r.fired[100] for r in results) == 2  # the task clock and the case clock, once each
    # A third sweep later changes nothing.
    assert sweep(city.db, city.settings, at(2026, 9, 10, 16, 0)).fired == {50: 0, 75: 0, 100: 0}

    with city.session() as s:
        task = s.get(Task, task_id)
        assert task.escalation_level == 1 and task.queue == "escalation"
        clock_row = _task_clock(s, task_id)
        assert clock_row.thresholds_fired == 100
        assert clock_row.breached_at == at(2026, 9, 10, 13, 0)
        notices = s.scalars(select(StaffNotice).order_by(StaffNotice.id)).all()
        # The resident's answer to the question told the agent (issue 20), then the clocks.
        assert (city.agent_id, "resident_answered") in [(n.user_id, n.kind) for n in notices]
        assert [(n.user_id, n.kind) for n in notices if n.kind.startswith("sla_")] == [
            (city.agent_id, "sla_half"),
            (city.agent_id, "sla_breached"),
            (city.boss_id, "sla_breached"),
        ]
        sla_events = s.scalars(
            select(Event).where(Event.request_id == sr.id, Event.kind == "sla")
        ).all()
        # The case's own promise breached too: written on the case, not told again.
        assert sorted(e.data["action"] for e in sla_events) == ["breached", "case_breached"]
        assert not any(e.public for e in sla_events)

    with frozen(at(2026, 9, 10, 13, 31)):
        sent = deliver_outbox(
            city.db, SmtpSender(city.settings), now=clock.now(), max_attempts=3
        ).sent
    smtp.wait_for(sent)
    assert len(smtp.to("boss@city.example")) == 1
    # sla_half, sla_breached and the resident's answer (each emailed as the agent chose).
    assert len(smtp.to("agent@city.example")) == 3

    # Thursday 14:00 the task goes to Water; its first hours stay on Streets' record.
    with frozen(at(2026, 9, 10, 14, 0)), city.session() as s:
        task = s.get(Task, task_id)
        new = tasks.transfer_task(
            s,
            task=task,
            department=s.get(type(task.department), city.water_id),
            reason="A water main leak under the pothole",
            actor=s.get(type(city.agent), city.agent_id),
        )
        new_id = new.id
    with city.session() as s:
        old_clock = _task_clock(s, task_id)
        assert old_clock.stage == "transferred"
        assert old_clock.working_seconds == 17 * 3600  # 16 h + the hour past due
        new_clock = _task_clock(s, new_id)
        assert new_clock.stage == "running" and new_clock.department_id == city.water_id
        assert new_clock.started_at == at(2026, 9, 10, 14, 0)
        case_clock = s.scalar(
            select(SlaClock).where(
                SlaClock.request_id == sr.id,
                SlaClock.task_id.is_(None),
                SlaClock.kind == "resolution",
            )
        )
        assert case_clock.stage == "running"  # the case clock keeps running

    # Friday 9:00 Water finishes the last open task: the case resolves and the resident hears.
    smtp.clear()
    with frozen(at(2026, 9, 11, 9, 0)), city.session() as s:
        tasks.complete_task(
            s,
            settings=city.settings,
            task=s.get(Task, new_id),
            actor=s.get(type(city.agent), city.plumber_id),
        )
    with city.session() as s:
        sr = s.get(ServiceRequest, sr.id)
        assert sr.status == "resolved" and sr.expected_at is None
        assert _task_clock(s, new_id).stage == "met"
        case_clock = s.scalar(
            select(SlaClock).where(
                SlaClock.request_id == sr.id,
                SlaClock.kind == "resolution",
                SlaClock.task_id.is_(None),
            )
        )
        assert case_clock.stage == "breached"  # 20 working hours against 16
    with frozen(at(2026, 9, 11, 9, 1)):
        sent = deliver_outbox(
            city.db, SmtpSender(city.settings), now=clock.now(), max_attempts=3
        ).sent
    smtp.wait_for(sent)
    assert any("resolved" in m["Subject"].lower() for m in smtp.to("resident@example.org"))
