"""Every route is classified by who may use it, and no input makes any route fail with a 500.

Adding a route without classifying it here fails the suite.
"""

from __future__ import annotations

import re

import pytest
from werkzeug.routing import IntegerConverter, Rule

from tests.conftest import csrf_from
from tests.factories import PASSWORD

PUBLIC = {
    "pages.home",
    "pages.logo",
    "pages.accessibility",
    # The developer page and its OpenAPI viewer (issue 24; tests/open311/test_developers.py).
    "open311_developers.index",
    "open311_developers.api",
    # The installable web app (issue 21): manifest, service worker, offline page, icons.
    "pwa.manifest",
    "pwa.service_worker",
    "pwa.offline",
    "pwa.icon",
    "health.healthz",
    "ops.metrics",  # no sign-in, but only for PORTAL_METRICS_ALLOW's networks (tests/ops)
    "static",
    "auth.sign_in",
    "auth.sign_up",
    "auth.reset_request",
    "auth.reset_password",
    # The emailed link confirming an address: its signed token is the only key.
    "auth.confirm_email",
    # Single sign-on (issue 24, tests/auth/test_sso.py): 404 unless configured; the callback's
    # state (in this browser's session) is the only key.
    "auth_oidc.start",
    "auth_oidc.callback",
    # The public half of the portal's private_key_jwt key (tests/auth/test_sso_client_auth.py).
    "auth_oidc.jwks",
    "requests_filing.start",
    "requests_filing.details",
    "requests_filing.stop",
    "requests_filing.location",
    "requests_filing.asset",
    "requests_filing.nearby",
    "requests_filing.support",
    "requests_filing.photos",
    "requests_filing.draft_photo",
    "requests_filing.contact",
    "requests_filing.check",
    "requests_filing.done",
    # Reports written offline (issue 21): the page, and the one POST that files a report
    # (same-origin and an Idempotency-Key header instead of a CSRF token; tests/requests/
    # test_offline_submit.py).
    "requests_offline.page",
    "requests_offline.submit",
    # Category suggestion for the filing form (issue 22; tests/assist/test_suggestions.py).
    "assist_suggestions.category_suggestions",
    # "Describe the problem", the filing journey's start (issue 22; tests/assist/test_describe.py).
    "assist_describe.describe",
    "assist_describe.choose",
    # Knowledge articles (issue 22; tests/assist/test_articles.py): suggestions for the
    # describe step's script, the public article page and its "Did this answer" answer.
    "assist_articles.article_suggestions",
    "assist_articles.show",
    "assist_articles.feedback",
    # The public algorithm register (issue 22; tests/assist/test_register.py).
    "assist_register.algorithms",
    "requests_tracking.find",
    "requests_tracking.show",
    "requests_tracking.photo",
    "requests_tracking.private_access",
    "requests_tracking.support",
    "requests_tracking.follow",
    "requests_tracking.unfollow",
    "requests_tracking.confirm_follow",
    "requests_tracking.unsubscribe",
    "requests_alerts.unsubscribe",
    # Maps (issue 18): the city's own layers and the public reports around a place.
    "places_map.areas",
    "places_map.streets",
    "places_map.assets",
    # Address search (issue 18): public, rate limited, capped.
    "places_search.suggest",
    "places_search.reverse",
    "requests_around.index",
    "requests_around.reports",
    # Surveys: a single-use link's token is the only key (unknown ones are a 404).
    "surveys_answering.answer",
    "surveys_answering.opt_out",
    "surveys_answering.feedback",
    # Reporter-only actions: allowed for the signed-in reporter or a private-link holder;
    # tests/requests/test_tracking.py checks that everyone else gets a 404.
    "requests_tracking.reply",
    "requests_tracking.reopen",
    "requests_tracking.add_photos",
    # Programmes: browse, a published programme's page and its calendar (drafts are a 404).
    "programmes_public.browse",
    "programmes_public.show",
    "programmes_public.calendar",
    # Open data: the documented, anonymised request list (tests/reports/test_open_data.py).
    "reports_open_data.index",
    "reports_open_data.requests_csv",
    "reports_open_data.requests_json",
    # The public performance page: scorecards without agents, volumes, the map.
    "reports_public.index",
    # Equity by area (issue 23, tests/reports/test_equity.py).
    "reports_public.equity_page",
    # Web Push (issue 21): a device's subscription (JSON, CSRF), by the account's owner or
    # for one public request; the endpoint itself is the key to unsubscribe.
    "push.subscribe",
    "push.unsubscribe",
}
SIGNED_IN = {
    "auth.account",
    "auth.change_password",
    "auth.send_email_link",
    "privacy.download",
    "privacy.fetch",
    "privacy.delete",
    # Signing in again at the provider to confirm the deletion (tests/auth/test_sso_deletion.py).
    "auth_oidc.reauthenticate",
    "auth.sign_out",
    "requests_tracking.mine",
    "requests_alerts.index",
    "requests_alerts.subscribe",
    "requests_alerts.remove",
    "push.remove_device",
    # Programmes: enrolling and the resident's own enrolments (anyone else's id is a 404).
    "programmes_public.enrol",
    "programmes_public.mine",
    "programmes_public.enrolment",
    "programmes_public.accept",
    "programmes_public.decline",
    "programmes_public.cancel",
    "programmes_public.certificate",
}
# Open311 GeoReport v2 (/open311/v2/): anonymous reads, and writes that need an api_key
# (checked in tests/test_open311_*.py). Their errors are Open311 bodies, never HTML.
API_READ = {
    "open311_api.discovery",
    "open311_api.services",
    "open311_api.service_definition",
    "open311_api.request_list",
    "open311_api.request_detail",
    "open311_api.token",
    "open311_api.openapi",
    "open311_api.request_updates_list",
    "open311_api.request_updates",
    "open311_api.request_survey",
}
API_WRITE = {
    "open311_api.post_request",
    "open311_api.post_request_update",
    "open311_api.post_request_survey",
}
DEVELOPMENT_ONLY = {
    "notifications_mail.outbox",
    "notifications_mail.message",
    "notifications_mail.message_html",
}

