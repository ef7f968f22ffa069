"""The Open311 API keeps the promises of its OpenAPI document (portal/open311/openapi.py).

The document is valid OpenAPI 3, describes every resource in both formats, and schemathesis,
loading it from ``/open311/v2/openapi.json`` of the app itself, fuzzes every operation (valid
and invalid input) against a seeded catalogue: no answer is a 5xx, every status code, content
type and JSON body is the documented one, and every XML body is a well-formed document with
the spec's element names. POSTs carry a valid API key and a real service code, so some of them
file requests.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from xml.etree import ElementTree as ET  # noqa: N817 - the usual name

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openapi_spec_validator import validate
from schemathesis.checks import not_a_server_error
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from portal.core import clock
from portal.open311.keys import new_key
from portal.open311.views.api_openapi import OPENAPI, PREFIX
from portal.surveys.definitions import definition_for
from portal.surveys.versions import record_version
from tests.factories import INSIDE

QUESTIONS = [
    {"code": "depth", "kind": "number", "help": "In centimetres"},
    {"code": "noticed", "kind": "date"},
    {
        "code": "lane",
        "kind": "single",
        "options": [{"key": "left", "label": "Left"}, {"key": "right", "label": "Right"}],
    },
    {
        "code": "hazards",
        "kind": "multi",
        "options": [{"key": "glass", "label": "Glass"}, {"key": "oil", "label": "Oil"}],
    },
    {"code": "blocking", "kind": "yesno"},
    {"code": "plate", "kind": "text", "max_length": 20},
    {"code": "details", "kind": "text"},
]
#: Examples per operation and mode: 14 operations x 2 modes x 15 stay well under a minute.
EXAMPLES = 15
JURISDICTION = "riverton.example"
#: Every POST in the fuzzing files against this service (all its attributes are optional).
POST_SERVICE = "pothole"

ROOTS = {
    "discovery": ("discovery", None),
    "services": ("services", "service"),
    "services/": ("service_definition", None),
    "requests": ("service_requests", "request"),
    "requests/": ("service_requests", "request"),
    "tokens/": ("service_requests", "request"),
    # FixMyStreet's servicerequestupdates: its list, and the one-entry answer to a reply.
    "updates": ("service_requests_updates", "request_update"),
    "updates POST": ("service_request_updates", "request_update"),
    # A request's satisfaction survey, and the answer to it.
    "survey": ("survey", None),
    "survey POST": ("survey_responses", "survey_response"),
}


@dataclass
class Seeded:
    api_key: str
    #: Ids that exist, for the path parameters of valid cases.
    ids: dict[str, str]


def seed(make, db) -> Seeded:
    """A catalogue (every question kind, a required one, a private and an inactive service),
    the city's area, public and private requests of the last weeks, and an API key (in plain
    text)."""
    make.area()
    streets = make.department(name="Streets")
    pothole = make.category(
        code=POST_SERVICE,
        name="Pothole",
        department=streets,
        keywords="road, hole",
        questions=QUESTIONS,
    )
    graffiti = make.category(
        code="graffiti",
        name="Graffiti",
        questions=[{"code": "offensive", "kind": "yesno", "required": True}],
    )
    private = make.category(code="welfare", name="Welfare check", private=True)
    make.category(code="retired", name="Retired service", active=False)
    now = clock.now()
    for days, category, status in (
        (1, pothole, "new"),
        (5, pothole, "in_progress"),
        (20, graffiti, "closed"),
        (200, graffiti, "resolved"),
    ):
        make.request(
            category=category,
            status=status,
            created_at=now - timedelta(days=days),
            updated_at=now - timedelta(days=days),
            address="12 Elm St, Riverton 62704",
            contact_name="Ann Resident",
            contact_email="ann@example.org",
            contact_phone="555-0100",
        )
    filed = make.request(category=pothole, api_token="seeded-token-1", channel="api")
    # A resolved request whose satisfaction survey was sent (the version as the file has it).
    surveyed = make.request(
        category=pothole,
        status="resolved",
        resolved_at=now - timedelta(days=1),
        private_by_reporter=True,
        api_token="seeded-token-2",
    )
    record_version(db, definition_for("request_resolved"))
    make.survey_invitation(surveyed)
    make.request(category=private, contact_email="private@example.org")
    make.request(category=pothole, private_by_reporter=True)
    admin = make.user(role="admin")
    _key, raw = new_key(
        db, label="Schema test", rate_limit="10000/minute", contact_email="", by=admin
    )
    db.flush()
    return Seeded(
        raw,
        {
            "service_code": POST_SERVICE,
            "service_request_id": filed.reference,
            "token": "seeded-token-1",
            "survey_request_id": surveyed.reference,
            "survey_token": "seeded-token-2",
        },
    )


@pytest.fixture
def seeded(make, db) -> Seeded:
    return seed(make, db)


SCHEMA = schemathesis.openapi.from_dict(OPENAPI)
OPERATIONS = [(path, method.upper()) for path, item in OPENAPI["paths"].items() for method in item]


@schemathesis.check
def xml_conformance(ctx, response, case) -> bool | None:
    """An ``.xml`` answer is an XML document with its declaration and the spec's root and item
    element names (``errors/error`` for any error)."""
    path = case.operation.path
    if not path.endswith(".xml"):
        return None
    text = response.content.decode("utf-8")
    assert text.startswith('<?xml version="1.0" encoding="utf-8"?>'), text[:80]
    root = ET.fromstring(text)
    if response.status_code >= 400:
        expected_root, item = "errors", "error"
    else:
        resource = path[len(PREFIX) + 1 :].rsplit(".", 1)[0]
        key = resource.split("/", 1)[0] + ("/" if "/" in resource else "")
        if resource.endswith(("updates", "survey")):
            key = resource.rsplit("/", 1)[-1].replace("servicerequest", "")
            key += " POST" if case.method == "POST" else ""
        expected_root, item = ROOTS[key]
    assert root.tag == expected_root, (root.tag, expected_root)
    if item is not None:
        assert all(child.tag == item for child in root), [c.tag for c in root]
    if root.tag == "errors":
        assert len(root) >= 1
        for error in root:
            assert [c.tag for c in error] == ["code", "description"]
            assert error.findtext("code") == str(response.status_code)
    return True


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    xml_conformance,
]


@pytest.mark.parametrize(
    "mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=["valid", "invalid"]
)
@pytest.mark.parametrize(
    ("path", "method"), OPERATIONS, ids=[f"{m} {p[len(PREFIX) :]}" for p, m in OPERATIONS]
)
def test_every_operation_keeps_the_openapi_document(app, seeded, path, method, mode):
    """Valid (positive) and invalid (negative) input drawn from the document, reproducibly.
    Valid cases use a real service code, request id or token half the time, so the
    successful answers are checked too, not only the 404s."""
    operation = SCHEMA[path][method]
    statuses: list[int] = []

    @given(case=operation.as_strategy(generation_mode=mode), real=st.booleans())
    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def fuzz(case, real: bool) -> None:
        _realistic(case, seeded, real=real and mode is GenerationMode.POSITIVE)
        # The WSGI transport does not decompress: ask for the plain body (it sends
        # requests' default Accept-Encoding otherwise, and the API compresses).
        response = case.call_and_validate(
            app=app, checks=CHECKS, headers={"Accept-Encoding": "identity"}
        )
        statuses.append(response.status_code)

    fuzz()
    if mode is GenerationMode.POSITIVE:
        assert any(200 <= status < 300 for status in statuses), statuses


def _realistic(case, seeded: Seeded, *, real: bool) -> None:
    """Half the valid cases use real ids, the city's jurisdiction and a real key; POSTs
    always carry a valid key (from the query string: a generated body may carry another) and
    what lets a valid case succeed: a real service, the seeded request's token for a reply,
    the surveyed request's token for its survey."""
    path = case.operation.path
    if real:
        for name in case.path_parameters or {}:
            case.path_parameters[name] = seeded.ids[name]
        if case.query and "jurisdiction_id" in case.query:
            case.query["jurisdiction_id"] = JURISDICTION
        if case.query and "api_key" in case.query:
            case.query["api_key"] = seeded.api_key
        if "/survey." in path:
            case.path_parameters["service_request_id"] = seeded.ids["survey_request_id"]
            if case.method == "GET":
                case.query = {**(case.query or {}), "token": seeded.ids["survey_token"]}
    if case.method == "POST":
        _realistic_post(case, seeded, real=real)


