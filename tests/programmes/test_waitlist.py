"""The waitlist: positions, offers of freed places and their deadline, the offers job,
capacity changes, status changes (a cancelled programme tells everyone) and messages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from portal.core import clock
from portal.core.audit import AuditEntry
from portal.core.outbox import OutboxMessage
from portal.core.senders import SmtpSender
from portal.core.worker import PERIODIC_JOBS, deliver_outbox
from portal.programmes import service
from portal.programmes.models import Enrolment
from portal.programmes.programme_changes import change_status, message_enrolees, set_capacity
from portal.programmes.service import ProgrammeError, process_programme_offers
from tests.smtp import body_html, body_text

NOW = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


@pytest.fixture(autouse=True)
def _frozen(freeze_clock):
    freeze_clock(NOW)


def at(moment: datetime) -> datetime:
    clock.freeze(moment)
    return moment


def outbox(db, kind=None, to=None):
    query = select(OutboxMessage).order_by(OutboxMessage.id)
    if kind:
        query = query.where(OutboxMessage.kind == f"programme_{kind}")
    if to:
        query = query.where(OutboxMessage.to_address == to)
    return list(db.scalars(query))


def signup(db, settings, make, programme, n, *, minutes_apart=10, start=NOW):
    """``n`` residents enrol one after another; returns their enrolments."""
    enrolments = []
    for i in range(n):
        at(start + timedelta(minutes=minutes_apart * i))
        enrolments.append(
            service.enrol(
                db, settings=settings, programme=programme, user=make.user(), raw={}, locale="en"
            ).enrolment
        )
    return enrolments


def counters(db, programme):
    db.refresh(programme)
    return programme.taken, programme.waiting


def positions(db, enrolments):
    for enrolment in enrolments:
        db.refresh(enrolment)
    return [service.waitlist_position(db, e) for e in enrolments]


def run_job(app, settings, moment):
    at(moment)
    return process_programme_offers(app.extensions["portal.db"], settings, moment)


# -- positions -------------------------------------------------------------------------------


def test_positions_follow_sign_up_order_and_close_up_after_a_cancellation(db, make, settings):
    programme = make.programme(sessions=2, capacity=1)
    first, *waiting = signup(db, settings, make, programme, 5)
    assert first.state == "enrolled"
    assert positions(db, waiting) == [1, 2, 3, 4]
    service.cancel_enrolment(db, settings=settings, enrolment=waiting[1], by=None)
    assert positions(db, waiting) == [1, None, 2, 3]
    assert counters(db, programme) == (1, 3)
    # Leaving the waitlist frees no place, so nobody is offered one.
    assert outbox(db, "offer") == []


def test_cancelling_twice_or_a_finished_enrolment_is_refused(db, make, settings):
    programme = make.programme(sessions=1)
    [enrolment] = signup(db, settings, make, programme, 1)
    service.cancel_enrolment(db, settings=settings, enrolment=enrolment, by=None)
    with pytest.raises(ProgrammeError) as refused:
        service.cancel_enrolment(db, settings=settings, enrolment=enrolment, by=None)
    assert refused.value.code == "bad_state"
    assert counters(db, programme) == (0, 0)
    with pytest.raises(ProgrammeError) as bad_reason:
        service.cancel_enrolment(
            db, settings=settings, enrolment=enrolment, by=None, reason="bored"
        )
    assert bad_reason.value.code == "invalid"


def test_a_coordinator_cancelling_is_recorded(db, make, settings):
    programme = make.programme(sessions=1)
    [enrolment] = signup(db, settings, make, programme, 1)
    coordinator = make.user(role="coordinator")
    service.cancel_enrolment(
        db, settings=settings, enrolment=enrolment, by=coordinator, reason="coordinator"
    )
    assert enrolment.cancel_reason == "coordinator"
    assert enrolment.decided_by_id == coordinator.id
    [told] = outbox(db, "left")
    assert told.subject == f"Your place in {programme.title} has been cancelled"


def test_a_resident_who_cancels_gets_a_confirmation_once(db, make, settings):
    programme = make.programme(sessions=1)
    [enrolment] = signup(db, settings, make, programme, 1)
    service.cancel_enrolment(db, settings=settings, enrolment=enrolment, by=enrolment.user)
    [told] = outbox(db, "left")
    assert told.subject == f"You have left {programme.title}"
    assert told.to_address == enrolment.user.email
    assert f"/programmes/{programme.id}" in told.body_text


# -- offers ----------------------------------------------------------------------------------


def test_a_freed_place_is_offered_to_the_head_of_the_waitlist_with_a_deadline(db, make, settings):
    programme = make.programme(sessions=2, capacity=1)
    first, head, second = signup(db, settings, make, programme, 3)
    cancelled_at = at(NOW + 2 * HOUR)
    service.cancel_enrolment(db, settings=settings, enrolment=first, by=None)
    db.refresh(head)
    db.refresh(second)
    assert head.state == "offered" and second.state == "waitlisted"
    assert head.offered_at == cancelled_at
    assert head.offer_expires_at == cancelled_at + timedelta(hours=48)
    assert counters(db, programme) == (1, 1)
    assert positions(db, [second]) == [1]
    [mail] = outbox(db, "offer")
    assert mail.to_address == head.user.email
    # 48 hours after 17:00 UTC on March 2 is 11:00 AM on March 4 in Chicago (CST).
    assert "March 4, 2026, 11:00 AM CST" in mail.body_text
    assert f"http://portal.test/my/programmes/{head.id}" in mail.body_text
    assert f'href="http://portal.test/my/programmes/{head.id}"' in mail.body_html


def test_the_programme_can_set_its_own_offer_time(db, make, settings):
    programme = make.programme(sessions=2, capacity=1, offer_hours=6)
    first, head = signup(db, settings, make, programme, 2)
    service.cancel_enrolment(db, settings=settings, enrolment=first, by=None)
    db.refresh(head)
    assert head.offer_expires_at == clock.now() + timedelta(hours=6)


def test_an_offer_accepted_in_time_enrols_with_the_code(db, make, settings):
    programme = make.programme(sessions=2, capacity=1)
    first, head = signup(db, settings, make, programme, 2)
    service.cancel_enrolment(db, settings=settings, enrolment=first, by=None)
    db.refresh(head)
    accepted_at = at(head.offer_expires_at - timedelta(minutes=1))
    service.accept_offer(db, settings=settings, enrolment=head)
    assert head.state == "enrolled" and head.enrolled_at == accepted_at
    assert counters(db, programme) == (1, 0)
    [mail] = outbox(db, "enrolled", to=head.user.email)
    assert head.check_in_code in mail.body_text
    with pytest.raises(ProgrammeError) as again:
        service.accept_offer(db, settings=settings, enrolment=head)
    assert again.value.code == "bad_state"


def test_an_offer_cannot_be_accepted_after_its_deadline(db, make, settings):
    programme = make.programme(sessions=2, capacity=1)
    first, head = signup(db, settings, make, programme, 2)
    service.cancel_enrolment(db, settings=settings, enrolment=first, by=None)
    db.refresh(head)
    at(head.offer_expires_at)
    with pytest.raises(ProgrammeError) as refused:
        service.accept_offer(db, settings=settings, enrolment=head)
    assert refused.value.code == "offer_expired"
    assert head.state == "offered"


def test_the_job_lets_a_lapsed_offer_pass_to_the_next_person(app, db, make, settings):
    programme = make.programme(sessions=2, capacity=1)
    first, head, nxt, last = signup(db, settings, make, programme, 4)
    service.cancel_enrolment(db, settings=settings, enrolment=first, by=None)
    db.refresh(head)
    deadline = head.offer_expires_at
    assert run_job(app, settings, deadline - timedelta(seconds=1)) is None

    report = run_job(app, settings, deadline)
    assert report == "1 programme offer(s) lapsed, 1 place(s) offered"
    for enrolment in (head, nxt, last):
        db.refresh(enrolment)
    assert (head.state, head.cancel_reason, head.cancelled_at) == (
        "cancelled",
        "offer_expired",
        deadline,
    )
    assert nxt.state == "offered" and nxt.offer_expires_at == deadline + timedelta(hours=48)
    assert positions(db, [last]) == [1]
    assert counters(db, programme) == (1, 1)
    [lapsed] = outbox(db, "offer_lapsed")
    assert lapsed.to_address == head.user.email
    assert [m.to_address for m in outbox(db, "offer")] == [head.user.email, nxt.user.email]
    # Running again changes nothing and sends nothing.
    assert run_job(app, settings, deadline + timedelta(minutes=5)) is None
    assert len(outbox(db, "offer")) == 2


def test_declining_passes_the_place_on(db, make, settings):
    programme = make.programme(sessions=2, capacity=1)
    first, head, nxt = signup(db, settings, make, programme, 3)
    service.cancel_enrolment(db, settings=settings, enrolment=first, by=None)
    db.refresh(head)
    service.decline_offer(db, settings=settings, enrolment=head)
    db.refresh(nxt)
    assert (head.state, head.cancel_reason) == ("cancelled", "offer_declined")
    assert nxt.state == "offered"
    assert counters(db, programme) == (1, 0)
    with pytest.raises(ProgrammeError) as again:
        service.decline_offer(db, settings=settings, enrolment=head)
    assert again.value.code == "bad_state"


def test_the_job_offers_places_that_are_free_while_people_wait(app, db, make, settings):
    programme = make.programme(sessions=2, capacity=3)
    waiting = [
        make.enrolment(programme, state="waitlisted", queued_at=NOW - timedelta(minutes=m))
        for m in (5, 10, 1, 20)
    ]
    make.enrolment(programme, state="enrolled")
    db.flush()
    assert counters(db, programme) == (1, 4)
    assert run_job(app, settings, NOW) == "0 programme offer(s) lapsed, 2 place(s) offered"
    db.expire_all()
    states = [e.state for e in (db.get(Enrolment, w.id) for w in waiting)]
    # The two who waited longest (20 and 10 minutes) get the places.
    assert states == ["waitlisted", "offered", "waitlisted", "offered"]
    assert counters(db, programme) == (3, 2)


@pytest.mark.parametrize("status", ["draft", "completed", "cancelled"])
def test_no_offers_for_programmes_not_open_or_closed(db, make, settings, status):
    programme = make.programme(sessions=2, capacity=2, status=status)
    make.enrolment(programme, state="waitlisted")
    db.flush()
    assert service.fill_places(db, settings=settings, programme_id=programme.id) == 0
    assert counters(db, programme) == (0, 1)


def test_no_offers_once_the_last_session_has_started(db, make, settings):
    programme = make.programme(sessions=2, capacity=2, status="closed")
    make.enrolment(programme, state="waitlisted")
    db.flush()
    late = programme.sessions[-1].starts_at
    assert service.fill_places(db, settings=settings, programme_id=programme.id, now=late) == 0
    assert (
        service.fill_places(
            db, settings=settings, programme_id=programme.id, now=late - timedelta(seconds=1)
        )
        == 1
    )


def test_the_offers_job_is_registered():
    assert process_programme_offers in PERIODIC_JOBS


# -- capacity --------------------------------------------------------------------------------


def test_raising_the_capacity_offers_the_new_places(db, make, settings):
    programme = make.programme(sessions=2, capacity=1)
    coordinator = make.user(role="coordinator")
    _first, second, third, fourth = signup(db, settings, make, programme, 4)
    set_capacity(db, settings=settings, programme=programme, capacity=3, by=coordinator)
    for enrolment in (second, third, fourth):
        db.refresh(enrolment)
    assert [e.state for e in (second, third, fourth)] == ["offered", "offered", "waitlisted"]
    assert counters(db, programme) == (3, 1)
    [entry] = db.scalars(select(AuditEntry).where(AuditEntry.action == "capacity"))
    assert (entry.entity, entry.entity_id, entry.actor_id) == (
        "programme",
        str(programme.id),
        coordinator.id,
    )
    assert entry.before["capacity"] == 1 and entry.after["capacity"] == 3


def test_lowering_the_capacity_moves_the_latest_back_to_the_front(db, make, settings):
    programme = make.programme(sessions=2, capacity=4)
    enrolled = signup(db, settings, make, programme, 3)
    # Three more: the fourth gets the last place, the others wait.
    fourth, fifth, sixth = signup(db, settings, make, programme, 3, start=NOW + HOUR)
    db.refresh(fourth)
    assert fourth.state == "enrolled" and fifth.state == "waitlisted"
    # Someone enrolled leaves: the head of the waitlist (fifth) is offered the place.
    service.cancel_enrolment(db, settings=settings, enrolment=enrolled[0], by=None)
    db.refresh(fifth)
    assert fifth.state == "offered"
    assert counters(db, programme) == (4, 1)

    set_capacity(db, settings=settings, programme=programme, capacity=2, by=None)
    for enrolment in (*enrolled, fourth, fifth, sixth):
        db.refresh(enrolment)
    # The offer goes first, then the most recently enrolled (fourth).
    assert fifth.state == "waitlisted" and fifth.offer_expires_at is None
    assert fourth.state == "waitlisted" and fourth.enrolled_at is None
    assert [e.state for e in enrolled[1:]] == ["enrolled", "enrolled"]
    assert counters(db, programme) == (2, 3)
    # They keep their place in line, ahead of sixth, who signed up after them.
    assert positions(db, [fourth, fifth, sixth]) == [1, 2, 3]
    moved = outbox(db, "moved_to_waitlist")
    assert sorted(m.to_address for m in moved) == sorted([fourth.user.email, fifth.user.email])


def test_a_capacity_below_one_is_refused(db, make, settings):
    programme = make.programme(capacity=5)
    for bad in (0, -1):
        with pytest.raises(ProgrammeError) as refused:
            set_capacity(db, settings=settings, programme=programme, capacity=bad, by=None)
        assert refused.value.code == "invalid"
    assert counters(db, programme) == (0, 0) and programme.capacity == 5


# -- status ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "target"),
    [
        ("draft", "closed"),
        ("draft", "completed"),
        ("open", "completed"),
        ("open", "draft"),
        ("closed", "draft"),
        ("completed", "open"),
        ("completed", "cancelled"),
        ("cancelled", "open"),
        ("open", "open"),
        ("open", "bogus"),
    ],
)
def test_status_changes_outside_the_transitions_are_refused(db, make, settings, start, target):
    programme = make.programme(sessions=1, status=start)
    with pytest.raises(ProgrammeError) as refused:
        change_status(db, settings=settings, programme=programme, status=target, by=None)
    assert refused.value.code == "bad_state"
    db.refresh(programme)
    assert programme.status == start


def test_opening_a_draft_needs_a_session_and_a_window(db, make, settings):
    coordinator = make.user(role="coordinator")
    bare = make.programme(status="draft")
    with pytest.raises(ProgrammeError) as no_sessions:
        change_status(db, settings=settings, programme=bare, status="open", by=coordinator)
    assert (no_sessions.value.code, no_sessions.value.detail) == ("invalid", "no_sessions")
    windowless = make.programme(status="draft", sessions=1, enrol_closes_at=None)
    with pytest.raises(ProgrammeError) as no_window:
        change_status(db, settings=settings, programme=windowless, status="open", by=coordinator)
    assert no_window.value.detail == "no_window"

    ready = make.programme(status="draft", sessions=1)
    change_status(db, settings=settings, programme=ready, status="open", by=coordinator)
    assert ready.status == "open"
    [entry] = db.scalars(select(AuditEntry).where(AuditEntry.action == "status"))
    assert entry.before == {"status": "draft"} and entry.after == {"status": "open"}
    assert entry.actor_id == coordinator.id


def test_closing_and_reopening(db, make, settings):
    programme = make.programme(sessions=1)
    change_status(db, settings=settings, programme=programme, status="closed", by=None)
    assert programme.status == "closed"
    assert service.can_enrol(programme, NOW) == "not_open"
    change_status(db, settings=settings, programme=programme, status="open", by=None)
    assert programme.status == "open"


def test_cancelling_a_programme_tells_everyone_by_email(app, db, make, settings, smtp):
    programme = make.programme(
        sessions=2, capacity=1, translations={"es": {"title": "Taller de huertos"}}
    )
    enrolled, offered_one, waiting = signup(db, settings, make, programme, 3)
    set_capacity(db, settings=settings, programme=programme, capacity=2, by=None)
    db.refresh(offered_one)
    assert offered_one.state == "offered"
    applicant = service.enrol(
        db,
        settings=settings,
        user=make.user(locale="es"),
        programme=make.programme(admission="application"),
        raw={},
        locale="es",
    ).enrolment
    gone = signup(db, settings, make, programme, 1)[0]
    service.cancel_enrolment(db, settings=settings, enrolment=gone, by=None)
    spanish = service.enrol(
        db, settings=settings, programme=programme, user=make.user(locale="es"), raw={}, locale="es"
    ).enrolment
    db.query(OutboxMessage).delete()
    db.flush()

    cancelled_at = at(NOW + timedelta(days=1))
    change_status(
        db,
        settings=settings,
        programme=programme,
        status="cancelled",
        by=make.user(role="coordinator"),
    )
    assert programme.status == "cancelled" and programme.cancelled_at == cancelled_at
    assert counters(db, programme) == (0, 0)
    everyone = (enrolled, offered_one, waiting, spanish)
    for enrolment in everyone:
        db.refresh(enrolment)
        assert (enrolment.state, enrolment.cancel_reason) == ("cancelled", "programme_cancelled")
    db.refresh(gone)
    assert gone.cancel_reason == "resident"  # already cancelled: not told again
    db.refresh(applicant)
    assert applicant.state == "applied"  # another programme
    db.commit()

    stats = deliver_outbox(
        app.extensions["portal.db"], SmtpSender(settings), now=clock.now(), max_attempts=3
    )
    assert stats.sent == 4
    received = smtp.wait_for(4)
    assert sorted(r for rcpts, _ in received for r in rcpts) == sorted(
        e.user.email for e in everyone
    )
    [spanish_mail] = smtp.to(spanish.user.email)
    assert "Taller de huertos" in spanish_mail["Subject"]
    [english] = smtp.to(enrolled.user.email)
    assert english["Subject"] == f"{programme.title} has been cancelled"
    assert f"{programme.title} has been cancelled" in body_text(english)
    assert "http://portal.test/programmes" in body_html(english)
    # Re-running the cancellation is refused; nobody is told twice.
    with pytest.raises(ProgrammeError):
        change_status(db, settings=settings, programme=programme, status="cancelled", by=None)


def test_completing_a_programme_records_completion(db, make, settings):
    programme = make.programme(sessions=1, status="closed")
    enrolment = make.enrolment(programme)
    db.flush()
    done_at = at(programme.sessions[0].ends_at + HOUR)
    change_status(db, settings=settings, programme=programme, status="completed", by=None)
    assert programme.status == "completed" and programme.completed_at == done_at
    db.refresh(enrolment)
    assert enrolment.completed is not None  # the completion rule ran (nobody attended)
    assert enrolment.completed is False


# -- messages --------------------------------------------------------------------------------


def test_a_message_goes_to_everyone_enrolled_escaped(db, make, settings):
    programme = make.programme(sessions=1, capacity=2)
    coordinator = make.user(role="coordinator")
    first, second, waiting = signup(db, settings, make, programme, 3)
    count = message_enrolees(
        db,
        settings=settings,
        programme=programme,
        subject="  Room\nchange  ",
        body="We meet in <b>Room 5</b> & not 4.\r\nSee you!",
        by=coordinator,
    )
    assert count == 2
    mails = outbox(db, "message")
    assert sorted(m.to_address for m in mails) == sorted([first.user.email, second.user.email])
    mail = mails[0]
    assert mail.subject == "Room change"
    assert "We meet in <b>Room 5</b> & not 4.\nSee you!" in mail.body_text
    assert "&lt;b&gt;Room 5&lt;/b&gt; &amp; not 4." in mail.body_html
    assert "<b>Room 5</b>" not in mail.body_html
    [entry] = db.scalars(select(AuditEntry).where(AuditEntry.action == "message"))
    assert entry.after == {"subject": "Room change", "recipients": 2}
    assert waiting.state == "waitlisted"
    # The same words sent again are a new message.
    assert (
        message_enrolees(
            db, settings=settings, programme=programme, subject="Room change", body="Again", by=None
        )
        == 2
    )


@pytest.mark.parametrize(
    ("subject", "body", "detail"),
    [
        ("", "Hello", "subject"),
        ("   ", "Hello", "subject"),
        ("x" * 201, "Hello", "subject"),
        ("Hi", "", "body"),
        ("Hi", "x" * 5001, "body"),
    ],
)
def test_an_empty_or_overlong_message_is_refused(db, make, settings, subject, body, detail):
    programme = make.programme(sessions=1)
    make.enrolment(programme)
    with pytest.raises(ProgrammeError) as refused:
        message_enrolees(
            db, settings=settings, programme=programme, subject=subject, body=body, by=None
        )
    assert (refused.value.code, refused.value.detail) == ("invalid", detail)
    assert outbox(db) == []
