"""`GET /report/category-suggestions` (issue 22): the filing form's suggested categories."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import select

from portal.assist import categories
from portal.core import clock
from portal.requests.models import ServiceRequest
from tests.assist.corpus import arrange
from tests.requests.test_filing import Journey

URL = "/report/category-suggestions"
DONE_WHEN = "theres a big hole in the road outside 12 elm st my tyre burst"


@pytest.fixture
def settings(settings):
    return replace(settings, assist_category_min_examples=20)


@pytest.fixture
def trained(app, db, make):
    cats = arrange(make)
    row = categories.retrain(db, settings=app.extensions["portal.settings"], now=clock.now())
    assert row is not None
    return cats, Path(app.extensions["portal.settings"].upload_dir) / "assist" / row.file_name


def test_suggestions_in_english_and_spanish(client, trained):
    response = client.get(URL, query_string={"description": DONE_WHEN})
    assert response.status_code == 200 and response.mimetype == "application/json"
    body = response.get_json()
    assert 1 <= len(body) <= 3
    assert body[0]["code"] == "pothole" and body[0]["name"] == "Pothole"
    assert set(body[0]) == {"code", "name", "confidence"}
    assert all(0 < s["confidence"] <= 1 for s in body)
    spanish = client.get(
        URL, query_string={"description": "se fundio el foco del poste de luz", "lang": "es"}
    ).get_json()
    assert spanish[0]["code"] == "streetlight"
    assert spanish[0]["name"] == "Alumbrado público apagado"


def test_missing_or_oversized_description_is_a_400_with_a_message(client):
    for query in ({}, {"description": "   "}, {"description": "x" * 4001}):
        response = client.get(URL, query_string=query)
        assert response.status_code == 400
        assert response.get_json()["error"]
    spanish = client.get(URL, query_string={"lang": "es"}).get_json()
    assert spanish["error"] == "Describa el problema para ver categorías sugeridas."


def test_no_model_gives_an_empty_list(client, make):
    arrange(make, per_category=1)
    response = client.get(URL, query_string={"description": DONE_WHEN})
    assert response.status_code == 200 and response.get_json() == []


def test_switched_off_gives_an_empty_list(app, client, trained):
    app.extensions["portal.settings"] = replace(
        app.extensions["portal.settings"], assist_categories=False
    )
    app.extensions["portal.city"].clear(app.extensions["portal.settings"])
    assert client.get(URL, query_string={"description": DONE_WHEN}).get_json() == []


def test_corrupt_then_deleted_model_gives_an_empty_list_and_filing_still_works(
    client, db, make, trained
):
    cats, path = trained
    assert client.get(URL, query_string={"description": DONE_WHEN}).get_json()
    path.write_bytes(b"not a model")
    assert client.get(URL, query_string={"description": DONE_WHEN}).get_json() == []
    path.unlink()
    assert client.get(URL, query_string={"description": DONE_WHEN}).get_json() == []
    # Filing still works, start to finish.
    make.area(name="Old Town", code="old-town")
    journey = Journey(client)
    journey.through_location()
    journey.get("/report/photos")
    journey.post("/report/photos", {"action": "continue"})
    journey.get("/report/contact")
    journey.post("/report/contact", {})
    journey.get("/report/check")
    assert journey.post("/report/check").headers["Location"].endswith("/report/done")
    filed = db.scalar(select(ServiceRequest).order_by(ServiceRequest.id.desc()).limit(1))
    assert filed.description == "Deep hole by the bus stop"
    assert filed.category_id == cats["pothole"].id
