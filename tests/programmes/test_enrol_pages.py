"""Residents enrol in a programme and manage their enrolments (through HTTP)."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

import pytest
from sqlalchemy import func, select

from portal.core import clock
from portal.programmes.models import Attendance, Enrolment
from tests.conftest import csrf_from

ADULT = {
    "code": "adult",
    "kind": "yesno",
    "prompt": "Are you 18 or older?",
    "eligible_values": ["yes"],
}


def _text(response) -> str:
    html = re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))
    return re.sub(r"\s+", " ", unescape(html)).replace(" .", ".").replace(" ,", ",")


def _sign_in(client, user) -> None:
    with client.session_transaction() as session:
        session["_user_id"] = user.get_id()


def _enrolments(db, programme) -> list[Enrolment]:
    db.expire_all()
    return list(
        db.scalars(
            select(Enrolment).where(Enrolment.programme_id == programme.id).order_by(Enrolment.id)
        )
    )


def _enrol(client, programme, **answers):
    page = client.get(f"/programmes/{programme.id}/enrol")
    assert page.status_code == 200
    data = {"csrf_token": csrf_from(page.get_data(as_text=True))}
    data.update({f"q_{code}": value for code, value in answers.items()})
    return client.post(f"/programmes/{programme.id}/enrol", data=data)


def _post(client, enrolment, action: str):
    page = client.get(f"/my/programmes/{enrolment.id}").get_data(as_text=True)
    return client.post(
        f"/my/programmes/{enrolment.id}/{action}", data={"csrf_token": csrf_from(page)}
    )


@pytest.fixture
def resident(client, make):
    user = make.user(name="Rosa Resident")
    _sign_in(client, user)
    return user


# -- enrolling -------------------------------------------------------------------------------


def test_enrolling_needs_an_account(client, make):
    programme = make.programme()

    response = client.get(f"/programmes/{programme.id}/enrol")

    assert response.status_code == 302
    assert "/account/sign-in" in response.headers["Location"]
    assert f"next=/programmes/{programme.id}/enrol" in response.headers["Location"]


def test_enrol_form_asks_the_questions_with_labels(client, make, resident):
    programme = make.programme(
        questions=[
            ADULT,
            {
                "code": "why",
                "kind": "text",
                "prompt": "Why do you want to join?",
                "required": False,
                "help": "A sentence is enough",
            },
        ]
    )

    response = client.get(f"/programmes/{programme.id}/enrol")
    html = response.get_data(as_text=True)

    assert '<legend class="usa-legend">Are you 18 or older?' in html
    assert 'for="q_why">Why do you want to join?' in html
    assert 'id="q_why-hint"' in html and "A sentence is enough" in html
    assert 'name="csrf_token"' in html


def test_first_come_enrolment_takes_a_place(client, make, db, resident):
    programme = make.programme(title="Bike repair", capacity=3, sessions=2, questions=[ADULT])

    response = _enrol(client, programme, adult="yes")

    [enrolment] = _enrolments(db, programme)
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/my/programmes/{enrolment.id}")
    assert (enrolment.state, enrolment.user_id, enrolment.answers) == (
        "enrolled",
        resident.id,
        {"adult": "yes"},
    )
    db.refresh(programme)
    assert programme.taken == 1
    page = client.get(response.headers["Location"])
    assert "You are enrolled in Bike repair." in _text(page)
    html = page.get_data(as_text=True)
    assert 'data-enrolment-state="enrolled"' in html
    assert enrolment.check_in_code in html


def test_a_full_programme_puts_residents_on_the_waitlist_with_their_position(
    client, make, db, resident
):
    programme = make.programme(title="Popular", capacity=1, questions=[ADULT])
    make.enrolment(programme)
    make.enrolment(programme, state="waitlisted", queued_at=clock.now() - timedelta(hours=1))

    page = client.get(f"/programmes/{programme.id}/enrol")
    assert "Join the waitlist for Popular" in _text(page)
    response = _enrol(client, programme, adult="yes")

    mine = _enrolments(db, programme)[-1]
    assert mine.state == "waitlisted" and mine.user_id == resident.id
    page = client.get(response.headers["Location"])
    assert "Popular is full, so you are on the waitlist at position 2." in _text(page)
    assert 'data-waitlist-position="2"' in page.get_data(as_text=True)
    listing = _text(client.get("/my/programmes"))
    assert "Position 2 on the waitlist" in listing


def test_application_programmes_take_applications(client, make, db, resident):
    programme = make.programme(title="Youth council", admission="application")

    response = _enrol(client, programme)

    [enrolment] = _enrolments(db, programme)
    assert enrolment.state == "applied"
    assert "Your application to Youth council has been received." in _text(
        client.get(response.headers["Location"])
    )


def test_missing_answers_are_shown_next_to_the_field_and_nothing_is_written(
    client, make, db, resident
):
    programme = make.programme(
        questions=[ADULT, {"code": "age", "kind": "number", "prompt": "Your age"}]
    )

    response = _enrol(client, programme, age="twelve")

    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert (
        '<span class="usa-error-message" id="q_adult-error">Answer the question: Are you '
        "18 or older?</span>" in html
    )
    assert 'aria-describedby="q_age-error"' in html
    assert "Enter a number for: Your age" in html
    assert 'id="error-summary"' in html and 'href="#q_adult"' in html
    assert 'value="twelve"' in html
    assert _enrolments(db, programme) == []
    db.refresh(programme)
    assert programme.taken == 0


def test_ineligible_answers_are_explained_and_nothing_is_written(client, make, db, resident):
    programme = make.programme(
        questions=[
            ADULT,
            {
                "code": "lives_here",
                "kind": "yesno",
                "prompt": "Do you live in the city?",
                "eligible_values": ["yes"],
                "ineligible_message": "Only for people who live here.",
                "translations": {"es": {"ineligible_message": "Solo para quienes viven aquí."}},
            },
        ]
    )

    response = _enrol(client, programme, adult="no", lives_here="no")

    assert response.status_code == 400
    text = _text(response)
    assert "Only for people who live here." in text
    assert (
        "This programme is only open to people who qualify on “Are you 18 or older?”. "
        "Open to people who answer “Yes”."
    ) in text
    assert _enrolments(db, programme) == []

    english = _enrol(client, programme, adult="yes", lives_here="no")
    assert "Only for people who live here." in _text(english)
    assert "Are you 18 or older?”" not in _text(english)
    page = client.get(f"/programmes/{programme.id}/enrol?lang=es")
    response = client.post(
        f"/programmes/{programme.id}/enrol",
        data={
            "csrf_token": csrf_from(page.get_data(as_text=True)),
            "q_adult": "yes",
            "q_lives_here": "no",
        },
    )
    assert "Solo para quienes viven aquí." in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "change, message",
    [
        ({"status": "closed"}, "Enrolment for this programme is closed."),
        ({"enrol_closes_at": -1}, "Enrolment for this programme is closed."),
        ({"enrol_opens_at": +2}, "Enrolment opens on"),
    ],
)
def test_closed_programmes_and_windows_refuse_enrolment(
    client, make, db, resident, change, message
):
    fields = {
        key: (clock.now() + timedelta(days=value) if isinstance(value, int) else value)
        for key, value in change.items()
    }
    programme = make.programme(**fields)

    page = client.get(f"/programmes/{programme.id}/enrol")
    assert message in _text(page)
    assert '<form method="post" action="/programmes' not in page.get_data(as_text=True)
    response = client.post(
        f"/programmes/{programme.id}/enrol",
        data={"csrf_token": csrf_from(client.get("/my/programmes").get_data(as_text=True))},
    )

    assert response.status_code == 409
    assert message in _text(response)
    assert _enrolments(db, programme) == []


def test_enrolling_twice_goes_to_the_existing_enrolment(client, make, db, resident):
    programme = make.programme()
    mine = make.enrolment(programme, resident)

    response = client.get(f"/programmes/{programme.id}/enrol")

    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/my/programmes/{mine.id}")


def test_a_resident_who_cancelled_can_enrol_again(client, make, db, resident):
    programme = make.programme()
    make.enrolment(programme, resident, state="cancelled", cancel_reason="resident")

    response = _enrol(client, programme)

    assert response.status_code == 302
    assert [e.state for e in _enrolments(db, programme)] == ["enrolled"]


def test_drafts_cannot_be_enrolled_in(client, make, resident):
    programme = make.programme(status="draft")

    assert client.get(f"/programmes/{programme.id}/enrol").status_code == 404


def test_posts_without_a_csrf_token_are_refused(client, make, db, resident):
    programme = make.programme()
    enrolment = make.enrolment(make.programme(), resident)

    assert client.post(f"/programmes/{programme.id}/enrol").status_code == 400
    assert client.post(f"/my/programmes/{enrolment.id}/cancel").status_code == 400
    assert _enrolments(db, programme) == []
    db.refresh(enrolment)
    assert enrolment.state == "enrolled"


# -- my programmes ---------------------------------------------------------------------------


def test_my_programmes_lists_only_my_enrolments_newest_first(client, make, resident):
    older = make.programme(title="Older course", sessions=1)
    make.enrolment(older, resident, created_at=clock.now() - timedelta(days=3))
    offered = make.programme(title="Offered course")
    make.enrolment(
        offered, resident, state="offered", offer_expires_at=clock.now() + timedelta(hours=20)
    )
    make.enrolment(make.programme(title="Someone else's course"))

    text = _text(client.get("/my/programmes"))

    assert text.index("Offered course") < text.index("Older course")
    assert "Someone else's course" not in text
    assert "Place offered" in text and "Accept by" in text
    assert "Enrolled" in text


def test_my_programmes_pages(client, make, resident):
    for number in range(23):
        make.enrolment(
            make.programme(title=f"Course {number:02d}"),
            resident,
            created_at=clock.now() - timedelta(hours=number),
        )

    first = client.get("/my/programmes").get_data(as_text=True)
    assert "Course 00" in first and "Course 19" in first and "Course 20" not in first
    older = unescape(re.search(r'href="([^"]+)"[^>]*rel="next"', first).group(1))
    second = client.get(older).get_data(as_text=True)
    assert "Course 20" in second and "Course 22" in second and "Course 19" not in second


def test_someone_elses_enrolment_is_not_found(client, make, db, resident):
    other = make.enrolment(make.programme(), make.user(), completed=True)
    page = client.get("/my/programmes").get_data(as_text=True)
    token = csrf_from(page)

    assert client.get(f"/my/programmes/{other.id}").status_code == 404
    assert client.get(f"/my/programmes/{other.id}/certificate.pdf").status_code == 404
    for action in ("accept", "decline", "cancel"):
        response = client.post(f"/my/programmes/{other.id}/{action}", data={"csrf_token": token})
        assert response.status_code == 404
    assert client.get("/my/programmes/987654321").status_code == 404
    assert client.get("/my/programmes/" + "9" * 25).status_code == 404
    db.refresh(other)
    assert other.state == "enrolled"


def test_enrolment_page_shows_sessions_attendance_and_calendar(client, make, db, resident):
    programme = make.programme(sessions=2, completion_min_sessions=1)
    enrolment = make.enrolment(programme, resident)
    db.add(Attendance(session_id=programme.sessions[0].id, enrolment_id=enrolment.id, present=True))
    db.flush()

    response = client.get(f"/my/programmes/{enrolment.id}")
    text, html = _text(response), response.get_data(as_text=True)

    assert enrolment.check_in_code in text
    assert "Attendance: present" in text
    assert "Sessions attended: 1 of 1 needed" in text
    assert f'href="/programmes/{programme.id}/calendar.ics"' in html
    assert f'action="/my/programmes/{enrolment.id}/cancel"' in html
    assert "certificate.pdf" not in html


def test_accepting_an_offer_enrols(client, make, db, resident):
    programme = make.programme(title="Offered", capacity=1)
    enrolment = make.enrolment(
        programme,
        resident,
        state="offered",
        offered_at=clock.now(),
        offer_expires_at=clock.now() + timedelta(hours=5),
    )

    page = client.get(f"/my/programmes/{enrolment.id}")
    assert 'data-enrolment-state="offered"' in page.get_data(as_text=True)
    assert "Accept it by" in _text(page)
    response = _post(client, enrolment, "accept")

    assert response.status_code == 302
    db.refresh(enrolment)
    assert enrolment.state == "enrolled"
    assert "You accepted the place" in _text(client.get(response.headers["Location"]))


def test_an_expired_offer_cannot_be_accepted(client, make, db, resident):
    programme = make.programme(capacity=1)
    enrolment = make.enrolment(
        programme,
        resident,
        state="offered",
        offered_at=clock.now() - timedelta(hours=50),
        offer_expires_at=clock.now() - timedelta(hours=2),
    )

    response = _post(client, enrolment, "accept")

    db.refresh(enrolment)
    assert enrolment.state == "offered"
    assert "The time to accept this place has passed" in _text(
        client.get(response.headers["Location"])
    )


def test_declining_an_offer_passes_the_place_on(client, make, db, resident):
    programme = make.programme(capacity=1)
    enrolment = make.enrolment(
        programme,
        resident,
        state="offered",
        offered_at=clock.now(),
        offer_expires_at=clock.now() + timedelta(hours=5),
    )
    nxt = make.enrolment(programme, state="waitlisted")

    response = _post(client, enrolment, "decline")

    assert response.status_code == 302
    db.refresh(enrolment)
    db.refresh(nxt)
    assert (enrolment.state, enrolment.cancel_reason) == ("cancelled", "offer_declined")
    assert nxt.state == "offered"
    assert "You declined the place" in _text(client.get(response.headers["Location"]))


def test_cancelling_my_place_frees_it(client, make, db, resident):
    programme = make.programme(title="Pottery", capacity=1)
    enrolment = make.enrolment(programme, resident)

    response = _post(client, enrolment, "cancel")

    db.refresh(enrolment)
    db.refresh(programme)
    assert (enrolment.state, enrolment.cancel_reason) == ("cancelled", "resident")
    assert programme.taken == 0
    page = client.get(response.headers["Location"])
    assert "You cancelled your place in Pottery." in _text(page)
    assert 'data-enrolment-state="cancelled"' in page.get_data(as_text=True)
    assert "/cancel" not in page.get_data(as_text=True)
    # Cancelling again changes nothing and says so.
    token = csrf_from(page.get_data(as_text=True))
    again = client.post(f"/my/programmes/{enrolment.id}/cancel", data={"csrf_token": token})
    assert "That is not possible" in _text(client.get(again.headers["Location"]))


def test_leaving_the_waitlist(client, make, db, resident):
    programme = make.programme(capacity=1)
    make.enrolment(programme)
    enrolment = make.enrolment(programme, resident, state="waitlisted")

    page = client.get(f"/my/programmes/{enrolment.id}")
    assert "Leave the waitlist" in _text(page)
    _post(client, enrolment, "cancel")

    db.refresh(programme)
    assert programme.waiting == 0


def test_certificate_only_when_completed(client, make, db, resident):
    programme = make.programme(title="Finished course", status="completed", sessions=1)
    done = make.enrolment(programme, resident, completed=True)
    not_done = make.enrolment(make.programme(status="completed"), resident, completed=False)

    page = client.get(f"/my/programmes/{done.id}").get_data(as_text=True)
    assert f'href="/my/programmes/{done.id}/certificate.pdf"' in page
    response = client.get(f"/my/programmes/{done.id}/certificate.pdf")

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/pdf"
    assert response.get_data().startswith(b"%PDF")
    assert client.get(f"/my/programmes/{not_done.id}/certificate.pdf").status_code == 404


def test_nothing_is_written_by_refused_posts(client, make, db, resident):
    programme = make.programme(status="closed")
    count = db.scalar(select(func.count()).select_from(Enrolment))

    client.post(
        f"/programmes/{programme.id}/enrol",
        data={"csrf_token": csrf_from(client.get("/my/programmes").get_data(as_text=True))},
    )

    assert db.scalar(select(func.count()).select_from(Enrolment)) == count