GARBAGE = [
    "SR-2026-000001",
    "sr-9999-99999999999999999999",
    "..%2F..%2Fetc%2Fpasswd",
    "%00",
    "x" * 3000,
    "<script>alert(1)</script>",
    "9" * 40,
    "-1",
    "ñandú",
]


def _rules(app) -> list[Rule]:
    return [r for r in app.url_map.iter_rules() if r.endpoint != "static"]


def test_every_route_is_classified(app):
    # Back-office routes (/staff) are declared in tests/access/ and walked separately.
    endpoints = {r.endpoint for r in app.url_map.iter_rules() if not r.rule.startswith("/staff")}
    unclassified = endpoints - PUBLIC - SIGNED_IN - DEVELOPMENT_ONLY - API_READ - API_WRITE
    assert not unclassified, f"classify these routes in tests/app/test_routes.py: {unclassified}"
    assert not (PUBLIC & SIGNED_IN)
    assert not ((PUBLIC | SIGNED_IN) & (API_READ | API_WRITE))


def _url(rule: Rule, value: str) -> str:
    url = rule.rule
    for argument in rule.arguments:
        converter = rule._converters[argument]  # noqa: SLF001 - the rule's own parts
        fill = (
            value
            if converter.__class__.__name__ != "IntegerConverter"
            else (value if value.isdigit() else "123")
        )
        for pattern in (f"<int:{argument}>", f"<path:{argument}>", f"<{argument}>"):
            url = url.replace(pattern, fill)
    return url


@pytest.mark.parametrize("signed_in", [False, True])
def test_signed_in_routes_need_a_session(client, make, signed_in):
    if signed_in:
        user = make.user()
        page = client.get("/account/sign-in").get_data(as_text=True)
        client.post(
            "/account/sign-in",
            data={"csrf_token": csrf_from(page), "email": user.email, "password": PASSWORD},
        )
    for rule in _rules(client.application):
        if rule.endpoint not in SIGNED_IN or "GET" not in rule.methods:
            continue
        response = client.get(_url(rule, "1"))
        if signed_in:
            assert response.status_code in (200, 404), rule.rule
        else:
            assert response.status_code == 302, rule.rule
            assert "/account/sign-in" in response.headers["Location"]


def test_development_pages_are_hidden_outside_development(client):
    for rule in _rules(client.application):
        if rule.endpoint in DEVELOPMENT_ONLY:
            assert client.get(_url(rule, "x.eml")).status_code == 404


@pytest.mark.parametrize("value", GARBAGE)
def test_no_input_gives_a_server_error(client, make, value):
    make.request()
    token = csrf_from(client.get("/account/sign-in").get_data(as_text=True))
    for rule in _rules(client.application):
        url = _url(rule, value)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = client.open(
                url,
                method=method,
                query_string={"next": value, "category": value, "before": value, "page": value},
                data={
                    "reference": value,
                    "csrf_token": token,
                    "email": value,
                    "password": value,
                    "body": value,
                    "comment": value,
                    "description": value,
                    "address": value,
                    "lat": value,
                    "lon": value,
                    "area": value,
                    "name": value,
                    "phone": value,
                    "action": value,
                    "area_id": value,
                },
            )
            assert response.status_code < 500, (method, url, response.status_code)


def test_ids_beyond_64_bits_are_not_found_anywhere(client, make):
    """Every ``<int:...>`` route: an id no database can hold is a 404, never an overflow."""
    admin = make.user(role="admin")
    with client.session_transaction() as session:
        session["_user_id"] = admin.get_id()
    huge = "9" * 25
    checked = 0
    for rule in client.application.url_map.iter_rules():
        converters = rule._converters
        if "GET" not in rule.methods or not any(
            isinstance(c, IntegerConverter) for c in converters.values()
        ):
            continue
        path = str(rule)
        for name, converter in converters.items():
            value = huge if isinstance(converter, IntegerConverter) else "x"
            path = re.sub(rf"<(\w+:)?{name}>", value, path)
        assert client.get(path).status_code == 404, path
        checked += 1
    assert checked >= 5
