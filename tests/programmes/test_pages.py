"""Residents browse programmes and read a programme's page (through HTTP)."""

from __future__ import annotations

import re
from datetime import date, timedelta
from html import unescape

import pytest

from portal.core import clock
from portal.programmes import queries
from tests.plans import sqlite_plans


def _text(response) -> str:
    """The page's words, tags dropped and spaces collapsed."""
    html = re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))
    return re.sub(r"\s+", " ", unescape(html)).replace(" .", ".").replace(" ,", ",")


def _titles(response) -> list[str]:
    html = response.get_data(as_text=True)
    return re.findall(r'<h3 class="usa-card__heading"><a href="/programmes/\d+">([^<]+)</a>', html)


def _sign_in(client, user) -> None:
    with client.session_transaction() as session:
        session["_user_id"] = user.get_id()


# -- browsing --------------------------------------------------------------------------------


def test_browse_lists_open_programmes_soonest_first_and_hides_the_rest(client, make):
    later = make.programme(title="Later course", sessions=2)
    later.starts_on, later.ends_on = date(2031, 5, 1), date(2031, 6, 1)
    sooner = make.programme(title="Sooner course", sessions=2)
    sooner.starts_on, sooner.ends_on = date(2031, 3, 1), date(2031, 4, 1)
    make.programme(title="Undated course")
    make.programme(title="Secret draft", status="draft")
    make.programme(title="Cancelled course", status="cancelled")
    make.session.flush()

    response = client.get("/programmes")

    assert response.status_code == 200
    assert _titles(response) == ["Sooner course", "Later course", "Undated course"]


def test_each_card_shows_kind_topic_neighbourhood_dates_and_places(client, make):
    area = make.area(name="Riverside")
    make.programme(
        title="Tree planting",
        kind="workshop",
        topic="environment",
        area_id=area.id,
        capacity=5,
        sessions=1,
    )
    full = make.programme(title="Popular academy", capacity=1, sessions=1)
    make.enrolment(full)
    make.session.flush()

    text = _text(client.get("/programmes"))

    assert "Workshop" in text and "Environment" in text and "Riverside" in text
    assert "5 places left" in text
    assert "Whole city" in text
    assert "Full — join the waitlist" in text


def test_a_waitlist_means_full_even_with_a_free_place(client, make):
    programme = make.programme(title="Freed place", capacity=2, sessions=1)
    make.enrolment(programme)
    make.enrolment(programme, state="waitlisted")
    make.session.flush()

    text = _text(client.get(f"/programmes/{programme.id}"))

    assert "Full — join the waitlist" in text
    assert "1 person waiting" in text
    assert "Join the waitlist" in text


def test_filters_by_neighbourhood_topic_kind_and_city_wide(client, make):
    north, south = make.area(name="North"), make.area(name="South")
    make.programme(title="North safety", area_id=north.id, topic="safety", kind="liaison")
    make.programme(title="South safety", area_id=south.id, topic="safety", kind="course")
    make.programme(title="City arts", topic="arts", kind="event")

    assert _titles(client.get(f"/programmes?area={north.code}")) == ["North safety"]
    assert _titles(client.get("/programmes?area=city")) == ["City arts"]
    assert sorted(_titles(client.get("/programmes?topic=safety"))) == [
        "North safety",
        "South safety",
    ]
    assert _titles(client.get("/programmes?topic=safety&kind=course")) == ["South safety"]


def test_filters_by_overlapping_dates(client, make):
    spring = make.programme(title="Spring")
    spring.starts_on, spring.ends_on = date(2031, 3, 1), date(2031, 5, 31)
    summer = make.programme(title="Summer")
    summer.starts_on, summer.ends_on = date(2031, 6, 1), date(2031, 8, 31)
    make.session.flush()

    assert _titles(client.get("/programmes?from=2031-05-15&to=2031-06-02")) == ["Spring", "Summer"]
    assert _titles(client.get("/programmes?from=2031-06-01")) == ["Summer"]
    assert _titles(client.get("/programmes?to=2031-04-01")) == ["Spring"]


def test_search_matches_title_and_summary_case_insensitively(client, make):
    make.programme(title="Neighbourhood Watch basics", summary="Keep your street safe")
    make.programme(title="Composting", summary="Turn kitchen scraps into soil")
    make.programme(title="100% fun", summary="Percent signs")

    assert _titles(client.get("/programmes?q=WATCH")) == ["Neighbourhood Watch basics"]
    assert _titles(client.get("/programmes?q=kitchen")) == ["Composting"]
    assert _titles(client.get("/programmes?q=%25")) == ["100% fun"]