def _realistic_post(case, seeded: Seeded, *, real: bool) -> None:
    path = case.operation.path
    case.query = {**(case.query or {}), "api_key": seeded.api_key}
    if not isinstance(case.body, dict):
        return
    if "/survey." in path:
        if real:
            case.body.update(token=seeded.ids["survey_token"], resolved="yes")
    elif path.endswith(("updates.xml", "updates.json")):
        if real:
            case.body.update(
                service_request_id=seeded.ids["service_request_id"],
                token=seeded.ids["token"],
                description="A reply",
                status="open",
            )
            case.body.pop("media_url", None)
    else:
        case.body["service_code"] = POST_SERVICE
        if real:
            case.body.update(lat=INSIDE[0], long=INSIDE[1], description="A hole")


def test_the_document_is_valid_openapi_3_and_covers_every_resource_in_both_formats(client):
    response = client.get(f"{PREFIX}/openapi.json")
    assert response.status_code == 200
    assert response.content_type == "application/json; charset=utf-8"
    document = response.get_json()
    assert document == OPENAPI
    validate(document)
    assert document["servers"] == [{"url": "/"}]
    resources = [
        "discovery",
        "services",
        "services/{service_code}",
        "requests",
        "requests/{service_request_id}",
        "tokens/{token}",
        "servicerequestupdates",
        "requests/{service_request_id}/updates",
        "requests/{service_request_id}/survey",
    ]
    expected = {f"{PREFIX}/{r}.{fmt}" for r in resources for fmt in ("xml", "json")}
    assert set(document["paths"]) == expected
    for path, item in document["paths"].items():
        media = "text/xml" if path.endswith(".xml") else "application/json"
        for method, operation in item.items():
            assert {"400", "403", "404", "429"} <= set(operation["responses"]), (path, method)
            for status, answer in operation["responses"].items():
                if status == "304":  # not modified: no body, its validators
                    assert "content" not in answer and "ETag" in answer["headers"]
                    continue
                assert list(answer["content"]) == [media], (path, method, status)
            if method == "get":
                assert "304" in operation["responses"], path
                assert "ETag" in operation["responses"]["200"]["headers"], path
                assert "Access-Control-Allow-Origin" in operation["responses"]["200"]["headers"]
    post = document["paths"][f"{PREFIX}/requests.json"]["post"]
    assert "415" in post["responses"]
    services = document["components"]["schemas"]["Service"]["properties"]
    assert services["private"]["type"] == "boolean"
    assert set(post["requestBody"]["content"]) == {
        "application/x-www-form-urlencoded",
        "multipart/form-data",
    }


