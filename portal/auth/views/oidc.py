"""Single sign-on pages (issue 24): "Sign in with <the city's provider>", the provider's answer,
and the provider's logout after the portal's own.

Authlib's Flask client does the OpenID Connect side: the provider's discovery document, the
authorization code flow with PKCE (S256), state and nonce kept in the signed session, and the
ID token checked (signature against the provider's JWKS, issuer, audience, expiry, nonce).
``portal.auth.sso`` decides which account signs in. Every failure (provider unreachable, state
not matching, consent refused, an address not verified, an account switched off) is a page
saying what happened, never a 500.
"""

from __future__ import annotations

import logging
import secrets
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import requests
from authlib.integrations.base_client import MismatchingStateError, OAuthError
from authlib.integrations.flask_client import OAuth
from authlib.oauth2.rfc7523 import PrivateKeyJWT, private_key_jwt_sign
from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user
from joserfc.errors import JoseError
from werkzeug.wrappers import Response

from portal.auth import sso
from portal.auth.views.landing import ATTEMPTS_LIMIT, landing_page, safe_next
from portal.core import clock
from portal.core.client_key import load_client_key
from portal.core.config import Settings
from portal.extensions import limiter
from portal.web import REAUTHENTICATED_KEY, db_session, settings

bp = Blueprint("auth_oidc", __name__, url_prefix="/account/sso")
log = logging.getLogger("portal.auth.sso")

CLIENT = "portal.sso"
#: The portal's private_key_jwt key (``portal.core.client_key.ClientKey``), when set.
CLIENT_KEY = "portal.sso_client_key"
#: Authlib's session keys for the sign-ins started (``_state_<client name>_<state>``).
STATE_PREFIX = "_state_city_"
#: Where the page to come back to after signing in waits during the round trip.
NEXT_KEY = "sso_next"
#: The ID token of this sign-in (the provider's logout is given it as id_token_hint).
ID_TOKEN_KEY = "sso_id_token"
#: How long each private_key_jwt client assertion is valid.
ASSERTION_SECONDS = 300
#: The token endpoint's refusals a person is told about in their own words: the portal's own
#: credentials (secret or signed assertion) not accepted, or this sign-in's code or PKCE
#: verifier not accepted.
TOKEN_REFUSALS = {
    "invalid_client": "client_refused",
    "unauthorized_client": "client_refused",
    "invalid_grant": "code_refused",
    "invalid_request": "code_refused",
}
#: A re-authentication asked for (``reauthenticate``): who and when (Unix seconds).
REAUTH_KEY = "sso_reauth"
#: Larger ID tokens are not kept in the session cookie (browsers drop cookies over 4 KB).
ID_TOKEN_MAX_CHARS = 2000


def init_sso(app: Flask, settings: Settings) -> None:
    """Register the provider's client when single sign-on is configured."""

    @app.context_processor
    def _sso_button() -> dict[str, Any]:
        return {"sso_button": sso_button_label() if CLIENT in current_app.extensions else None}

    if not settings.sso_enabled:
        return
    oauth = OAuth(app)
    client_kwargs: dict[str, Any] = {
        "scope": settings.sso_scopes,
        "code_challenge_method": "S256",
        "default_timeout": settings.sso_timeout,
    }
    client_secret: Any = settings.sso_client_secret or None
    auth_methods = None
    if settings.sso_client_key:
        # private_key_jwt (RFC 7523): a client assertion signed with the portal's key, its
        # audience the token endpoint, a new jti each time; the public half is at jwks.json.
        key = load_client_key(settings.sso_client_key, kid=settings.sso_client_key_id)
        app.extensions[CLIENT_KEY] = key
        client_kwargs["token_endpoint_auth_method"] = PrivateKeyJWT.name
        client_secret = key.jwk
        auth_methods = [ShortLivedPrivateKeyJWT(alg=key.alg, headers=key.assertion_header())]
    elif not settings.sso_client_secret:
        client_kwargs["token_endpoint_auth_method"] = "none"  # a public client: PKCE alone
    authorize_params = {"acr_values": settings.sso_acr_values} if settings.sso_acr_values else None
    oauth.register(
        "city",
        client_id=settings.sso_client_id,
        client_secret=client_secret,
        client_auth_methods=auth_methods,
        server_metadata_url=settings.sso_discovery_url
        or f"{settings.sso_issuer}/.well-known/openid-configuration",
        client_kwargs=client_kwargs,
        authorize_params=authorize_params,
    )
    app.extensions[CLIENT] = oauth.create_client("city")


