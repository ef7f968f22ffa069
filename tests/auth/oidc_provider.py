"""A strict OpenID Connect provider on loopback for the single sign-on tests.

Built on Authlib's own server classes: ``AuthorizationServer`` with the authorization code
grant, the OpenID Connect extension (RS256 ID tokens with ``nonce`` and ``auth_time``),
``CodeChallenge(required=True)`` (PKCE: a wrong ``code_verifier`` is ``invalid_grant``, a
public client without one ``invalid_request``) and ``JWTBearerClientAssertion`` for
``private_key_jwt`` (the assertion checked against the public key registered for the client,
its audience the token endpoint, each ``jti`` once). Unlike oidc-provider-mock it knows its
clients: each is registered with the one way it authenticates at the token endpoint
(``client_secret_basic``, ``none`` for a public client, or ``private_key_jwt``).

People are added as at oidc-provider-mock (``PUT /users/<sub>`` with their claims), and the
authorization endpoint takes the same form (``sub``, or ``action=deny``), so the tests'
helpers drive either provider.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749 import ClientMixin, grants
from authlib.oauth2.rfc7523 import JWTBearerClientAssertion
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oidc.core import AuthorizationCodeMixin, OpenIDCode
from flask import Flask, jsonify, request
from joserfc.jwk import KeySet, RSAKey
from werkzeug.serving import make_server


@dataclass
class Client(ClientMixin):
    client_id: str
    #: ``client_secret_basic``, ``none`` (public: PKCE alone) or ``private_key_jwt``.
    auth_method: str
    secret: str = ""
    #: The client's public key(s) as a JWKS (``private_key_jwt``).
    jwks: dict[str, Any] | None = None

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str | None:
        return None

    def get_allowed_scope(self, scope: str) -> str:
        allowed = {"openid", "email", "profile"}
        return " ".join(s for s in scope.split() if s in allowed)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri.endswith("/account/sso/callback")

    def check_client_secret(self, client_secret: str) -> bool:
        return bool(self.secret) and secrets.compare_digest(client_secret, self.secret)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return endpoint != "token" or method == self.auth_method

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == "authorization_code"


@dataclass
class Code(AuthorizationCodeMixin):
    code: str
    client_id: str
    redirect_uri: str
    scope: str
    sub: str
    nonce: str | None
    code_challenge: str | None
    code_challenge_method: str | None
    auth_time: int

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope

    def get_nonce(self) -> str | None:
        return self.nonce

    def get_auth_time(self) -> int:
        return self.auth_time


@dataclass
class Person:
    sub: str
    claims: dict[str, Any] = field(default_factory=dict)


@dataclass
class LoopbackProvider:
    url: str = ""
    clients: dict[str, Client] = field(default_factory=dict)
    people: dict[str, Person] = field(default_factory=dict)
    codes: dict[str, Code] = field(default_factory=dict)
    jtis: set[str] = field(default_factory=set)
    key: RSAKey = field(default_factory=lambda: RSAKey.generate_key(2048, {"kid": "loopback"}))
    #: The private_key_jwt assertions accepted (their claims), newest last.
    assertions: list[dict[str, Any]] = field(default_factory=list)
    #: The token endpoint's answers, newest last (error codes, or "ok").
    token_answers: list[str] = field(default_factory=list)
    #: Seconds added to the time recorded as each sign-in's ``auth_time`` (a sign-in "long
    #: ago" without waiting: a provider that keeps its session and does not ask again).
    auth_time_shift: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def register(
        self,
        client_id: str,
        *,
        auth_method: str,
        secret: str = "",
        jwks: dict[str, Any] | None = None,
    ) -> Client:
        client = Client(client_id, auth_method, secret=secret, jwks=jwks)
        self.clients[client_id] = client
        return client

    @property
    def token_endpoint(self) -> str:
        return f"{self.url}/token"


def _server(provider: LoopbackProvider) -> Flask:  # noqa: C901 - one provider, its endpoints
    app = Flask(__name__)
    app.config["OAUTH2_REFRESH_TOKEN_GENERATOR"] = False

    class CodeGrant(grants.AuthorizationCodeGrant):
        TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "none", "private_key_jwt"]

        def save_authorization_code(self, code: str, req: Any) -> None:
            data = req.payload.data
            provider.codes[code] = Code(
                code=code,
                client_id=req.client.get_client_id(),
                redirect_uri=req.payload.redirect_uri,
                scope=req.payload.scope,
                sub=req.user.sub,
                nonce=data.get("nonce"),
                code_challenge=data.get("code_challenge"),
                code_challenge_method=data.get("code_challenge_method"),
                auth_time=int(time.time()) + provider.auth_time_shift,
            )

        def query_authorization_code(self, code: str, client: Client) -> Code | None:
            found = provider.codes.get(code)
            return found if found and found.client_id == client.client_id else None

        def delete_authorization_code(self, authorization_code: Code) -> None:
            provider.codes.pop(authorization_code.code, None)

        def authenticate_user(self, authorization_code: Code) -> Person | None:
            return provider.people.get(authorization_code.sub)

    class IdToken(OpenIDCode):
        def exists_nonce(self, nonce: str, req: Any) -> bool:
            return any(c.nonce == nonce for c in provider.codes.values())

        def resolve_client_private_key(self, client: Client) -> RSAKey:
            return provider.key

        def get_client_algorithm(self, client: Client) -> str:
            return "RS256"

        def get_encode_header(self, client: Client) -> dict[str, str]:
            return {"alg": "RS256", "kid": "loopback"}

        def get_client_claims(self, client: Client) -> dict[str, Any]:
            return {"iss": provider.url, "aud": [client.client_id]}

        def generate_user_info(self, user: Person, scope: str) -> dict[str, Any]:
            return {"sub": user.sub, **user.claims}

    class PrivateKeyJWT(JWTBearerClientAssertion):
        CLIENT_AUTH_METHOD = "private_key_jwt"

        def get_audiences(self) -> list[str]:
            return [provider.token_endpoint]

        def validate_jti(self, claims: Any, jti: str) -> bool:
            with provider.lock:
                if jti in provider.jtis:
                    return False
                provider.jtis.add(jti)
                return True

        def process_assertion_claims(self, assertion: str, resolve_key: Any) -> Any:
            claims = super().process_assertion_claims(assertion, resolve_key)
            provider.assertions.append(dict(claims))
            return claims

        def resolve_client_public_key(self, client: Client) -> KeySet:
            return KeySet.import_key_set(client.jwks or {"keys": []})

    def save_token(token: dict[str, Any], req: Any) -> None:
        pass  # no resource served with the access token

    server = AuthorizationServer(app, query_client=provider.clients.get, save_token=save_token)
    server.register_client_auth_method(PrivateKeyJWT.CLIENT_AUTH_METHOD, PrivateKeyJWT())
    server.register_grant(CodeGrant, [IdToken(require_nonce=True), CodeChallenge(required=True)])

    @app.get("/.well-known/openid-configuration")
    def discovery():
        return jsonify(
            {
                "issuer": provider.url,
                "authorization_endpoint": f"{provider.url}/authorize",
                "token_endpoint": provider.token_endpoint,
                "jwks_uri": f"{provider.url}/jwks",
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "code_challenge_methods_supported": ["S256"],
                "token_endpoint_auth_methods_supported": [
                    "client_secret_basic",
                    "none",
                    "private_key_jwt",
                ],
            }
        )

    @app.get("/jwks")
    def jwks():
        return jsonify(KeySet([provider.key]).as_dict(private=False))

    @app.put("/users/<sub>")
    def put_person(sub: str):
        provider.people[sub] = Person(sub, dict(request.get_json()))
        return "", 204

    @app.route("/authorize", methods=["GET", "POST"])
    def authorize():
        if request.method == "GET":  # the provider's sign-in page, reduced to its form
            return '<form method="post"><input name="sub"><button>Sign in</button></form>'
        person = None
        if request.form.get("action") != "deny":
            person = provider.people.get(request.form.get("sub", ""))
            if person is None:
                return "no such person", 400
        try:
            grant = server.get_consent_grant(end_user=person)
        except OAuth2Error as error:
            return server.handle_error_response(None, error)
        return server.create_authorization_response(grant_user=person, grant=grant)

    @app.post("/token")
    def token():
        response = server.create_token_response()
        body = response.get_json(silent=True) or {}
        provider.token_answers.append(str(body.get("error", "ok")))
        return response

    return app


@contextmanager
def serve_provider() -> Iterator[LoopbackProvider]:
    """A provider on a free loopback port, served by werkzeug in a thread."""
    provider = LoopbackProvider()
    server = make_server("127.0.0.1", 0, _server(provider), threaded=True)
    provider.url = f"http://127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield provider
    finally:
        server.shutdown()
        thread.join(5)
        server.server_close()
