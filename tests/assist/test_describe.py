"""The filing journey's "Describe the problem" start (issue 22): suggested categories from the
resident's own words, with and without JavaScript, and the full list always one step away."""

from __future__ import annotations

from dataclasses import replace
from html import unescape

import pytest
from sqlalchemy import select

from portal.assist import categories
from portal.core import clock
from portal.requests.models import ServiceRequest
from tests.assist.corpus import arrange
from tests.requests.test_filing import Journey

DONE_WHEN = "theres a big hole in the road outside 12 elm st my tyre burst"


@pytest.fixture
def settings(settings):
    return replace(settings, assist_category_min_examples=20)


@pytest.fixture
def trained(app, db, make):
    cats = arrange(make)
    row = categories.retrain(db, settings=app.extensions["portal.settings"], now=clock.now())
    assert row is not None
    return cats


def choices(html: str) -> list[str]:
    """The category buttons of a page, in order."""
    import re

    return re.findall(r'name="category" value="([^"]+)"', html)


def test_without_javascript_the_text_gives_three_choices_and_the_details_are_prefilled(
    client, db, trained
):
    journey = Journey(client)
    page = journey.get("/report/describe")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'role="status"' in html and "See all categories" in html
    assert 'href="/report/"' in html
    response = journey.post("/report/describe", {"description": DONE_WHEN})
    assert response.status_code == 302 and response.headers["Location"] == "/report/describe/choose"
    page = journey.get("/report/describe/choose")
    html = page.get_data(as_text=True)
    offered = choices(html)
    assert offered[0] == "pothole" and 1 <= len(offered) <= 3
    assert "See all categories" in html and DONE_WHEN in unescape(html)
    # One click on the first: the details step, with the words already in the box.
    response = journey.post("/report/", {"category": "pothole"})
    assert response.headers["Location"].endswith("/report/details")
    details = journey.get("/report/details").get_data(as_text=True)
    assert "Pothole" in details and DONE_WHEN in unescape(details)


def test_a_suggested_choice_posts_the_words_with_it(client, db, trained):
    journey = Journey(client)
    journey.get("/report/describe")
    response = journey.post(
        "/report/describe",
        {"description": "se fundio el foco del poste", "category": "streetlight"},
    )
    assert response.headers["Location"].endswith("/report/details")
    details = journey.get("/report/details").get_data(as_text=True)
    assert "se fundio el foco del poste" in details and "Streetlight out" in details


def test_empty_text_or_an_unknown_category_is_told_beside_the_field(client, trained):
    journey = Journey(client)
    journey.get("/report/describe")
    response = journey.post("/report/describe", {"description": "  "})
    assert response.status_code == 400
    assert "Describe the problem so the crew knows" in response.get_data(as_text=True)
    response = journey.post("/report/describe", {"description": "a hole", "category": "nope"})
    assert response.status_code == 400
    assert "Choose the kind of problem from the list." in response.get_data(as_text=True)
    response = journey.post("/report/describe", {"description": "x" * 4001})
    assert response.status_code == 400 and "4000 characters" in response.get_data(as_text=True)


def test_in_spanish(client, trained):
    journey = Journey(client)
    page = journey.get("/report/describe", query_string={"lang": "es"}).get_data(as_text=True)
    assert "Ver todas las categorías" in page
    journey.post("/report/describe", {"description": "se fundio el foco del poste de luz"})
    html = journey.get("/report/describe/choose").get_data(as_text=True)
    assert choices(html)[0] == "streetlight" and "Alumbrado público apagado" in html


def test_nothing_to_suggest_is_the_full_list(client, trained, app):
    journey = Journey(client)
    journey.get("/report/describe")
    journey.post("/report/describe", {"description": "zzzz qqqq"})
    app.extensions["portal.settings"] = replace(
        app.extensions["portal.settings"], assist_category_threshold=0.99
    )
    app.extensions["portal.city"].clear(app.extensions["portal.settings"])
    response = journey.get("/report/describe/choose")
    assert response.headers["Location"] == "/report/"
    # The words are kept: the details step after the list shows them.
    journey.get("/report/")
    journey.post("/report/", {"category": "noise"})
    assert "zzzz qqqq" in journey.get("/report/details").get_data(as_text=True)


def test_without_a_model_the_start_is_the_full_list_as_before(client, make, db):
    make.area(name="Old Town", code="old-town")
    arrange(make, per_category=1)
    response = client.get("/report/describe")
    assert response.status_code == 302 and response.headers["Location"] == "/report/"
    # The home page's "Report a problem" leads there, and filing works start to finish.
    assert 'href="/report/describe"' in client.get("/").get_data(as_text=True)
    journey = Journey(client)
    journey.through_location()
    journey.get("/report/photos")
    journey.post("/report/photos", {"action": "continue"})
    journey.get("/report/contact")
    journey.post("/report/contact", {})
    journey.get("/report/check")
    assert journey.post("/report/check").headers["Location"].endswith("/report/done")
    assert db.scalar(select(ServiceRequest.description).order_by(ServiceRequest.id.desc()).limit(1))


def test_a_link_naming_a_category_skips_the_describe_step(client, trained):
    response = client.get("/report/", query_string={"category": "pothole"})
    assert response.headers["Location"].endswith("/report/details")
