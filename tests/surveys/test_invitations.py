"""Invitations: one per resolved case to its reporter, after a delay, by email, once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from portal.casework import service as casework
from portal.casework import tasks
from portal.casework.models import Task
from portal.core import clock
from portal.core.outbox import OutboxMessage
from portal.requests import updates
from portal.requests.models import Follower
from portal.surveys import answering
from portal.surveys.invitations import (
    hash_token,
    invite_for_resolution,
    send_due_invitations,
)
from portal.surveys.models import SurveyInvitation, SurveyOptOut
from tests.casework.test_case import make_office, staff
from tests.factories import Factories
from tests.threads import together

MONDAY = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
TOKEN_IN_URL = "/surveys/"


@pytest.fixture(autouse=True)
def _thaw():
    yield
    clock.freeze(None)


@pytest.fixture
def office(make, db):
    return make_office(make, db)


def invitations(db, case=None):
    db.expire_all()
    query = select(SurveyInvitation).order_by(SurveyInvitation.id)
    if case is not None:
        query = query.where(SurveyInvitation.request_id == case.id)
    return list(db.scalars(query))


def survey_mails(db, address=None):
    query = select(OutboxMessage).where(OutboxMessage.kind == "survey_invitation")
    if address:
        query = query.where(OutboxMessage.to_address == address)
    return list(db.scalars(query.order_by(OutboxMessage.id)))


def resolve(db, settings, case, actor, at=MONDAY):
    """Finish every open task of ``case`` (the last one resolves it)."""
    clock.freeze(at)
    for task in db.scalars(select(Task).where(Task.request_id == case.id, Task.is_open)):
        tasks.complete_task(db, settings=settings, task=task, actor=actor)
    db.flush()
    assert case.status == "resolved"


def reopen(db, settings, case, actor, at):
    clock.freeze(at)
    casework.reopen_case(db, settings=settings, request=case, actor=actor, version=case.version)
    db.flush()


def run_worker(app, settings, at):
    clock.freeze(at)
    return send_due_invitations(app.extensions["portal.db"], settings, at)


# -- who is invited --------------------------------------------------------------------------


def test_one_invitation_per_case_with_several_tasks_and_reopen(app, db, office, settings):
    tasks.add_task(
        db, request=office.case, department=office.dept_y, title="Water main", actor=office.agent_x
    )
    resolve(db, settings, office.case, office.agent_x)
    [invitation] = invitations(db, office.case)
    assert invitation.state == "pending" and invitation.email == "rita@example.org"
    assert invitation.survey_key == "request-resolved"
    assert invitation.department_id == office.dept_x.id
    assert invitation.category_id == office.case.category_id
    assert invitation.version.version == 1

    # Reopened and resolved again before it went out: still the one invitation.
    reopen(db, settings, office.case, office.agent_x, MONDAY + timedelta(hours=2))
    resolve(db, settings, office.case, office.agent_x, MONDAY + timedelta(hours=3))
    [again] = invitations(db, office.case)
    assert again.id == invitation.id and again.state == "pending"
    # The delay counts from the latest resolution.
    assert again.send_after == MONDAY + timedelta(hours=3 + settings.survey_delay_hours)

    assert "sent 1" in run_worker(app, settings, MONDAY + timedelta(days=2))
    # Once sent, a third resolution never sends a second one.
    reopen(db, settings, office.case, office.agent_x, MONDAY + timedelta(days=3))
    resolve(db, settings, office.case, office.agent_x, MONDAY + timedelta(days=3, hours=1))
    assert run_worker(app, settings, MONDAY + timedelta(days=6)) is None
    [sent] = invitations(db, office.case)
    assert sent.state == "sent"
    assert len(survey_mails(db)) == 1


def test_the_database_refuses_a_second_invitation_for_a_case(db, office, settings):
    resolve(db, settings, office.case, office.agent_x)
    [first] = invitations(db, office.case)
    with pytest.raises(IntegrityError), db.begin_nested():
        db.add(
            SurveyInvitation(
                survey_key=first.survey_key,
                survey_version_id=first.survey_version_id,
                request_id=office.case.id,
                email="other@example.org",
                token_hash="x" * 64,
                send_after=MONDAY,
                expires_at=MONDAY,
            )
        )
        db.flush()
    # Calling the hook again (a second task ending in another transaction) adds nothing.
    assert (
        invite_for_resolution(db, settings=settings, request=office.case, now=MONDAY) is not None
    )  # the same pending invitation, re-armed
    assert len(invitations(db, office.case)) == 1


def test_followers_are_not_surveyed(app, db, office, settings):
    db.add(
        Follower(
            request_id=office.case.id, email="fan@example.org", token="f" * 40, confirmed_at=MONDAY
        )
    )
    db.flush()
    resolve(db, settings, office.case, office.agent_x)
    run_worker(app, settings, MONDAY + timedelta(days=2))
    assert [i.email for i in invitations(db)] == ["rita@example.org"]
    assert survey_mails(db, "fan@example.org") == []
    assert len(survey_mails(db, "rita@example.org")) == 1


def test_staff_reporters_and_staff_filing_for_themselves_are_not_surveyed(make, db, settings):
    office = make_office(make, db)
    # Reported from a staff account.
    mine = make.request(category=office.case.category, reporter_id=office.agent_x.id)
    tasks.add_task(db, request=mine, department=office.dept_x, title="Fix", actor=office.agent_x)
    resolve(db, settings, mine, office.agent_x)
    # Filed at the counter with a staff member's own address (any case).
    own = make.request(category=office.case.category, contact_email=office.agent_y.email.upper())
    tasks.add_task(db, request=own, department=office.dept_x, title="Fix", actor=office.agent_x)
    resolve(db, settings, own, office.agent_x)
    # No address at all (a phone call without email).
    silent = make.request(category=office.case.category)
    tasks.add_task(db, request=silent, department=office.dept_x, title="Fix", actor=office.agent_x)
    resolve(db, settings, silent, office.agent_x)
    assert invitations(db) == []


def test_a_resident_account_is_surveyed_in_their_language(app, db, make, settings):
    office = make_office(make, db)
    resident = make.user(email="Lucia@Example.org", locale="es")
    case = make.request(
        category=office.case.category,
        reporter_id=resident.id,
        contact_email=resident.email,
        locale="en",
    )
    tasks.add_task(db, request=case, department=office.dept_x, title="Fix", actor=office.agent_x)
    resolve(db, settings, case, office.agent_x)
    [invitation] = invitations(db, case)
    assert invitation.email == "lucia@example.org" and invitation.locale == "es"
    assert invitation.user_id == resident.id
    run_worker(app, settings, MONDAY + timedelta(days=2))
    [mail] = survey_mails(db)
    assert mail.locale == "es"
    assert "¿Qué tal atendimos su solicitud?" in mail.body_text


def test_an_address_that_opted_out_is_not_invited(db, office, settings):
    db.add(SurveyOptOut(email="rita@example.org"))
    office.case.contact_email = "Rita@Example.ORG"
    db.flush()
    resolve(db, settings, office.case, office.agent_x)
    assert invitations(db) == []


def test_survey_fatigue_one_invitation_per_address_in_the_window(db, make, settings):
    office = make_office(make, db)
    resolve(db, settings, office.case, office.agent_x)
    assert len(invitations(db)) == 1

    def another_case(at):
        case = make.request(category=office.case.category, contact_email="rita@example.org")
        tasks.add_task(
            db, request=case, department=office.dept_x, title="Fix", actor=office.agent_x
        )
        resolve(db, settings, case, office.agent_x, at)
        return case

    soon = another_case(MONDAY + timedelta(days=settings.survey_fatigue_days - 1))
    assert invitations(db, soon) == []
    later = another_case(MONDAY + timedelta(days=settings.survey_fatigue_days + 1))
    assert len(invitations(db, later)) == 1
    # Another address is not affected by Rita's window.
    other = make.request(category=office.case.category, contact_email="sam@example.org")
    tasks.add_task(db, request=other, department=office.dept_x, title="Fix", actor=office.agent_x)
    resolve(db, settings, other, office.agent_x, MONDAY + timedelta(days=1))
    assert len(invitations(db, other)) == 1


def test_an_invitation_cancelled_before_sending_does_not_count_for_fatigue(app, db, make, settings):
    office = make_office(make, db)
    resolve(db, settings, office.case, office.agent_x)
    reopen(db, settings, office.case, office.agent_x, MONDAY + timedelta(hours=1))
    run_worker(app, settings, MONDAY + timedelta(days=2))
    assert invitations(db)[0].state == "cancelled"
    case = make.request(category=office.case.category, contact_email="rita@example.org")
    tasks.add_task(db, request=case, department=office.dept_x, title="Fix", actor=office.agent_x)
    resolve(db, settings, case, office.agent_x, MONDAY + timedelta(days=3))
    assert len(invitations(db, case)) == 1


# -- sending ---------------------------------------------------------------------------------


def test_the_invitation_waits_for_the_delay_then_goes_out_once(app, db, office, settings):
    resolve(db, settings, office.case, office.agent_x)
    delay = timedelta(hours=settings.survey_delay_hours)
    assert run_worker(app, settings, MONDAY + delay - timedelta(minutes=1)) is None
    assert survey_mails(db) == []
    [pending] = invitations(db)
    placeholder = pending.token_hash

    sent_at = MONDAY + delay + timedelta(minutes=5)
    assert "sent 1" in run_worker(app, settings, sent_at)
    assert run_worker(app, settings, sent_at + timedelta(hours=1)) is None
    [invitation] = invitations(db)
    assert invitation.state == "sent" and invitation.sent_at == sent_at
    assert invitation.expires_at == sent_at + timedelta(days=settings.survey_expiry_days)
    assert invitation.token_hash != placeholder

    [mail] = survey_mails(db)
    assert mail.to_address == "rita@example.org"
    assert office.case.reference in mail.subject
    assert "How did we do with your request?" in mail.body_text
    link = next(
        line
        for line in mail.body_text.splitlines()
        if line.startswith("http://portal.test/surveys/") and "/opt-out/" not in line
    )
    token = link.rsplit("/", 1)[1]
    # Only the hash is stored; the same token opens the opt-out page.
    assert hash_token(token) == invitation.token_hash
    assert f"http://portal.test/surveys/opt-out/{token}" in mail.body_text
    assert f"http://portal.test/surveys/opt-out/{token}" in mail.body_html
    assert "March 17, 2026" in mail.body_text  # 14 days after it was sent, in Chicago
    assert token not in str(invitation.__dict__)


def test_a_case_reopened_before_sending_is_cancelled(app, db, office, settings, client):
    resolve(db, settings, office.case, office.agent_x)
    reopen(db, settings, office.case, office.agent_x, MONDAY + timedelta(hours=3))
    result = run_worker(app, settings, MONDAY + timedelta(days=2))
    assert "cancelled 1" in result
    [invitation] = invitations(db)
    assert invitation.state == "cancelled" and invitation.sent_at is None
    assert survey_mails(db) == []


def test_an_opt_out_after_the_invitation_was_made_cancels_it(app, db, office, settings):
    resolve(db, settings, office.case, office.agent_x)
    answering.opt_out(db, email="RITA@example.org", now=MONDAY + timedelta(hours=1))
    [invitation] = invitations(db)
    assert invitation.state == "cancelled"
    # Even if an invitation slipped through as pending, the worker checks again.
    invitation.state = "pending"
    db.flush()
    run_worker(app, settings, MONDAY + timedelta(days=2))
    assert invitations(db)[0].state == "cancelled"
    assert survey_mails(db) == []


def test_a_closed_case_still_gets_its_invitation(app, db, office, settings):
    resolve(db, settings, office.case, office.agent_x)
    clock.freeze(MONDAY + timedelta(hours=5))
    updates.change_status(
        db, settings=settings, request=office.case, target="closed", actor=office.agent_x
    )
    db.flush()
    run_worker(app, settings, MONDAY + timedelta(days=2))
    assert invitations(db)[0].state == "sent"


def test_the_link_expires(app, db, office, settings):
    resolve(db, settings, office.case, office.agent_x)
    sent_at = MONDAY + timedelta(days=1, minutes=1)
    run_worker(app, settings, sent_at)
    [invitation] = invitations(db)
    expires = sent_at + timedelta(days=settings.survey_expiry_days)
    assert answering.link_state(invitation, expires - timedelta(seconds=1)) == "open"
    assert answering.link_state(invitation, expires) == "expired"


def test_two_workers_send_each_invitation_once(committed_app, settings):
    database = committed_app.extensions["portal.db"]
    session = database.session(write=True)
    office = make_office(Factories(session, settings), session)
    cases = [office.case]
    for n in range(7):
        case = Factories(session, settings).request(
            category=office.case.category, contact_email=f"r{n}@example.org"
        )
        session.add(Task(request_id=case.id, department_id=office.dept_x.id, title="Fix"))
        cases.append(case)
    session.flush()
    for case in cases:
        resolve(session, settings, case, office.agent_x)
    session.commit()
    session.close()
    due = MONDAY + timedelta(days=2)
    clock.freeze(due)

    _results, errors = together([lambda: send_due_invitations(database, settings, due)] * 2)
    assert errors == []
    check = database.session()
    recipients = check.scalars(
        select(OutboxMessage.to_address).where(OutboxMessage.kind == "survey_invitation")
    ).all()
    states = set(check.scalars(select(SurveyInvitation.state)))
    count = check.scalar(select(func.count()).select_from(SurveyInvitation))
    check.close()
    assert count == 8 and states == {"sent"}
    assert sorted(recipients) == sorted(
        ["rita@example.org"] + [f"r{n}@example.org" for n in range(7)]
    )


def test_the_worker_job_is_registered(app):
    from portal.core.worker import PERIODIC_JOBS

    assert send_due_invitations in PERIODIC_JOBS


def test_supervisor_helper_lists_only_active_supervisors(db, make):
    office = make_office(make, db)
    boss = staff(make, db, office.dept_x, role="supervisor")
    gone = staff(make, db, office.dept_x, role="supervisor", active=False)
    assert answering.supervisors(db, office.dept_x.id) == [boss]
    assert gone not in answering.supervisors(db, office.dept_x.id)


def test_a_broken_survey_file_never_stops_a_case_from_resolving(
    db, office, settings, monkeypatch, caplog
):
    from portal.surveys import definitions

    def broken(trigger, folder=None):
        raise definitions.DefinitionError(["surveys/request-resolved.toml: line 3: not valid"])

    monkeypatch.setattr(definitions, "definition_for", broken)
    resolve(db, settings, office.case, office.agent_x)
    assert invitations(db) == []
    assert "not valid" in caplog.text


def test_a_changed_frozen_version_never_stops_a_case_from_resolving(
    db, office, settings, monkeypatch
):
    from portal.surveys import versions as definitions

    def frozen(session, definition):
        raise definitions.DefinitionError(
            ["surveys/request-resolved.toml: version 1 has responses and its questions changed"]
        )

    monkeypatch.setattr(definitions, "record_version", frozen)
    resolve(db, settings, office.case, office.agent_x)
    assert invitations(db) == []
