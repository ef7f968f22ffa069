"""A resident's calendar file through HTTP, read back with the icalendar library: a confirmed
place keeps CONFIRMED sessions with their reminder; without one (waitlisted, applying, offered)
the sessions are TENTATIVE and TRANSPARENT with no reminder."""

from __future__ import annotations

import pytest
from icalendar import Calendar

from tests.conftest import sign_in


@pytest.fixture
def academy(make):
    return make.programme(title="Citizens Engagement Academy", sessions=3, capacity=1)


def calendar_of(client, programme, lang: str = "en"):
    response = client.get(f"/programmes/{programme.id}/calendar.ics?lang={lang}")
    assert response.status_code == 200
    assert response.mimetype == "text/calendar"
    calendar = Calendar.from_ical(response.data)
    return response, list(calendar.walk("VEVENT"))


def test_a_confirmed_place_keeps_confirmed_sessions_and_reminders(client, make, academy):
    resident = make.user()
    make.enrolment(academy, resident)
    sign_in(client, resident)
    response, events = calendar_of(client, academy)
    assert len(events) == 3
    for event in events:
        assert str(event["STATUS"]) == "CONFIRMED"
        assert "TRANSP" not in event
        [alarm] = event.walk("VALARM")
        assert str(alarm["ACTION"]) == "DISPLAY"
    assert "private" in response.headers["Cache-Control"]


@pytest.mark.parametrize("state", ["waitlisted", "applied", "offered"])
def test_without_a_confirmed_place_the_sessions_are_tentative(client, make, academy, state):
    resident = make.user()
    make.enrolment(academy, resident, state=state)
    sign_in(client, resident)
    _response, events = calendar_of(client, academy)
    assert len(events) == 3
    for event in events:
        assert str(event["STATUS"]) == "TENTATIVE"
        assert str(event["TRANSP"]) == "TRANSPARENT"
        assert event.walk("VALARM") == []
        assert "You do not have a confirmed place yet" in str(event["DESCRIPTION"])
    # The same events (same UIDs) as a confirmed file, so importing again updates them.
    assert len({str(e["UID"]) for e in events}) == 3


def test_the_tentative_note_is_in_spanish(client, make, academy):
    resident = make.user(locale="es")
    make.enrolment(academy, resident, state="waitlisted")
    sign_in(client, resident)
    _response, events = calendar_of(client, academy, lang="es")
    assert "Aún no tiene una plaza confirmada" in str(events[0]["DESCRIPTION"])
    assert b"VALARM" not in events[0].to_ical()


def test_a_cancelled_enrolment_or_a_visitor_gets_the_programmes_calendar(client, make, academy):
    _response, events = calendar_of(client, academy)  # nobody signed in
    assert {str(e["STATUS"]) for e in events} == {"CONFIRMED"}
    assert all(len(e.walk("VALARM")) == 1 for e in events)
    resident = make.user()
    make.enrolment(academy, resident, state="cancelled")
    sign_in(client, resident)
    _response, events = calendar_of(client, academy)
    assert {str(e["STATUS"]) for e in events} == {"CONFIRMED"}
