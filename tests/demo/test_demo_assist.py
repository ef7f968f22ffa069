"""The demo city trains its category suggestion when loaded (issue 22), from requests in
residents' own varied words, and the Done-when sentence gets Pothole first."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from portal.assist.models import AssistModel
from portal.core import clock
from tests.demo.test_demo import DEMO_NOW
from tests.requests.test_filing import Journey

DONE_WHEN = "theres a big hole in the road outside 12 elm st my tyre burst"


def test_the_demo_trains_category_suggestion_and_a_big_hole_is_a_pothole(runner, db, client):
    clock.freeze(DEMO_NOW)  # the same demo city every run (the load lets time run again)
    first = runner.invoke(args=["demo", "load"])
    assert first.exit_code == 0, first.output
    trained = re.search(r"Category suggestion trained: v1 on (\d+) request\(s\)", first.output)
    assert trained and int(trained.group(1)) >= 200, first.output
    metrics = db.scalar(select(AssistModel.metrics).where(AssistModel.feature == "categories"))
    assert metrics

    suggested = client.get("/report/category-suggestions", query_string={"description": DONE_WHEN})
    assert suggested.get_json()[0]["code"] == "pothole"
    spanish = client.get(
        "/report/category-suggestions",
        query_string={
            "description": "un hoyo enorme en la calle se me poncho la llanta",
            "lang": "es",
        },
    ).get_json()
    assert spanish[0] == {**spanish[0], "code": "pothole", "name": "Bache"}

    # The describe step without JavaScript: Pothole is the first choice offered.
    journey = Journey(client)
    assert journey.get("/report/describe").status_code == 200
    journey.post("/report/describe", {"description": DONE_WHEN})
    html = journey.get("/report/describe/choose").get_data(as_text=True)
    assert re.findall(r'name="category" value="([^"]+)"', html)[0] == "pothole"

    # Its knowledge articles came with the city's folder, in both languages.
    assert "When is bulk pickup?" in client.get("/help/bulk-pickup?lang=en").get_data(as_text=True)
    answers = client.get(
        "/report/article-suggestions",
        query_string={"description": "when do you pick up my old couch"},
    ).get_json()
    assert answers[0]["slug"] == "bulk-pickup"

    # A second run trains nothing more.
    second = runner.invoke(args=["demo", "load"])
    assert "Category suggestion trained" not in second.output
    assert db.scalar(select(func.count()).select_from(AssistModel)) == 1
