"""Marking attendance through HTTP: each person's Present/Absent is a small form that works
without JavaScript (the page comes back at the person's row) and answers JSON to the script
(no page load); "Mark all present" marks everyone not marked yet in one action."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from portal.programmes.models import Attendance
from tests.conftest import csrf_from, sign_in

BASE = "/staff/programmes"
JSON = {"Accept": "application/json"}


@pytest.fixture
def coordinator(make, client):
    user = make.user(role="coordinator", name="Cora Coordinator")
    sign_in(client, user)
    return user


@pytest.fixture
def course(make):
    programme = make.programme(title="Neighborhood Liaison Program", sessions=2, capacity=30)
    people = [make.enrolment(programme, make.user(name=f"Person {n:02d}")) for n in range(1, 21)]
    make.enrolment(programme, make.user(name="Waiting Wanda"), state="waitlisted")
    return programme, people


def sheet_url(programme) -> str:
    return f"{BASE}/{programme.id}/sessions/{programme.sessions[0].id}/attendance"


def marks(db, programme) -> dict[int, tuple[bool, str, int | None]]:
    db.expire_all()
    return {
        row.enrolment_id: (row.present, row.method, row.marked_by_id)
        for row in db.scalars(
            select(Attendance).where(Attendance.session_id == programme.sessions[0].id)
        )
    }


def token(client, programme) -> str:
    return csrf_from(client.get(sheet_url(programme)).get_data(as_text=True))


def test_the_sheet_has_a_form_per_person_and_mark_all(client, coordinator, course):
    programme, people = course
    page = client.get(sheet_url(programme))
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert text.count("data-attendance-form") == 1 + 2 * 20
    assert f'action="{sheet_url(programme)}/all"' in text
    assert 'role="status"' in text and 'aria-live="polite"' in text
    # its hashed copy once `make assets` has built it (portal/static_files.py)
    assert re.search(r"/static/(dist/)?js/attendance(\.[0-9a-f]{12})?\.js\"", text)
    assert "Waiting Wanda" not in text
    assert "0 of 20 present" in text
    assert "20 not marked yet." in text


def test_without_javascript_a_mark_returns_to_the_persons_row(client, db, coordinator, course):
    programme, people = course
    data = {"csrf_token": token(client, programme), "enrolment": str(people[3].id), "present": "0"}
    response = client.post(sheet_url(programme), data=data)
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"{sheet_url(programme)}#p-{people[3].id}")
    assert marks(db, programme) == {people[3].id: (False, "name", coordinator.id)}
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Person 04: absent." in page
    row = re.search(rf'<li id="p-{people[3].id}".*?</li>', page, re.S).group(0)
    assert 'data-state="absent"' in row


def test_with_javascript_a_mark_answers_json(client, db, coordinator, course):
    programme, people = course
    csrf = token(client, programme)
    for person, present in ((people[0], "1"), (people[1], "1"), (people[0], "0")):
        response = client.post(
            sheet_url(programme),
            data={"csrf_token": csrf, "enrolment": str(person.id), "present": present},
            headers=JSON,
        )
        assert response.status_code == 200
        assert response.is_json
    assert response.json == {
        "message": "Person 01: absent.",
        "count": "1 of 20 present",
        "unmarked": 18,
        "rows": [{"id": people[0].id, "state": "absent", "method": "name"}],
    }
    assert marks(db, programme) == {
        people[0].id: (False, "name", coordinator.id),
        people[1].id: (True, "name", coordinator.id),
    }


def test_json_answers_are_in_the_readers_language(client, coordinator, course):
    programme, people = course
    response = client.post(
        f"{sheet_url(programme)}?lang=es",
        data={
            "csrf_token": token(client, programme),
            "enrolment": str(people[0].id),
            "present": "1",
        },
        headers=JSON,
    )
    assert response.json["message"] == "Person 01: presente."
    assert response.json["count"] == "1 de 20 presentes"


def test_someone_not_enrolled_is_refused_in_json(client, db, make, coordinator, course):
    programme, people = course
    waiting = make.enrolment(programme, make.user(name="Late Larry"), state="waitlisted")
    response = client.post(
        sheet_url(programme),
        data={"csrf_token": token(client, programme), "enrolment": str(waiting.id), "present": "1"},
        headers=JSON,
    )
    assert response.status_code == 409
    assert response.json["message"] == "Late Larry is not enrolled, so cannot be marked."
    assert response.json["rows"] == []
    assert marks(db, programme) == {}


def test_mark_all_present_leaves_absences_and_check_ins(client, db, coordinator, course):
    programme, people = course
    csrf = token(client, programme)
    client.post(
        sheet_url(programme),
        data={"csrf_token": csrf, "enrolment": str(people[5].id), "present": "0"},
    )
    client.post(sheet_url(programme), data={"csrf_token": csrf, "code": people[6].check_in_code})

    response = client.post(f"{sheet_url(programme)}/all", data={"csrf_token": csrf}, headers=JSON)

    assert response.status_code == 200
    assert response.json["message"] == "18 people marked present."
    assert response.json["count"] == "19 of 20 present"
    assert response.json["unmarked"] == 0
    assert len(response.json["rows"]) == 18
    assert {row["state"] for row in response.json["rows"]} == {"present"}
    recorded = marks(db, programme)
    assert len(recorded) == 20
    assert recorded[people[5].id] == (False, "name", coordinator.id)
    assert recorded[people[6].id] == (True, "code", coordinator.id)
    assert recorded[people[0].id] == (True, "name", coordinator.id)

    again = client.post(f"{sheet_url(programme)}/all", data={"csrf_token": csrf}, headers=JSON)
    assert again.json["message"] == "Everyone was already marked."
    assert again.json["rows"] == []


def test_mark_all_without_javascript_returns_to_the_list(client, db, coordinator, course):
    programme, people = course
    response = client.post(
        f"{sheet_url(programme)}/all", data={"csrf_token": token(client, programme)}
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"{sheet_url(programme)}#participants")
    assert len(marks(db, programme)) == 20
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "20 people marked present." in page
    assert "20 of 20 present" in page


def test_mark_all_needs_the_csrf_token(client, db, coordinator, course):
    programme, people = course
    response = client.post(f"{sheet_url(programme)}/all", data={}, headers=JSON)
    assert response.status_code == 400
    assert marks(db, programme) == {}


def test_mark_all_of_another_programmes_session_is_404(client, make, coordinator, course):
    programme, people = course
    other = make.programme(sessions=1)
    csrf = token(client, programme)
    url = f"{BASE}/{programme.id}/sessions/{other.sessions[0].id}/attendance/all"
    assert client.post(url, data={"csrf_token": csrf}).status_code == 404
