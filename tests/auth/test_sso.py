"""Single sign-on with OpenID Connect (issue 24), against a real provider on loopback.

The provider is ``oidc-provider-mock`` (an OpenID Connect provider built on Authlib's server
classes, run over HTTP in a thread): discovery, authorization endpoint, token endpoint,
RS256-signed ID tokens and a JWKS endpoint, userinfo and RP-initiated logout. The tests drive
the whole round trip as a browser would: the portal's test client for the portal, HTTP
requests to the provider, following the redirects between them by hand.
"""

from __future__ import annotations

import time
from dataclasses import replace
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
from oidc_provider_mock import run_server_in_thread
from sqlalchemy import select

from portal.auth.models import User, UserIdentity
from portal.core.audit import AuditEntry
from tests.conftest import csrf_from
from tests.factories import PASSWORD


@pytest.fixture(scope="module")
def provider():
    with run_server_in_thread() as server:
        yield f"http://localhost:{server.server_port}"


@pytest.fixture
def settings(settings, provider, request):
    """The tests' settings with single sign-on at the loopback provider (a test may change
    more with ``@pytest.mark.parametrize("settings", [{...}], indirect=True)``)."""
    sso = {
        "sso_issuer": provider,
        "sso_client_id": "riverton-portal",
        "sso_client_secret": "client-secret-from-the-environment",
        "sso_label": "Riverton ID",
    }
    changes = getattr(request, "param", {})
    return replace(settings, **{**sso, **changes})


_n = iter(range(10**6))


def person(provider: str, email: str, *, verified: bool | None = True, **claims) -> str:
    """A person at the provider (a new subject each time); returns the subject."""
    sub = f"person-{time.monotonic_ns()}-{next(_n)}"
    body = {"email": email, "name": "Kim Lee", **claims}
    if verified is not None:
        body["email_verified"] = verified
    answer = requests.put(f"{provider}/users/{sub}", json=body, timeout=5)
    assert answer.status_code == 204, answer.text
    return sub


def authorize_at_provider(client, sub: str, *, start: str = "/account/sso/start", deny=False):
    """Click the button, sign in (or refuse) at the provider; returns the provider's redirect
    back to the portal (path and query) without following it."""
    response = client.get(start)
    assert response.status_code == 302, response.get_data(as_text=True)
    authorize = response.headers["Location"]
    query = parse_qs(urlsplit(authorize).query)
    # Authorization code flow, with PKCE (S256), state and nonce.
    assert query["response_type"] == ["code"]
    assert query["code_challenge_method"] == ["S256"] and query["code_challenge"][0]
    assert len(query["state"][0]) >= 22 and len(query["nonce"][0]) >= 22  # Login.gov's minimum
    assert query["redirect_uri"] == ["http://portal.test/account/sso/callback"]
    form = {"action": "deny"} if deny else {"sub": sub}
    answer = requests.post(authorize, data=form, allow_redirects=False, timeout=5)
    assert answer.status_code == 302, answer.text
    back = urlsplit(answer.headers["Location"])
    assert back.netloc == "portal.test" and back.path == "/account/sso/callback"
    return f"{back.path}?{back.query}"


def sso_sign_in(client, sub: str, **kw):
    return client.get(authorize_at_provider(client, sub, **kw))


def test_the_sign_in_page_offers_the_provider(client):
    page = client.get("/account/sign-in").get_data(as_text=True)
    assert "Sign in with Riverton ID" in page
    assert 'href="/account/sso/start"' in page


def test_a_staff_member_signs_in_through_the_provider(client, make, db, provider):
    roads = make.department(name="Roads")
    kim = make.staff(roads, role="agent", email="kim.lee@riverton.example")
    sub = person(provider, "Kim.Lee@riverton.example")

    response = sso_sign_in(client, sub)

    assert response.status_code == 302
    assert response.headers["Location"] == "/staff/"
    assert client.get("/staff/").status_code == 200
    identity = db.scalar(select(UserIdentity).where(UserIdentity.subject == sub))
    assert identity is not None and identity.user_id == kim.id
    assert identity.issuer == provider and identity.email == "kim.lee@riverton.example"
    actions = db.scalars(
        select(AuditEntry.action).where(AuditEntry.entity_id == str(kim.id)).order_by(AuditEntry.id)
    ).all()
    assert actions == ["sso_linked", "sso_signed_in"]

    # Signed out; the next time the link alone finds the account (the address at the provider
    # has changed meanwhile, and is not even verified any more).
    token = csrf_from(client.get("/account").get_data(as_text=True))
    client.post("/account/sign-out", data={"csrf_token": token})
    answer = requests.put(
        f"{provider}/users/{sub}",
        json={"email": "someone.else@example.org", "email_verified": False},
        timeout=5,
    )
    assert answer.status_code == 204
    again = sso_sign_in(client, sub)
    assert again.headers["Location"] == "/staff/"
    assert db.scalar(select(User.role).where(User.id == kim.id)) == "agent"  # roles stay ours


