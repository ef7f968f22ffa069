"""Single sign-on's client authentication against a strict provider (tests/auth/oidc_provider.py,
Authlib's server classes on loopback): PKCE enforced by the provider, a public client (no
secret, as Login.gov allows), ``private_key_jwt`` with RSA and EC keys (the assertion checked
against the public key registered at the provider), the provider's refusals shown as pages,
the key's settings and ``flask sso keygen``."""

from __future__ import annotations

import json
from dataclasses import replace
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from sqlalchemy import select

from portal.auth.models import UserIdentity
from portal.core.client_key import load_client_key
from portal.core.config import ConfigError, Settings
from tests.auth.oidc_provider import serve_provider
from tests.auth.test_sso import authorize_at_provider, person
from tests.conftest import own_app_client


def pem_of(private) -> str:
    return private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


RSA_PEM = pem_of(rsa.generate_private_key(public_exponent=65537, key_size=2048))
EC_PEM = pem_of(ec.generate_private_key(ec.SECP256R1()))
OTHER_PEM = pem_of(rsa.generate_private_key(public_exponent=65537, key_size=2048))


@pytest.fixture(scope="module")
def strict():
    with serve_provider() as provider:
        provider.register("public-portal", auth_method="none")
        provider.register("secret-portal", auth_method="client_secret_basic", secret="s3cret")
        provider.register(
            "keyed-portal",
            auth_method="private_key_jwt",
            jwks=load_client_key(RSA_PEM).public_jwks(),
        )
        provider.register(
            "ec-portal", auth_method="private_key_jwt", jwks=load_client_key(EC_PEM).public_jwks()
        )
        yield provider


CLIENTS = {
    "public": {"sso_client_id": "public-portal"},
    "secret": {"sso_client_id": "secret-portal", "sso_client_secret": "s3cret"},
    "rsa key": {"sso_client_id": "keyed-portal", "sso_client_key": RSA_PEM},
    "ec key": {"sso_client_id": "ec-portal", "sso_client_key": EC_PEM},
    # Another key presented under the registered key's id: the signature does not verify.
    "wrong key": {
        "sso_client_id": "keyed-portal",
        "sso_client_key": OTHER_PEM,
        "sso_client_key_id": load_client_key(RSA_PEM).kid,
    },
    "wrong secret": {"sso_client_id": "secret-portal", "sso_client_secret": "guess"},
}


@pytest.fixture
def settings(settings, strict, request):
    """Single sign-on at the strict provider as one of ``CLIENTS`` (parametrize indirectly)."""
    client = CLIENTS[getattr(request, "param", "secret")]
    return replace(settings, sso_issuer=strict.url, sso_label="Springfield ID", **client)


def token_request(strict, back: str, **form) -> requests.Response:
    """The token request a client would make with the code in the redirect ``back``."""
    code = parse_qs(urlsplit(back).query)["code"][0]
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": "http://portal.test/account/sso/callback",
        "client_id": "public-portal",
        **form,
    }
    return requests.post(strict.token_endpoint, data=data, timeout=5)


@pytest.mark.parametrize("settings", ["public", "secret", "rsa key", "ec key"], indirect=True)
def test_each_way_of_authenticating_signs_in(client, make, db, strict, settings, request):
    kim = make.staff(make.department(name="Roads"), email="kim@springfield.example")
    sub = person(strict.url, "kim@springfield.example")
    response = client.get(authorize_at_provider(client, sub))
    assert response.status_code == 302, response.get_data(as_text=True)
    assert response.headers["Location"] == "/staff/"
    assert strict.token_answers[-1] == "ok"
    identity = db.scalar(select(UserIdentity).where(UserIdentity.user_id == kim.id))
    assert identity is not None and identity.issuer == strict.url
    if "key" in request.node.callspec.id:
        # The assertion: the client as issuer and subject, the token endpoint as audience,
        # valid five minutes (Authlib's default is an hour).
        claims = strict.assertions[-1]
        assert claims["iss"] == claims["sub"] == settings.sso_client_id
        assert claims["aud"] == strict.token_endpoint
        assert claims["exp"] - claims["iat"] == 300 and len(claims["jti"]) >= 32


