"""Enrolling in a programme: eligibility, refusals, places, applications and their emails."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from werkzeug.datastructures import MultiDict

from portal.core import clock
from portal.core.outbox import OutboxMessage
from portal.programmes import service
from portal.programmes.applications import approve_application, reject_application
from portal.programmes.eligibility import check_eligibility, raw_answers
from portal.programmes.models import Enrolment
from portal.programmes.service import AnswersRejected, ProgrammeError

NOW = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
CODE_RE = re.compile(r"^[23456789ABCDEFGHJKMNPQRSTUVWXYZ]{6}$")

OPTIONS = [
    {"key": "north", "label": "North"},
    {"key": "south", "label": "South"},
    {"key": "east", "label": "East"},
]
QUESTIONS = [
    {
        "code": "adult",
        "kind": "yesno",
        "eligible_values": ["yes"],
        "ineligible_message": "You must be 18 or older.",
        "translations": {"es": {"ineligible_message": "Debe tener 18 años o más."}},
    },
    {"code": "ward", "kind": "single", "options": OPTIONS, "eligible_values": ["north", "east"]},
    {
        "code": "interests",
        "kind": "multi",
        "options": OPTIONS,
        "eligible_values": ["south"],
        "required": False,
    },
    {"code": "age", "kind": "number", "min_value": 18, "max_value": 65},
    {"code": "note", "kind": "text", "required": False, "max_length": 20},
    {"code": "born", "kind": "date", "required": False},
]
GOOD = {"adult": "yes", "ward": "north", "interests": [], "age": "30", "note": "", "born": ""}


@pytest.fixture(autouse=True)
def _frozen(freeze_clock):
    freeze_clock(NOW)


def outbox(db, kind=None):
    query = select(OutboxMessage).order_by(OutboxMessage.id)
    if kind:
        query = query.where(OutboxMessage.kind == f"programme_{kind}")
    return list(db.scalars(query))


def enrolment_count(db) -> int:
    return db.scalar(select(func.count()).select_from(Enrolment))


def enrol(db, settings, programme, user, raw=None, locale="en"):
    return service.enrol(
        db,
        settings=settings,
        programme=programme,
        user=user,
        raw=GOOD if raw is None else raw,
        locale=locale,
    )


# -- eligibility -----------------------------------------------------------------------------


def checked(make, **answers):
    programme = make.programme(questions=QUESTIONS)
    return check_eligibility(programme, {**GOOD, **answers})


def test_good_answers_qualify_and_come_back_clean(make):
    result = checked(make, note="  hello  ", born="1990-05-01", interests=["south", "north"])
    assert result.ok and result.errors == {} and result.ineligible == []
    assert result.answers == {
        "adult": "yes",
        "ward": "north",
        "interests": ["north", "south"],
        "age": 30,
        "note": "hello",
        "born": "1990-05-01",
    }


@pytest.mark.parametrize(
    ("answers", "ineligible"),
    [
        ({"adult": "no"}, ["adult"]),
        ({"ward": "south"}, ["ward"]),
        ({"interests": ["north", "east"]}, ["interests"]),
        ({"age": "17.5"}, ["age"]),
        ({"age": "66"}, ["age"]),
        ({"adult": "no", "age": "12"}, ["adult", "age"]),
    ],
)
def test_answers_that_do_not_qualify_are_listed_in_question_order(make, answers, ineligible):
    result = checked(make, **answers)
    assert result.errors == {}
    assert result.ineligible == ineligible
    assert not result.ok


@pytest.mark.parametrize("age", ["18", "65", "40.5"])
def test_number_bounds_are_inclusive(make, age):
    assert checked(make, age=age).ok


def test_one_eligible_choice_among_several_qualifies(make):
    assert checked(make, interests=["north", "south"]).ok


def test_an_unanswered_optional_question_never_disqualifies(make):
    result = checked(make, interests=[], note="", born="")
    assert result.ok and "interests" not in result.answers


@pytest.mark.parametrize(
    ("answers", "errors"),
    [
        ({"adult": ""}, {"adult": "required"}),
        ({"ward": "west"}, {"ward": "bad_choice"}),
        ({"interests": ["north", "nowhere"]}, {"interests": "bad_choice"}),
        ({"age": "thirty"}, {"age": "not_a_number"}),
        ({"age": "nan"}, {"age": "not_a_number"}),
        ({"born": "1990-13-01"}, {"born": "not_a_date"}),
        ({"note": "x" * 21}, {"note": "too_long"}),
        ({"adult": "maybe", "age": ""}, {"adult": "bad_choice", "age": "required"}),
    ],
)
def test_missing_or_invalid_answers_are_errors_not_ineligibility(make, answers, errors):
    result = checked(make, **answers)
    assert result.errors == errors
    assert result.ineligible == []
    assert not result.ok


def test_without_eligible_values_any_valid_answer_qualifies(make):
    programme = make.programme(
        questions=[
            {"code": "adult", "kind": "yesno"},
            {"code": "ward", "kind": "single", "options": OPTIONS},
            {"code": "interests", "kind": "multi", "options": OPTIONS},
            {"code": "age", "kind": "number"},
        ]
    )
    result = check_eligibility(
        programme, {"adult": "no", "ward": "south", "interests": ["east"], "age": "-3"}
    )
    assert result.ok


def test_raw_answers_reads_q_fields_and_lists_for_multi(make):
    programme = make.programme(questions=QUESTIONS)
    form = MultiDict(
        [
            ("q_adult", "yes"),
            ("q_interests", "north"),
            ("q_interests", "south"),
            ("q_age", "20"),
            ("other", "ignored"),
        ]
    )
    raw = raw_answers(programme, form)
    assert raw == {
        "adult": "yes",
        "ward": "",
        "interests": ["north", "south"],
        "age": "20",
        "note": "",
        "born": "",
    }


# -- refusals --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"status": "draft"}, "not_open"),
        ({"status": "closed"}, "not_open"),
        ({"status": "cancelled"}, "not_open"),
        ({"enrol_opens_at": NOW + timedelta(hours=1)}, "window_closed"),
        ({"enrol_closes_at": NOW}, "window_closed"),
        ({"enrol_opens_at": None}, "window_closed"),
    ],
)
def test_enrolling_outside_an_open_window_is_refused_and_writes_nothing(
    db, make, settings, fields, code
):
    programme = make.programme(sessions=2, **fields)
    assert service.can_enrol(programme, NOW) == code
    with pytest.raises(ProgrammeError) as refused:
        enrol(db, settings, programme, make.user(), raw={})
    assert refused.value.code == code
    assert enrolment_count(db) == 0 and programme.taken == 0 and outbox(db) == []


def test_enrolment_is_open_from_opening_until_just_before_closing(make):
    programme = make.programme(enrol_opens_at=NOW, enrol_closes_at=NOW + timedelta(days=1))
    assert service.can_enrol(programme, NOW) is None
    assert service.can_enrol(programme, NOW + timedelta(days=1, seconds=-1)) is None
    assert service.can_enrol(programme, NOW - timedelta(seconds=1)) == "window_closed"


@pytest.mark.parametrize(
    ("answers", "code"), [({"adult": ""}, "answers"), ({"adult": "no"}, "ineligible")]
)
def test_rejected_answers_write_nothing(db, make, settings, answers, code):
    programme = make.programme(sessions=1, questions=QUESTIONS)
    with pytest.raises(AnswersRejected) as refused:
        enrol(db, settings, programme, make.user(), raw={**GOOD, **answers})
    assert refused.value.code == code
    check = refused.value.check
    assert (
        (check.errors == {"adult": "required"})
        if code == "answers"
        else (check.ineligible == ["adult"])
    )
    db.refresh(programme)
    assert enrolment_count(db) == 0 and programme.taken == 0 and outbox(db) == []


def test_the_ineligible_message_is_the_questions_own_in_each_language(db, make, settings):
    programme = make.programme(questions=QUESTIONS)
    with pytest.raises(AnswersRejected) as refused:
        enrol(db, settings, programme, make.user(), raw={**GOOD, "adult": "no"})
    [code] = refused.value.check.ineligible
    question = next(q for q in programme.questions if q.code == code)
    assert question.t("ineligible_message", "en") == "You must be 18 or older."
    assert question.t("ineligible_message", "es") == "Debe tener 18 años o más."


# -- first come ------------------------------------------------------------------------------


def test_a_free_place_is_taken_and_the_resident_gets_their_code_and_sessions(db, make, settings):
    programme = make.programme(sessions=3, questions=QUESTIONS, capacity=5)
    user = make.user(name="Ana Ruiz")
    result = enrol(db, settings, programme, user, raw={**GOOD, "note": "Wheelchair"})
    assert result.outcome == "enrolled" and result.position is None
    enrolment = result.enrolment
    assert enrolment.state == "enrolled" and enrolment.enrolled_at == NOW
    assert enrolment.queued_at == NOW and enrolment.locale == "en"
    assert enrolment.answers["note"] == "Wheelchair"
    assert CODE_RE.match(enrolment.check_in_code)
    db.refresh(programme)
    assert (programme.taken, programme.waiting) == (1, 0)
    [mail] = outbox(db)
    assert mail.kind == "programme_enrolled" and mail.to_address == user.email
    assert programme.title in mail.subject
    assert enrolment.check_in_code in mail.body_text and enrolment.check_in_code in mail.body_html
    assert "Hello Ana Ruiz," in mail.body_text
    # The first session, a week later, in the city's time (Chicago).
    assert "March 9, 2026, 10:00 AM CDT" in mail.body_text
    assert mail.body_text.count("City Hall, Room 101") == 3
    assert f"http://portal.test/my/programmes/{enrolment.id}" in mail.body_text


def test_codes_differ_between_participants(db, make, settings):
    programme = make.programme()
    codes = {
        enrol(db, settings, programme, make.user(), raw={}).enrolment.check_in_code
        for _ in range(8)
    }
    assert len(codes) == 8 and all(CODE_RE.match(code) for code in codes)


def test_a_check_in_code_already_used_in_the_programme_is_drawn_again(
    db, make, settings, monkeypatch
):
    programme = make.programme()
    make.enrolment(programme, check_in_code="ABCDEF")
    draws = iter(["ABCDEF", "ABCDEF", "XYZ234"])
    monkeypatch.setattr(service, "new_check_in_code", lambda: next(draws))
    result = enrol(db, settings, programme, make.user(), raw={})
    assert result.enrolment.check_in_code == "XYZ234"
    db.refresh(programme)
    assert programme.taken == 2


def test_when_full_the_resident_joins_the_waitlist_with_their_position(db, make, settings):
    programme = make.programme(capacity=1)
    enrol(db, settings, programme, make.user(), raw={})
    second = enrol(db, settings, programme, make.user(), raw={})
    third = enrol(db, settings, programme, make.user(), raw={})
    assert (second.outcome, second.position) == ("waitlisted", 1)
    assert (third.outcome, third.position) == ("waitlisted", 2)
    db.refresh(programme)
    assert (programme.taken, programme.waiting) == (1, 2)
    [mail, _] = outbox(db, "waitlisted")
    assert "number 1 in line" in mail.body_text
    assert mail.to_address == second.enrolment.user.email


def test_a_newcomer_never_jumps_the_waitlist_even_with_a_place_free(db, make, settings):
    programme = make.programme(capacity=2)
    make.enrolment(programme, state="enrolled")
    make.enrolment(programme, state="waitlisted", queued_at=NOW - timedelta(hours=1))
    db.flush()
    result = enrol(db, settings, programme, make.user(), raw={})
    assert (result.outcome, result.position) == ("waitlisted", 2)
    db.refresh(programme)
    assert (programme.taken, programme.waiting) == (1, 2)


@pytest.mark.parametrize("state", ["applied", "enrolled", "waitlisted", "offered"])
def test_a_live_enrolment_refuses_another(db, make, settings, state):
    programme = make.programme()
    user = make.user()
    make.enrolment(programme, user, state=state)
    db.flush()
    with pytest.raises(ProgrammeError) as refused:
        enrol(db, settings, programme, user, raw={})
    assert refused.value.code == "already_enrolled"
    assert outbox(db) == []


def test_enrolling_again_after_cancelling_reuses_the_row_and_the_code(db, make, settings):
    programme = make.programme(questions=[{"code": "note", "kind": "text"}])
    user = make.user()
    first = enrol(db, settings, programme, user, raw={"note": "first"}).enrolment
    code, row_id = first.check_in_code, first.id
    clock.freeze(NOW + timedelta(hours=2))
    service.cancel_enrolment(db, settings=settings, enrolment=first, by=user)
    assert first.state == "cancelled" and first.cancel_reason == "resident"
    db.refresh(programme)
    assert programme.taken == 0

    clock.freeze(NOW + timedelta(hours=3))
    again = enrol(db, settings, programme, user, raw={"note": "second"}, locale="es")
    assert again.outcome == "enrolled"
    enrolment = again.enrolment
    assert (enrolment.id, enrolment.check_in_code) == (row_id, code)
    assert enrolment.answers == {"note": "second"} and enrolment.locale == "es"
    assert enrolment.queued_at == NOW + timedelta(hours=3)
    assert enrolment.cancelled_at is None and enrolment.cancel_reason is None
    assert enrolment_count(db) == 1
    db.refresh(programme)
    assert programme.taken == 1
    # Each enrolment gets its own email (the retry key includes when it happened).
    assert len(outbox(db, "enrolled")) == 2


def test_emails_go_in_the_enrolment_language_with_the_spanish_title(db, make, settings):
    programme = make.programme(translations={"es": {"title": "Academia ciudadana"}})
    enrol(db, settings, programme, make.user(), raw={}, locale="es")
    [mail] = outbox(db)
    assert mail.locale == "es" and "Academia ciudadana" in mail.subject


def test_an_unknown_language_falls_back_to_english(db, make, settings):
    result = enrol(db, settings, make.programme(), make.user(), raw={}, locale="xx")
    assert result.enrolment.locale == "en"


# -- applications ----------------------------------------------------------------------------


def application(make, **kw):
    kw.setdefault("capacity", 1)
    return make.programme(sessions=2, admission="application", **kw)


def test_an_application_takes_no_place_and_is_acknowledged(db, make, settings):
    programme = application(make)
    result = enrol(db, settings, programme, make.user(), raw={})
    assert (result.outcome, result.position) == ("applied", None)
    db.refresh(programme)
    assert (programme.taken, programme.waiting) == (0, 0)
    [mail] = outbox(db)
    assert mail.kind == "programme_applied"
    assert "March 8, 2026" in mail.body_text  # the window closes in six days


def test_applications_are_approved_only_after_the_window_closes(db, make, settings):
    programme = application(make)
    coordinator = make.user(role="coordinator")
    enrolment = enrol(db, settings, programme, make.user(), raw={}).enrolment
    with pytest.raises(ProgrammeError) as refused:
        approve_application(db, settings=settings, enrolment=enrolment, by=coordinator)
    assert refused.value.code == "bad_state" and enrolment.state == "applied"

    after = programme.enrol_closes_at + timedelta(minutes=1)
    programme.status = "closed"
    db.flush()
    outcome = approve_application(
        db, settings=settings, enrolment=enrolment, by=coordinator, now=after
    )
    assert outcome == "enrolled" and enrolment.state == "enrolled"
    assert enrolment.enrolled_at == after and enrolment.decided_by_id == coordinator.id
    db.refresh(programme)
    assert programme.taken == 1
    [mail] = outbox(db, "approved")
    assert enrolment.check_in_code in mail.body_text
    with pytest.raises(ProgrammeError) as again:
        approve_application(db, settings=settings, enrolment=enrolment, by=coordinator, now=after)
    assert again.value.code == "bad_state"


def test_approved_applications_beyond_capacity_wait_in_application_order(db, make, settings):
    programme = application(make, capacity=1)
    coordinator = make.user(role="coordinator")
    applications = []
    for hour in range(3):
        clock.freeze(NOW + timedelta(hours=hour))
        applications.append(enrol(db, settings, programme, make.user(), raw={}).enrolment)
    after = programme.enrol_closes_at + timedelta(hours=1)
    clock.freeze(after)
    # The coordinator approves the latest applicant first.
    outcomes = [
        approve_application(db, settings=settings, enrolment=e, by=coordinator)
        for e in reversed(applications)
    ]
    assert outcomes == ["enrolled", "waitlisted", "waitlisted"]
    first, second, _third = applications
    assert service.waitlist_position(db, first) == 1
    assert service.waitlist_position(db, second) == 2
    db.refresh(programme)
    assert (programme.taken, programme.waiting) == (1, 2)
    waitlisted = outbox(db, "waitlisted")
    assert len(waitlisted) == 2
    assert all("was approved, but all places are taken" in m.body_text for m in waitlisted)


def test_a_rejected_application_is_told_and_may_apply_again(db, make, settings):
    programme = application(make)
    coordinator = make.user(role="coordinator")
    user = make.user()
    enrolment = enrol(db, settings, programme, user, raw={}).enrolment
    reject_application(db, settings=settings, enrolment=enrolment, by=coordinator)
    assert enrolment.state == "rejected" and enrolment.decided_by_id == coordinator.id
    [mail] = outbox(db, "rejected")
    assert mail.to_address == user.email
    with pytest.raises(ProgrammeError):
        reject_application(db, settings=settings, enrolment=enrolment, by=coordinator)
    clock.freeze(NOW + timedelta(minutes=5))
    assert enrol(db, settings, programme, user, raw={}).outcome == "applied"


def test_first_come_enrolments_cannot_be_approved(db, make, settings):
    programme = make.programme()
    enrolment = enrol(db, settings, programme, make.user(), raw={}).enrolment
    with pytest.raises(ProgrammeError) as refused:
        approve_application(
            db,
            settings=settings,
            enrolment=enrolment,
            by=make.user(role="coordinator"),
            now=NOW + timedelta(days=30),
        )
    assert refused.value.code == "bad_state"