def test_the_page_asked_for_is_where_the_sign_in_ends(client, make, provider):
    make.staff(make.department(name="Roads"), role="agent", email="ana@riverton.example")
    sub = person(provider, "ana@riverton.example")
    response = sso_sign_in(client, sub, start="/account/sso/start?next=/staff/reports")
    assert response.headers["Location"] == "/staff/reports"


def test_an_unknown_address_is_sent_to_the_administrator(client, db, provider):
    sub = person(provider, "new.hire@riverton.example")
    response = sso_sign_in(client, sub)
    assert response.status_code == 403
    page = response.get_data(as_text=True)
    assert "There is no account for you here yet" in page
    assert "ask your administrator" in page
    assert db.scalar(select(User).where(User.email == "new.hire@riverton.example")) is None
    assert client.get("/account").status_code == 302  # not signed in


def test_an_unverified_address_links_nothing(client, make, db, provider):
    kim = make.staff(make.department(name="Roads"), email="kim@riverton.example")
    sub = person(provider, "kim@riverton.example", verified=False)
    response = sso_sign_in(client, sub)
    assert response.status_code == 403
    assert "Your email address is not verified" in response.get_data(as_text=True)
    assert db.scalar(select(UserIdentity).where(UserIdentity.user_id == kim.id)) is None
    # No email_verified claim at all is not verified either (unless the city trusts its
    # directory: PORTAL_SSO_TRUST_EMAIL).
    sub = person(provider, "kim@riverton.example", verified=None)
    assert sso_sign_in(client, sub).status_code == 403
    assert client.get("/account").status_code == 302


def test_a_tampered_state_is_refused(client, make, db, provider):
    kim = make.staff(make.department(name="Roads"), email="kim@riverton.example")
    sub = person(provider, "kim@riverton.example")
    back = authorize_at_provider(client, sub)
    path, query = back.split("?", 1)
    params = {k: v[0] for k, v in parse_qs(query).items()}
    params["state"] = params["state"][:-2] + "xx"
    response = client.get(f"{path}?{urlencode(params)}")
    assert response.status_code == 400
    assert "This sign-in could not be completed" in response.get_data(as_text=True)
    assert db.scalar(select(UserIdentity).where(UserIdentity.user_id == kim.id)) is None
    # A callback in another browser (no state in its session) is refused the same way.
    other = client.application.test_client()
    assert other.get(back).status_code == 400
    assert client.get("/account").status_code == 302


def test_an_id_token_for_another_sign_in_is_refused(client, make, db, provider):
    """The code of a sign-in started in another browser, delivered with this browser's own
    state: the ID token it brings carries the other sign-in's nonce, and is refused."""
    kim = make.staff(make.department(name="Roads"), email="kim@riverton.example")
    mine = authorize_at_provider(client, person(provider, "kim@riverton.example"))
    theirs = authorize_at_provider(client.application.test_client(), person(provider, "x@y.z"))
    state = parse_qs(urlsplit(mine).query)["state"][0]
    code = parse_qs(urlsplit(theirs).query)["code"][0]
    response = client.get(f"/account/sso/callback?{urlencode({'code': code, 'state': state})}")
    assert response.status_code == 400
    assert "This sign-in could not be checked" in response.get_data(as_text=True)
    assert db.scalar(select(UserIdentity).where(UserIdentity.user_id == kim.id)) is None
    assert client.get("/account").status_code == 302


def test_only_the_latest_start_is_kept(client, make, provider):
    """Clicking the button again (or coming back and clicking) replaces the sign-in in flight:
    the session cookie stays small, and only the latest answer is taken."""
    make.staff(make.department(name="Roads"), email="kim@riverton.example")
    sub = person(provider, "kim@riverton.example")
    first = authorize_at_provider(client, sub)
    for _ in range(5):
        client.get("/account/sso/start")
    cookie = client.get_cookie("session")
    assert cookie is not None and len(cookie.value) < 1500
    assert client.get(first).status_code == 400  # replaced
    assert sso_sign_in(client, sub).headers["Location"] == "/staff/"


def test_consent_refused_at_the_provider(client, provider):
    back = authorize_at_provider(client, "", deny=True)
    assert "error=access_denied" in back
    response = client.get(back)
    assert response.status_code == 400
    assert "Sign-in cancelled" in response.get_data(as_text=True)


def test_a_switched_off_account_is_refused(client, make, provider):
    make.staff(make.department(name="Roads"), email="gone@riverton.example", active=False)
    response = sso_sign_in(client, person(provider, "gone@riverton.example"))
    assert response.status_code == 403
    assert "This account is switched off" in response.get_data(as_text=True)