def test_search_in_spanish_matches_the_spanish_title(client, make):
    make.programme(title="Gardening", translations={"es": {"title": "Jardinería urbana"}})

    assert _titles(client.get("/programmes?q=jardiner&lang=es")) == ["Jardinería urbana"]
    assert _titles(client.get("/programmes?q=jardiner&lang=en")) == []


@pytest.mark.parametrize(
    "query, message",
    [
        ("area=nowhere", "That neighbourhood is not on the list"),
        ("topic=astrology", "That topic is not on the list"),
        ("kind=rave", "That kind of programme is not on the list"),
        ("from=31/12/2031", "Enter a real date"),
        ("to=2031-02-30", "Enter a real date"),
        ("from=2020-05-01&to=2020-04-01", "The end date is before the start date"),
        ("q=" + "x" * 101, "Search for 100 characters or fewer"),
    ],
)
def test_bad_filters_are_ignored_with_a_message(client, make, query, message):
    make.programme(title="Still listed", sessions=1)

    response = client.get(f"/programmes?{query}")

    assert response.status_code == 200
    assert message in _text(response)
    assert _titles(response) == ["Still listed"]


def test_pages_forward_and_back_without_gaps(client, make):
    made = []
    for number in range(15):
        programme = make.programme(title=f"Course {number:02d}")
        if number < 13:
            programme.starts_on = date(2031, 1, 1) + timedelta(days=number // 2)
            programme.ends_on = programme.starts_on
        made.append(programme)
    make.session.flush()

    first = client.get("/programmes")
    assert _titles(first) == [f"Course {n:02d}" for n in range(12)]
    later = re.search(r'href="([^"]+)"[^>]*rel="next"', first.get_data(as_text=True)).group(1)
    second = client.get(unescape(later))
    assert _titles(second) == ["Course 12", "Course 13", "Course 14"]
    assert 'rel="next"' not in second.get_data(as_text=True)
    earlier = re.search(r'href="([^"]+)"[^>]*rel="prev"', second.get_data(as_text=True)).group(1)
    assert _titles(client.get(unescape(earlier))) == [f"Course {n:02d}" for n in range(12)]


def test_pagination_keeps_the_filters(client, make):
    for number in range(13):
        make.programme(title=f"Safety {number:02d}", topic="safety")
    make.programme(title="Arts", topic="arts")

    first = client.get("/programmes?topic=safety").get_data(as_text=True)
    later = unescape(re.search(r'href="([^"]+)"[^>]*rel="next"', first).group(1))

    assert "topic=safety" in later
    assert _titles(client.get(later)) == ["Safety 12"]


@pytest.mark.parametrize(
    "cursor",
    ["x", "2031-01-01.0", "2031-13-01.5", "9" * 39, "2031-01-01." + "9" * 25, "9999-12-31.-4"],
)
def test_forged_cursors_give_a_page_not_an_error(client, make, cursor):
    make.programme(title="Only one")
    for name in ("after", "before"):
        assert client.get(f"/programmes?{name}={cursor}").status_code == 200


def test_browse_reads_the_status_index(db, make):
    make.programme(title="Indexed")
    if db.get_bind().dialect.name != "sqlite":
        pytest.skip("SQLite plans")
    area = make.area()

    def run(filters):
        return sqlite_plans(db, lambda: queries.browse_programmes(db, filters=filters))

    plain = run(queries.BrowseFilters())
    assert "ix_programmes_status_starts" in plain[0]
    by_area = run(queries.BrowseFilters(area_id=area.id))
    assert "ix_programmes_area_status_starts" in by_area[0]
    by_topic = run(queries.BrowseFilters(topic="arts", q="x"))
    assert "ix_programmes_topic_status_starts" in by_topic[0]
    assert not any("SCAN programmes" in plan for plan in plain + by_area + by_topic)


# -- the programme page ----------------------------------------------------------------------


def test_programme_page_shows_sessions_rules_and_window(client, make):
    programme = make.programme(
        title="Citizens Academy",
        description="Learn how the city works.",
        sessions=3,
        capacity=12,
        completion_min_sessions=2,
        contact_email="academy@city.example",
        questions=[
            {
                "code": "resident",
                "kind": "yesno",
                "prompt": "Do you live in the city?",
                "eligible_values": ["yes"],
            },
            {"code": "age", "kind": "number", "prompt": "How old are you?", "min_value": 18},
        ],
    )
    programme.sessions[1].mandatory = True
    programme.sessions[2].online_url = "https://meet.example/academy"
    make.session.flush()

    response = client.get(f"/programmes/{programme.id}")
    text, html = _text(response), response.get_data(as_text=True)

    assert response.status_code == 200
    assert "Learn how the city works." in text
    assert "12 places left" in text
    assert text.count("Mandatory") >= 1
    assert "City Hall, Room 101" in text and 'href="https://meet.example/academy"' in html
    assert "Attend at least 2 sessions (of 3), including every session marked “Mandatory”" in text
    assert "Do you live in the city? Open to people who answer “Yes”." in text
    assert "Open to people who answer 18 or more." in text
    assert "First come, first served" in text
    assert "academy@city.example" in text
    assert f'href="/programmes/{programme.id}/enrol"' in html
    assert f'href="/programmes/{programme.id}/calendar.ics"' in html
    start = programme.sessions[0].starts_at.astimezone(
        __import__("zoneinfo").ZoneInfo("America/Chicago")
    )
    assert start.strftime("%b %-d, %Y") in text


def test_application_programmes_explain_and_offer_apply(client, make):
    programme = make.programme(admission="application")

    response = client.get(f"/programmes/{programme.id}")

    assert "the coordinator chooses participants" in _text(response)
    assert ">Apply</a>" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "status, message",
    [
        ("closed", "Enrolment for this programme is closed."),
        ("cancelled", "This programme has been cancelled."),
        ("completed", "This programme has finished."),
    ],
)
def test_pages_of_programmes_not_taking_enrolments_say_why(client, make, status, message):
    programme = make.programme(status=status)

    response = client.get(f"/programmes/{programme.id}")

    assert response.status_code == 200
    assert message in _text(response)
    assert f"/programmes/{programme.id}/enrol" not in response.get_data(as_text=True)