class ShortLivedPrivateKeyJWT(PrivateKeyJWT):
    """Authlib's private_key_jwt signer with assertions valid for ``ASSERTION_SECONDS`` (its
    default is an hour: a copied assertion could be replayed at another provider endpoint
    that does not remember jti values for that long)."""

    def sign(self, auth: Any, token_endpoint: str) -> str:
        return str(
            private_key_jwt_sign(
                auth.client_secret,
                client_id=auth.client_id,
                token_endpoint=token_endpoint,
                alg=self.alg,
                header=dict(self.headers or {}),
                expires_in=ASSERTION_SECONDS,
            )
        )


def sso_button_label() -> str:
    label = settings().sso_label
    if label:
        return _("Sign in with %(provider)s", provider=label)
    return _("Sign in with your city account")


def _client() -> Any:
    client = current_app.extensions.get(CLIENT)
    if client is None:
        abort(404)
    return client


def _redirect_uri() -> str:
    return f"{settings().base_url}/account/sso/callback"


def _problem(reason: str, status: int) -> Response:
    page = render_template(
        "auth/oidc/problem.html",
        reason=reason,
        staff_only=settings().sso_staff_only,
        residents=settings().sso_residents,
    )
    return Response(page, status=status, mimetype="text/html")


@bp.get("/start")
@limiter.limit(ATTEMPTS_LIMIT)
def start():
    client = _client()
    if current_user.is_authenticated:
        return redirect(safe_next(request.args.get("next")) or landing_page(current_user))
    target = safe_next(request.args.get("next"))
    if target:
        session[NEXT_KEY] = target
    else:
        session.pop(NEXT_KEY, None)
    # One sign-in in flight per browser: Authlib keeps each start's state, nonce and PKCE
    # verifier in the session cookie for an hour, and a few abandoned starts would take the
    # cookie past the 4 KB browsers keep.
    for key in [k for k in session if k.startswith(STATE_PREFIX)]:
        session.pop(key)
    try:
        # A 43-character nonce (Authlib's own is 20; Login.gov wants 22 or more).
        return client.authorize_redirect(_redirect_uri(), nonce=secrets.token_urlsafe(32))
    except (requests.RequestException, ValueError, RuntimeError) as exc:
        # The discovery document could not be read (or lacks the authorization endpoint).
        log.warning("single sign-on provider unreachable: %s", exc)
        return _problem("unreachable", 502)


@bp.post("/reauthenticate")
@login_required
@limiter.limit(ATTEMPTS_LIMIT)
def reauthenticate():
    """Sign in again at the provider to confirm deleting the account (a person who signs in
    only through the provider has no password to type): ``prompt=login`` and ``max_age=0`` ask
    the provider to authenticate them afresh; the callback checks who and when."""
    client = _client()
    for key in [k for k in session if k.startswith(STATE_PREFIX)]:
        session.pop(key)
    session[REAUTH_KEY] = {"u": current_user.id, "at": int(clock.now().timestamp())}
    try:
        return client.authorize_redirect(
            _redirect_uri(), nonce=secrets.token_urlsafe(32), prompt="login", max_age=0
        )
    except (requests.RequestException, ValueError, RuntimeError) as exc:
        log.warning("single sign-on provider unreachable: %s", exc)
        return _problem("unreachable", 502)