def test_residents_use_their_password_unless_the_city_allows_it(client, make, provider):
    make.user(email="resident@example.org")
    response = sso_sign_in(client, person(provider, "resident@example.org"))
    assert response.status_code == 403
    assert "Sign in with your email and password" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "settings", [{"sso_issuer": "http://127.0.0.1:9", "sso_timeout": 2}], indirect=True
)
def test_the_provider_down_is_a_clear_page(client):
    response = client.get("/account/sso/start")
    assert response.status_code == 502
    assert "The sign-in service is not answering" in response.get_data(as_text=True)


def test_signing_out_ends_the_provider_session_too(client, make, provider):
    make.staff(make.department(name="Roads"), email="kim@riverton.example")
    sso_sign_in(client, person(provider, "kim@riverton.example"))
    token = csrf_from(client.get("/account").get_data(as_text=True))
    response = client.post("/account/sign-out", data={"csrf_token": token})
    assert response.status_code == 302
    logout = urlsplit(response.headers["Location"])
    assert f"{logout.scheme}://{logout.netloc}" == provider
    query = parse_qs(logout.query)
    assert query["post_logout_redirect_uri"] == ["http://portal.test/"]
    assert query["id_token_hint"][0].count(".") == 2
    assert client.get("/account").status_code == 302  # signed out here already
    # The provider shows its logout confirmation for that token.
    assert requests.get(response.headers["Location"], timeout=5).status_code == 200


@pytest.mark.parametrize("settings", [{"sso_staff_only": True}], indirect=True)
def test_staff_passwords_can_be_switched_off(client, make):
    make.staff(make.department(name="Roads"), email="agent@riverton.example")
    make.user(email="resident@example.org")
    page = client.get("/account/sign-in").get_data(as_text=True)
    assert "City staff: use this button." in page
    response = client.post(
        "/account/sign-in",
        data={
            "csrf_token": csrf_from(page),
            "email": "agent@riverton.example",
            "password": PASSWORD,
        },
    )
    assert response.status_code == 200
    assert "City staff sign in with single sign-on" in response.get_data(as_text=True)
    assert client.get("/account").status_code == 302
    # Residents keep their passwords.
    response = client.post(
        "/account/sign-in",
        data={"csrf_token": csrf_from(page), "email": "resident@example.org", "password": PASSWORD},
    )
    assert response.status_code == 302


@pytest.mark.parametrize("settings", [{"sso_residents": True}], indirect=True)
def test_residents_may_use_it_when_the_city_allows(client, make, db, provider):
    # A new address: a resident's account, its address confirmed by the provider.
    response = sso_sign_in(client, person(provider, "Ana@Example.org", locale="es-MX"))
    assert response.headers["Location"] == "/account"
    ana = db.scalar(select(User).where(User.email == "ana@example.org"))
    assert ana is not None and ana.role == "resident" and ana.email_verified_at is not None
    assert ana.name == "Kim Lee" and ana.locale == "es"
    actions = db.scalars(select(AuditEntry.action).where(AuditEntry.entity_id == str(ana.id)))
    assert sorted(actions) == ["sso_account_created", "sso_signed_in"]
    # An existing resident is linked (and never becomes staff).
    other = client.application.test_client()
    kim = make.user(email="kim@example.org", email_verified_at=None)
    assert sso_sign_in(other, person(provider, "kim@example.org")).status_code == 302
    db.refresh(kim)
    assert kim.email_verified_at is not None and kim.role == "resident"


@pytest.mark.parametrize("settings", [{"sso_staff_domains": ("riverton.example",)}], indirect=True)
def test_staff_are_linked_only_from_the_citys_domains(client, make, db, provider):
    make.staff(make.department(name="Roads"), email="kim@contractor.example")
    response = sso_sign_in(client, person(provider, "kim@contractor.example"))
    assert response.status_code == 403
    assert "This address cannot sign in to a staff account" in response.get_data(as_text=True)
    make.staff(make.department(name="Parks"), email="ana@riverton.example")
    assert sso_sign_in(client, person(provider, "ana@riverton.example")).status_code == 302


def test_an_account_links_to_one_person_at_the_provider(client, make, provider):
    make.staff(make.department(name="Roads"), email="kim@riverton.example")
    assert sso_sign_in(client, person(provider, "kim@riverton.example")).status_code == 302
    other = client.application.test_client()
    # Someone else at the provider who (also) claims the address links nothing.
    response = sso_sign_in(other, person(provider, "kim@riverton.example"))
    assert response.status_code == 403
    assert "This account is linked to someone else" in response.get_data(as_text=True)


def test_starting_is_rate_limited_like_the_sign_in_page(settings):
    from tests.conftest import own_app_client

    with own_app_client(replace(settings, ratelimit_enabled=True)) as client:
        codes = [client.get("/account/sso/start").status_code for _ in range(11)]
    assert codes[:10] == [302] * 10 and codes[10] == 429