def _send_key(scheme: dict, key: str) -> dict:
    """Keyword arguments for the test client that send ``key`` as ``scheme`` says."""
    if scheme["in"] == "header":
        return {"headers": {scheme["name"]: key}}
    return {"query_string": {scheme["name"]: key}}


def test_the_document_says_how_to_send_a_key_and_the_server_takes_it_so(client, seeded):
    """Both security schemes (header and parameter), required on every POST and on the
    reporter's survey, optional on every other read; a key sent as each scheme says files a
    request, and an unknown one sent that way is refused."""
    document = client.get(f"{PREFIX}/openapi.json").get_json()
    schemes = document["components"]["securitySchemes"]
    assert sorted((s["type"], s["in"], s["name"]) for s in schemes.values()) == [
        ("apiKey", "header", "X-Api-Key"),
        ("apiKey", "query", "api_key"),
    ]
    either = [{name: []} for name in schemes]
    for path, item in document["paths"].items():
        for method, operation in item.items():
            needed = method == "post" or "/survey." in path
            expected = either if needed else [{}, *either]
            assert sorted(map(str, operation["security"])) == sorted(map(str, expected)), (
                path,
                method,
            )
    # The POST that files a request declares its Idempotency-Key header.
    for fmt in ("json", "xml"):
        post = document["paths"][f"{PREFIX}/requests.{fmt}"]["post"]
        headers = {p["name"] for p in post["parameters"] if p["in"] == "header"}
        assert headers == {"Idempotency-Key"}
    for name, scheme in schemes.items():
        filed = client.post(
            f"{PREFIX}/requests.json",
            data={
                "service_code": POST_SERVICE,
                "lat": str(INSIDE[0]),
                "long": str(INSIDE[1]),
                "description": f"Sent with {name}",
            },
            **_send_key(scheme, seeded.api_key),
        )
        assert filed.status_code == 201, (name, filed.get_data(as_text=True))
        assert filed.get_json()[0]["service_request_id"]
        read = client.get(f"{PREFIX}/services.json", **_send_key(scheme, seeded.api_key))
        assert read.status_code == 200, name
        refused = client.get(f"{PREFIX}/services.json", **_send_key(scheme, "not-a-key"))
        assert refused.status_code == 403, name
        unfiled = client.post(
            f"{PREFIX}/requests.json",
            data={"service_code": POST_SERVICE, "lat": str(INSIDE[0]), "long": str(INSIDE[1])},
            **_send_key(scheme, "not-a-key"),
        )
        assert unfiled.status_code == 403, name


@pytest.mark.parametrize("schema", ["ServiceRequest", "RequestUpdate"])
def test_request_rows_may_not_carry_personal_fields(schema):
    row = OPENAPI["components"]["schemas"][schema]
    assert row["additionalProperties"] is False
    personal = {
        "email",
        "first_name",
        "last_name",
        "phone",
        "contact_name",
        "contact_email",
        "contact_phone",
        "name",
        "device_id",
        "account_id",
    }
    assert not personal & set(row["properties"])


def test_a_served_request_matches_the_documented_row(client, seeded):
    """A concrete check of the schema against a real row (the fuzzing may draw few ids)."""
    from jsonschema_rs import validator_for

    listed = client.get(f"{PREFIX}/requests.json?extensions=true")
    assert listed.status_code == 200, listed.get_data(as_text=True)
    rows = listed.get_json()
    assert len(rows) == 4  # the two private requests and the old one are not listed
    components = {"components": OPENAPI["components"]}
    row_schema = {**components, "$ref": "#/components/schemas/ServiceRequests"}
    validator_for(_nullable_to_31(row_schema)).validate(rows)
    assert INSIDE[0] in {row["lat"] for row in rows}


def _nullable_to_31(schema):
    """OpenAPI 3.0's ``nullable`` as plain JSON Schema (``type: [t, "null"]``)."""
    if isinstance(schema, dict):
        out = {k: _nullable_to_31(v) for k, v in schema.items() if k != "nullable"}
        if schema.get("nullable") and "type" in schema:
            out["type"] = [schema["type"], "null"]
        return out
    if isinstance(schema, list):
        return [_nullable_to_31(v) for v in schema]
    return schema
