"""The developer page (/developers, issue 24) against the demo city: it renders in English and
Spanish with the city's name, every curl example read back out of the rendered page answers as
the page says (each GET a 200 with the format it asks for, each POST a 201 with a real key, a
photo and an Idempotency-Key), the figures it quotes are the ones the code enforces, the
changelog is dated and bilingual, and the viewer page names the OpenAPI document and works
without JavaScript by linking it."""

from __future__ import annotations

import html
import io
import json
import re
import shlex
import time
import tomllib
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit
from xml.etree import ElementTree as ET  # noqa: N817

import pytest
from PIL import Image
from sqlalchemy import select

from portal.catalogue.models import ServiceCategory
from portal.core import clock
from portal.open311 import developer, keys, queries
from portal.open311.views import api_post
from portal.open311.views.api_limits import READ_LIMIT
from portal.open311.views.api_params import COMMON, LIST_PARAMETERS

DEMO_NOW = datetime(2026, 11, 18, 15, 30, tzinfo=UTC)
BASE = "http://portal.test"
CODE_RE = re.compile(
    r'<code data-example="(?P<key>[a-z_]+)" data-method="(?P<method>[A-Z]+)">(?P<text>.*?)</code>',
    re.S,
)


@pytest.fixture
def demo(runner, db):
    clock.freeze(DEMO_NOW)
    try:
        result = runner.invoke(args=["demo", "load", "--requests", "200"])
        assert result.exit_code == 0, result.output
        clock.freeze(DEMO_NOW)  # the load lets time run again when it is done
        yield db
    finally:
        clock.freeze(None)


def _examples(page: str) -> dict[str, tuple[str, list[str]]]:
    """{key: (method, argv)} of every example on the page, as a shell would split it."""
    return {
        m["key"]: (m["method"], shlex.split(html.unescape(m["text"]).replace("\\\n", " ")))
        for m in CODE_RE.finditer(page)
    }


def _jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (90, 90, 90)).save(out, format="JPEG")
    return out.getvalue()


def _call(client, argv: list[str], raw_key: str):
    """Run a curl command line through the test client (the flags the page uses)."""
    assert argv[0] == "curl"
    method, url, data, headers, files = "GET", None, [], {}, []
    args = iter(argv[1:])
    for arg in args:
        if arg == "-X":
            method = next(args)
        elif arg == "-H":
            name, _, value = next(args).partition(": ")
            headers[name] = raw_key if value == developer.API_KEY else value
        elif arg in ("-i", "--compressed"):
            continue
        elif arg in ("--data-urlencode", "-F"):
            name, _, value = next(args).partition("=")
            value = raw_key if value == developer.API_KEY else value
            if value.startswith("@"):
                files.append((name, value[1:]))
            else:
                data.append((name, value))
        else:
            assert url is None, argv
            url = arg
    assert url is not None and url.startswith(BASE + "/open311/v2/"), url
    path = url.removeprefix(BASE).replace(developer.API_KEY, raw_key)
    if method == "GET":
        return client.get(path, headers=headers)
    form: dict = {}
    for name, value in data:
        form.setdefault(name, []).append(value)
    for name, filename in files:
        form.setdefault(name, []).append((io.BytesIO(_jpeg()), filename))
    return client.post(path, data=form, headers=headers, content_type="multipart/form-data")


def test_the_page_renders_in_both_languages_with_the_citys_name(client):
    english = client.get("/developers/?lang=en")
    assert english.status_code == 200
    page = english.get_data(as_text=True)
    assert "API for developers" in page
    assert "Getting started" in page and "Rate limits" in page and "Changelog" in page
    assert "http://portal.test/open311/v2" in page
    assert "riverton.example" in page
    spanish = client.get("/developers/?lang=es").get_data(as_text=True)
    assert "Primeros pasos" in spanish and "Límites de uso" in spanish
    assert "Historial de cambios" in spanish
    # The examples stay code, the same in both languages.
    assert _examples(page).keys() == _examples(spanish).keys()


def test_every_example_on_the_page_works_against_the_demo_city(client, demo, make):
    # The demo's app users answered their surveys or let them expire: one more, resolved
    # yesterday, has not yet, so the survey examples (read it, answer it) have one to use.
    service = demo.scalar(
        select(ServiceCategory).where(
            ServiceCategory.private.is_(False), ServiceCategory.active.is_(True)
        )
    )
    resolved_by_app = make.request(
        category=service,
        status="resolved",
        resolved_at=DEMO_NOW - timedelta(days=1),
        channel="api",
        api_token="app-token-for-the-survey",
    )
    invitation = make.survey_invitation(resolved_by_app)
    page = client.get("/developers/").get_data(as_text=True)
    examples = _examples(page)
    expected = developer.examples(
        api_url=BASE + "/open311/v2", jurisdiction="x", sample=developer.Sample(), now=DEMO_NOW
    )
    assert examples.keys() == expected.keys()  # every example the module makes is shown
    key, raw = keys.new_key(demo, label="Docs", rate_limit="100/minute", contact_email="", by=None)
    demo.commit()
    for name, (method, argv) in examples.items():
        response = _call(client, argv, raw)
        body = response.get_data(as_text=True)
        if method == "GET":
            assert response.status_code == 200, (name, argv, body[:300])
            if argv[-1].split("?")[0].endswith(".json"):
                assert isinstance(json.loads(body), list | dict), name
            else:
                ET.fromstring(response.get_data())
        else:
            assert response.status_code == 201, (name, argv, body[:300])
            answer = json.loads(body)[0]
            assert answer.get("service_request_id") or answer.get("update_id"), (name, answer)
    # The examples name real things: the newest public request, its token, a service, the
    # open survey and its questions.
    request_example = examples["request"][1][-1]
    assert "SR-" in request_example and "SERVICE_CODE" not in page
    assert resolved_by_app.reference in examples["post_survey"][1][3]
    assert "resolved=yes" in examples["post_survey"][1]
    demo.refresh(invitation)
    assert invitation.state == "answered"