def test_without_settings_there_is_no_button_and_no_route(app):
    from portal import create_app

    plain = create_app(replace(app.extensions["portal.settings"], sso_issuer="", sso_client_id=""))
    client = plain.test_client()
    assert "sso" not in client.get("/account/sign-in").get_data(as_text=True)
    assert client.get("/account/sso/start").status_code == 404
    assert client.get("/account/sso/callback?code=x&state=y").status_code == 404
    plain.extensions["portal.db"].dispose()


@pytest.mark.pure
def test_settings_come_from_the_environment():
    from portal.core.config import ConfigError, Settings

    settings = Settings.from_env(
        {
            "PORTAL_SSO_ISSUER": "https://login.example/tenant/v2.0/",
            "PORTAL_SSO_CLIENT_ID": "portal",
            "PORTAL_SSO_CLIENT_SECRET": "s3cret",
            "PORTAL_SSO_STAFF_DOMAINS": "Riverton.example, @parks.riverton.example",
            "PORTAL_SSO_STAFF_ONLY": "true",
            "PORTAL_SSO_ACR_VALUES": "urn:acr.login.gov:auth-only",
        }
    )
    assert settings.sso_enabled and settings.sso_issuer == "https://login.example/tenant/v2.0"
    assert settings.sso_staff_domains == ("riverton.example", "parks.riverton.example")
    assert settings.sso_staff_only and not settings.sso_residents
    assert settings.sso_scopes == "openid email profile"
    assert "s3cret" not in repr(settings)
    with pytest.raises(ConfigError, match="PORTAL_SSO_CLIENT_ID"):
        Settings.from_env({"PORTAL_SSO_ISSUER": "https://login.example"})
    with pytest.raises(ConfigError, match="PORTAL_SSO_STAFF_ONLY"):
        Settings.from_env({"PORTAL_SSO_STAFF_ONLY": "1"})


def test_an_administrator_sees_and_removes_a_link(client, make, db, provider):
    from tests.conftest import sign_in

    kim = make.staff(make.department(name="Roads"), email="kim@riverton.example", name="Kim")
    sub = person(provider, "kim@riverton.example")
    other = client.application.test_client()
    assert sso_sign_in(other, sub).status_code == 302
    admin = make.staff(role="admin", email="admin@riverton.example")
    sign_in(client, admin)
    page = client.get(f"/staff/admin/staff/{kim.id}").get_data(as_text=True)
    assert "Single sign-on" in page and f"kim@riverton.example ({provider})" in page
    identity = db.scalar(select(UserIdentity).where(UserIdentity.user_id == kim.id))
    assert identity is not None
    url = f"/staff/admin/staff/{kim.id}/sign-in-links/{identity.id}/remove"
    response = client.post(url, data={"csrf_token": csrf_from(page)})
    assert response.status_code == 302
    assert db.scalar(select(UserIdentity).where(UserIdentity.user_id == kim.id)) is None
    assert other.get("/account").status_code == 302  # whoever was signed in is signed out
    assert client.post(url, data={"csrf_token": csrf_from(page)}).status_code == 302  # again
    entry = db.scalar(select(AuditEntry).where(AuditEntry.action == "sso_unlinked"))
    assert entry is not None and entry.actor_id == admin.id and entry.before["subject"] == sub
    # The next sign-in (a new person at the provider with the address) links again.
    again = client.application.test_client()
    assert sso_sign_in(again, person(provider, "kim@riverton.example")).status_code == 302


@pytest.fixture
def discovery_with_other_keys(provider):
    """The provider's discovery document, served from another address, naming the keys (JWKS)
    of a second provider: ID tokens of the first are then signed by a key not published."""
    import json
    import threading

    from werkzeug.serving import make_server

    with run_server_in_thread() as other:
        doc = requests.get(f"{provider}/.well-known/openid-configuration", timeout=5).json()
        doc["jwks_uri"] = f"http://localhost:{other.server_port}/jwks"
        body = json.dumps(doc).encode()

        def serve(environ, start_response):
            start_response("200 OK", [("Content-Type", "application/json")])
            return [body]

        server = make_server("127.0.0.1", 0, serve, threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{server.server_port}/.well-known/openid-configuration"
        finally:
            server.shutdown()
            thread.join(5)


def test_an_id_token_signed_by_another_key_is_refused(
    settings, provider, discovery_with_other_keys
):
    from tests.conftest import own_app_client

    with own_app_client(replace(settings, sso_discovery_url=discovery_with_other_keys)) as client:
        back = authorize_at_provider(client, person(provider, "kim@riverton.example"))
        response = client.get(back)
        assert response.status_code == 400
        assert "This sign-in could not be checked" in response.get_data(as_text=True)
        assert client.get("/account").status_code == 302
