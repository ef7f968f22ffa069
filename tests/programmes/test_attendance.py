"""Attendance: marked by name on the roster or by check-in code at the door; one row per
participant and session; only enrolled participants of the session's programme."""

from __future__ import annotations

import pytest
from sqlalchemy import event, func, select

from portal.programmes import attendance
from portal.programmes.attendance import CheckInError
from portal.programmes.models import Attendance


@pytest.fixture
def course(make):
    return make.programme(sessions=3, capacity=10)


def rows(db):
    db.expire_all()
    return list(
        db.scalars(select(Attendance).order_by(Attendance.session_id, Attendance.enrolment_id))
    )


def test_mark_by_name_upserts_one_row(db, make, course):
    coordinator = make.user(role="coordinator")
    person = make.enrolment(course, make.user(name="Ana"))
    first = course.sessions[0]

    attendance.mark(db, programme_session=first, enrolment=person, present=True, by=coordinator)
    attendance.mark(db, programme_session=first, enrolment=person, present=False, by=coordinator)

    [row] = rows(db)
    assert (row.session_id, row.enrolment_id) == (first.id, person.id)
    assert row.present is False
    assert row.method == "name"
    assert row.marked_by_id == coordinator.id
    assert attendance.attendance_counts(db, first) == (0, 1)


def test_mark_refuses_people_not_enrolled(db, make, course):
    waiting = make.enrolment(course, state="waitlisted")
    other = make.enrolment(make.programme(sessions=1))
    for person in (waiting, other):
        with pytest.raises(CheckInError) as caught:
            attendance.mark(
                db, programme_session=course.sessions[0], enrolment=person, present=True, by=None
            )
        assert caught.value.code == "not_enrolled"
    assert rows(db) == []


def test_mark_rejects_an_unknown_method(db, make, course):
    person = make.enrolment(course)
    with pytest.raises(ValueError):
        attendance.mark(
            db,
            programme_session=course.sessions[0],
            enrolment=person,
            present=True,
            by=None,
            method="telepathy",
        )


@pytest.mark.parametrize("typed", ["ABC234", "abc234", "  abc-234 ", "ab c2 34", "AbC–234"])
def test_check_in_by_code_ignores_case_spaces_and_dashes(db, make, course, typed):
    door = make.user(role="coordinator")
    person = make.enrolment(course, check_in_code="ABC234")
    make.enrolment(course, check_in_code="XYZ789")

    found = attendance.check_in(db, programme_session=course.sessions[1], code=typed, by=door)

    assert found.id == person.id
    [row] = rows(db)
    assert (row.session_id, row.enrolment_id, row.present, row.method) == (
        course.sessions[1].id,
        person.id,
        True,
        "code",
    )
    assert row.marked_by_id == door.id


@pytest.mark.parametrize("typed", ["", "   ", "NOPE99", "ABC2345678", "-"])
def test_unknown_code(db, make, course, typed):
    make.enrolment(course, check_in_code="ABC234")
    with pytest.raises(CheckInError) as caught:
        attendance.check_in(db, programme_session=course.sessions[0], code=typed, by=None)
    assert caught.value.code == "unknown_code"
    assert rows(db) == []


def test_code_of_another_programme_is_unknown(db, make, course):
    make.enrolment(make.programme(sessions=1), check_in_code="QWE456")
    with pytest.raises(CheckInError) as caught:
        attendance.check_in(db, programme_session=course.sessions[0], code="qwe456", by=None)
    assert caught.value.code == "unknown_code"


@pytest.mark.parametrize("state", ["waitlisted", "offered", "applied", "cancelled"])
def test_code_of_someone_not_enrolled_is_refused(db, make, course, state):
    make.enrolment(course, state=state, check_in_code="WAIT22")
    with pytest.raises(CheckInError) as caught:
        attendance.check_in(db, programme_session=course.sessions[0], code="wait22", by=None)
    assert caught.value.code == "not_enrolled"
    assert rows(db) == []


def test_check_in_after_being_marked_absent_turns_present(db, make, course):
    person = make.enrolment(course, check_in_code="LATE33")
    attendance.mark(
        db, programme_session=course.sessions[0], enrolment=person, present=False, by=None
    )
    attendance.check_in(db, programme_session=course.sessions[0], code="late33", by=None)
    [row] = rows(db)
    assert (row.present, row.method) == (True, "code")


def test_session_sheet_lists_enrolled_people_by_name_with_their_marks(db, make, course):
    zoe = make.enrolment(course, make.user(name="Zoë Adams"))
    ana = make.enrolment(course, make.user(name="Ana Núñez"))
    bob = make.enrolment(course, make.user(name="Bob Lee"))
    make.enrolment(course, make.user(name="Aaron Waiting"), state="waitlisted")
    make.enrolment(course, make.user(name="Abe Gone"), state="cancelled")
    make.enrolment(make.programme(sessions=1), make.user(name="Aaa Elsewhere"))
    first, second = course.sessions[0], course.sessions[1]
    attendance.mark(db, programme_session=first, enrolment=bob, present=True, by=None)
    attendance.mark(db, programme_session=first, enrolment=zoe, present=False, by=None)
    attendance.mark(db, programme_session=second, enrolment=ana, present=True, by=None)
    db.expire_all()
    assert first.programme_id == course.id  # loaded again before counting

    statements = []

    def count(*_args):
        statements.append(1)

    engine = db.get_bind().engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        sheet = attendance.session_sheet(db, first)
        names = [(enrolment.user.name, mark.present if mark else None) for enrolment, mark in sheet]
    finally:
        event.remove(engine, "before_cursor_execute", count)

    assert names == [("Ana Núñez", None), ("Bob Lee", True), ("Zoë Adams", False)]
    assert len(statements) == 1, "one query, users loaded with it"
    assert {e.id for e, _ in sheet} == {ana.id, bob.id, zoe.id}


def test_two_marks_of_the_same_person_keep_one_row(db, make, course):
    person = make.enrolment(course)
    for present in (True, True, False, True):
        attendance.mark(
            db, programme_session=course.sessions[2], enrolment=person, present=present, by=None
        )
    assert db.scalar(select(func.count()).select_from(Attendance)) == 1
    assert rows(db)[0].present is True
