"""Session reminders: one email per enrolled participant a day before each session, once,
however many times (and by however many workers) the job runs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from portal.core.outbox import OutboxMessage
from portal.programmes import reminders
from portal.programmes.models import ProgrammeSession
from portal.programmes.reminders import send_session_reminders
from tests.factories import Factories
from tests.threads import together

START = datetime(2026, 4, 6, 16, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _frozen(freeze_clock):
    freeze_clock(START)


def mails(db):
    db.expire_all()
    return list(
        db.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.kind == "programme_reminder")
            .order_by(OutboxMessage.id)
        )
    )


def run(app, settings, at):
    return send_session_reminders(app.extensions["portal.db"], settings, at)


def reminded(db, item):
    db.expire_all()
    return db.get(ProgrammeSession, item.id).reminded_at


@pytest.fixture
def course(make):
    programme = make.programme(
        sessions=3,
        title="Citizens Academy",
        contact_email="a@city.gov",
        translations={"es": {"title": "Academia Ciudadana"}},
    )
    programme.sessions[0].mandatory = True
    return programme


def test_enrolled_participants_are_reminded_once(app, db, make, settings, course):
    ana = make.enrolment(
        course, make.user(name="Ana", email="ana@example.org"), check_in_code="ANA234"
    )
    luis = make.enrolment(course, make.user(name="Luis", email="luis@example.org"), locale="es")
    make.enrolment(course, make.user(email="wait@example.org"), state="waitlisted")
    make.enrolment(course, make.user(email="gone@example.org"), state="cancelled")
    make.enrolment(course, make.user(email="off@example.org", active=False))
    first = course.sessions[0]
    at = first.starts_at - timedelta(hours=20)

    result = run(app, settings, at)

    assert result == "sent 2 session reminder(s) for 1 session(s), marked 0 past session(s)"
    sent = mails(db)
    assert sorted(m.to_address for m in sent) == ["ana@example.org", "luis@example.org"]
    assert {m.dedupe_key for m in sent} == {
        f"programme-reminder:{first.id}:{ana.id}",
        f"programme-reminder:{first.id}:{luis.id}",
    }
    english = next(m for m in sent if m.to_address == "ana@example.org")
    assert "Citizens Academy" in english.subject
    assert "ANA234" in english.body_text
    assert "City Hall, Room 101" in english.body_text
    assert "required to complete" in english.body_text
    assert f"/my/programmes/{ana.id}" in english.body_text
    assert "a@city.gov" in english.body_html
    spanish = next(m for m in sent if m.to_address == "luis@example.org")
    assert spanish.locale == "es" and "Academia Ciudadana" in spanish.subject
    assert reminded(db, first) == at
    # Later sessions are outside the window.
    assert reminded(db, course.sessions[1]) is None

    assert run(app, settings, at + timedelta(hours=1)) is None
    assert len(mails(db)) == 2


def test_sessions_beyond_the_window_wait(app, db, make, settings, course):
    make.enrolment(course)
    first = course.sessions[0]
    assert run(app, settings, first.starts_at - timedelta(hours=25)) is None
    assert mails(db) == [] and reminded(db, first) is None


def test_past_sessions_are_marked_without_sending(app, db, make, settings, course):
    make.enrolment(course)
    second = course.sessions[1]
    at = second.starts_at - timedelta(hours=2)  # the worker was down for a week

    result = run(app, settings, at)

    assert result == "sent 1 session reminder(s) for 1 session(s), marked 1 past session(s)"
    [mail] = mails(db)
    assert "Session 2" in mail.body_text
    assert reminded(db, course.sessions[0]) == at
    assert reminded(db, second) == at


def test_draft_and_cancelled_programmes_are_not_reminded(app, db, make, settings):
    draft = make.programme(sessions=1, status="draft")
    cancelled = make.programme(sessions=1, status="cancelled")
    make.enrolment(draft)
    make.enrolment(cancelled)
    at = draft.sessions[0].starts_at - timedelta(hours=3)

    assert run(app, settings, at) is None
    assert mails(db) == []
    assert reminded(db, draft.sessions[0]) is None  # it may still open
    # Once past, both are marked so the job stops looking at them.
    later = at + timedelta(hours=4)
    assert run(app, settings, later) == (
        "sent 0 session reminder(s) for 0 session(s), marked 2 past session(s)"
    )
    assert mails(db) == []


def test_a_crash_midway_sends_nothing_and_the_next_round_sends_each_once(
    app, db, make, settings, course, monkeypatch
):
    people = [make.enrolment(course) for _ in range(3)]
    first = course.sessions[0]
    at = first.starts_at - timedelta(hours=1)
    real = reminders.queue_email
    calls = []

    def failing(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise OSError("disk full")
        return real(*args, **kwargs)

    monkeypatch.setattr(reminders, "queue_email", failing)
    with pytest.raises(OSError):
        run(app, settings, at)
    assert mails(db) == [] and reminded(db, first) is None

    monkeypatch.setattr(reminders, "queue_email", real)
    run(app, settings, at)
    run(app, settings, at)
    assert sorted(m.dedupe_key for m in mails(db)) == sorted(
        f"programme-reminder:{first.id}:{p.id}" for p in people
    )


def test_many_sessions_go_in_batches(app, db, make, settings, monkeypatch):
    monkeypatch.setattr(reminders, "BATCH", 2)
    monkeypatch.setattr(reminders, "PARTICIPANTS", 2)
    programmes = [make.programme(sessions=1) for _ in range(5)]
    for programme in programmes:
        for _ in range(3):
            make.enrolment(programme)
    at = programmes[0].sessions[0].starts_at - timedelta(hours=1)

    assert run(app, settings, at) == (
        "sent 15 session reminder(s) for 5 session(s), marked 0 past session(s)"
    )
    assert len({m.dedupe_key for m in mails(db)}) == 15


def test_two_workers_remind_each_participant_once(committed_app, settings):
    database = committed_app.extensions["portal.db"]
    session = database.session(write=True)
    make = Factories(session, settings)
    programmes = [make.programme(sessions=2) for _ in range(4)]
    for programme in programmes:
        for _ in range(3):
            make.enrolment(programme)
    at = programmes[0].sessions[0].starts_at - timedelta(hours=2)
    session.commit()
    session.close()

    _results, errors = together([lambda: send_session_reminders(database, settings, at)] * 2)
    assert errors == []
    check = database.session()
    keys = check.scalars(
        select(OutboxMessage.dedupe_key).where(OutboxMessage.kind == "programme_reminder")
    ).all()
    marked = check.scalar(
        select(func.count())
        .select_from(ProgrammeSession)
        .where(ProgrammeSession.reminded_at.is_not(None))
    )
    check.close()
    assert len(keys) == 12 and len(set(keys)) == 12
    assert marked == 4


def test_the_job_is_registered(app):
    from portal.core.worker import PERIODIC_JOBS

    assert send_session_reminders in PERIODIC_JOBS
