"""An independent Open311 client drives the API end to end over HTTP: ``georeport`` (PyPI,
https://pypi.org/project/georeport/) against the live server, in its JSON and XML modes.

georeport 0.3.1 reads services, service definitions, request lists and single requests; it has
no method to POST a request, so the POST is sent with ``requests`` (the HTTP library georeport
itself uses), exactly as the spec describes it (a form body with the key), and read back with
georeport. One misreading by the client is noted where it happens (an empty XML collection).
"""

from __future__ import annotations

from xml.etree import ElementTree as ET  # noqa: N817 - the usual name

import pytest
import requests
from georeport import GeoReport

from portal.open311.keys import new_key
from tests.factories import INSIDE, Factories

QUESTIONS = [
    {"code": "depth", "kind": "number"},
    {
        "code": "lane",
        "kind": "single",
        "options": [{"key": "left", "label": "Left"}, {"key": "right", "label": "Right"}],
    },
    {
        "code": "hazards",
        "kind": "multi",
        "required": True,
        "options": [
            {"key": "glass", "label": "Glass"},
            {"key": "oil", "label": "Oil"},
            {"key": "sand", "label": "Sand"},
        ],
    },
    {"code": "blocking", "kind": "yesno"},
]
JURISDICTION = "riverton.example"


@pytest.fixture
def city(committed_app):
    """A catalogue on the committed database: two services (one with attributes), the city's
    area, a public and a private request; and an API key (plain text)."""
    db = committed_app.extensions["portal.db"]
    settings = committed_app.extensions["portal.settings"]
    with db.transaction() as session:
        make = Factories(session, settings)
        make.area()
        pothole = make.category(
            code="pothole", name="Pothole", questions=QUESTIONS, keywords="road, hole"
        )
        make.category(code="graffiti", name="Graffiti")
        public = make.request(
            category=pothole,
            description="Old pothole on Elm",
            contact_email="old@example.org",
            contact_name="Old Reporter",
        )
        private = make.request(
            category=pothole, private_by_reporter=True, description="Private one"
        )
        admin = make.user(role="admin")
        _key, raw = new_key(
            session, label="georeport test", rate_limit="1000/minute", contact_email="", by=admin
        )
        refs = {"public": public.reference, "private": private.reference}
    return {"api_key": raw, **refs}


def _post(root: str, fmt: str, api_key: str, **fields) -> requests.Response:
    form = [
        ("api_key", api_key),
        ("jurisdiction_id", JURISDICTION),
        ("service_code", "pothole"),
        ("lat", str(INSIDE[0])),
        ("long", str(INSIDE[1])),
        *fields.items(),
    ]
    # Both list encodings: attribute[CODE][] repeated, and a repeated attribute[CODE].
    if fmt == "json":
        form += [("attribute[hazards][]", "glass"), ("attribute[hazards][]", "oil")]
    else:
        form += [("attribute[hazards]", "glass"), ("attribute[hazards]", "sand")]
    form += [("attribute[lane]", "left"), ("attribute[depth]", "12")]
    return requests.post(f"{root}/requests.{fmt}", data=form, timeout=10)


def _as_list(value):
    """xmltodict gives one dict for a single element and a list for several."""
    return value if isinstance(value, list) else [value]


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_georeport_client_lists_defines_posts_and_reads_back(live_server, city, fmt):
    root = f"{live_server}/open311/v2"
    client = GeoReport(root, jurisdiction=JURISDICTION, api_key=city["api_key"], output_format=fmt)

    services = _as_list(client.get_service_list())
    by_code = {s["service_code"]: s for s in services}
    assert set(by_code) == {"pothole", "graffiti"}
    assert by_code["pothole"]["service_name"] == "Pothole"
    assert str(by_code["pothole"]["metadata"]).lower() == "true"
    assert str(by_code["graffiti"]["metadata"]).lower() == "false"
    assert by_code["pothole"]["type"] == "realtime"

    definition = client.get_service_definition("pothole")
    assert definition["service_code"] == "pothole"
    attributes = definition["attributes"]
    if fmt == "xml":
        attributes = _as_list(attributes["attribute"])
    assert [a["code"] for a in attributes] == ["depth", "lane", "hazards", "blocking"]
    assert [a["datatype"] for a in attributes] == [
        "number",
        "singlevaluelist",
        "multivaluelist",
        "singlevaluelist",
    ]
    hazards = attributes[2]
    assert str(hazards["required"]).lower() == "true"
    values = hazards["values"] if fmt == "json" else _as_list(hazards["values"]["value"])
    assert [v["key"] for v in values] == ["glass", "oil", "sand"]

    posted = _post(
        root,
        fmt,
        city["api_key"],
        description="Deep pothole by the school",
        email="ann@example.org",
        first_name="Ann",
        last_name="Resident",
        phone="555-0100",
    )
    assert posted.status_code == 201, posted.text
    if fmt == "json":
        answer = posted.json()
        assert isinstance(answer, list) and len(answer) == 1
        new_id = answer[0]["service_request_id"]
    else:
        assert posted.text.startswith('<?xml version="1.0" encoding="utf-8"?>')
        assert "<service_requests><request>" in posted.text
        new_id = posted.text.split("<service_request_id>")[1].split("<")[0]
    assert new_id.startswith("SR-")

    listed = _as_list(client.get_service_requests())
    ids = [r["service_request_id"] for r in listed]
    assert new_id in ids and city["public"] in ids
    assert city["private"] not in ids

    # service_request_id overrides every other filter (here a status that would exclude it).
    only = _as_list(client.get_service_requests(service_request_id=new_id, status="closed"))
    assert [r["service_request_id"] for r in only] == [new_id]
    if fmt == "json":
        assert client.get_service_requests(service_code="graffiti") == []
    else:
        # georeport misreads the spec's empty collection in XML: ``<service_requests />``
        # parses to None and the client raises TypeError. So the empty answer is read raw.
        empty = requests.get(
            f"{root}/requests.xml", params={"service_code": "graffiti"}, timeout=10
        )
        assert empty.status_code == 200
        assert ET.fromstring(empty.content).tag == "service_requests"
        assert len(ET.fromstring(empty.content)) == 0

    one = client.get_service_request(new_id)
    assert one["service_request_id"] == new_id
    assert one["status"] == "open"
    assert one["service_code"] == "pothole"
    assert one["description"] == "Deep pothole by the school"
    assert float(one["lat"]) == pytest.approx(INSIDE[0])
    assert float(one["long"]) == pytest.approx(INSIDE[1])
    assert one["requested_datetime"].endswith(("Z", "00")) and "T" in one["requested_datetime"]
    # Nothing personal comes back, in any field.
    text = repr(listed) + repr(one)
    for personal in ("ann@example.org", "Resident", "555-0100", "old@example.org", "Old Reporter"):
        assert personal not in text

    with pytest.raises(requests.HTTPError) as missing:
        client.get_service_definition("no-such-service")
    assert missing.value.response.status_code == 404


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_a_wrong_key_or_jurisdiction_is_refused_with_the_error_collection(live_server, city, fmt):
    root = f"{live_server}/open311/v2"
    refused = _post(root, fmt, "not-a-key", description="Should not be filed")
    assert refused.status_code == 403
    if fmt == "json":
        assert refused.json()[0]["code"] == "403"
    else:
        assert "<errors><error><code>403</code>" in refused.text

    stranger = GeoReport(root, jurisdiction="elsewhere.example", output_format=fmt)
    with pytest.raises(requests.HTTPError) as unknown:
        stranger.get_service_list()
    assert unknown.value.response.status_code == 404
