"""Every error under /open311/ is the spec's error collection in the requested format (XML
when the suffix is not one we serve), never an HTML page, never a 500 page."""

from __future__ import annotations

import json
from contextlib import contextmanager
from dataclasses import replace
from xml.etree import ElementTree as ET  # noqa: N817

import pytest
from werkzeug.routing import Rule

from portal import create_app
from portal.open311.views.api_formats import ApiError, error_response, render, to_xml
from tests.app.test_routes import GARBAGE, _url
from tests.conftest import own_app_client

API = "/open311/v2"


def xml_errors(response, status: int) -> list[str]:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.content_type == "text/xml; charset=utf-8"
    body = response.get_data(as_text=True)
    assert body.startswith('<?xml version="1.0" encoding="utf-8"?>')
    root = ET.fromstring(response.data)
    assert root.tag == "errors" and len(root) >= 1
    for error in root:
        assert error.tag == "error"
        assert [c.tag for c in error] == ["code", "description"]
        assert error.findtext("code") == str(status)
    return [e.findtext("description") for e in root]


def json_errors(response, status: int) -> list[str]:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.content_type == "application/json; charset=utf-8"
    rows = json.loads(response.data)
    assert isinstance(rows, list) and rows
    for row in rows:
        assert set(row) == {"code", "description"}
        assert row["code"] == str(status)
    return [r["description"] for r in rows]


@pytest.mark.parametrize(
    "path",
    [
        "discovery.html",
        "services.csv",
        "services",
        "services/pothole.txt",
        "requests.XML",
        "requests/SR-2026-000001",
        "tokens/abc.yaml",
        "discovery.xml.",
        "nothing.here",
    ],
)
def test_unknown_suffix_or_missing_one_is_404_in_xml(client, path):
    xml_errors(client.get(f"{API}/{path}"), 404)


def test_unknown_paths_are_404_in_the_suffix_format(client):
    assert json_errors(client.get(f"{API}/nothing.json"), 404)
    assert json_errors(client.get("/open311/v3/services.json"), 404)
    xml_errors(client.get(f"{API}/requests/a/b.xml"), 404)
    xml_errors(client.get("/open311/"), 404)


def test_methods_not_allowed_are_405_with_allow(client):
    response = client.delete(f"{API}/services.json")
    json_errors(response, 405)
    assert "GET" in response.headers["Allow"]
    xml_errors(client.put(f"{API}/requests.xml"), 405)
    xml_errors(client.post(f"{API}/discovery.xml"), 405)
    json_errors(client.patch(f"{API}/tokens/abc.json"), 405)


def test_a_nul_character_is_a_400_in_the_api_format(client):
    json_errors(client.get(f"{API}/requests.json", query_string={"status": "open\x00"}), 400)


