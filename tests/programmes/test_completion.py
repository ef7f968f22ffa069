"""Completion: at least N sessions and every mandatory one; completing a programme records it
for every enrolled participant and invites each of them, once, to the programme survey."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import event, select

from portal.core import clock
from portal.programmes import attendance, completion
from portal.surveys.invitations import send_due_invitations
from portal.surveys.models import SurveyInvitation, SurveyOptOut


@pytest.fixture(autouse=True)
def _thaw():
    yield
    clock.freeze(None)


def academy(make, *, mandatory=(0, 7), minimum=6, sessions=8, **kw):
    programme = make.programme(sessions=sessions, completion_min_sessions=minimum, **kw)
    for index in mandatory:
        programme.sessions[index].mandatory = True
    make.session.flush()
    return programme


def attend(db, programme, enrolment, indexes, present=True):
    for index in indexes:
        attendance.mark(
            db,
            programme_session=programme.sessions[index],
            enrolment=enrolment,
            present=present,
            by=None,
        )


def after(programme):
    return programme.sessions[-1].ends_at + timedelta(hours=1)


def invitations(db):
    db.expire_all()
    return list(db.scalars(select(SurveyInvitation).order_by(SurveyInvitation.id)))


# -- the rule --------------------------------------------------------------------------------


def test_six_of_eight_with_both_mandatory_sessions_is_met(db, make):
    programme = academy(make)
    person = make.enrolment(programme)
    attend(db, programme, person, [0, 1, 2, 3, 4, 7])
    attend(db, programme, person, [5, 6], present=False)

    result = completion.progress(db, person, now=after(programme))

    assert (result.attended, result.needed, result.met, result.total) == (6, 6, True, 8)
    assert result.mandatory_missed == []


def test_six_of_eight_with_a_mandatory_session_missed_is_not_met(db, make):
    programme = academy(make)
    person = make.enrolment(programme)
    attend(db, programme, person, [1, 2, 3, 4, 5, 6, 7])  # seven, but not the first

    result = completion.progress(db, person, now=after(programme))

    assert (result.attended, result.needed, result.met) == (7, 6, False)
    assert [s.id for s in result.mandatory_missed] == [programme.sessions[0].id]


def test_five_sessions_are_not_enough(db, make):
    programme = academy(make)
    person = make.enrolment(programme)
    attend(db, programme, person, [0, 1, 2, 3, 7])
    result = completion.progress(db, person, now=after(programme))
    assert (result.attended, result.met) == (5, False)


def test_no_minimum_means_every_session(db, make):
    programme = academy(make, mandatory=(), minimum=None, sessions=3)
    person = make.enrolment(programme)
    attend(db, programme, person, [0, 1])
    assert completion.progress(db, person).needed == 3
    assert completion.progress(db, person).met is False
    attend(db, programme, person, [2])
    assert completion.progress(db, person).met is True


def test_a_mandatory_session_still_to_come_is_not_missed_yet(db, make):
    programme = academy(make)
    person = make.enrolment(programme)
    attend(db, programme, person, [0])
    midway = programme.sessions[3].ends_at

    result = completion.progress(db, person, now=midway)

    assert result.mandatory_missed == []
    assert [s.id for s in result.mandatory_pending] == [programme.sessions[7].id]
    assert result.met is False


def test_programme_progress_reads_everyone_in_three_queries(db, make):
    programme = academy(make)
    people = [make.enrolment(programme) for _ in range(12)]
    for number, person in enumerate(people):
        attend(db, programme, person, range(number % 9))
    waiting = make.enrolment(programme, state="waitlisted")
    db.expire_all()

    statements = []
    engine = db.get_bind().engine

    def count(*_args):
        statements.append(1)

    event.listen(engine, "before_cursor_execute", count)
    try:
        results = completion.programme_progress(db, programme)
    finally:
        event.remove(engine, "before_cursor_execute", count)

    assert len(statements) <= 4  # (one may reload the expired programme)
    assert waiting.id not in results
    for number, person in enumerate(people):
        assert results[person.id].attended == number % 9
        assert results[person.id].met == (number % 9 == 8)


# -- completing ------------------------------------------------------------------------------


def test_complete_programme_records_completion_and_invites_every_participant(db, make, settings):
    programme = academy(make)
    done = make.enrolment(programme, make.user(email="Done@Example.org"), locale="es")
    short = make.enrolment(programme)
    waiting = make.enrolment(programme, state="waitlisted")
    attend(db, programme, done, range(8))
    attend(db, programme, short, [0, 1])
    now = after(programme)

    completion.complete_programme(db, settings=settings, programme=programme, now=now)

    db.expire_all()
    assert (done.completed, short.completed, waiting.completed) == (True, False, None)
    made = invitations(db)
    assert {(i.subject_key, i.email, i.locale) for i in made} == {
        (f"enrolment:{done.id}", "done@example.org", "es"),
        (f"enrolment:{short.id}", short.user.email, "en"),
    }
    for invitation in made:
        assert invitation.survey_key == "programme-completed"
        assert invitation.request_id is None
        assert invitation.department_id is None and invitation.category_id is None
        assert invitation.state == "pending"
        assert invitation.send_after == now
        assert invitation.user_id in (done.user_id, short.user_id)


def test_completing_again_invites_nobody_twice(db, make, settings):
    programme = academy(make)
    make.enrolment(programme)
    now = after(programme)
    completion.complete_programme(db, settings=settings, programme=programme, now=now)
    completion.complete_programme(
        db, settings=settings, programme=programme, now=now + timedelta(days=60)
    )
    assert len(invitations(db)) == 1


def test_opted_out_and_recently_surveyed_addresses_are_not_invited(db, make, settings):
    programme = academy(make)
    quiet = make.enrolment(programme, make.user(email="quiet@example.org"))
    busy = make.enrolment(programme, make.user(email="busy@example.org"))
    asked = make.enrolment(programme)
    now = after(programme)
    db.add(SurveyOptOut(email="quiet@example.org"))
    other = academy(make, sessions=1, mandatory=(), minimum=None)
    before = make.enrolment(other, busy.user)
    completion.complete_programme(
        db, settings=settings, programme=other, now=now - timedelta(days=3)
    )
    assert [i.subject_key for i in invitations(db)] == [f"enrolment:{before.id}"]

    completion.complete_programme(db, settings=settings, programme=programme, now=now)

    keys = {i.subject_key for i in invitations(db)}
    assert f"enrolment:{asked.id}" in keys
    assert f"enrolment:{quiet.id}" not in keys
    assert f"enrolment:{busy.id}" not in keys


def test_programme_invitations_are_cancelled_when_the_address_opts_out(app, db, make, settings):
    programme = academy(make)
    person = make.enrolment(programme)
    now = after(programme)
    completion.complete_programme(db, settings=settings, programme=programme, now=now)
    db.add(SurveyOptOut(email=person.user.email))
    db.flush()

    result = send_due_invitations(app.extensions["portal.db"], settings, now)

    assert result == "sent 0 survey invitation(s), cancelled 1"
    [invitation] = invitations(db)
    assert invitation.state == "cancelled" and invitation.sent_at is None
