"""Programmes back office: creating and editing programmes, their sessions and eligibility
questions, status and capacity changes, and messages to the people enrolled."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select

from portal.core.audit import AuditEntry
from portal.core.outbox import OutboxMessage
from portal.programmes.admin import programmes as admin
from portal.programmes.models import Attendance, Programme
from tests.conftest import csrf_from, sign_in

BASE = "/staff/programmes"
NOW = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)  # 09:00 in Chicago
#: What a delete sent without its box ticked says (portal/confirm.py).
UNCONFIRMED = "Nothing was deleted. Tick the box to confirm you want to delete it."


@pytest.fixture(autouse=True)
def frozen(freeze_clock):
    freeze_clock(NOW)


@pytest.fixture
def coordinator(make, client):
    user = make.user(role="coordinator", name="Cora Coordinator")
    sign_in(client, user)
    return user


@pytest.fixture
def token(client, coordinator) -> str:
    page = client.get(f"{BASE}/new")
    assert page.status_code == 200
    return csrf_from(page.get_data(as_text=True))


def programme_form(token: str, **kw) -> dict[str, str]:
    data = {
        "csrf_token": token,
        "title": "Citizens Engagement Academy",
        "title_es": "Academia de Participación Ciudadana",
        "summary": "Learn how the city works",
        "summary_es": "Aprenda cómo funciona la ciudad",
        "description": "Eight evenings.",
        "description_es": "Ocho tardes.",
        "kind": "academy",
        "topic": "civic",
        "area": "",
        "admission": "first_come",
        "capacity": "25",
        "opens_day": "2026-03-10",
        "opens_time": "09:00",
        "closes_day": "2026-03-31",
        "closes_time": "17:00",
        "completion_min_sessions": "",
        "offer_hours": "",
        "contact_email": "academy@city.gov",
    }
    data.update(kw)
    return data


def session_form(token: str, **kw) -> dict[str, str]:
    data = {
        "csrf_token": token,
        "session-title": "Welcome",
        "session-title_es": "Bienvenida",
        "session-day": "2026-04-07",
        "session-start": "18:00",
        "session-end": "20:00",
        "session-place": "City Hall",
        "session-online_url": "",
    }
    data.update(kw)
    return data


def question_form(token: str, **kw) -> dict[str, str]:
    data = {
        "csrf_token": token,
        "question-prompt": "Do you live or work in the city?",
        "question-prompt_es": "¿Vive o trabaja en la ciudad?",
        "question-kind": "yesno",
        "question-required": "y",
        "question-eligible_values": "yes",
        "question-ineligible_message": "The academy is for people of the city.",
        "question-ineligible_message_es": "La academia es para gente de la ciudad.",
    }
    data.update(kw)
    return data


def audit_actions(db, entity: str) -> list[str]:
    return list(
        db.scalars(
            select(AuditEntry.action).where(AuditEntry.entity == entity).order_by(AuditEntry.id)
        )
    )


def count_programmes(db) -> int:
    return db.scalar(select(func.count()).select_from(Programme))


# --- create and edit -------------------------------------------------------------------------


def test_create_saves_spanish_and_the_window_in_utc(client, db, token, coordinator):
    response = client.post(f"{BASE}/new", data=programme_form(token, opens_day="2026-03-05"))
    assert response.status_code == 302
    programme = db.scalar(select(Programme).where(Programme.title.like("Citizens%")))
    assert response.headers["Location"].endswith(f"{BASE}/{programme.id}")
    assert programme.status == "draft" and programme.capacity == 25
    assert programme.translations["es"] == {
        "title": "Academia de Participación Ciudadana",
        "summary": "Aprenda cómo funciona la ciudad",
        "description": "Ocho tardes.",
    }
    # 09:00 in Chicago on 5 March (still CST, UTC-6); 17:00 on 31 March (CDT, UTC-5).
    assert programme.enrol_opens_at == datetime(2026, 3, 5, 15, 0, tzinfo=UTC)
    assert programme.enrol_closes_at == datetime(2026, 3, 31, 22, 0, tzinfo=UTC)
    assert programme.created_by_id == coordinator.id
    assert audit_actions(db, "programme") == ["create"]
    page = client.get(f"{BASE}/{programme.id}").get_data(as_text=True)
    assert "Citizens Engagement Academy" in page and "Draft" in page


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"closes_day": "2026-03-09"}, "closes_day", "Enrolment must close after it opens"),
        ({"capacity": "0"}, "capacity", "Enter a whole number from 1 to 10000"),
        ({"capacity": "10001"}, "capacity", "Enter a whole number from 1 to 10000"),
        ({"capacity": "many"}, "capacity", "Enter a whole number from 1 to 10000"),
        ({"capacity": ""}, "capacity", "Enter how many people can take part"),
        ({"title": "  "}, "title", "Enter the programme"),
        ({"opens_day": "2026-02-30"}, "opens_day", "Enter a real date"),
        ({"opens_time": "25:00"}, "opens_time", "Enter a time like 18:30"),
        ({"opens_time": ""}, "opens_time", "Enter the time as well"),
        ({"kind": "party"}, "kind", "Choose a kind from the list"),
        ({"area": "999999"}, "area", "Choose a neighbourhood from the list"),
        ({"admission": "lottery"}, "admission", "Choose how people get a place"),
        ({"offer_hours": "0"}, "offer_hours", "Enter a whole number of hours"),
        ({"contact_email": "not an address"}, "contact_email", "Enter an email address"),
    ],
)
def test_create_refuses_bad_input_next_to_the_field(client, db, token, changes, field, message):
    before = count_programmes(db)
    response = client.post(f"{BASE}/new", data=programme_form(token, **changes))
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert message in html
    assert f'href="#{field}"' in html  # the error summary links to the field
    assert 'class="usa-error-message"' in html
    assert count_programmes(db) == before


def test_edit_saves_details_and_clears_spanish(client, db, make, token):
    area = make.area(name="Riverside")
    programme = make.programme(sessions=3, status="draft")
    data = programme_form(
        token,
        title="Academy 2026",
        title_es="",
        summary_es="",
        description_es="",
        area=str(area.id),
        completion_min_sessions="2",
        offer_hours="24",
    )
    data.pop("capacity")
    response = client.post(f"{BASE}/{programme.id}/edit", data=data)
    assert response.status_code == 302
    db.refresh(programme)
    assert programme.title == "Academy 2026" and programme.area_id == area.id
    assert programme.completion_min_sessions == 2 and programme.offer_hours == 24
    assert "es" not in programme.translations
    assert audit_actions(db, "programme")[-1] == "update"
    form = client.get(f"{BASE}/{programme.id}/edit").get_data(as_text=True)
    assert 'value="Academy 2026"' in form and 'value="2026-03-10"' in form


def test_edit_refuses_a_minimum_above_the_sessions(client, db, make, token):
    programme = make.programme(sessions=3, status="draft")
    data = programme_form(token, completion_min_sessions="4")
    response = client.post(f"{BASE}/{programme.id}/edit", data=data)
    assert response.status_code == 400
    assert "more than the programme" in response.get_data(as_text=True)
    db.refresh(programme)
    assert programme.completion_min_sessions is None


# --- sessions --------------------------------------------------------------------------------


def test_sessions_keep_the_programme_dates_in_step(client, db, make, token):
    programme = make.programme(status="draft")
    assert programme.starts_on is None
    url = f"{BASE}/{programme.id}/sessions"
    assert client.post(url, data=session_form(token)).status_code == 302
    assert (
        client.post(
            url,
            data=session_form(
                token,
                **{
                    "session-day": "2026-05-26",
                    "session-start": "23:00",
                    "session-end": "23:30",
                    "session-mandatory": "y",
                    "session-online_url": "https://meet.example.org/academy",
                },
            ),
        ).status_code
        == 302
    )
    db.refresh(programme)
    first, last = programme.sessions
    assert first.starts_at == datetime(2026, 4, 7, 23, 0, tzinfo=UTC)
    assert first.translations == {"es": {"title": "Bienvenida"}}
    # 23:00 in Chicago is already the next day in UTC: the programme's dates stay local.
    assert last.starts_at == datetime(2026, 5, 27, 4, 0, tzinfo=UTC) and last.mandatory
    assert (programme.starts_on, programme.ends_on) == (date(2026, 4, 7), date(2026, 5, 26))

    response = client.post(
        f"{BASE}/{programme.id}/sessions/{last.id}/edit",
        data=session_form(token, **{"session-day": "2026-06-02"}),
    )
    assert response.status_code == 302
    db.refresh(programme)
    assert programme.ends_on == date(2026, 6, 2)

    # Without the box ticked nothing is deleted: the overview comes back with the message
    # beside that session's box (and in the error summary).
    delete = f"{BASE}/{programme.id}/sessions/{first.id}/delete"
    response = client.post(delete, data={"csrf_token": token})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    box = f"confirm-session-{first.id}"
    assert page.count(UNCONFIRMED) == 2 and f'href="#{box}"' in page
    assert f'id="{box}" name="confirm" value="yes" required aria-invalid="true"' in page
    assert "Yes, delete the session “Welcome” on" in page
    db.refresh(programme)
    assert len(programme.sessions) == 2

    response = client.post(delete, data={"csrf_token": token, "confirm": "yes"})
    assert response.status_code == 302
    db.refresh(programme)
    assert len(programme.sessions) == 1
    assert programme.starts_on == programme.ends_on == date(2026, 6, 2)
    assert audit_actions(db, "programme_session") == ["create", "create", "update", "delete"]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"session-online_url": "http://meet.example.org/x"}, "starting with https://"),
        ({"session-online_url": "javascript:alert(1)"}, "starting with https://"),
        ({"session-end": "17:00"}, "The session must end after it starts"),
        ({"session-start": "7pm"}, "Enter a time like 18:30"),
        ({"session-day": ""}, "Enter the date of the session"),
        ({"session-place": "", "session-online_url": ""}, "Enter a place, an online link, or both"),
    ],
)
def test_a_bad_session_is_refused(client, db, make, token, changes, message):
    programme = make.programme(status="draft")
    response = client.post(f"{BASE}/{programme.id}/sessions", data=session_form(token, **changes))
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    db.refresh(programme)
    assert programme.sessions == [] and programme.starts_on is None


def test_a_session_with_attendance_is_not_deleted(client, db, make, token):
    programme = make.programme(sessions=2)
    meeting = programme.sessions[0]
    enrolment = make.enrolment(programme)
    db.add(Attendance(session_id=meeting.id, enrolment_id=enrolment.id, present=True))
    db.flush()
    response = client.post(
        f"{BASE}/{programme.id}/sessions/{meeting.id}/delete",
        data={"csrf_token": token, "confirm": "yes"},
        follow_redirects=True,
    )
    assert "has attendance recorded" in response.get_data(as_text=True)
    db.refresh(programme)
    assert len(programme.sessions) == 2


def test_sessions_and_questions_of_another_programme_are_not_found(client, make, token):
    mine, other = (
        make.programme(sessions=1),
        make.programme(sessions=1, questions=[{"code": "adult", "kind": "yesno"}]),
    )
    their_session, their_question = other.sessions[0].id, other.questions[0].id
    for url in (
        f"{BASE}/{mine.id}/sessions/{their_session}/edit",
        f"{BASE}/{mine.id}/questions/{their_question}/edit",
        f"{BASE}/{2**40}",
        f"{BASE}/{2**40}/roster",
        f"{BASE}/{mine.id}/sessions/{2**40}/attendance",
    ):
        assert client.get(url).status_code == 404, url
    for url in (
        f"{BASE}/{mine.id}/sessions/{their_session}/delete",
        f"{BASE}/{mine.id}/questions/{their_question}/delete",
    ):
        assert client.post(url, data={"csrf_token": token, "confirm": "yes"}).status_code == 404


# --- questions -------------------------------------------------------------------------------


def test_add_questions_with_eligible_answers(client, db, make, token):
    programme = make.programme(status="draft")
    url = f"{BASE}/{programme.id}/questions"
    assert client.post(url, data=question_form(token)).status_code == 302
    assert (
        client.post(
            url,
            data=question_form(
                token,
                **{
                    "question-prompt": "Do you live or work in the city?",
                    "question-kind": "multi",
                    "question-options": "evening | Evenings | Por la tarde\nweekend|Weekends",
                    "question-eligible_values": "evening, weekend",
                },
            ),
        ).status_code
        == 302
    )
    assert (
        client.post(
            url,
            data=question_form(
                token,
                **{
                    "question-prompt": "How old are you?",
                    "question-kind": "number",
                    "question-eligible_values": "",
                    "question-min_value": "18",
                    "question-max_value": "120",
                },
            ),
        ).status_code
        == 302
    )
    db.refresh(programme)
    yes_no, times, age = programme.questions
    assert yes_no.code == "do_you_live_or_work_in_the_city"
    assert times.code == "do_you_live_or_work_in_the_city_2"  # unique per programme
    assert yes_no.eligible_values == ["yes"] and yes_no.required
    assert yes_no.translations["es"] == {
        "prompt": "¿Vive o trabaja en la ciudad?",
        "ineligible_message": "La academia es para gente de la ciudad.",
    }
    assert times.options == [
        {"key": "evening", "label": "Evenings", "translations": {"es": {"label": "Por la tarde"}}},
        {"key": "weekend", "label": "Weekends"},
    ]
    assert times.eligible_values == ["evening", "weekend"]
    assert (age.min_value, age.max_value) == (18, 120)
    assert audit_actions(db, "programme_question") == ["create"] * 3

    form = client.get(f"{BASE}/{programme.id}/questions/{times.id}/edit").get_data(as_text=True)
    assert "evening | Evenings | Por la tarde" in form


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"question-eligible_values": "maybe"}, "Use the keys of the choices"),
        ({"question-kind": "single", "question-options": "only | One"}, "at least two choices"),
        (
            {"question-kind": "single", "question-options": "a | A\na | Again"},
            "Each choice needs a different key",
        ),
        ({"question-kind": "single", "question-options": "no label"}, "key | English label"),
        ({"question-options": "a | A\nb | B"}, "Only questions with a list of choices"),
        (
            {
                "question-kind": "number",
                "question-eligible_values": "",
                "question-min_value": "65",
                "question-max_value": "18",
            },
            "must not be below the lowest",
        ),
        (
            {
                "question-kind": "number",
                "question-eligible_values": "",
                "question-min_value": "old",
            },
            "Enter a number",
        ),
        ({"question-prompt": ""}, "Enter the question"),
        ({"question-kind": "essay"}, "Choose a kind of answer"),
    ],
)
def test_a_bad_question_is_refused(client, db, make, token, changes, message):
    programme = make.programme(status="draft")
    response = client.post(f"{BASE}/{programme.id}/questions", data=question_form(token, **changes))
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    db.refresh(programme)
    assert programme.questions == []


def test_editing_a_question_keeps_its_code_and_warns_once_people_enrolled(client, db, make, token):
    programme = make.programme(
        questions=[{"code": "adult", "kind": "yesno", "eligible_values": ["yes"]}]
    )
    make.enrolment(programme, answers={"adult": "yes"})
    question = programme.questions[0]
    url = f"{BASE}/{programme.id}/questions/{question.id}/edit"
    assert "already answered this question" in client.get(url).get_data(as_text=True)
    response = client.post(
        url, data=question_form(token, **{"question-prompt": "Are you 21 or over?"})
    )
    assert response.status_code == 302
    db.refresh(question)
    assert question.code == "adult" and question.prompt == "Are you 21 or over?"
    delete = f"{BASE}/{programme.id}/questions/{question.id}/delete"
    response = client.post(delete, data={"csrf_token": token})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    box = f"confirm-question-{question.id}"
    assert page.count(UNCONFIRMED) == 2 and f'href="#{box}"' in page
    assert "Yes, delete the question “Are you 21 or over?”" in page
    db.refresh(programme)
    assert programme.questions == [question]

    response = client.post(delete, data={"csrf_token": token, "confirm": "yes"})
    assert response.status_code == 302
    db.refresh(programme)
    assert programme.questions == []
    assert audit_actions(db, "programme_question") == ["update", "delete"]


# --- status and capacity ---------------------------------------------------------------------


def test_status_moves_and_refusals(client, db, make, token):
    programme = make.programme(status="draft")
    url = f"{BASE}/{programme.id}/status"
    response = client.post(url, data={"csrf_token": token, "status": "completed"})
    assert response.status_code == 400
    assert "cannot move to that status" in response.get_data(as_text=True)
    response = client.post(url, data={"csrf_token": token, "status": "open"})
    assert response.status_code == 400
    assert "Add at least one session" in response.get_data(as_text=True)
    db.refresh(programme)
    assert programme.status == "draft"

    client.post(f"{BASE}/{programme.id}/sessions", data=session_form(token))
    response = client.post(url, data={"csrf_token": token, "status": "open"})
    assert response.status_code == 302
    db.refresh(programme)
    assert programme.status == "open"
    page = client.get(f"{BASE}/{programme.id}").get_data(as_text=True)
    assert "Close enrolment" in page and "Open enrolment" not in page
    assert "status" in audit_actions(db, "programme")


def test_capacity_change_through_the_page(client, db, make, token):
    programme = make.programme(capacity=1)
    make.enrolment(programme)
    waiting = make.enrolment(programme, state="waitlisted")
    url = f"{BASE}/{programme.id}/capacity"
    response = client.post(url, data={"csrf_token": token, "capacity": "0"})
    assert response.status_code == 400
    assert "Enter a whole number from 1 to 10000" in response.get_data(as_text=True)
    response = client.post(url, data={"csrf_token": token, "capacity": "2"})
    assert response.status_code == 302
    db.refresh(programme)
    db.refresh(waiting)
    assert programme.capacity == 2 and waiting.state == "offered"
    assert audit_actions(db, "programme")[-1] == "capacity"


# --- messages --------------------------------------------------------------------------------


def test_message_goes_to_each_enrolled_participant(client, db, make, token):
    programme = make.programme()
    enrolled = [make.enrolment(programme) for _ in range(2)]
    make.enrolment(programme, state="waitlisted")
    url = f"{BASE}/{programme.id}/message"
    response = client.post(url, data={"csrf_token": token, "subject": "", "body": "Hi"})
    assert response.status_code == 400 and "Enter a subject" in response.get_data(as_text=True)
    response = client.post(
        url,
        data={
            "csrf_token": token,
            "subject": "Room change",
            "body": "We meet in room 2 <b>tonight</b>.",
        },
        follow_redirects=True,
    )
    assert "on its way to 2 enrolled participants" in response.get_data(as_text=True)
    recipients = set(db.scalars(select(OutboxMessage.to_address)))
    assert recipients == {e.user.email for e in enrolled}
    assert audit_actions(db, "programme")[-1] == "message"


# --- the list and the way in -----------------------------------------------------------------


def test_list_by_status_newest_first_with_counts(client, make, coordinator):
    early = make.programme(sessions=1, title="Early one")
    late = make.programme(sessions=3, title="Later one")
    late.starts_on = date(2026, 9, 1)
    make.enrolment(late)
    make.enrolment(late, state="waitlisted")
    make.programme(title="Still a draft", status="draft")
    html = client.get(BASE).get_data(as_text=True)
    assert html.index("Later one") < html.index("Early one")
    assert "Still a draft" not in html
    assert "1 of 10" in html and "New programme" in html
    drafts = client.get(f"{BASE}?status=draft").get_data(as_text=True)
    assert "Still a draft" in drafts and early.title not in drafts
    assert client.get(f"{BASE}?status=nonsense&page=x").status_code == 200


def test_list_pages(db, make):
    for number in range(3):
        make.programme(title=f"P{number}")
    first = admin.list_programmes(db, status="open", page=1, per_page=2)
    second = admin.list_programmes(db, status="open", page=2, per_page=2)
    assert first.has_next and not second.has_next
    assert len(first.programmes) == 2 and len(second.programmes) >= 1
    assert not {p.id for p in first.programmes} & {p.id for p in second.programmes}


def test_a_coordinator_sees_programmes_not_casework(client, coordinator):
    html = client.get(BASE).get_data(as_text=True)
    assert f'href="{BASE}"' in html
    assert ">Queues<" not in html and ">New request<" not in html  # for casework staff
    assert client.get("/staff/").status_code == 403


def test_agents_and_residents_are_refused(app, make):
    client = app.test_client()
    sign_in(client, make.user())
    assert client.get(BASE).status_code == 403
    agent_client = app.test_client()
    sign_in(agent_client, make.staff(make.department(), role="agent"))
    assert agent_client.get(BASE).status_code == 403
    anonymous = app.test_client().get(BASE)
    assert anonymous.status_code == 302 and "/account/sign-in" in anonymous.headers["Location"]


def test_the_back_office_link_takes_a_coordinator_to_the_programmes(client, coordinator):
    page = client.get("/").get_data(as_text=True)
    assert 'href="/staff/programmes"' in page
    assert 'href="/staff/"' not in page