def test_the_rest_of_the_site_keeps_its_html_error_pages(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert "text/html" in response.content_type


@pytest.mark.parametrize("value", GARBAGE)
def test_garbage_in_any_api_route_is_an_open311_error_or_an_answer(client, make, value):
    make.request()
    checked = 0
    for rule in client.application.url_map.iter_rules():
        if not rule.rule.startswith("/open311/"):
            continue
        url = _url(rule, value)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = client.open(
                url,
                method=method,
                query_string={
                    name: value
                    for name in (
                        "service_request_id",
                        "service_code",
                        "status",
                        "start_date",
                        "end_date",
                        "page",
                        "page_size",
                        "jurisdiction_id",
                        "extensions",
                    )
                },
            )
            assert response.status_code < 500, (method, url)
            assert "html" not in response.content_type, (method, url)
            if response.status_code >= 400:
                if response.content_type.startswith("application/json"):
                    json_errors(response, response.status_code)
                else:
                    xml_errors(response, response.status_code)
            checked += 1
    assert checked >= 7


def _boom():
    raise RuntimeError("a bug")


@pytest.fixture
def private_app(settings):
    """An app of this test's own: these tests add URL rules, which must not reach the app
    other tests share."""
    application = create_app(settings)
    yield application
    application.extensions["portal.db"].dispose()  # the city profile was read through it


@contextmanager
def _extra_rules(app, *rules: tuple[str, str, list[str]]):
    for path, endpoint, methods in rules:
        app.url_map.add(Rule(path, endpoint=endpoint, methods=methods))
        app.view_functions[endpoint] = _boom
    yield app.test_client()


def test_an_unexpected_error_is_an_open311_error_not_a_page(private_app, caplog):
    with _extra_rules(
        private_app,
        (f"{API}/boom.json", "open311_api.boom", ["GET"]),
        (f"{API}/outside.xml", "outside_boom", ["GET"]),
    ) as client:
        # Inside the blueprint (its handler) and outside it (the app's handler).
        (description,) = json_errors(client.get(f"{API}/boom.json"), 500)
        assert "Traceback" not in description and "a bug" not in description
        xml_errors(client.get(f"{API}/outside.xml"), 500)
    assert "a bug" in caplog.text  # recorded in the log, not shown


def test_a_missing_csrf_token_on_an_api_form_is_an_open311_400(private_app):
    private_app.config["WTF_CSRF_ENABLED"] = True
    with _extra_rules(private_app, (f"{API}/form.json", "form_post", ["POST"])) as client:
        (description,) = json_errors(client.post(f"{API}/form.json", data={"a": "b"}), 400)
        assert "api_key" in description


def test_too_large_a_body_is_an_open311_413(private_app):
    private_app.config["MAX_CONTENT_LENGTH"] = 1000
    with _extra_rules(private_app, (f"{API}/form.xml", "form_post", ["POST"])) as client:
        response = client.post(f"{API}/form.xml", data={"description": "x" * 5000})
        xml_errors(response, 413)


def test_reads_are_rate_limited_per_address_with_an_open311_429(settings):
    with own_app_client(replace(settings, ratelimit_enabled=True)) as client:
        statuses = [client.get(f"{API}/discovery.json").status_code for _ in range(300)]
        assert statuses == [200] * 300
        json_errors(client.get(f"{API}/discovery.json"), 429)
        xml_errors(client.get(f"{API}/services.xml"), 429)
        other = client.get(f"{API}/discovery.json", environ_base={"REMOTE_ADDR": "10.9.9.9"})
        assert other.status_code == 200


# -- the renderer ------------------------------------------------------------------------------


def test_api_error_keeps_one_entry_per_problem():
    error = ApiError(400, "first", "second")
    assert error.status == 400
    assert error.errors == [("400", "first"), ("400", "second")]


def test_error_response_formats(app):
    with app.test_request_context():
        response = error_response("json", ApiError(403, "Bad key"))
        assert response.status_code == 403
        assert json.loads(response.data) == [{"code": "403", "description": "Bad key"}]
        assert xml_errors(error_response("yaml", ApiError(404, "No")), 404) == ["No"]


def test_render_values_and_nested_lists(app):
    from datetime import UTC, datetime, timedelta, timezone

    data = [
        {
            "when": datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
            "local": datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=-6))),
            "flag": False,
            "none": None,
            "count": 3,
            "text": "a < b & \x01c",
            "attributes": [{"values": [{"key": "k", "name": "n"}]}],
            "notes": [],
            "photos": ["u1", "u2"],
        }
    ]
    with app.test_request_context():
        rows = json.loads(render("json", "service_requests", "request", data).data)
    assert rows == [
        {
            "when": "2026-01-02T03:04:05Z",
            "local": "2026-01-02T03:04:05-06:00",
            "flag": False,
            "none": None,
            "count": 3,
            "text": "a < b & \x01c",
            "attributes": [{"values": [{"key": "k", "name": "n"}]}],
            "notes": [],
            "photos": ["u1", "u2"],
        }
    ]
    root = ET.fromstring(to_xml("service_requests", "request", data).encode())
    request = root.find("request")
    assert request.findtext("when") == "2026-01-02T03:04:05Z"
    assert request.findtext("flag") == "false"
    assert request.find("none").text is None
    assert request.findtext("text") == "a < b & c"  # a control character XML cannot carry
    assert request.findtext("attributes/attribute/values/value/key") == "k"
    assert [p.text for p in request.findall("photos/photo")] == ["u1", "u2"]
    assert request.find("notes") is not None and len(request.find("notes")) == 0