@pytest.mark.parametrize("settings", ["public"], indirect=True)
def test_the_provider_enforces_pkce_for_a_public_client(client, make, strict):
    """The code alone is worth nothing: without the verifier the provider refuses it, with a
    wrong one it is invalid_grant; the portal (which has the verifier) then redeems it."""
    make.staff(make.department(name="Roads"), email="kim@springfield.example")
    back = authorize_at_provider(client, person(strict.url, "kim@springfield.example"))
    missing = token_request(strict, back)
    assert missing.status_code == 400
    assert missing.json()["error"] == "invalid_request"
    assert "code_verifier" in missing.json()["error_description"]
    wrong = token_request(strict, back, code_verifier="w" * 43)
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"
    # A public client cannot present a secret instead (it has none at the provider).
    secret = token_request(strict, back, client_secret="anything", code_verifier="w" * 43)
    assert secret.status_code in (400, 401) and secret.json()["error"] == "invalid_client"
    response = client.get(back)
    assert response.headers["Location"] == "/staff/"


@pytest.mark.parametrize("settings", ["public"], indirect=True)
def test_a_code_injected_from_another_sign_in_is_refused_by_pkce(client, make, db, strict):
    """A code from a sign-in started in another browser, delivered with this browser's state:
    this browser's verifier does not match that code's challenge, and the provider refuses
    it (before any ID token is issued); the portal says so, never a 500."""
    kim = make.staff(make.department(name="Roads"), email="kim@springfield.example")
    mine = authorize_at_provider(client, person(strict.url, "kim@springfield.example"))
    other = client.application.test_client()
    theirs = authorize_at_provider(other, person(strict.url, "kim@springfield.example"))
    state = parse_qs(urlsplit(mine).query)["state"][0]
    code = parse_qs(urlsplit(theirs).query)["code"][0]
    response = client.get(f"/account/sso/callback?{urlencode({'code': code, 'state': state})}")
    assert strict.token_answers[-1] == "invalid_grant"
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "The sign-in service did not accept this sign-in" in page
    assert db.scalar(select(UserIdentity).where(UserIdentity.user_id == kim.id)) is None
    assert client.get("/account").status_code == 302


@pytest.mark.parametrize("settings", ["wrong key", "wrong secret"], indirect=True)
def test_credentials_the_provider_does_not_know_are_refused_clearly(client, make, db, strict):
    kim = make.staff(make.department(name="Roads"), email="kim@springfield.example")
    back = authorize_at_provider(client, person(strict.url, "kim@springfield.example"))
    response = client.get(back)
    assert strict.token_answers[-1] == "invalid_client"
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "The sign-in service did not recognise the portal" in page
    assert "key or secret at the sign-in service needs checking" in page
    assert db.scalar(select(UserIdentity).where(UserIdentity.user_id == kim.id)) is None
    assert client.get("/account").status_code == 302


@pytest.mark.parametrize("settings", ["rsa key"], indirect=True)
def test_the_public_key_is_published_for_the_provider(client, make, strict):
    """The JWKS at /account/sso/jwks.json is what a provider that fetches keys (Okta, Entra)
    reads: the client registered with what it serves signs in."""
    answer = client.get("/account/sso/jwks.json")
    assert answer.status_code == 200
    jwks = answer.get_json()
    assert set(jwks["keys"][0]) >= {"kty", "n", "e", "kid", "alg", "use"}
    assert not {"d", "p", "q"} & set(jwks["keys"][0])  # the public half only
    assert jwks["keys"][0]["kid"] == load_client_key(RSA_PEM).kid
    strict.register("keyed-portal", auth_method="private_key_jwt", jwks=jwks)
    make.staff(make.department(name="Roads"), email="ana@springfield.example")
    back = authorize_at_provider(client, person(strict.url, "ana@springfield.example"))
    assert client.get(back).headers["Location"] == "/staff/"
    assert strict.token_answers[-1] == "ok"


@pytest.mark.parametrize("settings", ["secret"], indirect=True)
def test_without_a_key_there_is_no_jwks(client):
    assert client.get("/account/sso/jwks.json").status_code == 404