def _operation_pattern(path: str) -> re.Pattern[str]:
    """A document path as a pattern over example URLs: any value for a {parameter}, either
    suffix (the page says the suffix only picks the format)."""
    stem, _suffix = path.rsplit(".", 1)
    pattern = "[^/?]+".join(re.escape(part) for part in re.split(r"\{[a-z_]+\}", stem))
    return re.compile(f"^{pattern}\\.(json|xml)$")


@pytest.mark.parametrize("lang", ["en", "es"])
def test_every_operation_of_the_openapi_document_has_an_example(client, lang):
    """Walks the served document: each path and method, in one format or the other, is
    some example's method and URL on the page, in both languages."""
    page = client.get(f"/developers/?lang={lang}").get_data(as_text=True)
    shown = set()
    for method, argv in _examples(page).values():
        url = next(arg for arg in argv[1:] if arg.startswith(BASE))
        shown.add((method, urlsplit(url).path))
    document = client.get("/open311/v2/openapi.json").get_json()
    missing = []
    for path, item in document["paths"].items():
        pattern = _operation_pattern(path)
        for method in item:
            if not any(m == method.upper() and pattern.match(p) for m, p in shown):
                missing.append(f"{method.upper()} {path}")
    assert not missing
    # Both formats appear.
    assert {p.rsplit(".", 1)[-1] for _m, p in shown} == {"json", "xml"}


def test_the_figures_are_the_ones_the_code_enforces(client):
    page = client.get("/developers/?lang=en").get_data(as_text=True)
    for rate in (READ_LIMIT, keys.DEFAULT_RATE, keys.DEFAULT_READ_RATE, api_post.KEYLESS_LIMIT):
        assert f"{int(rate.split('/')[0]):,} requests a minute" in page, rate
    assert f"at most {queries.MAX_PAGE_SIZE:,} a page" in page
    # Every parameter a request list takes is in the page's table.
    for name in LIST_PARAMETERS | COMMON:
        assert f"<code>{name}</code>" in page, name
    spanish = client.get("/developers/?lang=es").get_data(as_text=True)
    assert "1.000 solicitudes por minuto" in spanish


def test_the_changelog_is_dated_newest_first_and_in_both_languages():
    with developer.CHANGELOG.open("rb") as handle:
        raw = tomllib.load(handle)["change"]
    for item in raw:
        for field in ("title_en", "body_en", "title_es", "body_es"):
            assert item[field].strip(), (item["date"], field)
    entries = developer.changelog("es")
    assert [e.day for e in entries] == sorted((e.day for e in entries), reverse=True)
    assert entries[0].title in {item["title_es"] for item in raw}


def test_the_viewer_page_names_the_document_and_links_it_without_javascript(client):
    response = client.get("/developers/api")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert 'data-spec="/open311/v2/openapi.json"' in page
    assert 'href="/open311/v2/openapi.json"' in page
    assert "swagger-ui-bundle" in page and "openapi-viewer" in page
    # No inline script: the portal's Content-Security-Policy holds on this page too.
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page)
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert client.get("/open311/v2/openapi.json").status_code == 200


def test_the_footer_links_the_developer_page(client):
    assert 'href="/developers/"' in client.get("/").get_data(as_text=True)


def test_the_webhook_check_on_the_page_accepts_the_citys_signature_and_nothing_else(client):
    """The Python on the page, run as written, against a body signed the way the worker signs
    deliveries (portal.webhooks.signing)."""
    from portal.webhooks import signing

    page = client.get("/developers/").get_data(as_text=True)
    found = re.search(r'<code data-snippet="webhook-verify">(.*?)</code>', page, re.S)
    assert found
    namespace: dict = {}
    exec(html.unescape(found.group(1)), namespace)  # noqa: S102 - the page's own example
    verify = namespace["verify"]
    secret = signing.new_secret()
    body = b'{"id":"evt_1","type":"webhook.test","timestamp":"2026-12-07T22:00:00Z","data":{}}'
    now = int(time.time())
    headers = signing.headers(secret, message_id="msg_1", timestamp=now, body=body)
    assert verify(secret, headers, body)
    assert not verify(secret, headers, body + b" ")
    assert not verify(signing.new_secret(), headers, body)
    old = signing.headers(secret, message_id="msg_1", timestamp=now - 3600, body=body)
    assert not verify(secret, old, body)
    # A receiver given several signatures (a rotated secret) accepts the one that matches.
    rotated = dict(headers)
    rotated["webhook-signature"] = "v1,bm90IGl0 " + headers["webhook-signature"]
    assert verify(secret, rotated, body)


def test_the_openapi_document_points_at_the_developer_page(client):
    document = client.get("/open311/v2/openapi.json").get_json()
    assert document["externalDocs"]["url"] == "/developers/"
    assert client.get(document["externalDocs"]["url"]).status_code == 200
