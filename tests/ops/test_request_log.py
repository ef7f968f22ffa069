"""Request ids and the structured request log: one line per request with its id, route (the
URL rule, never the path or the query string), method, status and duration, and nothing a
resident typed; the id comes back in X-Request-ID and on error pages and API error bodies."""

from __future__ import annotations

import json
import logging
import re
from dataclasses import replace
from xml.etree import ElementTree as ET  # noqa: N817

import pytest

from portal import create_app
from tests.conftest import own_app_client

HEX_ID = re.compile(r"[0-9a-f]{32}")
SECRET = "rita.reporter@example.org"


def _request_lines(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "portal.request"]


def test_every_response_carries_a_fresh_request_id(client):
    first = client.get("/healthz").headers["X-Request-ID"]
    second = client.get("/no/such/page").headers["X-Request-ID"]
    assert HEX_ID.fullmatch(first) and HEX_ID.fullmatch(second)
    assert first != second


def test_a_clients_request_id_is_ignored_without_trusted_proxies(client):
    response = client.get("/healthz", headers={"X-Request-ID": "from-the-client-1234"})
    assert HEX_ID.fullmatch(response.headers["X-Request-ID"])


@pytest.mark.parametrize(
    "sent, kept",
    [
        ("lb-7f3a9c2e-0001", True),
        ("Root=1-5759e988-bd862e3fe1be46a994272793", False),  # "=" is not in a token
        ("<script>alert(1)</script>", False),
        ("two words", False),
        ("x" * 65, False),
    ],
)
def test_behind_a_trusted_proxy_a_safe_request_id_is_kept(settings, sent, kept):
    with own_app_client(replace(settings, trusted_proxies=1)) as client:
        answered = client.get("/healthz", headers={"X-Request-ID": sent}).headers["X-Request-ID"]
    assert (answered == sent) is kept
    if not kept:
        assert HEX_ID.fullmatch(answered)


def test_one_log_line_per_request_with_the_route_not_the_path(client, make, caplog):
    caplog.set_level(logging.INFO, logger="portal.request")
    request = make.request()
    response = client.get(f"/requests/{request.reference}", query_string={"email": SECRET})
    assert response.status_code == 200
    (line,) = _request_lines(caplog)
    assert line.route == "/requests/<reference>"
    assert line.endpoint == "requests_tracking.show"
    assert (line.method, line.status) == ("GET", 200)
    assert line.request_id == response.headers["X-Request-ID"]
    assert isinstance(line.duration_ms, float) and line.duration_ms >= 0
    for text in (line.getMessage(), str(line.__dict__)):
        assert request.reference not in text
        assert SECRET not in text


def test_a_posted_form_leaves_nothing_it_said_in_the_log(client, caplog):
    caplog.set_level(logging.INFO)
    client.post(
        "/account/sign-in", data={"email": SECRET, "password": "Hunter2-secret", "csrf_token": "x"}
    )
    assert _request_lines(caplog)
    assert SECRET not in caplog.text and "Hunter2" not in caplog.text


def test_the_production_format_is_one_json_object_per_line(client, caplog):
    from portal.observability import JsonFormatter

    caplog.set_level(logging.INFO, logger="portal.request")
    response = client.get("/open311/v2/services.json", query_string={"lang": SECRET})
    (line,) = _request_lines(caplog)
    data = json.loads(JsonFormatter().format(line))
    assert {"time", "level", "logger", "message"} <= set(data)
    assert {k: data[k] for k in ("request_id", "method", "route", "status")} == {
        "request_id": response.headers["X-Request-ID"],
        "method": "GET",
        "route": "/open311/v2/services.<fmt>",
        "status": 200,
    }
    assert SECRET not in json.dumps(data)


def test_unmatched_paths_are_logged_as_unmatched(client, caplog):
    caplog.set_level(logging.INFO, logger="portal.request")
    client.get(f"/{SECRET}/anything")
    (line,) = _request_lines(caplog)
    assert line.route == "unmatched" and line.status == 404
    assert SECRET not in line.getMessage()


def test_error_pages_show_the_reference(client):
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert f"Reference: {response.headers['X-Request-ID']}" in response.get_data(as_text=True)
    as_json = client.get("/no/such/page", headers={"Accept": "application/json"})
    assert as_json.json["error"]["request_id"] == as_json.headers["X-Request-ID"]


@pytest.fixture
def failing_app(settings):
    """An app of its own with two routes that fail with a bug."""
    application = create_app(settings)
    application.config["PROPAGATE_EXCEPTIONS"] = False

    def boom():
        raise RuntimeError("a bug")

    application.add_url_rule("/boom", "boom", boom)
    application.add_url_rule("/open311/v2/boom.<fmt>", "open311_boom", boom)
    yield application
    application.extensions["portal.db"].dispose()


def test_server_errors_carry_the_reference_in_every_format(failing_app):
    client = failing_app.test_client()
    page = client.get("/boom")
    assert page.status_code == 500
    assert f"Reference: {page.headers['X-Request-ID']}" in page.get_data(as_text=True)
    api_json = client.get("/open311/v2/boom.json")
    (error,) = json.loads(api_json.data)
    assert error["code"] == "500"
    assert error["description"].endswith(f"Reference: {api_json.headers['X-Request-ID']}")
    api_xml = client.get("/open311/v2/boom.xml")
    description = ET.fromstring(api_xml.data).findtext("error/description")
    assert description.endswith(f"Reference: {api_xml.headers['X-Request-ID']}")