def test_a_window_not_open_yet_says_when_it_opens(client, make):
    opens = clock.now() + timedelta(days=3)
    programme = make.programme(enrol_opens_at=opens)

    text = _text(client.get(f"/programmes/{programme.id}"))

    assert "Enrolment opens on" in text
    assert f"/programmes/{programme.id}/enrol" not in text


def test_drafts_and_unknown_programmes_are_not_found(client, make):
    draft = make.programme(status="draft")

    assert client.get(f"/programmes/{draft.id}").status_code == 404
    assert client.get(f"/programmes/{draft.id}/calendar.ics").status_code == 404
    assert client.get("/programmes/987654321").status_code == 404
    assert client.get("/programmes/" + "9" * 25).status_code == 404


def test_programme_page_shows_the_residents_own_status(client, make):
    programme = make.programme(capacity=1)
    make.enrolment(programme)
    resident = make.user()
    mine = make.enrolment(programme, resident, state="waitlisted")
    _sign_in(client, resident)

    response = client.get(f"/programmes/{programme.id}")
    html = response.get_data(as_text=True)

    assert "Your status: On the waitlist (position 1 on the waitlist)" in _text(response)
    assert f'href="/my/programmes/{mine.id}"' in html
    assert f'href="/programmes/{programme.id}/enrol"' not in html


def test_spanish_page_shows_the_spanish_title_and_words(client, make):
    programme = make.programme(
        title="Tree care",
        sessions=1,
        translations={
            "es": {"title": "Cuidado de árboles", "summary": "Aprenda a cuidar los árboles"}
        },
    )

    response = client.get(f"/programmes/{programme.id}?lang=es")
    text = _text(response)

    assert "Cuidado de árboles" in text
    assert "Aprenda a cuidar los árboles" in text
    assert "Tree care" not in text
    assert '<html lang="es">' in response.get_data(as_text=True)


def test_calendar_file_downloads_and_parses(client, make):
    programme = make.programme(title="Calendar course", sessions=2)

    response = client.get(f"/programmes/{programme.id}/calendar.ics")

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert "attachment" in response.headers["Content-Disposition"]
    assert ".ics" in response.headers["Content-Disposition"]
    body = response.get_data(as_text=True)
    lines = body.replace("\r\n ", "").split("\r\n")
    assert lines[0] == "BEGIN:VCALENDAR"
    assert lines.count("BEGIN:VEVENT") == 2 == lines.count("END:VEVENT")
    assert any(line.startswith("SUMMARY:") and "Calendar course" in line for line in lines)
    assert "END:VCALENDAR" in lines
