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
from datetime import UTC, datetime
from urllib.parse import urlsplit
from xml.etree import ElementTree as ET  # noqa: N817

import pytest
from PIL import Image
from sqlalchemy import func, select

from portal.catalogue.models import ServiceCategory
from portal.core import clock
from portal.demo.loader import CITY_DIR
from portal.open311 import developer, keys, queries
from portal.open311.views import api_post
from portal.open311.views.api_limits import READ_LIMIT
from portal.open311.views.api_params import COMMON, LIST_PARAMETERS
from portal.requests.models import Event, ServiceRequest
from portal.surveys.models import SurveyInvitation

DEMO_NOW = datetime(2026, 11, 18, 15, 30, tzinfo=UTC)
BASE = "http://portal.test"
CODE_RE = re.compile(
    r'<code data-example="(?P<key>[a-z_]+)" data-method="(?P<method>[A-Z]+)">(?P<text>.*?)</code>',
    re.S,
)


@pytest.fixture
def demo(request, runner, db):
    """A fresh demo city of ``request.param`` requests (200 unless parametrised)."""
    size = getattr(request, "param", 200)
    clock.freeze(DEMO_NOW)
    try:
        result = runner.invoke(args=["demo", "load", "--requests", str(size)])
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


# 2: the fewest requests that can hold both an open request and a resolved one; 60: the size
# of the review that found the reply and the survey answer refused (409) on a fresh demo.
@pytest.mark.parametrize("demo", [2, 60], indirect=True)
def test_every_example_on_the_page_works_against_a_fresh_demo(client, demo):
    """Nothing is added to the demo: what the examples act on (an open request filed by an
    app, for the reporter's reply; an app-filed request whose survey is still open, for the
    answer) is the demo's own."""
    _replay_every_example(client, demo)


def test_a_demo_of_private_services_still_gives_apps_public_requests_to_act_on(runner, client, db):
    """A city whose services are all private but vacant buildings (and General, which the
    demo never files in): the demo's two requests, drawn in private services, are drawn
    again in the public one, so the examples still work."""
    assert runner.invoke(args=["city", "import", str(CITY_DIR)]).exit_code == 0
    services = db.scalars(select(ServiceCategory).order_by(ServiceCategory.id)).all()
    public = next(c for c in services if c.code == "vacant-building")
    for service in services:
        # General (311's triage, which the demo never files in) is the page's service.
        service.private = service.code not in (public.code, "general")
    db.commit()
    clock.freeze(DEMO_NOW)
    try:
        # Seed 1 draws both requests in private services (seed 2026 draws the resolved one in
        # the public service already).
        result = runner.invoke(args=["demo", "load", "--requests", "2", "--seed", "1"])
        assert result.exit_code == 0, result.output
        clock.freeze(DEMO_NOW)
        requests = db.scalars(select(ServiceRequest)).all()
        assert {r.category_id for r in requests} == {public.id}
        _replay_every_example(client, db)
    finally:
        clock.freeze(None)


def _replay_every_example(client, demo) -> None:
    """Every example of the page, run through the test client with a key made here, answers
    as the page says; the reply and the survey answer land on the demo's own requests."""
    page = client.get("/developers/").get_data(as_text=True)
    examples = _examples(page)
    expected = developer.examples(
        api_url=BASE + "/open311/v2", jurisdiction="x", sample=developer.Sample(), now=DEMO_NOW
    )
    assert examples.keys() == expected.keys()  # every example the module makes is shown
    # The examples name real things, not the stand-ins of a city without data.
    assert developer.NO_SERVICE not in page
    for _method, argv in examples.values():
        for arg in argv:
            assert arg != f"token={developer.NO_TOKEN}", argv
            assert f"/tokens/{developer.NO_TOKEN}." not in arg and "token=TOKEN&" not in arg
    reply_to = _request(demo, examples["post_update"][1], "service_request_id")
    surveyed = _request(demo, examples["post_survey"][1])
    assert reply_to.is_open and reply_to.channel == "api" and reply_to.api_key_id
    assert surveyed.status == "resolved" and surveyed.channel == "api" and surveyed.api_key_id
    invitation = demo.scalar(
        select(SurveyInvitation).where(SurveyInvitation.request_id == surveyed.id)
    )
    assert invitation.state == "sent" and invitation.expires_at > DEMO_NOW
    events_before = _events(demo, reply_to.id)
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
    assert "resolved=yes" in examples["post_survey"][1]
    demo.expire_all()
    assert demo.get(SurveyInvitation, invitation.id).state == "answered"
    assert _events(demo, reply_to.id) == events_before + 1  # the reply, on its request


def _events(session, request_id: int) -> int:
    return session.scalar(
        select(func.count()).select_from(Event).where(Event.request_id == request_id)
    )


def _request(session, argv: list[str], field: str | None = None) -> ServiceRequest:
    """The request an example acts on: named by a form field, else in its URL."""
    if field is None:
        url = next(arg for arg in argv if arg.startswith(BASE))
        reference = urlsplit(url).path.split("/")[-2]
    else:
        reference = next(arg.partition("=")[2] for arg in argv if arg.startswith(f"{field}="))
    found = session.scalar(select(ServiceRequest).where(ServiceRequest.reference == reference))
    assert found is not None, reference
    return found


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