def test_keygen_prints_a_key_the_portal_and_a_provider_accept(runner, strict, settings):
    result = runner.invoke(args=["sso", "keygen", "--type", "ec", "--name", "Springfield 311"])
    assert result.exit_code == 0, result.output
    out = result.output
    key_text = out[out.index("-----BEGIN PRIVATE KEY") : out.index("\n\n# Key id")]
    assert key_text.count("-----BEGIN CERTIFICATE-----") == 1
    jwks_text = out[out.index("{") : out.rindex("}") + 1]
    certificate = out[out.rindex("-----BEGIN CERTIFICATE-----") :].strip()
    # The environment reads it; its certificate's thumbprints go in each assertion's header.
    loaded = Settings.from_env(
        {
            "PORTAL_SSO_ISSUER": strict.url,
            "PORTAL_SSO_CLIENT_ID": "keygen-portal",
            "PORTAL_SSO_CLIENT_KEY": key_text,
        }
    )
    key = load_client_key(loaded.sso_client_key)
    assert key.alg == "ES256" and f"): {key.kid}" in out
    assert {"kid", "x5t", "x5t#S256"} <= set(key.assertion_header())
    assert certificate in key_text
    cert = x509.load_pem_x509_certificate(certificate.encode())
    assert cert.subject.rfc4514_string() == "CN=Springfield 311"
    assert cert.public_key() == key.certificate.public_key()
    # A provider given the printed JWK accepts the portal's assertions (the person has no
    # account here: the token request succeeded, the sign-in is then refused by the portal).
    strict.register("keygen-portal", auth_method="private_key_jwt", jwks=json.loads(jwks_text))
    keyed = replace(
        settings, sso_client_id="keygen-portal", sso_client_secret="", sso_client_key=key_text
    )
    with own_app_client(keyed) as portal:
        back = authorize_at_provider(portal, person(strict.url, "lee@springfield.example"))
        response = portal.get(back)
        assert strict.token_answers[-1] == "ok"
        assert response.status_code == 403
        assert "There is no account for you here yet" in response.get_data(as_text=True)


@pytest.mark.pure
def test_the_key_settings_refuse_to_start_with_a_bad_key(tmp_path):
    env = {"PORTAL_SSO_ISSUER": "https://id.example", "PORTAL_SSO_CLIENT_ID": "portal"}
    escaped = RSA_PEM.replace("\n", "\\n")  # one line, as some environment files carry it
    settings = Settings.from_env({**env, "PORTAL_SSO_CLIENT_KEY": escaped})
    assert load_client_key(settings.sso_client_key).alg == "RS256"
    assert "PRIVATE" not in repr(settings)
    key_file = tmp_path / "sso.pem"
    key_file.write_text(EC_PEM)
    settings = Settings.from_env({**env, "PORTAL_SSO_CLIENT_KEY_FILE": str(key_file)})
    assert load_client_key(settings.sso_client_key).alg == "ES256"
    small = pem_of(rsa.generate_private_key(public_exponent=65537, key_size=1024))
    refused = {
        "PORTAL_SSO_CLIENT_KEY": [
            "not-a-key",
            RSA_PEM[:200],
            small,
            RSA_PEM + load_certificate_of(OTHER_PEM),
        ],
    }
    for value in refused["PORTAL_SSO_CLIENT_KEY"]:
        with pytest.raises(ConfigError, match="PORTAL_SSO_CLIENT_KEY is not a usable"):
            Settings.from_env({**env, "PORTAL_SSO_CLIENT_KEY": value})
    key_file.write_text("garbage")
    with pytest.raises(ConfigError, match="PORTAL_SSO_CLIENT_KEY_FILE is not a usable"):
        Settings.from_env({**env, "PORTAL_SSO_CLIENT_KEY_FILE": str(key_file)})
    with pytest.raises(ConfigError, match="PORTAL_SSO_CLIENT_KEY_FILE: cannot read"):
        Settings.from_env({**env, "PORTAL_SSO_CLIENT_KEY_FILE": str(tmp_path / "missing.pem")})
    with pytest.raises(ConfigError, match="PORTAL_SSO_CLIENT_SECRET are both set"):
        Settings.from_env(
            {**env, "PORTAL_SSO_CLIENT_KEY": RSA_PEM, "PORTAL_SSO_CLIENT_SECRET": "s3cret"}
        )


def load_certificate_of(pem: str) -> str:
    """A certificate for another key than ``pem``'s... made for ``pem`` by keygen's code."""
    from datetime import UTC, datetime

    from portal.core.client_key import new_client_key

    return new_client_key(kind="ec", now=datetime.now(UTC)).certificate_pem
