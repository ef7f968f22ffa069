"""The satisfaction survey of a request through the Open311 API: the reporter's app reads the
survey the portal sent (with the api_key and the reporter's token) and answers it through the
survey's own path: one response per invitation, "No" reopens the case."""

from __future__ import annotations

from xml.etree import ElementTree as ET  # noqa: N817 - the usual name

import pytest
from sqlalchemy import select

from portal.core import clock
from portal.requests import updates
from portal.surveys.models import SurveyInvitation, SurveyResponse
from tests.open311.test_updates import PREFIX, _file, _request, city  # noqa: F401 - a fixture


@pytest.fixture
def surveyed(client, db, make, city, settings):  # noqa: F811 - the fixture above
    """A request the app filed, resolved, and its survey invitation sent."""
    reference, token = _file(client, city)
    sr = _request(db, reference)
    updates.change_status(db, settings=settings, request=sr, target="resolved", actor=city.agent)
    # Resolving made the invitation (the surveys' hook); the worker would send it later.
    invitation = db.scalar(select(SurveyInvitation).where(SurveyInvitation.request_id == sr.id))
    assert invitation is not None and invitation.state == "pending"
    invitation.state, invitation.sent_at = "sent", clock.now()
    db.flush()
    return reference, token, invitation


def _survey(client, city, reference, token, fmt="json", **params):  # noqa: F811
    return client.get(
        f"{PREFIX}/requests/{reference}/survey.{fmt}",
        query_string={"api_key": city.raw, "token": token, **params},
    )


def test_the_app_reads_the_survey_in_the_asked_language(client, city, surveyed):  # noqa: F811
    reference, token, _invitation = surveyed
    survey = _survey(client, city, reference, token)
    assert survey.status_code == 200, survey.get_data(as_text=True)
    document = survey.get_json()
    assert document["state"] == "open" and document["survey_key"] == "request-resolved"
    questions = {q["id"]: q for q in document["questions"]}
    assert list(questions) == ["resolved", "satisfaction", "effort", "comment", "contact"]
    assert questions["resolved"]["required"] is True
    assert [o["key"] for o in questions["resolved"]["options"]] == [
        "yes",
        "partly",
        "no",
        "dont_know",
    ]
    assert questions["satisfaction"]["scale"] == [1, 2, 3, 4, 5]
    assert questions["contact"]["scale"] == ["yes", "no"]
    assert questions["comment"]["max_length"] == 1200
    assert "surveyed" not in survey.get_data(as_text=True)  # the invited address

    spanish = _survey(client, city, reference, token, lang="es").get_json()
    assert spanish["questions"][0]["label"] == "¿Se resolvió su solicitud?"
    xml = _survey(client, city, reference, token, "xml")
    root = ET.fromstring(xml.get_data(as_text=True).split("\n", 1)[1])
    assert root.tag == "survey"
    assert [q.findtext("id") for q in root.find("questions")] == list(questions)
    assert [v.text for v in root.find("questions")[1].find("scale")] == ["1", "2", "3", "4", "5"]


def test_a_wrong_token_or_no_survey_is_refused(client, db, city, surveyed):  # noqa: F811
    reference, token, _invitation = surveyed
    assert _survey(client, city, reference, token[:-2] + "xx").status_code == 403
    no_key = client.get(f"{PREFIX}/requests/{reference}/survey.json", query_string={"token": token})
    assert no_key.status_code == 403
    other, other_token = _file(client, city)
    none_sent = _survey(client, city, other, other_token)
    assert none_sent.status_code == 404
    assert "No survey was sent" in none_sent.get_json()[0]["description"]


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_answering_no_reopens_the_request_once(client, db, city, surveyed, fmt):  # noqa: F811
    reference, token, invitation = surveyed
    path = f"{PREFIX}/requests/{reference}/survey.{fmt}"
    base = {"api_key": city.raw, "token": token}
    bad = client.post(path, data={**base, "satisfaction": "9"})
    assert bad.status_code == 400
    assert db.scalars(select(SurveyResponse)).all() == []

    answered = client.post(
        path, data={**base, "resolved": "no", "satisfaction": "2", "comment": "Still a hole"}
    )
    assert answered.status_code == 201, answered.get_data(as_text=True)
    if fmt == "json":
        assert answered.get_json() == [{"service_request_id": reference, "reopened": True}]
    else:
        root = ET.fromstring(answered.get_data(as_text=True).split("\n", 1)[1])
        assert root.tag == "survey_responses" and root[0].tag == "survey_response"
        assert root[0].findtext("reopened") == "true"
    sr = _request(db, reference)
    assert sr.status == "in_progress"
    [response] = db.scalars(select(SurveyResponse)).all()
    assert (response.resolved, response.csat, response.comment) == ("no", 2, "Still a hole")
    assert response.invitation_id == invitation.id

    again = client.post(path, data={**base, "resolved": "yes"})
    assert again.status_code == 409
    assert len(db.scalars(select(SurveyResponse)).all()) == 1