@bp.get("/callback")
@limiter.limit(ATTEMPTS_LIMIT)
def callback():
    client = _client()
    error = request.args.get("error")
    if error:
        log.info("single sign-on refused at the provider: %s", error)
        return _problem("denied" if error == "access_denied" else "provider_error", 400)
    try:
        token = client.authorize_access_token()
    except MismatchingStateError:
        return _problem("state", 400)
    except OAuthError as exc:
        log.warning("single sign-on token request refused: %s", exc)
        return _problem(TOKEN_REFUSALS.get(exc.error, "provider_error"), 400)
    except requests.RequestException as exc:
        log.warning("single sign-on provider unreachable: %s", exc)
        return _problem("unreachable", 502)
    except (JoseError, ValueError, KeyError) as exc:
        log.warning("single sign-on ID token refused: %s", exc)
        return _problem("bad_token", 400)
    claims = token.get("userinfo")
    if not claims or "id_token" not in token:  # no verified ID token: nothing to trust
        return _problem("bad_token", 400)
    claims = dict(claims)
    if "email" not in claims:
        claims.update(_userinfo(client, token, claims["sub"]))
    metadata = client.load_server_metadata()
    issuer = str(metadata.get("issuer") or settings().sso_issuer)
    reauth = session.pop(REAUTH_KEY, None)
    if reauth is not None:
        return _reauthenticated(reauth, issuer, claims)
    try:
        result = sso.sign_in(
            db_session(), settings=settings(), issuer=issuer, claims=claims, now=clock.now()
        )
    except sso.SsoRefused as exc:
        log.info("single sign-on refused: %s", exc.reason)
        return _problem(exc.reason, 403)
    target = session.pop(NEXT_KEY, None)
    login_user(result.user, remember=False)
    session.permanent = True
    id_token = token["id_token"]
    session[ID_TOKEN_KEY] = id_token if len(id_token) <= ID_TOKEN_MAX_CHARS else ""
    return redirect(safe_next(target) or landing_page(result.user))


def _reauthenticated(asked: dict[str, int], issuer: str, claims: dict[str, Any]) -> Response:
    """The provider's answer to ``reauthenticate``: the person who asked, signed in just now,
    may confirm the deletion for ``deletion.REAUTH_WINDOW``."""
    if not current_user.is_authenticated or current_user.id != asked.get("u"):
        return _problem("reauth_other", 403)
    now = clock.now()
    try:
        sso.confirm_reauthentication(
            db_session(),
            user=current_user._get_current_object(),
            issuer=issuer,
            claims=claims,
            asked_at=datetime.fromtimestamp(asked.get("at", 0), tz=UTC),
            now=now,
        )
    except sso.SsoRefused as exc:
        log.info("single sign-on re-authentication refused: %s", exc.reason)
        return _problem(exc.reason, 403)
    session[REAUTHENTICATED_KEY] = {"u": current_user.id, "at": int(now.timestamp())}
    return redirect(url_for("privacy.delete"))


@bp.get("/jwks.json")
def jwks():
    """The public half of the portal's private_key_jwt key (Okta and Entra may read it from
    here instead of an upload); 404 when the portal authenticates otherwise."""
    key = current_app.extensions.get(CLIENT_KEY)
    if key is None:
        abort(404)
    response = jsonify(key.public_jwks())
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response


def _userinfo(client: Any, token: dict[str, Any], subject: str) -> dict[str, Any]:
    """The userinfo endpoint's claims when the ID token carries no address (Login.gov), if
    they are about the same person."""
    try:
        info = dict(client.userinfo(token=token))
    except (requests.RequestException, OAuthError, ValueError) as exc:
        log.warning("single sign-on userinfo unreadable: %s", exc)
        return {}
    if info.get("sub") != subject:
        return {}
    return {k: info[k] for k in ("email", "email_verified", "name", "locale") if k in info}


def provider_logout_url(id_token: str | None) -> str | None:
    """Where to send the browser after the portal's own sign-out: the provider's
    end_session_endpoint (RP-initiated logout), if single sign-on signed this session in and
    the provider has one."""
    client = current_app.extensions.get(CLIENT)
    if client is None or id_token is None:
        return None
    try:
        endpoint = client.load_server_metadata().get("end_session_endpoint")
    except (requests.RequestException, ValueError) as exc:
        log.warning("single sign-on provider unreachable for logout: %s", exc)
        return None
    if not endpoint:
        return None
    params = {
        "client_id": settings().sso_client_id,
        "post_logout_redirect_uri": f"{settings().base_url}/",
    }
    if id_token:
        params["id_token_hint"] = id_token
    separator = "&" if "?" in endpoint else "?"
    return f"{endpoint}{separator}{urlencode(params)}"
