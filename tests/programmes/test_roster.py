"""Programmes back office: the roster (tabs, waitlist positions, decisions), its CSV export,
and the attendance page (by name and by check-in code)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from portal.core.audit import AuditEntry
from portal.programmes import roster
from portal.programmes.models import Attendance
from tests.conftest import csrf_from, sign_in
from tests.plans import sqlite_plans

BASE = "/staff/programmes"
NOW = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def frozen(freeze_clock):
    freeze_clock(NOW)


@pytest.fixture
def token(make, client) -> str:
    user = make.user(role="coordinator")
    sign_in(client, user)
    page = client.get(BASE)
    assert page.status_code == 200
    return csrf_from(page.get_data(as_text=True))


def queued(minutes: int) -> datetime:
    return NOW - timedelta(minutes=minutes)


def person(make, name: str):
    return make.user(name=name)


# --- the roster ------------------------------------------------------------------------------


def test_tabs_positions_and_deadlines(client, make, token):
    programme = make.programme(
        capacity=1,
        sessions=2,
        questions=[{"code": "adult", "kind": "yesno", "eligible_values": ["yes"]}],
    )
    make.enrolment(programme, person(make, "Ana Enrolled"), answers={"adult": "yes"})
    # Waitlisted in the order they queued, whatever order the rows were written in.
    make.enrolment(programme, person(make, "Wes Second"), state="waitlisted", queued_at=queued(5))
    make.enrolment(programme, person(make, "Wendy First"), state="waitlisted", queued_at=queued(30))
    make.enrolment(
        programme,
        person(make, "Otto Offered"),
        state="offered",
        offer_expires_at=NOW + timedelta(hours=48),
    )
    make.enrolment(programme, person(make, "Cass Cancelled"), state="cancelled", cancelled_at=NOW)

    enrolled = client.get(f"{BASE}/{programme.id}/roster").get_data(as_text=True)
    assert "Ana Enrolled" in enrolled and "Wes Second" not in enrolled
    assert "Enrolled (1)" in enrolled and "Waitlisted (2)" in enrolled
    assert "0 of 2 sessions needed" in enrolled and "Adult" in enrolled

    waitlist = client.get(f"{BASE}/{programme.id}/roster?state=waitlisted")
    rows = waitlist.get_data(as_text=True)
    assert rows.index("Wendy First") < rows.index("Wes Second")
    offered = client.get(f"{BASE}/{programme.id}/roster?state=offered").get_data(as_text=True)
    assert "Otto Offered" in offered and "Must accept by" in offered
    cancelled = client.get(f"{BASE}/{programme.id}/roster?state=cancelled")
    assert "Cass Cancelled" in cancelled.get_data(as_text=True)
    assert client.get(f"{BASE}/{programme.id}/roster?state=bogus&page=-1").status_code == 200


def test_roster_page_positions_follow_the_queue_across_pages(db, make):
    programme = make.programme(capacity=0)
    people = [
        make.enrolment(programme, state="waitlisted", queued_at=queued(60 - n)) for n in range(5)
    ]
    first = roster.roster_page(db, programme, state="waitlisted", per_page=2)
    second = roster.roster_page(db, programme, state="waitlisted", page=2, per_page=2)
    assert [(r.enrolment.id, r.position) for r in first.rows + second.rows] == [
        (e.id, n) for n, e in enumerate(people[:4], start=1)
    ]
    assert first.has_next and second.has_next and first.counts["waitlisted"] == 5
    with pytest.raises(ValueError):
        roster.roster_page(db, programme, state="everyone")


def test_roster_reads_the_programme_state_index(db, make):
    programme = make.programme()
    make.enrolment(programme)
    plans = sqlite_plans(db, lambda: roster.roster_page(db, programme, state="waitlisted"))
    assert "ix_enrolments_programme_state_queued" in plans[0]


def test_approve_and_reject_applications(client, db, make, token):
    programme = make.programme(
        admission="application",
        capacity=1,
        status="closed",
        enrol_closes_at=NOW - timedelta(hours=1),
    )
    first = make.enrolment(
        programme, person(make, "Ann Applicant"), state="applied", queued_at=queued(30)
    )
    second = make.enrolment(
        programme, person(make, "Ben Applicant"), state="applied", queued_at=queued(20)
    )
    third = make.enrolment(
        programme, person(make, "Cy Applicant"), state="applied", queued_at=queued(10)
    )
    base = f"{BASE}/{programme.id}/enrolments"
    response = client.post(
        f"{base}/{first.id}/approve", data={"csrf_token": token}, follow_redirects=True
    )
    assert "Ann Applicant is enrolled." in response.get_data(as_text=True)
    response = client.post(
        f"{base}/{second.id}/approve", data={"csrf_token": token}, follow_redirects=True
    )
    assert "No place is free: Ben Applicant is on the waitlist." in response.get_data(as_text=True)
    response = client.post(
        f"{base}/{third.id}/reject", data={"csrf_token": token}, follow_redirects=True
    )
    assert "Cy Applicant&#39;s application is rejected." in response.get_data(as_text=True)
    for row in (first, second, third):
        db.refresh(row)
    assert (first.state, second.state, third.state) == ("enrolled", "waitlisted", "rejected")
    # Deciding again is refused with a message, not an error page.
    response = client.post(
        f"{base}/{third.id}/approve", data={"csrf_token": token}, follow_redirects=True
    )
    assert response.status_code == 200
    assert "no longer possible" in response.get_data(as_text=True)


def test_applications_wait_for_the_window_to_close(client, db, make, token):
    programme = make.programme(admission="application")
    applied = make.enrolment(programme, state="applied")
    response = client.post(
        f"{BASE}/{programme.id}/enrolments/{applied.id}/approve",
        data={"csrf_token": token},
        follow_redirects=True,
    )
    assert "once enrolment has closed" in response.get_data(as_text=True)
    db.refresh(applied)
    assert applied.state == "applied"


def test_cancel_frees_the_place_for_the_waitlist(client, db, make, token):
    programme = make.programme(capacity=1)
    enrolled = make.enrolment(programme)
    waiting = make.enrolment(programme, state="waitlisted")
    response = client.post(
        f"{BASE}/{programme.id}/enrolments/{enrolled.id}/cancel", data={"csrf_token": token}
    )
    assert response.status_code == 302
    db.refresh(enrolled)
    db.refresh(waiting)
    assert (enrolled.state, enrolled.cancel_reason) == ("cancelled", "coordinator")
    assert waiting.state == "offered"


def test_enrolments_of_another_programme_are_not_found(client, db, make, token):
    mine, other = make.programme(), make.programme()
    theirs = make.enrolment(other, state="applied")
    for action in ("approve", "reject", "cancel"):
        response = client.post(
            f"{BASE}/{mine.id}/enrolments/{theirs.id}/{action}", data={"csrf_token": token}
        )
        assert response.status_code == 404
        assert (
            client.post(
                f"{BASE}/{mine.id}/enrolments/{2**62}/{action}", data={"csrf_token": token}
            ).status_code
            == 404
        )
    db.refresh(theirs)
    assert theirs.state == "applied"


# --- the export ------------------------------------------------------------------------------


def test_csv_export_is_complete_safe_and_audited(client, db, make, token):
    programme = make.programme(
        sessions=2,
        capacity=1,
        questions=[
            {"code": "adult", "kind": "yesno", "prompt": "Are you 18 or over?"},
            {
                "code": "times",
                "kind": "multi",
                "prompt": "When can you come?",
                "options": [
                    {"key": "evening", "label": "Evenings"},
                    {"key": "weekend", "label": "Weekends"},
                ],
            },
        ],
    )
    sneaky = make.user(name='=HYPERLINK("http://evil.example","click")', phone="+1 555 0100")
    enrolled = make.enrolment(
        programme,
        sneaky,
        check_in_code="ABC234",
        answers={"adult": "yes", "times": ["evening", "weekend"]},
    )
    make.enrolment(
        programme, person(make, "Wendy Waiting"), state="waitlisted", answers={"adult": "yes"}
    )
    db.add(Attendance(session_id=programme.sessions[0].id, enrolment_id=enrolled.id, present=True))
    db.flush()

    response = client.get(f"{BASE}/{programme.id}/roster.csv")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0] == [
        "Name",
        "Email",
        "Phone",
        "State",
        "Waitlist position",
        "Check-in code",
        "Enrolled at",
        "Are you 18 or over?",
        "When can you come?",
        "Sessions attended",
        "Completed",
    ]
    assert len(rows) == 3
    first = rows[1]
    assert first[0] == '\'=HYPERLINK("http://evil.example","click")'  # not a formula
    assert first[2] == "'+1 555 0100"
    assert first[3:6] == ["Enrolled", "", "ABC234"]
    assert first[6] == "2026-03-02 09:00"  # city time
    assert first[7:] == ["yes", "Evenings; Weekends", "1", "no"]
    assert rows[2][0] == "Wendy Waiting" and rows[2][3:5] == ["Waitlisted", "1"]
    assert rows[2][-1] == ""

    entry = db.scalar(select(AuditEntry).where(AuditEntry.action == "roster_export"))
    assert (entry.entity, entry.entity_id, entry.after) == (
        "programme",
        str(programme.id),
        {"rows": 2},
    )


def test_export_reads_in_batches(db, make, monkeypatch):
    monkeypatch.setattr(roster, "EXPORT_BATCH", 2)
    programme = make.programme(capacity=20)
    people = [make.enrolment(programme, queued_at=queued(50 - n)) for n in range(5)]
    labels = roster.ExportLabels(
        header=[str(n) for n in range(9)], states={"enrolled": "Enrolled"}, yes="y", no="n"
    )
    rows = list(
        roster.export_rows(db, programme, labels=labels, locale="en", timezone="America/Chicago")
    )
    assert [row[5] for row in rows[1:]] == [e.check_in_code for e in people]


# --- attendance ------------------------------------------------------------------------------


def test_attendance_by_name_and_by_code(client, db, make, token):
    programme = make.programme(sessions=2)
    meeting = programme.sessions[0]
    ana = make.enrolment(programme, person(make, "Ana Lopez"), check_in_code="K7M2PQ")
    ben = make.enrolment(programme, person(make, "Ben Okafor"))
    make.enrolment(
        programme, person(make, "Wes Waiting"), state="waitlisted", check_in_code="WAIT22"
    )
    url = f"{BASE}/{programme.id}/sessions/{meeting.id}/attendance"

    page = client.get(url).get_data(as_text=True)
    assert page.index("Ana Lopez") < page.index("Ben Okafor")
    assert "Wes Waiting" not in page and "0 of 2 present" in page

    response = client.post(
        url, data={"csrf_token": token, "code": " k7m-2pq "}, follow_redirects=True
    )
    assert "Checked in: Ana Lopez." in response.get_data(as_text=True)
    assert "1 of 2 present" in response.get_data(as_text=True)

    response = client.post(url, data={"csrf_token": token, "code": "NOPE99"})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "No one enrolled in this programme has that code" in html
    assert 'aria-invalid="true"' in html

    response = client.post(url, data={"csrf_token": token, "code": "WAIT22"})
    assert response.status_code == 400
    assert "not enrolled" in response.get_data(as_text=True)

    response = client.post(
        url, data={"csrf_token": token, "enrolment": str(ben.id), "present": "0"}
    )
    assert response.status_code == 302 and response.headers["Location"].endswith(f"#p-{ben.id}")
    marks = {
        a.enrolment_id: (a.present, a.method)
        for a in db.scalars(select(Attendance).where(Attendance.session_id == meeting.id))
    }
    assert marks == {ana.id: (True, "code"), ben.id: (False, "name")}


def test_attendance_refuses_forged_rows(client, make, token):
    programme, other = make.programme(sessions=1), make.programme(sessions=1)
    stranger = make.enrolment(other)
    url = f"{BASE}/{programme.id}/sessions/{programme.sessions[0].id}/attendance"
    for enrolment, present, status in (
        (stranger.id, "1", 404),
        ("abc", "1", 404),
        (str(2**70), "1", 404),
    ):
        response = client.post(
            url, data={"csrf_token": token, "enrolment": enrolment, "present": present}
        )
        assert response.status_code == status
    mine = make.enrolment(programme)
    assert (
        client.post(
            url, data={"csrf_token": token, "enrolment": str(mine.id), "present": "maybe"}
        ).status_code
        == 400
    )
    other_session = f"{BASE}/{programme.id}/sessions/{other.sessions[0].id}/attendance"
    assert client.get(other_session).status_code == 404
